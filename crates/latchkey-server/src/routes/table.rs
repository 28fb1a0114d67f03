//! The one route table: every route, what it requires, and its handler. The router is built from
//! this table and nothing else, and one guard enforces each row, so no route can exist without
//! an entry and no handler checks a permission by itself.

use crate::budget::Spender;
use crate::error::ApiError;
use crate::metrics::{DecisionKind, Outcome, StoreCall};
use crate::routes::caller::{check_network, Caller};
use crate::routes::{
    audit, authorize, credentials, forward, groups, health, identity, introspect, invites,
    ip_restrictions, metrics, personal_tokens, projects, service_tokens, users,
};
pub use crate::sign_in::SignedIn;
use crate::state::AppState;
use crate::throttle;
use crate::verifier::Principal;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{self, MethodRouter};
use axum::Router;
use latchkey_core::{AccountId, Decision, Permission, ProjectId, TokenKind};

/// What a route requires of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Anyone (health checks).
    Public,
    /// Any working token.
    Authenticated,
    /// A working token holding this permission (`resource:access`) on the account in the path.
    Permission(&'static str),
    /// A working token holding this permission on the project named by `{project_id}` in the
    /// path (and the account in the path being its own).
    OnProject(&'static str),
    /// A user acting for themselves in the account in the path: their personal access token, or
    /// their e-mail and password (HTTP Basic). What they may do is the handler's ownership rule
    /// (their own tokens only), never a permission beyond their own.
    User,
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path pattern; `{account_id}` scopes the route to the caller's account.
    pub path: &'static str,
    /// What the caller needs.
    pub requirement: Requirement,
}

macro_rules! row {
    ($method:ident $path:literal, $req:expr, $handler:path) => {
        (
            RouteSpec {
                method: Method::$method,
                path: $path,
                requirement: $req,
            },
            routing::on(routing::MethodFilter::$method, $handler),
        )
    };
}

use Requirement::{Authenticated, OnProject, Permission as Needs, Public, User};

/// Every route. Add a row here to add a route.
pub fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    vec![
        row!(GET "/healthz", Public, health::healthz),
        row!(GET "/livez", Public, health::livez),
        row!(GET "/readyz", Public, health::readyz),
        row!(GET "/metrics", Public, metrics::metrics),
        row!(GET "/api/openapi.json", Public, crate::openapi::openapi_json),
        row!(POST "/api/v1/authorize", Authenticated, authorize::authorize),
        row!(POST "/api/v1/credentials/revoke", Public, credentials::revoke),
        row!(GET "/auth/forward", Authenticated, forward::forward),
        row!(POST "/auth/forward", Authenticated, forward::forward),
        row!(PUT "/auth/forward", Authenticated, forward::forward),
        row!(PATCH "/auth/forward", Authenticated, forward::forward),
        row!(DELETE "/auth/forward", Authenticated, forward::forward),
        // Envoy's ext_authz appends the original path to its `path_prefix` (`/auth/forward`).
        row!(GET "/auth/forward/{*path}", Authenticated, forward::forward),
        row!(POST "/auth/forward/{*path}", Authenticated, forward::forward),
        row!(PUT "/auth/forward/{*path}", Authenticated, forward::forward),
        row!(PATCH "/auth/forward/{*path}", Authenticated, forward::forward),
        row!(DELETE "/auth/forward/{*path}", Authenticated, forward::forward),
        row!(POST "/oauth/introspect", Needs("service_tokens:read"), introspect::introspect),
        row!(GET "/api/v2/whoami/", Authenticated, identity::whoami),
        row!(GET "/api/v2/constants/", Authenticated, identity::constants),
        row!(GET "/api/v2/accounts/", Authenticated, identity::accounts),
        row!(GET "/api/v3/accounts/", Authenticated, identity::accounts),
        row!(GET "/api/v3/accounts/{account_id}/service-tokens/", Needs("service_tokens:read"), service_tokens::list),
        row!(POST "/api/v3/accounts/{account_id}/service-tokens/", Needs("service_tokens:write"), service_tokens::create),
        row!(GET "/api/v3/accounts/{account_id}/service-tokens/{id}/", Needs("service_tokens:read"), service_tokens::retrieve),
        row!(DELETE "/api/v3/accounts/{account_id}/service-tokens/{id}/", Needs("service_tokens:write"), service_tokens::delete),
        row!(POST "/api/v3/accounts/{account_id}/service-tokens/{id}/", Needs("service_tokens:write"), service_tokens::update),
        row!(PUT "/api/v3/accounts/{account_id}/service-tokens/{id}/", Needs("service_tokens:write"), service_tokens::update),
        row!(GET "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/", Needs("service_tokens:read"), service_tokens::grants),
        row!(POST "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/", Needs("service_tokens:write"), service_tokens::replace_grants),
        row!(POST "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/", Needs("service_tokens:write"), service_tokens::rotate),
        row!(GET "/api/v3/accounts/{account_id}/personal-tokens/", User, personal_tokens::list),
        row!(POST "/api/v3/accounts/{account_id}/personal-tokens/", User, personal_tokens::create),
        row!(GET "/api/v3/accounts/{account_id}/personal-tokens/{id}/", User, personal_tokens::retrieve),
        row!(DELETE "/api/v3/accounts/{account_id}/personal-tokens/{id}/", User, personal_tokens::delete),
        row!(GET "/api/v3/accounts/{account_id}/projects/", Needs("projects:read"), projects::list),
        row!(POST "/api/v3/accounts/{account_id}/projects/", Needs("project_create:write"), projects::create),
        row!(GET "/api/v3/accounts/{account_id}/projects/{project_id}/", OnProject("projects:read"), projects::retrieve),
        row!(POST "/api/v3/accounts/{account_id}/projects/{project_id}/", OnProject("projects:write"), projects::update),
        row!(DELETE "/api/v3/accounts/{account_id}/projects/{project_id}/", OnProject("projects:write"), projects::delete),
        row!(GET "/api/v3/accounts/{account_id}/users/", Needs("members:read"), users::list),
        row!(GET "/api/v2/accounts/{account_id}/users/", Needs("members:read"), users::list),
        row!(GET "/api/v3/accounts/{account_id}/users/{user_id}/", Needs("members:read"), users::retrieve),
        row!(GET "/api/v2/accounts/{account_id}/users/{user_id}/", Needs("members:read"), users::retrieve),
        row!(DELETE "/api/v3/accounts/{account_id}/users/{user_id}/", Needs("members:write"), users::remove),
        row!(POST "/api/v3/accounts/{account_id}/users/{user_id}/license/", Needs("licenses:write"), users::set_license),
        row!(GET "/api/v3/accounts/{account_id}/groups/", Needs("groups:read"), groups::list),
        row!(POST "/api/v3/accounts/{account_id}/groups/", Needs("groups:write"), groups::create),
        row!(GET "/api/v3/accounts/{account_id}/groups/{id}/", Needs("groups:read"), groups::retrieve),
        row!(POST "/api/v3/accounts/{account_id}/groups/{id}/", Needs("groups:write"), groups::update),
        row!(POST "/api/v3/accounts/{account_id}/group-permissions/{id}/", Needs("groups:write"), groups::replace_permissions),
        row!(POST "/api/v3/accounts/{account_id}/assign-groups/", Needs("groups:write"), groups::assign),
        row!(GET "/api/v3/accounts/{account_id}/invites/", Needs("invitations:read"), invites::list),
        row!(POST "/api/v3/accounts/{account_id}/invites/", Needs("invitations:write"), invites::create),
        row!(DELETE "/api/v3/accounts/{account_id}/invites/{id}/", Needs("invitations:write"), invites::delete),
        row!(POST "/api/v3/invites/redeem/", Public, invites::redeem),
        row!(GET "/api/v3/accounts/{account_id}/audit-logs/", Needs("audit_logs:read"), audit::list),
        row!(GET "/api/v3/accounts/{account_id}/ip-restrictions/", Needs("ip_restrictions:read"), ip_restrictions::list),
        row!(POST "/api/v3/accounts/{account_id}/ip-restrictions/", Needs("ip_restrictions:write"), ip_restrictions::create),
        row!(GET "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/", Needs("ip_restrictions:read"), ip_restrictions::rule_set),
        row!(PUT "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/", Needs("ip_restrictions:write"), ip_restrictions::set_rule_set),
        row!(GET "/api/v3/accounts/{account_id}/ip-restrictions/{id}/", Needs("ip_restrictions:read"), ip_restrictions::retrieve),
        row!(PUT "/api/v3/accounts/{account_id}/ip-restrictions/{id}/", Needs("ip_restrictions:write"), ip_restrictions::update),
        row!(POST "/api/v3/accounts/{account_id}/ip-restrictions/{id}/", Needs("ip_restrictions:write"), ip_restrictions::update),
        row!(DELETE "/api/v3/accounts/{account_id}/ip-restrictions/{id}/", Needs("ip_restrictions:write"), ip_restrictions::delete),
    ]
}

/// A row as its guard enforces it, worked out once when the router is built: the permission
/// parsed, whether the path names an account, and whether the Admin API budgets apply.
#[derive(Clone, Copy)]
struct RowGuard {
    requirement: Requirement,
    /// The permission of a `Permission` or `OnProject` row.
    permission: Option<Permission>,
    /// The path has `{account_id}`.
    has_account: bool,
    /// The Admin API (v2/v3) has budgets, per token and per account ([`crate::budget`]); the
    /// decision endpoints other services call on every request do not.
    budgeted: bool,
    /// What its decisions are counted as.
    kind: DecisionKind,
}

impl RowGuard {
    /// Panics on a permission the catalog does not have: a bug in the table, found at startup
    /// (and by the route tests), never per request.
    fn of(spec: &RouteSpec) -> RowGuard {
        let permission = match spec.requirement {
            Needs(p) | OnProject(p) => Some(
                p.parse()
                    .unwrap_or_else(|e| panic!("route table: {} {}: {e}", spec.method, spec.path)),
            ),
            Public | Authenticated | User => None,
        };
        RowGuard {
            requirement: spec.requirement,
            permission,
            has_account: spec.path.contains("{account_id}"),
            budgeted: spec.path.starts_with("/api/v2/") || spec.path.starts_with("/api/v3/"),
            kind: DecisionKind::of_path(spec.path),
        }
    }
}

/// Rows served only on the operator's listener (`latchkey serve --metrics-listen`), and on no
/// API listener: they tell of the whole node, every account's activity at once, which is the
/// operator's business and no tenant's (see [`crate::routes::metrics`]). Elsewhere they are 404.
pub const OPERATOR_ONLY: &[&str] = &["/metrics"];

/// The API listeners' router: every row but [`OPERATOR_ONLY`], each behind the guard for its
/// own row.
pub fn build(state: AppState) -> Router {
    let mut router = build_rows(state, |spec| !OPERATOR_ONLY.contains(&spec.path));
    // Their paths still exist here as the document says: GET answers 404 and any other method
    // 405, like every other path, instead of a 404 for every method.
    for path in OPERATOR_ONLY {
        router = router.route(
            path,
            axum::routing::get(|| async { crate::error::ApiError::NotFound }),
        );
    }
    router
}

/// The operator listener's router: the [`OPERATOR_ONLY`] rows alone.
pub fn build_operator(state: AppState) -> Router {
    build_rows(state, |spec| OPERATOR_ONLY.contains(&spec.path))
}

/// A router of the rows `keep` keeps, each behind the guard for its own row.
fn build_rows(state: AppState, keep: impl Fn(&RouteSpec) -> bool) -> Router {
    let mut router = Router::new();
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for (spec, handler) in table().into_iter().filter(|(spec, _)| keep(spec)) {
        let path = spec.path;
        let guarded = handler.route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), RowGuard::of(&spec)),
            guard,
        ));
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(guarded),
            None => by_path.push((path, guarded)),
        }
    }
    for (path, handler) in by_path {
        // dbt Cloud's clients call paths with and without the trailing slash: both reach the
        // one row (and its one guard).
        if let Some(bare) = path.strip_suffix('/').filter(|p| !p.is_empty()) {
            router = router.route(bare, handler.clone());
        }
        router = router.route(path, handler);
    }
    router.with_state(state)
}

/// Enforces a row ([`admit`]), counts how the request was decided ([`crate::metrics`]: the
/// guard's own refusals, and the rows it decides whole; authorize and forward auth count their
/// own answers), and hands the request on.
async fn guard(
    State((state, row)): State<(AppState, RowGuard)>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if row.requirement == Public {
        return Ok(next.run(request).await);
    }
    let mut known = None;
    let admitted = admit(&state, row, &mut request, &mut known).await;
    let metrics = state.verifier.metrics();
    let from_cache = known.unwrap_or(false);
    match admitted {
        Err(e) => {
            metrics.decided(row.kind, refusal(&e, known.is_some()), from_cache);
            Err(e)
        }
        Ok(()) if row.kind == DecisionKind::AdminApi => {
            metrics.decided(row.kind, Outcome::Allow, from_cache);
            let start = std::time::Instant::now();
            let response = next.run(request).await;
            metrics.observe(StoreCall::AdminCommand, start.elapsed());
            Ok(response)
        }
        Ok(()) => {
            if row.kind.decided_by_guard() {
                metrics.decided(row.kind, Outcome::Allow, from_cache);
            }
            Ok(next.run(request).await)
        }
    }
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
/// through the decision function (403 naming it), spends the account's ceiling for the call it
/// lets through, and puts the caller in the request for the handler. Sets `known` once the
/// caller is authenticated: whether its token came from the cache.
async fn admit(
    state: &AppState,
    row: RowGuard,
    request: &mut Request,
    known: &mut Option<bool>,
) -> Result<(), ApiError> {
    let ip = crate::extract::ClientIp::of(request.extensions()).0;
    let clock = crate::clock::UnixMicros::now();
    let now = clock.secs();
    let path_account = if row.has_account {
        let account = path_param(request, "account_id").await;
        Some(AccountId(account.ok_or(ApiError::NotFound)?))
    } else {
        None
    };
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
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
            request.extensions_mut().insert(user);
            return Ok(());
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
    if let Some(permission) = row.permission {
        let project = match row.requirement {
            OnProject(_) => {
                let project = path_param(request, "project_id").await;
                Some(ProjectId(project.ok_or(ApiError::NotFound)?))
            }
            _ => None,
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
    request.extensions_mut().insert(Caller {
        principal,
        client_ip: ip,
        from_cache,
    });
    Ok(())
}

/// A numeric path parameter of the request, if it has one by that name.
async fn path_param(request: &mut Request, name: &str) -> Option<i64> {
    let (mut parts, body) = std::mem::take(request).into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &()).await;
    let value = params.ok().and_then(|params| {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<i64>().ok())
    });
    *request = Request::from_parts(parts, body);
    value
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
