//! The guard of the console's rows, called by the route table's one guard
//! ([`crate::routes::guard`]) for rows that need a session: it finds the session behind the
//! cookie, ends it past its idle or absolute timeout, checks the account in the path and the
//! account's IP rules for sign-ins, sends a person who must replace their password to do so,
//! and asks the decision function for the row's permission with the user's own permissions
//! (license and groups), exactly as for their personal access token. Refusals are pages and
//! redirects, never the API's JSON.

use crate::console::caller::ConsoleCaller;
use crate::console::pages::{self, Refusal, PASSWORD_PAGE};
use crate::console::session::session_secret;
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::routes::spec::Requirement;
use crate::state::AppState;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use latchkey_core::{decide, AccountId, Decision, ProjectId};
use std::time::Duration;
use time::OffsetDateTime;

/// How often a session's last use is written: at most once a minute per session (and four
/// times per idle timeout when that is shorter), so reading pages does not write on every
/// request.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Admits a console request (see the module docs) and runs the row's handler, or answers the
/// refusal.
pub async fn run(
    state: &AppState,
    requirement: Requirement,
    has_account: bool,
    mut request: Request,
    next: Next,
) -> Response {
    match admit(state, requirement, has_account, &mut request).await {
        Ok(()) => next.run(request).await,
        Err(refusal) => pages::refusal(refusal),
    }
}

async fn admit(
    state: &AppState,
    requirement: Requirement,
    has_account: bool,
    request: &mut Request,
) -> Result<(), Refusal> {
    let config = state.verifier.config();
    let back_here = (request.method() == axum::http::Method::GET)
        .then(|| {
            request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned())
        })
        .flatten();
    let Some(secret) = session_secret(request.headers(), config.console_secure_cookie) else {
        return Err(Refusal::SignIn {
            next: back_here,
            ended: false,
        });
    };
    // A cookie naming no session is a failed authentication like an unknown token: counted per
    // address, and a throttled address's lookups queue for the node's one store slot for
    // throttled callers, so a flood of made-up cookies never becomes a flood of queries, while a
    // real session behind a busy NAT is still served.
    let ip = ClientIp::of(request.extensions()).0;
    let clock = crate::clock::UnixMicros::now().secs();
    let throttled = ip.is_some_and(|ip| state.auth_failures.check(ip, clock).is_err());
    let turn = if throttled {
        state.throttled_lookups.acquire().await.ok()
    } else {
        None
    };
    let store = state.verifier.store();
    let digest = secret.digest();
    let found = store
        .console_session(&digest)
        .await
        .map_err(store_refusal)?;
    drop(turn);
    let Some(session) = found else {
        if let Some(ip) = ip {
            let _ = state.auth_failures.hit(ip, clock);
        }
        return Err(Refusal::SignIn {
            next: back_here,
            ended: true,
        });
    };
    let now = OffsetDateTime::now_utc();
    let idle = now - session.last_seen_at > config.console_idle_timeout;
    if idle || now >= session.expires_at {
        store
            .close_console_session(None, &digest)
            .await
            .map_err(store_refusal)?;
        return Err(Refusal::SignIn {
            next: back_here,
            ended: true,
        });
    }
    if has_account
        && crate::extract::path_param(request, "account_id")
            .await
            .map(AccountId)
            != Some(session.account_id)
    {
        return Err(Refusal::NotFound);
    }
    let user = crate::sign_in::seat(
        state,
        ip,
        session.account_id,
        session.user_id,
        session.email,
    )
    .await
    .map_err(|e| match e {
        ApiError::IpDenied { .. } => Refusal::Forbidden(
            "The account's IP restrictions do not allow sign-ins from your address.".into(),
        ),
        ApiError::NotFound => Refusal::SignIn {
            next: None,
            ended: true,
        },
        _ => Refusal::Unavailable,
    })?;
    // Until the password is replaced, only the password page and signing out are open.
    let path = request.uri().path();
    if session.password_change_required && path != PASSWORD_PAGE && path != "/console/sign-out" {
        return Err(Refusal::ChangePassword);
    }
    let project = if requirement.on_project() {
        Some(
            crate::extract::path_param(request, "project_id")
                .await
                .map(ProjectId)
                .ok_or(Refusal::NotFound)?,
        )
    } else {
        None
    };
    if let Some(permission) = requirement.permission() {
        if let Decision::Deny(reason) = decide(&user.permissions, permission, project, None) {
            return Err(Refusal::Forbidden(format!(
                "Your permissions in this account do not include this page ({reason})."
            )));
        }
    }
    if now - session.last_seen_at > TOUCH_EVERY.min(config.console_idle_timeout / 4) {
        store
            .touch_console_session(&digest, now)
            .await
            .map_err(store_refusal)?;
    }
    let csrf = secret.csrf();
    request.extensions_mut().insert(ConsoleCaller {
        user,
        secret,
        csrf,
        password_change_required: session.password_change_required,
    });
    Ok(())
}

fn store_refusal(e: latchkey_store::StoreError) -> Refusal {
    tracing::warn!(error = %e, "console: the store did not answer");
    Refusal::Unavailable
}
