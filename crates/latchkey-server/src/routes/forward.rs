//! `/auth/forward` for nginx `auth_request`, Traefik ForwardAuth and Envoy `ext_authz`: the
//! original request is read from where the configured proxy puts it, and nowhere else
//! ([`ForwardAuthHeaders`]); it is normalised as the upstream will read it
//! ([`latchkey_core::forward_uri`]), the route map says what it needs, and the answer is 200
//! with identity headers, or 401 / 403. With no proxy configured the answer is 501.
//! (The guard has already authenticated the token and applied IP fences.)

use crate::config::ForwardAuthHeaders;
use crate::error::ApiError;
use crate::metrics::{DecisionKind, Outcome};
use crate::routes::caller::Caller;
use crate::state::AppState;
use crate::verifier::Principal;
use axum::extract::{Request, State};
use axum::http::header::HeaderName;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_core::forward_uri::normalise;
use latchkey_core::{Decision, TokenKind};

/// The route's own path; in Envoy mode the original path follows it.
const PREFIX: &str = "/auth/forward";

/// The answer while no proxy is configured.
const OFF: &str = "Forward auth is off until the server is told which proxy is in front of it: \
                   start `latchkey serve` with --forward-auth-headers nginx|traefik|envoy.";

/// A header that names part of the original request, and how errors name it.
struct Source {
    header: HeaderName,
    field: &'static str,
}

const NGINX: [Source; 2] = [
    Source {
        header: HeaderName::from_static("x-original-method"),
        field: "X-Original-Method",
    },
    Source {
        header: HeaderName::from_static("x-original-uri"),
        field: "X-Original-URI",
    },
];

const TRAEFIK: [Source; 2] = [
    Source {
        header: HeaderName::from_static("x-forwarded-method"),
        field: "X-Forwarded-Method",
    },
    Source {
        header: HeaderName::from_static("x-forwarded-uri"),
        field: "X-Forwarded-Uri",
    },
];

/// The one value of a header the proxy sets; a missing, repeated or non-ASCII one is refused
/// (two copies mean something besides the proxy wrote one, and picking either is a guess).
fn one<'a>(headers: &'a HeaderMap, source: &Source) -> Result<&'a str, ApiError> {
    let mut values = headers.get_all(&source.header).iter();
    let value = values.next().ok_or_else(|| {
        ApiError::field(
            source.field,
            "the proxy must send the original request's method and URI",
        )
    })?;
    if values.next().is_some() {
        return Err(ApiError::field(
            source.field,
            "sent more than once; refused rather than picking one",
        ));
    }
    value
        .to_str()
        .map_err(|_| ApiError::field(source.field, "must be visible ASCII"))
}

/// The original request's method and URI, from where `proxy` puts them.
fn original(proxy: ForwardAuthHeaders, request: &Request) -> Result<(&str, &str), ApiError> {
    let [method, uri] = match proxy {
        ForwardAuthHeaders::Nginx => &NGINX,
        ForwardAuthHeaders::Traefik => &TRAEFIK,
        ForwardAuthHeaders::Envoy => {
            // ext_authz sends the original method, and the original path and query after
            // `path_prefix`.
            let target = request.uri().path_and_query().map_or("", |pq| pq.as_str());
            let uri = target
                .strip_prefix(PREFIX)
                .filter(|rest| rest.starts_with('/'))
                .ok_or_else(|| {
                    ApiError::field(
                        "path",
                        "Envoy must call /auth/forward/<original path>: set the ext_authz \
                         http_service's path_prefix to /auth/forward",
                    )
                })?;
            return Ok((request.method().as_str(), uri));
        }
    };
    // The Envoy path answers only in Envoy mode.
    if request.uri().path() != PREFIX {
        return Err(ApiError::NotFound);
    }
    let headers = request.headers();
    Ok((one(headers, method)?, one(headers, uri)?))
}

/// A header value made from a string we built (always visible ASCII).
fn value(s: String) -> Result<HeaderValue, ApiError> {
    HeaderValue::try_from(s).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Answers whether the proxied request may go on, and counts the answer: 200 allows, 403
/// denies, anything else (off, a bad original request) is no decision.
pub async fn forward(
    State(state): State<AppState>,
    Caller {
        principal,
        from_cache,
        ..
    }: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    let answer = decide(&state, &principal, request).await;
    let outcome = match &answer {
        Ok(_) => Outcome::Allow,
        Err(ApiError::Forbidden(_)) => Outcome::Deny,
        Err(_) => Outcome::Undecided,
    };
    state
        .verifier
        .metrics()
        .decided(DecisionKind::Forward, outcome, from_cache);
    answer
}

/// The answer to a proxied request.
async fn decide(
    state: &AppState,
    principal: &Principal,
    request: Request,
) -> Result<Response, ApiError> {
    let proxy = state
        .verifier
        .config()
        .forward_auth_headers
        .ok_or(ApiError::NotEnabled(OFF))?;
    let (method, uri) = original(proxy, &request)?;
    let original = normalise(method, uri).map_err(|refusal| {
        ApiError::Forbidden(format!("the original request is ambiguous: {refusal}"))
    })?;
    let forbidden = |why: &str| ApiError::Forbidden(why.to_owned());
    let needed = state
        .route_map
        .resolve(&original)
        .ok_or_else(|| forbidden("no route map entry allows this request"))?;
    match needed.account {
        Ok(None) => {}
        Ok(Some(a)) if a == principal.account_id.0 => {}
        // Another account, or no readable account: refused like a missing grant.
        _ => {
            return Err(ApiError::Forbidden(format!(
                "missing permission {}",
                needed.permission
            )))
        }
    }
    let project = needed
        .project
        .map_err(|()| forbidden("the request names no single valid project"))?;
    if let Decision::Deny(reason) = state
        .verifier
        .decide(principal, needed.permission, project, None)
        .await?
    {
        return Err(ApiError::Forbidden(reason.to_string()));
    }
    let kind = match principal.kind {
        TokenKind::Service => "service_token",
        TokenKind::Personal => "personal_access_token",
    };
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(
        "x-latchkey-principal",
        value(format!("{kind}:{}", principal.id))?,
    );
    h.insert(
        "x-latchkey-account",
        HeaderValue::from(principal.account_id.0),
    );
    if let Some(user) = principal.user_id() {
        h.insert("x-latchkey-user", HeaderValue::from(user.0));
    }
    h.insert(
        "x-latchkey-permission",
        value(needed.permission.to_string())?,
    );
    Ok(response)
}
