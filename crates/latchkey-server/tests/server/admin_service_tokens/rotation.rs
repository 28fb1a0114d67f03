//! Rotating service tokens: without an overlap the secret swaps at once, with one the old token
//! works until the overlap ends, rotation never adds power, and tokens created before the legacy
//! cutoff are flagged for rotation.

use latchkey_server::ServerConfig;
use reqwest::Method;
use serde_json::json;

use crate::common::{eventually, spawn_app, spawn_app_with, until_status};

#[tokio::test]
async fn rotating_without_overlap_swaps_the_secret_at_once_and_keeps_everything_else() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, created) = app
        .call(Method::POST, &app.tokens(), Some(&admin), Some(json!({"name": "deploy", "permission_grants": [{"permission_set": "job_admin", "project_id": app.p1.0}]})))
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let old = created["data"]["token_string"].as_str().unwrap().to_owned();
    until_status(&app, &old, 200).await;

    let (status, rotated) = app
        .call(
            Method::POST,
            &format!("{}{id}/rotate/", app.tokens()),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201, "{rotated}");
    let new = rotated["data"]["token_string"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(rotated["data"]["name"], "deploy");
    assert_eq!(rotated["data"]["rotated_from_id"], id);
    assert_eq!(
        rotated["data"]["permission_grants"][0]["project_id"],
        app.p1.0
    );
    until_status(&app, &old, 401).await;
    let (_, out) = app
        .call(
            Method::POST,
            "/api/v1/authorize",
            Some(&new),
            Some(json!({"permission": "jobs:write", "project_id": app.p1.0})),
        )
        .await;
    assert_eq!(out["allowed"], true);

    let (_, audit) = app
        .call(
            Method::GET,
            &format!(
                "/api/v3/accounts/{}/audit-logs/?event_type=service_token.rotated",
                app.account
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["data"][0]["target_id"], id);
    assert!(!audit.to_string().contains(&new));
}

#[tokio::test]
async fn with_an_overlap_the_old_token_works_until_it_ends_then_is_revoked() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, created) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "ci", "permission_grants": [{"permission_set": "job_viewer"}]})),
        )
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let old = created["data"]["token_string"].as_str().unwrap().to_owned();
    let (status, rotated) = app
        .call(
            Method::POST,
            &format!("{}{id}/rotate/", app.tokens()),
            Some(&admin),
            Some(json!({"overlap_seconds": 5})),
        )
        .await;
    assert_eq!(status, 201);
    let new = rotated["data"]["token_string"].as_str().unwrap().to_owned();
    until_status(&app, &old, 200).await;
    until_status(&app, &new, 200).await;
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("{}{id}/", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert!(shown["data"]["revoke_at"].is_string(), "{shown}");

    until_status(&app, &old, 401).await;
    eventually("the sweeper revoking the old token", async || {
        let (_, shown) = app
            .call(
                Method::GET,
                &format!("{}{id}/", app.tokens()),
                Some(&admin),
                None,
            )
            .await;
        (shown["data"]["state"] == 2).then_some(())
    })
    .await;
    until_status(&app, &new, 200).await;

    // Rotating it again conflicts with its state (409); a bad overlap is bad input (400).
    let (status, out) = app
        .call(
            Method::POST,
            &format!("{}{id}/rotate/", app.tokens()),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 409, "{out}");
    for (body, path_id) in [
        (json!({"overlap_seconds": 604_801}), id),
        (json!({"overlap_seconds": -1}), id),
        (json!({"overlap": 5}), id),
    ] {
        let (status, out) = app
            .call(
                Method::POST,
                &format!("{}{path_id}/rotate/", app.tokens()),
                Some(&admin),
                Some(body),
            )
            .await;
        assert_eq!(status, 400, "{out}");
    }
}

#[tokio::test]
async fn a_token_cannot_rotate_another_into_more_power_than_itself() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, created) = app
        .call(Method::POST, &app.tokens(), Some(&admin), Some(json!({"name": "wide", "permission_grants": [{"permission_set": "job_admin", "all_projects": true}]})))
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let scoped = app
        .token(app.account, &[&format!("account_admin:project={}", app.p1)])
        .await;
    let (status, out) = app
        .call(
            Method::POST,
            &format!("{}{id}/rotate/", app.tokens()),
            Some(&scoped),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403, "{out}");
    let (_, listed) = app
        .call(Method::GET, &app.tokens(), Some(&admin), None)
        .await;
    assert_eq!(
        listed["extra"]["pagination"]["total_count"], 3,
        "no token was made"
    );
}

#[tokio::test]
async fn tokens_created_before_the_legacy_cutoff_are_flagged_for_rotation() {
    let flagged = spawn_app_with(ServerConfig {
        legacy_cutoff: time::OffsetDateTime::now_utc() + time::Duration::days(1),
        ..ServerConfig::default()
    })
    .await;
    let admin = flagged.token(flagged.account, &["account_admin:all"]).await;
    let (_, listed) = flagged
        .call(Method::GET, &flagged.tokens(), Some(&admin), None)
        .await;
    assert_eq!(listed["data"][0]["needs_rotation"], true);

    let fresh = spawn_app().await;
    let admin = fresh.token(fresh.account, &["account_admin:all"]).await;
    let (_, listed) = fresh
        .call(Method::GET, &fresh.tokens(), Some(&admin), None)
        .await;
    assert_eq!(
        listed["data"][0]["needs_rotation"], false,
        "the default cutoff (2023-07-18) flags no new token"
    );
}
