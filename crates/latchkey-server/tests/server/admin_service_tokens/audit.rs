//! The audit log of service-token changes: entries record the client address and the actor, and
//! the log filters by actor, target and time and exports CSV.

use reqwest::Method;
use serde_json::json;

use crate::common::spawn_app;

#[tokio::test]
async fn audit_entries_record_the_client_address_and_the_actor() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (status, _) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "x", "permission_grants": [{"permission_set": "job_viewer"}]})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, audit) = app
        .call(
            Method::GET,
            &format!(
                "/api/v3/accounts/{}/audit-logs/?event_type=service_token.created&limit=1",
                app.account
            ),
            Some(&admin),
            None,
        )
        .await;
    let entry = &audit["data"][0];
    assert_eq!(entry["actor_ip"], "127.0.0.1", "{entry}");
    assert_eq!(entry["actor_type"], "service_token");
    assert_eq!(entry["source"], "api");
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_target_and_time_and_exports_csv() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, created) = app
        .call(Method::POST, &app.tokens(), Some(&admin), Some(json!({"name": "=cmd|' /C calc'!A0", "permission_grants": [{"permission_set": "job_viewer"}]})))
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let secret = created["data"]["token_string"].as_str().unwrap().to_owned();
    app.call(
        Method::DELETE,
        &format!("{}{id}/", app.tokens()),
        Some(&admin),
        None,
    )
    .await;
    let logs = format!("/api/v3/accounts/{}/audit-logs/", app.account);
    let total = |q: &str| {
        let path = format!("{logs}?{q}");
        let admin = admin.clone();
        let app = &app;
        async move {
            app.call(Method::GET, &path, Some(&admin), None).await.1["extra"]["pagination"]
                ["total_count"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(
        total(&format!("target_type=service_token&target_id={id}")).await,
        2,
        "created and revoked"
    );
    assert_eq!(total("actor_type=service_token").await, 2);
    assert!(
        total("actor_type=operator").await >= 2,
        "the fixture's own setup"
    );
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(
        total(&format!("logged_at_start={}", today.next_day().unwrap())).await,
        0
    );
    assert_eq!(
        total(&format!("logged_at_end={}", today.previous_day().unwrap())).await,
        0
    );
    let everything = total("").await;
    assert_eq!(
        total(&format!("logged_at_start={today}&logged_at_end={today}")).await,
        everything
    );

    let resp = app
        .http
        .get(format!("{}{logs}?format=csv", app.url))
        .header("Authorization", format!("Token {admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("id,created_at,account_id,actor_type"));
    assert!(!csv.contains(&secret[6..]), "a secret in the export");
    // No cell may start with a formula character (inside the JSON cell the name is harmless).
    assert!(
        !csv.contains(",=") && !csv.contains(",\"="),
        "a formula cell: {csv}"
    );
    assert_eq!(
        csv.lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .count() as i64,
        everything
    );

    for bad in [
        "format=xml",
        "logged_at_start=yesterday",
        "limit=0",
        "format=csv&limit=100001",
        "surprise=1",
        "actor_id=x",
    ] {
        let (status, out) = app
            .call(Method::GET, &format!("{logs}?{bad}"), Some(&admin), None)
            .await;
        assert_eq!(status, 400, "{bad}: {out}");
    }
}
