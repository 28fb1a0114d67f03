//! The values the API takes and sends, as OpenAPI schemas: the closed sets (`enum`) of
//! permission sets and permissions read from the catalog, environment categories, licenses and
//! plans from the core's own lists, and dbt Cloud's numeric codes; and the shapes the server
//! enforces on what it takes (names, notes, address ranges, e-mail addresses, id lists, expiry
//! times), so the document states every rule. Fields name them with
//! `#[schema(schema_with = …)]`, so a client generated from the document knows every value, and
//! a permission set added to `catalog.json` appears here without another edit.

use latchkey_core::{catalog, EnvCategory, License, Permission, Plan};
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, Array, ArrayBuilder, KnownFormat, Object, ObjectBuilder,
    OneOfBuilder, Ref, Schema, SchemaFormat, SchemaType, Type,
};

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
        catalog().sets().map(latchkey_core::PermissionSet::slug),
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
        EnvCategory::ALL.map(latchkey_core::EnvCategory::as_str),
        "An environment category.",
    )
}

/// Environment categories in which job and run writes are allowed: `all` stands for every
/// one; empty means none (job and run writes stay read-only).
pub fn environment_categories() -> Array {
    let names =
        std::iter::once("all").chain(EnvCategory::ALL.map(latchkey_core::EnvCategory::as_str));
    ArrayBuilder::new()
        .items(strings(
            names,
            "An environment category, or `all` for every one.",
        ))
        .description(Some(
            "Environment categories in which job and run writes are allowed (`all`: every one); \
             empty means none, so job and run writes stay read-only. Only permission sets that \
             honour environment categories take any.",
        ))
        .build()
}

/// A seat's license.
pub fn license() -> Object {
    strings(
        License::ALL.map(latchkey_core::License::as_str),
        "A seat's license.",
    )
}

/// An account's plan.
pub fn plan() -> Object {
    strings(
        Plan::ALL.map(latchkey_core::Plan::as_str),
        "The account's plan.",
    )
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

/// Characters a name may hold: anything but control characters and the invisible characters
/// that reorder or hide text (the store's `check_name`), as an ECMA-262 character class.
const NAME_CHAR: &str = r"[^\u0000-\u001F\u007F-\u009F\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uFFF9-\uFFFB]";

/// A name character that is also visible: not white space and not a zero-width joiner.
const VISIBLE_NAME_CHAR: &str = r"[^\u0000-\u0020\u007F-\u00A0\u00AD\u061C\u1680\u180E\u2000-\u200F\u2028-\u202F\u205F-\u2064\u2066-\u2069\u3000\uFEFF\uFFF9-\uFFFB]";

/// The type, and also `null` (added to the closed set too, if there is one).
fn or_null(mut schema: Object) -> Object {
    if let SchemaType::Type(ty) = schema.schema_type {
        schema.schema_type = SchemaType::from_iter([ty, Type::Null]);
    }
    if let Some(values) = &mut schema.enum_values {
        values.push(serde_json::Value::Null);
    }
    schema
}

/// A name (token, project, group, IP rule): 1 to 255 characters, something visible among them,
/// no control characters and no characters that reorder or hide text.
pub fn name() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(255))
        .pattern(Some(format!(
            "^{NAME_CHAR}*{VISIBLE_NAME_CHAR}{NAME_CHAR}*$"
        )))
        .description(Some(
            "1 to 255 characters, not all blank, with no control characters and no invisible \
             characters that reorder or hide text.",
        ))
        .build()
}

/// A new name, or `null` for no change.
pub fn name_or_null() -> Object {
    or_null(name())
}

/// An IP rule's note: at most 1000 characters, no control characters but the line feed.
pub fn rule_description() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(1000))
        .pattern(Some(r"^[^\u0000-\u0009\u000B-\u001F\u007F-\u009F]*$"))
        .description(Some(
            "A note: at most 1000 characters, no control characters but line feeds.",
        ))
        .build()
}

/// One address range: `ADDRESS/PREFIX` (IPv4 or IPv6, the prefix within the address's width,
/// no bits set past it) or a bare address for one host; the custom format `cidr`.
pub fn cidr() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("cidr".into())))
        .max_length(Some(64))
        .description(Some(
            "An address range (format `cidr`): `203.0.113.0/24`, `2001:db8::/32`, or a bare \
             address for one host. No bits may be set past the prefix (`10.1.2.3/8` is refused: \
             write `10.0.0.0/8`).",
        ))
        .examples(["203.0.113.0/24"])
        .build()
}

/// A token's own allowlist: at most 100 ranges.
pub fn allowlist() -> Array {
    ArrayBuilder::new()
        .items(cidr())
        .max_items(Some(100))
        .description(Some(
            "The token's own allowlist of client ranges (beyond dbt Cloud), at most 100; empty \
             means none.",
        ))
        .build()
}

/// A new allowlist, or `null` for no change.
pub fn allowlist_or_null() -> Array {
    let mut list = allowlist();
    list.schema_type = SchemaType::from_iter([Type::Array, Type::Null]);
    list
}

/// An e-mail address a person signs in with.
pub fn email() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .description(Some(
            "An e-mail address: a dot-atom local part (no quoted strings or comments) and a \
             domain name of two or more labels (no IP literals), at most 254 characters.",
        ))
        .examples(["ada@example.com"])
        .build()
}

/// A list of ids (each 1 or more) of at most `max` items.
pub fn ids(max: usize, description: &str) -> Array {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(1)),
        )
        .max_items(Some(max))
        .description(Some(description))
        .build()
}

/// An instant after now, RFC 3339.
pub fn future_time() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some(
            "An RFC 3339 time, in the future, after which the token stops working; absent or \
             null: never.",
        ))
        .examples(["2027-01-01T00:00:00Z"])
        .build()
}

/// dbt Cloud's state code, or `null` for no change.
pub fn state_or_null() -> Object {
    or_null(state())
}

/// One environment category, or `null` for none.
pub fn environment_category_or_null() -> Object {
    or_null(environment_category())
}

/// The checks of an authorize batch: 1 to 100 `AuthorizeCheck`s, none with `explain: true`
/// (in a batch it goes beside `checks`).
pub fn batch_checks() -> Array {
    let no_explain = ObjectBuilder::new().property(
        "explain",
        ObjectBuilder::new()
            .schema_type(Type::Boolean)
            .enum_values(Some([false])),
    );
    ArrayBuilder::new()
        .items(
            AllOfBuilder::new()
                .item(Ref::from_schema_name("AuthorizeCheck"))
                .item(no_explain),
        )
        .min_items(Some(1))
        .max_items(Some(100))
        .description(Some(
            "The checks, answered in order: 1 to 100, none with its own `explain` (it goes \
             beside `checks`).",
        ))
        .build()
}

/// `enabled_for_service_tokens`: only `true` (every token's traffic is subject to the rules).
pub fn only_true() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([true]))
        .description(Some(
            "Accepted for compatibility; every token's traffic is subject to the rules, so only \
             `true` is accepted.",
        ))
        .build()
}

/// An IP rule's ranges: 1 to 100 distinct ones, each a string or dbt Cloud's object with
/// exactly one of `cidr` and `cidr_ipv6`.
pub fn rule_cidrs() -> Array {
    let null = || ObjectBuilder::new().schema_type(Type::Null);
    let object = |given: &str, other: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(given, cidr())
            .required(given)
            .property(other, null())
            .description(Some(format!(
                "`{{\"{given}\": \"…\"}}` (`{other}` left out or null; other fields ignored)."
            )))
    };
    ArrayBuilder::new()
        .items(
            OneOfBuilder::new()
                .item(cidr())
                .item(object("cidr", "cidr_ipv6"))
                .item(object("cidr_ipv6", "cidr")),
        )
        .min_items(Some(1))
        .max_items(Some(100))
        .unique_items(true)
        .description(Some(
            "1 to 100 distinct ranges, each a string (`\"203.0.113.0/24\"`) or dbt Cloud's \
             object (`{\"cidr\": …}` or `{\"cidr_ipv6\": …}`).",
        ))
        .build()
}

/// The rules of a grant that tie its fields together, as JSON Schema to put beside the grant
/// object's `properties` (under `allOf`): its scope is `all_projects` (true, or left out) with no
/// `project_id`, or one `project_id` (1 or more) with `all_projects` false or left out; and only
/// the permission sets that honour environment categories take `writable_environment_categories`.
pub fn grant_rules() -> serde_json::Value {
    let honouring: Vec<&str> = catalog()
        .sets()
        .filter(|s| s.honours_env_categories())
        .map(latchkey_core::PermissionSet::slug)
        .collect();
    serde_json::json!([
        {
            "anyOf": [
                {
                    "properties": {
                        "all_projects": {"enum": [true, null]},
                        "project_id": {"type": "null"}
                    }
                },
                {
                    "required": ["project_id"],
                    "properties": {
                        "all_projects": {"enum": [false, null]},
                        "project_id": {"type": "integer", "minimum": 1}
                    }
                }
            ]
        },
        {
            "anyOf": [
                {"properties": {"permission_set": {"enum": honouring}}},
                {"properties": {"writable_environment_categories": {"maxItems": 0}}}
            ]
        }
    ])
}

/// A day (`YYYY-MM-DD`, UTC) or an RFC 3339 instant.
pub fn day_or_time() -> Schema {
    let format = |f| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(f)))
    };
    AnyOfBuilder::new()
        .schema_type(Type::String)
        .item(format(KnownFormat::Date))
        .item(format(KnownFormat::DateTime))
        .description(Some("A day (`YYYY-MM-DD`, UTC) or an RFC 3339 time."))
        .build()
        .into()
}
