//! What a successful call answers: the kind of answer of each row (the envelope, a page, a page
//! or CSV, plain JSON, headers alone, or Prometheus's text) and its response object.

use super::responses::RESPONSES;
use super::schemas::{entry_for, header, schema_ref};
use crate::routes::table::RouteSpec;
use axum::http::Method;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder, Schema};

/// What a successful call of a route answers.
#[derive(Clone, Copy)]
enum Success {
    /// The success envelope with this status.
    Envelope(u16),
    /// A page of a list in the success envelope.
    Page,
    /// A page of a list, or with `?format=csv` the whole selection as CSV.
    PageOrCsv,
    /// Plain JSON, not enveloped.
    Json,
    /// No body: the answer is the status and the `X-Latchkey-*` headers.
    Headers,
    /// Prometheus's text exposition format.
    Metrics,
}

/// Routes whose success answer the rules in [`success`] do not describe.
const SUCCESS: &[(&str, &str, Success)] = &[
    ("POST", "/api/v1/credentials/revoke", Success::Envelope(202)),
    ("GET", "/api/v2/accounts/", Success::Page),
    ("GET", "/api/v3/accounts/", Success::Page),
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
        Success::Page,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
        Success::Page,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/",
        Success::Envelope(201),
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/audit-logs/",
        Success::PageOrCsv,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/assign-groups/",
        Success::Envelope(200),
    ),
    ("POST", "/api/v3/invites/redeem/", Success::Envelope(201)),
    ("GET", "/metrics", Success::Metrics),
];

/// True for an account's collection, `/api/vN/accounts/{account_id}/<things>/`.
fn is_collection(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(
        segments[..],
        ["api", version, "accounts", "{account_id}", things]
            if version.starts_with('v') && !things.starts_with('{')
    )
}

/// The success answer of a row: listed in [`SUCCESS`]; else on an account's collection a page
/// (GET) or the envelope with 201 (POST, create); else the envelope with 200 on the Admin API
/// (`/api/v2/`, `/api/v3/`), no body on forward auth (`/auth/`), and plain JSON elsewhere.
fn success(spec: &RouteSpec) -> Success {
    let method = &spec.method;
    if let Some((_, _, s)) = SUCCESS
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == spec.path)
    {
        *s
    } else if is_collection(spec.path) && *method == Method::GET {
        Success::Page
    } else if is_collection(spec.path) && *method == Method::POST {
        Success::Envelope(201)
    } else if spec.path.starts_with("/api/v2/") || spec.path.starts_with("/api/v3/") {
        Success::Envelope(200)
    } else if spec.path.starts_with("/auth/") {
        Success::Headers
    } else {
        Success::Json
    }
}

/// The success envelope with `data` of the given schema (a page's adds `extra`).
fn envelope_schema(data: RefOr<Schema>, page: bool) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("data", data)
        .required("data")
        .property("status", schema_ref("Status"))
        .required("status");
    if page {
        object = object
            .property("extra", schema_ref("PageExtra"))
            .required("extra");
    }
    object.into()
}

/// The success response of a row: (status, response).
pub(super) fn success_response(spec: &RouteSpec) -> (String, utoipa::openapi::Response) {
    let json = |schema: RefOr<Schema>| ContentBuilder::new().schema(Some(schema)).build();
    let answer = entry_for(RESPONSES, spec).map(|t| schema_ref(&t().name));
    let page = || -> RefOr<Schema> {
        match &answer {
            Some(item) => envelope_schema(ArrayBuilder::new().items(item.clone()).into(), true),
            None => schema_ref("PageEnvelope"),
        }
    };
    let (status, response) =
        match success(spec) {
            Success::Envelope(status) => (
                status,
                ResponseBuilder::new()
                    .description("Success, in dbt Cloud's envelope.")
                    .content(
                        "application/json",
                        json(match &answer {
                            Some(data) => envelope_schema(data.clone(), false),
                            None => schema_ref("Envelope"),
                        }),
                    ),
            ),
            Success::Page => (
                200,
                ResponseBuilder::new()
                    .description("A page of the list, in dbt Cloud's envelope.")
                    .content("application/json", json(page())),
            ),
            Success::PageOrCsv => (
                200,
                ResponseBuilder::new()
                    .description(
                        "A page of the list, in dbt Cloud's envelope; with `?format=csv`, the \
                     selection as a CSV attachment.",
                    )
                    .content("application/json", json(page()))
                    .content(
                        "text/csv",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    ),
            ),
            Success::Json => (
                200,
                ResponseBuilder::new()
                    .description("Success (plain JSON, not enveloped).")
                    .content(
                        "application/json",
                        json(answer.clone().unwrap_or_else(|| {
                            ObjectBuilder::new().schema_type(Type::Object).into()
                        })),
                    ),
            ),
            Success::Metrics => (
                200,
                ResponseBuilder::new()
                    .description(
                        "The node's counters and gauges in Prometheus's text exposition format \
                         (`text/plain; version=0.0.4`).",
                    )
                    .content(
                        "text/plain",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    ),
            ),
            Success::Headers => (
                200,
                ResponseBuilder::new()
                    .description("Allowed; no body, the caller's identity in headers.")
                    .header(
                        "X-Latchkey-Principal",
                        header(
                            "`service_token:<id>` or `personal_access_token:<id>`.",
                            Type::String,
                        ),
                    )
                    .header(
                        "X-Latchkey-Account",
                        header("The token's account.", Type::Integer),
                    )
                    .header(
                        "X-Latchkey-User",
                        header("For personal access tokens, the user.", Type::Integer),
                    )
                    .header(
                        "X-Latchkey-Permission",
                        header(
                            "The permission the route map required (`resource:access`).",
                            Type::String,
                        ),
                    ),
            ),
        };
    (status.to_string(), response.build())
}
