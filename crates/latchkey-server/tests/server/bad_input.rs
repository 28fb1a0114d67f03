//! Bad input to every route of the route table that reads a body or a query string, over real
//! HTTP, with an `account_admin` token so that the guard lets each request through to its handler.
//! (`POST /api/v1/authorize` is left to `http_authorize.rs`.)
//!
//! Every refused request must answer a 4xx in the error envelope — `status.is_success == false`
//! and `status.code` equal to the HTTP status — never a 500, and must change nothing: each one is
//! bracketed by a [`Fingerprint`] of the database (every table's row count and largest rowid, read
//! from the SQLite file by the `sqlite3` shell when one is installed, plus what the store itself
//! reports: the audit-log size, the change-feed position, every token but its `last_used_at`, and
//! the IP rule set).
//!
//! Also: 10 MB bodies (chunked and with a `Content-Length`) are 413s; odd names are either refused
//! (control characters, blank, over 255 characters) or stored and read back byte for byte (format
//! characters, emoji, SQL-looking text); unknown ids are 404s; and a token's secret never reaches
//! the database file.
//!
//! The first test checks that every row of `table()` is classified below by the input it reads,
//! so a new route fails here until it is given cases. Every failure message names the route and
//! the input.

use latchkey_core::token::{SECRET_LEN, UID_LEN};
use latchkey_server::routes::table::table;
use latchkey_store::AuditQuery;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{eventually, grant, spawn_app, App};

/// A row of the route table: method and path pattern.
type Route = (&'static str, &'static str);

const CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/service-tokens/");
const UPDATE: Route = ("POST", "/api/v3/accounts/{account_id}/service-tokens/{id}/");
const UPDATE_PUT: Route = ("PUT", "/api/v3/accounts/{account_id}/service-tokens/{id}/");
const GRANTS: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
);
const ROTATE: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/",
);
const LEAK_REPORT: Route = ("POST", "/api/v1/credentials/revoke");
const INTROSPECT: Route = ("POST", "/oauth/introspect");
const AUTHORIZE: Route = ("POST", "/api/v1/authorize");
const LIST: Route = ("GET", "/api/v3/accounts/{account_id}/service-tokens/");
const RETRIEVE: Route = ("GET", "/api/v3/accounts/{account_id}/service-tokens/{id}/");
const AUDIT: Route = ("GET", "/api/v3/accounts/{account_id}/audit-logs/");
const IP_CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/ip-restrictions/");
const IP_SWITCH: Route = (
    "PUT",
    "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/",
);
const IP_UPDATE: Route = ("PUT", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/");
const IP_UPDATE_POST: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
);
const IP_RETRIEVE: Route = ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/");
const PROJECT_CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/projects/");
const PROJECT_UPDATE: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/projects/{project_id}/",
);
const LICENSE: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/users/{user_id}/license/",
);
const GROUP_CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/groups/");
const GROUP_UPDATE: Route = ("POST", "/api/v3/accounts/{account_id}/groups/{id}/");
const GROUP_GRANTS: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/group-permissions/{id}/",
);
const ASSIGN: Route = ("POST", "/api/v3/accounts/{account_id}/assign-groups/");
const INVITE: Route = ("POST", "/api/v3/accounts/{account_id}/invites/");
const REDEEM: Route = ("POST", "/api/v3/invites/redeem/");

/// Routes with a JSON body.
const JSON_ROUTES: [Route; 19] = [
    INVITE,
    REDEEM,
    PROJECT_CREATE,
    PROJECT_UPDATE,
    LICENSE,
    GROUP_CREATE,
    GROUP_UPDATE,
    GROUP_GRANTS,
    ASSIGN,
    CREATE,
    UPDATE,
    UPDATE_PUT,
    GRANTS,
    ROTATE,
    LEAK_REPORT,
    IP_CREATE,
    IP_SWITCH,
    IP_UPDATE,
    IP_UPDATE_POST,
];
/// Routes with a form body.
const FORM_ROUTES: [Route; 1] = [INTROSPECT];
/// Routes covered for bad bodies elsewhere (`http_authorize.rs`).
const COVERED_ELSEWHERE: [Route; 12] = [
    AUTHORIZE,
    // Forward auth reads headers only; forward_auth.rs and forward_uri.rs cover missing and odd
    // ones.
    ("GET", "/auth/forward"),
    ("POST", "/auth/forward"),
    ("PUT", "/auth/forward"),
    ("PATCH", "/auth/forward"),
    ("DELETE", "/auth/forward"),
    // The same for Envoy (forward_uri.rs covers its paths).
    ("GET", "/auth/forward/{*path}"),
    ("POST", "/auth/forward/{*path}"),
    ("PUT", "/auth/forward/{*path}"),
    ("PATCH", "/auth/forward/{*path}"),
    ("DELETE", "/auth/forward/{*path}"),
    // A PAT's create body: personal_tokens.rs (it needs a password sign-in).
    ("POST", "/api/v3/accounts/{account_id}/personal-tokens/"),
];
/// GET routes that read a query string: the token list and the audit log, and the lists read
/// whole and answered a page at a time (the personal-token list with the fixture's PAT).
const QUERY_ROUTES: [Route; 9] = [
    LIST,
    AUDIT,
    ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/"),
    ("GET", "/api/v3/accounts/{account_id}/projects/"),
    ("GET", "/api/v3/accounts/{account_id}/users/"),
    ("GET", "/api/v2/accounts/{account_id}/users/"),
    ("GET", "/api/v3/accounts/{account_id}/groups/"),
    ("GET", "/api/v3/accounts/{account_id}/invites/"),
    ("GET", "/api/v3/accounts/{account_id}/personal-tokens/"),
];
/// Routes that read neither a body nor a query (the `{id}` ones are probed with unknown ids).
const NO_INPUT_ROUTES: [Route; 22] = [
    ("GET", "/healthz"),
    ("GET", "/livez"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/v2/whoami/"),
    ("GET", "/api/v2/constants/"),
    ("GET", "/api/v2/accounts/"),
    ("GET", "/api/v3/accounts/"),
    RETRIEVE,
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/",
    ),
    IP_RETRIEVE,
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
    ),
    ("GET", "/api/v3/accounts/{account_id}/users/{user_id}/"),
    ("GET", "/api/v2/accounts/{account_id}/users/{user_id}/"),
    ("DELETE", "/api/v3/accounts/{account_id}/users/{user_id}/"),
    ("GET", "/api/v3/accounts/{account_id}/groups/{id}/"),
    ("DELETE", "/api/v3/accounts/{account_id}/invites/{id}/"),
    // A user's own PATs: called with the fixture's PAT.
    ("GET", "/api/v3/accounts/{account_id}/personal-tokens/{id}/"),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/personal-tokens/{id}/",
    ),
];

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// A body that the route accepts, so that a case's one defect is the only thing wrong.
fn valid_body(route: Route) -> &'static str {
    match route {
        CREATE => r#"{"name": "ok", "permission_grants": [{"permission_set": "job_viewer"}]}"#,
        UPDATE | UPDATE_PUT => r#"{"name": "renamed"}"#,
        GRANTS => r#"[{"permission_set": "job_viewer", "all_projects": true}]"#,
        ROTATE => r#"{"overlap_seconds": 60}"#,
        LEAK_REPORT => r#"{"credentials": ["lksvc_notarealtoken"]}"#,
        INTROSPECT => "token=lksvc_notarealtoken",
        IP_CREATE => r#"{"name": "office", "type": 2, "cidrs": ["198.51.100.0/24"]}"#,
        IP_SWITCH => r#"{"enabled": false}"#,
        IP_UPDATE | IP_UPDATE_POST => r#"{"name": "renamed"}"#,
        PROJECT_CREATE | GROUP_CREATE => r#"{"name": "new"}"#,
        PROJECT_UPDATE | GROUP_UPDATE => r#"{"name": "renamed"}"#,
        LICENSE => r#"{"license_type": "developer"}"#,
        GROUP_GRANTS => r#"[{"permission_set": "job_viewer", "all_projects": true}]"#,
        ASSIGN => r#"{"user_id": 1, "desired_group_ids": []}"#,
        INVITE => r#"{"email": "invitee@example.com", "license_type": "developer"}"#,
        REDEEM => r#"{"code": "lkinv_notarealcode", "password": "a long enough password"}"#,
        _ => unreachable!("no body for {route:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The fixture: a server, an account_admin token, a victim token to update, rotate and so on,
// and a victim IP rule (a deny rule; the account's rule set stays off).

struct Fixture {
    app: App,
    admin: String,
    /// A user's PAT, for the routes that act for a user.
    pat: String,
    victim: i64,
    rule: i64,
    /// The PAT's user, and a group.
    user: i64,
    group: i64,
}

async fn fixture() -> Fixture {
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
    fn path(&self, pattern: &str) -> String {
        let id = if pattern.contains("/ip-restrictions/") {
            self.rule
        } else if pattern.contains("/groups/") || pattern.contains("/group-permissions/") {
            self.group
        } else {
            self.victim
        };
        self.path_with_id(pattern, &id.to_string())
    }

    fn path_with_id(&self, pattern: &str, id: &str) -> String {
        pattern
            .replace("{account_id}", &self.app.account.to_string())
            .replace("{project_id}", &self.app.p1.to_string())
            .replace("{user_id}", &self.user.to_string())
            .replace("{id}", id)
    }

    /// Sends raw bytes with the admin token; the status and the body text.
    async fn send(
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
    async fn json(&self, route: Route, path: &str, body: &Value) -> (u16, Value) {
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

// ---------------------------------------------------------------------------------------------
// "A failed request changes nothing": a fingerprint of the database.

/// What a refused request must leave as it was. `last_used_at` is left out: the usage flusher
/// writes it after every authenticated request, refused or not.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    /// `table|rows|max rowid` for every table, from the file itself (`None` without `sqlite3`).
    tables: Option<Vec<String>>,
    audit_entries: i64,
    feed_position: i64,
    tokens: Vec<String>,
    ip_rules: String,
}

async fn fingerprint(app: &App) -> Fingerprint {
    let tokens = app
        .store
        .list_service_tokens(app.account, None)
        .await
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{} {:?} {:?} {} {:?} {:?} {:?} {:?}",
                t.id,
                t.name,
                t.state,
                t.updated_at,
                t.expires_at,
                t.revoke_at,
                t.rotated_from,
                t.grants
            )
        })
        .collect();
    Fingerprint {
        tables: table_fingerprint(&app.dir.path().join("t.db")),
        audit_entries: app.store.audit_count(&AuditQuery::default()).await.unwrap(),
        feed_position: app.store.latest_change().await.unwrap(),
        tokens,
        ip_rules: format!(
            "{:?}",
            app.store.ip_restrictions(app.account).await.unwrap()
        ),
    }
}

/// Every table's name, row count and largest rowid, read from the file by the `sqlite3` shell
/// (read-only). `None` when no `sqlite3` is installed: latchkey-server's dev-dependencies do not
/// include sqlx, so the store-level half of [`Fingerprint`] is all that runs then.
fn table_fingerprint(db: &Path) -> Option<Vec<String>> {
    let run = |sql: &str| -> Option<String> {
        let out = std::process::Command::new("sqlite3")
            .args(["-readonly", "-cmd", ".timeout 5000"])
            .arg(db)
            .arg(sql)
            .output()
            .ok()?;
        assert!(
            out.status.success(),
            "sqlite3 {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8(out.stdout).unwrap())
    };
    let names = run("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?;
    let counts = names
        .lines()
        .map(|t| format!("SELECT '{t}', count(*), coalesce(max(rowid), 0) FROM \"{t}\""))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    Some(run(&counts)?.lines().map(str::to_owned).collect())
}

/// The tables in the file, when `sqlite3` is installed.
fn table_names(app: &App) -> Option<Vec<String>> {
    table_fingerprint(&app.dir.path().join("t.db")).map(|rows| {
        rows.iter()
            .map(|r| r.split('|').next().unwrap().to_owned())
            .collect()
    })
}

// ---------------------------------------------------------------------------------------------
// Cases and the checks every refused one gets.

/// One bad request: where it goes, what it carries, and the refusal it must get.
struct Case {
    route: Route,
    /// The path when it is not the route's pattern filled in (a query string, an unknown id).
    path: Option<String>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    want: u16,
    /// `data.field` the refusal must name, when it names one.
    field: Option<&'static str>,
}

/// A JSON body the route must refuse with a 400.
fn case(route: Route, body: impl Into<Vec<u8>>) -> Case {
    Case {
        route,
        path: None,
        content_type: JSON,
        body: body.into(),
        want: 400,
        field: None,
    }
}

impl Case {
    fn field(self, field: &'static str) -> Case {
        Case {
            field: Some(field),
            ..self
        }
    }

    fn want(self, want: u16) -> Case {
        Case { want, ..self }
    }

    fn content_type(self, content_type: Option<&'static str>) -> Case {
        Case {
            content_type,
            ..self
        }
    }

    fn label(&self, path: &str) -> String {
        let shown = String::from_utf8_lossy(&self.body[..self.body.len().min(80)]);
        let more = if self.body.len() > 80 {
            format!("… ({} bytes)", self.body.len())
        } else {
            String::new()
        };
        format!(
            "{} {path} [{}] {shown:?}{more}",
            self.route.0,
            self.content_type.unwrap_or("no Content-Type")
        )
    }
}

/// Checks that an answer is a 4xx (never a 500) in the error envelope; returns the envelope.
fn assert_error_envelope(label: &str, status: u16, text: &str) -> Value {
    error_envelope(status, text).unwrap_or_else(|e| panic!("{label}: {e}"))
}

/// The envelope of a 4xx answer, or what is wrong with the answer.
fn error_envelope(status: u16, text: &str) -> Result<Value, String> {
    if status == 500 {
        return Err(format!("server error: {text}"));
    }
    if !(400..500).contains(&status) {
        return Err(format!("expected a 4xx, got {status}: {text}"));
    }
    let out: Value = serde_json::from_str(text).map_err(|e| {
        format!("the {status} answer is not the JSON error envelope ({e}): {text:?}")
    })?;
    let status_ok = out["status"]["is_success"] == false
        && out["status"]["code"] == status
        && out["status"]["user_message"].is_string()
        && out.get("data").is_some();
    if !status_ok {
        return Err(format!("not the error envelope for a {status}: {text}"));
    }
    Ok(out)
}

/// Sends a case and checks its refusal, and that the database is as it was; returns the envelope.
async fn assert_refused(fx: &Fixture, c: &Case) -> Value {
    check_refused(fx, c).await.unwrap_or_else(|e| panic!("{e}"))
}

/// [`assert_refused`] without the panic: what went wrong, labelled with the route and input.
async fn check_refused(fx: &Fixture, c: &Case) -> Result<Value, String> {
    let path = c.path.clone().unwrap_or_else(|| fx.path(c.route.1));
    let label = c.label(&path);
    let before = fingerprint(&fx.app).await;
    let (status, text) = fx
        .send(c.route.0, &path, c.content_type, c.body.clone())
        .await;
    let changed = fingerprint(&fx.app).await != before;
    let out = error_envelope(status, &text).map_err(|e| {
        let changed = if changed {
            " (and it changed the database)"
        } else {
            ""
        };
        format!("{label}: {e}{changed}")
    })?;
    if status != c.want {
        return Err(format!("{label}: want {}, got {status}: {text}", c.want));
    }
    if let Some(field) = c.field {
        if out["data"]["field"] != field {
            return Err(format!("{label}: want data.field {field:?}: {text}"));
        }
    }
    if changed {
        return Err(format!("{label}: a refused request changed the database"));
    }
    Ok(out)
}

#[tokio::test]
async fn the_fingerprint_sees_every_kind_of_write() {
    let fx = fixture().await;
    let tables = table_fingerprint(&fx.app.dir.path().join("t.db"));
    eprintln!("table fingerprint: {tables:?}");
    // A create adds rows; a rename adds an audit entry and changes a row in place.
    let writes = [
        (CREATE, valid_body(CREATE)),
        (UPDATE, r#"{"name": "renamed once"}"#),
        (IP_UPDATE, r#"{"description": "changed"}"#),
    ];
    for (route, body) in writes {
        let before = fingerprint(&fx.app).await;
        let (status, out) = fx
            .json(
                route,
                &fx.path(route.1),
                &serde_json::from_str(body).unwrap(),
            )
            .await;
        assert!(status < 300, "{} {} {body}: {out}", route.0, route.1);
        let after = fingerprint(&fx.app).await;
        assert_ne!(after, before, "{} {} {body}", route.0, route.1);
        if tables.is_some() {
            assert_ne!(
                after.tables, before.tables,
                "{} {} {body}",
                route.0, route.1
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The table of routes.

#[test]
fn every_route_in_the_table_is_classified_here_by_the_input_it_reads() {
    let known: Vec<Route> = JSON_ROUTES
        .iter()
        .chain(&FORM_ROUTES)
        .chain(&COVERED_ELSEWHERE)
        .chain(&QUERY_ROUTES)
        .chain(&NO_INPUT_ROUTES)
        .copied()
        .collect();
    let rows = table();
    for (spec, _) in &rows {
        let row = (spec.method.as_str(), spec.path);
        assert_eq!(
            known.iter().filter(|r| **r == row).count(),
            1,
            "{} {}: a route this suite does not know; add it to one of the lists \
             (and give it bad-input cases if it reads a body or a query)",
            row.0,
            row.1
        );
    }
    assert_eq!(rows.len(), known.len(), "a listed route left the table");
}

// ---------------------------------------------------------------------------------------------
// Bodies.

/// Defects every JSON route refuses the same way.
fn malformed_json_cases(route: Route) -> Vec<Case> {
    let valid = valid_body(route);
    vec![
        case(route, &valid[..valid.len() - 1]),
        case(route, format!("{valid} garbage")),
        case(route, format!("{valid}{valid}")),
        case(route, "["),
        case(route, "{"),
        case(route, ""),
        case(route, "   "),
        case(route, "null"),
        case(route, "42"),
        case(route, r#""a string""#),
        case(route, b"{\"name\": \"\xff\xfe\"}".to_vec()),
        case(route, "\u{feff}{}"),
        case(route, "[".repeat(20_000)),
        case(route, format!("{}1{}", "[".repeat(200), "]".repeat(200))),
        case(route, valid).content_type(None).want(415),
        case(route, valid)
            .content_type(Some("text/plain"))
            .want(415),
        case(route, valid).content_type(FORM).want(415),
        case(route, valid)
            .content_type(Some("application/jsonp"))
            .want(415),
        case(route, "").content_type(None).want(415),
    ]
}

/// Wrong types and values for each known field.
fn field_cases(p1: i64) -> Vec<Case> {
    let grant = |g: &str| format!(r#"{{"name": "x", "permission_grants": [{g}]}}"#);
    let envs = |e: &str| {
        grant(&format!(
            r#"{{"permission_set": "developer", "writable_environment_categories": {e}}}"#
        ))
    };
    let project = |p: &str| {
        grant(&format!(
            r#"{{"permission_set": "job_admin", "project_id": {p}}}"#
        ))
    };
    let cidrs = |c: &str| {
        format!(
            r#"{{"name": "x", "permission_grants": [{{"permission_set": "job_viewer"}}], "allowed_cidrs": {c}}}"#
        )
    };
    let expires = |e: &str| {
        format!(
            r#"{{"name": "x", "permission_grants": [{{"permission_set": "job_viewer"}}], "expires_at": {e}}}"#
        )
    };
    let mut cases = vec![
        // name
        case(CREATE, r#"{"name": 5}"#),
        case(CREATE, r#"{"name": 1.5}"#),
        case(CREATE, r#"{"name": {"first": "x"}}"#),
        case(CREATE, r#"{"name": ["x"]}"#),
        case(CREATE, r#"{"name": true}"#),
        case(CREATE, r#"{"name": null}"#),
        case(CREATE, r#"{}"#),
        case(CREATE, r#"{"permission_grants": []}"#),
        case(CREATE, r#"{"name": "a", "name": "b"}"#),
        case(CREATE, r#"{"name": "\ud800"}"#),
        case(CREATE, r#"{"name": "bad\x"}"#),
        // permission_grants
        case(CREATE, r#"{"name": "x", "permission_grants": {}}"#),
        case(
            CREATE,
            r#"{"name": "x", "permission_grants": {"permission_set": "job_admin"}}"#,
        ),
        case(CREATE, r#"{"name": "x", "permission_grants": "job_admin"}"#),
        case(CREATE, r#"{"name": "x", "permission_grants": 1}"#),
        case(CREATE, grant("5")),
        case(CREATE, grant("{}")),
        case(CREATE, grant(r#"{"permission_set": 5}"#)),
        case(CREATE, grant(r#"{"permission_set": null}"#)),
        case(CREATE, grant(r#"{"permission_set": "root"}"#))
            .field("permission_grants[0].permission_set"),
        case(CREATE, grant(r#"{"permission_set": ""}"#))
            .field("permission_grants[0].permission_set"),
        case(CREATE, grant(r#"{"permission_set": "job_admin\u0000"}"#))
            .field("permission_grants[0].permission_set"),
        case(
            CREATE,
            r#"{"name": "x", "permission_grants": [{"permission_set": "job_viewer"}, {"permission_set": "nope"}]}"#,
        )
        .field("permission_grants[1].permission_set"),
        // project_id and all_projects
        case(CREATE, project(r#""1""#)),
        case(CREATE, project("1.5")),
        // `1e3` is the integer 1000 (JSON Schema's `integer`), which is no project here.
        case(CREATE, project("1e3")).want(409),
        case(CREATE, project("[1]")),
        case(CREATE, project("9223372036854775808")),
        case(CREATE, project("99999999999999999999999")),
        case(CREATE, project("-1")).field("permission_grants[0].project_id"),
        case(CREATE, project("0")).field("permission_grants[0].project_id"),
        case(CREATE, project("-9223372036854775808")).field("permission_grants[0].project_id"),
        // A positive id that is no project of this account: it conflicts with what exists.
        case(CREATE, project("9223372036854775807")).want(409),
        case(
            CREATE,
            grant(r#"{"permission_set": "job_admin", "all_projects": "yes"}"#),
        ),
        case(
            CREATE,
            grant(r#"{"permission_set": "job_admin", "all_projects": 1}"#),
        ),
        case(
            CREATE,
            grant(&format!(
                r#"{{"permission_set": "job_admin", "all_projects": true, "project_id": {p1}}}"#
            )),
        )
        .field("permission_grants[0].project_id"),
        case(
            CREATE,
            grant(r#"{"permission_set": "job_admin", "all_projects": false}"#),
        )
        .field("permission_grants[0].project_id"),
        // writable_environment_categories
        case(CREATE, envs(r#"["prod"]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#"["all", "bogus"]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#"["Development"]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#"[""]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#""all""#)),
        case(CREATE, envs("[1]")),
        case(CREATE, envs("{}")),
        case(
            CREATE,
            grant(
                r#"{"permission_set": "job_admin", "writable_environment_categories": ["development"]}"#,
            ),
        )
        .field("permission_grants[0].writable_environment_categories"),
        // expires_at
        case(CREATE, expires(r#""garbage""#)).field("expires_at"),
        case(CREATE, expires(r#""""#)).field("expires_at"),
        case(CREATE, expires(r#""2030-13-45T99:99:99Z""#)).field("expires_at"),
        case(CREATE, expires(r#""2030-01-01""#)).field("expires_at"),
        case(CREATE, expires(r#""2030-01-01T00:00:00""#)).field("expires_at"),
        case(CREATE, expires(r#""+12030-01-01T00:00:00Z""#)).field("expires_at"),
        case(CREATE, expires("1893456000")),
        case(CREATE, expires("{}")),
        // In the past: refused by the store, no field.
        case(CREATE, expires(r#""2000-01-01T00:00:00Z""#)),
        case(CREATE, expires(r#""1970-01-01T00:00:00Z""#)),
        // allowed_cidrs
        case(CREATE, cidrs(r#""10.0.0.0/8""#)),
        case(CREATE, cidrs("[5]")),
        case(CREATE, cidrs("[null]")),
        case(CREATE, cidrs(r#"{"cidr": "10.0.0.0/8"}"#)),
        case(CREATE, cidrs(r#"["bogus"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/8", "10.0.0.0/33"]"#)).field("allowed_cidrs[1]"),
        case(CREATE, cidrs(r#"["::/129"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/-1"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/0008"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["256.0.0.1"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/8\u0000"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"[""]"#)).field("allowed_cidrs[0]"),
    ];
    for route in [UPDATE, UPDATE_PUT] {
        cases.extend([
            case(route, r#"{"name": 5}"#),
            case(route, r#"{"name": {}}"#),
            case(route, r#"{"name": []}"#),
            case(route, r#"{"name": false}"#),
            case(route, r#"{"name": "\udfff"}"#),
            case(route, r#"{"state": "2"}"#),
            case(route, r#"{"state": "active"}"#),
            case(route, r#"{"state": 2.5}"#),
            case(route, r#"{"state": true}"#),
            case(route, r#"{"state": [2]}"#),
            case(route, r#"{"state": 9223372036854775808}"#),
            case(route, r#"{"state": 99}"#).field("state"),
            case(route, r#"{"state": -1}"#).field("state"),
            case(route, r#"{"state": 0}"#).field("state"),
            case(route, r#"{"state": 3}"#).field("state"),
            case(route, r#"{"state": -9223372036854775808}"#).field("state"),
            // The name is checked before the state: nothing is revoked.
            case(route, r#"{"name": "", "state": 2}"#),
            case(route, r#"{"state": 2, "state": 2}"#),
            case(route, r#"{"allowed_cidrs": "10.0.0.0/8"}"#),
            case(route, r#"{"allowed_cidrs": [5]}"#),
            case(route, r#"{"allowed_cidrs": ["bogus"]}"#).field("allowed_cidrs[0]"),
            case(route, r#"{"allowed_cidrs": ["1.2.3.4/40"], "state": 2}"#)
                .field("allowed_cidrs[0]"),
        ]);
    }
    let rule =
        |r: &str| format!(r#"{{"name": "r", "type": 2, "cidrs": ["198.51.100.0/24"], {r}}}"#);
    cases.extend([
        // IP rules: name, type, cidrs, description, the switches
        case(IP_CREATE, "{}").field("name"),
        case(IP_CREATE, r#"{"type": 2, "cidrs": ["198.51.100.0/24"]}"#).field("name"),
        case(IP_CREATE, r#"{"name": "r", "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(IP_CREATE, r#"{"name": "r", "type": 2}"#).field("cidrs"),
        case(IP_CREATE, r#"{"name": 5, "type": 2, "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": ["r"], "type": 2, "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": "2", "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2.5, "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 3, "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(IP_CREATE, r#"{"name": "r", "type": 0, "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(IP_CREATE, r#"{"name": "r", "type": -1, "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(
            IP_CREATE,
            r#"{"name": "r", "type": 9223372036854775808, "cidrs": ["198.51.100.0/24"]}"#,
        ),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": "198.51.100.0/24"}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": {}}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [5]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [null]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": ["bogus"]}"#).field("cidrs[0]"),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": ["198.51.100.0/33"]}"#)
            .field("cidrs[0]"),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [{}]}"#).field("cidrs[0]"),
        case(
            IP_CREATE,
            r#"{"name": "r", "type": 2, "cidrs": [{"cidr": "10.0.0.0/8", "cidr_ipv6": "::/0"}]}"#,
        )
        .field("cidrs[0]"),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [{"cidr": 5}]}"#),
        // Refused by the store (no field): no ranges, a range twice.
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": []}"#),
        case(
            IP_CREATE,
            r#"{"name": "r", "type": 2, "cidrs": ["198.51.100.0/24", "198.51.100.0/24"]}"#,
        ),
        case(IP_CREATE, rule(r#""description": 5"#)),
        case(IP_CREATE, rule(r#""description": "tab\there""#)),
        case(IP_CREATE, json!({"name": "r", "type": 2, "cidrs": ["198.51.100.0/24"], "description": "d".repeat(1001)}).to_string()),
        case(IP_CREATE, rule(r#""rule_set_enabled": "true""#)),
        case(IP_CREATE, rule(r#""rule_set_enabled": 1"#)),
        case(IP_CREATE, rule(r#""enabled_for_service_tokens": "yes""#)),
        case(IP_CREATE, rule(r#""enabled_for_service_tokens": false"#))
            .field("enabled_for_service_tokens"),
        case(IP_SWITCH, "{}"),
        case(IP_SWITCH, r#"{"enabled": "true"}"#),
        case(IP_SWITCH, r#"{"enabled": 1}"#),
        case(IP_SWITCH, r#"{"enabled": null}"#),
        case(IP_SWITCH, r#"{"enabled": false, "extra": 1}"#),
    ]);
    for route in [IP_UPDATE, IP_UPDATE_POST] {
        cases.extend([
            case(route, r#"{"name": 5}"#),
            case(route, r#"{"name": ""}"#),
            case(route, r#"{"type": "1"}"#),
            case(route, r#"{"type": 7}"#).field("type"),
            case(route, r#"{"cidrs": "198.51.100.0/24"}"#),
            case(route, r#"{"cidrs": ["nope"]}"#).field("cidrs[0]"),
            case(route, r#"{"cidrs": []}"#),
            case(route, r#"{"enabled_for_service_tokens": false}"#)
                .field("enabled_for_service_tokens"),
            case(route, r#"{"rule_set_enabled": "on"}"#),
        ]);
    }
    cases.extend([
        case(GRANTS, "{}"),
        case(GRANTS, r#"{"permission_set": "job_viewer"}"#),
        case(GRANTS, "[5]"),
        case(GRANTS, r#"["job_viewer"]"#),
        case(GRANTS, r#"[{"permission_set": 5}]"#),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": "1"}]"#,
        ),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": 9223372036854775808}]"#,
        ),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": -1}]"#,
        )
        .field("permission_grants[0].project_id"),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": 9223372036854775807}]"#,
        )
        .want(409),
        case(
            GRANTS,
            r#"[{"permission_set": "developer", "writable_environment_categories": ["prod"]}]"#,
        )
        .field("permission_grants[0].writable_environment_categories"),
        case(
            GRANTS,
            r#"[{"permission_set": "developer", "writable_environment_categories": "all"}]"#,
        ),
        case(
            GRANTS,
            r#"[{"permission_set": "job_viewer"}, {"permission_set": "nope"}]"#,
        )
        .field("permission_grants[1].permission_set"),
        // overlap_seconds
        case(ROTATE, r#"{"overlap_seconds": -1}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": 604801}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": 9223372036854775807}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": -9223372036854775808}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": 9223372036854775808}"#),
        case(ROTATE, r#"{"overlap_seconds": 1e20}"#),
        case(ROTATE, r#"{"overlap_seconds": 1.5}"#),
        case(ROTATE, r#"{"overlap_seconds": "60"}"#),
        case(ROTATE, r#"{"overlap_seconds": null}"#),
        case(ROTATE, r#"{"overlap_seconds": []}"#),
        case(ROTATE, r#"{"overlap": 60}"#),
        // the leaked-credential report
        case(LEAK_REPORT, "{}"),
        case(LEAK_REPORT, r#"{"credentials": "lksvc_x"}"#),
        case(LEAK_REPORT, r#"{"credentials": [1]}"#),
        case(LEAK_REPORT, r#"{"credentials": [null]}"#),
        case(LEAK_REPORT, r#"{"credentials": {}}"#),
        case(LEAK_REPORT, r#"{"credentials": ["x"], "note": "hi"}"#),
        case(LEAK_REPORT, r#"{"credentials": []}"#).field("credentials"),
        case(
            LEAK_REPORT,
            json!({ "credentials": vec!["x"; 1001] }).to_string(),
        )
        .field("credentials"),
        // introspection takes a form, not JSON
        case(INTROSPECT, valid_body(INTROSPECT))
            .content_type(None)
            .want(415),
        case(INTROSPECT, r#"{"token": "lksvc_x"}"#).want(415),
        case(INTROSPECT, valid_body(INTROSPECT))
            .content_type(Some("text/plain"))
            .want(415),
        case(INTROSPECT, "").content_type(FORM),
        case(INTROSPECT, "token_type_hint=access_token").content_type(FORM),
        case(INTROSPECT, "token=a&token=b").content_type(FORM),
        case(INTROSPECT, b"\xff\xfe\x00".to_vec()).content_type(FORM),
    ]);
    cases
}

#[tokio::test]
async fn malformed_bodies_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let cases: Vec<Case> = JSON_ROUTES
        .iter()
        .flat_map(|r| malformed_json_cases(*r))
        .collect();
    for c in &cases {
        assert_refused(&fx, c).await;
    }
    eprintln!("{} malformed-body cases", cases.len());
}

#[tokio::test]
async fn mistyped_and_out_of_range_fields_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let cases = field_cases(fx.app.p1.0);
    for c in &cases {
        assert_refused(&fx, c).await;
    }
    // The victim survived every one of them: still active, still named, still one grant.
    let (status, out) = fx.json(RETRIEVE, &fx.path(RETRIEVE.1), &json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"]["state"], 1, "{out}");
    assert_eq!(out["data"]["name"], "test", "{out}");
    assert_eq!(
        out["data"]["permission_grants"].as_array().unwrap().len(),
        1
    );
    eprintln!("{} field cases", cases.len());
}

// A JSON array where the route expects an object must be refused: serde would take it for the
// struct's fields in order, even with `deny_unknown_fields` (found by this suite: `["seq", 2]`
// sent to `POST …/service-tokens/{id}/` renamed the token *and revoked it*; `[true]` turned IP
// restrictions on). The body must be an object; the grants route alone takes an array.
#[tokio::test]
async fn a_json_array_is_not_taken_for_an_object() {
    let fx = fixture().await;
    let cases = [
        case(ROTATE, "[]"),
        case(
            CREATE,
            r#"["positional", [{"permission_set": "job_viewer"}]]"#,
        ),
        case(UPDATE_PUT, r#"["positional"]"#),
        case(UPDATE, r#"["positional", 2]"#),
        case(IP_CREATE, r#"["positional", 2, "d", ["192.0.2.0/24"]]"#),
        case(IP_UPDATE, r#"["positional"]"#),
        case(IP_SWITCH, "[false]"),
        case(LEAK_REPORT, r#"[["lksvc_notarealtoken"]]"#),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        if let Err(e) = check_refused(&fx, c).await {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 10 MB bodies, over a raw socket.

const HUGE: usize = 10 * 1024 * 1024;

/// Sends a 10 MB body over a raw TCP connection, chunked or with a `Content-Length`, writing as
/// long as the server reads and reading the answer at the same time (the server may answer 413
/// and close before the body is through; write errors after that are expected). Returns the
/// status and the answer's body.
async fn send_huge(
    fx: &Fixture,
    route: Route,
    content_type: &str,
    token: Option<&str>,
    chunked: bool,
) -> (u16, String) {
    let addr = fx.app.url.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nConnection: close\r\n",
        route.0,
        fx.path(route.1)
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Token {t}\r\n"));
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    } else {
        head.push_str(&format!("Content-Length: {HUGE}\r\n\r\n"));
    }
    let (open, filler) = if content_type.contains("json") {
        (&b"{\"name\": \""[..], b'a')
    } else {
        (&b"token="[..], b'a')
    };
    let write = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let piece = 64 * 1024;
        let mut sent = 0;
        while sent < HUGE {
            let n = piece.min(HUGE - sent);
            let mut data = vec![filler; n];
            if sent == 0 {
                data[..open.len()].copy_from_slice(open);
            }
            if chunked {
                writer.write_all(format!("{n:x}\r\n").as_bytes()).await?;
                writer.write_all(&data).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(&data).await?;
            }
            sent += n;
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            if complete_response(&answer) {
                break;
            }
        }
    })
    .await;
    write.abort();
    assert!(
        read.is_ok(),
        "{} {}: no answer within 30 s",
        route.0,
        route.1
    );
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{} {}: no complete answer: {text:?}", route.0, route.1));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{} {}: bad status line: {head:?}", route.0, route.1));
    (status, body.to_owned())
}

/// True once `answer` holds the head and a `Content-Length` worth of body.
fn complete_response(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .is_some_and(|len| body.len() >= len)
}

#[tokio::test]
async fn ten_megabyte_bodies_are_413_envelopes_chunked_or_with_a_length() {
    let fx = fixture().await;
    let routes = JSON_ROUTES.iter().chain(&FORM_ROUTES);
    let mut n = 0;
    for route in routes {
        let ct = if FORM_ROUTES.contains(route) {
            FORM.unwrap()
        } else {
            JSON.unwrap()
        };
        for chunked in [true, false] {
            let label = format!(
                "{} {} with 10 MB {}",
                route.0,
                route.1,
                if chunked {
                    "chunked"
                } else {
                    "and Content-Length: 10485760"
                }
            );
            let before = fingerprint(&fx.app).await;
            let (status, body) = send_huge(&fx, *route, ct, Some(&fx.admin), chunked).await;
            assert_error_envelope(&label, status, &body);
            assert_eq!(status, 413, "{label}: {body}");
            assert_eq!(
                fingerprint(&fx.app).await,
                before,
                "{label}: a refused request changed the database"
            );
            n += 1;
        }
    }
    // The server is still fine after all that.
    let (status, out) = fx.json(LIST, &fx.path(LIST.1), &json!({})).await;
    assert_eq!(status, 200, "{out}");
    eprintln!("{n} 10 MB cases");
}

// ---------------------------------------------------------------------------------------------
// Query strings.

#[tokio::test]
async fn bad_query_strings_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let q = |route: Route, query: &str| Case {
        path: Some(format!("{}{query}", fx.path(route.1))),
        ..case(route, "").content_type(None)
    };
    let mut cases = Vec::new();
    for route in QUERY_ROUTES {
        // No route clamps: out-of-range numbers are refused, never silently adjusted.
        cases.extend([
            q(route, "?offset=99999999999999999999"),
            q(route, "?offset=9223372036854775808"),
            q(route, "?offset=-1").field("offset"),
            q(route, "?offset=-9223372036854775808").field("offset"),
            q(route, "?offset=1.5"),
            q(route, "?offset=abc"),
            q(route, "?offset=%00"),
            q(route, "?offset="),
            q(route, "?limit=0").field("limit"),
            q(route, "?limit=-5").field("limit"),
            q(route, "?limit=1001").field("limit"),
            q(route, "?limit=100000").field("limit"),
            q(route, "?limit=9223372036854775807").field("limit"),
            q(route, "?limit=1e3"),
            q(route, "?limit=10.0"),
            q(route, "?limit=0x10"),
            q(route, "?limit=ten"),
            q(route, "?limit=5&limit=6"),
            q(route, "?offset=0&offset=0"),
        ]);
    }
    cases.extend([
        q(LIST, "?state=abc"),
        q(LIST, "?state=1.0"),
        q(LIST, "?state=3").field("state"),
        q(LIST, "?state=0").field("state"),
        q(LIST, "?state=-1").field("state"),
        q(LIST, "?state=1&state=2"),
        q(AUDIT, "?state=abc"),
        q(AUDIT, "?bogus=1"),
        q(AUDIT, "?limit[]=5"),
        q(AUDIT, "?format=xml").field("format"),
        q(AUDIT, "?format=CSV").field("format"),
        q(AUDIT, "?format=csv&limit=100001").field("limit"),
        q(AUDIT, "?format=json&format=csv"),
        q(AUDIT, "?actor_id=abc"),
        q(AUDIT, "?actor_id=99999999999999999999"),
        q(AUDIT, "?target_id=1.5"),
        q(AUDIT, "?target_id=99999999999999999999"),
        q(AUDIT, "?logged_at_start=yesterday").field("logged_at_start"),
        q(AUDIT, "?logged_at_start=2024-01-01T00:00:00").field("logged_at_start"),
        q(AUDIT, "?logged_at_start=2024-1-1").field("logged_at_start"),
        q(AUDIT, "?logged_at_end=2024-02-30").field("logged_at_end"),
        q(
            AUDIT,
            "?logged_at_end=%27%3B%20DROP%20TABLE%20audit_log%3B--",
        )
        .field("logged_at_end"),
    ]);
    for c in &cases {
        assert_refused(&fx, c).await;
    }
    eprintln!("{} query cases", cases.len());
}

#[tokio::test]
async fn edge_query_strings_are_answered_as_written() {
    let fx = fixture().await;
    let get = |route: Route, query: &str| {
        let path = format!("{}{query}", fx.path(route.1));
        let fx = &fx;
        async move {
            let before = fingerprint(&fx.app).await;
            let (status, text) = fx.send(route.0, &path, None, Vec::new()).await;
            assert_eq!(status, 200, "GET {path}: {text}");
            assert_eq!(
                fingerprint(&fx.app).await,
                before,
                "GET {path} changed the database"
            );
            (path, text)
        }
    };
    // The largest offset is taken as written and gives an empty page, on every route.
    for route in QUERY_ROUTES {
        let (path, text) = get(route, "?offset=9223372036854775807&limit=1000").await;
        let out: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(out["data"], json!([]), "GET {path}: {out}");
        let pagination = &out["extra"]["pagination"];
        assert_eq!(pagination["offset"], i64::MAX, "GET {path}: {out}");
        assert_eq!(pagination["limit"], 1000, "GET {path}: {out}");
        let (path, text) = get(route, "?limit=1").await;
        let out: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            out["data"].as_array().unwrap().len(),
            1,
            "GET {path}: {out}"
        );
    }
    // The token list ignores parameters it does not know (the audit log refuses them).
    for query in ["?bogus=1&state=1", "?limit[]=5"] {
        let (path, text) = get(LIST, query).await;
        let out: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(out["extra"]["pagination"]["total_count"], 2, "GET {path}");
        assert_eq!(out["extra"]["pagination"]["limit"], 100, "GET {path}");
    }
    // Days at the ends of the calendar the server can represent.
    get(AUDIT, "?logged_at_end=9999-12-31").await;
    get(AUDIT, "?logged_at_start=0000-01-01").await;
    let (path, text) = get(AUDIT, "?format=csv&limit=100000").await;
    assert!(text.starts_with("id,created_at,"), "GET {path}: {text}");
}

// ---------------------------------------------------------------------------------------------
// Unknown ids.

/// A body the `{id}` routes accept, so only the id is wrong.
fn body_for_id_route(method: &str, path: &str) -> (Option<&'static str>, Vec<u8>) {
    match method {
        "GET" | "DELETE" => (None, Vec::new()),
        _ if path.ends_with("/permissions/") => (JSON, valid_body(GRANTS).into()),
        _ if path.contains("/group-permissions/") => (JSON, valid_body(GROUP_GRANTS).into()),
        _ if path.ends_with("/rotate/") => (JSON, valid_body(ROTATE).into()),
        _ => (JSON, valid_body(UPDATE).into()),
    }
}

/// Every table row with `{id}`, with each id, must be refused with `want`; all the cases that
/// are not are listed in one failure.
async fn assert_ids_refused(fx: &Fixture, ids: &[&str], want: &[u16]) -> usize {
    let mut n = 0;
    let mut failures = Vec::new();
    for (spec, _) in table() {
        if !spec.path.contains("{id}") {
            continue;
        }
        let method = spec.method.as_str();
        let (content_type, body) = body_for_id_route(method, spec.path);
        for id in ids {
            let path = fx.path_with_id(spec.path, id);
            let label = format!("{method} {path}");
            let before = fingerprint(&fx.app).await;
            let (status, text) = fx.send(method, &path, content_type, body.clone()).await;
            if let Err(e) = error_envelope(status, &text) {
                failures.push(format!("{label}: {e}"));
            } else if !want.contains(&status) {
                failures.push(format!("{label}: want {want:?}, got {status}: {text}"));
            }
            assert_eq!(
                fingerprint(&fx.app).await,
                before,
                "{label}: a refused request changed the database"
            );
            n += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed, among them:\n{}",
        failures.len(),
        failures
            .iter()
            .step_by(failures.len().div_ceil(12).max(1))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    n
}

#[tokio::test]
async fn unknown_numeric_ids_are_404_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let n = assert_ids_refused(
        &fx,
        &[
            "999999",
            "0",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
        ],
        &[404],
    )
    .await;
    eprintln!("{n} unknown-id cases");
}

// An `{id}` that is not an i64 is a 404 in the envelope (found by this suite: axum's own `Path`
// rejection answered 400 in text/plain).
#[tokio::test]
async fn ids_that_are_not_integers_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let n = assert_ids_refused(
        &fx,
        &[
            "abc",
            "99999999999999999999999",
            "9223372036854775808",
            "1.5",
            "1e3",
            "%20",
            "%00",
            "1%20OR%201=1",
        ],
        &[400, 404],
    )
    .await;
    eprintln!("{n} non-integer-id cases");
}

#[tokio::test]
async fn unknown_or_malformed_account_ids_are_404_envelopes() {
    let fx = fixture().await;
    for account in ["999999", "abc", "-1", "0", "99999999999999999999999", "1.0"] {
        for (method, pattern) in [LIST, CREATE, RETRIEVE, AUDIT] {
            let path = pattern
                .replace("{account_id}", account)
                .replace("{id}", &fx.victim.to_string());
            let (content_type, body) = if method == "POST" {
                (JSON, valid_body(CREATE).as_bytes().to_vec())
            } else {
                (None, Vec::new())
            };
            let label = format!("{method} {path}");
            let before = fingerprint(&fx.app).await;
            let (status, text) = fx.send(method, &path, content_type, body).await;
            assert_error_envelope(&label, status, &text);
            assert_eq!(status, 404, "{label}: {text}");
            assert_eq!(fingerprint(&fx.app).await, before, "{label}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Names.

/// Names the store refuses: control characters (`char::is_control`, i.e. Unicode Cc: C0, DEL,
/// C1), invisible characters that reorder or hide text, blank after trimming Unicode white
/// space, or more than 255 characters. The refusal is a
/// 400 whose message names the token name (the store's check sets no `data.field`).
fn refused_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "bad\u{0}name",
        "\u{0}",
        "tab\there",
        "line\nbreak",
        "carriage\rreturn",
        "bell\u{7}",
        "esc\u{1b}[31mred",
        "del\u{7f}",
        "next line\u{85}",
        "csi\u{9b}",
        "",
        "   ",
        "\u{a0}",
        "\u{3000}\u{2003}",
        // Invisible characters that reorder or hide text (Trojan Source), or a name of nothing
        // but joiners.
        "invoice\u{202e}fdp.exe",
        "a\u{200b}d",
        "\u{200d}",
        "\u{feff}bom",
        "\u{2066}isolate\u{2069}",
        "soft\u{ad}hyphen",
    ]
    .map(str::to_owned)
    .to_vec();
    names.push("x".repeat(256));
    names.push("x".repeat(10_000));
    names.push("🔑".repeat(256));
    names
}

/// Names the store keeps as given; each must read back byte for byte.
fn kept_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "'; DROP TABLE service_tokens; --",
        "1 OR 1=1",
        "Robert'); DROP TABLE audit_log;--",
        "\" OR \"\"=\"",
        "%' OR name LIKE '%",
        "x'; SELECT sqlite_version(); --",
        "?1 ?2 :name @p $x",
        "%s%n%x",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "🔑 deploy 👩‍👩‍👧‍👦",
        "e\u{301}te\u{301}",
        // Joiners that emoji and some scripts need are kept.
        "a\u{200d}b\u{200c}c",
        " padded ",
    ]
    .map(str::to_owned)
    .to_vec();
    names.push("x".repeat(255));
    names.push("🔑".repeat(255));
    names.push("é".repeat(255));
    names
}

#[tokio::test]
async fn names_with_control_characters_blank_or_too_long_are_refused() {
    let fx = fixture().await;
    let mut n = 0;
    for name in refused_names() {
        let bodies = [
            (
                CREATE,
                json!({"name": name, "permission_grants": [{"permission_set": "job_viewer"}]}),
            ),
            (UPDATE, json!({ "name": name })),
            (UPDATE_PUT, json!({ "name": name })),
            (
                IP_CREATE,
                json!({"name": name, "type": 2, "cidrs": ["198.51.100.0/24"]}),
            ),
            (IP_UPDATE, json!({ "name": name })),
        ];
        for (route, body) in bodies {
            let c = case(route, body.to_string());
            let out = assert_refused(&fx, &c).await;
            let label = c.label(&fx.path(route.1));
            let message = out["status"]["developer_message"].as_str().unwrap_or("");
            assert!(
                message.contains("name"),
                "{label}: the refusal does not name the field: {out}"
            );
            assert!(
                out["data"]["field"].is_null() || out["data"]["field"] == "name",
                "{label}: {out}"
            );
            n += 1;
        }
    }
    eprintln!("{n} refused-name cases");
}

#[tokio::test]
async fn unusual_names_are_stored_and_read_back_byte_identical() {
    let fx = fixture().await;
    let tables_before = table_names(&fx.app);
    let names = kept_names();
    for name in &names {
        let label = format!("name {name:?}");
        // Created with it.
        let (status, out) = fx
            .json(
                CREATE,
                &fx.path(CREATE.1),
                &json!({"name": name, "permission_grants": [{"permission_set": "job_viewer"}]}),
            )
            .await;
        assert_eq!(status, 201, "{label}: {out}");
        assert_eq!(out["data"]["name"].as_str(), Some(name.as_str()), "{label}");
        let id = out["data"]["id"].as_i64().unwrap();
        let path = fx.path_with_id(RETRIEVE.1, &id.to_string());
        let (status, out) = fx.json(RETRIEVE, &path, &json!({})).await;
        assert_eq!(status, 200, "{label}: {out}");
        assert_eq!(out["data"]["name"].as_str(), Some(name.as_str()), "{label}");
        let stored = fx
            .app
            .store
            .service_token(latchkey_core::TokenId(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.name.as_bytes(), name.as_bytes(), "{label}");
        // The victim token and the victim IP rule renamed to it.
        for (route, read) in [
            (UPDATE, RETRIEVE),
            (UPDATE_PUT, RETRIEVE),
            (IP_UPDATE, IP_RETRIEVE),
            (IP_UPDATE_POST, IP_RETRIEVE),
        ] {
            let (status, out) = fx
                .json(route, &fx.path(route.1), &json!({ "name": name }))
                .await;
            assert_eq!(status, 200, "{} {} {label}: {out}", route.0, route.1);
            assert_eq!(out["data"]["name"].as_str(), Some(name.as_str()), "{label}");
            let (_, out) = fx.json(read, &fx.path(read.1), &json!({})).await;
            assert_eq!(
                out["data"]["name"].as_str(),
                Some(name.as_str()),
                "{} {} {label}",
                read.0,
                read.1
            );
        }
    }
    // The SQL-looking names were data, not statements: every table is still there, and the
    // tokens are all listed.
    assert_eq!(table_names(&fx.app), tables_before);
    if let Some(tables) = &tables_before {
        for t in [
            "service_tokens",
            "audit_log",
            "service_token_grants",
            "ip_rules",
        ] {
            assert!(tables.iter().any(|x| x == t), "{t} missing: {tables:?}");
        }
    }
    let (status, out) = fx
        .json(LIST, &format!("{}?limit=1000", fx.path(LIST.1)), &json!({}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["extra"]["pagination"]["total_count"],
        2 + names.len(),
        "{out}"
    );
    eprintln!("{} kept names", names.len());
}

// ---------------------------------------------------------------------------------------------
// Secrets.

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_secret_never_lands_in_the_database_file() {
    let fx = fixture().await;
    let (status, out) = fx
        .json(
            CREATE,
            &fx.path(CREATE.1),
            &json!({"name": "ci", "permission_grants": [{"permission_set": "job_admin", "all_projects": true}]}),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let id = out["data"]["id"].as_i64().unwrap();
    let uid = out["data"]["uid"].as_str().unwrap().to_owned();
    let created = out["data"]["token_string"].as_str().unwrap().to_owned();
    let (status, out) = fx
        .json(
            ROTATE,
            &fx.path_with_id(ROTATE.1, &id.to_string()),
            &json!({"overlap_seconds": 600}),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let rotated = out["data"]["token_string"].as_str().unwrap().to_owned();
    let rotated_id = out["data"]["id"].as_i64().unwrap();
    // Use both, so that last_used_at is flushed too.
    for secret in [&created, &rotated] {
        let (status, out) = fx
            .app
            .call(Method::GET, "/api/v2/whoami/", Some(secret), None)
            .await;
        assert_eq!(status, 200, "{out}");
    }
    for id in [id, rotated_id] {
        eventually("both tokens' use being flushed", async || {
            let token = fx.app.store.service_token(latchkey_core::TokenId(id)).await;
            token.unwrap().unwrap().last_used_at.map(|_| ())
        })
        .await;
    }

    let mut files = Vec::new();
    for name in ["t.db", "t.db-wal", "t.db-shm"] {
        if let Ok(bytes) = std::fs::read(fx.app.dir.path().join(name)) {
            files.push((name, bytes));
        }
    }
    let everything: Vec<u8> = files.iter().flat_map(|(_, b)| b.clone()).collect();
    // The search works: the public uid is in the file.
    assert!(contains(&everything, uid.as_bytes()), "uid {uid} not found");
    for secret in [&created, &rotated] {
        let (_, body) = secret.split_once('_').unwrap();
        let secret_part = &body[UID_LEN..][..SECRET_LEN];
        assert_eq!(secret_part.len(), 43);
        for (name, bytes) in &files {
            assert!(
                !contains(bytes, secret.as_bytes()),
                "the whole token is in {name}"
            );
            assert!(
                !contains(bytes, secret_part.as_bytes()),
                "the token's 43-character secret is in {name}"
            );
        }
    }
}
