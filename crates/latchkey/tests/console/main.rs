//! The web console in a real Chromium, against the real `latchkey serve` on a real SQLite file:
//! signing in (and the first-start password that must be replaced), Account settings → Service
//! tokens (create with two permission sets, the secret once, rotate with an overlap, delete),
//! what weaker people see, CSRF and session expiry, and a phone-width layout. Screenshots of
//! the main pages go to `target/console-screenshots/`; with `LATCHKEY_UPDATE_SCREENSHOTS=1`
//! the Service tokens page also replaces `docs/console-service-tokens.png`, which the README
//! shows.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests stop loudly on a failed setup"
)]

mod browser;
mod directory;
#[allow(
    dead_code,
    reason = "the binary tests' harness; this suite uses part of it"
)]
#[path = "../binary/harness.rs"]
mod harness;
mod people;
mod service_tokens;
mod views;
