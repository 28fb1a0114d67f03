//! Who is signed in to the console, as the guard ([`crate::console::guard`]) hands them to the
//! handlers of its rows: the user with their seat and permissions, and their session's secret
//! and CSRF token.

use crate::console::pages::{self, Refusal};
use crate::console::session::SessionSecret;
use crate::sign_in::SignedIn;
use axum::extract::FromRequestParts;
use axum::response::Response;
use latchkey_core::{decide, AccountId, Permission};
use latchkey_store::Actor;

/// Who is signed in to the console, for the handlers of its rows.
#[derive(Clone)]
pub struct ConsoleCaller {
    /// The user, their seat and permissions in the session's account.
    pub user: SignedIn,
    /// The session's cookie secret (the store holds only its digest).
    pub secret: SessionSecret,
    /// The CSRF token the page's forms carry.
    pub csrf: String,
    /// The user must replace their password before anything else.
    pub password_change_required: bool,
}

impl ConsoleCaller {
    /// The caller as the audit log records it: the user, from the console.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: latchkey_store::ActorKind::User,
            id: Some(self.user.user_id.0),
            name: self.user.email.clone(),
            ip: self.user.ip.map(|ip| ip.to_string()),
            source: "ui",
        }
    }

    /// Whether the user holds `permission` on the account (for showing only the buttons that
    /// would work).
    pub fn holds(&self, permission: Permission) -> bool {
        decide(&self.user.permissions, permission, None, None).is_allowed()
    }

    /// Whether the user holds `permission` on `project`.
    pub fn holds_on(&self, permission: Permission, project: latchkey_core::ProjectId) -> bool {
        decide(&self.user.permissions, permission, Some(project), None).is_allowed()
    }

    /// The account.
    pub fn account(&self) -> AccountId {
        self.user.account
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ConsoleCaller {
    type Rejection = Response;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Response> {
        parts
            .extensions
            .get::<ConsoleCaller>()
            .cloned()
            .ok_or_else(|| {
                pages::refusal(Refusal::SignIn {
                    next: None,
                    ended: false,
                })
            })
    }
}
