//! Token introspection (`POST /oauth/introspect`): it describes active tokens of the caller's
//! account only, and needs `service_tokens:read` and a form body.

use latchkey_core::{Plan, TokenFormat, TokenKind};
use latchkey_server::ServerConfig;
use latchkey_store::Actor;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

use crate::common::{eventually, grant, spawn_app, spawn_app_with, App};

impl App {
    async fn introspect(&self, caller: &str, form: &str, content_type: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/oauth/introspect", self.url))
            .header("Authorization", format!("Bearer {caller}"))
            .header("Content-Type", content_type)
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn introspection_describes_active_tokens_of_the_callers_account_only() {
    let app = spawn_app_with(ServerConfig {
        usage_flush: Duration::from_millis(50),
        ..ServerConfig::default()
    })
    .await;
    let (gateway_id, gateway) = app
        .mint_in(app.account, &[grant("security_admin:all")], None)
        .await;
    let (_, created) = app
        .call(Method::POST, &app.tokens(), Some(&app.token(app.account, &["account_admin:all"]).await), Some(json!({"name": "ci", "permission_grants": [{"permission_set": "job_admin", "project_id": app.p1.0}]})))
        .await;
    let inspected = created["data"]["token_string"].as_str().unwrap().to_owned();
    let form = format!("token={inspected}&token_type_hint=access_token");
    let (status, out) = app
        .introspect(&gateway, &form, "application/x-www-form-urlencoded")
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["active"], true);
    assert_eq!(out["scope"], format!("job_admin:project={}", app.p1));
    assert_eq!(out["token_type"], "service_token");
    assert_eq!(
        out["sub"],
        format!("service_token:{}", created["data"]["id"])
    );
    assert_eq!(out["client_id"], created["data"]["uid"]);
    assert!(out["iat"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(out["latchkey"]["account_id"], app.account.0);
    assert!(
        !out.to_string().contains(&inspected[10..]),
        "the secret came back"
    );

    // Inactive: unknown, malformed, another account's, revoked.
    let other = app
        .store
        .create_account(&Actor::operator(), "B", Plan::Enterprise)
        .await
        .unwrap();
    let theirs = app.token(other.id, &["job_admin:all"]).await;
    let unknown = TokenFormat::default()
        .generate(TokenKind::Service)
        .secret
        .expose()
        .to_owned();
    for token in [unknown.as_str(), "garbage", theirs.as_str()] {
        let (status, out) = app
            .introspect(
                &gateway,
                &format!("token={token}"),
                "application/x-www-form-urlencoded",
            )
            .await;
        assert_eq!((status, out), (200, json!({"active": false})), "{token}");
    }
    let id = created["data"]["id"].as_i64().unwrap();
    app.store
        .revoke_service_token(
            &Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            latchkey_core::TokenId(id),
        )
        .await
        .unwrap();
    eventually("introspection seeing the revocation", async || {
        let (_, out) = app
            .introspect(&gateway, &form, "application/x-www-form-urlencoded")
            .await;
        (out["active"] == false).then_some(())
    })
    .await;
    // Introspecting is not using: the inspected token was never used itself. The gateway's
    // use is noted by the same calls, so once its use is flushed, the inspected token's would be.
    eventually("the gateway's use being flushed", async || {
        let gateway = app.store.service_token(gateway_id).await.unwrap().unwrap();
        gateway.last_used_at.map(|_| ())
    })
    .await;
    assert!(app
        .store
        .service_token(latchkey_core::TokenId(id))
        .await
        .unwrap()
        .unwrap()
        .last_used_at
        .is_none());
}

#[tokio::test]
async fn introspection_needs_service_tokens_read_and_a_form_body() {
    let app = spawn_app().await;
    let job_admin = app.token(app.account, &["job_admin:all"]).await;
    let viewer = app.token(app.account, &["account_viewer:all"]).await;
    let form = format!("token={job_admin}");
    let (status, out) = app
        .introspect(&job_admin, &form, "application/x-www-form-urlencoded")
        .await;
    assert_eq!(status, 403, "{out}");
    assert!(out["status"]["user_message"]
        .as_str()
        .unwrap()
        .contains("service_tokens:read"));
    assert_eq!(
        app.introspect(&viewer, &form, "application/x-www-form-urlencoded")
            .await
            .0,
        200
    );
    assert_eq!(
        app.introspect(
            &viewer,
            &json!({"token": job_admin}).to_string(),
            "application/json"
        )
        .await
        .0,
        415
    );
    assert_eq!(
        app.introspect(&viewer, "nothing=here", "application/x-www-form-urlencoded")
            .await
            .0,
        400
    );
}
