//! The web console, served by `latchkey serve` at `/console/`: server-rendered pages from
//! compile-time-checked templates (`templates/console/`), plain forms that work without
//! JavaScript, one small stylesheet and script, all embedded in the binary.
//!
//! The console is a client of the same rules as the API: each page is a row of the route table
//! ([`crate::routes::table`]) with a session requirement, admitted by the one guard
//! ([`guard`]) and decided by the one decision function with the signed-in user's own
//! permissions (license and groups). Its writes are the store's commands, each one transaction
//! with its audit entry, with the user as the actor and `ui` as the source.
//!
//! - [`session`]: the session cookie, its digest in the store, and the CSRF token of forms;
//! - [`guard`]: who is signed in, their timeouts, account and permission; [`caller`]: them, for
//!   the handlers;
//! - [`form`]: a posted form, CSRF-checked;
//! - [`pages`]: the headers of every page and the pages of refusals; [`frame`]: the frame and
//!   navigation of every signed-in page;
//! - [`account`]: sign-in, sign-out and the password;
//! - [`service_tokens`] and [`token_views`]: Account settings → Service tokens;
//! - [`told`]: the notice a page shows after a change redirected to it;
//! - [`personal_tokens`]: each person's own personal access tokens;
//! - [`projects`]: the account's projects, decided project by project;
//! - [`users`]: the account's members, their licenses, and removing them;
//! - [`groups`]: groups and their permission sets;
//! - [`invites`]: invitations, and the code shown once;
//! - [`ip_restrictions`]: the account's IP rules and their enforcement, with the lockout guard;
//! - [`audit`]: the audit log, filtered, and as CSV;
//! - [`assets`]: the stylesheet and the script;
//! - [`rows`]: the console's rows of the route table.

pub mod account;
pub mod assets;
pub mod audit;
pub mod caller;
pub mod form;
pub mod frame;
pub mod groups;
pub mod guard;
pub mod invites;
pub mod ip_restrictions;
pub mod pages;
pub mod personal_tokens;
pub mod projects;
pub mod rows;
pub mod service_tokens;
pub mod session;
pub mod token_views;
pub mod told;
pub mod users;
