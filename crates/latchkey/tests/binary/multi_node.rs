//! Three stateless `latchkey serve` processes on one PostgreSQL (a throwaway cluster the test
//! starts), started together on an empty database. A token made on one node works on the others
//! at once; a revocation, a grant, a group's permissions, a license and the account's plan changed
//! through one node reach the others' decisions; a node whose database connections are killed
//! recovers and never answers with a stale allow.
//!
//! The nodes poll the change feed only once a minute here, so every change below that arrives
//! within [`BOUND`] arrived by PostgreSQL's notifications. The bound is generous for a loaded CI
//! machine; the lags themselves are measured by `bench/multi_node.sh` (BENCHMARKS.md).

use super::harness::{base64, http, Env, Server};
use latchkey_core::{AccountId, Authority, Grant, License, Plan, Secret};
use latchkey_store::{Actor, Store};
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long a change may take to reach another node's decisions in this test.
const BOUND: Duration = Duration::from_secs(10);

/// The token may.
const ALLOW: &str = "allow";
/// The token works but may not.
const DENY: &str = "deny";
/// The token does not work (401).
const UNKNOWN: &str = "unknown";

/// One node: its process and port.
struct Node {
    name: &'static str,
    port: u16,
    _server: Server,
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// `POST /api/v1/authorize` for `permission`: [`ALLOW`], [`DENY`], or [`UNKNOWN`] for a
    /// token that does not work (401).
    fn decide(&self, token: &str, permission: &str) -> &'static str {
        let body = json!({ "permission": permission }).to_string();
        match http::request("POST", &self.url("/api/v1/authorize"), Some(token), &body) {
            Some((401, _)) => UNKNOWN,
            Some((200, body)) if body.contains(r#""allowed":true"#) => ALLOW,
            Some((200, body)) if body.contains(r#""allowed":false"#) => DENY,
            other => panic!("{}: {other:?}", self.name),
        }
    }

    /// A JSON call with a token (or `Basic …`): the status and the body.
    fn call(&self, method: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = http::request(method, &self.url(path), Some(token), &body).unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn readiness(&self) -> Value {
        http::request("GET", &self.url("/readyz"), None, "")
            .and_then(|(_, body)| serde_json::from_str(&body).ok())
            .unwrap_or(Value::Null)
    }
}

/// Starts `names.len()` nodes at once on `url`, each naming its database connections after
/// itself, and waits until every one listens to the change feed. Returns them and what they
/// printed.
fn start_nodes(url: &str, names: &[&'static str], env: &Env) -> (Vec<Node>, Vec<String>) {
    let mut nodes = Vec::new();
    for name in names {
        let port = super::harness::free_port();
        let out = env.dir.path().join(format!("{name}.out"));
        let child = env
            .cmd()
            .env(
                "LATCHKEY_DATABASE_URL",
                format!("{url}?application_name={name}"),
            )
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--change-poll-ms", "60000"])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        nodes.push(Node {
            name,
            port,
            _server: Server(child),
        });
    }
    for node in &nodes {
        within(
            Duration::from_secs(60),
            &format!("{} listening", node.name),
            || node.readiness()["change_feed"] == "listening",
        );
    }
    let printed = names
        .iter()
        .flat_map(|name| {
            std::fs::read_to_string(env.dir.path().join(format!("{name}.out")))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    (nodes, printed)
}

/// Waits until `done` holds, at most `bound`; returns how long it took.
fn within(bound: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if done() {
            return start.elapsed();
        }
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every node in `nodes` answers `want` to `token` asking for `permission` within [`BOUND`].
fn all_decide(nodes: &[&Node], token: &str, permission: &str, want: &str, what: &str) {
    for node in nodes {
        let lag = within(BOUND, &format!("{what} on {}", node.name), || {
            node.decide(token, permission) == want
        });
        eprintln!("{what}: {} after {lag:?}", node.name);
    }
}

/// Creates a service token through `node` holding `grants`; its id and secret.
fn mint(node: &Node, admin: &str, account: i64, grants: Value) -> (i64, String) {
    let (status, out) = node.call(
        "POST",
        &format!("/api/v3/accounts/{account}/service-tokens/"),
        admin,
        &json!({"name": "t", "permission_grants": grants}),
    );
    assert_eq!(status, 201, "{out}");
    (
        out["data"]["id"].as_i64().unwrap(),
        out["data"]["token_string"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn three_nodes_on_one_postgresql_agree_within_a_bound() {
    let Some(pg) = latchkey_test_postgres::TestPostgres::shared() else {
        return; // said loudly by `shared`
    };
    let url = pg.new_database();
    let env = Env::on(&url);
    let (nodes, printed) = start_nodes(&url, &["node_a", "node_b", "node_c"], &env);
    let [a, b, c] = [&nodes[0], &nodes[1], &nodes[2]];
    let tokens: Vec<&String> = printed.iter().filter(|l| l.starts_with("lksvc_")).collect();
    assert_eq!(tokens.len(), 1, "exactly one node bootstraps: {printed:?}");
    let admin = tokens[0].clone();
    let (_, accounts) = a.call("GET", "/api/v3/accounts/", &admin, &Value::Null);
    let account = accounts["data"][0]["id"].as_i64().unwrap();

    // Made on A, works on B and C at once: a new digest is never in anyone's cache.
    let (id, token) = mint(
        a,
        &admin,
        account,
        json!([{"permission_set": "job_admin", "all_projects": true}]),
    );
    for node in [b, c] {
        assert_eq!(node.decide(&token, "jobs:write"), ALLOW, "{}", node.name);
    }

    // Revoked on A: B and C (which cached it just now) refuse it.
    let (status, out) = a.call(
        "DELETE",
        &format!("/api/v3/accounts/{account}/service-tokens/{id}/"),
        &admin,
        &Value::Null,
    );
    assert_eq!(status, 200, "{out}");
    all_decide(&[b, c], &token, "jobs:read", UNKNOWN, "revocation");

    // A grant changed on B: A and C decide by it.
    let (id, token) = mint(
        a,
        &admin,
        account,
        json!([{"permission_set": "job_admin", "all_projects": true}]),
    );
    for node in [a, c] {
        assert_eq!(node.decide(&token, "jobs:write"), ALLOW);
    }
    let (status, out) = b.call(
        "POST",
        &format!("/api/v3/accounts/{account}/service-tokens/{id}/permissions/"),
        &admin,
        &json!([{"permission_set": "job_viewer", "all_projects": true}]),
    );
    assert_eq!(status, 200, "{out}");
    all_decide(&[a, c], &token, "jobs:write", DENY, "grant change");

    // A person with a developer seat, in a group holding Job Admin, and a PAT made on A.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(Store::open(&url)).unwrap();
    let op = Actor::operator();
    let account_id = AccountId(account);
    let (user, group) = runtime.block_on(async {
        let password = Secret::new("correct horse battery staple".into());
        let user = store
            .create_user(&op, account_id, "dev@example.com", Some(&password))
            .await
            .unwrap()
            .id;
        store
            .set_membership(
                &op,
                Authority::Operator,
                account_id,
                user,
                License::Developer,
            )
            .await
            .unwrap();
        let admin_grant: Grant = "job_admin:all".parse().unwrap();
        let group = store
            .create_group(
                &op,
                latchkey_core::Authority::Operator,
                account_id,
                "Jobs",
                &[admin_grant],
            )
            .await
            .unwrap()
            .id;
        store.add_group_member(&op, group, user).await.unwrap();
        (user, group)
    });
    let basic = format!(
        "Basic {}",
        base64("dev@example.com:correct horse battery staple")
    );
    let (status, out) = a.call(
        "POST",
        &format!("/api/v3/accounts/{account}/personal-tokens/"),
        &basic,
        &json!({"name": "laptop"}),
    );
    assert_eq!(status, 201, "{out}");
    let pat = out["data"]["token_string"].as_str().unwrap().to_owned();
    for node in [a, c] {
        assert_eq!(node.decide(&pat, "jobs:write"), ALLOW, "{}", node.name);
    }

    // The group's permissions changed on B.
    let group_path = format!("/api/v3/accounts/{account}/group-permissions/{}/", group.0);
    let (status, out) = b.call(
        "POST",
        &group_path,
        &admin,
        &json!([{"permission_set": "job_viewer", "all_projects": true}]),
    );
    assert_eq!(status, 200, "{out}");
    all_decide(&[a, c], &pat, "jobs:write", DENY, "group permissions");
    let (status, out) = b.call(
        "POST",
        &group_path,
        &admin,
        &json!([{"permission_set": "job_admin", "all_projects": true}]),
    );
    assert_eq!(status, 200, "{out}");
    all_decide(&[a, c], &pat, "jobs:write", ALLOW, "group permissions back");

    // The user's license changed on B: a read-only seat writes nothing.
    let (status, out) = b.call(
        "POST",
        &format!("/api/v3/accounts/{account}/users/{}/license/", user.0),
        &admin,
        &json!({"license_type": "read_only"}),
    );
    assert_eq!(status, 200, "{out}");
    all_decide(&[a, c], &pat, "jobs:write", DENY, "license");

    // The account's plan changed (an operator's command; no API changes a plan): Team has no
    // Job Viewer, so a token holding only that set reads nothing any more.
    let (_, viewer) = mint(
        b,
        &admin,
        account,
        json!([{"permission_set": "job_viewer", "all_projects": true}]),
    );
    for node in [a, b, c] {
        assert_eq!(node.decide(&viewer, "jobs:read"), ALLOW, "{}", node.name);
    }
    runtime
        .block_on(store.set_plan(&op, account_id, Plan::Team))
        .unwrap();
    all_decide(&[a, b, c], &viewer, "jobs:read", DENY, "plan");

    // B's database connections (its pool's and its listener's) are killed. B clears what it
    // cached, reconnects, and refuses a token revoked meanwhile on A; it never allows it again.
    let (id, token) = mint(
        a,
        &admin,
        account,
        json!([{"permission_set": "job_admin", "all_projects": true}]),
    );
    assert_eq!(b.decide(&token, "jobs:write"), ALLOW);
    let killed: i64 = runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'node_b') killed",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    });
    assert!(killed >= 2, "B's listener and pool: {killed} connections");
    let (status, out) = a.call(
        "DELETE",
        &format!("/api/v3/accounts/{account}/service-tokens/{id}/"),
        &admin,
        &Value::Null,
    );
    assert_eq!(status, 200, "{out}");
    let lag = within(BOUND, "B refusing after losing its connections", || {
        b.decide(&token, "jobs:read") == UNKNOWN
    });
    eprintln!("revocation after B's connections were killed: {lag:?}");
    for _ in 0..5 {
        assert_eq!(b.decide(&token, "jobs:read"), UNKNOWN, "a stale allow on B");
    }
    within(BOUND, "B listening again", || {
        b.readiness()["change_feed"] == "listening"
    });
    let (_, fresh) = mint(
        a,
        &admin,
        account,
        json!([{"permission_set": "job_admin", "all_projects": true}]),
    );
    assert_eq!(b.decide(&fresh, "jobs:write"), ALLOW, "B serves again");
}
