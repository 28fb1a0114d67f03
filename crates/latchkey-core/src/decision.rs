//! The decision function: may these effective permissions do this on that project?

use crate::effective::EffectivePermissions;
use crate::grant::EnvCategory;
use crate::ids::ProjectId;
use crate::permission::{Level, Permission};
use std::fmt;

/// The answer to one permission check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A grant covers the permission.
    Allow,
    /// Nothing covers it; the reason is machine-readable and safe to show the caller.
    Deny(DenyReason),
}

impl Decision {
    /// True for [`Decision::Allow`].
    #[inline]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Why a check was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// No grant covers the permission on that scope (`project` is `None` for account-level
    /// permissions, and for project-level permissions asked about all projects).
    NoGrant {
        /// What was asked.
        permission: Permission,
        /// On which project, if one was named.
        project: Option<ProjectId>,
    },
    /// A grant gives this write only in some environment categories, and the check named none of
    /// them (or another one).
    EnvironmentNotWritable {
        /// What was asked.
        permission: Permission,
        /// On which project, if one was named.
        project: Option<ProjectId>,
        /// The environment category asked about, if any.
        environment: Option<EnvCategory>,
    },
}

impl DenyReason {
    /// A stable code: `no_grant` or `environment_not_writable`.
    pub fn code(&self) -> &'static str {
        match self {
            DenyReason::NoGrant { .. } => "no_grant",
            DenyReason::EnvironmentNotWritable { .. } => "environment_not_writable",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (permission, project) = match self {
            DenyReason::NoGrant {
                permission,
                project,
            } => (permission, project),
            DenyReason::EnvironmentNotWritable {
                permission,
                project,
                ..
            } => (permission, project),
        };
        match self {
            DenyReason::NoGrant { .. } => write!(f, "no grant covers {permission}")?,
            DenyReason::EnvironmentNotWritable { environment, .. } => {
                write!(
                    f,
                    "{permission} is granted only in the grant's writable environment categories"
                )?;
                match environment {
                    Some(env) => write!(f, ", which do not include {}", env.as_str())?,
                    None => write!(f, "; name the environment category")?,
                }
            }
        }
        match (permission.resource.level(), project) {
            (Level::Account, _) => Ok(()),
            (Level::Project, Some(p)) => write!(f, " on project {p}"),
            (Level::Project, None) => write!(f, " on all projects"),
        }
    }
}

/// Decides one check. Account-level permissions ignore `project`; project-level ones are checked
/// on that project (all-projects grants count there too), or on all projects when `project` is
/// `None`. `env` names the category of the environment acted on, for environment-scoped writes.
///
/// The caller must already know `project` belongs to the principal's account.
#[inline]
pub fn decide(
    perms: &EffectivePermissions,
    permission: Permission,
    project: Option<ProjectId>,
    env: Option<EnvCategory>,
) -> Decision {
    let bit = permission.bit();
    if permission.resource.level() == Level::Account {
        if perms.account & bit != 0 {
            return Decision::Allow;
        }
        return Decision::Deny(DenyReason::NoGrant {
            permission,
            project: None,
        });
    }
    let scope = perms.project_scope(project);
    if scope.in_env(env) & bit != 0 {
        return Decision::Allow;
    }
    if scope.env.iter().any(|b| b & bit != 0) {
        return Decision::Deny(DenyReason::EnvironmentNotWritable {
            permission,
            project,
            environment: env,
        });
    }
    Decision::Deny(DenyReason::NoGrant {
        permission,
        project,
    })
}

/// Whether the project a check names is one of the principal's own account's. Another
/// account's project, and one that does not exist (or no longer does), are `Foreign`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// An active project of the principal's account (or no project named).
    Own,
    /// Anything else.
    Foreign,
}

/// Decides one check for a principal of an account: on a [`Ownership::Foreign`] project, the
/// same denial as a missing grant, whatever the grants say; otherwise [`decide`]. The verifier
/// decides through this and [`explain`] asks each grant through it, so an explanation cannot
/// disagree with the answer.
#[inline]
pub fn decide_owned(
    perms: &EffectivePermissions,
    permission: Permission,
    project: Option<ProjectId>,
    ownership: Ownership,
    env: Option<EnvCategory>,
) -> Decision {
    if project.is_some() && ownership == Ownership::Foreign {
        return Decision::Deny(DenyReason::NoGrant {
            permission,
            project,
        });
    }
    decide(perms, permission, project, env)
}

/// Which of a token's grants cover a check: each grant compiled alone under the plan and asked
/// the same question through [`decide_owned`], ownership included, so the explanation can never
/// disagree with the decision. Grants the plan no longer offers (or user-only sets) cover
/// nothing and are reported as such.
pub fn explain(
    grants: &[crate::grant::Grant],
    plan: crate::plan::Plan,
    permission: Permission,
    project: Option<ProjectId>,
    ownership: Ownership,
    env: Option<EnvCategory>,
) -> Vec<(crate::grant::Grant, bool)> {
    grants
        .iter()
        .map(|g| {
            let alone = EffectivePermissions::for_service_token(std::slice::from_ref(g), plan);
            let decision = decide_owned(&alone, permission, project, ownership, env);
            (*g, decision.is_allowed())
        })
        .collect()
}
