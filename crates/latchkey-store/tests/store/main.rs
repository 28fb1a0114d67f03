//! The store against a real SQLite file: every command commits with its audit entry and its
//! change-feed row, refusals change nothing, secrets never reach the file.
//!
//! One test binary: each module is one area of the store, all sharing the helpers in `common`.
//! `tests/store_postgres` runs these same modules on PostgreSQL (all but `migrations`, which
//! checks SQLite's own migration history).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

/// The backend this binary runs the suite on.
pub const BACKEND: latchkey_store::Backend = latchkey_store::Backend::Sqlite;

mod bootstrap;
mod change_feed;
mod common;
mod console_sessions;
mod ip_rules;
mod migrations;
mod names;
mod opening;
mod personal_tokens;
mod service_tokens;
