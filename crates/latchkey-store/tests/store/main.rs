//! The store against a real SQLite file: every command commits with its audit entry and its
//! change-feed row, refusals change nothing, secrets never reach the file.
//!
//! One test binary: each module is one area of the store, all sharing the helpers in `common`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

mod bootstrap;
mod change_feed;
mod common;
mod ip_rules;
mod migrations;
mod names;
mod personal_tokens;
mod service_tokens;
