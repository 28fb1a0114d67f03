//! Groups, members and projects over real HTTP: group permissions reach members' PATs within a
//! poll, nobody hands a group (or a colleague) more than they hold, license changes and
//! removals end access, and a project's own routes check the permission on that project.

use crate::common::{spawn_app, App};
use latchkey_core::License;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn at(app: &App, rest: &str) -> String {
    format!("/api/v3/accounts/{}/{rest}", app.account)
}

/// Asks whether `token` may write jobs on project one, until the answer is `want`.
async fn jobs_write_until(app: &App, token: &str, want: bool) -> Value {
    let deadline = Instant::now() + crate::common::PROPAGATION;
    loop {
        let (_, out) = app
            .authorize(
                token,
                json!({"permission": "jobs:write", "project_id": app.p1.0}),
            )
            .await;
        if out["allowed"] == want || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn events(app: &App) -> Vec<String> {
    app.store
        .audit_entries(&latchkey_store::AuditQuery {
            account_id: Some(app.account),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

#[tokio::test]
async fn group_permissions_reach_a_members_pat_and_leave_with_the_group() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (user, pat) = app
        .user_with_pat("dev@example.com", License::Developer, &[])
        .await;
    let (_, out) = app
        .authorize(
            &pat,
            json!({"permission": "jobs:write", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(out["allowed"], false);

    let (s, group) = app
        .call(
            Method::POST,
            &at(&app, "groups/"),
            Some(&admin),
            Some(json!({"name": "jobs", "group_permissions": [{"permission_set": "job_admin", "project_id": app.p1.0}]})),
        )
        .await;
    assert_eq!(s, 201, "{group}");
    let group_id = group["data"]["id"].as_i64().unwrap();
    assert_eq!(
        group["data"]["group_permissions"][0]["permission_set"],
        "job_admin"
    );

    let (s, member) = app
        .call(
            Method::POST,
            &at(&app, "assign-groups/"),
            Some(&admin),
            Some(json!({"user_id": user.0, "desired_group_ids": [group_id]})),
        )
        .await;
    assert_eq!(s, 200, "{member}");
    assert!(member["data"]["groups"]
        .as_array()
        .unwrap()
        .contains(&json!(group_id)));
    assert_eq!(jobs_write_until(&app, &pat, true).await["allowed"], true);

    // Narrowing the group's permissions narrows the member at once.
    let (s, _) = app
        .call(
            Method::POST,
            &at(&app, &format!("group-permissions/{group_id}/")),
            Some(&admin),
            Some(json!([{"permission_set": "job_viewer", "all_projects": true}])),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(jobs_write_until(&app, &pat, false).await["allowed"], false);

    // Deleting the group, or leaving it, takes it all away.
    let (s, _) = app
        .call(
            Method::POST,
            &at(&app, "assign-groups/"),
            Some(&admin),
            Some(json!({"user_id": user.0, "desired_group_ids": []})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, gone) = app
        .call(
            Method::POST,
            &at(&app, &format!("groups/{group_id}/")),
            Some(&admin),
            Some(json!({"state": 2})),
        )
        .await;
    assert_eq!((s, gone["data"]["state"].clone()), (200, json!(2)));
    let events = events(&app).await;
    for e in [
        "group.added",
        "permission.added",
        "permission.removed",
        "group.user.added",
        "group.user.removed",
        "group.removed",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
    }
}

#[tokio::test]
async fn nobody_hands_a_group_or_a_colleague_more_than_they_hold() {
    let app = spawn_app().await;
    // Security Admin manages groups (groups:write) but holds no Job Admin, let alone Account Admin.
    let sec = app.token(app.account, &["security_admin:all"]).await;
    let (user, _) = app
        .user_with_pat("dev@example.com", License::Developer, &[])
        .await;
    let admins = app
        .store
        .create_group(
            &latchkey_store::Actor::operator(),
            latchkey_core::Authority::Operator,
            app.account,
            "admins",
            &[crate::common::grant("account_admin:all")],
        )
        .await
        .unwrap();
    let before = events(&app).await.len();
    for (path, body) in [
        (
            "groups/".to_owned(),
            json!({"name": "mine", "group_permissions": [{"permission_set": "account_admin", "all_projects": true}]}),
        ),
        (
            "groups/".to_owned(),
            json!({"name": "mine", "group_permissions": [{"permission_set": "job_admin", "project_id": app.p1.0}]}),
        ),
        (
            format!("group-permissions/{}/", admins.id.0),
            json!([{"permission_set": "job_admin", "all_projects": true}]),
        ),
        (
            "assign-groups/".to_owned(),
            json!({"user_id": user.0, "desired_group_ids": [admins.id.0]}),
        ),
    ] {
        let (s, out) = app
            .call(
                Method::POST,
                &at(&app, &path),
                Some(&sec),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 403, "{path} {body}: {out}");
        let message = out["status"]["user_message"].as_str().unwrap();
        assert!(
            message.contains("which you do not hold yourself")
                || message.contains("which you do not hold"),
            "{out}"
        );
    }
    assert_eq!(
        events(&app).await.len(),
        before,
        "refused requests wrote nothing"
    );
    // What it holds itself, it may hand out.
    let (s, out) = app
        .call(
            Method::POST,
            &at(&app, "groups/"),
            Some(&sec),
            Some(json!({"name": "security", "group_permissions": [{"permission_set": "security_admin", "all_projects": true}]})),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    // A group of another account, or a stranger, cannot be assigned.
    let (s, _) = app
        .call(
            Method::POST,
            &at(&app, "assign-groups/"),
            Some(&sec),
            Some(json!({"user_id": 999_999, "desired_group_ids": []})),
        )
        .await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn license_changes_and_removal_reach_the_members_pats() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (user, pat) = app
        .user_with_pat(
            "dev@example.com",
            License::Developer,
            &[&format!("job_admin:project={}", app.p1)],
        )
        .await;
    assert_eq!(jobs_write_until(&app, &pat, true).await["allowed"], true);

    let (s, list) = app
        .call(Method::GET, &at(&app, "users/"), Some(&admin), None)
        .await;
    assert_eq!(s, 200);
    assert!(list["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["email"] == "dev@example.com" && m["license_type"] == "developer"));

    let (s, out) = app
        .call(
            Method::POST,
            &at(&app, &format!("users/{}/license/", user.0)),
            Some(&admin),
            Some(json!({"license_type": "read_only"})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["data"]["license_type"], "read_only");
    assert_eq!(
        jobs_write_until(&app, &pat, false).await["allowed"],
        false,
        "a read-only seat cannot write jobs"
    );
    let (_, out) = app
        .authorize(
            &pat,
            json!({"permission": "jobs:read", "project_id": app.p2.0}),
        )
        .await;
    assert_eq!(out["allowed"], true, "read-only reads every project: {out}");

    let (s, _) = app
        .call(
            Method::POST,
            &at(&app, &format!("users/{}/license/", user.0)),
            Some(&admin),
            Some(json!({"license_type": "emperor"})),
        )
        .await;
    assert_eq!(s, 400);

    let (s, out) = app
        .call(
            Method::DELETE,
            &at(&app, &format!("users/{}/", user.0)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((s, out["data"]["state"].clone()), (200, json!(2)));
    let deadline = Instant::now() + crate::common::PROPAGATION;
    loop {
        let (s, _) = app
            .authorize(&pat, json!({"permission": "jobs:read"}))
            .await;
        if s == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a removed member's PAT still works"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (s, _) = app
        .call(
            Method::DELETE,
            &at(&app, &format!("users/{}/", user.0)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 404, "already removed");
}

#[tokio::test]
async fn a_projects_routes_check_the_permission_on_that_project() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let on_p1 = app
        .token(app.account, &[&format!("job_viewer:project={}", app.p1)])
        .await;
    let (s, made) = app
        .call(
            Method::POST,
            &at(&app, "projects/"),
            Some(&admin),
            Some(json!({"name": "three"})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let p3 = made["data"]["id"].as_i64().unwrap();

    let (s, out) = app
        .call(
            Method::GET,
            &at(&app, &format!("projects/{}/", app.p1)),
            Some(&on_p1),
            None,
        )
        .await;
    assert_eq!((s, out["data"]["name"].clone()), (200, json!("one")));
    for p in [app.p2.0, p3, 999_999] {
        let (s, _) = app
            .call(
                Method::GET,
                &at(&app, &format!("projects/{p}/")),
                Some(&on_p1),
                None,
            )
            .await;
        assert_eq!(s, 403, "project {p}");
    }
    let (s, _) = app
        .call(Method::GET, &at(&app, "projects/"), Some(&on_p1), None)
        .await;
    assert_eq!(
        s, 403,
        "listing every project needs projects:read on all of them"
    );
    let (s, _) = app
        .call(
            Method::DELETE,
            &at(&app, &format!("projects/{}/", app.p1)),
            Some(&on_p1),
            None,
        )
        .await;
    assert_eq!(s, 403, "read is not write");

    // Deleting a project ends every grant on it.
    let (s, out) = app
        .call(
            Method::DELETE,
            &at(&app, &format!("projects/{}/", app.p1)),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((s, out["data"]["state"].clone()), (200, json!(2)));
    let deadline = Instant::now() + crate::common::PROPAGATION;
    loop {
        let (_, out) = app
            .authorize(
                &on_p1,
                json!({"permission": "jobs:read", "project_id": app.p1.0}),
            )
            .await;
        if out["allowed"] == false {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "grants on a deleted project still count"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (s, list) = app
        .call(Method::GET, &at(&app, "projects/"), Some(&admin), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn an_invitation_gives_a_seat_once_and_its_holder_signs_in() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (_, group) = app
        .call(
            Method::POST,
            &at(&app, "groups/"),
            Some(&admin),
            Some(json!({"name": "jobs", "group_permissions": [{"permission_set": "job_admin", "project_id": app.p1.0}]})),
        )
        .await;
    let group_id = group["data"]["id"].as_i64().unwrap();
    let (s, invite) = app
        .call(
            Method::POST,
            &at(&app, "invites/"),
            Some(&admin),
            Some(json!({"email": "new@example.com", "license_type": "developer", "group_ids": [group_id]})),
        )
        .await;
    assert_eq!(s, 201, "{invite}");
    let code = invite["data"]["code"].as_str().unwrap().to_owned();
    let (_, list) = app
        .call(Method::GET, &at(&app, "invites/"), Some(&admin), None)
        .await;
    assert_eq!(
        list["data"][0]["code"],
        Value::Null,
        "the code is shown once"
    );
    assert_eq!(list["data"][0]["status"], "pending");

    let redeem = |body: Value| app.call(Method::POST, "/api/v3/invites/redeem/", None, Some(body));
    let (s, out) = redeem(json!({"code": code, "password": "short"})).await;
    assert_eq!((s, out["data"]["field"].clone()), (400, json!("password")));
    let (s, out) =
        redeem(json!({"code": "lkinv_made_up", "password": "a long enough password"})).await;
    assert_eq!(
        s, 403,
        "a code is a credential, and this one opens no seat: {out}"
    );
    let (s, out) = redeem(json!({"code": code, "password": "a long enough password"})).await;
    assert_eq!(s, 201, "{out}");
    let user = out["data"]["user_id"].as_i64().unwrap();
    let (s, _) = redeem(json!({"code": code, "password": "a long enough password"})).await;
    assert_eq!(s, 403, "a code works once");

    // The new member signs in, makes a PAT, and acts with the invited group's permissions.
    let resp = app
        .http
        .post(format!("{}{}", app.url, at(&app, "personal-tokens/")))
        .basic_auth("new@example.com", Some("a long enough password"))
        .json(&json!({"name": "first"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let made: Value = resp.json().await.unwrap();
    let pat = made["data"]["token_string"].as_str().unwrap();
    assert_eq!(made["data"]["user_id"], user);
    assert_eq!(jobs_write_until(&app, pat, true).await["allowed"], true);
    let events = events(&app).await;
    for e in [
        "user.invite.added",
        "user.invite.redeemed",
        "user_license.added",
        "group.user.added",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
    }
}

#[tokio::test]
async fn invitations_are_withdrawn_and_never_reach_beyond_the_inviter() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let sec = app.token(app.account, &["security_admin:all"]).await;
    let admins = app
        .store
        .create_group(
            &latchkey_store::Actor::operator(),
            latchkey_core::Authority::Operator,
            app.account,
            "admins",
            &[crate::common::grant("account_admin:all")],
        )
        .await
        .unwrap();
    let (s, out) = app
        .call(
            Method::POST,
            &at(&app, "invites/"),
            Some(&sec),
            Some(json!({"email": "x@example.com", "license_type": "developer", "group_ids": [admins.id.0]})),
        )
        .await;
    assert_eq!(s, 403, "{out}");
    for body in [
        json!({"email": "not an email", "license_type": "developer"}),
        json!({"email": "x@example.com", "license_type": "emperor"}),
        json!({"email": "x@example.com", "license_type": "developer", "expires_in_days": 90}),
    ] {
        let (s, out) = app
            .call(
                Method::POST,
                &at(&app, "invites/"),
                Some(&admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, 400, "{body}: {out}");
    }
    // A group the account does not have conflicts with what exists.
    let (s, out) = app
        .call(
            Method::POST,
            &at(&app, "invites/"),
            Some(&admin),
            Some(json!({"email": "x@example.com", "license_type": "developer", "group_ids": [999_999]})),
        )
        .await;
    assert_eq!(s, 409, "{out}");
    let (s, invite) = app
        .call(
            Method::POST,
            &at(&app, "invites/"),
            Some(&admin),
            Some(json!({"email": "x@example.com", "license_type": "read_only"})),
        )
        .await;
    assert_eq!(s, 201);
    let code = invite["data"]["code"].as_str().unwrap().to_owned();
    let (s, out) = app
        .call(
            Method::DELETE,
            &at(&app, &format!("invites/{}/", invite["data"]["id"])),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (s, out["data"]["status"].clone()),
        (200, json!("withdrawn"))
    );
    let (s, _) = app
        .call(
            Method::POST,
            "/api/v3/invites/redeem/",
            None,
            Some(json!({"code": code, "password": "a long enough password"})),
        )
        .await;
    assert_eq!(s, 403, "a withdrawn code is dead");
}

#[tokio::test]
async fn whole_lists_are_answered_a_page_at_a_time() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    for name in ["three", "four", "five"] {
        let (s, out) = app
            .call(
                Method::POST,
                &at(&app, "projects/"),
                Some(&admin),
                Some(json!({ "name": name })),
            )
            .await;
        assert_eq!(s, 201, "{out}");
    }
    let (s, all) = app
        .call(Method::GET, &at(&app, "projects/"), Some(&admin), None)
        .await;
    assert_eq!(s, 200, "{all}");
    let all = all["data"].as_array().unwrap().clone();
    assert_eq!(all.len(), 5, "two from the harness, three made here");

    let mut paged = Vec::new();
    for offset in [0, 2, 4] {
        let (s, page) = app
            .call(
                Method::GET,
                &at(&app, &format!("projects/?offset={offset}&limit=2")),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(s, 200, "{page}");
        let pagination = &page["extra"]["pagination"];
        assert_eq!(pagination["offset"], offset);
        assert_eq!(pagination["limit"], 2);
        assert_eq!(pagination["total_count"], 5);
        let items = page["data"].as_array().unwrap();
        assert_eq!(pagination["count"], items.len());
        assert_eq!(items.len(), if offset == 4 { 1 } else { 2 });
        paged.extend(items.iter().cloned());
    }
    assert_eq!(paged, all, "the pages, in order, are the whole list");
    let (s, out) = app
        .call(
            Method::GET,
            &at(&app, "projects/?limit=0"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!((s, &out["data"]["field"]), (400, &json!("limit")), "{out}");
}
