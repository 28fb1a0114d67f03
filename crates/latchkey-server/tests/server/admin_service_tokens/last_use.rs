//! `last_used` and `last_used_ip` over HTTP: a token's use is written in a batch with the
//! client's address as the node resolved it (a trusted proxy's `X-Forwarded-For`, otherwise the
//! peer), for service tokens and personal access tokens alike; a failed call records nothing.

use latchkey_core::License;
use latchkey_server::ServerConfig;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

use crate::common::{eventually, grant, spawn_app_with, App};

/// An app behind a proxy on loopback, writing every second's use.
async fn app_behind_proxy() -> App {
    spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        usage_granularity: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await
}

/// `POST /api/v1/authorize` for `permission` on the app's first project with `token`, as the
/// proxy says `ip` sent it; the status.
async fn authorize_via(app: &App, ip: &str, token: &str, permission: &str) -> u16 {
    let check = json!({"permission": permission, "project_id": app.p1.0});
    let (status, _) = app
        .call_via(
            ip,
            Method::POST,
            "/api/v1/authorize",
            Some(token),
            Some(check),
        )
        .await;
    status
}

/// Waits until `path`'s `data` shows a use from `ip`; the data.
async fn used_from(app: &App, admin: &str, path: &str, ip: &str) -> Value {
    eventually(&format!("{path} used from {ip}"), async || {
        let (status, body) = app.call(Method::GET, path, Some(admin), None).await;
        assert_eq!(status, 200, "{body}");
        (body["data"]["last_used_ip"] == ip && !body["data"]["last_used"].is_null())
            .then(|| body["data"].clone())
    })
    .await
}

#[tokio::test]
async fn a_service_tokens_last_use_carries_the_client_address() {
    let app = app_behind_proxy().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (id, used) = app.mint(&[grant("job_admin:all")]).await;
    let path = format!("{}{id}/", app.tokens());
    let (_, fresh) = app.call(Method::GET, &path, Some(&admin), None).await;
    assert!(fresh["data"]["last_used"].is_null(), "{fresh}");
    assert!(fresh["data"]["last_used_ip"].is_null(), "{fresh}");

    let status = authorize_via(&app, "203.0.113.5", &used, "jobs:write").await;
    assert_eq!(status, 200);
    used_from(&app, &admin, &path, "203.0.113.5").await;

    // A later use from another address replaces it (the next second's use is written).
    eventually("a use from 2001:db8::9 written", async || {
        authorize_via(&app, "2001:db8::9", &used, "jobs:write").await;
        let (_, body) = app.call(Method::GET, &path, Some(&admin), None).await;
        (body["data"]["last_used_ip"] == "2001:db8::9").then_some(())
    })
    .await;

    // The list shows the same field.
    let (_, list) = app
        .call(Method::GET, &app.tokens(), Some(&admin), None)
        .await;
    let listed = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.0)
        .unwrap()
        .clone();
    assert_eq!(listed["last_used_ip"], "2001:db8::9");
}

#[tokio::test]
async fn a_denied_call_is_a_use_and_a_revoked_tokens_call_is_not() {
    let app = app_behind_proxy().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (id, weak) = app.mint(&[grant("job_runner:all")]).await;
    let path = format!("{}{id}/", app.tokens());
    // Authenticated but denied: a use all the same (the token worked; the answer was "no").
    let status = authorize_via(&app, "198.51.100.1", &weak, "jobs:write").await;
    assert_eq!(status, 200);
    used_from(&app, &admin, &path, "198.51.100.1").await;
    // Revoked: nothing more is recorded, whatever it presents from wherever.
    let (status, _) = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, 200);
    // Until this node has seen the revocation, a call still works: from the same address.
    eventually("the revocation seen", async || {
        let status = authorize_via(&app, "198.51.100.1", &weak, "jobs:read").await;
        (status == 401).then_some(())
    })
    .await;
    for _ in 0..3 {
        authorize_via(&app, "192.0.2.66", &weak, "jobs:read").await;
    }
    app.verifier.flush_usage().await.unwrap();
    let (_, body) = app.call(Method::GET, &path, Some(&admin), None).await;
    assert_eq!(body["data"]["last_used_ip"], "198.51.100.1", "{body}");
}

#[tokio::test]
async fn a_personal_tokens_last_use_carries_the_peer_address_without_a_trusted_proxy() {
    // No proxy is trusted: `X-Forwarded-For` is ignored and the peer (loopback) is recorded.
    let app = spawn_app_with(ServerConfig {
        usage_granularity: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await;
    let (_, pat) = app
        .user_with_pat("dev@example.com", License::Developer, &["job_admin:all"])
        .await;
    let status = authorize_via(&app, "203.0.113.77", &pat, "jobs:read").await;
    assert_eq!(status, 200);
    let mine = format!("/api/v3/accounts/{}/personal-tokens/", app.account);
    eventually("the PAT's use from 127.0.0.1", async || {
        let (status, body) = app.call(Method::GET, &mine, Some(&pat), None).await;
        assert_eq!(status, 200, "{body}");
        let first = body["data"][0].clone();
        (first["last_used_ip"] == "127.0.0.1" && !first["last_used"].is_null()).then_some(())
    })
    .await;
}
