//! The route table's guard, row by row: every account-scoped route checks a permission (that
//! each one is in the catalog, the compiler checks), every route but health refuses a missing
//! token, each permission set reaches exactly the routes it allows,
//! and another account's routes are not found even for an account admin.

use latchkey_core::{catalog, AccountId, Plan};
use latchkey_server::routes::table::{api_table, Requirement, Row};
use latchkey_server::ServerConfig;
use latchkey_store::Actor;
use reqwest::Method;
use serde_json::json;

use crate::common::{spawn_app, spawn_app_with};

fn concrete(path: &str, account: AccountId) -> String {
    path.replace("{account_id}", &account.to_string())
        .replace("{id}", "1")
}

#[test]
fn every_account_scoped_route_checks_a_permission_or_acts_for_its_user() {
    for Row { spec, .. } in api_table() {
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
    for Row { spec, .. } in api_table() {
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
        for Row { spec, .. } in api_table() {
            let Requirement::Permission(permission) = spec.requirement else {
                continue;
            };
            if spec.method != reqwest::Method::GET {
                continue;
            }
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
                    body["status"]["user_message"]
                        .as_str()
                        .unwrap()
                        .contains(&permission.to_string()),
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
    for Row { spec, .. } in api_table() {
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
