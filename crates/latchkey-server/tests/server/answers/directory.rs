//! The successful calls of the directory rows: projects, members, groups and invitations.

use serde_json::json;

use super::calls::{at, call, get, setup};
use super::decisions::redeem_variants;
use super::exercise::{variant, Variant};
use super::world::{grants_body, invite, member, World};
use crate::common::App;

/// The successful calls for a directory row; `None` for a row of another area.
pub(super) async fn exercise(
    app: &App,
    w: &World,
    method: &str,
    path: &str,
) -> Option<Vec<Variant>> {
    let admin = w.admin.as_str();
    let a = app.account;
    Some(match (method, path) {
        // Projects.
        ("GET", "/api/v3/accounts/{account_id}/projects/") => {
            vec![variant("all", get(app, at(app, "projects/"), admin).await)]
        }
        ("POST", "/api/v3/accounts/{account_id}/projects/") => vec![variant(
            "a new project",
            call(
                app,
                "POST",
                &at(app, "projects/"),
                admin,
                Some(json!({"name": "three"})),
            )
            .await,
        )],
        ("GET", "/api/v3/accounts/{account_id}/projects/{project_id}/") => vec![variant(
            "project one",
            get(app, at(app, &format!("projects/{}/", app.p1)), admin).await,
        )],
        ("POST" | "DELETE", "/api/v3/accounts/{account_id}/projects/{project_id}/") => {
            let made = setup(
                app,
                "POST",
                &at(app, "projects/"),
                admin,
                json!({"name": "scratch"}),
            )
            .await;
            let p = at(app, &format!("projects/{}/", made["data"]["id"]));
            let body = (method == "POST").then(|| json!({"name": "renamed"}));
            vec![variant(
                "a project made for it",
                call(app, method, &p, admin, body).await,
            )]
        }

        // Members.
        ("GET", "/api/v3/accounts/{account_id}/users/") => {
            vec![variant("all", get(app, at(app, "users/"), admin).await)]
        }
        ("GET", "/api/v2/accounts/{account_id}/users/") => {
            let v2 = format!("/api/v2/accounts/{}/users/?order_by=-email", app.account);
            vec![variant(
                "all, by e-mail descending",
                get(app, v2, admin).await,
            )]
        }
        (
            "GET",
            "/api/v3/accounts/{account_id}/users/{user_id}/"
            | "/api/v2/accounts/{account_id}/users/{user_id}/",
        ) => {
            let p = path
                .replace("{account_id}", &a.to_string())
                .replace("{user_id}", &w.user.0.to_string());
            vec![variant("a member in a group", get(app, p, admin).await)]
        }
        ("DELETE", "/api/v3/accounts/{account_id}/users/{user_id}/") => {
            let user = member(app, "removed@example.com").await;
            let p = at(app, &format!("users/{}/", user.0));
            vec![variant(
                "a member made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/users/{user_id}/license/") => {
            let user = member(app, "relicensed@example.com").await;
            let p = at(app, &format!("users/{}/license/", user.0));
            let body = json!({"license_type": "read_only"});
            vec![variant(
                "to read-only",
                call(app, "POST", &p, admin, Some(body)).await,
            )]
        }

        // Groups.
        ("GET", "/api/v3/accounts/{account_id}/groups/") => {
            vec![variant("all", get(app, at(app, "groups/"), admin).await)]
        }
        ("POST", "/api/v3/accounts/{account_id}/groups/") => {
            let body = json!({"name": "analysts", "group_permissions": grants_body(app)});
            vec![variant(
                "with permissions",
                call(app, "POST", &at(app, "groups/"), admin, Some(body)).await,
            )]
        }
        ("GET", "/api/v3/accounts/{account_id}/groups/{id}/") => vec![variant(
            "with permissions and a member",
            get(app, at(app, &format!("groups/{}/", w.group)), admin).await,
        )],
        ("POST", "/api/v3/accounts/{account_id}/groups/{id}/") => {
            let g = scratch_group(app, admin, "to rename").await;
            let p = at(app, &format!("groups/{g}/"));
            let renamed = call(app, "POST", &p, admin, Some(json!({"name": "renamed"}))).await;
            let deleted = call(app, "POST", &p, admin, Some(json!({"state": 2}))).await;
            vec![variant("renamed", renamed), variant("deleted", deleted)]
        }
        ("POST", "/api/v3/accounts/{account_id}/group-permissions/{id}/") => {
            let g = scratch_group(app, admin, "to regrant").await;
            let p = at(app, &format!("group-permissions/{g}/"));
            vec![variant(
                "one project and all projects",
                call(app, "POST", &p, admin, Some(grants_body(app))).await,
            )]
        }
        ("POST", "/api/v3/accounts/{account_id}/assign-groups/") => {
            let user = member(app, "assigned@example.com").await;
            let other = scratch_group(app, admin, "second").await;
            let body = json!({"user_id": user.0, "desired_group_ids": [w.group, other]});
            vec![variant(
                "into two groups",
                call(app, "POST", &at(app, "assign-groups/"), admin, Some(body)).await,
            )]
        }

        // Invitations.
        ("GET", "/api/v3/accounts/{account_id}/invites/") => vec![variant(
            "pending, redeemed and withdrawn",
            get(app, at(app, "invites/"), admin).await,
        )],
        ("POST", "/api/v3/accounts/{account_id}/invites/") => {
            let body = json!({"email": "new@example.com", "license_type": "read_only",
                              "group_ids": [w.group], "expires_in_days": 14});
            vec![variant(
                "with a group",
                call(app, "POST", &at(app, "invites/"), admin, Some(body)).await,
            )]
        }
        ("DELETE", "/api/v3/accounts/{account_id}/invites/{id}/") => {
            let (id, _) = invite(app, admin, "withdrawn-too@example.com", &[w.group]).await;
            let p = at(app, &format!("invites/{id}/"));
            vec![variant(
                "an invitation made for it",
                call(app, "DELETE", &p, admin, None).await,
            )]
        }
        ("POST", "/api/v3/invites/redeem/") => redeem_variants(app, w).await,
        _ => return None,
    })
}

/// A group with permissions, made for a call that changes it; its id.
async fn scratch_group(app: &App, admin: &str, name: &str) -> i64 {
    let body = json!({"name": name, "group_permissions": grants_body(app)});
    setup(app, "POST", &at(app, "groups/"), admin, body).await["data"]["id"]
        .as_i64()
        .unwrap()
}
