//! Every success answer of the API against the schema the OpenAPI document gives for it.
//!
//! What this suite proves, for every row of `routes::table::api_table()` as it stands when it runs:
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
//!    answer type in its row (`routes::table`) fails here.
//! 3. A row that is neither exercised here nor listed in [`EXCEPTIONS`] (with its own check)
//!    fails the suite, so a new route cannot escape.
//!
//! The validator is a JSON-Schema subset written in [`validator`] (`$ref`, `type` as a string or a
//! list, `properties`, `required`, `additionalProperties`, `propertyNames`, `items`, `allOf`,
//! `oneOf`, `anyOf`, `enum`, `const`, `minimum`, `maximum`, the `int32`/`int64` formats); its own
//! tests are at the bottom of that module, so that it cannot silently accept everything.
//!
//! The other modules: [`calls`] sends requests, [`world`] makes the objects the calls name,
//! [`exercise`] makes each row's successful calls (with [`tokens`], [`directory`] and
//! [`ip_restrictions`] for their areas of the API, and [`decisions`] for authorize, introspection
//! and invitation redemption), and [`exceptions`] checks the rows whose answer is not JSON.

mod calls;
mod decisions;
mod directory;
mod exceptions;
mod exercise;
mod ip_restrictions;
mod tokens;
mod validator;
mod world;

use latchkey_server::openapi::document_for;
use latchkey_server::routes::table::api_table;
use latchkey_server::{ForwardAuthHeaders, ServerConfig};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

use crate::common::spawn_app_with;
use exceptions::{check_exception, EXCEPTIONS};
use exercise::exercise;
use validator::Validator;
use world::World;

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

    let rows: Vec<(String, &'static str)> = api_table()
        .iter()
        .map(|row| (row.spec.method.as_str().to_owned(), row.spec.path))
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
