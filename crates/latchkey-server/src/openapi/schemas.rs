//! Schemas from the handlers' own types: a type as a named schema with those it refers to (one,
//! a form, or a list), a reference to one, the rules across fields that a derive cannot state,
//! and the lookup of a row in the per-row tables.

use crate::routes::table::RouteSpec;
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::ToSchema;

/// The schema of a request body, from the type its handler reads.
pub struct BodySchema {
    /// The type's name in `components.schemas`.
    pub name: String,
    /// The type's schema and those it refers to, by name.
    pub schemas: Vec<(String, RefOr<Schema>)>,
    /// True when the body is a JSON array of the type, not one of it.
    pub list: bool,
    /// `application/json`, or a form.
    pub content_type: &'static str,
}

/// The body is one `T`, a JSON object.
pub(super) fn one<T: ToSchema>() -> BodySchema {
    let name = T::name().into_owned();
    let mut schemas = vec![(name.clone(), T::schema())];
    T::schemas(&mut schemas);
    BodySchema {
        name,
        schemas,
        list: false,
        content_type: "application/json",
    }
}

/// The body is one `T`, as `application/x-www-form-urlencoded`.
pub(super) fn form<T: ToSchema>() -> BodySchema {
    BodySchema {
        content_type: "application/x-www-form-urlencoded",
        ..one::<T>()
    }
}

/// The body is a JSON array of `T`.
pub(super) fn list<T: ToSchema>() -> BodySchema {
    BodySchema {
        list: true,
        ..one::<T>()
    }
}

/// An entry of [`BODIES`](super::BODIES): method, path, and the schema of the body.
pub type BodyRow = (&'static str, &'static str, fn() -> BodySchema);

/// The entry of `entries` for a row, if any.
pub(super) fn entry_for<T: Copy>(entries: &[(&str, &str, T)], spec: &RouteSpec) -> Option<T> {
    entries
        .iter()
        .find(|(m, p, _)| *m == spec.method.as_str() && *p == spec.path)
        .map(|(_, _, f)| *f)
}

/// A reference to a schema in `components`.
pub(super) fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// Rules that tie a schema's fields together, which its type's derive cannot state (by the
/// schema's name): they go beside its `properties`, under `allOf`.
fn cross_field_rules(name: &str) -> Option<serde_json::Value> {
    match name {
        "PermissionGrant" => Some(crate::value_sets::grant_rules()),
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
