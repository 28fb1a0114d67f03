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

/// What a request holds of a header the proxy sets: its values in order (`None` for one that is
/// not text), as far as the second.
pub(crate) type Sent<'a> = (Option<Option<&'a str>>, bool);

/// The one value of a header the proxy sets (`sent`: its first value, and whether there was a
/// second); a missing, repeated or non-ASCII one is refused (two copies mean something besides
/// the proxy wrote one, and picking either is a guess).
fn one<'a>(sent: Sent<'a>, source: &Source) -> Result<&'a str, ApiError> {
    let (first, repeated) = sent;
    let value = first.ok_or_else(|| {
        ApiError::field(
            source.field,
            "the proxy must send the original request's method and URI",
        )
    })?;
    if repeated {
        return Err(ApiError::field(
            source.field,
            "sent more than once; refused rather than picking one",
        ));
    }
    value.ok_or_else(|| ApiError::field(source.field, "must be visible ASCII"))
}

/// What [`original`] reads of a request: where it was sent, and the proxy's headers.
pub(crate) struct Proxied<'a, H> {
    /// The request's method.
    pub(crate) method: &'a str,
    /// Its path.
    pub(crate) path: &'a str,
    /// Its path and query.
    pub(crate) target: &'a str,
    /// A header's values ([`Sent`]), by its lower-case name.
    pub(crate) header: H,
}

/// The original request's method and URI, from where `proxy` puts them.
fn original<'a, H>(
    proxy: ForwardAuthHeaders,
    sent: &Proxied<'a, H>,
) -> Result<(&'a str, &'a str), ApiError>
where
    H: Fn(&HeaderName) -> Sent<'a>,
{
    let [method, uri] = match proxy {
        ForwardAuthHeaders::Nginx => &NGINX,
        ForwardAuthHeaders::Traefik => &TRAEFIK,
        ForwardAuthHeaders::Envoy => {
            // ext_authz sends the original method, and the original path and query after
            // `path_prefix`.
            let uri = sent
                .target
                .strip_prefix(PREFIX)
                .filter(|rest| rest.starts_with('/'))
                .ok_or_else(|| {
                    ApiError::field(
                        "path",
                        "Envoy must call /auth/forward/<original path>: set the ext_authz \
                         http_service's path_prefix to /auth/forward",
                    )
                })?;
            return Ok((sent.method, uri));
        }
    };
    // The Envoy path answers only in Envoy mode.
    if sent.path != PREFIX {
        return Err(ApiError::NotFound);
    }
    Ok((
        one((sent.header)(&method.header), method)?,
        one((sent.header)(&uri.header), uri)?,
    ))
}

/// The values of `name` in `headers`, as [`Sent`].
fn sent<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Sent<'a> {
    let mut values = headers.get_all(name).iter();
    let first = values.next().map(|v| v.to_str().ok());
    (first, values.next().is_some())
}

/// A header value made from a string we built (always visible ASCII).
fn value(s: String) -> Result<HeaderValue, ApiError> {
    HeaderValue::try_from(s).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The handler (`respond`).
pub async fn forward(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    let proxied = Proxied {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        target: parts.uri.path_and_query().map_or("", |pq| pq.as_str()),
        header: |name: &HeaderName| sent(&parts.headers, name),
    };
    respond(&state, &caller, &proxied).await
}

/// Answers whether the proxied request may go on, and counts the answer: 200 allows, 403
/// denies, anything else (off, a bad original request) is no decision. Served by the router
/// and by the express lane ([`crate::express`]) alike.
pub(crate) async fn respond<'a, H>(
    state: &AppState,
    caller: &Caller,
    proxied: &Proxied<'a, H>,
) -> Result<Response, ApiError>
where
    H: Fn(&HeaderName) -> Sent<'a>,
{
    let answer = decide(state, &caller.principal, proxied).await;
    let outcome = match &answer {
        Ok(_) => Outcome::Allow,
        Err(ApiError::Forbidden(_)) => Outcome::Deny,
        Err(_) => Outcome::Undecided,
    };
    state
        .verifier
        .metrics()
        .decided(DecisionKind::Forward, outcome, caller.from_cache);
    answer
}

/// The answer to a proxied request.
async fn decide<'a, H>(
    state: &AppState,
    principal: &Principal,
    proxied: &Proxied<'a, H>,
) -> Result<Response, ApiError>
where
    H: Fn(&HeaderName) -> Sent<'a>,
{
    let proxy = state
        .verifier
        .config()
        .forward_auth_headers
        .ok_or(ApiError::NotEnabled(OFF))?;
    let (method, uri) = original(proxy, proxied)?;
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
