//! The route table and the v3 service-token endpoints over real HTTP.

use latchkey_core::{
    catalog, AccountId, License, Minter, Permission, Plan, TokenFormat, TokenKind,
};
use latchkey_server::routes::table::{table, Requirement};
use latchkey_server::ServerConfig;
use latchkey_store::{Actor, NewServiceTokenParts};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

use crate::common::{eventually, grant, spawn_app, spawn_app_with, until_status, App};

fn concrete(path: &str, account: AccountId) -> String {
    path.replace("{account_id}", &account.to_string())
        .replace("{id}", "1")
}

#[test]
fn every_route_table_permission_names_a_catalog_permission() {
    for (spec, _) in table() {
        if let Requirement::Permission(p) | Requirement::OnProject(p) = spec.requirement {
            assert!(
                p.parse::<Permission>().is_ok(),
                "{} {}: {p}",
                spec.method,
                spec.path
            );
        }
        if spec.path.contains("/accounts/{account_id}/") {
            // A user's own things (their PATs) are theirs by ownership, not by permission.
            assert!(
                matches!(
                    spec.requirement,
                    Requirement::Permission(_) | Requirement::OnProject(_) | Requirement::User
                ),
                "{} {} is account-scoped but checks no permission",
                spec.method,
                spec.path
            );
        }
    }
}

#[tokio::test]
async fn every_route_but_health_refuses_a_missing_token() {
    // More routes than the failed-authentication burst: lift the throttle for this sweep.
    let app = spawn_app_with(ServerConfig {
        failed_auth_limit: 10_000,
        ..ServerConfig::default()
    })
    .await;
    for (spec, _) in table() {
        let method = Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
        let (status, body) = app
            .call(
                method,
                &concrete(spec.path, app.account),
                None,
                Some(json!({})),
            )
            .await;
        if spec.requirement == Requirement::Public {
            assert_ne!(status, 401, "{} {}: {body}", spec.method, spec.path);
        } else {
            assert_eq!(status, 401, "{} {}: {body}", spec.method, spec.path);
        }
    }
}

#[tokio::test]
async fn each_permission_set_reaches_exactly_the_routes_its_account_permissions_allow() {
    let app = spawn_app().await;
    for set in catalog()
        .plan_sets(Plan::Enterprise)
        .filter(|s| !s.is_user_only())
    {
        let token = app.token(app.account, &[&format!("{set}:all")]).await;
        for (spec, _) in table() {
            let Requirement::Permission(p) = spec.requirement else {
                continue;
            };
            if spec.method != reqwest::Method::GET {
                continue;
            }
            let permission: Permission = p.parse().unwrap();
            let holds = set.bits() & permission.bit() != 0;
            let (status, body) = app
                .call(
                    Method::GET,
                    &concrete(spec.path, app.account),
                    Some(&token),
                    None,
                )
                .await;
            if holds {
                assert_ne!(status, 403, "{set} on {}: {body}", spec.path);
            } else {
                assert_eq!(status, 403, "{set} on {}: {body}", spec.path);
                assert!(
                    body["status"]["user_message"].as_str().unwrap().contains(p),
                    "{body}"
                );
            }
        }
    }
}

#[tokio::test]
async fn another_accounts_routes_are_not_found_even_for_an_account_admin() {
    let app = spawn_app().await;
    let other = app
        .store
        .create_account(&Actor::operator(), "B", Plan::Enterprise)
        .await
        .unwrap();
    let their_token = app.token(other.id, &["account_admin:all"]).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    for (spec, _) in table() {
        if !spec.path.contains("{account_id}") {
            continue;
        }
        let method = Method::from_bytes(spec.method.as_str().as_bytes()).unwrap();
        let (status, body) = app
            .call(
                method,
                &concrete(spec.path, other.id),
                Some(&admin),
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(status, 404, "{} {}: {body}", spec.method, spec.path);
        assert!(body["data"].is_null(), "{body}");
    }
    // Their own token still sees their account.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{}/service-tokens/", other.id),
            Some(&their_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

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
            app.account,
            "Owners",
            &["account_admin:all".parse().unwrap()],
        )
        .await
        .unwrap();
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
async fn whoami_and_constants_describe_the_caller_and_the_catalog() {
    let app = spawn_app().await;
    let token = app.token(app.account, &["job_viewer:all"]).await;
    let (status, me) = app
        .call(Method::GET, "/api/v2/whoami/", Some(&token), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["principal"]["account_id"], app.account.0);
    let (_, constants) = app
        .call(Method::GET, "/api/v2/constants/", Some(&token), None)
        .await;
    let sets = constants["data"]["permissions_sets"].as_object().unwrap();
    assert_eq!(sets.len(), catalog().sets().len());
    assert_eq!(sets["job_admin"], "Job Admin");
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

#[tokio::test]
async fn a_token_sees_only_its_own_account_in_the_accounts_list() {
    let app = spawn_app().await;
    app.store
        .create_account(&Actor::operator(), "Someone else", Plan::Team)
        .await
        .unwrap();
    let token = app.token(app.account, &["job_viewer:all"]).await;
    for path in ["/api/v2/accounts/", "/api/v3/accounts/"] {
        let (status, out) = app.call(Method::GET, path, Some(&token), None).await;
        assert_eq!(status, 200);
        let accounts = out["data"].as_array().unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0]["id"], app.account.0);
    }
}

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

impl App {
    async fn introspect(&self, caller: &str, form: &str, content_type: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/oauth/introspect", self.url))
            .header("Authorization", format!("Bearer {caller}"))
            .header("Content-Type", content_type)
            .body(form.to_owned())
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn introspection_describes_active_tokens_of_the_callers_account_only() {
    let app = spawn_app_with(ServerConfig {
        usage_flush: Duration::from_millis(50),
        ..ServerConfig::default()
    })
    .await;
    let (gateway_id, gateway) = app
        .mint_in(app.account, &[grant("security_admin:all")], None)
        .await;
    let (_, created) = app
        .call(Method::POST, &app.tokens(), Some(&app.token(app.account, &["account_admin:all"]).await), Some(json!({"name": "ci", "permission_grants": [{"permission_set": "job_admin", "project_id": app.p1.0}]})))
        .await;
    let inspected = created["data"]["token_string"].as_str().unwrap().to_owned();
    let form = format!("token={inspected}&token_type_hint=access_token");
    let (status, out) = app
        .introspect(&gateway, &form, "application/x-www-form-urlencoded")
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["active"], true);
    assert_eq!(out["scope"], format!("job_admin:project={}", app.p1));
    assert_eq!(out["token_type"], "service_token");
    assert_eq!(
        out["sub"],
        format!("service_token:{}", created["data"]["id"])
    );
    assert_eq!(out["client_id"], created["data"]["uid"]);
    assert!(out["iat"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(out["latchkey"]["account_id"], app.account.0);
    assert!(
        !out.to_string().contains(&inspected[10..]),
        "the secret came back"
    );

    // Inactive: unknown, malformed, another account's, revoked.
    let other = app
        .store
        .create_account(&Actor::operator(), "B", Plan::Enterprise)
        .await
        .unwrap();
    let theirs = app.token(other.id, &["job_admin:all"]).await;
    let unknown = TokenFormat::default()
        .generate(TokenKind::Service)
        .secret
        .expose()
        .to_owned();
    for token in [unknown.as_str(), "garbage", theirs.as_str()] {
        let (status, out) = app
            .introspect(
                &gateway,
                &format!("token={token}"),
                "application/x-www-form-urlencoded",
            )
            .await;
        assert_eq!((status, out), (200, json!({"active": false})), "{token}");
    }
    let id = created["data"]["id"].as_i64().unwrap();
    app.store
        .revoke_service_token(
            &Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            latchkey_core::TokenId(id),
        )
        .await
        .unwrap();
    eventually("introspection seeing the revocation", async || {
        let (_, out) = app
            .introspect(&gateway, &form, "application/x-www-form-urlencoded")
            .await;
        (out["active"] == false).then_some(())
    })
    .await;
    // Introspecting is not using: the inspected token was never used itself. The gateway's
    // use is noted by the same calls, so once its use is flushed, the inspected token's would be.
    eventually("the gateway's use being flushed", async || {
        let gateway = app.store.service_token(gateway_id).await.unwrap().unwrap();
        gateway.last_used_at.map(|_| ())
    })
    .await;
    assert!(app
        .store
        .service_token(latchkey_core::TokenId(id))
        .await
        .unwrap()
        .unwrap()
        .last_used_at
        .is_none());
}

#[tokio::test]
async fn introspection_needs_service_tokens_read_and_a_form_body() {
    let app = spawn_app().await;
    let job_admin = app.token(app.account, &["job_admin:all"]).await;
    let viewer = app.token(app.account, &["account_viewer:all"]).await;
    let form = format!("token={job_admin}");
    let (status, out) = app
        .introspect(&job_admin, &form, "application/x-www-form-urlencoded")
        .await;
    assert_eq!(status, 403, "{out}");
    assert!(out["status"]["user_message"]
        .as_str()
        .unwrap()
        .contains("service_tokens:read"));
    assert_eq!(
        app.introspect(&viewer, &form, "application/x-www-form-urlencoded")
            .await
            .0,
        200
    );
    assert_eq!(
        app.introspect(
            &viewer,
            &json!({"token": job_admin}).to_string(),
            "application/json"
        )
        .await
        .0,
        415
    );
    assert_eq!(
        app.introspect(&viewer, "nothing=here", "application/x-www-form-urlencoded")
            .await
            .0,
        400
    );
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
