//! Every success answer of the API against the schema the OpenAPI document gives for it.
//!
//! What this file proves, for every row of `routes::table::table()` as it stands when it runs:
//!
//! 1. A real call that succeeds is made against a real server, with data that makes the answer
//!    rich: service tokens with grants on one project and on all projects with writable
//!    environment categories, an expiry, an allowlist, a rotation; a group with permissions and
//!    members; invitations pending, redeemed and withdrawn, with groups; IP rules with IPv4 and
//!    IPv6 ranges; a non-empty audit log; authorize answers single and batch, allowed and denied
//!    (with a `reason`), with and without `explain`; introspection of an active service token, an
//!    active personal access token and an inactive token.
//! 2. The answer's status is the 2xx status the document gives for that operation, and its JSON
//!    body is valid against the document's schema for it, STRICTLY: every required key present,
//!    every key of an object declared by its schema (or by a sibling of an `allOf`, or validated
//!    by `additionalProperties`), every value of the declared type. A route mapped to the wrong
//!    type in `openapi::RESPONSES` fails here.
//! 3. A row that is neither exercised here nor listed in [`EXCEPTIONS`] (with its own check)
//!    fails the suite, so a new route cannot escape.
//!
//! The validator is a JSON-Schema subset written here (`$ref`, `type` as a string or a list,
//! `properties`, `required`, `additionalProperties`, `propertyNames`, `items`, `allOf`, `oneOf`,
//! `anyOf`, `enum`, `const`, `minimum`, `maximum`, the `int32`/`int64` formats); its own tests
//! are at the bottom, so that it cannot silently accept everything.

use latchkey_core::{License, Secret, UserId};
use latchkey_server::openapi::document_for;
use latchkey_server::routes::table::table;
use latchkey_store::Actor;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use crate::common::{eventually, spawn_app_with, App};
use latchkey_server::{ForwardAuthHeaders, ServerConfig};

// ---------------------------------------------------------------------------------------------
// Rows not validated as JSON, and why.
// ---------------------------------------------------------------------------------------------

/// Rows whose success answer is not a JSON body to validate, each with the reason and what
/// [`check_exception`] asserts instead. Every other row must be exercised by [`exercise`].
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "POST",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "PUT",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "PATCH",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "DELETE",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "GET",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "POST",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "PUT",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "PATCH",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "DELETE",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "GET",
        "/api/openapi.json",
        "the document itself: it parses and is the generated document",
    ),
];

/// Keys whose value the document declares as a free-form object (`{"type": "object"}` with no
/// properties), and why that is right. Anywhere else a free-form object is an error: the
/// strictness of this suite depends on objects declaring their keys.
const FREE_FORM_OBJECTS: &[(&str, &str)] = &[(
    "event_context",
    "an audit entry's details differ per event type (AuditLogEntry.event_context)",
)];

// ---------------------------------------------------------------------------------------------
// The validator.
// ---------------------------------------------------------------------------------------------

/// A strict JSON-Schema-subset validator whose `$ref`s resolve in an OpenAPI document.
struct Validator<'d> {
    doc: &'d Value,
    /// `Schema.property` pairs seen with a non-null value (for the report of what no call
    /// reached).
    seen: RefCell<BTreeSet<String>>,
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
    fn new(doc: &'d Value) -> Validator<'d> {
        Validator {
            doc,
            seen: RefCell::new(BTreeSet::new()),
        }
    }

    /// Every way `value` breaks `schema`, each starting with its JSON path; empty when valid.
    fn errors(&self, value: &Value, schema: &Value) -> Vec<String> {
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
                "{path}: the schema {} constrains nothing (a row without a RESPONSES entry?)",
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
                        self.check(v, s, &at, &BTreeSet::new(), None, errors)
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
    fn reachable_properties(&self, schema: &Value, out: &mut BTreeSet<String>) {
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
// Calls.
// ---------------------------------------------------------------------------------------------

/// How a call authenticates.
#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    /// `Authorization: Token <secret>`.
    Token(&'a str),
    /// HTTP Basic e-mail and password.
    Basic(&'a str, &'a str),
}

/// What a call sends.
enum Payload {
    None,
    Json(Value),
    Form(String),
}

/// An answer as received.
struct Answer {
    status: u16,
    headers: HeaderMap,
    /// The text of the body.
    text: String,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request.
async fn request(
    app: &App,
    method: &str,
    path: &str,
    auth: Auth<'_>,
    payload: Payload,
    headers: &[(&str, String)],
) -> Answer {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = app.http.request(method, format!("{}{path}", app.url));
    req = match auth {
        Auth::None => req,
        Auth::Token(t) => req.header("Authorization", format!("Token {t}")),
        Auth::Basic(email, password) => req.basic_auth(email, Some(password)),
    };
    req = match payload {
        Payload::None => req,
        Payload::Json(body) => req.json(&body),
        Payload::Form(form) => req
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form),
    };
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req.send().await.unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().await.unwrap(),
    }
}

/// A call with a token and an optional JSON body.
async fn call(app: &App, method: &str, path: &str, token: &str, body: Option<Value>) -> Answer {
    let payload = body.map_or(Payload::None, Payload::Json);
    request(app, method, path, Auth::Token(token), payload, &[]).await
}

/// A call that must succeed, for setting things up; its JSON answer.
async fn setup(app: &App, method: &str, path: &str, token: &str, body: Value) -> Value {
    let answer = call(app, method, path, token, Some(body)).await;
    assert!(
        (200..300).contains(&answer.status),
        "setup {method} {path}: {} {}",
        answer.status,
        answer.text
    );
    answer.json()
}

/// `/api/v3/accounts/<account>/<rest>`.
fn at(app: &App, rest: &str) -> String {
    format!("/api/v3/accounts/{}/{rest}", app.account)
}

// ---------------------------------------------------------------------------------------------
// The world the calls run in.
// ---------------------------------------------------------------------------------------------

const PASSWORD: &str = "correct horse battery staple";

/// A far expiry, so tokens and PATs made with it keep working.
const FAR: &str = "2099-01-01T00:00:00Z";

/// Objects made before the rows are called, all through the API where it can make them.
struct World {
    /// An `account_admin:all` service token.
    admin: String,
    /// The rich service token: grants on one project and on all projects (with writable
    /// environment categories), an expiry and an allowlist; used once (so `last_used` is set).
    rich_id: i64,
    rich: String,
    /// A member with a password, in `group`, and a PAT of theirs.
    email: String,
    user: UserId,
    pat: String,
    pat_id: i64,
    /// A group with permissions and members.
    group: i64,
    /// An allow rule with IPv4 and IPv6 ranges (covering 127.0.0.1, where the calls come from).
    rule: i64,
}

/// The body of a service token with every optional part.
fn rich_token_body(app: &App, name: &str) -> Value {
    json!({
        "name": name,
        "permission_grants": [
            {"permission_set": "developer", "project_id": app.p1.0,
             "writable_environment_categories": ["production"]},
            {"permission_set": "developer", "all_projects": true,
             "writable_environment_categories": ["development", "staging"]},
        ],
        "expires_at": FAR,
        "allowed_cidrs": ["127.0.0.1/32", "2001:db8::/32"],
    })
}

/// A rich service token made over the API; its id and secret.
async fn rich_token(app: &App, admin: &str, name: &str) -> (i64, String) {
    let made = setup(
        app,
        "POST",
        &at(app, "service-tokens/"),
        admin,
        rich_token_body(app, name),
    )
    .await;
    (
        made["data"]["id"].as_i64().unwrap(),
        made["data"]["token_string"].as_str().unwrap().to_owned(),
    )
}

/// A member of the account with a developer seat and a password; their id.
async fn member(app: &App, email: &str) -> UserId {
    let user = app.member(email, Some(PASSWORD), License::Developer).await;
    user
}

/// A PAT of the user with `email`, made by signing in; its id and secret.
async fn pat_of(app: &App, email: &str, name: &str) -> (i64, String) {
    let made = request(
        app,
        "POST",
        &at(app, "personal-tokens/"),
        Auth::Basic(email, PASSWORD),
        Payload::Json(json!({"name": name, "expires_at": FAR})),
        &[],
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let made = made.json();
    (
        made["data"]["id"].as_i64().unwrap(),
        made["data"]["token_string"].as_str().unwrap().to_owned(),
    )
}

/// An invitation over the API; its id and code.
async fn invite(app: &App, admin: &str, email: &str, groups: &[i64]) -> (i64, String) {
    let made = setup(
        app,
        "POST",
        &at(app, "invites/"),
        admin,
        json!({"email": email, "license_type": "developer", "group_ids": groups}),
    )
    .await;
    (
        made["data"]["id"].as_i64().unwrap(),
        made["data"]["code"].as_str().unwrap().to_owned(),
    )
}

/// The body of a group's (or a token's) full grant list.
fn grants_body(app: &App) -> Value {
    json!([
        {"permission_set": "developer", "project_id": app.p1.0,
         "writable_environment_categories": ["production"]},
        {"permission_set": "job_viewer", "all_projects": true},
    ])
}

/// An IP rule over the API; its id.
async fn ip_rule(app: &App, admin: &str, name: &str, body: Value) -> i64 {
    let mut body = body;
    body["name"] = json!(name);
    setup(app, "POST", &at(app, "ip-restrictions/"), admin, body).await["data"]["id"]
        .as_i64()
        .unwrap()
}

/// An allow rule with IPv4 and IPv6 ranges, as strings and as dbt Cloud's objects.
fn allow_rule_body() -> Value {
    json!({
        "type": 1,
        "description": "office and VPN",
        "cidrs": [
            "127.0.0.1/32",
            {"cidr": "203.0.113.0/24"},
            {"cidr_ipv6": "2001:db8::/32"},
        ],
    })
}

impl World {
    async fn build(app: &App) -> World {
        let admin = app.token(app.account, &["account_admin:all"]).await;
        let (rich_id, rich) = rich_token(app, &admin, "rich").await;
        // Used once, so that `last_used` has a value.
        let used = call(
            app,
            "POST",
            "/api/v1/authorize",
            &rich,
            Some(json!({"permission": "jobs:read"})),
        )
        .await;
        assert_eq!(used.status, 200, "{}", used.text);
        let one = at(app, &format!("service-tokens/{rich_id}/"));
        eventually("the rich token's last_used", async || {
            let shown = call(app, "GET", &one, &admin, None).await.json();
            (!shown["data"]["last_used"].is_null()).then_some(())
        })
        .await;
        // A rotation with an overlap: the old token has `revoke_at`, the new `rotated_from_id`.
        let (rotated, _) = rich_token(app, &admin, "rotated").await;
        setup(
            app,
            "POST",
            &at(app, &format!("service-tokens/{rotated}/rotate/")),
            &admin,
            json!({"overlap_seconds": 3600}),
        )
        .await;

        let email = "member@example.com".to_owned();
        let user = member(app, &email).await;
        let (pat_id, pat) = pat_of(app, &email, "laptop").await;
        let made = setup(
            app,
            "POST",
            &at(app, "groups/"),
            &admin,
            json!({"name": "jobs", "group_permissions": grants_body(app)}),
        )
        .await;
        let group = made["data"]["id"].as_i64().unwrap();
        setup(
            app,
            "POST",
            &at(app, "assign-groups/"),
            &admin,
            json!({"user_id": user.0, "desired_group_ids": [group]}),
        )
        .await;

        // Invitations pending (with a group), redeemed and withdrawn.
        invite(app, &admin, "pending@example.com", &[group]).await;
        let (_, code) = invite(app, &admin, "redeemed@example.com", &[group]).await;
        let redeemed = request(
            app,
            "POST",
            "/api/v3/invites/redeem/",
            Auth::None,
            Payload::Json(json!({"code": code, "password": PASSWORD})),
            &[],
        )
        .await;
        assert_eq!(redeemed.status, 201, "{}", redeemed.text);
        let (withdrawn, _) = invite(app, &admin, "withdrawn@example.com", &[]).await;
        let path = at(app, &format!("invites/{withdrawn}/"));
        assert_eq!(call(app, "DELETE", &path, &admin, None).await.status, 200);

        let rule = ip_rule(app, &admin, "office", allow_rule_body()).await;
        ip_rule(
            app,
            &admin,
            "blocked",
            json!({"type": 2, "cidrs": ["198.51.100.0/24", {"cidr_ipv6": "2001:db8:dead::/48"}]}),
        )
        .await;
        World {
            admin,
            rich_id,
            rich,
            email,
            user,
            pat,
            pat_id,
            group,
            rule,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One successful call (or several variants) per row.
// ---------------------------------------------------------------------------------------------

/// A labelled answer to validate.
type Variant = (String, Answer);

fn variant(label: &str, answer: Answer) -> Variant {
    (label.to_owned(), answer)
}

/// The successful calls for a row, in as many variants as make its answer differ; `None` for a
/// row this file does not know (the suite then fails, naming it).
async fn exercise(app: &App, w: &World, method: &str, path: &str) -> Option<Vec<Variant>> {
    let admin = w.admin.as_str();
    let a = app.account;
    let get = |p: String, token: &str| {
        let token = token.to_owned();
        async move { call(app, "GET", &p, &token, None).await }
    };
    Some(match (method, path) {
        ("GET", "/healthz") | ("GET", "/livez") => vec![variant(
            "probe",
            request(app, "GET", path, Auth::None, Payload::None, &[]).await,
        )],
        ("POST", "/api/v1/authorize") => authorize_variants(app, w).await,
        ("POST", "/oauth/introspect") => introspect_variants(app, w).await,
        ("POST", "/api/v1/credentials/revoke") => {
            let (_, leaked) = rich_token(app, admin, "leaked").await;
            let body = json!({"credentials": [leaked, "lksvc_not_a_real_one", "garbage"]});
            vec![variant(
                "a real, a fake and a garbled credential",
                request(app, "POST", path, Auth::None, Payload::Json(body), &[]).await,
            )]
        }
        ("GET", "/api/v2/whoami/") => vec![
            variant("service token", get(path.into(), admin).await),
            variant("personal access token", get(path.into(), &w.pat).await),
        ],
        ("GET", "/api/v2/constants/") => vec![variant("constants", get(path.into(), admin).await)],
        ("GET", "/api/v2/accounts/") | ("GET", "/api/v3/accounts/") => vec![
            variant("service token", get(path.into(), admin).await),
            variant("personal access token", get(path.into(), &w.pat).await),
        ],

        // Service tokens.
        ("GET", "/api/v3/accounts/{account_id}/service-tokens/") => vec![
            variant("all", get(at(app, "service-tokens/"), admin).await),
            variant(
                "a page",
                get(at(app, "service-tokens/?offset=1&limit=2"), admin).await,
            ),
        ],
        ("POST", "/api/v3/accounts/{account_id}/service-tokens/") => vec![
            variant(
                "every optional part",
                call(
                    app,
                    "POST",
                    &at(app, "service-tokens/"),
                    admin,
                    Some(rich_token_body(app, "made")),
                )
                .await,
            ),
            variant(
                "one grant, nothing else",
                call(
                    app,
                    "POST",
                    &at(app, "service-tokens/"),
                    admin,
                    Some(json!({"name": "bare", "permission_grants": [{"permission_set": "job_viewer"}]})),
                )
                .await,
            ),
        ],
        ("GET", "/api/v3/accounts/{account_id}/service-tokens/{id}/") => vec![variant(
            "the rich token",
            get(at(app, &format!("service-tokens/{}/", w.rich_id)), admin).await,
        )],
        ("DELETE", "/api/v3/accounts/{account_id}/service-tokens/{id}/") => {
            let (id, _) = rich_token(app, admin, "deleted").await;
            let p = at(app, &format!("service-tokens/{id}/"));
            vec![variant(
                "a token made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/service-tokens/{id}/")
        | ("PUT", "/api/v3/accounts/{account_id}/service-tokens/{id}/") => {
            let (id, _) = rich_token(app, admin, "updated").await;
            let p = at(app, &format!("service-tokens/{id}/"));
            let body = json!({"name": "renamed", "allowed_cidrs": ["127.0.0.1/32"]});
            let renamed = call(app, method, &p, admin, Some(body)).await;
            let revoked = call(app, method, &p, admin, Some(json!({"state": 2}))).await;
            vec![
                variant("renamed, new allowlist", renamed),
                variant("revoked", revoked),
            ]
        }
        ("GET", "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/") => vec![variant(
            "the rich token's grants",
            get(
                at(app, &format!("service-tokens/{}/permissions/", w.rich_id)),
                admin,
            )
            .await,
        )],
        ("POST", "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/") => {
            let (id, _) = rich_token(app, admin, "regranted").await;
            let p = at(app, &format!("service-tokens/{id}/permissions/"));
            vec![variant(
                "one project and all projects",
                call(app, "POST", &p, admin, Some(grants_body(app))).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/") => {
            let (id, _) = rich_token(app, admin, "to rotate").await;
            let p = at(app, &format!("service-tokens/{id}/rotate/"));
            vec![variant(
                "with an overlap",
                call(
                    app,
                    "POST",
                    &p,
                    admin,
                    Some(json!({"overlap_seconds": 600})),
                )
                .await,
            )]
        }

        // Personal access tokens (the user's own PAT, or their e-mail and password).
        ("GET", "/api/v3/accounts/{account_id}/personal-tokens/") => {
            let p = at(app, "personal-tokens/");
            let basic = request(
                app,
                "GET",
                &p,
                Auth::Basic(&w.email, PASSWORD),
                Payload::None,
                &[],
            )
            .await;
            vec![
                variant("with the PAT", get(p.clone(), &w.pat).await),
                variant("signed in", basic),
            ]
        }
        ("POST", "/api/v3/accounts/{account_id}/personal-tokens/") => {
            let p = at(app, "personal-tokens/");
            let auth = Auth::Basic(&w.email, PASSWORD);
            let rich = json!({"name": "desktop", "expires_at": FAR});
            vec![
                variant(
                    "with an expiry",
                    request(app, "POST", &p, auth, Payload::Json(rich), &[]).await,
                ),
                variant(
                    "a name only",
                    request(
                        app,
                        "POST",
                        &p,
                        auth,
                        Payload::Json(json!({"name": "x"})),
                        &[],
                    )
                    .await,
                ),
            ]
        }
        ("GET", "/api/v3/accounts/{account_id}/personal-tokens/{id}/") => vec![variant(
            "the member's PAT",
            get(at(app, &format!("personal-tokens/{}/", w.pat_id)), &w.pat).await,
        )],
        ("DELETE", "/api/v3/accounts/{account_id}/personal-tokens/{id}/") => {
            let (id, _) = pat_of(app, &w.email, "to delete").await;
            let p = at(app, &format!("personal-tokens/{id}/"));
            vec![variant(
                "a PAT made for it",
                call(app, "DELETE", &p, &w.pat, None).await,
            )]
        }

        // Projects.
        ("GET", "/api/v3/accounts/{account_id}/projects/") => {
            vec![variant("all", get(at(app, "projects/"), admin).await)]
        }
        ("POST", "/api/v3/accounts/{account_id}/projects/") => vec![variant(
            "a new project",
            call(
                app,
                "POST",
                &at(app, "projects/"),
                admin,
                Some(json!({"name": "three"})),
            )
            .await,
        )],
        ("GET", "/api/v3/accounts/{account_id}/projects/{project_id}/") => vec![variant(
            "project one",
            get(at(app, &format!("projects/{}/", app.p1)), admin).await,
        )],
        ("POST", "/api/v3/accounts/{account_id}/projects/{project_id}/")
        | ("DELETE", "/api/v3/accounts/{account_id}/projects/{project_id}/") => {
            let made = setup(
                app,
                "POST",
                &at(app, "projects/"),
                admin,
                json!({"name": "scratch"}),
            )
            .await;
            let p = at(app, &format!("projects/{}/", made["data"]["id"]));
            let body = (method == "POST").then(|| json!({"name": "renamed"}));
            vec![variant(
                "a project made for it",
                call(app, method, &p, admin, body).await,
            )]
        }

        // Members.
        ("GET", "/api/v3/accounts/{account_id}/users/") => {
            vec![variant("all", get(at(app, "users/"), admin).await)]
        }
        ("GET", "/api/v2/accounts/{account_id}/users/") => {
            let v2 = format!("/api/v2/accounts/{}/users/?order_by=-email", app.account);
            vec![variant("all, by e-mail descending", get(v2, admin).await)]
        }
        ("GET", "/api/v3/accounts/{account_id}/users/{user_id}/")
        | ("GET", "/api/v2/accounts/{account_id}/users/{user_id}/") => {
            let p = path
                .replace("{account_id}", &a.to_string())
                .replace("{user_id}", &w.user.0.to_string());
            vec![variant("a member in a group", get(p, admin).await)]
        }
        ("DELETE", "/api/v3/accounts/{account_id}/users/{user_id}/") => {
            let user = member(app, "removed@example.com").await;
            let p = at(app, &format!("users/{}/", user.0));
            vec![variant(
                "a member made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/users/{user_id}/license/") => {
            let user = member(app, "relicensed@example.com").await;
            let p = at(app, &format!("users/{}/license/", user.0));
            let body = json!({"license_type": "read_only"});
            vec![variant(
                "to read-only",
                call(app, "POST", &p, admin, Some(body)).await,
            )]
        }

        // Groups.
        ("GET", "/api/v3/accounts/{account_id}/groups/") => {
            vec![variant("all", get(at(app, "groups/"), admin).await)]
        }
        ("POST", "/api/v3/accounts/{account_id}/groups/") => {
            let body = json!({"name": "analysts", "group_permissions": grants_body(app)});
            vec![variant(
                "with permissions",
                call(app, "POST", &at(app, "groups/"), admin, Some(body)).await,
            )]
        }
        ("GET", "/api/v3/accounts/{account_id}/groups/{id}/") => vec![variant(
            "with permissions and a member",
            get(at(app, &format!("groups/{}/", w.group)), admin).await,
        )],
        ("POST", "/api/v3/accounts/{account_id}/groups/{id}/") => {
            let g = scratch_group(app, admin, "to rename").await;
            let p = at(app, &format!("groups/{g}/"));
            let renamed = call(app, "POST", &p, admin, Some(json!({"name": "renamed"}))).await;
            let deleted = call(app, "POST", &p, admin, Some(json!({"state": 2}))).await;
            vec![variant("renamed", renamed), variant("deleted", deleted)]
        }
        ("POST", "/api/v3/accounts/{account_id}/group-permissions/{id}/") => {
            let g = scratch_group(app, admin, "to regrant").await;
            let p = at(app, &format!("group-permissions/{g}/"));
            vec![variant(
                "one project and all projects",
                call(app, "POST", &p, admin, Some(grants_body(app))).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/assign-groups/") => {
            let user = member(app, "assigned@example.com").await;
            let other = scratch_group(app, admin, "second").await;
            let body = json!({"user_id": user.0, "desired_group_ids": [w.group, other]});
            vec![variant(
                "into two groups",
                call(app, "POST", &at(app, "assign-groups/"), admin, Some(body)).await,
            )]
        }

        // Invitations.
        ("GET", "/api/v3/accounts/{account_id}/invites/") => vec![variant(
            "pending, redeemed and withdrawn",
            get(at(app, "invites/"), admin).await,
        )],
        ("POST", "/api/v3/accounts/{account_id}/invites/") => {
            let body = json!({"email": "new@example.com", "license_type": "read_only",
                              "group_ids": [w.group], "expires_in_days": 14});
            vec![variant(
                "with a group",
                call(app, "POST", &at(app, "invites/"), admin, Some(body)).await,
            )]
        }
        ("DELETE", "/api/v3/accounts/{account_id}/invites/{id}/") => {
            let (id, _) = invite(app, admin, "withdrawn-too@example.com", &[w.group]).await;
            let p = at(app, &format!("invites/{id}/"));
            vec![variant(
                "an invitation made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        ("POST", "/api/v3/invites/redeem/") => redeem_variants(app, w).await,

        ("GET", "/api/v3/accounts/{account_id}/audit-logs/") => vec![
            variant("all", get(at(app, "audit-logs/?limit=1000"), admin).await),
            variant(
                "filtered",
                get(
                    at(app, "audit-logs/?event_type=service_token.created&limit=3"),
                    admin,
                )
                .await,
            ),
        ],

        // IP restrictions.
        ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/") => {
            vec![variant(
                "allow and block rules",
                get(at(app, "ip-restrictions/"), admin).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/ip-restrictions/") => {
            let mut body = allow_rule_body();
            body["name"] = json!("made");
            vec![variant(
                "IPv4 and IPv6 ranges",
                call(app, "POST", &at(app, "ip-restrictions/"), admin, Some(body)).await,
            )]
        }
        ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/") => {
            vec![variant(
                "the switch",
                get(at(app, "ip-restrictions/rule-set/"), admin).await,
            )]
        }
        ("PUT", "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/") => {
            // On (the allow rule covers 127.0.0.1, where the calls come from), then off again.
            let p = at(app, "ip-restrictions/rule-set/");
            let on = call(app, "PUT", &p, admin, Some(json!({"enabled": true}))).await;
            let off = call(app, "PUT", &p, admin, Some(json!({"enabled": false}))).await;
            assert_eq!(on.json()["data"]["enabled"], true, "{}", on.text);
            assert_eq!(off.json()["data"]["enabled"], false, "{}", off.text);
            vec![variant("enabled", on), variant("disabled", off)]
        }
        ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/") => vec![variant(
            "the allow rule",
            get(at(app, &format!("ip-restrictions/{}/", w.rule)), admin).await,
        )],
        ("PUT", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/")
        | ("POST", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/") => {
            let id = ip_rule(app, admin, "to change", allow_rule_body()).await;
            let p = at(app, &format!("ip-restrictions/{id}/"));
            let body =
                json!({"name": "changed", "cidrs": ["127.0.0.0/8", {"cidr_ipv6": "::1/128"}]});
            vec![variant(
                "new name and ranges",
                call(app, method, &p, admin, Some(body)).await,
            )]
        }
        ("DELETE", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/") => {
            let id = ip_rule(app, admin, "to delete", allow_rule_body()).await;
            let p = at(app, &format!("ip-restrictions/{id}/"));
            vec![variant(
                "a rule made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        _ => return None,
    })
}

/// A group with permissions, made for a call that changes it; its id.
async fn scratch_group(app: &App, admin: &str, name: &str) -> i64 {
    let body = json!({"name": name, "group_permissions": grants_body(app)});
    setup(app, "POST", &at(app, "groups/"), admin, body).await["data"]["id"]
        .as_i64()
        .unwrap()
}

/// `POST /api/v1/authorize`: single and batch, allowed and denied, with and without `explain`,
/// for a service token and a PAT. Each variant is asserted to be what its label says.
async fn authorize_variants(app: &App, w: &World) -> Vec<Variant> {
    let p1 = app.p1.0;
    let p2 = app.p2.0;
    // Holds service_tokens:read on the account (from account_admin on one project), so it may
    // ask for explanations.
    let explainer = app
        .token(
            app.account,
            &[
                &format!("account_admin:project={}", app.p1),
                "job_viewer:all",
            ],
        )
        .await;
    let jobs_write = |project: i64, env: Option<&str>| {
        let mut check = json!({"permission": "jobs:write", "project_id": project});
        if let Some(env) = env {
            check["environment"] = json!(env);
        }
        check
    };
    let (rich, pat) = (w.rich.as_str(), w.pat.as_str());
    let explained = |mut check: Value| {
        check["explain"] = json!(true);
        check
    };
    // The rich token writes jobs on project one in production only (developer there), and in
    // development and staging everywhere (developer on all projects).
    let cases: Vec<(&str, &str, Value)> = vec![
        ("single, allowed", rich, jobs_write(p1, Some("production"))),
        (
            "single, denied: environment not writable",
            rich,
            jobs_write(p1, Some("other")),
        ),
        ("single, denied: no grant, PAT", pat, jobs_write(p2, None)),
        (
            "single, allowed, explained",
            explainer.as_str(),
            explained(jobs_write(p1, None)),
        ),
        (
            "single, denied, explained",
            explainer.as_str(),
            explained(jobs_write(p2, None)),
        ),
        (
            "single, account-wide, PAT",
            pat,
            json!({"permission": "jobs:read"}),
        ),
        (
            "batch, allowed and denied",
            rich,
            json!({"checks": [
                jobs_write(p1, Some("production")),
                jobs_write(p1, Some("other")),
                {"permission": "jobs:read"},
            ]}),
        ),
        (
            "batch, explained",
            explainer.as_str(),
            json!({"explain": true, "checks": [
                jobs_write(p2, None),
                {"permission": "jobs:read", "project_id": p2},
            ]}),
        ),
        (
            "batch, PAT, all allowed",
            pat,
            json!({"checks": [{"permission": "jobs:read", "project_id": p1}]}),
        ),
    ];
    let mut out = Vec::new();
    for (label, token, body) in cases {
        let answer = call(app, "POST", "/api/v1/authorize", token, Some(body)).await;
        let json = answer.json();
        let results: Vec<&Value> = match json["results"].as_array() {
            Some(rs) => rs.iter().collect(),
            None => vec![&json],
        };
        assert_eq!(
            label.starts_with("batch"),
            json["results"].is_array(),
            "{label}: {}",
            answer.text
        );
        if label.contains("denied") {
            assert!(
                results
                    .iter()
                    .any(|r| r["allowed"] == false && r["reason"].is_object()),
                "{label}: {}",
                answer.text
            );
        }
        if label.contains("environment not writable") {
            assert_eq!(
                json["reason"]["code"], "environment_not_writable",
                "{label}: {}",
                answer.text
            );
        }
        if label.contains("allowed") {
            assert!(
                results.iter().any(|r| r["allowed"] == true),
                "{label}: {}",
                answer.text
            );
        }
        assert_eq!(
            label.contains("explained"),
            results.iter().all(|r| r["explanation"].is_object()),
            "{label}: {}",
            answer.text
        );
        out.push(variant(label, answer));
    }
    out
}

/// `POST /oauth/introspect`: an active service token, an active PAT, and inactive tokens.
async fn introspect_variants(app: &App, w: &World) -> Vec<Variant> {
    let (revoked_id, revoked) = rich_token(app, &w.admin, "revoked").await;
    let p = at(app, &format!("service-tokens/{revoked_id}/"));
    assert_eq!(call(app, "DELETE", &p, &w.admin, None).await.status, 200);
    let introspect = |token: String| {
        let form = format!("token={token}&token_type_hint=access_token");
        async move {
            request(
                app,
                "POST",
                "/oauth/introspect",
                Auth::Token(&w.admin),
                Payload::Form(form),
                &[],
            )
            .await
        }
    };
    let revoked_answer = eventually("introspection seeing the revocation", async || {
        let answer = introspect(revoked.clone()).await;
        (answer.json()["active"] == false).then_some(answer)
    })
    .await;
    let out = vec![
        variant("active service token", introspect(w.rich.clone()).await),
        variant(
            "active personal access token",
            introspect(w.pat.clone()).await,
        ),
        variant("revoked service token", revoked_answer),
        variant("garbage", introspect("lksvc_nothing".into()).await),
    ];
    for (label, answer) in &out {
        let json = answer.json();
        let active = !label.starts_with("revoked") && *label != "garbage";
        assert_eq!(json["active"], active, "{label}: {}", answer.text);
        if !active {
            assert_eq!(json, json!({"active": false}), "{label}");
        }
    }
    out
}

/// `POST /api/v3/invites/redeem/`: a new user (with a password) and an existing one.
async fn redeem_variants(app: &App, w: &World) -> Vec<Variant> {
    let (_, new_code) = invite(app, &w.admin, "brand-new@example.com", &[w.group]).await;
    let existing = "existing@example.com";
    app.store
        .create_user(
            &Actor::operator(),
            app.account,
            existing,
            Some(&Secret::new(PASSWORD.into())),
        )
        .await
        .unwrap();
    let (_, old_code) = invite(app, &w.admin, existing, &[]).await;
    let redeem = |body: Value| {
        request(
            app,
            "POST",
            "/api/v3/invites/redeem/",
            Auth::None,
            Payload::Json(body),
            &[],
        )
    };
    vec![
        variant(
            "a new user, into a group",
            redeem(json!({"code": new_code, "password": PASSWORD})).await,
        ),
        variant(
            "an existing user of the account, proven by their password",
            redeem(json!({"code": old_code, "password": PASSWORD})).await,
        ),
    ]
}

/// The check of a row in [`EXCEPTIONS`]; panics when it fails.
async fn check_exception(app: &App, w: &World, method: &str, path: &str, doc: &Value) {
    if path == "/api/openapi.json" {
        let answer = request(app, method, path, Auth::None, Payload::None, &[]).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let served: Value = serde_json::from_str(&answer.text).expect("the document parses");
        assert_eq!(&served, doc, "the served document is the generated one");
        return;
    }
    if path == "/auth/forward/{*path}" {
        check_envoy_exception(method, doc).await;
        return;
    }
    assert_eq!(
        path, "/auth/forward",
        "an exception this function does not know"
    );
    let documented = &doc["paths"][path][method.to_ascii_lowercase()]["responses"]["200"];
    for header in ["X-Latchkey-Principal", "X-Latchkey-Account"] {
        assert!(
            documented["headers"][header].is_object(),
            "{method} {path}: {header} is not documented"
        );
    }
    let runs = format!(
        "/api/v2/accounts/{}/runs/?project_id={}",
        app.account, app.p1
    );
    let proxied = [
        ("X-Forwarded-Method", "GET".to_owned()),
        ("X-Forwarded-Uri", runs),
    ];
    let service = request(
        app,
        method,
        path,
        Auth::Token(&w.rich),
        Payload::None,
        &proxied,
    )
    .await;
    let personal = request(
        app,
        method,
        path,
        Auth::Token(&w.pat),
        Payload::None,
        &proxied,
    )
    .await;
    for (answer, principal, user) in [
        (&service, format!("service_token:{}", w.rich_id), None),
        (
            &personal,
            format!("personal_access_token:{}", w.pat_id),
            Some(w.user.0.to_string()),
        ),
    ] {
        let what = format!("{method} {path} as {principal}");
        assert_eq!(answer.status, 200, "{what}: {}", answer.text);
        assert_eq!(answer.text, "", "{what}: the answer has no body");
        assert_eq!(
            answer.header("x-latchkey-principal"),
            Some(principal.as_str()),
            "{what}"
        );
        assert_eq!(
            answer.header("x-latchkey-account"),
            Some(app.account.to_string().as_str()),
            "{what}"
        );
        assert_eq!(answer.header("x-latchkey-user"), user.as_deref(), "{what}");
        assert_eq!(
            answer.header("x-latchkey-permission"),
            Some("runs:read"),
            "{what}"
        );
    }
}

/// The check of Envoy's forward-auth rows, on a server of its own in Envoy mode: the method is
/// the original request's, so each method asks about a request mapped for it.
async fn check_envoy_exception(method: &str, doc: &Value) {
    let documented =
        &doc["paths"]["/auth/forward/{path}"][method.to_ascii_lowercase()]["responses"]["200"];
    for header in ["X-Latchkey-Principal", "X-Latchkey-Account"] {
        assert!(
            documented["headers"][header].is_object(),
            "{method} /auth/forward/{{path}}: {header} is not documented"
        );
    }
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(ForwardAuthHeaders::Envoy),
        ..ServerConfig::default()
    })
    .await;
    let (id, token) = app.mint(&[crate::common::grant("job_admin:all")]).await;
    let (a, p) = (app.account, app.p1);
    let (original, permission) = match method {
        "GET" => (
            format!("/api/v2/accounts/{a}/runs/?project_id={p}"),
            "runs:read",
        ),
        "POST" => (format!("/api/v2/accounts/{a}/jobs/42/run/"), "runs:write"),
        _ => (
            format!("/api/v3/accounts/{a}/projects/{p}/environments/9/"),
            "environments:write",
        ),
    };
    let path = format!("/auth/forward{original}");
    let answer = request(&app, method, &path, Auth::Token(&token), Payload::None, &[]).await;
    let what = format!("{method} {path}");
    assert_eq!(answer.status, 200, "{what}: {}", answer.text);
    assert_eq!(answer.text, "", "{what}: the answer has no body");
    let principal = format!("service_token:{id}");
    assert_eq!(
        answer.header("x-latchkey-principal"),
        Some(principal.as_str()),
        "{what}"
    );
    assert_eq!(
        answer.header("x-latchkey-account"),
        Some(a.to_string().as_str()),
        "{what}"
    );
    assert_eq!(
        answer.header("x-latchkey-permission"),
        Some(permission),
        "{what}"
    );
}

// ---------------------------------------------------------------------------------------------
// The suite.
// ---------------------------------------------------------------------------------------------

/// The documented 2xx status and JSON schema of an operation.
fn documented_success<'d>(doc: &'d Value, method: &str, path: &str) -> (u16, &'d Value) {
    let responses = doc["paths"][path][method.to_ascii_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} has no responses in the document"));
    let success: Vec<(&String, &Value)> = responses
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .collect();
    assert_eq!(
        success.len(),
        1,
        "{method} {path}: one success response is documented"
    );
    let (status, response) = success[0];
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path}: the {status} answer has no application/json schema"
    );
    (status.parse().unwrap(), schema)
}

#[tokio::test]
async fn every_success_answer_is_valid_against_its_documented_schema() {
    // Forward auth reads Traefik's headers here (and the document is that server's); its Envoy
    // rows get a server of their own.
    let doc = serde_json::to_value(
        document_for(Some(ForwardAuthHeaders::Traefik)).expect("the document builds"),
    )
    .expect("the document serializes");
    let validator = Validator::new(&doc);
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(ForwardAuthHeaders::Traefik),
        invite_delivery: latchkey_server::config::InviteDelivery::Caller,
        ..ServerConfig::default()
    })
    .await;
    let world = World::build(&app).await;

    let rows: Vec<(String, &'static str)> = table()
        .iter()
        .map(|(spec, _)| (spec.method.as_str().to_owned(), spec.path))
        .collect();
    for (method, path, _) in EXCEPTIONS {
        assert!(
            rows.iter().any(|(m, p)| m == method && p == path),
            "EXCEPTIONS lists {method} {path}, which is not a row of the route table"
        );
    }

    let mut unhandled = Vec::new();
    let mut failures = Vec::new();
    let mut validated = 0;
    let mut reachable = BTreeSet::new();
    let mut by_row: BTreeMap<String, usize> = BTreeMap::new();
    for (method, path) in &rows {
        let row = format!("{method} {path}");
        if EXCEPTIONS.iter().any(|(m, p, _)| m == method && p == path) {
            check_exception(&app, &world, method, path, &doc).await;
            by_row.insert(row, 0);
            continue;
        }
        let Some(variants) = exercise(&app, &world, method, path).await else {
            unhandled.push(row);
            continue;
        };
        assert!(!variants.is_empty(), "{row}: no call");
        let (status, schema) = documented_success(&doc, method, path);
        validator.reachable_properties(schema, &mut reachable);
        for (label, answer) in &variants {
            let what = format!("{row} ({label})");
            assert!(
                (200..300).contains(&answer.status),
                "{what}: the call must succeed, got {} {}",
                answer.status,
                answer.text
            );
            let body: Value = serde_json::from_str(&answer.text).unwrap_or_else(|e| {
                panic!("{what}: the answer is not JSON ({e}): {}", answer.text)
            });
            if answer.status != status {
                failures.push(format!(
                    "{what}: answered {}, the document says {status}",
                    answer.status
                ));
            }
            let content_type = answer.header("content-type").unwrap_or_default();
            if !content_type.starts_with("application/json") {
                failures.push(format!("{what}: Content-Type {content_type:?}"));
            }
            if let Some(items) = body["data"].as_array() {
                assert!(
                    !items.is_empty(),
                    "{what}: an empty page proves nothing: {body}"
                );
            }
            for error in validator.errors(&body, schema) {
                failures.push(format!("{what}: {error}"));
            }
            validated += 1;
        }
        by_row.insert(row, variants.len());
    }

    assert!(
        unhandled.is_empty(),
        "route table rows neither exercised by `exercise` nor listed in EXCEPTIONS: {unhandled:#?}"
    );
    assert!(
        failures.is_empty(),
        "{} answers differ from the document:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let seen = validator.seen.borrow();
    let never: Vec<&String> = reachable.difference(&seen).collect();
    println!(
        "answers: {} rows ({} exceptions), {validated} answers validated; of {} properties of \
         the answers' named schemas, these no answer gave a value (null or absent every time): \
         {never:?}",
        rows.len(),
        EXCEPTIONS.len(),
        reachable.len()
    );
    assert_eq!(by_row.len(), rows.len(), "every row was handled once");
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
