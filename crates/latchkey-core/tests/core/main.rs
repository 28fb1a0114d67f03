//! The latchkey-core integration suite, one test binary: each module is one area of the spec, all
//! sharing the harness in `common`.

mod catalog_matrix;
mod common;
mod decisions;
mod minting;
mod plans_and_licenses;
mod token_format;
