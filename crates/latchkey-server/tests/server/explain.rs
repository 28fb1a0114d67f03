//! `explain` never contradicts the decision: a grant "covers" a check only where the check is
//! allowed, ownership of the project included.

use latchkey_core::{Permission, Plan, ProjectId};
use latchkey_store::{Actor, State};
use serde_json::{json, Value};

use crate::common::{spawn_app, App};

/// A second account with one project.
async fn other_accounts_project(app: &App) -> ProjectId {
    let op = Actor::operator();
    let other = app
        .store
        .create_account(&op, "B", Plan::Enterprise)
        .await
        .unwrap()
        .id;
    app.store
        .create_project(&op, other, "b-one")
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn explain_shows_no_grant_covering_another_accounts_project() {
    let app = spawn_app().await;
    let theirs = other_accounts_project(&app).await;
    let token = app
        .token(app.account, &["account_admin:all", "job_admin:all"])
        .await;
    let (status, out) = app
        .authorize(
            &token,
            json!({"permission": "jobs:read", "project_id": theirs.0, "explain": true}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["allowed"], false, "{out}");
    assert_eq!(
        out["explanation"]["grants"],
        json!([
            {"grant": "account_admin:all", "covers": false},
            {"grant": "job_admin:all", "covers": false},
        ]),
        "{out}"
    );
}

#[tokio::test]
async fn explain_covers_a_check_exactly_when_the_check_is_allowed() {
    let app = spawn_app().await;
    let theirs = other_accounts_project(&app).await;
    let op = Actor::operator();
    let deleted = app
        .store
        .create_project(&op, app.account, "gone")
        .await
        .unwrap()
        .id;
    let grants = [
        format!("account_admin:project={}", app.p1),
        "job_viewer:all".to_owned(),
        format!("developer:project={}:envs=production", app.p2),
        format!("job_admin:project={deleted}"),
    ];
    let specs: Vec<&str> = grants.iter().map(String::as_str).collect();
    let token = app.token(app.account, &specs).await;
    app.store
        .update_project(&op, app.account, deleted, None, Some(State::Deleted))
        .await
        .unwrap();

    let projects = [
        None,
        Some(app.p1),
        Some(app.p2),
        Some(deleted),
        Some(theirs),
        Some(ProjectId(987_654)),
    ];
    let mut checks = Vec::new();
    for permission in Permission::all() {
        for project in projects {
            for env in [None, Some("production"), Some("development")] {
                checks.push(json!({
                    "permission": permission.to_string(),
                    "project_id": project.map(|p| p.0),
                    "environment": env,
                }));
            }
        }
    }
    let (mut allowed, mut denied) = (0, 0);
    for chunk in checks.chunks(100) {
        let (status, out) = app
            .authorize(&token, json!({"explain": true, "checks": chunk}))
            .await;
        assert_eq!(status, 200, "{out}");
        for (check, result) in chunk.iter().zip(out["results"].as_array().unwrap()) {
            let covered = result["explanation"]["grants"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["covers"] == true);
            assert_eq!(
                Value::Bool(covered),
                result["allowed"],
                "{check}: explanation {} beside allowed = {}",
                result["explanation"],
                result["allowed"]
            );
            if covered {
                allowed += 1;
            } else {
                denied += 1;
            }
        }
    }
    // Both answers occur, so the property is not true for want of cases.
    assert!(
        allowed > 50 && denied > 50,
        "{allowed} allowed, {denied} denied"
    );
}
