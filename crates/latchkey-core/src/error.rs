//! The domain's one error type: every way a domain input or rule can be refused.

use crate::permission::Permission;

/// Why the domain refused an input or an operation. Messages name what was expected, and never
/// contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A permission set slug that is not in the catalog.
    #[error("unknown permission set `{0}`")]
    UnknownPermissionSet(String),
    /// A resource slug that is not in the catalog.
    #[error("unknown resource `{0}`")]
    UnknownResource(String),
    /// A permission not written as `resource:access`.
    #[error("invalid permission `{0}`: expected RESOURCE:ACCESS with ACCESS read or write, e.g. jobs:write")]
    BadPermission(String),
    /// A plan name that is not developer, team or enterprise.
    #[error("unknown plan `{0}`: expected developer, team or enterprise")]
    UnknownPlan(String),
    /// A license name that is not developer, read_only or it.
    #[error("unknown license `{0}`: expected developer, read_only or it")]
    UnknownLicense(String),
    /// An environment category that is not all, development, staging, production or other.
    #[error("unknown environment category `{0}`: expected all, development, staging, production or other")]
    UnknownEnvCategory(String),
    /// A grant string the CLI could not read.
    #[error(
        "invalid grant `{0}`: expected SET, SET:all or SET:project=ID, e.g. job_admin:project=7"
    )]
    BadGrant(String),
    /// The account's plan does not offer this permission set.
    #[error("permission set `{set}` is not available on the {plan} plan")]
    SetNotOnPlan {
        /// The refused set's slug.
        set: String,
        /// The account's plan.
        plan: String,
    },
    /// The set may be held by users only (fusion_admin), never by a token.
    #[error("permission set `{0}` can be held by users only, not by tokens")]
    UserOnlySet(String),
    /// writable_environment_categories given for a set that does not honour it.
    #[error("permission set `{0}` does not take writable_environment_categories")]
    EnvCategoriesNotApplicable(String),
    /// The minter is not the kind of principal that may mint this token.
    #[error("{0}")]
    MayNotMint(&'static str),
    /// The change would give a token, group or seat a permission its maker lacks.
    #[error("this would give {permission}{scope}, which you do not hold yourself; nobody gives more than they hold")]
    Escalation {
        /// The first permission found that the minter lacks.
        permission: Permission,
        /// Where: " on all projects", " on project 7" or "".
        scope: String,
    },
    /// The principal being changed holds a permission its changer lacks: only someone holding
    /// everything it holds may edit, fence, rotate, re-grant or remove it.
    #[error("the target holds {permission}{scope}, which you do not hold; only a principal holding everything it holds may change it")]
    StrongerTarget {
        /// The first permission found that the actor lacks.
        permission: Permission,
        /// Where: " on all projects", " on project 7" or "".
        scope: String,
    },
    /// A license the account's plan does not offer.
    #[error("the {license} license is not available on the {plan} plan")]
    LicenseNotOnPlan {
        /// The refused license.
        license: String,
        /// The account's plan.
        plan: String,
    },
    /// A token string that is not in the deployment's format; deliberately carries no detail.
    #[error("malformed token")]
    MalformedToken,
    /// A prefix that cannot be used for tokens.
    #[error("invalid token prefix `{0}`: expected 2 to 16 lowercase letters or digits")]
    BadPrefix(String),
}
