//! Schema helpers: a reference to a named schema, the rules across fields that a derive cannot
//! state, and a response header. (The schemas of the handlers' own types come from the rows:
//! [`crate::routes::shape`].)

use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Schema};

/// A reference to a schema in `components`.
pub(super) fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// Rules that tie a schema's fields together, which its type's derive cannot state (by the
/// schema's name): they go beside its `properties`, under `allOf`.
fn cross_field_rules(name: &str) -> Option<serde_json::Value> {
    match name {
        "PermissionGrant" => Some(latchkey_wire::value_sets::grant_rules()),
        _ => None,
    }
}

/// A schema with its [`cross_field_rules`] added, if it has any.
pub(super) fn with_cross_field_rules(name: &str, mut schema: RefOr<Schema>) -> RefOr<Schema> {
    if let (Some(rules), RefOr::T(Schema::Object(object))) = (cross_field_rules(name), &mut schema)
    {
        // utoipa's object has no `allOf`; its extensions are written beside the other keys.
        object
            .extensions
            .get_or_insert_with(Default::default)
            .insert("allOf".into(), rules);
    }
    schema
}

/// A response header of a plain type, with its description.
pub(super) fn header(description: &str, ty: Type) -> Header {
    HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(ty))
        .description(Some(description))
        .build()
}
