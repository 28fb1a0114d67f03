//! A strict JSON-Schema-subset validator whose `$ref`s resolve in an OpenAPI document, and its
//! own tests (at the bottom), so that it cannot silently accept everything.

use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;

/// Keys whose value the document declares as a free-form object (`{"type": "object"}` with no
/// properties), and why that is right. Anywhere else a free-form object is an error: the
/// strictness of this suite depends on objects declaring their keys.
const FREE_FORM_OBJECTS: &[(&str, &str)] = &[(
    "event_context",
    "an audit entry's details differ per event type (AuditLogEntry.event_context)",
)];

/// A strict JSON-Schema-subset validator whose `$ref`s resolve in an OpenAPI document.
pub(super) struct Validator<'d> {
    pub(super) doc: &'d Value,
    /// `Schema.property` pairs seen with a non-null value (for the report of what no call
    /// reached).
    pub(super) seen: RefCell<BTreeSet<String>>,
}

/// Keywords that constrain a value; a schema with none of them accepts anything.
const CONSTRAINING: &[&str] = &[
    "$ref",
    "type",
    "allOf",
    "oneOf",
    "anyOf",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
];

impl<'d> Validator<'d> {
    pub(super) fn new(doc: &'d Value) -> Validator<'d> {
        Validator {
            doc,
            seen: RefCell::new(BTreeSet::new()),
        }
    }

    /// Every way `value` breaks `schema`, each starting with its JSON path; empty when valid.
    pub(super) fn errors(&self, value: &Value, schema: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(value, schema, "$", &BTreeSet::new(), None, &mut errors);
        errors
    }

    /// The schema a `$ref` names in `components.schemas`, and its name.
    fn resolve(&self, reference: &Value) -> Result<(&'d str, &'d Value), String> {
        let text = reference.as_str().ok_or("a $ref that is not a string")?;
        let name = text
            .strip_prefix("#/components/schemas/")
            .ok_or_else(|| format!("$ref {text} is not into #/components/schemas/"))?;
        let (name, schema) = self.doc["components"]["schemas"]
            .as_object()
            .and_then(|schemas| schemas.get_key_value(name))
            .ok_or_else(|| format!("$ref {text} points at nothing"))?;
        Ok((name.as_str(), schema))
    }

    /// The property names a schema declares, through `$ref`s and `allOf` members.
    fn declared(&self, schema: &Value) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(reference) = schema.get("$ref") {
            if let Ok((_, target)) = self.resolve(reference) {
                names.extend(self.declared(target));
            }
        }
        for member in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            names.extend(self.declared(member));
        }
        names
    }

    /// Checks `value` at `path` against `schema`. `siblings` are keys an enclosing `allOf`
    /// answers for (allowed here, validated by the member declaring them); `owner` is the name
    /// of the component `schema` is, when it is one.
    fn check(
        &self,
        value: &Value,
        schema: &Value,
        path: &str,
        siblings: &BTreeSet<String>,
        owner: Option<&str>,
        errors: &mut Vec<String>,
    ) {
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return errors.push(format!("{path}: the schema is `false`")),
            Value::Object(map) => map,
            other => return errors.push(format!("{path}: {other} is not a schema")),
        };
        if !CONSTRAINING.iter().any(|k| schema.contains_key(*k)) {
            return errors.push(format!(
                "{path}: the schema {} constrains nothing (a row that names no answer type?)",
                Value::Object(schema.clone())
            ));
        }

        if let Some(reference) = schema.get("$ref") {
            match self.resolve(reference) {
                Ok((name, target)) => self.check(value, target, path, siblings, Some(name), errors),
                Err(e) => errors.push(format!("{path}: {e}")),
            }
        }

        if let Some(ty) = schema.get("type") {
            let types: Vec<&str> = match ty {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !types.iter().any(|t| has_type(value, t)) {
                return errors.push(format!(
                    "{path}: expected {}, got {} {}",
                    types.join(" or "),
                    kind(value),
                    snippet(value)
                ));
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!(
                    "{path}: {} is not one of {options:?}",
                    snippet(value)
                ));
            }
        }
        if let Some(constant) = schema.get("const") {
            if constant != value {
                errors.push(format!("{path}: {} is not {constant}", snippet(value)));
            }
        }
        self.check_number(value, schema, path, errors);

        if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
            self.check_all_of(value, members, path, siblings, errors);
        }
        for keyword in ["oneOf", "anyOf"] {
            let Some(alternatives) = schema.get(keyword).and_then(Value::as_array) else {
                continue;
            };
            let mut why = Vec::new();
            let matched = alternatives.iter().enumerate().any(|(i, alternative)| {
                let mut trial = Vec::new();
                self.check(value, alternative, path, siblings, None, &mut trial);
                why.push(format!("[{i}] {}", trial.join("; ")));
                trial.is_empty()
            });
            if !matched {
                errors.push(format!(
                    "{path}: matches none of the {} alternatives of {keyword}: {}",
                    alternatives.len(),
                    why.join(" | ")
                ));
            }
        }

        if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
            for (i, item) in values.iter().enumerate() {
                self.check(
                    item,
                    items,
                    &format!("{path}[{i}]"),
                    &BTreeSet::new(),
                    None,
                    errors,
                );
            }
        }
        if let Some(object) = value.as_object() {
            self.check_object(object, schema, path, siblings, owner, errors);
        }
    }

    /// `allOf`: the value is valid against every member, and, for an object, together the
    /// members declare its keys. Each member is checked with every key of the value allowed (so
    /// that none reports its siblings' keys), and the keys no member declares are reported here,
    /// once.
    fn check_all_of(
        &self,
        value: &Value,
        members: &[Value],
        path: &str,
        siblings: &BTreeSet<String>,
        errors: &mut Vec<String>,
    ) {
        let mut allowed = siblings.clone();
        for member in members {
            allowed.extend(self.declared(member));
        }
        if let Some(object) = value.as_object() {
            if members.iter().any(|m| self.takes_more(m)) {
                return errors.push(format!(
                    "{path}: an allOf member with additionalProperties; this validator does not \
                     know which keys that leaves to whom (teach it)"
                ));
            }
            for (key, v) in object.iter().filter(|(k, _)| !allowed.contains(*k)) {
                errors.push(format!(
                    "{path}: the key `{key}` (value {}) is declared by none of the allOf members",
                    snippet(v)
                ));
            }
            allowed.extend(object.keys().cloned());
        }
        for member in members {
            self.check(value, member, path, &allowed, None, errors);
        }
    }

    /// Whether a schema (through `$ref`s and `allOf` members) takes keys beyond its declared
    /// properties: `additionalProperties` that is a schema or `true`.
    fn takes_more(&self, schema: &Value) -> bool {
        let own = schema
            .get("additionalProperties")
            .is_some_and(|a| *a != Value::Bool(false));
        let by_ref = schema
            .get("$ref")
            .and_then(|r| self.resolve(r).ok())
            .is_some_and(|(_, target)| self.takes_more(target));
        let by_member = schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|ms| ms.iter().any(|m| self.takes_more(m)));
        own || by_ref || by_member
    }

    fn check_number(
        &self,
        value: &Value,
        schema: &serde_json::Map<String, Value>,
        path: &str,
        errors: &mut Vec<String>,
    ) {
        let Some(n) = value.as_f64() else {
            return;
        };
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            if n < min {
                errors.push(format!("{path}: {n} is below the minimum {min}"));
            }
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            if n > max {
                errors.push(format!("{path}: {n} is above the maximum {max}"));
            }
        }
        let fits = match schema.get("format").and_then(Value::as_str) {
            Some("int32") => value.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            Some("int64") => value.is_i64(),
            _ => true,
        };
        if !fits {
            errors.push(format!(
                "{path}: {n} does not fit the format {}",
                schema["format"]
            ));
        }
    }

    fn check_object(
        &self,
        object: &serde_json::Map<String, Value>,
        schema: &serde_json::Map<String, Value>,
        path: &str,
        siblings: &BTreeSet<String>,
        owner: Option<&str>,
        errors: &mut Vec<String>,
    ) {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(key) {
                errors.push(format!("{path}: the required key `{key}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let delegated = ["$ref", "allOf", "oneOf", "anyOf"]
            .iter()
            .any(|k| schema.contains_key(*k));
        if properties.is_none() && additional.is_none() {
            if delegated || !siblings.is_empty() {
                // The keys are checked by the `$ref`, `allOf` or `oneOf` this delegates to, or by
                // the `allOf` this is a member of.
                return;
            }
            // `{"type": "object"}` and nothing else: any keys at all.
            let key = path.rsplit('.').next().unwrap_or_default();
            if !FREE_FORM_OBJECTS.iter().any(|(k, _)| *k == key) {
                errors.push(format!(
                    "{path}: the schema is a free-form object (it declares no properties), \
                     which this suite cannot hold to anything; list it in FREE_FORM_OBJECTS \
                     if that is right"
                ));
            }
            return;
        }
        for (key, v) in object {
            let at = format!("{path}.{key}");
            if let Some(property) = properties.and_then(|p| p.get(key)) {
                if let (Some(owner), false) = (owner, v.is_null()) {
                    self.seen.borrow_mut().insert(format!("{owner}.{key}"));
                }
                self.check(v, property, &at, &BTreeSet::new(), None, errors);
            } else if siblings.contains(key) {
                // Declared (and checked) by another member of the enclosing allOf.
            } else {
                match additional {
                    Some(Value::Bool(true)) => {}
                    Some(s @ Value::Object(_)) => {
                        self.check(v, s, &at, &BTreeSet::new(), None, errors);
                    }
                    _ => errors.push(format!(
                        "{path}: the key `{key}` (value {}) is not declared by the schema{}",
                        snippet(v),
                        owner.map(|o| format!(" {o}")).unwrap_or_default()
                    )),
                }
            }
        }
        if let Some(names) = schema.get("propertyNames") {
            for key in object.keys() {
                self.check(
                    &Value::String(key.clone()),
                    names,
                    &format!("{path}.{key} (as a name)"),
                    &BTreeSet::new(),
                    None,
                    errors,
                );
            }
        }
    }

    /// `Schema.property` for every property of every component reachable from `schema`.
    pub(super) fn reachable_properties(&self, schema: &Value, out: &mut BTreeSet<String>) {
        let mut stack = vec![schema];
        let mut visited = BTreeSet::new();
        while let Some(s) = stack.pop() {
            match s {
                Value::Object(map) => {
                    if let Some(reference) = map.get("$ref") {
                        if let Ok((name, target)) = self.resolve(reference) {
                            if visited.insert(name) {
                                for key in target
                                    .get("properties")
                                    .and_then(Value::as_object)
                                    .into_iter()
                                    .flat_map(|p| p.keys())
                                {
                                    out.insert(format!("{name}.{key}"));
                                }
                                stack.push(target);
                            }
                        }
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
}

/// Whether `value` is of the JSON-Schema type `ty`.
fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

/// The JSON type of a value, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value, shortened for messages.
fn snippet(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

// ---------------------------------------------------------------------------------------------
// The validator's own tests.
// ---------------------------------------------------------------------------------------------

/// A small document: an object with a required integer, an optional nullable string, a nested
/// object, a map, and an `allOf` that flattens another object into it.
fn toy_document() -> Value {
    json!({"components": {"schemas": {
        "Thing": {
            "type": "object",
            "required": ["id", "inner"],
            "properties": {
                "id": {"type": "integer", "format": "int64"},
                "note": {"type": ["string", "null"]},
                "inner": {"$ref": "#/components/schemas/Inner"},
                "maybe": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Inner"}]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Inner": {
            "type": "object",
            "required": ["ok"],
            "properties": {"ok": {"type": "boolean"}},
        },
        "Flattened": {
            "allOf": [
                {"$ref": "#/components/schemas/Inner"},
                {"type": "object", "required": ["extra"], "properties": {"extra": {"type": "string"}}},
            ],
        },
    }}})
}

fn toy_errors(schema: &str, value: Value) -> Vec<String> {
    let doc = toy_document();
    let validator = Validator::new(&doc);
    validator.errors(
        &value,
        &json!({"$ref": format!("#/components/schemas/{schema}")}),
    )
}

fn valid_thing() -> Value {
    json!({
        "id": 7,
        "note": null,
        "inner": {"ok": true},
        "maybe": {"ok": false},
        "labels": {"a": "b"},
        "tags": ["x"],
    })
}

#[test]
fn the_validator_accepts_a_valid_answer() {
    assert_eq!(toy_errors("Thing", valid_thing()), Vec::<String>::new());
    let mut minimal = valid_thing();
    minimal
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k == "id" || k == "inner");
    assert_eq!(toy_errors("Thing", minimal), Vec::<String>::new());
    assert_eq!(
        toy_errors("Flattened", json!({"ok": true, "extra": "x"})),
        Vec::<String>::new()
    );
}

#[test]
fn the_validator_refuses_a_missing_required_key() {
    let mut thing = valid_thing();
    thing["inner"].as_object_mut().unwrap().remove("ok");
    let errors = toy_errors("Thing", thing);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("$.inner: the required key `ok`"),
        "{errors:?}"
    );
    let errors = toy_errors("Flattened", json!({"ok": true}));
    assert!(errors[0].contains("`extra` is missing"), "{errors:?}");
}

#[test]
fn the_validator_refuses_an_undeclared_key() {
    let mut thing = valid_thing();
    thing["inner"]["surprise"] = json!(1);
    let errors = toy_errors("Thing", thing);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("$.inner: the key `surprise`"),
        "{errors:?}"
    );
    // allOf allows the union of its members' keys, and nothing beyond it.
    let errors = toy_errors("Flattened", json!({"ok": true, "extra": "x", "more": 1}));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("$: the key `more` (value 1) is declared by none"),
        "{errors:?}"
    );
    // A free-form object is refused unless listed.
    let doc = json!({});
    let errors = Validator::new(&doc).errors(
        &json!({"details": {"a": 1}}),
        &json!({"type": "object", "properties": {"details": {"type": "object"}}}),
    );
    assert!(errors[0].contains("free-form"), "{errors:?}");
}

#[test]
fn the_validator_refuses_a_wrong_type() {
    for (key, bad) in [
        ("id", json!("7")),
        ("id", json!(7.5)),
        ("note", json!(3)),
        ("tags", json!("x")),
        ("labels", json!({"a": 1})),
        ("maybe", json!({"ok": "yes"})),
    ] {
        let mut thing = valid_thing();
        thing[key] = bad.clone();
        let errors = toy_errors("Thing", thing);
        assert!(!errors.is_empty(), "{key} = {bad} was accepted");
        assert!(errors[0].starts_with(&format!("$.{key}")), "{errors:?}");
    }
    let mut thing = valid_thing();
    thing["tags"] = json!(["x", 2]);
    assert!(toy_errors("Thing", thing)[0].starts_with("$.tags[1]: expected string"));
}

#[test]
fn the_validator_refuses_a_null_where_not_nullable() {
    for key in ["id", "inner", "tags", "labels"] {
        let mut thing = valid_thing();
        thing[key] = Value::Null;
        let errors = toy_errors("Thing", thing);
        assert!(!errors.is_empty(), "{key} = null was accepted");
    }
    // Nullable by a type list and by a oneOf with null.
    let mut thing = valid_thing();
    thing["maybe"] = Value::Null;
    assert_eq!(toy_errors("Thing", thing), Vec::<String>::new());
}

#[test]
fn the_validator_refuses_a_schema_that_says_nothing() {
    let doc = json!({});
    let errors = Validator::new(&doc).errors(&json!({"x": 1}), &json!({"description": "anything"}));
    assert!(errors[0].contains("constrains nothing"), "{errors:?}");
}
