//! Budgets and throttles, and that one noisy client never locks out the honest ones: the Admin API
//! budget (dbt Cloud allows 5,000 requests a minute per account; past it, 429 in the envelope with
//! `Retry-After`) is charged per token under an account ceiling that calls the guard refuses do
//! not consume; failed authentications are counted per address and per presented credential, and
//! a token that verifies is served whatever others did from its address.

use crate::common::{spawn_app_with, App};
use latchkey_core::{TokenFormat, TokenKind};
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

/// A well-formed token that was never issued.
fn guess() -> String {
    TokenFormat::default()
        .generate(TokenKind::Service)
        .secret
        .expose()
        .to_owned()
}

/// `/auth/forward` asking whether `token` may list the account's jobs, as nginx asks it.
async fn forward(app: &App, token: &str) -> u16 {
    app.http
        .get(format!("{}/auth/forward", app.url))
        .header("Authorization", format!("Token {token}"))
        .header("X-Original-Method", "GET")
        .header(
            "X-Original-URI",
            format!("/api/v2/accounts/{}/jobs/", app.account),
        )
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn bad_tokens_from_an_address_never_lock_out_the_valid_tokens_behind_it() {
    // The default limits: 30 failures a minute per address; forward auth behind nginx.
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(latchkey_server::config::ForwardAuthHeaders::Nginx),
        ..ServerConfig::default()
    })
    .await;
    let used = app.token(app.account, &["job_admin:all"]).await;
    let cold = app.token(app.account, &["job_admin:all"]).await;
    let (s, _) = app
        .authorize(&used, json!({"permission": "jobs:read"}))
        .await;
    assert_eq!(s, 200);

    // One client behind the shared address (a NAT, a proxy, a CI fleet) keeps guessing.
    let mut statuses = Vec::new();
    for _ in 0..31 {
        statuses.push(
            app.authorize(&guess(), json!({"permission": "jobs:read"}))
                .await
                .0,
        );
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[30], 429, "the guessing itself is throttled");

    // Every valid token from that address is served: one the node has seen and one it has not.
    for token in [&used, &cold] {
        let (s, out) = app
            .authorize(token, json!({"permission": "jobs:read"}))
            .await;
        assert_eq!(s, 200, "{out}");
        assert_eq!(out["allowed"], true);
        assert_eq!(forward(&app, token).await, 200);
    }
    // While the guessing stays throttled, on both decision endpoints.
    assert_eq!(
        app.authorize(&guess(), json!({"permission": "jobs:read"}))
            .await
            .0,
        429
    );
    assert_eq!(forward(&app, &guess()).await, 429);
}

#[tokio::test]
async fn a_credential_that_keeps_failing_is_throttled_wherever_it_comes_from() {
    let app = spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        failed_auth_limit: 3,
        ..ServerConfig::default()
    })
    .await;
    let good = app.token(app.account, &["job_admin:all"]).await;
    let stale = guess();
    let whoami = "/api/v2/whoami/";
    // One stale credential from four addresses (a fleet with many egress addresses): each
    // address failed once, the credential four times.
    let mut statuses = Vec::new();
    for n in 1..=4 {
        let from = format!("198.51.100.{n}");
        statuses.push(
            app.call_via(&from, Method::GET, whoami, Some(&stale), None)
                .await
                .0,
        );
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    // Another credential from a fresh address is not affected, nor a valid token from any.
    let (s, _) = app
        .call_via("198.51.100.5", Method::GET, whoami, Some(&guess()), None)
        .await;
    assert_eq!(s, 401);
    let (s, _) = app
        .call_via("198.51.100.4", Method::GET, whoami, Some(&good), None)
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn calls_the_guard_refuses_do_not_spend_the_account_budget() {
    let app = spawn_app_with(ServerConfig {
        account_requests_per_minute: 40,
        ..ServerConfig::default()
    })
    .await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let metadata = app.token(app.account, &["metadata_only:all"]).await;
    // A metadata-only token asks for what it may not have, again and again: 403 each time.
    for _ in 0..40 {
        let (s, _) = app
            .call(Method::GET, &app.tokens(), Some(&metadata), None)
            .await;
        assert_eq!(s, 403);
    }
    // Another account's token knocks on this account's doors: 404 each time.
    let other = app
        .store
        .create_account(
            &latchkey_store::Actor::operator(),
            "B",
            latchkey_core::Plan::Enterprise,
        )
        .await
        .unwrap();
    let prober = app.token(other.id, &["account_admin:all"]).await;
    let colleague = app.token(other.id, &["account_viewer:all"]).await;
    for _ in 0..40 {
        let (s, _) = app
            .call(Method::GET, &app.tokens(), Some(&prober), None)
            .await;
        assert_eq!(s, 404);
    }
    // Neither account's Admin API budget was spent by any of it.
    let (s, out) = app
        .call(Method::GET, &app.tokens(), Some(&admin), None)
        .await;
    assert_eq!(s, 200, "{out}");
    let (s, out) = app
        .call(Method::GET, "/api/v2/whoami/", Some(&colleague), None)
        .await;
    assert_eq!(s, 200, "{out}");
}

#[tokio::test]
async fn each_token_has_its_own_budget_which_its_refused_calls_spend_too() {
    let app = spawn_app_with(ServerConfig {
        token_requests_per_minute: 5,
        account_requests_per_minute: 100,
        ..ServerConfig::default()
    })
    .await;
    let busy = app.token(app.account, &["account_admin:all"]).await;
    let metadata = app.token(app.account, &["metadata_only:all"]).await;
    let quiet = app.token(app.account, &["account_admin:all"]).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.call(Method::GET, "/api/v2/whoami/", Some(&busy), None)
                .await
                .0,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.call(Method::GET, &app.tokens(), Some(&metadata), None)
                .await
                .0,
        );
    }
    assert_eq!(statuses, [403, 403, 403, 403, 403, 429]);
    // Neither spent anyone else's budget; and the decision endpoints are not charged.
    let (s, out) = app
        .call(Method::GET, &app.tokens(), Some(&quiet), None)
        .await;
    assert_eq!(s, 200, "{out}");
    let (s, out) = app
        .authorize(&busy, json!({"permission": "jobs:read"}))
        .await;
    assert_eq!(s, 200, "{out}");
}
