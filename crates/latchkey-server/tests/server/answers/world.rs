//! The world the calls run in: the objects made before the rows are called, all through the API
//! where it can make them, and the builders of each kind of object.

use latchkey_core::{License, UserId};
use serde_json::{json, Value};

use super::calls::{at, call, request, setup, Auth, Payload};
use crate::common::{eventually, App};

pub(super) const PASSWORD: &str = "correct horse battery staple";

/// A far expiry, so tokens and PATs made with it keep working.
pub(super) const FAR: &str = "2099-01-01T00:00:00Z";

/// Objects made before the rows are called, all through the API where it can make them.
pub(super) struct World {
    /// An `account_admin:all` service token.
    pub(super) admin: String,
    /// The rich service token: grants on one project and on all projects (with writable
    /// environment categories), an expiry and an allowlist; used once (so `last_used` is set).
    pub(super) rich_id: i64,
    pub(super) rich: String,
    /// A member with a password, in `group`, and a PAT of theirs.
    pub(super) email: String,
    pub(super) user: UserId,
    pub(super) pat: String,
    pub(super) pat_id: i64,
    /// A group with permissions and members.
    pub(super) group: i64,
    /// An allow rule with IPv4 and IPv6 ranges (covering 127.0.0.1, where the calls come from).
    pub(super) rule: i64,
}

/// The body of a service token with every optional part.
pub(super) fn rich_token_body(app: &App, name: &str) -> Value {
    json!({
        "name": name,
        "permission_grants": [
            {"permission_set": "developer", "project_id": app.p1.0,
             "writable_environment_categories": ["production"]},
            {"permission_set": "developer", "all_projects": true,
             "writable_environment_categories": ["development", "staging"]},
        ],
        "expires_at": FAR,
        "allowed_cidrs": ["127.0.0.1/32", "2001:db8::/32"],
    })
}

/// A rich service token made over the API; its id and secret.
pub(super) async fn rich_token(app: &App, admin: &str, name: &str) -> (i64, String) {
    let made = setup(
        app,
        "POST",
        &at(app, "service-tokens/"),
        admin,
        rich_token_body(app, name),
    )
    .await;
    (
        made["data"]["id"].as_i64().unwrap(),
        made["data"]["token_string"].as_str().unwrap().to_owned(),
    )
}

/// A member of the account with a developer seat and a password; their id.
pub(super) async fn member(app: &App, email: &str) -> UserId {
    let user = app.member(email, Some(PASSWORD), License::Developer).await;
    user
}

/// A PAT of the user with `email`, made by signing in; its id and secret.
pub(super) async fn pat_of(app: &App, email: &str, name: &str) -> (i64, String) {
    let made = request(
        app,
        "POST",
        &at(app, "personal-tokens/"),
        Auth::Basic(email, PASSWORD),
        Payload::Json(json!({"name": name, "expires_at": FAR})),
        &[],
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let made = made.json();
    (
        made["data"]["id"].as_i64().unwrap(),
        made["data"]["token_string"].as_str().unwrap().to_owned(),
    )
}

/// An invitation over the API; its id and code.
pub(super) async fn invite(app: &App, admin: &str, email: &str, groups: &[i64]) -> (i64, String) {
    let made = setup(
        app,
        "POST",
        &at(app, "invites/"),
        admin,
        json!({"email": email, "license_type": "developer", "group_ids": groups}),
    )
    .await;
    (
        made["data"]["id"].as_i64().unwrap(),
        made["data"]["code"].as_str().unwrap().to_owned(),
    )
}

/// The body of a group's (or a token's) full grant list.
pub(super) fn grants_body(app: &App) -> Value {
    json!([
        {"permission_set": "developer", "project_id": app.p1.0,
         "writable_environment_categories": ["production"]},
        {"permission_set": "job_viewer", "all_projects": true},
    ])
}

/// An IP rule over the API; its id.
pub(super) async fn ip_rule(app: &App, admin: &str, name: &str, body: Value) -> i64 {
    let mut body = body;
    body["name"] = json!(name);
    setup(app, "POST", &at(app, "ip-restrictions/"), admin, body).await["data"]["id"]
        .as_i64()
        .unwrap()
}

/// An allow rule with IPv4 and IPv6 ranges, as strings and as dbt Cloud's objects.
pub(super) fn allow_rule_body() -> Value {
    json!({
        "type": 1,
        "description": "office and VPN",
        "cidrs": [
            "127.0.0.1/32",
            {"cidr": "203.0.113.0/24"},
            {"cidr_ipv6": "2001:db8::/32"},
        ],
    })
}

impl World {
    pub(super) async fn build(app: &App) -> World {
        let admin = app.token(app.account, &["account_admin:all"]).await;
        let (rich_id, rich) = rich_token(app, &admin, "rich").await;
        // Used once, so that `last_used` has a value.
        let used = call(
            app,
            "POST",
            "/api/v1/authorize",
            &rich,
            Some(json!({"permission": "jobs:read"})),
        )
        .await;
        assert_eq!(used.status, 200, "{}", used.text);
        let one = at(app, &format!("service-tokens/{rich_id}/"));
        eventually("the rich token's last_used", async || {
            let shown = call(app, "GET", &one, &admin, None).await.json();
            (!shown["data"]["last_used"].is_null()).then_some(())
        })
        .await;
        // A rotation with an overlap: the old token has `revoke_at`, the new `rotated_from_id`.
        let (rotated, _) = rich_token(app, &admin, "rotated").await;
        setup(
            app,
            "POST",
            &at(app, &format!("service-tokens/{rotated}/rotate/")),
            &admin,
            json!({"overlap_seconds": 3600}),
        )
        .await;

        let email = "member@example.com".to_owned();
        let user = member(app, &email).await;
        let (pat_id, pat) = pat_of(app, &email, "laptop").await;
        let made = setup(
            app,
            "POST",
            &at(app, "groups/"),
            &admin,
            json!({"name": "jobs", "group_permissions": grants_body(app)}),
        )
        .await;
        let group = made["data"]["id"].as_i64().unwrap();
        setup(
            app,
            "POST",
            &at(app, "assign-groups/"),
            &admin,
            json!({"user_id": user.0, "desired_group_ids": [group]}),
        )
        .await;

        // Invitations pending (with a group), redeemed and withdrawn.
        invite(app, &admin, "pending@example.com", &[group]).await;
        let (_, code) = invite(app, &admin, "redeemed@example.com", &[group]).await;
        let redeemed = request(
            app,
            "POST",
            "/api/v3/invites/redeem/",
            Auth::None,
            Payload::Json(json!({"code": code, "password": PASSWORD})),
            &[],
        )
        .await;
        assert_eq!(redeemed.status, 201, "{}", redeemed.text);
        let (withdrawn, _) = invite(app, &admin, "withdrawn@example.com", &[]).await;
        let path = at(app, &format!("invites/{withdrawn}/"));
        assert_eq!(call(app, "DELETE", &path, &admin, None).await.status, 200);

        let rule = ip_rule(app, &admin, "office", allow_rule_body()).await;
        ip_rule(
            app,
            &admin,
            "blocked",
            json!({"type": 2, "cidrs": ["198.51.100.0/24", {"cidr_ipv6": "2001:db8:dead::/48"}]}),
        )
        .await;
        World {
            admin,
            rich_id,
            rich,
            email,
            user,
            pat,
            pat_id,
            group,
            rule,
        }
    }
}
