//! Bodies are valid or refused whole, and a write happens only when something changes (issue 8,
//! findings 9, 12 and 13), and the paths real dbt Cloud clients call without a trailing slash.

use crate::common::{eventually, spawn_app, App};
use latchkey_store::AuditQuery;
use latchkey_store::CredentialSource;
use reqwest::Method;
use serde_json::{json, Value};

async fn audit_entries(app: &App) -> i64 {
    app.store.audit_count(&AuditQuery::default()).await.unwrap()
}

/// Sends raw bytes as a JSON body; the status and answer.
async fn send_raw(
    app: &App,
    method: Method,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let resp = app
        .http
        .request(method, format!("{}{path}", app.url))
        .header("Authorization", format!("Token {token}"))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let rules = format!("/api/v3/accounts/{}/ip-restrictions/", app.account);
    let (s, made) = app
        .call(
            Method::POST,
            &rules,
            Some(&admin),
            Some(json!({"name": "office", "type": 1, "cidrs": ["203.0.113.0/24"]})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let rule = format!("{rules}{}/", made["data"]["id"]);
    let entries = audit_entries(&app).await;
    let feed = app.store.latest_change().await.unwrap();
    for body in [
        json!({}),
        json!({"name": "office"}),
        json!({"type": 1, "cidrs": ["203.0.113.0/24"]}),
        json!({"rule_set_enabled": false}),
    ] {
        let (s, out) = app
            .call(Method::PUT, &rule, Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(s, 200, "{body}: {out}");
        assert_eq!(out["data"]["name"], "office");
    }
    assert_eq!(
        audit_entries(&app).await,
        entries,
        "no audit entry without a change"
    );
    assert_eq!(
        app.store.latest_change().await.unwrap(),
        feed,
        "no change-feed row"
    );
    // A real change is still written and audited.
    let (s, _) = app
        .call(
            Method::PUT,
            &rule,
            Some(&admin),
            Some(json!({"name": "office 2"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(audit_entries(&app).await, entries + 1);
}

#[tokio::test]
async fn null_is_refused_where_the_schema_does_not_allow_it() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let rules = format!("/api/v3/accounts/{}/ip-restrictions/", app.account);
    let (_, made) = app
        .call(
            Method::POST,
            &rules,
            Some(&admin),
            Some(json!({"name": "office", "type": 1, "cidrs": ["203.0.113.0/24"]})),
        )
        .await;
    let rule = format!("{rules}{}/", made["data"]["id"]);
    let entries = audit_entries(&app).await;
    for field in ["type", "name", "description", "cidrs", "rule_set_enabled"] {
        let body = json!({ field: null });
        let (s, out) = app.call(Method::PUT, &rule, Some(&admin), Some(body)).await;
        assert_eq!(s, 400, "{field}: {out}");
    }
    assert_eq!(audit_entries(&app).await, entries);
}

#[tokio::test]
async fn invalid_text_anywhere_in_a_body_refuses_the_body() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let tokens = app.tokens();
    let entries = audit_entries(&app).await;
    let bodies: Vec<Vec<u8>> = vec![
        // Invalid UTF-8 in a field nobody reads.
        [
            &br#"{"name":"ok","unknown":""#[..],
            &[0xff, 0xfe],
            &br#""}"#[..],
        ]
        .concat(),
        // A lone surrogate in a field nobody reads, and in one that is read.
        br#"{"name":"ok","unknown":"\ud800"}"#.to_vec(),
        br#"{"name":"ok\udc00"}"#.to_vec(),
    ];
    for body in bodies {
        let (s, out) = send_raw(&app, Method::POST, &tokens, &admin, body.clone()).await;
        assert_eq!(s, 400, "{}: {out}", String::from_utf8_lossy(&body));
        assert_eq!(out["status"]["is_success"], false);
    }
    assert_eq!(audit_entries(&app).await, entries, "nothing was created");
    // A proper surrogate pair (an emoji, escaped) is fine.
    let (s, out) = send_raw(
        &app,
        Method::POST,
        &tokens,
        &admin,
        br#"{"name":"rocket \ud83d\ude80"}"#.to_vec(),
    )
    .await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["data"]["name"], "rocket \u{1f680}");
}

#[tokio::test]
async fn a_body_naming_another_account_than_the_path_is_refused() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let entries = audit_entries(&app).await;
    let other = app.account.0 + 1;
    let (s, out) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "x", "account_id": other})),
        )
        .await;
    assert_eq!(s, 400, "{out}");
    assert_eq!(out["data"]["field"], "account_id");
    assert_eq!(audit_entries(&app).await, entries);
    // The same account, as dbt Cloud's clients send it, is fine.
    let (s, out) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "x", "account_id": app.account.0, "state": 1})),
        )
        .await;
    assert_eq!(s, 201, "{out}");
}

#[tokio::test]
async fn every_route_answers_with_or_without_its_trailing_slash() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    // A token with no grants, then its permissions, as dbt's Terraform provider does.
    let bare = app.tokens();
    let bare = bare.trim_end_matches('/');
    let (s, made) = app
        .call(
            Method::POST,
            bare,
            Some(&admin),
            Some(json!({"name": "tf"})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let token = made["data"]["token_string"].as_str().unwrap().to_owned();
    let id = made["data"]["id"].as_i64().unwrap();
    let (s, out) = app
        .authorize(
            &token,
            json!({"permission": "jobs:read", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        out["allowed"], false,
        "a token with no grants is denied everything"
    );
    let (s, out) = app
        .call(
            Method::POST,
            &format!("{bare}/{id}/permissions"),
            Some(&admin),
            Some(json!([{"permission_set": "job_viewer", "all_projects": true}])),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    eventually("the new grant reaching the verifier", async || {
        let (_, out) = app
            .authorize(
                &token,
                json!({"permission": "jobs:read", "project_id": app.p1.0}),
            )
            .await;
        (out["allowed"] == json!(true)).then_some(())
    })
    .await;
    for path in [
        format!("{bare}/{id}"),
        format!("/api/v3/accounts/{}/projects", app.account),
        format!("/api/v3/accounts/{}/projects/{}", app.account, app.p1),
        "/api/v2/whoami".to_owned(),
    ] {
        let (s, out) = app.call(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(s, 200, "{path}: {out}");
    }
}
