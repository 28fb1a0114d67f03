//! Handlers: extract, do one thing, render. Which route needs what is in [`table`] alone.

pub mod audit;
pub mod authorize;
pub mod caller;
pub mod credentials;
pub mod forward;
pub mod groups;
pub mod guard;
pub mod health;
pub mod identity;
pub mod introspect;
pub mod invites;
pub mod ip_restrictions;
pub mod metrics;
pub mod personal_tokens;
pub mod projects;
pub mod row;
pub mod service_tokens;
pub mod spec;
pub mod table;
pub mod users;
