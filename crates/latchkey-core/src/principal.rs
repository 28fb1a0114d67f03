//! Principals: who is acting — a service token, a personal access token, or a signed-in user —
//! and how a user's license and groups compile into effective permissions.

use crate::catalog::{catalog, PermissionSet};
use crate::effective::EffectivePermissions;
use crate::grant::{Grant, Scope};
use crate::permission::{Access, Permission};
use crate::plan::{License, Plan};
use std::fmt;

/// The kind of principal behind a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// An account-owned service token.
    ServiceToken,
    /// A user's personal access token, acting with that user's permissions in one account.
    PersonalToken,
    /// A user signed in to the console.
    User,
}

impl PrincipalKind {
    /// `service_token`, `personal_access_token` or `user`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::ServiceToken => "service_token",
            PrincipalKind::PersonalToken => "personal_access_token",
            PrincipalKind::User => "user",
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set an account's Owner group holds: `account_admin` on Enterprise, `owner` on the
/// self-service plans (every plan has an owner, even Developer, whose tokens may hold only
/// Semantic Layer Only).
pub fn owner_set(plan: Plan) -> PermissionSet {
    catalog().owner_set(plan)
}

/// Whether a group on this plan may hold the set: the plan's list, plus the owner set (every
/// plan has an owner); on Enterprise any set at all (dbt Cloud: "any permission set, for groups
/// and service tokens", and its Member group holds `member`).
pub fn group_may_hold(plan: Plan, set: PermissionSet) -> bool {
    plan == Plan::Enterprise || catalog().plan_allows(plan, set) || set == owner_set(plan)
}

/// The sets a license gives its holder whatever their groups say (none for Developer, whose
/// permissions come from groups), and any account-level extras: Read-only carries `readonly`;
/// IT carries `security_admin`, `billing_admin` and write on connections.
fn fixed_sets(license: License) -> &'static [&'static str] {
    match license {
        License::Developer => &[],
        License::ReadOnly => &["readonly"],
        License::It => &["security_admin", "billing_admin"],
    }
}

/// Checks that the plan offers the license: a license is power, and is gated like the sets it
/// carries (IT, which carries Security Admin, only on Enterprise; Read-only where groups may hold
/// `readonly`).
pub fn check_license_on_plan(plan: Plan, license: License) -> Result<(), crate::Error> {
    let cat = catalog();
    let offered = fixed_sets(license)
        .iter()
        .all(|slug| cat.set(slug).is_some_and(|set| group_may_hold(plan, set)));
    if offered {
        Ok(())
    } else {
        Err(crate::Error::LicenseNotOnPlan {
            license: license.to_string(),
            plan: plan.to_string(),
        })
    }
}

/// What a user holds in one account: a license and the grants of the groups they belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccess {
    /// The user's seat.
    pub license: License,
    /// Grants of every group the user is in.
    pub group_grants: Vec<Grant>,
}

impl UserAccess {
    /// Compiles the user's permissions. The license decides:
    /// - Developer: the union of the group grants the plan allows groups ([`group_may_hold`]);
    /// - Read-only: the `readonly` set on all projects, whatever the groups say;
    /// - IT: `security_admin` and `billing_admin` on all projects plus write on connections.
    ///
    /// A license the plan does not offer ([`check_license_on_plan`]) gives nothing: after a
    /// downgrade, an IT seat on a Team account holds nothing until the account is Enterprise
    /// again.
    pub fn permissions(&self, plan: Plan) -> EffectivePermissions {
        let cat = catalog();
        if check_license_on_plan(plan, self.license).is_err() {
            return EffectivePermissions::default();
        }
        if self.license == License::Developer {
            return EffectivePermissions::compile(&self.group_grants, |g| {
                group_may_hold(plan, g.set)
            });
        }
        let fixed: Vec<Grant> = fixed_sets(self.license)
            .iter()
            .filter_map(|slug| cat.set(slug))
            .map(|set| Grant::new(set, Scope::AllProjects))
            .collect();
        let mut perms = EffectivePermissions::compile(&fixed, |_| true);
        if self.license == License::It {
            perms.account |= Permission::new(cat.connections, Access::Write).bit()
                | Permission::new(cat.connections, Access::Read).bit();
        }
        perms
    }
}
