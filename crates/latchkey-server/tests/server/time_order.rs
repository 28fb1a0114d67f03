//! Stored times compare as times: an expiry written with any UTC offset, or with any number of
//! fractional digits, is ordered against "now" by the instant it names — inside the store's
//! own queries too (the caller's power re-read in a write's transaction, a rotation's end, an
//! invitation's expiry, the audit log's time range), not only in the verifier.

use latchkey_store::AuditQuery;
use reqwest::Method;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::common::spawn_app;

/// `t` written at a UTC offset, as a client anywhere may send it.
fn at_offset(t: OffsetDateTime, hours: i8) -> String {
    t.to_offset(UtcOffset::from_hms(hours, 0, 0).unwrap())
        .format(&Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn a_token_whose_expiry_names_another_offset_keeps_its_power_until_that_instant() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    // An hour from now, written twelve hours behind UTC: as text it reads "yesterday".
    let in_an_hour = at_offset(OffsetDateTime::now_utc() + Duration::hours(1), -12);
    let (status, out) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "west", "expires_at": in_an_hour,
                "permission_grants": [{"permission_set": "account_admin", "all_projects": true}]})),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let west = out["data"]["token_string"].as_str().unwrap().to_owned();
    // It works, and what it may do inside a write is what it holds.
    let (status, out) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&west),
            Some(json!({"name": "made by west",
                "permission_grants": [{"permission_set": "job_admin", "all_projects": true}]})),
        )
        .await;
    assert_eq!(status, 201, "{out}");
}

#[tokio::test]
async fn an_expiry_written_at_an_offset_is_kept_as_the_instant_it_names() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let when = OffsetDateTime::now_utc() + Duration::days(3);
    let (status, out) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "east", "expires_at": at_offset(when, 14),
                "permission_grants": [{"permission_set": "job_admin", "all_projects": true}]})),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let id = out["data"]["id"].as_i64().unwrap();
    let stored = app
        .store
        .service_token(latchkey_core::TokenId(id))
        .await
        .unwrap()
        .unwrap()
        .expires_at
        .unwrap();
    // The same instant, to the microsecond the store keeps.
    let micros = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1000;
    assert_eq!(micros(stored), micros(when));
    assert_eq!(stored.offset(), UtcOffset::UTC);
}

#[tokio::test]
async fn the_audit_logs_time_range_is_read_as_instants() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (status, out) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "logged",
                "permission_grants": [{"permission_set": "job_admin", "all_projects": true}]})),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let now = OffsetDateTime::now_utc();
    // From a minute ago, written fourteen hours ahead of UTC: as text it reads "tomorrow".
    let query = AuditQuery {
        since: Some(now - Duration::minutes(1)),
        account_id: Some(app.account),
        ..AuditQuery::default()
    };
    let from_ahead = AuditQuery {
        since: Some((now - Duration::minutes(1)).to_offset(UtcOffset::from_hms(14, 0, 0).unwrap())),
        account_id: Some(app.account),
        ..AuditQuery::default()
    };
    let utc = app.store.audit_entries(&query).await.unwrap();
    let ahead = app.store.audit_entries(&from_ahead).await.unwrap();
    assert!(!utc.is_empty());
    assert_eq!(ahead.len(), utc.len(), "the same instant, the same entries");
}

/// Every time any flow writes is in the one fixed-width UTC form: tokens with an expiry at an
/// offset, a rotation's end, their use, groups, an IP rule, an invitation and its redemption,
/// the audit log and the change feed. Read straight from the database file.
#[tokio::test]
async fn every_stored_time_has_the_fixed_width_utc_form() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let account = app.account;
    let later = at_offset(OffsetDateTime::now_utc() + Duration::days(2), 5);
    let calls = [
        (
            app.tokens(),
            json!({"name": "t", "expires_at": later,
                "permission_grants": [{"permission_set": "job_admin", "all_projects": true}]}),
        ),
        (
            format!("/api/v3/accounts/{account}/groups/"),
            json!({"name": "jobs", "group_permissions": [{"permission_set": "job_admin", "project_id": app.p1.0}]}),
        ),
        (
            format!("/api/v3/accounts/{account}/ip-restrictions/"),
            json!({"name": "office", "type": 1, "description": "", "cidrs": ["203.0.113.0/24"]}),
        ),
        (
            format!("/api/v3/accounts/{account}/invites/"),
            json!({"email": "new@example.com", "license_type": "developer"}),
        ),
    ];
    let mut made = Vec::new();
    for (path, body) in calls {
        let (status, out) = app
            .call(Method::POST, &path, Some(&admin), Some(body))
            .await;
        assert_eq!(status, 201, "{path}: {out}");
        made.push(out);
    }
    let token_id = made[0]["data"]["id"].as_i64().unwrap();
    let (status, out) = app
        .call(
            Method::POST,
            &format!("{}{token_id}/rotate/", app.tokens()),
            Some(&admin),
            Some(json!({"overlap_seconds": 600})),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let rotated = out["data"]["token_string"].as_str().unwrap().to_owned();
    let code = made[3]["data"]["code"].as_str().unwrap();
    let (status, out) = app
        .call(
            Method::POST,
            "/api/v3/invites/redeem/",
            None,
            Some(json!({"code": code, "password": "a long enough password"})),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let (status, _) = app
        .authorize(&rotated, json!({"permission": "jobs:read"}))
        .await;
    assert_eq!(status, 200);
    app.verifier.flush_usage().await.unwrap();

    use latchkey_test_postgres::inspect;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let mut seen = 0;
    for table in inspect::tables(&app.database_url).await {
        let columns = inspect::columns(&app.database_url, &table).await;
        for column in columns.iter().filter(|c| c.ends_with("_at")) {
            let values: Vec<String> = sqlx::query_scalar(&format!(
                "SELECT {column} FROM {table} WHERE {column} IS NOT NULL"
            ))
            .fetch_all(&db)
            .await
            .unwrap();
            for value in values {
                let fixed = value.len() == 27
                    && value.ends_with('Z')
                    && value.as_bytes()[19] == b'.'
                    && OffsetDateTime::parse(&value, &Rfc3339).is_ok();
                assert!(fixed, "{table}.{column} = {value:?}");
                seen += 1;
            }
        }
    }
    assert!(seen > 30, "only {seen} stored times");
}
