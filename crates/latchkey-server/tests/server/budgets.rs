//! The per-account Admin API budget (dbt Cloud allows 5,000 requests a minute per account):
//! past it, 429 in the envelope with `Retry-After`; other accounts and the decision endpoints
//! are not charged.

use crate::common::spawn_app_with;
use latchkey_server::ServerConfig;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_account_past_its_budget_gets_429_with_retry_after_and_others_do_not() {
    let app = spawn_app_with(ServerConfig {
        account_requests_per_minute: 5,
        ..ServerConfig::default()
    })
    .await;
    let a1 = app.token(app.account, &["account_admin:all"]).await;
    let a2 = app.token(app.account, &["account_viewer:all"]).await;
    let other = app
        .store
        .create_account(
            &latchkey_store::Actor::operator(),
            "B",
            latchkey_core::Plan::Enterprise,
        )
        .await
        .unwrap();
    let b = app.token(other.id, &["account_admin:all"]).await;

    // The budget is the account's, shared by its tokens.
    for token in [&a1, &a2, &a1, &a2, &a1] {
        let (s, _) = app
            .call(Method::GET, "/api/v2/whoami/", Some(token), None)
            .await;
        assert_eq!(s, 200);
    }
    let resp = app
        .http
        .get(format!("{}{}", app.url, app.tokens()))
        .header("Authorization", format!("Token {a2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"]["code"], 429);
    assert_eq!(body["status"]["is_success"], false);

    // A refused request changed nothing: no token was created.
    let (s, _) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&a1),
            Some(json!({"name": "x", "permission_grants": [{"permission_set": "job_runner"}]})),
        )
        .await;
    assert_eq!(s, 429);
    assert_eq!(
        app.store
            .list_service_tokens(app.account, None)
            .await
            .unwrap()
            .len(),
        2
    );

    // Another account, and the decision endpoint, are not charged.
    let (s, _) = app
        .call(Method::GET, "/api/v2/whoami/", Some(&b), None)
        .await;
    assert_eq!(s, 200);
    for _ in 0..10 {
        let (s, out) = app.authorize(&a1, json!({"permission": "jobs:read"})).await;
        assert_eq!(s, 200, "{out}");
    }
}
