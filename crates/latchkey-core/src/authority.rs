//! The one rule of power: nobody gets more than they hold, by any road.
//!
//! Every change to a principal — minting or rotating a token, re-granting or fencing it, revoking
//! it, a group's grants, a member's license or groups, an invitation — is judged here, by
//! [`Authority::check_change`]: whoever acts must hold everything the principal holds *before*
//! the change (so a weaker caller can neither edit nor remove a stronger one) and everything it
//! will hold *after* (so no one creates power they lack). The one exception, the leaked-credential
//! report, never comes here: it revokes what it is shown, whoever shows it.
//!
//! ```
//! use latchkey_core::{catalog, Authority, EffectivePermissions, Grant, Plan, ProjectId, Scope};
//! let set = |s| catalog().set(s).unwrap();
//! let admin_on_2 = EffectivePermissions::for_service_token(
//!     &[Grant::new(set("account_admin"), Scope::Project(ProjectId(2)))], Plan::Enterprise);
//! let admin_on_all = EffectivePermissions::for_service_token(
//!     &[Grant::new(set("account_admin"), Scope::AllProjects)], Plan::Enterprise);
//! // The project-scoped admin may not touch the all-projects admin…
//! assert!(Authority::Holder(&admin_on_2).check_change(Some(&admin_on_all), None).is_err());
//! // …and the all-projects admin may touch the project-scoped one.
//! assert!(Authority::Holder(&admin_on_all).check_change(Some(&admin_on_2), None).is_ok());
//! ```

use crate::effective::EffectivePermissions;
use crate::error::Error;
use crate::grant::Scope;

/// Who acts on an account's principals.
#[derive(Clone, Copy, Debug)]
pub enum Authority<'a> {
    /// The deployment's operator, at the CLI on the database itself: bound by the plan only.
    Operator,
    /// A token or a signed-in user, holding these permissions in the account.
    Holder(&'a EffectivePermissions),
}

impl Authority<'_> {
    /// The rule. `before` is what the principal holds now (`None`: it does not exist yet);
    /// `after` what it will hold (`None`: it is being removed, renamed or fenced, and holds no
    /// more than before). Refused with [`Error::StrongerTarget`] when the target already holds
    /// something the actor lacks, and with [`Error::Escalation`] when the change would give it
    /// something the actor lacks.
    pub fn check_change(
        &self,
        before: Option<&EffectivePermissions>,
        after: Option<&EffectivePermissions>,
    ) -> Result<(), Error> {
        let Authority::Holder(mine) = self else {
            return Ok(());
        };
        if let Some((permission, scope)) = before.and_then(|b| mine.first_not_covered(b)) {
            return Err(Error::StrongerTarget {
                permission,
                scope: scope_words(scope),
            });
        }
        if let Some((permission, scope)) = after.and_then(|a| mine.first_not_covered(a)) {
            return Err(Error::Escalation {
                permission,
                scope: scope_words(scope),
            });
        }
        Ok(())
    }

    /// [`Authority::check_change`] for a principal being created.
    pub fn check_new(&self, new: &EffectivePermissions) -> Result<(), Error> {
        self.check_change(None, Some(new))
    }

    /// [`Authority::check_change`] for a principal being edited, fenced, rotated or removed
    /// without gaining anything.
    pub fn check_existing(&self, current: &EffectivePermissions) -> Result<(), Error> {
        self.check_change(Some(current), None)
    }
}

/// " on all projects", " on project 7", or "" for an account-level permission.
fn scope_words(scope: Option<Scope>) -> String {
    match scope {
        None => String::new(),
        Some(Scope::AllProjects) => " on all projects".to_owned(),
        Some(Scope::Project(p)) => format!(" on project {p}"),
    }
}
