//! The OpenAPI document: the committed `openapi.json` at the repository root is what the code
//! generates, every row of the route table is in it, it is OpenAPI 3.1, and the server serves it.
//!
//! When the route table changes, regenerate the committed file with
//! `LATCHKEY_UPDATE_OPENAPI=1 cargo test -p latchkey-server --test openapi`.

use latchkey_server::openapi::{document, document_json};
use latchkey_server::routes::table::{table, Requirement};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

mod common;
use common::spawn_app;

/// The committed document.
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");

/// Set to rewrite [`COMMITTED`] instead of failing.
const UPDATE: &str = "LATCHKEY_UPDATE_OPENAPI";

/// The generated document as JSON.
fn generated() -> Value {
    serde_json::from_str(&document_json()).expect("the generated document is JSON")
}

#[test]
fn the_committed_openapi_json_is_up_to_date() {
    let fresh = document_json();
    if std::env::var_os(UPDATE).is_some_and(|v| !v.is_empty()) {
        std::fs::write(COMMITTED, &fresh).expect("openapi.json is writable");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == fresh,
        "openapi.json at the repository root is not what the route table generates; \
         regenerate it with `{UPDATE}=1 cargo test -p latchkey-server --test openapi` \
         and commit it"
    );
}

#[test]
fn every_route_table_row_is_an_operation() {
    let doc = generated();
    let mut ids = BTreeSet::new();
    let rows = table();
    for (spec, _) in &rows {
        let method = spec.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][spec.path][&method];
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
            p
        } else if spec.requirement == Requirement::Public {
            "public"
        } else if spec.requirement == Requirement::Authenticated {
            "authenticated"
        } else {
            // A newer kind of requirement: documented under some name.
            label
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
            let name = name.split('}').next().unwrap();
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
        document().openapi,
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
