//! The store suite of `tests/store` again, on PostgreSQL: the same modules, compiled a second
//! time with [`BACKEND`] set to PostgreSQL, each test on a new database in a throwaway cluster
//! this process starts (see `latchkey-test-postgres`). Not a copy: the files are `tests/store`'s.
//! Left out: `migrations`, the history of SQLite's own schema.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

/// The backend this binary runs the suite on.
pub const BACKEND: latchkey_store::Backend = latchkey_store::Backend::Postgres;

#[path = "../store/bootstrap.rs"]
mod bootstrap;
#[path = "../store/change_feed.rs"]
mod change_feed;
#[path = "../store/common.rs"]
mod common;
#[path = "../store/console_sessions.rs"]
mod console_sessions;
#[path = "../store/ip_rules.rs"]
mod ip_rules;
#[path = "../store/names.rs"]
mod names;
#[path = "../store/opening.rs"]
mod opening;
#[path = "../store/personal_tokens.rs"]
mod personal_tokens;
#[path = "../store/service_tokens.rs"]
mod service_tokens;

/// Every module of the SQLite suite is here too, but the SQLite-only ones.
#[test]
fn runs_every_module_of_the_sqlite_suite() {
    let here = include_str!("main.rs");
    let there = include_str!("../store/main.rs");
    for line in there.lines().filter(|l| l.starts_with("mod ")) {
        if line != "mod migrations;" {
            assert!(
                here.contains(&format!("\n{line}\n")),
                "{line} is missing here"
            );
        }
    }
}
