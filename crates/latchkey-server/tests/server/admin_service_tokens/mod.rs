//! The route table and the v3 service-token endpoints over real HTTP.
//!
//! The modules: [`route_table`] (every row's guard), [`creation`], [`lifecycle`] (revoking,
//! re-granting, renaming), [`rotation`], [`introspection`], [`leaks_and_guessing`] (leak reports
//! and the failed-authentication throttle), [`audit`] (the audit log) and [`whoami`] (what a token
//! is told about itself).

mod audit;
mod creation;
mod introspection;
mod last_use;
mod leaks_and_guessing;
mod lifecycle;
mod rotation;
mod route_table;
mod whoami;
