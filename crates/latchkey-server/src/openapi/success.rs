//! What a successful call answers: the response object of the answer its row declares (the
//! envelope, a page, a page or CSV, plain JSON, headers alone, or Prometheus's text).

use super::schemas::{header, schema_ref};
use crate::routes::spec::Success;
use crate::routes::table::RouteSpec;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder, Schema};

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
    let answer = spec.answer.data.map(|t| schema_ref(&t().name));
    let page = || -> RefOr<Schema> {
        match &answer {
            Some(item) => envelope_schema(ArrayBuilder::new().items(item.clone()).into(), true),
            None => schema_ref("PageEnvelope"),
        }
    };
    let (status, response) =
        match spec.answer.success {
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
            Success::Html => (
                200,
                ResponseBuilder::new()
                    .description("A page of the web console.")
                    .content(
                        "text/html",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
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
