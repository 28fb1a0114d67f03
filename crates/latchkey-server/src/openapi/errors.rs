//! The error answers: the shared responses, each carrying the error envelope, and which of them
//! each row documents.

use super::requests::request_body;
use super::schemas::{header, schema_ref};
use crate::config::ForwardAuthHeaders;
use crate::routes::table::{Requirement, RouteSpec};
use utoipa::openapi::schema::Type;
use utoipa::openapi::{ContentBuilder, ResponseBuilder};

/// The shared error responses: (status, component name, description).
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "Bad input; `data.field` names the offending field when there is one and \
         `status.developer_message` says what was expected.",
    ),
    (
        "401",
        "Unauthenticated",
        "No working token: missing, malformed, unknown, revoked and expired alike (one body).",
    ),
    (
        "403",
        "Forbidden",
        "The token lacks the permission (the message names it), or the caller's address is \
         fenced out by the account's IP rules or the token's allowlist.",
    ),
    (
        "404",
        "NotFound",
        "Nothing here; also the answer for another account's resources.",
    ),
    (
        "409",
        "Conflict",
        "The request conflicts with the current state.",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the limit (64 KiB).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body does not have the expected Content-Type.",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many requests (failed authentications from one address, an account's Admin API \
         budget, or leak reports), or every password check busy; retry after `Retry-After` \
         seconds.",
    ),
    (
        "501",
        "NotEnabled",
        "Forward auth is off: the server was started without `--forward-auth-headers`.",
    ),
    (
        "503",
        "ServiceUnavailable",
        "The server cannot take the request now: it holds as many connections as it may and \
         none could make room (any operation, answered before the request is read), or a \
         service the request needs failed (an invitation's delivery program; nothing was \
         kept). Retry after `Retry-After` seconds where it is given.",
    ),
];

/// Statuses only some rows answer, beyond what their kind of row documents.
const EXTRA_STATUSES: &[(&str, &str, &[&str])] = &[
    ("POST", "/api/v3/invites/redeem/", &["403", "409"]),
    // Served on the operator's listener only; the API listeners answer 404.
    ("GET", "/metrics", &["404"]),
];

/// Statuses no row documents unless [`EXTRA_STATUSES`] names it (501: every forward-auth row).
const ONLY_WHERE_NAMED: &[&str] = &["501"];

/// Statuses every row documents, public or guarded: the connection layer answers 503 to a new
/// connection beyond its cap before any route is chosen.
const EVERY_ROW: &[&str] = &["503"];

/// The error statuses a row documents: all of [`ERRORS`] for guarded rows; for public rows that
/// read a body, bad input and rate limiting; [`EVERY_ROW`]'s for all. Forward-auth rows
/// answer 501 while forward auth is off (`forward` is `None`).
pub(super) fn error_statuses(
    spec: &RouteSpec,
    forward: Option<ForwardAuthHeaders>,
) -> Vec<&'static (&'static str, &'static str, &'static str)> {
    let public = spec.requirement == Requirement::Public;
    let extra: &[&str] = if spec.path.starts_with("/auth/forward") {
        if forward.is_none() {
            &["501"]
        } else {
            &[]
        }
    } else {
        EXTRA_STATUSES
            .iter()
            .find(|(method, path, _)| spec.method.as_str() == *method && spec.path == *path)
            .map_or(&[], |(_, _, statuses)| statuses)
    };
    ERRORS
        .iter()
        .filter(|(status, _, _)| {
            let by_kind = EVERY_ROW.contains(status)
                || !ONLY_WHERE_NAMED.contains(status)
                    && (!public
                        || (request_body(spec).is_some()
                            && ["400", "413", "415", "429"].contains(status)));
            by_kind || extra.contains(status)
        })
        .collect()
}

/// The shared error response components, each carrying the error envelope.
pub(super) fn error_responses() -> Vec<(String, utoipa::openapi::Response)> {
    ERRORS
        .iter()
        .map(|(status, name, description)| {
            let mut response = ResponseBuilder::new().description(*description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(schema_ref("ErrorEnvelope")))
                    .build(),
            );
            if *status == "401" {
                response = response.header("WWW-Authenticate", header("`Bearer`.", Type::String));
            }
            if *status == "429" || *status == "503" {
                response =
                    response.header("Retry-After", header("Seconds to wait.", Type::Integer));
            }
            ((*name).to_owned(), response.build())
        })
        .collect()
}
