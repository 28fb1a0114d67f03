//! Leaked and guessed tokens: guessing from one address gets 429 after a burst, a leak report
//! revokes real tokens without saying which were real, and leak reports are rate-limited per
//! address.

use latchkey_core::{License, Minter, TokenFormat, TokenKind};
use latchkey_server::ServerConfig;
use latchkey_store::{Actor, NewServiceTokenParts};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_app_with, until_status};

#[tokio::test]
async fn token_guessing_from_one_address_gets_429_after_a_burst() {
    let app = spawn_app_with(ServerConfig {
        failed_auth_limit: 5,
        ..ServerConfig::default()
    })
    .await;
    let good = app.token(app.account, &["job_viewer:all"]).await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let guess = TokenFormat::default().generate(TokenKind::Service);
        statuses.push(
            app.call(
                Method::POST,
                "/api/v1/authorize",
                Some(guess.secret.expose()),
                Some(json!({"permission": "jobs:read"})),
            )
            .await
            .0,
        );
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    let (s, _) = app
        .authorize(&good, json!({"permission": "jobs:read"}))
        .await;
    assert_eq!(s, 200, "a token that verifies is served all the same");
    let guess = TokenFormat::default().generate(TokenKind::Service);
    let resp = app
        .http
        .post(format!("{}/api/v1/authorize", app.url))
        .header("Authorization", format!("Token {}", guess.secret.expose()))
        .json(&json!({"permission": "jobs:read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        429,
        "the address's failures are throttled for the rest of the window"
    );
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"]["code"], 429);
    // Health checks are not behind authentication and stay up.
    assert_eq!(app.call(Method::GET, "/healthz", None, None).await.0, 200);
}

#[tokio::test]
async fn a_leak_report_revokes_real_tokens_without_saying_which_were_real() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let leaked = app.token(app.account, &["job_admin:all"]).await;
    let op = Actor::operator();
    let user = app
        .member("dev@example.com", None, License::Developer)
        .await;
    let pat = TokenFormat::default().generate(TokenKind::Personal);
    let parts = NewServiceTokenParts {
        uid: &pat.uid,
        digest: pat.digest,
        hint: &pat.hint,
    };
    app.store
        .create_personal_token(&op, Minter::Operator, app.account, user, "pat", parts, None)
        .await
        .unwrap();
    until_status(&app, &leaked, 200).await;
    until_status(&app, pat.secret.expose(), 200).await;

    let fake = TokenFormat::default()
        .generate(TokenKind::Service)
        .secret
        .expose()
        .to_owned();
    let report = |creds: Vec<&str>| json!({ "credentials": creds });
    let (status, real) = app
        .call(
            Method::POST,
            "/api/v1/credentials/revoke",
            None,
            Some(report(vec![&leaked, pat.secret.expose(), &fake, "garbage"])),
        )
        .await;
    assert_eq!(status, 202, "{real}");
    let (status, fakes) = app
        .call(
            Method::POST,
            "/api/v1/credentials/revoke",
            None,
            Some(report(vec![&fake, &fake, "x", "y"])),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        real, fakes,
        "the answer does not depend on which secrets were real"
    );

    until_status(&app, &leaked, 401).await;
    until_status(&app, pat.secret.expose(), 401).await;
    until_status(&app, &admin, 200).await;
    let (_, audit) = app
        .call(
            Method::GET,
            &format!(
                "/api/v3/accounts/{}/audit-logs/?event_type=service_token.revoked",
                app.account
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["data"][0]["actor"], "leaked-credential report");
    assert_eq!(audit["data"][0]["actor_ip"], "127.0.0.1");

    let too_many: Vec<&str> = std::iter::repeat_n("x", 1001).collect();
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/credentials/revoke",
            None,
            Some(report(too_many))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/credentials/revoke",
            None,
            Some(report(vec![]))
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn leak_reports_are_rate_limited_per_address() {
    let app = spawn_app_with(ServerConfig {
        leak_reports_per_hour: 2,
        ..ServerConfig::default()
    })
    .await;
    let body = json!({"credentials": ["nothing"]});
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(
            app.call(
                Method::POST,
                "/api/v1/credentials/revoke",
                None,
                Some(body.clone()),
            )
            .await
            .0,
        );
    }
    assert_eq!(statuses, [202, 202, 429]);
}
