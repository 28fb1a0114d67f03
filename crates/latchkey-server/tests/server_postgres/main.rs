//! The server suite of `tests/server` again, on PostgreSQL: the same modules, compiled a second
//! time with [`BACKEND`] set to PostgreSQL, each app on a new database in a throwaway cluster
//! this process starts (see `latchkey-test-postgres`). Not a copy: the files are `tests/server`'s.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

/// The backend this binary runs the suite on.
pub const BACKEND: latchkey_store::Backend = latchkey_store::Backend::Postgres;

#[path = "../server/admin_service_tokens/mod.rs"]
mod admin_service_tokens;
#[path = "../server/answers/mod.rs"]
mod answers;
#[path = "../server/bad_input/mod.rs"]
mod bad_input;
#[path = "../server/budgets.rs"]
mod budgets;
#[path = "../server/cache_truth.rs"]
mod cache_truth;
#[path = "../server/common/mod.rs"]
mod common;
#[path = "../server/connections.rs"]
mod connections;
#[path = "../server/console_routes.rs"]
mod console_routes;
#[path = "../server/dbt_clients.rs"]
mod dbt_clients;
#[path = "../server/directory.rs"]
mod directory;
#[path = "../server/expiry_precision.rs"]
mod expiry_precision;
#[path = "../server/explain.rs"]
mod explain;
#[path = "../server/express.rs"]
mod express;
#[path = "../server/fences.rs"]
mod fences;
#[path = "../server/forward_auth.rs"]
mod forward_auth;
#[path = "../server/forward_uri.rs"]
mod forward_uri;
#[path = "../server/http_authorize.rs"]
mod http_authorize;
#[path = "../server/identity.rs"]
mod identity;
#[path = "../server/ip_restrictions.rs"]
mod ip_restrictions;
#[path = "../server/metrics/mod.rs"]
mod metrics;
#[path = "../server/openapi.rs"]
mod openapi;
#[path = "../server/personal_tokens.rs"]
mod personal_tokens;
#[path = "../server/route_matrix/mod.rs"]
mod route_matrix;
#[path = "../server/schema_rules.rs"]
mod schema_rules;
#[path = "../server/strict_bodies.rs"]
mod strict_bodies;
#[path = "../server/stronger_targets.rs"]
mod stronger_targets;
#[path = "../server/time_order.rs"]
mod time_order;

/// Every module of the SQLite suite runs here too.
#[test]
fn runs_every_module_of_the_sqlite_suite() {
    let here = include_str!("main.rs");
    let there = include_str!("../server/main.rs");
    for line in there.lines().filter(|l| l.starts_with("mod ")) {
        assert!(
            here.contains(&format!("\n{line}\n")),
            "{line} is missing here"
        );
    }
}
