//! The closed sets of values the API takes and sends, as OpenAPI schemas with `enum`: permission
//! sets and permissions read from the catalog, environment categories, licenses and plans from
//! the core's own lists, and dbt Cloud's numeric codes. Fields name them with
//! `#[schema(schema_with = …)]`, so a client generated from the document knows every value, and
//! a permission set added to `catalog.json` appears here without another edit.

use latchkey_core::{catalog, EnvCategory, License, Permission, Plan};
use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, Type};

fn strings<S: Into<String>>(values: impl IntoIterator<Item = S>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(
            values.into_iter().map(Into::into).collect::<Vec<String>>(),
        ))
        .description(Some(description))
        .build()
}

fn codes(values: &[(i64, &str)], description: &str) -> Object {
    let meanings: Vec<String> = values.iter().map(|(v, m)| format!("{v} {m}")).collect();
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some(values.iter().map(|(v, _)| *v)))
        .description(Some(format!("{description}: {}.", meanings.join(", "))))
        .build()
}

/// A permission set's slug, one of the catalog's.
pub fn permission_set() -> Object {
    strings(
        catalog().sets().map(|s| s.slug()),
        "A permission set's slug (`GET /api/v2/constants/` gives their labels).",
    )
}

/// A permission, `resource:access`, one of the catalog's.
pub fn permission() -> Object {
    strings(
        Permission::all().map(|p| p.to_string()),
        "A permission, `resource:access`.",
    )
}

/// One environment category.
pub fn environment_category() -> Object {
    strings(
        EnvCategory::ALL.map(|c| c.as_str()),
        "An environment category.",
    )
}

/// Environment categories in which job and run writes are allowed; empty means all.
pub fn environment_categories() -> Array {
    ArrayBuilder::new()
        .items(environment_category())
        .description(Some(
            "Environment categories in which job and run writes are allowed; empty means all.",
        ))
        .build()
}

/// A seat's license.
pub fn license() -> Object {
    strings(License::ALL.map(|l| l.as_str()), "A seat's license.")
}

/// An account's plan.
pub fn plan() -> Object {
    strings(Plan::ALL.map(|p| p.as_str()), "The account's plan.")
}

/// dbt Cloud's state code.
pub fn state() -> Object {
    codes(&[(1, "active"), (2, "deleted or revoked")], "State")
}

/// An IP rule's type.
pub fn rule_type() -> Object {
    codes(&[(1, "allow"), (2, "deny")], "Rule type")
}

/// What kind of token a principal is.
pub fn token_kind() -> Object {
    strings(
        ["service_token", "personal_access_token"],
        "The kind of token.",
    )
}

/// Where an invitation stands.
pub fn invite_status() -> Object {
    strings(
        ["pending", "redeemed", "withdrawn"],
        "Where the invitation stands.",
    )
}
