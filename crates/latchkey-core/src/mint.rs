//! Who may mint tokens and fill groups. The rule Latchkey adds to dbt Cloud's — no principal may
//! create a token, or give a group, anything its creator does not hold — is
//! [`Authority::check_change`](crate::authority::Authority), applied here and everywhere else a
//! principal changes.

use crate::authority::Authority;
use crate::catalog::catalog;
use crate::effective::EffectivePermissions;
use crate::error::Error;
use crate::grant::Grant;
use crate::ids::UserId;
use crate::permission::{Access, Permission};
use crate::plan::{License, Plan};

/// Whoever asks for a new token.
#[derive(Clone, Copy, Debug)]
pub enum Minter<'a> {
    /// The deployment's operator, through the CLI on the database itself: bound by the plan only.
    Operator,
    /// A service token.
    ServiceToken {
        /// Its effective permissions.
        perms: &'a EffectivePermissions,
    },
    /// A personal access token: never mints service tokens (dbt Cloud answers 400), but may act
    /// on the account's principals with its user's permissions.
    PersonalToken {
        /// Its user's effective permissions.
        perms: &'a EffectivePermissions,
    },
    /// A signed-in user.
    User {
        /// Who.
        id: UserId,
        /// Their seat.
        license: License,
        /// Their effective permissions.
        perms: &'a EffectivePermissions,
    },
}

impl Minter<'_> {
    /// Whoever mints, as an [`Authority`] over the account's principals.
    pub fn authority(&self) -> Authority<'_> {
        match self {
            Minter::Operator => Authority::Operator,
            Minter::ServiceToken { perms }
            | Minter::PersonalToken { perms }
            | Minter::User { perms, .. } => Authority::Holder(perms),
        }
    }
}

/// Checks that `minter` may create a service token with `grants` on an account of `plan`, and
/// returns the new token's effective permissions.
///
/// A token with no grants is valid and denied everything (dbt Cloud's clients create a token first
/// and add its permissions after).
///
/// Refused: categories on a set that ignores them; user-only sets; sets the plan does
/// not offer; PATs; users without a Developer license; principals without write on service tokens;
/// and any grant that would give the token a permission (on any scope or environment) its minter
/// lacks.
pub fn check_may_mint_service_token(
    minter: Minter<'_>,
    plan: Plan,
    grants: &[Grant],
) -> Result<EffectivePermissions, Error> {
    let write_tokens = Permission::new(catalog().service_tokens, Access::Write).bit();
    match minter {
        Minter::Operator => {}
        Minter::PersonalToken { .. } => {
            return Err(Error::MayNotMint(
                "a personal access token cannot create service tokens; use a service token with service_tokens:write",
            ))
        }
        Minter::User { license, .. } if license != License::Developer => {
            return Err(Error::MayNotMint("only users with a developer license may create service tokens"))
        }
        Minter::User { perms, .. } | Minter::ServiceToken { perms } => {
            if perms.account & write_tokens == 0 {
                return Err(Error::MayNotMint("creating service tokens needs service_tokens:write"));
            }
        }
    }
    // Who asks is settled before what is asked, so a PAT always hears "PATs cannot".
    check_grants(plan, grants)?;
    let new = EffectivePermissions::for_service_token(grants, plan);
    minter.authority().check_new(&new)?;
    Ok(new)
}

/// Checks a list of grants for a service token on a plan, without regard to who asks. An empty
/// list is valid.
pub fn check_grants(plan: Plan, grants: &[Grant]) -> Result<(), Error> {
    for grant in grants {
        grant.validate()?;
        if grant.set.is_user_only() {
            return Err(Error::UserOnlySet(grant.set.slug().to_owned()));
        }
        if !catalog().plan_allows(plan, grant.set) {
            return Err(Error::SetNotOnPlan {
                set: grant.set.slug().to_owned(),
                plan: plan.to_string(),
            });
        }
    }
    Ok(())
}

/// Checks that `minter` may create a personal access token for `owner`. A PAT acts with its
/// user's permissions, so it can never hold more than its owner; only the owner (or the
/// operator) may create one, and tokens may not mint PATs, so a leaked token cannot make itself
/// a longer-lived twin. Every license may hold PATs.
pub fn check_may_mint_personal_token(minter: Minter<'_>, owner: UserId) -> Result<(), Error> {
    match minter {
        Minter::Operator => Ok(()),
        Minter::User { id, .. } if id == owner => Ok(()),
        Minter::User { .. } => Err(Error::MayNotMint(
            "users may create personal access tokens only for themselves",
        )),
        Minter::ServiceToken { .. } | Minter::PersonalToken { .. } => Err(Error::MayNotMint(
            "tokens cannot create personal access tokens; sign in as the user",
        )),
    }
}

/// Checks that `authority` may give a group these grants (or put a user in groups holding them):
/// each set is one the plan lets groups hold, and the grants never reach beyond what the actor
/// holds, so no one can widen their own access, or a colleague's, through a group.
pub fn check_may_grant_to_group(
    authority: Authority<'_>,
    plan: Plan,
    grants: &[Grant],
) -> Result<(), Error> {
    check_group_grants(plan, grants)?;
    authority.check_new(&EffectivePermissions::compile(grants, |_| true))
}

/// Checks that each grant is valid and one the plan lets groups hold.
pub fn check_group_grants(plan: Plan, grants: &[Grant]) -> Result<(), Error> {
    for grant in grants {
        grant.validate()?;
        if !crate::principal::group_may_hold(plan, grant.set) {
            return Err(Error::SetNotOnPlan {
                set: grant.set.slug().to_owned(),
                plan: plan.to_string(),
            });
        }
    }
    Ok(())
}
