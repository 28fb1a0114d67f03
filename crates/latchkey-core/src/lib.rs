//! Latchkey's domain, pure and synchronous: the permission catalog, plans and licenses, grants and
//! their compiled bitsets, the decision function, who may mint what, and the token format; and
//! [`forward_uri`], how an upstream reads a forward-auth request's method and target.
//!
//! Nothing here does I/O, async, HTTP or SQL; every other crate builds on these types.
//!
//! ```
//! use latchkey_core::{catalog, Grant, Permission, Plan, Scope, ProjectId, decide};
//! let job_admin = catalog().set("job_admin").unwrap();
//! let grants = [Grant::new(job_admin, Scope::Project(ProjectId(7)))];
//! let perms = latchkey_core::EffectivePermissions::for_service_token(&grants, Plan::Enterprise);
//! let write_jobs: Permission = "jobs:write".parse().unwrap();
//! assert!(decide(&perms, write_jobs, Some(ProjectId(7)), None).is_allowed());
//! assert!(!decide(&perms, write_jobs, Some(ProjectId(8)), None).is_allowed());
//! ```

#![forbid(unsafe_code)]

pub mod authority;
pub mod base62;
pub mod catalog;
pub mod decision;
pub mod effective;
pub mod email;
pub mod error;
pub mod forward_uri;
pub mod grant;
pub mod ids;
pub mod mint;
pub mod network;
pub mod permission;
pub mod permission_names;
pub mod permissions;
pub mod plan;
pub mod principal;
pub mod rule_set;
pub mod token;

pub use authority::Authority;
pub use catalog::{catalog, Catalog, PermissionSet};
pub use decision::{decide, decide_owned, explain, Decision, DenyReason, Ownership};
pub use effective::{EffectivePermissions, ScopeBits};
pub use email::{BadEmail, Email};
pub use error::Error;
pub use grant::{EnvCategories, EnvCategory, Grant, Scope};
pub use ids::{AccountId, GroupId, ProjectId, TokenId, UserId};
pub use mint::{
    check_may_grant_to_group, check_may_mint_personal_token, check_may_mint_service_token, Minter,
};
pub use network::{Cidr, CidrError, IpRules, NetworkDenial, NetworkPolicy, RuleType};
pub use permission::{Access, Level, Permission, Resource};
pub use plan::{License, Plan};
pub use principal::{PrincipalKind, UserAccess};
pub use token::{NewToken, ParsedToken, Secret, TokenDigest, TokenFormat, TokenKind};
