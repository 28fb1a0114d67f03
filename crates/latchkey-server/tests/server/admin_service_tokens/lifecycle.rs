//! A service token's life after creation: deleting revokes and keeps the record, replacing grants
//! takes effect at once, and updating renames or revokes (a revoked token stays revoked).

use latchkey_store::Actor;
use reqwest::Method;
use serde_json::json;

use crate::common::{eventually, spawn_app};

#[tokio::test]
async fn deleting_revokes_keeps_the_record_and_filters_by_state() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, created) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "old", "permission_grants": [{"permission_set": "job_runner"}]})),
        )
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let secret = created["data"]["token_string"].as_str().unwrap().to_owned();
    let ask = json!({"permission": "runs:write", "project_id": app.p1.0});
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/authorize",
            Some(&secret),
            Some(ask.clone())
        )
        .await
        .0,
        200
    );

    let (status, deleted) = app
        .call(
            Method::DELETE,
            &format!("{}{id}/", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((status, deleted["data"]["state"].clone()), (200, json!(2)));
    let (_, shown) = app
        .call(
            Method::GET,
            &format!("{}{id}/", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(shown["data"]["state"], 2);
    let (_, active) = app
        .call(
            Method::GET,
            &format!("{}?state=1", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(active["extra"]["pagination"]["total_count"], 1);
    let (_, page) = app
        .call(
            Method::GET,
            &format!("{}?limit=1&offset=1", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    assert_eq!(page["extra"]["pagination"]["total_count"], 2);

    eventually("the deleted token failing", async || {
        let (status, _) = app.authorize(&secret, ask.clone()).await;
        (status == 401).then_some(())
    })
    .await;
    let (status, _) = app
        .call(
            Method::GET,
            &format!("{}999999/", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn replacing_grants_takes_effect_at_once_is_audited_and_never_widens_beyond_the_caller() {
    let app = spawn_app().await;
    let p2 = app
        .store
        .create_project(&Actor::operator(), app.account, "two")
        .await
        .unwrap()
        .id;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, created) = app
        .call(Method::POST, &app.tokens(), Some(&admin), Some(json!({"name": "ci", "permission_grants": [{"permission_set": "job_admin", "project_id": app.p1.0}]})))
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let secret = created["data"]["token_string"].as_str().unwrap().to_owned();
    let on_p2 = json!({"permission": "jobs:write", "project_id": p2.0});
    assert_eq!(
        app.call(
            Method::POST,
            "/api/v1/authorize",
            Some(&secret),
            Some(on_p2.clone())
        )
        .await
        .1["allowed"],
        false
    );

    let grants_path = format!("{}{id}/permissions/", app.tokens());
    let (status, out) = app
        .call(
            Method::POST,
            &grants_path,
            Some(&admin),
            Some(json!([{"permission_set": "job_admin", "project_id": p2.0}])),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"].as_array().unwrap().len(), 1);
    eventually("the new grant counting", async || {
        let (_, out) = app.authorize(&secret, on_p2.clone()).await;
        (out["allowed"] == true).then_some(())
    })
    .await;
    let (_, audit) = app
        .call(
            Method::GET,
            &format!(
                "/api/v3/accounts/{}/audit-logs/?event_type=permission.added",
                app.account
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["extra"]["pagination"]["total_count"], 1, "{audit}");
    assert_eq!(audit["data"][0]["actor_type"], "service_token");
    let (_, audit) = app
        .call(
            Method::GET,
            &format!(
                "/api/v3/accounts/{}/audit-logs/?event_type=permission.removed",
                app.account
            ),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["extra"]["pagination"]["total_count"], 1);

    // A token scoped to one project cannot widen another token (or itself) past that project.
    let scoped = app
        .token(app.account, &[&format!("account_admin:project={}", app.p1)])
        .await;
    for body in [
        json!([{"permission_set": "job_admin", "all_projects": true}]),
        json!([{"permission_set": "account_admin"}]),
    ] {
        let (status, out) = app
            .call(Method::POST, &grants_path, Some(&scoped), Some(body))
            .await;
        assert_eq!(status, 403, "{out}");
    }
    let (_, still) = app
        .call(Method::GET, &grants_path, Some(&admin), None)
        .await;
    assert_eq!(
        still["data"][0]["project_id"], p2.0,
        "refusals changed nothing"
    );
    let (status, _) = app
        .call(
            Method::POST,
            &grants_path,
            Some(&admin),
            Some(json!({"not": "an array"})),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn updating_renames_or_revokes_and_a_revoked_token_stays_revoked() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, created) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(
                json!({"name": "before", "permission_grants": [{"permission_set": "job_viewer"}]}),
            ),
        )
        .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let path = format!("{}{id}/", app.tokens());
    let (status, out) = app
        .call(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({"name": "after", "state": 1})),
        )
        .await;
    assert_eq!((status, out["data"]["name"].clone()), (200, json!("after")));
    let (status, out) = app
        .call(Method::POST, &path, Some(&admin), Some(json!({"state": 2})))
        .await;
    assert_eq!((status, out["data"]["state"].clone()), (200, json!(2)));
    let (status, _) = app
        .call(Method::POST, &path, Some(&admin), Some(json!({"state": 1})))
        .await;
    assert_eq!(
        status, 409,
        "no reactivation: it conflicts with the token's state"
    );
    let (status, _) = app
        .call(Method::PUT, &path, Some(&admin), Some(json!({"state": 7})))
        .await;
    assert_eq!(status, 400);
    let (_, audit) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{}/audit-logs/", app.account),
            Some(&admin),
            None,
        )
        .await;
    let events: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(
        events.contains(&"service_token.changed") && events.contains(&"service_token.revoked"),
        "{events:?}"
    );
    assert!(
        !audit
            .to_string()
            .contains(created["data"]["token_string"].as_str().unwrap()),
        "a secret in the audit log"
    );
}
