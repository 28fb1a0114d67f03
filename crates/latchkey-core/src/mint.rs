//! Who may mint tokens, and the rule Latchkey adds to dbt Cloud's: no principal may create a
//! token that holds anything its creator does not.

use crate::catalog::catalog;
use crate::effective::EffectivePermissions;
use crate::error::Error;
use crate::grant::{Grant, Scope};
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
    /// A personal access token: never mints service tokens (dbt Cloud answers 400).
    PersonalToken,
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

/// Checks that `minter` may create a service token with `grants` on an account of `plan`, and
/// returns the new token's effective permissions.
///
/// Refused: no grants; categories on a set that ignores them; user-only sets; sets the plan does
/// not offer; PATs; users without a Developer license; principals without write on service tokens;
/// and any grant that would give the token a permission (on any scope or environment) its minter
/// lacks.
pub fn check_may_mint_service_token(
    minter: Minter<'_>,
    plan: Plan,
    grants: &[Grant],
) -> Result<EffectivePermissions, Error> {
    let write_tokens = Permission::new(catalog().service_tokens, Access::Write).bit();
    let minter_perms = match minter {
        Minter::Operator => None,
        Minter::PersonalToken => {
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
            Some(perms)
        }
    };
    // Who asks is settled before what is asked, so a PAT always hears "PATs cannot".
    check_grants(plan, grants)?;
    let new = EffectivePermissions::for_service_token(grants, plan);
    if let Some(mine) = minter_perms {
        check_within(mine, &new)?;
    }
    Ok(new)
}

/// Checks a list of grants for a service token on a plan, without regard to who asks.
pub fn check_grants(plan: Plan, grants: &[Grant]) -> Result<(), Error> {
    if grants.is_empty() {
        return Err(Error::NoGrants);
    }
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
        Minter::ServiceToken { .. } | Minter::PersonalToken => Err(Error::MayNotMint(
            "tokens cannot create personal access tokens; sign in as the user",
        )),
    }
}

/// Checks that a grantor may give a group these grants (or put a user in groups holding them):
/// each set is one the plan lets groups hold, and the grants never reach beyond the grantor's
/// own permissions (`None`: the operator, bound by the plan only), so no one can widen their
/// own access, or a colleague's, through a group.
pub fn check_may_grant_to_group(
    grantor: Option<&EffectivePermissions>,
    plan: Plan,
    grants: &[Grant],
) -> Result<(), Error> {
    for grant in grants {
        grant.validate()?;
        if !crate::principal::group_may_hold(plan, grant.set) {
            return Err(Error::SetNotOnPlan {
                set: grant.set.slug().to_owned(),
                plan: plan.to_string(),
            });
        }
    }
    let Some(mine) = grantor else {
        return Ok(());
    };
    check_within(mine, &EffectivePermissions::compile(grants, |_| true))
}

/// Refuses `new` if it holds anything `mine` does not, naming the first such permission.
fn check_within(mine: &EffectivePermissions, new: &EffectivePermissions) -> Result<(), Error> {
    match mine.first_not_covered(new) {
        None => Ok(()),
        Some((permission, scope)) => Err(Error::Escalation {
            permission,
            scope: match scope {
                None => String::new(),
                Some(Scope::AllProjects) => " on all projects".to_owned(),
                Some(Scope::Project(p)) => format!(" on project {p}"),
            },
        }),
    }
}
