//! What a row takes: the request body of its operation, from the body type its row names.

use super::schemas::schema_ref;
use crate::routes::table::RouteSpec;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::ArrayBuilder;
use utoipa::openapi::{ContentBuilder, RefOr, Required, Schema};

/// The request body of a row: its content type and schema (a reference into `components`).
pub(super) fn request_body(spec: &RouteSpec) -> Option<utoipa::openapi::request_body::RequestBody> {
    let body = (spec.body?)();
    let schema: RefOr<Schema> = if body.list {
        ArrayBuilder::new().items(schema_ref(&body.name)).into()
    } else {
        schema_ref(&body.name)
    };
    Some(
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .description(
                body.list
                    .then_some("The full list: it replaces the current one (`[]` empties it)."),
            )
            .content(
                body.content_type,
                ContentBuilder::new().schema(Some(schema)).build(),
            )
            .build(),
    )
}
