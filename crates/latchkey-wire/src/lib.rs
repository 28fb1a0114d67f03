//! Latchkey's wire shapes, shared by the HTTP API and the CLI's `--json`: dbt Cloud's field names
//! and timestamp format, each shape a type that derives both `Serialize` and `ToSchema`, so the
//! OpenAPI document describes exactly what is sent ([`views`]); and the value sets the document
//! states for them ([`value_sets`]). No HTTP framework here: a client of the shapes (the CLI)
//! does not pull in the server.

#![forbid(unsafe_code)]

pub mod value_sets;
pub mod views;

pub use views::*;
