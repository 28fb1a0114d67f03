//! The whole document: every row's operation, the components they refer to, the security
//! schemes, the info and the tags; and the document as JSON.

use super::envelope_schemas::{
    Envelope, ErrorEnvelope, Filters, PageEnvelope, PageExtra, Pagination, Status,
};
use super::errors::error_responses;
use super::operation::operation;
use super::paths::{http_method, openapi_path, tag, tag_description};
use super::schemas::with_cross_field_rules;
use crate::config::ForwardAuthHeaders;
use crate::routes::table::{table, Row};
use std::collections::{BTreeMap, BTreeSet};
use utoipa::openapi::path::PathItem;
use utoipa::openapi::schema::ComponentsBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, PathsBuilder, RefOr, Schema,
};

/// Why the document could not be built: a fault of the code (the route table or the handlers'
/// types), never of a request. The tests build every document, so none reaches a server.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// A row's method is one OpenAPI has no field for.
    #[error("{method} {path}: OpenAPI has no field for this method")]
    Method {
        /// The row's method.
        method: String,
        /// The row's path.
        path: &'static str,
    },
    /// Two different types have the same schema name.
    #[error("{method} {path}: two types are both named {name}; give one `#[schema(as = …)]`")]
    SchemaName {
        /// The method of the row whose type met the other.
        method: String,
        /// Its path.
        path: &'static str,
        /// The name both types have.
        name: String,
    },
    /// The document, or a schema of it, does not serialize.
    #[error("the document does not serialize: {0}")]
    Json(#[from] serde_json::Error),
}

/// The schemas of every request body and answer, by name; two types under one name are a bug.
fn named_schemas() -> Result<BTreeMap<String, RefOr<Schema>>, DocumentError> {
    let mut schemas = BTreeMap::new();
    for row in table().into_iter().filter(Row::in_document) {
        let (method, path) = (row.spec.method.to_string(), row.spec.path);
        let makers = row.spec.body.into_iter().chain(row.spec.answer.data);
        for (name, schema) in makers.flat_map(|make| make().schemas) {
            let schema = with_cross_field_rules(&name, schema);
            let json = serde_json::to_value(&schema)?;
            if let Some(other) = schemas.insert(name.clone(), schema) {
                if serde_json::to_value(&other)? != json {
                    return Err(DocumentError::SchemaName { method, path, name });
                }
            }
        }
    }
    Ok(schemas)
}

/// The OpenAPI 3.1 document of every route in the route table, as a server started without
/// `--forward-auth-headers` serves it (the committed `openapi.json`).
pub fn document() -> Result<OpenApi, DocumentError> {
    document_for(None)
}

/// The document of a server started for the proxy `forward` (`--forward-auth-headers`): its
/// forward-auth rows name the headers that proxy sets, and answer 501 only while it is off.
pub fn document_for(forward: Option<ForwardAuthHeaders>) -> Result<OpenApi, DocumentError> {
    let rows = table();
    let mut paths = PathsBuilder::new();
    let mut tags = BTreeSet::new();
    for Row { spec, .. } in rows.iter().filter(|row| row.in_document()) {
        let method = http_method(&spec.method).ok_or_else(|| DocumentError::Method {
            method: spec.method.to_string(),
            path: spec.path,
        })?;
        tags.insert(tag(spec.path));
        paths = paths.path(
            openapi_path(spec.path),
            PathItem::new(method, operation(spec, forward)),
        );
    }
    let components = ComponentsBuilder::new()
        .schema_from::<Status>()
        .schema_from::<ErrorEnvelope>()
        .schema_from::<Envelope>()
        .schema_from::<Pagination>()
        .schema_from::<Filters>()
        .schema_from::<PageExtra>()
        .schema_from::<PageEnvelope>()
        .schemas_from_iter(named_schemas()?)
        .responses_from_iter(error_responses())
        .security_scheme(
            "TokenAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "Authorization: Token <token>",
            ))),
        )
        .security_scheme(
            "BearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Authorization: Bearer <token>"))
                    .build(),
            ),
        )
        .security_scheme(
            "BasicAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "E-mail and password, on routes that act for a user \
                         (`x-latchkey-permission: user`).",
                    ))
                    .build(),
            ),
        )
        .build();
    let info = InfoBuilder::new()
        .title("Latchkey")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "A token and permission authority modelled on dbt Cloud's service tokens.\n\n\
             Send a token as `Authorization: Token <token>` (or, equivalently, \
             `Authorization: Bearer <token>`). Admin API answers (`/api/v2/`, `/api/v3/`) use \
             dbt Cloud's envelope `{\"data\", \"status\": {\"code\", \"is_success\", \
             \"user_message\", \"developer_message\"}}`, with `extra.pagination` on lists; every \
             error uses it. Each operation's `x-latchkey-permission` is what its route requires: \
             a permission (`resource:access`), `authenticated`, `user` (the user's own personal \
             access token, or e-mail and password over HTTP Basic) or `public`.\n\n\
             Generated from the route table; do not edit by hand.",
        ))
        .license(Some(
            LicenseBuilder::new()
                .name("Apache-2.0")
                .identifier(Some("Apache-2.0"))
                .build(),
        ))
        .build();
    Ok(OpenApiBuilder::new()
        .info(info)
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags.into_iter().map(|name| {
            TagBuilder::new()
                .description(tag_description(&name))
                .name(name)
                .build()
        })))
        .build())
}

/// [`document`] as pretty-printed JSON with a trailing newline: the bytes of the committed
/// `openapi.json` and of `GET /api/openapi.json` on a server without forward auth.
pub fn document_json() -> Result<String, DocumentError> {
    document_json_for(None)
}

/// [`document_for`] as pretty-printed JSON with a trailing newline.
pub fn document_json_for(forward: Option<ForwardAuthHeaders>) -> Result<String, DocumentError> {
    let mut json = serde_json::to_string_pretty(&document_for(forward)?)?;
    json.push('\n');
    Ok(json)
}
