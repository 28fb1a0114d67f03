//! Who calls a guarded route: the [`Caller`] the guard hands to handlers (a token's principal
//! and the client address), the [`UserCaller`] of routes that act for a user, and the network
//! fence both pass.

use crate::error::ApiError;
use crate::sign_in::SignedIn;
use crate::verifier::Principal;
use latchkey_core::{AccountId, Authority, Minter, TokenKind};
use latchkey_store::{Actor, ActorKind};
use std::net::IpAddr;

/// The caller of a route that acts for a user: a personal access token, or a password sign-in.
#[derive(Clone)]
pub enum UserCaller {
    /// A personal access token (its user's permissions), and that user.
    Token(Caller, latchkey_core::UserId),
    /// E-mail and password.
    Password(SignedIn),
}

impl UserCaller {
    /// The account.
    pub fn account(&self) -> AccountId {
        match self {
            UserCaller::Token(c, _) => c.account(),
            UserCaller::Password(s) => s.account,
        }
    }

    /// The user.
    pub fn user_id(&self) -> latchkey_core::UserId {
        match self {
            UserCaller::Token(_, user) => *user,
            UserCaller::Password(s) => s.user_id,
        }
    }

    /// The caller's authority over the account's principals (its user's permissions).
    pub fn authority(&self) -> Authority<'_> {
        match self {
            UserCaller::Token(c, _) => c.authority(),
            UserCaller::Password(s) => Authority::Holder(&s.permissions),
        }
    }

    /// The caller as a minter: a PAT mints nothing; a signed-in user acts as themselves.
    pub fn minter(&self) -> Minter<'_> {
        match self {
            UserCaller::Token(c, _) => c.minter(),
            UserCaller::Password(s) => Minter::User {
                id: s.user_id,
                license: s.license,
                perms: &s.permissions,
            },
        }
    }

    /// The caller as the audit log records it.
    pub fn actor(&self) -> Actor {
        match self {
            UserCaller::Token(c, _) => c.actor(),
            UserCaller::Password(s) => Actor {
                kind: ActorKind::User,
                id: Some(s.user_id.0),
                name: s.email.clone(),
                ip: s.ip.map(|ip| ip.to_string()),
                source: "api",
            },
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for UserCaller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        if let Some(s) = parts.extensions.get::<SignedIn>() {
            return Ok(UserCaller::Password(s.clone()));
        }
        // The route's guard admits only personal access tokens; anything else is no user.
        parts
            .extensions
            .get::<Caller>()
            .and_then(|c| Some(UserCaller::Token(c.clone(), c.principal.user_id()?)))
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Refuses a caller whose address the account's IP rules or the token's allowlist fence out,
/// with dbt Cloud's 403 body.
pub fn check_network(principal: &Principal, ip: Option<IpAddr>) -> Result<(), ApiError> {
    let Some(policy) = &principal.network else {
        return Ok(());
    };
    policy.check(ip).map_err(|denial| ApiError::IpDenied {
        account_id: principal.account_id.0,
        user_id: principal.user_id().map(|u| u.0),
        is_service_token: principal.kind == TokenKind::Service,
        account_access_denied: denial == latchkey_core::NetworkDenial::Account,
    })
}

/// The authenticated caller of a guarded route.
#[derive(Clone)]
pub struct Caller {
    /// Who is calling: the token's principal, with its effective permissions.
    pub principal: Principal,
    /// The client address the request came from (after trusted proxies), if known.
    pub client_ip: Option<IpAddr>,
    /// Whether the token was found in the cache (for the handlers that count their own
    /// decisions as hits or misses).
    pub from_cache: bool,
}

impl Caller {
    /// The caller's account.
    pub fn account(&self) -> AccountId {
        self.principal.account_id
    }

    /// The caller as a minter of tokens (a PAT never mints service tokens).
    pub fn minter(&self) -> Minter<'_> {
        match self.principal.kind {
            TokenKind::Service => Minter::ServiceToken {
                perms: &self.principal.permissions,
            },
            TokenKind::Personal => Minter::PersonalToken {
                perms: &self.principal.permissions,
            },
        }
    }

    /// The caller's authority over the account's principals: what it holds, no more
    /// ([`Authority::check_change`] is the one rule for every change to a principal).
    pub fn authority(&self) -> Authority<'_> {
        Authority::Holder(&self.principal.permissions)
    }

    /// The caller as the audit log records it.
    pub fn actor(&self) -> Actor {
        let p = &self.principal;
        let (kind, name) = match p.kind {
            TokenKind::Service => (ActorKind::ServiceToken, format!("service token {}", p.id)),
            TokenKind::Personal => (
                ActorKind::PersonalToken,
                format!("personal access token {}", p.id),
            ),
        };
        Actor {
            kind,
            id: Some(p.id.0),
            name,
            ip: self.client_ip.map(|ip| ip.to_string()),
            source: "api",
        }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Unauthenticated)
    }
}
