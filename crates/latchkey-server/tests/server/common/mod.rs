//! The one test harness for the server's HTTP suites: a real router on a loopback socket over a
//! real database of the suite's backend ([`crate::BACKEND`]: a SQLite file in a temporary
//! directory, or a new database in the throwaway PostgreSQL cluster), with an Enterprise account
//! and two projects.
#![allow(dead_code)]

use latchkey_core::{AccountId, Grant, Minter, ProjectId, TokenFormat, TokenId, TokenKind};
use latchkey_server::{AppState, ServerConfig};
use latchkey_store::{Actor, NewServiceToken, Store};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

/// A running server and the store behind it.
pub struct App {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The store the server runs on (tests may write to it directly as the operator).
    pub store: Store,
    /// The server's verifier (to look into its caches).
    pub verifier: std::sync::Arc<latchkey_server::Verifier>,
    /// A client.
    pub http: reqwest::Client,
    /// The Enterprise account made at start.
    pub account: AccountId,
    /// Its first project.
    pub p1: ProjectId,
    /// Its second project.
    pub p2: ProjectId,
    /// The database's URL (for tests that look at it behind the store's back).
    pub database_url: String,
    /// A temporary directory (SQLite: the database file's).
    pub dir: tempfile::TempDir,
    /// The state the server serves (for serving it on a further listener).
    pub state: AppState,
    shutdown: tokio::sync::oneshot::Sender<()>,
}

/// A server with the default configuration (fast change polling and usage flushing).
/// The suites read invitation codes from the inviter's answer, so this server is one whose
/// operator chose `--invite-delivery caller`; the default (off) is tested on its own.
pub async fn spawn_app() -> App {
    spawn_app_with(ServerConfig {
        invite_delivery: latchkey_server::config::InviteDelivery::Caller,
        ..ServerConfig::default()
    })
    .await
}

/// A server with `config`; change polling and usage flushing are sped up for tests.
pub async fn spawn_app_with(config: ServerConfig) -> App {
    let dir = tempfile::tempdir().unwrap();
    let database_url = new_database(&dir);
    let store = Store::open(&database_url).await.unwrap();
    let op = Actor::operator();
    let account = store
        .create_account(&op, "A", latchkey_core::Plan::Enterprise)
        .await
        .unwrap();
    let p1 = store
        .create_project(&op, account.id, "one")
        .await
        .unwrap()
        .id;
    let p2 = store
        .create_project(&op, account.id, "two")
        .await
        .unwrap()
        .id;
    let config = ServerConfig {
        change_poll: Duration::from_millis(50),
        usage_flush: Duration::from_millis(100),
        ..config
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(store.clone(), config);
    let verifier = state.verifier.clone();
    let served = state.clone();
    tokio::spawn(async move {
        latchkey_server::serve(listener, served, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    App {
        url,
        store,
        verifier,
        http: reqwest::Client::new(),
        account: account.id,
        p1,
        p2,
        database_url,
        dir,
        state,
        shutdown: tx,
    }
}

/// The operator's listener (`/metrics`, `latchkey serve --metrics-listen`) serving an app's
/// state; it stops when dropped.
pub struct Operator {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Operator {
    /// `GET /metrics` there: the status, the content type, and the text.
    pub async fn scrape(&self) -> (u16, String, String) {
        let resp = reqwest::get(format!("{}/metrics", self.url)).await.unwrap();
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, resp.text().await.unwrap())
    }
}

/// The URL of a new empty database of the suite's backend: `t.db` in `dir`, or a new database in
/// the test process's PostgreSQL cluster. Without PostgreSQL (and without `LATCHKEY_REQUIRE_PG=1`)
/// the PostgreSQL suite says so and ends here, passing.
pub fn new_database(dir: &tempfile::TempDir) -> String {
    match crate::BACKEND {
        latchkey_store::Backend::Sqlite => format!("sqlite://{}/t.db", dir.path().display()),
        latchkey_store::Backend::Postgres => latchkey_test_postgres::database_or_skip(),
    }
}

/// How long a test waits for a change to reach a running server: a revocation, a plan change, a
/// sweep, a `last_used` flush. Many times the poll and flush intervals the harness configures, so
/// that a loaded CI machine does not fail a correct build, while a change that never arrives
/// still fails. How fast changes arrive is a matter for benchmarks, not for tests.
pub const PROPAGATION: Duration = Duration::from_secs(15);

/// Runs `probe` every 20 ms until it yields `Some`, and returns what it yielded; panics naming
/// `what` once [`PROPAGATION`] has passed.
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            start.elapsed() < PROPAGATION,
            "{what}: not after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `token` asking for `jobs:read` gets `want` from `/api/v1/authorize`.
pub async fn until_status(app: &App, token: &str, want: u16) {
    eventually(&format!("authorize answering {want}"), async || {
        let (status, _) = app
            .authorize(token, serde_json::json!({"permission": "jobs:read"}))
            .await;
        (status == want).then_some(())
    })
    .await;
}

/// A grant from its compact form (`SET[:all|:project=ID][:envs=a,b]`).
pub fn grant(spec: &str) -> Grant {
    spec.parse().unwrap()
}

impl App {
    /// Stops the server as a signal does: no new connection, requests in hand finished.
    pub fn stop(&mut self) {
        let (still, _) = tokio::sync::oneshot::channel();
        drop(std::mem::replace(&mut self.shutdown, still));
    }

    /// Mints a service token in `account` as the operator; returns its id and secret.
    pub async fn mint_in(
        &self,
        account: AccountId,
        grants: &[Grant],
        expires: Option<time::OffsetDateTime>,
    ) -> (TokenId, String) {
        let new = TokenFormat::default().generate(TokenKind::Service);
        let t = self
            .store
            .create_service_token(
                &Actor::operator(),
                Minter::Operator,
                &NewServiceToken {
                    account_id: account,
                    name: "test",
                    grants,
                    expires_at: expires,
                    allowed_cidrs: &[],
                    uid: &new.uid,
                    digest: new.digest,
                    hint: &new.hint,
                },
            )
            .await
            .unwrap();
        (t.id, new.secret.expose().to_owned())
    }

    /// Mints a service token in the test account.
    pub async fn mint(&self, grants: &[Grant]) -> (TokenId, String) {
        self.mint_in(self.account, grants, None).await
    }

    /// Mints a service token in `account` from compact grant specs; returns the secret.
    pub async fn token(&self, account: AccountId, specs: &[&str]) -> String {
        let grants: Vec<Grant> = specs.iter().map(|g| grant(g)).collect();
        self.mint_in(account, &grants, None).await.1
    }

    /// Calls `path` with an optional `Token` header and JSON body; the status and the JSON
    /// answer (`Null` when the body is not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    /// [`App::call`] as if relayed by a proxy for `forwarded_for` (an `X-Forwarded-For` value).
    pub async fn call_via(
        &self,
        forwarded_for: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("X-Forwarded-For", forwarded_for);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    /// A user with `license` in the test account, in a group holding `grants`, and a personal
    /// access token of theirs; returns the user and the secret.
    /// A new user with `email` (and `password`, if given) holding a `license` seat in the
    /// account; their id.
    pub async fn member(
        &self,
        email: &str,
        password: Option<&str>,
        license: latchkey_core::License,
    ) -> latchkey_core::UserId {
        let op = Actor::operator();
        let password = password.map(|p| latchkey_core::Secret::new(p.to_owned()));
        let user = self
            .store
            .create_user(&op, self.account, email, password.as_ref())
            .await
            .unwrap();
        self.store
            .set_membership(
                &op,
                latchkey_core::Authority::Operator,
                self.account,
                user.id,
                license,
            )
            .await
            .unwrap();
        user.id
    }

    pub async fn user_with_pat(
        &self,
        email: &str,
        license: latchkey_core::License,
        grants: &[&str],
    ) -> (latchkey_core::UserId, String) {
        let op = Actor::operator();
        let user = self.member(email, None, license).await;
        let grants: Vec<Grant> = grants.iter().map(|g| grant(g)).collect();
        let group = self
            .store
            .create_group(
                &op,
                latchkey_core::Authority::Operator,
                self.account,
                &format!("{email} group"),
                &grants,
            )
            .await
            .unwrap()
            .id;
        self.store.add_group_member(&op, group, user).await.unwrap();
        let new = TokenFormat::default().generate(TokenKind::Personal);
        self.store
            .create_personal_token(
                &op,
                Minter::Operator,
                self.account,
                user,
                "pat",
                latchkey_store::NewServiceTokenParts {
                    uid: &new.uid,
                    digest: new.digest,
                    hint: &new.hint,
                },
                None,
            )
            .await
            .unwrap();
        (user, new.secret.expose().to_owned())
    }

    /// `POST /api/v1/authorize` with `body`.
    pub async fn authorize(&self, token: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, "/api/v1/authorize", Some(token), Some(body))
            .await
    }

    /// Sends raw bytes to `POST /api/v1/authorize` with a `Bearer` header and content type.
    pub async fn raw(
        &self,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("{}/api/v1/authorize", self.url))
            .body(body);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Serves this app's state on an operator's listener of its own.
    pub async fn operator(&self) -> Operator {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(latchkey_server::serve_operator(
            listener,
            self.state.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Operator { url, _stop: stop }
    }

    /// The account's service-token collection path.
    pub fn tokens(&self) -> String {
        format!("/api/v3/accounts/{}/service-tokens/", self.account)
    }
}
