//! The frame of every signed-in page: who is signed in where, the navigation to the pages their
//! permissions show, and the sign-out form.

use crate::console::caller::ConsoleCaller;
use crate::console::pages::PASSWORD_PAGE;
use latchkey_core::permissions as p;

/// One link of the navigation.
pub struct NavLink {
    /// What it says.
    pub label: &'static str,
    /// Where it goes.
    pub href: String,
    /// It is the page shown.
    pub current: bool,
}

/// The frame of every signed-in page: who is signed in where, the navigation they may use,
/// and the sign-out form.
pub struct Frame {
    /// The page's title.
    pub title: String,
    /// The user's e-mail.
    pub email: String,
    /// The account's id.
    pub account_id: i64,
    /// The CSRF token for the frame's own forms (sign-out).
    pub csrf: String,
    /// The navigation.
    pub nav: Vec<NavLink>,
}

impl Frame {
    /// The frame for `caller` on the page `current` (a path), titled `title`.
    pub fn new(caller: &ConsoleCaller, title: &str, current: &str) -> Frame {
        let account = caller.account().0;
        let mut nav = Vec::new();
        let mut link = |label: &'static str, href: String| {
            let current = current == href;
            nav.push(NavLink {
                label,
                href,
                current,
            });
        };
        if !caller.password_change_required && caller.holds(p::SERVICE_TOKENS_READ) {
            link(
                "Service tokens",
                format!("/console/accounts/{account}/service-tokens"),
            );
        }
        if !caller.password_change_required {
            link(
                "Personal tokens",
                format!("/console/accounts/{account}/personal-tokens"),
            );
        }
        if !caller.password_change_required && caller.holds(p::PROJECTS_READ) {
            link("Projects", format!("/console/accounts/{account}/projects"));
        }
        if !caller.password_change_required && caller.holds(p::MEMBERS_READ) {
            link("Users", format!("/console/accounts/{account}/users"));
        }
        if !caller.password_change_required && caller.holds(p::GROUPS_READ) {
            link("Groups", format!("/console/accounts/{account}/groups"));
        }
        if !caller.password_change_required && caller.holds(p::INVITATIONS_READ) {
            link(
                "Invitations",
                format!("/console/accounts/{account}/invitations"),
            );
        }
        if !caller.password_change_required && caller.holds(p::IP_RESTRICTIONS_READ) {
            link(
                "IP restrictions",
                format!("/console/accounts/{account}/ip-restrictions"),
            );
        }
        if !caller.password_change_required && caller.holds(p::AUDIT_LOGS_READ) {
            link(
                "Audit log",
                format!("/console/accounts/{account}/audit-log"),
            );
        }
        link("Password", PASSWORD_PAGE.to_owned());
        Frame {
            title: title.to_owned(),
            email: caller.user.email.clone(),
            account_id: account,
            csrf: caller.csrf.clone(),
            nav,
        }
    }
}
