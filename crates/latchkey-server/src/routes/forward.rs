//! `/auth/forward` for nginx `auth_request` and Traefik ForwardAuth: the proxy sends the
//! original request's method and URI (`X-Original-Method` / `X-Original-URI`, or
//! `X-Forwarded-Method` / `X-Forwarded-Uri`) with the client's `Authorization` header; the route
//! map says what that request needs; the answer is 200 with identity headers, or 401 / 403.
//! (The guard has already authenticated the token and applied IP fences.)

use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::table::Caller;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_core::{Decision, TokenKind};

fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers.get(*n))
        .and_then(|v| v.to_str().ok())
}

/// Answers whether the proxied request may go on.
pub async fn forward(
    State(state): State<AppState>,
    Caller(principal, _): Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let method =
        header(&headers, &["x-original-method", "x-forwarded-method"]).ok_or_else(|| {
            ApiError::field(
                "X-Original-Method",
                "the proxy must send the original method",
            )
        })?;
    let uri = header(&headers, &["x-original-uri", "x-forwarded-uri"])
        .ok_or_else(|| ApiError::field("X-Original-URI", "the proxy must send the original URI"))?;
    let forbidden = |why: &str| ApiError::Forbidden(why.to_owned());
    let needed = state
        .route_map
        .resolve(method, uri)
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
        .decide(&principal, needed.permission, project, None)
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
        HeaderValue::from_str(&format!("{kind}:{}", principal.id)).expect("ascii"),
    );
    h.insert(
        "x-latchkey-account",
        HeaderValue::from(principal.account_id.0),
    );
    if let Some(user) = principal.user_id {
        h.insert("x-latchkey-user", HeaderValue::from(user.0));
    }
    h.insert(
        "x-latchkey-permission",
        HeaderValue::from_str(&needed.permission.to_string()).expect("ascii"),
    );
    Ok(response)
}
