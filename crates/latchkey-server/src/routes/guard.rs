//! The one guard every row of the route table sits behind: it authenticates the caller, applies
//! IP fences and budgets, hides other accounts, and asks the decision function for the row's
//! permission, so no handler checks a permission by itself.

use crate::budget::Spender;
use crate::error::ApiError;
use crate::metrics::{DecisionKind, Outcome, StoreCall};
use crate::routes::caller::{check_network, Caller};
use crate::routes::spec::{Requirement, RouteSpec};
use crate::state::AppState;
use crate::throttle;
use crate::verifier::Principal;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use latchkey_core::{AccountId, Decision, ProjectId, TokenKind};
use Requirement::{Public, User};

/// A row as its guard enforces it, worked out once when the router is built: its requirement,
/// whether the path names an account, and whether the Admin API budgets apply.
#[derive(Clone, Copy)]
pub(crate) struct RowGuard {
    requirement: Requirement,
    /// The path has `{account_id}`.
    has_account: bool,
    /// The Admin API (v2/v3) has budgets, per token and per account ([`crate::budget`]); the
    /// decision endpoints other services call on every request do not.
    budgeted: bool,
    /// What its decisions are counted as.
    kind: DecisionKind,
}

impl RowGuard {
    /// The guard of `spec`.
    pub(crate) fn of(spec: &RouteSpec) -> RowGuard {
        RowGuard {
            requirement: spec.requirement,
            has_account: spec.path.contains("{account_id}"),
            budgeted: spec.path.starts_with("/api/v2/") || spec.path.starts_with("/api/v3/"),
            kind: DecisionKind::of_path(spec.path),
        }
    }
}

/// Enforces a row ([`check`]) and hands the request on, with the caller in its extensions;
/// times the Admin API's handlers ([`crate::metrics`]).
pub(crate) async fn guard(
    State((state, row)): State<(AppState, RowGuard)>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if row.requirement == Public {
        return Ok(next.run(request).await);
    }
    if row.requirement.is_console() {
        return Ok(crate::console::guard::run(
            &state,
            row.requirement,
            row.has_account,
            request,
            next,
        )
        .await);
    }
    let path_account = if row.has_account {
        Some(crate::extract::path_param(&mut request, "account_id").await)
    } else {
        None
    };
    let path_project = if row.requirement.on_project() {
        Some(crate::extract::path_param(&mut request, "project_id").await)
    } else {
        None
    };
    let presented = Presented {
        ip: crate::extract::ClientIp::of(request.extensions()).0,
        authorization: request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        path_account,
        path_project,
    };
    match check(&state, row, presented).await? {
        Admitted::Token(caller) => {
            request.extensions_mut().insert(caller);
        }
        Admitted::User(user) => {
            request.extensions_mut().insert(user);
        }
    }
    if row.kind == DecisionKind::AdminApi {
        let start = std::time::Instant::now();
        let response = next.run(request).await;
        state
            .verifier
            .metrics()
            .observe(StoreCall::AdminCommand, start.elapsed());
        return Ok(response);
    }
    Ok(next.run(request).await)
}

/// What a request presents to a row's guard, read from it by whoever serves it (the router, or
/// the express lane, [`crate::express`]).
pub(crate) struct Presented<'a> {
    /// The client address ([`crate::extract::ClientIp`]).
    pub(crate) ip: Option<std::net::IpAddr>,
    /// The `Authorization` header, when it is text.
    pub(crate) authorization: Option<&'a str>,
    /// For a row whose path names an account: the `{account_id}` (`None` inside when it is not
    /// a number).
    pub(crate) path_account: Option<Option<i64>>,
    /// For a row decided on a project: the `{project_id}`, likewise.
    pub(crate) path_project: Option<Option<i64>>,
}

/// Whom a row's guard let in.
pub(crate) enum Admitted {
    /// A token's holder.
    Token(Caller),
    /// A person signed in with e-mail and password (rows acting for a user).
    User(crate::sign_in::SignedIn),
}

/// Enforces a token-guarded row ([`admit`]) on what a request presents, and counts how it was
/// decided ([`crate::metrics`]: the guard's own refusals, and the rows it decides whole;
/// authorize and forward auth count their own answers).
pub(crate) async fn check(
    state: &AppState,
    row: RowGuard,
    presented: Presented<'_>,
) -> Result<Admitted, ApiError> {
    let mut known = None;
    let admitted = admit(state, row, presented, &mut known).await;
    let metrics = state.verifier.metrics();
    let from_cache = known.unwrap_or(false);
    match &admitted {
        Err(e) => metrics.decided(row.kind, refusal(e, known.is_some()), from_cache),
        Ok(_) if row.kind.decided_by_guard() || row.kind == DecisionKind::AdminApi => {
            metrics.decided(row.kind, Outcome::Allow, from_cache);
        }
        Ok(_) => {}
    }
    admitted
}

/// What a refusal of the guard counts as: before the caller is known (`authenticated` false),
/// a failed authentication; after, a denial when it refuses access, and no decision when it
/// refuses for anything else (a budget, the database).
fn refusal(e: &ApiError, authenticated: bool) -> Outcome {
    match e {
        ApiError::Unauthenticated | ApiError::TooManyRequests(_) if !authenticated => {
            Outcome::Unauthenticated
        }
        ApiError::Forbidden(_) | ApiError::IpDenied { .. } | ApiError::NotFound
            if authenticated =>
        {
            Outcome::Deny
        }
        _ => Outcome::Undecided,
    }
}

/// Enforces a row: authenticates (under the failed-authentication throttle), applies IP fences,
/// spends the caller's Admin API budget, hides other accounts (404), checks the permission
/// through the decision function (403 naming it), and spends the account's ceiling for the call
/// it lets through. Sets `known` once the caller is authenticated: whether its token came from
/// the cache.
async fn admit(
    state: &AppState,
    row: RowGuard,
    presented: Presented<'_>,
    known: &mut Option<bool>,
) -> Result<Admitted, ApiError> {
    let Presented {
        ip,
        authorization,
        path_account,
        path_project,
    } = presented;
    let clock = crate::clock::UnixMicros::now();
    let now = clock.secs();
    let path_account = match path_account {
        Some(account) => Some(AccountId(account.ok_or(ApiError::NotFound)?)),
        None => None,
    };
    if row.requirement == User {
        if let Some((email, password)) = authorization.and_then(crate::extract::basic_credentials) {
            // A password is checked only from an address that is not throttled: hashing it is
            // the expensive part, and nothing is known about the caller until it is done.
            if let Some(ip) = ip {
                state
                    .auth_failures
                    .check(ip, now)
                    .map_err(ApiError::TooManyRequests)?;
            }
            let account = path_account.ok_or(ApiError::NotFound)?;
            let user = crate::sign_in::sign_in(state, ip, now, account, &email, password).await?;
            *known = Some(false);
            spend_caller(state, row, Spender::User(user.user_id), now)?;
            spend_account(state, row, account, now)?;
            return Ok(Admitted::User(user));
        }
    }
    let (principal, from_cache): (Principal, bool) =
        match authorization.and_then(crate::extract::bearer_secret) {
            Some(secret) => throttle::authenticate(state, ip, secret, clock).await?,
            None => return Err(throttle::failed(state, ip, None, now)),
        };
    *known = Some(from_cache);
    check_network(&principal, ip)?;
    spend_caller(
        state,
        row,
        Spender::Token(principal.kind, principal.id),
        now,
    )?;
    // Another account's resources are reported as absent, never as forbidden.
    if path_account.is_some_and(|a| a != principal.account_id) {
        return Err(ApiError::NotFound);
    }
    if let Some(permission) = row.requirement.permission() {
        let project = match path_project {
            Some(project) => Some(ProjectId(project.ok_or(ApiError::NotFound)?)),
            None => None,
        };
        if let Decision::Deny(reason) = state
            .verifier
            .decide(&principal, permission, project, None)
            .await?
        {
            return Err(ApiError::Forbidden(reason.to_string()));
        }
    }
    if row.requirement == User && principal.kind != TokenKind::Personal {
        return Err(ApiError::Forbidden(
            "this route acts for a user: call it with a personal access token, or sign in \
             with e-mail and password (HTTP Basic)"
                .into(),
        ));
    }
    // Only now, with every refusal behind it, does the call count against its account.
    spend_account(state, row, principal.account_id, now)?;
    Ok(Admitted::Token(Caller {
        principal,
        client_ip: ip,
        from_cache,
    }))
}

/// Spends one call of the caller's own Admin API budget on rows it applies to; 429 past it.
fn spend_caller(
    state: &AppState,
    row: RowGuard,
    caller: Spender,
    now: i64,
) -> Result<(), ApiError> {
    if !row.budgeted {
        return Ok(());
    }
    state
        .admin_budget
        .spend_caller(caller, now)
        .map_err(ApiError::TooManyRequests)
}

/// Spends one call of the account's Admin API ceiling on rows it applies to, for a call the
/// guard has let through; 429 past it.
fn spend_account(
    state: &AppState,
    row: RowGuard,
    account: AccountId,
    now: i64,
) -> Result<(), ApiError> {
    if !row.budgeted {
        return Ok(());
    }
    state
        .admin_budget
        .spend_account(account, now)
        .map_err(ApiError::TooManyRequests)
}
