//! The route table against the permission catalog, row by row, over real HTTP.
//!
//! What this suite proves, for every row of `routes::table::api_table()` as it stands when it runs:
//!
//! 1. A row that needs a permission answers 403 to exactly the (permission set, scope) pairs that
//!    `catalog.json` says lack it, and lets every other pair through (never 401/403/5xx). The
//!    expectation is computed from the catalog file itself, read here with `serde_json`, not from
//!    the server's compiled catalog or decision function, so a wrong bit anywhere between the two
//!    shows up as a failure.
//! 2. An account-scoped row never reaches another account: an account admin of A gets 404 (or 403)
//!    at paths naming account B or B's objects, never sees B's data, and B is unchanged after.
//! 3. A row without a permission is one this suite knows is public or identity-only: a route added
//!    without a permission fails until someone decides, here, that it needs none.
//! 4. Every non-public row answers 401 with one and the same body to a missing, malformed, unknown
//!    or revoked token.
//!
//! The modules: [`catalog_file`] reads `catalog.json`; [`tokens_and_paths`] mints tokens and
//! fills route paths with real ids; then one module per point above: [`matrix`] (1),
//! [`other_accounts`] (2), [`without_permission`] (3) and [`unauthenticated`] (4).

mod catalog_file;
mod matrix;
mod other_accounts;
mod tokens_and_paths;
mod unauthenticated;
mod without_permission;
