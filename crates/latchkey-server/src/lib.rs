//! Latchkey's HTTP surface and its verifier.
//!
//! - [`verifier`]: parse → checksum → SHA-256 → in-memory cache → decide; the hot path.
//! - [`cache`]: the sharded, read-mostly map of compiled principals; [`owners`]: project owners.
//! - [`clock`]: instants to the microsecond; [`usage`]: batched `last_used_at`.
//! - [`feed`]: background tasks that keep the cache honest (change feed, `last_used_at` batches).
//! - [`metrics`]: the node's counters, written out by `GET /metrics`.
//! - [`express`]: the decision routes answered straight off the connection.
//! - [`routes`]: thin handlers; [`error`] turns every failure into the one error envelope.
//!
//! Other services can skip HTTP and embed a [`verifier::Verifier`] directly.

#![forbid(unsafe_code)]

pub mod app;
pub mod budget;
pub mod cache;
pub mod clock;
pub mod config;
pub mod connections;
pub mod console;
pub mod envelope;
pub mod error;
pub mod express;
pub mod extract;
pub mod feed;
pub mod feed_health;
pub mod invite_delivery;
pub mod limiter;
pub mod metrics;
pub mod openapi;
pub mod owners;
pub mod route_map;
pub mod routes;
pub mod sign_in;
pub mod state;
pub mod throttle;
pub mod usage;
pub mod verifier;

pub use app::{router, serve, serve_beside, serve_operator};
pub use config::{ForwardAuthHeaders, ServerConfig};
pub use connections::raise_open_file_limit;
pub use state::AppState;
pub use verifier::{AuthError, Principal, Verifier};
