//! The fixture: a server, an account_admin token, a victim token to update, rotate and so on,
//! and a victim IP rule (a deny rule; the account's rule set stays off), a user with a PAT, a
//! group and a pending invitation.

use reqwest::Method;
use serde_json::{json, Value};

use super::routes::{Route, GROUP_CREATE, INVITE, IP_CREATE, JSON};
use crate::common::{grant, spawn_app, App};

pub(super) struct Fixture {
    pub(super) app: App,
    pub(super) admin: String,
    /// A user's PAT, for the routes that act for a user.
    pub(super) pat: String,
    pub(super) victim: i64,
    pub(super) rule: i64,
    /// The PAT's user, and a group.
    pub(super) user: i64,
    pub(super) group: i64,
}

pub(super) async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (victim, _) = app.mint(&[grant("job_admin:all")]).await;
    let (user, pat) = app
        .user_with_pat(
            "user@example.com",
            latchkey_core::License::Developer,
            &["developer:all"],
        )
        .await;
    let mut fx = Fixture {
        app,
        admin,
        pat,
        victim: victim.0,
        rule: 0,
        user: user.0,
        group: 0,
    };
    let (status, out) = fx
        .json(
            GROUP_CREATE,
            &fx.path(GROUP_CREATE.1),
            &json!({"name": "victims"}),
        )
        .await;
    assert_eq!(status, 201, "the victim group: {out}");
    fx.group = out["data"]["id"].as_i64().unwrap();
    let (status, out) = fx
        .json(
            IP_CREATE,
            &fx.path(IP_CREATE.1),
            &json!({"name": "blocked", "type": 2, "cidrs": ["203.0.113.0/24"]}),
        )
        .await;
    assert_eq!(status, 201, "the victim IP rule: {out}");
    fx.rule = out["data"]["id"].as_i64().unwrap();
    // One pending invitation, so that every list has something to page through.
    let (status, out) = fx
        .json(
            INVITE,
            &fx.path(INVITE.1),
            &json!({"email": "pending@example.com", "license_type": "developer"}),
        )
        .await;
    assert_eq!(status, 201, "the pending invitation: {out}");
    fx
}

impl Fixture {
    /// A route's pattern with this account and the victim (token or IP rule) filled in.
    pub(super) fn path(&self, pattern: &str) -> String {
        let id = if pattern.contains("/ip-restrictions/") {
            self.rule
        } else if pattern.contains("/groups/") || pattern.contains("/group-permissions/") {
            self.group
        } else {
            self.victim
        };
        self.path_with_id(pattern, &id.to_string())
    }

    pub(super) fn path_with_id(&self, pattern: &str, id: &str) -> String {
        pattern
            .replace("{account_id}", &self.app.account.to_string())
            .replace("{project_id}", &self.app.p1.to_string())
            .replace("{user_id}", &self.user.to_string())
            .replace("{id}", id)
    }

    /// Sends raw bytes with the admin token; the status and the body text.
    pub(super) async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let token = if path.contains("/personal-tokens/") {
            &self.pat
        } else {
            &self.admin
        };
        let mut req = self
            .app
            .http
            .request(method, format!("{}{path}", self.app.url))
            .header("Authorization", format!("Token {token}"))
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Sends JSON with the admin token; the status and the parsed answer.
    pub(super) async fn json(&self, route: Route, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = self
            .send(route.0, path, JSON, body.to_string().into_bytes())
            .await;
        let label = format!("{} {} {body}", route.0, route.1);
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{label}: not JSON: {text}")),
        )
    }
}
