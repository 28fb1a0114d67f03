//! The latchkey-server integration suite, one test binary: each module is one area of the spec, all
//! sharing the harness in `common`. This binary runs it on SQLite; `tests/server_postgres` runs
//! the same modules on PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

/// The backend this binary runs the suite on.
pub const BACKEND: latchkey_store::Backend = latchkey_store::Backend::Sqlite;

mod admin_service_tokens;
mod answers;
mod bad_input;
mod budgets;
mod cache_truth;
mod common;
mod connections;
mod console_routes;
mod dbt_clients;
mod directory;
mod expiry_precision;
mod explain;
mod express;
mod fences;
mod forward_auth;
mod forward_uri;
mod http_authorize;
mod identity;
mod ip_restrictions;
mod metrics;
mod openapi;
mod personal_tokens;
mod route_matrix;
mod schema_rules;
mod strict_bodies;
mod stronger_targets;
mod time_order;
