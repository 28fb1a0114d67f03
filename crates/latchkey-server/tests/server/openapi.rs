//! The OpenAPI document: the committed `openapi.json` at the repository root is what the code
//! generates, every row of the route table is in it, it is OpenAPI 3.1, and the server serves it.
//!
//! When the route table changes, regenerate the committed file with
//! `LATCHKEY_UPDATE_OPENAPI=1 cargo test -p latchkey-server --test server openapi::`.

use latchkey_server::openapi::{document, document_json, document_json_for, openapi_path};
use latchkey_server::routes::table::{api_table, Requirement, Row};
use latchkey_server::ForwardAuthHeaders;
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

use crate::common::spawn_app;

/// The committed document.
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");

/// Set to rewrite [`COMMITTED`] instead of failing.
const UPDATE: &str = "LATCHKEY_UPDATE_OPENAPI";

/// The generated document as JSON.
fn generated() -> Value {
    serde_json::from_str(&document_json().expect("the document builds"))
        .expect("the generated document is JSON")
}

#[test]
fn the_committed_openapi_json_is_up_to_date() {
    let fresh = document_json().expect("the document builds");
    if std::env::var_os(UPDATE).is_some_and(|v| !v.is_empty()) {
        std::fs::write(COMMITTED, &fresh).expect("openapi.json is writable");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == fresh,
        "openapi.json at the repository root is not what the route table generates; \
         regenerate it with `{UPDATE}=1 cargo test -p latchkey-server --test server openapi::` \
         and commit it"
    );
}

#[test]
fn the_document_of_every_forward_auth_setting_builds() {
    // The server builds these when first asked; one that fails would answer 500.
    for forward in [
        None,
        Some(ForwardAuthHeaders::Nginx),
        Some(ForwardAuthHeaders::Traefik),
        Some(ForwardAuthHeaders::Envoy),
    ] {
        let json = document_json_for(forward)
            .unwrap_or_else(|e| panic!("the document for {forward:?} does not build: {e}"));
        assert!(json.ends_with("}\n"), "{forward:?}");
    }
}

#[test]
fn every_route_table_row_is_an_operation() {
    let doc = generated();
    let mut ids = BTreeSet::new();
    let rows = api_table();
    for Row { spec, .. } in &rows {
        let method = spec.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][openapi_path(spec.path)][&method];
        assert!(
            op.is_object(),
            "{} {} is missing from the document",
            spec.method,
            spec.path
        );
        let id = op["operationId"].as_str().expect("an operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} is not unique");
        let label = op["x-latchkey-permission"].as_str().unwrap_or_default();
        let expected = if let Requirement::Permission(p) = spec.requirement {
            p.to_string()
        } else if spec.requirement == Requirement::Public {
            "public".to_owned()
        } else if spec.requirement == Requirement::Authenticated {
            "authenticated".to_owned()
        } else {
            // A newer kind of requirement: documented under some name.
            label.to_owned()
        };
        assert!(
            !label.is_empty() && label == expected,
            "{} {}: x-latchkey-permission {label:?}",
            spec.method,
            spec.path
        );
        let security = op["security"].as_array().expect("explicit security");
        assert_eq!(
            security.is_empty(),
            spec.requirement == Requirement::Public,
            "{} {}: security {security:?}",
            spec.method,
            spec.path
        );
        let params: BTreeSet<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        for name in spec.path.split('{').skip(1) {
            let name = name.split('}').next().unwrap().trim_start_matches('*');
            assert!(
                params.contains(name),
                "{} {}: path parameter {name} is not declared",
                spec.method,
                spec.path
            );
        }
    }
    // And nothing else: one operation per row.
    let operations: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|item| item.as_object().expect("a path item").len())
        .sum();
    assert_eq!(operations, rows.len());
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = generated();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(matches!(
        document().expect("the document builds").openapi,
        utoipa::openapi::OpenApiVersion::Version31
    ));
    for scheme in ["TokenAuth", "BearerAuth"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
    assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());
}

#[tokio::test]
async fn the_server_serves_the_document() {
    let app = spawn_app().await;
    let (status, body) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, generated());
}

/// The schema a `$ref` points at, if it is one into `components.schemas` that exists.
fn resolve<'a>(doc: &'a Value, reference: &Value) -> Option<&'a Value> {
    let name = reference.as_str()?.strip_prefix("#/components/schemas/")?;
    Some(&doc["components"]["schemas"][name]).filter(|s| s.is_object())
}

#[test]
fn every_row_that_reads_a_body_has_its_schema() {
    let doc = generated();
    for Row { spec, .. } in &api_table() {
        let op = &doc["paths"][openapi_path(spec.path)][spec.method.as_str().to_ascii_lowercase()];
        let body = &op["requestBody"];
        let writes = [Method::POST, Method::PUT, Method::PATCH].contains(&spec.method);
        if !writes || spec.path.starts_with("/auth/forward") {
            // Reads and forward auth (the proxied request's headers) take no body.
            assert!(body.is_null(), "{} {}: {body}", spec.method, spec.path);
            continue;
        }
        let content_type = if spec.path == "/oauth/introspect" {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let content = body["content"].as_object().expect("request body content");
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            [content_type],
            "{} {}",
            spec.method,
            spec.path
        );
        let schema = &content[content_type]["schema"];
        // One object of a named type, or (for the grants replacements) an array of one.
        let reference = if schema["type"] == "array" {
            &schema["items"]["$ref"]
        } else {
            &schema["$ref"]
        };
        let target = resolve(&doc, reference).unwrap_or_else(|| {
            panic!(
                "{} {}: the body's schema {schema} is not a named schema",
                spec.method, spec.path
            )
        });
        assert!(
            target["properties"].is_object() || target["oneOf"].is_array(),
            "{} {}: {target}",
            spec.method,
            spec.path
        );
    }
    let grants = &doc["paths"]["/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/"]
        ["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(grants["type"], "array");
    assert_eq!(
        grants["items"]["$ref"],
        "#/components/schemas/PermissionGrant"
    );
}

#[test]
fn every_reference_resolves() {
    fn walk(doc: &Value, value: &Value, at: &str) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if key == "$ref" {
                        let target = v.as_str().expect("a $ref is a string");
                        let pointer = target.strip_prefix('#').expect("a local $ref");
                        assert!(
                            doc.pointer(pointer).is_some(),
                            "{at}: $ref {target} points at nothing"
                        );
                    } else {
                        walk(doc, v, &format!("{at}/{key}"));
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(doc, v, &format!("{at}/{i}"));
                }
            }
            _ => {}
        }
    }
    let doc = generated();
    walk(&doc, &doc, "");
}

#[test]
fn list_routes_document_their_query_parameters() {
    let doc = generated();
    let expected: &[(&str, &[&str])] = &[
        (
            "/api/v3/accounts/{account_id}/service-tokens/",
            &["state", "pk__in", "offset", "limit"],
        ),
        (
            "/api/v3/accounts/{account_id}/groups/",
            &["name", "name__icontains", "state", "offset", "limit"],
        ),
        (
            "/api/v2/accounts/{account_id}/users/",
            &["state", "order_by", "offset", "limit"],
        ),
        (
            "/api/v3/accounts/{account_id}/audit-logs/",
            &[
                "event_type",
                "actor_type",
                "actor_id",
                "target_type",
                "target_id",
                "logged_at_start",
                "logged_at_end",
                "format",
                "offset",
                "limit",
            ],
        ),
    ];
    for (path, names) in expected {
        let params = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .expect("parameters");
        let query: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().expect("a name"))
            .collect();
        assert_eq!(query, *names, "{path}");
        for p in params.iter().filter(|p| p["in"] == "query") {
            assert_eq!(p["required"], false, "{path}: {p}");
            assert!(p["schema"]["type"].is_string(), "{path}: {p}");
        }
    }
}

#[test]
fn closed_sets_of_values_are_the_catalog_files() {
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../latchkey-core/catalog.json"
        ))
        .unwrap(),
    )
    .unwrap();
    // The values of an enum (a nullable field's `null` aside).
    let sorted = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = v
            .as_array()
            .unwrap_or_else(|| panic!("an enum: {v}"))
            .iter()
            .filter(|s| !s.is_null())
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        out.sort();
        out
    };
    let keys = |v: &Value| -> Vec<String> {
        let mut out: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        out.sort();
        out
    };
    let doc = generated();
    let schemas = &doc["components"]["schemas"];
    // Permission sets: the file's 26, on what is sent and on what is taken.
    let sets = keys(&file["permission_sets"]);
    assert_eq!(sets.len(), 26);
    for at in [
        &schemas["PermissionGrant"]["properties"]["permission_set"],
        &schemas["GrantFields"]["properties"]["permission_set"],
    ] {
        assert_eq!(sorted(&at["enum"]), sets);
    }
    // Permissions: every resource of the file at read and at write.
    let mut permissions = Vec::new();
    for level in ["account", "project"] {
        for r in file["resources"][level].as_array().unwrap() {
            for access in ["read", "write"] {
                permissions.push(format!("{}:{access}", r.as_str().unwrap()));
            }
        }
    }
    permissions.sort();
    assert_eq!(
        sorted(&schemas["AuthorizeCheck"]["properties"]["permission"]["enum"]),
        permissions
    );
    // Environment categories: a grant's list takes (and answers) the file's "all" for every
    // category; one check names one category. Then licenses, plans.
    let mut categories = sorted(&file["writable_environment_categories"]);
    for grant in ["PermissionGrant", "GrantFields"] {
        assert_eq!(
            sorted(
                &schemas[grant]["properties"]["writable_environment_categories"]["items"]["enum"]
            ),
            categories,
            "{grant}"
        );
    }
    categories.retain(|c| c != "all");
    assert_eq!(
        sorted(&schemas["AuthorizeCheck"]["properties"]["environment"]["enum"]),
        categories
    );
    assert_eq!(
        sorted(&schemas["InviteCreate"]["properties"]["license_type"]["enum"]),
        keys(&file["licenses"])
    );
    assert_eq!(
        sorted(&schemas["Account"]["properties"]["plan"]["enum"]),
        keys(&file["plans"])
    );
}
