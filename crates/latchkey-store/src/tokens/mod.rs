//! Service tokens and personal access tokens: create, read, rotate and revoke.
//!
//! - [`read`]: rows into records, one token or a page of them, a token's digest.
//! - [`checks`]: what a token must satisfy before it is written.
//! - [`service`]: a service token minted, renamed, fenced and revoked; [`grants`]: its grants
//!   written and replaced; [`rotation`]: a successor and the overlap.
//! - [`personal`]: personal access tokens minted and revoked.
//! - [`leaks`]: leaked-credential reports.

pub(crate) mod checks;
pub(crate) mod grants;
mod leaks;
mod personal;
pub(crate) mod read;
mod rotation;
pub(crate) mod service;
