//! Creating service tokens: the secret is shown once and works, a PAT may not create one, a
//! token may not create one stronger than itself, and bad requests are 400s naming the field.

use latchkey_core::{License, Minter, Plan, TokenFormat, TokenKind};
use latchkey_store::{Actor, NewServiceTokenParts};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::spawn_app;

#[tokio::test]
async fn creating_returns_the_secret_once_and_the_new_token_works() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let body = json!({"name": "deploy", "state": 1, "permission_grants": [
        {"permission_set": "job_admin", "project_id": app.p1.0},
        {"permission_set": "developer", "all_projects": true, "writable_environment_categories": ["development"]},
    ]});
    let (status, created) = app
        .call(Method::POST, &app.tokens(), Some(&admin), Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"]["is_success"], true);
    let secret = created["data"]["token_string"].as_str().unwrap().to_owned();
    let id = created["data"]["id"].as_i64().unwrap();
    assert_eq!(
        created["data"]["permission_grants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (_, shown) = app
        .call(
            Method::GET,
            &format!("{}{id}/", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert!(shown["data"]["token_string"].is_null());
    let (_, listed) = app
        .call(Method::GET, &app.tokens(), Some(&admin), None)
        .await;
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(listed["extra"]["pagination"]["total_count"], 2);
    let (_, grants) = app
        .call(
            Method::GET,
            &format!("{}{id}/permissions/", app.tokens()),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(grants["data"][0]["permission_set"], "job_admin");
    assert_eq!(
        grants["data"][1]["writable_environment_categories"],
        json!(["development"])
    );

    let (status, out) = app
        .call(
            Method::POST,
            "/api/v1/authorize",
            Some(&secret),
            Some(json!({"permission": "jobs:write", "project_id": app.p1.0})),
        )
        .await;
    assert_eq!((status, out["allowed"].clone()), (200, Value::Bool(true)));
}

#[tokio::test]
async fn a_pat_cannot_create_service_tokens() {
    let app = spawn_app().await;
    let op = Actor::operator();
    let user = app
        .member("admin@example.com", None, License::Developer)
        .await;
    let group = app
        .store
        .create_group(
            &op,
            latchkey_core::Authority::Operator,
            app.account,
            "Owners",
            &["account_admin:all".parse().unwrap()],
        )
        .await
        .unwrap()
        .id;
    app.store.add_group_member(&op, group, user).await.unwrap();
    let new = TokenFormat::default().generate(TokenKind::Personal);
    let parts = NewServiceTokenParts {
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    app.store
        .create_personal_token(&op, Minter::Operator, app.account, user, "pat", parts, None)
        .await
        .unwrap();
    let (status, body) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(new.secret.expose()),
            Some(json!({"name": "x", "permission_grants": [{"permission_set": "job_admin"}]})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["status"]["developer_message"]
        .as_str()
        .unwrap()
        .contains("personal access token"));
}

#[tokio::test]
async fn a_token_cannot_create_a_token_stronger_than_itself() {
    let app = spawn_app().await;
    let p2 = app
        .store
        .create_project(&Actor::operator(), app.account, "two")
        .await
        .unwrap()
        .id;
    let scoped = app
        .token(app.account, &[&format!("account_admin:project={}", app.p1)])
        .await;
    let create = |grants: Value| json!({"name": "child", "permission_grants": grants});
    for grants in [
        json!([{"permission_set": "job_admin", "all_projects": true}]),
        json!([{"permission_set": "job_admin", "project_id": p2.0}]),
    ] {
        let (status, body) = app
            .call(
                Method::POST,
                &app.tokens(),
                Some(&scoped),
                Some(create(grants)),
            )
            .await;
        assert_eq!(status, 403, "{body}");
    }
    let (status, _) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&scoped),
            Some(create(
                json!([{"permission_set": "job_admin", "project_id": app.p1.0}]),
            )),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        app.store
            .list_service_tokens(app.account, None)
            .await
            .unwrap()
            .len(),
        2,
        "only the allowed one was made"
    );
}

#[tokio::test]
async fn bad_create_requests_are_400s_naming_the_field_and_change_nothing() {
    let app = spawn_app().await;
    let other = app
        .store
        .create_account(&Actor::operator(), "B", Plan::Enterprise)
        .await
        .unwrap();
    let theirs = app
        .store
        .create_project(&Actor::operator(), other.id, "theirs")
        .await
        .unwrap();
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let cases = [
        (
            json!({"name": "x", "permission_grants": [{"permission_set": "root"}]}),
            Some("permission_grants[0].permission_set"),
        ),
        (
            json!({"name": "x", "permission_grants": [{"permission_set": "job_admin", "project_id": -1}]}),
            Some("permission_grants[0].project_id"),
        ),
        (
            json!({"name": "x", "permission_grants": [{"permission_set": "job_admin", "writable_environment_categories": ["prod"]}]}),
            Some("permission_grants[0].writable_environment_categories"),
        ),
        (
            json!({"name": "bad\u{0}name", "permission_grants": [{"permission_set": "job_admin"}]}),
            None,
        ),
        (
            json!({"name": "x", "expires_at": "tomorrow", "permission_grants": [{"permission_set": "job_admin"}]}),
            Some("expires_at"),
        ),
        (json!({"name": 5}), None),
        (json!({"permission_grants": []}), None),
    ];
    for (body, field) in cases {
        let (status, out) = app
            .call(
                Method::POST,
                &app.tokens(),
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body}: {out}");
        if let Some(field) = field {
            assert_eq!(out["data"]["field"], field, "{out}");
        }
    }
    // A well-formed grant on a project the account does not have (here another account's)
    // conflicts with what exists: 409, and the same answer as for no project at all.
    for project in [theirs.id.0, 999_999] {
        let body = json!({"name": "x", "permission_grants": [{"permission_set": "job_admin", "project_id": project}]});
        let (status, out) = app
            .call(Method::POST, &app.tokens(), Some(&admin), Some(body))
            .await;
        assert_eq!(status, 409, "{out}");
        assert!(
            out["status"]["user_message"]
                .as_str()
                .is_some_and(|m| m.contains("does not exist in account")),
            "{out}"
        );
    }
    for query in [
        "?state=3",
        "?limit=0",
        "?limit=100000",
        "?offset=-1",
        "?limit=abc",
    ] {
        let (status, out) = app
            .call(
                Method::GET,
                &format!("{}{query}", app.tokens()),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, 400, "{query}: {out}");
    }
    assert_eq!(
        app.store
            .list_service_tokens(app.account, None)
            .await
            .unwrap()
            .len(),
        1
    );
}
