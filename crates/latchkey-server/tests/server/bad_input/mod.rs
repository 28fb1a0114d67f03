//! Bad input to every route of the route table that reads a body or a query string, over real
//! HTTP, with an `account_admin` token so that the guard lets each request through to its handler.
//! (`POST /api/v1/authorize` is left to `http_authorize.rs`.)
//!
//! Every refused request must answer a 4xx in the error envelope — `status.is_success == false`
//! and `status.code` equal to the HTTP status — never a 500, and must change nothing: each one is
//! bracketed by a [`Fingerprint`](fingerprint::Fingerprint) of the database (every table's row
//! count and largest id, read behind the store's back, plus what the store itself reports: the audit-log size, the change-feed position, every token
//! but its `last_used_at`, and the IP rule set).
//!
//! Also: 10 MB bodies (chunked and with a `Content-Length`) are 413s; odd names are either refused
//! (control characters, blank, over 255 characters) or stored and read back byte for byte (format
//! characters, emoji, SQL-looking text); unknown ids are 404s; and a token's secret never reaches
//! the database file.
//!
//! The first test checks that every row of `api_table()` is classified in [`routes`] by the input it
//! reads, so a new route fails here until it is given cases. Every failure message names the route
//! and the input.
//!
//! The modules: [`routes`] classifies every row by the input it reads; [`fixture`] is the server
//! and the objects the cases aim at; [`fingerprint`] is the database's state around a request;
//! [`cases`] is one bad request and the checks every refusal gets. The cases themselves are in
//! [`bodies`], [`huge_bodies`], [`queries`], [`ids`], [`names`] and [`secrets`].

mod bodies;
mod cases;
mod fingerprint;
mod fixture;
mod huge_bodies;
mod ids;
mod names;
mod queries;
mod routes;
mod secrets;
