//! Unauthenticated calls (point 4 of the suite): every non-public row answers 401 with one and the
//! same body to a missing, malformed, unknown or revoked token.

use latchkey_core::{TokenFormat, TokenKind};
use latchkey_server::routes::table::{api_table, Requirement, Row};
use latchkey_server::ServerConfig;
use latchkey_store::Actor;
use reqwest::Method;
use std::collections::BTreeSet;

use super::tokens_and_paths::{fill, ip_rule, junk_body, method_of, mint, send, Ids, NO_SUCH_ID};
use crate::common::{grant, spawn_app_with};

/// `secret` with its last character swapped for a different base62 character.
fn with_last_char_changed(secret: &str) -> String {
    let (head, last) = secret.split_at(secret.len() - 1);
    let other = if last == "x" { "y" } else { "x" };
    format!("{head}{other}")
}

#[tokio::test]
async fn unauthenticated_calls_to_every_non_public_route_get_one_401() {
    // Every one of these calls is a failed authentication from 127.0.0.1; lift the per-address
    // limit so the 429 guard (tested elsewhere) does not answer instead.
    let app = spawn_app_with(ServerConfig {
        failed_auth_limit: 1_000_000,
        ..ServerConfig::default()
    })
    .await;
    let unknown = TokenFormat::default().generate(TokenKind::Service);
    let revoked = mint(&app, app.account, "revoked", &[grant("account_admin:all")])
        .await
        .unwrap();
    app.store
        .revoke_service_token(
            &Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            revoked.id,
        )
        .await
        .unwrap();
    let live = mint(&app, app.account, "live", &[grant("job_viewer:all")])
        .await
        .unwrap();
    let headers: Vec<Option<String>> = vec![
        None,
        Some("Token".into()),
        Some("Token ".into()),
        Some("Basic dXNlcjpwYXNz".into()),
        Some("Tokenabc".into()),
        Some("Token not-a-latchkey-token".into()),
        Some(format!("Token {}", unknown.secret.expose())),
        Some(format!("Bearer {}", unknown.secret.expose())),
        Some(format!("Token {}", revoked.secret)),
        // A live token's id part with a wrong secret part: its last character changed to one it
        // is not (a fixed `x` would be the live token itself one time in 62).
        Some(format!("Token {}", with_last_char_changed(&live.secret))),
    ];

    let ids = Ids {
        account: app.account,
        token: live.id,
        project: app.p1,
        ip_rule: ip_rule(&app, app.account, "unauthenticated").await,
        user: NO_SUCH_ID,
        group: NO_SUCH_ID,
        invite: NO_SUCH_ID,
    };
    let mut bodies = BTreeSet::new();
    let mut calls = 0;
    for Row { spec, .. } in api_table() {
        if spec.requirement == Requirement::Public {
            continue;
        }
        let method = method_of(&spec);
        let path = fill(spec.path, ids);
        for header in &headers {
            let (status, challenge, text) = send(
                &app,
                method.clone(),
                &path,
                header.as_deref(),
                junk_body(&method),
            )
            .await;
            let what = format!("{method} {path} with {header:?}");
            assert_eq!(status, 401, "{what}: {text}");
            assert_eq!(challenge.as_deref(), Some("Bearer"), "{what}");
            bodies.insert(text);
            calls += 1;
        }
    }
    assert!(calls > 0);
    assert_eq!(
        bodies.len(),
        1,
        "every 401 must look the same, whatever was wrong: {bodies:#?}"
    );
    // The live token was never touched by all that.
    let (status, _) = app
        .call(Method::GET, "/api/v2/whoami/", Some(&live.secret), None)
        .await;
    assert_eq!(status, 200);
}
