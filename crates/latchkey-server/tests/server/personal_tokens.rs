//! Personal access tokens over real HTTP: a user signs in with e-mail and password (HTTP Basic)
//! to create one, sees and revokes only their own, and the token acts with the user's
//! permissions until it is revoked or the seat goes. Tokens never mint PATs.

use crate::common::{grant, spawn_app, spawn_app_with, App};
use latchkey_core::{License, UserId};
use latchkey_server::ServerConfig;
use latchkey_store::Actor;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

/// A user with a password and a developer seat, in a group with Job Admin on project one.
async fn user(app: &App, email: &str) -> UserId {
    let op = Actor::operator();
    let user = app.member(email, Some(PASSWORD), License::Developer).await;
    let group = app
        .store
        .create_group(
            &op,
            latchkey_core::Authority::Operator,
            app.account,
            email,
            &[grant(&format!("job_admin:project={}", app.p1))],
        )
        .await
        .unwrap()
        .id;
    app.store.add_group_member(&op, group, user).await.unwrap();
    user
}

pub fn basic(email: &str, password: &str) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{email}:{password}").into_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    format!("Basic {out}")
}

fn pats(app: &App) -> String {
    format!("/api/v3/accounts/{}/personal-tokens/", app.account)
}

async fn with_header(
    app: &App,
    method: Method,
    path: &str,
    authorization: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = app
        .http
        .request(method, format!("{}{path}", app.url))
        .header("Authorization", authorization);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

async fn until_status(app: &App, token: &str, want: u16) -> u16 {
    let deadline = Instant::now() + crate::common::PROPAGATION;
    loop {
        let (s, _) = app
            .authorize(
                token,
                json!({"permission": "jobs:read", "project_id": app.p1.0}),
            )
            .await;
        if s == want || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_signed_in_user_creates_a_pat_that_acts_with_their_permissions() {
    let app = spawn_app().await;
    let me = user(&app, "dev@example.com").await;
    let (s, made) = with_header(
        &app,
        Method::POST,
        &pats(&app),
        &basic("dev@example.com", PASSWORD),
        Some(json!({"name": "laptop"})),
    )
    .await;
    assert_eq!(s, 201, "{made}");
    let pat = made["data"]["token_string"].as_str().unwrap().to_owned();
    assert!(pat.starts_with("lkpat_"));
    assert_eq!(made["data"]["user_id"], me.0);

    // It acts with the user's permissions: Job Admin on project one only.
    let (_, out) = app
        .authorize(
            &pat,
            json!({"permission": "jobs:write", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(out["allowed"], true, "{out}");
    let (_, out) = app
        .authorize(
            &pat,
            json!({"permission": "jobs:write", "project_id": app.p2.0}),
        )
        .await;
    assert_eq!(out["allowed"], false);

    // Listing (with the PAT itself) shows it, never the secret.
    let (s, list) = app.call(Method::GET, &pats(&app), Some(&pat), None).await;
    assert_eq!(s, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["token_string"], Value::Null);
    assert!(!list.to_string().contains(&pat));

    let events = app
        .store
        .audit_entries(&latchkey_store::AuditQuery {
            account_id: Some(app.account),
            event_type: Some("account_scoped_pat.created".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_type, "user");
    assert_eq!(events[0].actor_id, Some(me.0));
    assert_eq!(events[0].actor_name, "dev@example.com");
    assert!(!events[0].event_context.to_string().contains(&pat));
}

#[tokio::test]
async fn wrong_credentials_get_one_401_and_guessing_gets_429() {
    let app = spawn_app_with(ServerConfig {
        failed_auth_limit: 5,
        ..ServerConfig::default()
    })
    .await;
    user(&app, "dev@example.com").await;
    let body = Some(json!({"name": "x"}));
    let mut answers = Vec::new();
    for auth in [
        basic("dev@example.com", "wrong"),
        basic("nobody@example.com", PASSWORD),
        basic("dev@example.com", ""),
        "Basic !!!".to_owned(),
    ] {
        let (s, out) = with_header(&app, Method::POST, &pats(&app), &auth, body.clone()).await;
        answers.push((s, out));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(answers[0].0, 401);
    let mut last = 0;
    for _ in 0..3 {
        last = with_header(
            &app,
            Method::POST,
            &pats(&app),
            &basic("dev@example.com", "nope"),
            body.clone(),
        )
        .await
        .0;
    }
    assert_eq!(last, 429, "password guessing from one address is throttled");
    // Nothing was created by any of it.
    assert_eq!(
        app.store
            .audit_entries(&latchkey_store::AuditQuery {
                event_type: Some("account_scoped_pat.created".into()),
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn tokens_never_mint_pats_and_service_tokens_have_no_user_routes() {
    let app = spawn_app().await;
    let (_, pat) = app
        .user_with_pat("dev@example.com", License::Developer, &["developer:all"])
        .await;
    let (s, out) = app
        .call(
            Method::POST,
            &pats(&app),
            Some(&pat),
            Some(json!({"name": "twin"})),
        )
        .await;
    assert_eq!(s, 400, "{out}");
    assert!(
        out["status"]["user_message"]
            .as_str()
            .unwrap()
            .contains("sign in"),
        "{out}"
    );
    let admin = app.token(app.account, &["account_admin:all"]).await;
    for (method, body) in [
        (Method::GET, None),
        (Method::POST, Some(json!({"name": "x"}))),
    ] {
        let (s, out) = app.call(method, &pats(&app), Some(&admin), body).await;
        assert_eq!(s, 403, "{out}");
    }
}

#[tokio::test]
async fn users_see_and_revoke_only_their_own_and_a_revoked_pat_stops() {
    let app = spawn_app().await;
    let (_, mine) = app
        .user_with_pat("me@example.com", License::Developer, &["developer:all"])
        .await;
    let (_, theirs) = app
        .user_with_pat("them@example.com", License::Developer, &["developer:all"])
        .await;
    let (_, their_list) = app
        .call(Method::GET, &pats(&app), Some(&theirs), None)
        .await;
    let their_id = their_list["data"][0]["id"].as_i64().unwrap();
    let (_, my_list) = app.call(Method::GET, &pats(&app), Some(&mine), None).await;
    assert_eq!(my_list["data"].as_array().unwrap().len(), 1);
    let my_id = my_list["data"][0]["id"].as_i64().unwrap();

    for method in [Method::GET, Method::DELETE] {
        let (s, _) = app
            .call(
                method,
                &format!("{}{their_id}/", pats(&app)),
                Some(&mine),
                None,
            )
            .await;
        assert_eq!(s, 404, "another user's token is not there for me");
    }
    assert_eq!(
        until_status(&app, &theirs, 200).await,
        200,
        "theirs still works"
    );

    let (s, out) = app
        .call(
            Method::DELETE,
            &format!("{}{my_id}/", pats(&app)),
            Some(&mine),
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["data"]["state"], 2);
    assert_eq!(until_status(&app, &mine, 401).await, 401);
    let deleted = app
        .store
        .audit_entries(&latchkey_store::AuditQuery {
            event_type: Some("account_scoped_pat.deleted".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
}

#[tokio::test]
async fn losing_the_seat_ends_pats_and_sign_in_and_ip_rules_fence_sign_in() {
    let app = spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..ServerConfig::default()
    })
    .await;
    let me = user(&app, "dev@example.com").await;
    let auth = basic("dev@example.com", PASSWORD);
    let (s, made) = with_header(
        &app,
        Method::POST,
        &pats(&app),
        &auth,
        Some(json!({"name": "laptop"})),
    )
    .await;
    assert_eq!(s, 201);
    let pat = made["data"]["token_string"].as_str().unwrap().to_owned();

    // IP rules apply to sign-in: from outside the allowed range, dbt Cloud's 403 body.
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, _) = app
        .call(
            Method::POST,
            &format!("/api/v3/accounts/{}/ip-restrictions/", app.account),
            Some(&admin),
            Some(json!({"name": "lo", "type": 1, "cidrs": ["127.0.0.1/32"], "rule_set_enabled": true})),
        )
        .await;
    assert_eq!(s, 201);
    let resp = app
        .http
        .post(format!("{}{}", app.url, pats(&app)))
        .header("Authorization", &auth)
        .header("X-Forwarded-For", "198.51.100.1")
        .json(&json!({"name": "from a cafe"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let out: Value = resp.json().await.unwrap();
    assert_eq!(out["data"]["is_service_token"], false);
    assert_eq!(out["data"]["user_id"], me.0);
    assert_eq!(out["data"]["account_access_denied"], true);

    // The seat goes: the PAT stops, and signing in to this account finds nothing.
    app.store
        .remove_membership(
            &Actor::operator(),
            latchkey_core::Authority::Operator,
            app.account,
            me,
        )
        .await
        .unwrap();
    assert_eq!(until_status(&app, &pat, 401).await, 401);
    let (s, _) = with_header(&app, Method::GET, &pats(&app), &auth, None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn bad_create_bodies_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    user(&app, "dev@example.com").await;
    let auth = basic("dev@example.com", PASSWORD);
    // (body, the field the 400 names, if one)
    for (body, field) in [
        (json!(["laptop"]), None),
        (json!({}), None),
        (json!({"name": 7}), None),
        (json!({"name": "bad\u{0}name"}), Some("name")),
        (json!({"name": "invoice\u{202e}fdp.exe"}), Some("name")),
        (json!({"name": "x".repeat(256)}), Some("name")),
        (
            json!({"name": "ok", "expires_at": "tomorrow"}),
            Some("expires_at"),
        ),
        (
            json!({"name": "ok", "expires_at": "2001-01-01T00:00:00Z"}),
            Some("expires_at"),
        ),
        (json!({"name": "ok", "scopes": ["admin"]}), None),
    ] {
        let (s, out) =
            with_header(&app, Method::POST, &pats(&app), &auth, Some(body.clone())).await;
        assert_eq!(s, 400, "{body} → {out}");
        assert_eq!(out["status"]["is_success"], false, "{body}");
        if let Some(field) = field {
            assert_eq!(out["data"]["field"], field, "{body} → {out}");
        }
    }
    let (s, list) = with_header(&app, Method::GET, &pats(&app), &auth, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        0,
        "nothing was created"
    );
}
