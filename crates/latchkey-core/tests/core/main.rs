//! The latchkey-core integration suite, one test binary: each module is one area of the spec, all
//! sharing the harness in `common`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

mod catalog_matrix;
mod common;
mod decisions;
mod minting;
mod plans_and_licenses;
mod token_format;
