//! People for the console's tests: the first-start admin, and users made through invitations
//! (a Read-only license with an Account Viewer group, a Developer in a Job Viewer group).

use crate::browser::Browser;
use crate::harness::{bootstrap_token, free_port, http, start_server_with, Env, Server};
use serde_json::{json, Value};
use std::process::Stdio;

/// A running `latchkey serve` fresh from its first start.
pub struct Site {
    pub env: Env,
    /// Stopped (killed) when the site is dropped.
    _server: Server,
    pub port: u16,
    /// The Account Admin token the first start printed.
    pub admin_token: String,
    /// The admin's password the first start printed.
    pub admin_password: String,
}

impl Site {
    /// Starts one, with `extra` arguments for `serve`.
    pub fn start(extra: &[&str]) -> Site {
        let env = Env::new();
        let port = free_port();
        let (server, lines) = start_server_with(&env, port, Stdio::null(), "warn", extra);
        let admin_password = lines
            .iter()
            .find_map(|l| l.strip_prefix("Admin password, shown once: "))
            .unwrap_or_else(|| panic!("no admin password in {lines:?}"))
            .trim()
            .to_owned();
        Site {
            admin_token: bootstrap_token(&lines),
            env,
            _server: server,
            port,
            admin_password,
        }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// An API call with the admin's token.
    pub fn api(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = http::request(
            method,
            &self.url(path),
            Some(&self.admin_token),
            &body.to_string(),
        )
        .unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Whether `token` may write jobs on project 1 (`POST /api/v1/authorize`): `None` when the
    /// token does not work at all (401).
    pub fn may_write_jobs(&self, token: &str) -> Option<bool> {
        let (status, text) = http::request(
            "POST",
            &self.url("/api/v1/authorize"),
            Some(token),
            r#"{"permission":"jobs:write","project_id":1}"#,
        )
        .unwrap();
        match status {
            200 => Some(serde_json::from_str::<Value>(&text).unwrap()["allowed"] == true),
            401 => None,
            other => panic!("authorize answered {other}: {text}"),
        }
    }

    /// A user made through an invitation (delivered by the operator's program): `license`, in a
    /// new group holding `set` on all projects; their e-mail and password.
    pub fn user(&self, name: &str, license: &str, set: &str) -> (String, String) {
        self.invite_and_redeem(name, license, set, |_| {
            let delivered: Value = serde_json::from_str(
                &std::fs::read_to_string(self.env.dir.path().join("delivered.json")).unwrap(),
            )
            .unwrap();
            delivered["code"].clone()
        })
    }

    /// [`Site::user`] on a site whose inviter gets the code in the API's answer.
    pub fn user_by_api(&self, name: &str, license: &str, set: &str) -> (String, String) {
        self.invite_and_redeem(name, license, set, |invite| invite["data"]["code"].clone())
    }

    fn invite_and_redeem(
        &self,
        name: &str,
        license: &str,
        set: &str,
        code_of: impl Fn(&Value) -> Value,
    ) -> (String, String) {
        let (status, group) = self.api(
            "POST",
            "/api/v3/accounts/1/groups/",
            &json!({"name": format!("{name} group"), "group_permissions": [
                {"permission_set": set, "all_projects": true}]}),
        );
        assert_eq!(status, 201, "{group}");
        let email = format!("{name}@example.com");
        let (status, invite) = self.api(
            "POST",
            "/api/v3/accounts/1/invites/",
            &json!({"email": email, "license_type": license,
                    "group_ids": [group["data"]["id"]]}),
        );
        assert_eq!(status, 201, "{invite}");
        let code = code_of(&invite);
        let password = format!("{name}-password-long-enough");
        let (status, text) = http::request(
            "POST",
            &self.url("/api/v3/invites/redeem/"),
            None,
            &json!({"code": code, "password": password}).to_string(),
        )
        .unwrap();
        assert_eq!(status, 201, "{text}");
        (email, password)
    }
}

/// Signs in through the form; waits for the page it leads to.
pub async fn sign_in(b: &Browser, site: &Site, email: &str, password: &str) {
    b.open(&site.url("/console/sign-in")).await;
    b.fill("#account", "1").await;
    b.fill("#email", email).await;
    b.fill("#password", password).await;
    b.click("button[type=submit]").await;
}

/// Posts a form from the page, as the browser would (same origin, its cookies): the status
/// and the page's text.
pub async fn post_from_page(b: &Browser, path: &str, body: &str) -> (u64, String) {
    let answer = b
        .client
        .execute_async(
            "const [url, body, done] = arguments;
             fetch(url, {method: 'POST', body: body,
                         headers: {'Content-Type': 'application/x-www-form-urlencoded'}})
               .then(r => r.text().then(t => done([r.status, t])))
               .catch(e => done([0, String(e)]));",
            vec![json!(path), json!(body)],
        )
        .await
        .unwrap();
    (
        answer[0].as_u64().unwrap(),
        answer[1].as_str().unwrap().to_owned(),
    )
}

/// The value of a form field on the page.
pub async fn value(b: &Browser, css: &str) -> String {
    b.find(css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The account's active tokens named `name`, newest first (by the API).
pub fn tokens_named(site: &Site, name: &str) -> Vec<Value> {
    let (status, page) = site.api(
        "GET",
        "/api/v3/accounts/1/service-tokens/?state=1&limit=1000",
        &Value::Null,
    );
    assert_eq!(status, 200, "{page}");
    let mut found: Vec<Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == name)
        .cloned()
        .collect();
    found.sort_by_key(|t| std::cmp::Reverse(t["id"].as_i64()));
    found
}
