//! Who a user is, and who may set their credentials: users belong to one account, invitation
//! codes reach only the channel the operator chose, an existing user is seated only on proof of
//! their password, and password work is bounded before any hashing (issue 8, findings 1 and 5).

use crate::common::{spawn_app, spawn_app_with, App};
use crate::personal_tokens::basic;
use latchkey_core::{AccountId, Plan};
use latchkey_server::config::InviteDelivery;
use latchkey_server::ServerConfig;
use latchkey_store::Actor;
use reqwest::Method;
use serde_json::{json, Value};

const ATTACKER_PASSWORD: &str = "the attacker chose this";
const REAL_PASSWORD: &str = "the real person's own password";

/// A second Enterprise account with an Account Admin token.
async fn other_account(app: &App) -> (AccountId, String) {
    let b = app
        .store
        .create_account(&Actor::operator(), "B", Plan::Enterprise)
        .await
        .unwrap();
    let token = app.token(b.id, &["account_admin:all"]).await;
    (b.id, token)
}

async fn invite(app: &App, account: AccountId, token: &str, email: &str) -> (u16, Value) {
    app.call(
        Method::POST,
        &format!("/api/v3/accounts/{account}/invites/"),
        Some(token),
        Some(json!({"email": email, "license_type": "developer"})),
    )
    .await
}

async fn redeem(app: &App, code: &str, password: &str) -> (u16, Value) {
    app.call(
        Method::POST,
        "/api/v3/invites/redeem/",
        None,
        Some(json!({"code": code, "password": password})),
    )
    .await
}

/// Signs in with e-mail and password on a route that acts for a user; the status.
async fn sign_in(app: &App, account: AccountId, email: &str, password: &str) -> u16 {
    app.http
        .get(format!(
            "{}/api/v3/accounts/{account}/personal-tokens/",
            app.url
        ))
        .header("Authorization", basic(email, password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An invitation answer with what differs between any two invitations taken out.
fn shape(answer: &Value) -> Value {
    let mut data = answer["data"].clone();
    for field in [
        "id",
        "email",
        "created_at",
        "expires_at",
        "code",
        "account_id",
    ] {
        data[field] = Value::Null;
    }
    data
}

#[tokio::test]
async fn an_account_cannot_pre_hijack_another_accounts_user() {
    let app = spawn_app().await;
    let a_admin = app.token(app.account, &["account_admin:all"]).await;
    let (b, b_admin) = other_account(&app).await;
    let victim = "cfo@b.example";

    // A invites the address, redeems the code itself with a password it chose, and leaves.
    let (s, made) = invite(&app, app.account, &a_admin, victim).await;
    assert_eq!(s, 201, "{made}");
    let (s, out) = redeem(
        &app,
        made["data"]["code"].as_str().unwrap(),
        ATTACKER_PASSWORD,
    )
    .await;
    assert_eq!(s, 201, "{out}");
    let a_user = out["data"]["user_id"].as_i64().unwrap();

    // B invites the real person: the answer looks exactly like inviting a new address.
    let (s, known) = invite(&app, b, &b_admin, victim).await;
    assert_eq!(s, 201, "{known}");
    let (s, fresh) = invite(&app, b, &b_admin, "nobody-yet@b.example").await;
    assert_eq!(s, 201, "{fresh}");
    assert_eq!(shape(&known), shape(&fresh), "inviting reveals nothing");

    // The real person takes B's seat with their own password; it is theirs alone.
    let (s, out) = redeem(&app, known["data"]["code"].as_str().unwrap(), REAL_PASSWORD).await;
    assert_eq!(s, 201, "{out}");
    let b_user = out["data"]["user_id"].as_i64().unwrap();
    assert_ne!(a_user, b_user, "B's user is not A's");
    assert_eq!(sign_in(&app, b, victim, ATTACKER_PASSWORD).await, 401);
    assert_eq!(sign_in(&app, b, victim, REAL_PASSWORD).await, 200);
    // And A's password never opens B, nor B's password A.
    assert_eq!(sign_in(&app, app.account, victim, REAL_PASSWORD).await, 401);

    // A's admin cannot see or touch B's user through A.
    let (s, _) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{}/users/{b_user}/", app.account),
            Some(&a_admin),
            None,
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_former_member_is_seated_again_only_on_proof_of_their_password() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let email = "returning@example.com";
    let user = app
        .member(
            email,
            Some(REAL_PASSWORD),
            latchkey_core::License::Developer,
        )
        .await;
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("/api/v3/accounts/{}/users/{user}/", app.account),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, made) = invite(&app, app.account, &admin, email).await;
    assert_eq!(s, 201, "{made}");
    let code = made["data"]["code"].as_str().unwrap();

    // Whoever holds the code cannot set a new password for the existing user.
    let (s, wrong) = redeem(&app, code, ATTACKER_PASSWORD).await;
    assert_eq!(s, 403, "{wrong}");
    let (_, unknown) = redeem(&app, "lkinv_no-such-code", ATTACKER_PASSWORD).await;
    assert_eq!(
        wrong["status"], unknown["status"],
        "a wrong password and a bad code get one answer"
    );
    assert_eq!(
        sign_in(&app, app.account, email, ATTACKER_PASSWORD).await,
        401
    );

    // The person, with their current password, takes the seat back.
    let (s, out) = redeem(&app, code, REAL_PASSWORD).await;
    assert_eq!(s, 201, "{out}");
    assert_eq!(out["data"]["user_id"], json!(user.0));
    assert_eq!(sign_in(&app, app.account, email, REAL_PASSWORD).await, 200);
}

#[tokio::test]
async fn invitations_are_refused_until_the_operator_chooses_how_codes_travel() {
    let app = spawn_app_with(ServerConfig::default()).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, out) = invite(&app, app.account, &admin, "someone@example.com").await;
    assert_eq!(s, 409, "{out}");
    assert!(out["status"]["user_message"]
        .as_str()
        .unwrap()
        .contains("--invite-delivery"));
    let (s, list) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{}/invites/", app.account),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["data"], json!([]), "nothing was written");
}

/// A server whose delivery program is `script` (a shell script written to the test's folder).
async fn with_delivery_script(script: &str) -> (App, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap().keep();
    let program = dir.join("deliver.sh");
    std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let app = spawn_app_with(ServerConfig {
        invite_delivery: InviteDelivery::Command(program),
        ..ServerConfig::default()
    })
    .await;
    (app, dir)
}

#[tokio::test]
async fn a_delivery_program_gets_the_code_and_the_inviter_never_does() {
    let (app, dir) = with_delivery_script("cat > \"$(dirname \"$0\")/sent.json\"").await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, made) = invite(&app, app.account, &admin, "ada@example.com").await;
    assert_eq!(s, 201, "{made}");
    assert!(made["data"]["code"].is_null(), "{made}");
    let sent: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sent.json")).unwrap()).unwrap();
    assert_eq!(sent["email"], "ada@example.com");
    assert_eq!(sent["invite_id"], made["data"]["id"]);
    let (s, out) = redeem(&app, sent["code"].as_str().unwrap(), REAL_PASSWORD).await;
    assert_eq!(s, 201, "{out}");
}

#[tokio::test]
async fn a_failed_delivery_withdraws_the_invitation() {
    let (app, _dir) = with_delivery_script("cat > /dev/null; exit 3").await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, out) = invite(&app, app.account, &admin, "ada@example.com").await;
    assert_eq!(s, 503, "{out}");
    let (_, list) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{}/invites/", app.account),
            Some(&admin),
            None,
        )
        .await;
    let items = list["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["status"], "withdrawn", "{list}");
}

#[tokio::test]
async fn e_mail_addresses_are_parsed_not_guessed() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    for bad in [
        "a@b.c'--",
        "a@b",
        "\"x y\"@b.example",
        "a@[10.0.0.1]",
        "a b@c.example",
    ] {
        let (s, out) = invite(&app, app.account, &admin, bad).await;
        assert_eq!(s, 400, "{bad}: {out}");
        assert_eq!(out["data"]["field"], "email", "{bad}: {out}");
    }
}

#[tokio::test]
async fn guessing_one_persons_password_from_many_addresses_stops_before_any_hashing() {
    let app = spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        invite_delivery: InviteDelivery::Caller,
        ..ServerConfig::default()
    })
    .await;
    let email = "target@example.com";
    app.member(
        email,
        Some(REAL_PASSWORD),
        latchkey_core::License::Developer,
    )
    .await;
    let limit = ServerConfig::default().failed_auth_limit;
    let path = format!(
        "{}/api/v3/accounts/{}/personal-tokens/",
        app.url, app.account
    );
    let attempt = |from: String, password: &'static str| {
        app.http
            .get(&path)
            .header("X-Forwarded-For", from)
            .header("Authorization", basic(email, password))
            .send()
    };
    for i in 0..limit {
        let s = attempt(format!("198.51.100.{}", i % 250), "not the password at all")
            .await
            .unwrap()
            .status();
        assert_eq!(s, 401, "attempt {i}");
    }
    // Each address has failed at most once, yet the person is protected: refused before
    // hashing, even with the right password, until the window ends.
    let s = attempt("203.0.113.9".into(), REAL_PASSWORD).await.unwrap();
    assert_eq!(s.status(), 429);
    assert!(s.headers().contains_key("retry-after"));
    // Another person of the same account is unaffected.
    app.member(
        "other@example.com",
        Some(REAL_PASSWORD),
        latchkey_core::License::Developer,
    )
    .await;
    let s = app
        .http
        .get(&path)
        .header("X-Forwarded-For", "203.0.113.10")
        .header("Authorization", basic("other@example.com", REAL_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(s.status(), 200);
}

#[tokio::test]
async fn a_flood_of_bad_sign_ins_gets_quick_refusals_never_errors() {
    let app = spawn_app().await;
    let path = format!(
        "{}/api/v3/accounts/{}/personal-tokens/",
        app.url, app.account
    );
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (http, path) = (app.http.clone(), path.clone());
        flood.spawn(async move {
            http.get(&path)
                .header(
                    "Authorization",
                    basic(&format!("u{i}@example.com"), "wrong password!"),
                )
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    while let Some(status) = flood.join_next().await {
        let status = status.unwrap();
        assert!(
            [401, 429].contains(&status),
            "a bad sign-in is refused, never an error: {status}"
        );
    }
    // Tokens are still served at once.
    let token = app.token(app.account, &["job_runner:all"]).await;
    let (s, _) = app
        .authorize(
            &token,
            json!({"permission": "runs:write", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(s, 200);
}
