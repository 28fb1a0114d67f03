//! Accounts, projects, users, memberships and groups, and the first-start bootstrap.
//!
//! - [`input`]: the rules for names, passwords and e-mail addresses.
//! - [`read`]: reading accounts and seats, and checking what a command names is the account's.
//! - [`insert`]: the rows an account is made of, each with its audit entry.
//! - [`account`]: making an account, its projects, users and groups; [`seats`]: licenses.
//! - [`bootstrap`]: the first start.

mod account;
mod bootstrap;
pub(crate) mod input;
pub(crate) mod insert;
pub(crate) mod read;
mod seats;
