//! `/auth/forward` behind a real nginx (`auth_request`), started by the test in front of a tiny
//! upstream: mapped requests pass with identity headers, unmapped ones and missing grants get
//! 403, bad tokens 401; the client address comes through nginx's `X-Forwarded-For`; the README's
//! `proxy_set_header` lines overwrite a client's own `X-Original-*`; the URI reaches Latchkey
//! as the client sent it and ambiguous ones are refused. Also the endpoint on its own, with
//! Traefik's header names.
//!
//! nginx comes from Debian's package (`.ci/run` installs it). Without it the nginx tests are
//! skipped, unless `LATCHKEY_REQUIRE_NGINX=1` (CI), where a missing nginx fails them.

use crate::common::{spawn_app_with, App};
use crate::forward_uri::{raw_get, raw_request};
use latchkey_server::{ForwardAuthHeaders, ServerConfig};
use reqwest::Method;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// nginx in the foreground with its own prefix directory; killed on drop.
struct Nginx {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    /// Stops nginx as its operator would (SIGTERM: the master stops its workers, then itself);
    /// a SIGKILL to the master would leave the workers running, orphaned.
    fn drop(&mut self) {
        let stopped = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn nginx_binary() -> Option<String> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| (*p).to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A tiny upstream that echoes what nginx passed on.
async fn upstream() -> String {
    async fn echo(req: axum::extract::Request) -> axum::Json<serde_json::Value> {
        let h = |n: &str| {
            req.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        axum::Json(json!({
            "upstream": true,
            "method": req.method().as_str(),
            "uri": req.uri().to_string(),
            "principal": h("x-latchkey-principal"),
            "account": h("x-latchkey-account"),
        }))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(echo))
            .await
            .unwrap();
    });
    format!("127.0.0.1:{}", addr.port())
}

async fn start_nginx(latchkey: &str, upstream: &str) -> Option<Nginx> {
    let Some(bin) = nginx_binary() else {
        assert!(
            std::env::var("LATCHKEY_REQUIRE_NGINX").as_deref() != Ok("1"),
            "LATCHKEY_REQUIRE_NGINX=1 but no nginx binary was found"
        );
        eprintln!("nginx not installed: skipping the nginx forward-auth test");
        return None;
    };
    // The port is picked free and then handed to nginx, so another test's server may take it in
    // between: then nginx exits (address in use) or something else answers on it. Try again.
    for _ in 0..5 {
        if let Some(nginx) = try_start_nginx(&bin, latchkey, upstream).await {
            return Some(nginx);
        }
    }
    panic!("nginx did not start on any of five ports");
}

/// Starts nginx on a free port; `None` if it exited or the port turned out to be another's.
async fn try_start_nginx(bin: &str, latchkey: &str, upstream: &str) -> Option<Nginx> {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let p = dir.path().display();
    // As root (CI), workers would drop to `nobody`, who cannot enter the private temp directory.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let user = if root { "user root;" } else { "" };
    let conf = format!(
        r#"
{user}
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /_latchkey {{
            internal;
            proxy_pass http://{latchkey}/auth/forward;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
        location / {{
            auth_request /_latchkey;
            auth_request_set $lk_principal $upstream_http_x_latchkey_principal;
            auth_request_set $lk_account $upstream_http_x_latchkey_account;
            # auth_request passes on only 401 and 403 and turns any other status into a 500;
            # keep Latchkey's 429 (and its Retry-After) a 429, as the README shows.
            auth_request_set $lk_status $upstream_status;
            auth_request_set $lk_retry_after $upstream_http_retry_after;
            error_page 500 = @latchkey_error;
            proxy_set_header X-Latchkey-Principal $lk_principal;
            proxy_set_header X-Latchkey-Account $lk_account;
            proxy_set_header Authorization "";
            proxy_pass http://{upstream};
        }}
        location @latchkey_error {{
            if ($lk_status = 429) {{
                add_header Retry-After $lk_retry_after always;
                return 429;
            }}
            return 500;
        }}
    }}
}}
"#
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    let child = Command::new(bin)
        .args(["-p", &p.to_string(), "-c", &format!("{p}/nginx.conf")])
        .args(["-e", &format!("{p}/error.log"), "-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx starts");
    let mut nginx = Nginx {
        child,
        url: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if nginx.child.try_wait().ok().flatten().is_some() {
            return None;
        }
        // Only nginx names itself in `Server`; our own servers send no such header.
        if let Ok(resp) = reqwest::get(format!("{}/_probe", nginx.url)).await {
            let server = resp.headers().get("server").and_then(|v| v.to_str().ok());
            return server
                .is_some_and(|s| s.starts_with("nginx"))
                .then_some(nginx);
        }
        assert!(
            Instant::now() < deadline,
            "nginx did not listen: {}",
            std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn through(
    nginx: &Nginx,
    method: Method,
    path: &str,
    token: Option<&str>,
    forwarded_for: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", nginx.url));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Token {t}"));
    }
    if let Some(f) = forwarded_for {
        req = req.header("X-Forwarded-For", f);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(serde_json::Value::Null),
    )
}

async fn app_behind_loopback_proxy() -> App {
    spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        forward_auth_headers: Some(ForwardAuthHeaders::Nginx),
        ..ServerConfig::default()
    })
    .await
}

#[tokio::test]
async fn nginx_auth_request_passes_mapped_requests_and_stops_the_rest() {
    let app = app_behind_loopback_proxy().await;
    let latchkey = app.url.trim_start_matches("http://").to_owned();
    let Some(nginx) = start_nginx(&latchkey, &upstream().await).await else {
        return;
    };
    let a = app.account;
    let (runner_id, runner) = app.mint(&[crate::common::grant("job_runner:all")]).await;
    let (_, p1_viewer) = app
        .mint(&[crate::common::grant(&format!(
            "job_viewer:project={}",
            app.p1
        ))])
        .await;

    // A mapped request the token may make reaches the upstream with identity headers.
    let (s, out) = through(
        &nginx,
        Method::POST,
        &format!("/api/v2/accounts/{a}/jobs/42/run/"),
        Some(&runner),
        None,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["upstream"], true);
    assert_eq!(out["uri"], format!("/api/v2/accounts/{a}/jobs/42/run/"));
    assert_eq!(out["principal"], format!("service_token:{runner_id}"));
    assert_eq!(out["account"], a.to_string());

    // Missing grant, unmapped path, another account: 403 from nginx, upstream never reached.
    for (method, path) in [
        (Method::POST, format!("/api/v2/accounts/{a}/jobs/")),
        (Method::GET, format!("/api/v2/accounts/{a}/billing/")),
        (
            Method::POST,
            format!("/api/v2/accounts/{}/jobs/42/run/", a.0 + 1),
        ),
        (
            Method::GET,
            format!("/api/v2/accounts/{a}/runs/../../billing/"),
        ),
    ] {
        let (s, out) = through(&nginx, method.clone(), &path, Some(&runner), None).await;
        assert_eq!(s, 403, "{method} {path}: {out}");
        assert_ne!(out["upstream"], true);
    }

    // Project scope comes from the path (v3 environments) or the query (v2 runs).
    let (p1, p2) = (app.p1, app.p2);
    for (path, want) in [
        (
            format!("/api/v3/accounts/{a}/projects/{p1}/environments/"),
            200,
        ),
        (
            format!("/api/v3/accounts/{a}/projects/{p2}/environments/"),
            403,
        ),
        (format!("/api/v2/accounts/{a}/runs/?project_id={p1}"), 200),
        (format!("/api/v2/accounts/{a}/runs/?project_id={p2}"), 403),
        (format!("/api/v2/accounts/{a}/runs/"), 403),
    ] {
        let (s, _) = through(&nginx, Method::GET, &path, Some(&p1_viewer), None).await;
        assert_eq!(s, want, "{path}");
    }

    // No token, or a garbled one: 401 through nginx.
    let path = format!("/api/v2/accounts/{a}/runs/");
    assert_eq!(through(&nginx, Method::GET, &path, None, None).await.0, 401);
    assert_eq!(
        through(&nginx, Method::GET, &path, Some("lksvc_nope"), None)
            .await
            .0,
        401
    );

    // A revoked token stops passing within a poll.
    app.store
        .revoke_service_token(
            &latchkey_store::Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            runner_id,
        )
        .await
        .unwrap();
    let deadline = Instant::now() + crate::common::PROPAGATION;
    loop {
        let (s, _) = through(
            &nginx,
            Method::POST,
            &format!("/api/v2/accounts/{a}/jobs/42/run/"),
            Some(&runner),
            None,
        )
        .await;
        if s == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "revoked token still passes ({s})"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn nginx_passes_the_clients_address_for_ip_fences() {
    let app = app_behind_loopback_proxy().await;
    let latchkey = app.url.trim_start_matches("http://").to_owned();
    let Some(nginx) = start_nginx(&latchkey, &upstream().await).await else {
        return;
    };
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, made) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "office runner", "permission_grants": [{"permission_set": "job_runner"}], "allowed_cidrs": ["203.0.113.0/24"]})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let token = made["data"]["token_string"].as_str().unwrap();
    let path = format!("/api/v2/accounts/{}/jobs/1/run/", app.account);
    // nginx appends its peer (127.0.0.1, trusted) to what the client's side sent.
    let (s, _) = through(
        &nginx,
        Method::POST,
        &path,
        Some(token),
        Some("203.0.113.5"),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = through(&nginx, Method::POST, &path, Some(token), None).await;
    assert_eq!(s, 403, "loopback is not on the token's list");
    let (s, _) = through(
        &nginx,
        Method::POST,
        &path,
        Some(token),
        Some("198.51.100.1"),
    )
    .await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn a_throttled_client_gets_429_with_retry_after_through_nginx_not_500() {
    let app = spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        failed_auth_limit: 3,
        forward_auth_headers: Some(ForwardAuthHeaders::Nginx),
        ..ServerConfig::default()
    })
    .await;
    let latchkey = app.url.trim_start_matches("http://").to_owned();
    let Some(nginx) = start_nginx(&latchkey, &upstream().await).await else {
        return;
    };
    let (_, runner) = app.mint(&[crate::common::grant("job_runner:all")]).await;
    let path = format!("/api/v2/accounts/{}/jobs/1/run/", app.account);
    let guesser = "198.51.100.77";
    let unknown = latchkey_core::TokenFormat::default().generate(latchkey_core::TokenKind::Service);
    for _ in 0..3 {
        let (s, _) = through(
            &nginx,
            Method::POST,
            &path,
            Some(unknown.secret.expose()),
            Some(guesser),
        )
        .await;
        assert_eq!(s, 401);
    }
    // Past the limit that address's failures are throttled until the window ends, and nginx says
    // so as a 429 with Latchkey's Retry-After, not as its own 500.
    let another = latchkey_core::TokenFormat::default().generate(latchkey_core::TokenKind::Service);
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", nginx.url))
        .header(
            "Authorization",
            format!("Token {}", another.secret.expose()),
        )
        .header("X-Forwarded-For", guesser)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // A good token is served, from that address and from any other.
    for from in [guesser, "203.0.113.9"] {
        let (s, out) = through(&nginx, Method::POST, &path, Some(&runner), Some(from)).await;
        assert_eq!(s, 200, "{out}");
    }
}

#[tokio::test]
async fn the_endpoint_reads_traefik_headers_and_refuses_requests_without_the_original() {
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(ForwardAuthHeaders::Traefik),
        ..ServerConfig::default()
    })
    .await;
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let http = reqwest::Client::new();
    let ask = |method: Option<&str>, uri: Option<&str>| {
        let mut req = http
            .get(format!("{}/auth/forward", app.url))
            .header("Authorization", format!("Bearer {runner}"));
        if let Some(m) = method {
            req = req.header("X-Forwarded-Method", m);
        }
        if let Some(u) = uri {
            req = req.header("X-Forwarded-Uri", u);
        }
        req.send()
    };
    let run = format!("/api/v2/accounts/{}/runs/7/cancel/", app.account);
    let resp = ask(Some("POST"), Some(&run)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-latchkey-permission"], "runs:write");
    let resp = ask(Some("DELETE"), Some(&run)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403, "no rule maps DELETE on a run");
    for (m, u) in [(None, Some(run.as_str())), (Some("POST"), None)] {
        let resp = ask(m, u).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["status"]["is_success"], false);
    }
}

#[tokio::test]
async fn nginx_overwrites_client_copies_of_the_original_headers() {
    let app = app_behind_loopback_proxy().await;
    let latchkey = app.url.trim_start_matches("http://").to_owned();
    let Some(nginx) = start_nginx(&latchkey, &upstream().await).await else {
        return;
    };
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let a = app.account;
    let run_job = format!("/api/v2/accounts/{a}/jobs/42/run/");
    let create_job = format!("/api/v2/accounts/{a}/jobs/");
    let send = |path: &str, forged: &[(&str, &str)]| {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", nginx.url))
            .header("Authorization", format!("Token {runner}"));
        for (name, value) in forged {
            req = req.header(*name, *value);
        }
        req.send()
    };
    // `proxy_set_header X-Original-…` replaces whatever the client sent under those names, one
    // copy or several: the decision is about the request nginx received.
    for forged in [
        vec![("X-Original-URI", run_job.as_str())],
        vec![
            ("X-Original-Method", "POST"),
            ("X-Original-URI", run_job.as_str()),
        ],
        vec![
            ("X-Original-URI", run_job.as_str()),
            ("X-Original-URI", run_job.as_str()),
            ("X-Forwarded-Method", "POST"),
            ("X-Forwarded-Uri", run_job.as_str()),
        ],
    ] {
        let resp = send(&create_job, &forged).await.unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{forged:?}");
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_ne!(body["upstream"], true);
    }
    let forged = [
        ("X-Original-Method", "DELETE"),
        ("X-Original-URI", create_job.as_str()),
    ];
    let resp = send(&run_job, &forged).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn nginx_hands_over_the_uri_as_sent_and_the_ambiguous_ones_are_refused() {
    let app = app_behind_loopback_proxy().await;
    let latchkey = app.url.trim_start_matches("http://").to_owned();
    let Some(nginx) = start_nginx(&latchkey, &upstream().await).await else {
        return;
    };
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let viewer = app
        .token(app.account, &[&format!("job_viewer:project={}", app.p1)])
        .await;
    let (a, p1, p2) = (app.account, app.p1, app.p2);
    let addr = nginx.url.trim_start_matches("http://");
    let envs = format!("v3/accounts/{a}/projects/{p1}/environments/");
    // Request lines sent byte for byte (a client library would tidy them first).
    for (token, target) in [
        (
            &runner,
            format!("/api/v2/accounts/{a}/jobs/..;/..;/..;/..;/{envs}"),
        ),
        (
            &runner,
            format!("/api/v2/accounts/{a}/jobs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{envs}"),
        ),
        (
            &runner,
            format!("/api/v2/accounts/{a}/jobs/1%2F..%2F..%2F..%2F..%2F{envs}"),
        ),
        (&runner, format!("/api/v2/accounts/{a}/jobs/1//")),
        (
            &runner,
            format!("/api/v2/accounts/{a}/jobs/1\\..\\..\\..\\..\\{envs}"),
        ),
        (
            &viewer,
            format!("/api/v2/accounts/{a}/runs/?project_id={p1}&project%5Fid={p2}"),
        ),
        (
            &viewer,
            format!("/api/v2/accounts/{a}/runs/?project_id={p1}&project_id={p2}"),
        ),
    ] {
        let (status, answer) = raw_request(addr, &raw_get(&target, token)).await;
        assert_eq!(status, 403, "{target}: {answer}");
        assert!(!answer.contains("\"upstream\":true"), "{target}: {answer}");
    }
    // An unambiguous escape passes, and the upstream gets the URI as the client sent it: the
    // one Latchkey judged.
    let target = format!("/api/v2/accounts/{a}/runs/?project%5Fid={p1}");
    let (status, answer) = raw_request(addr, &raw_get(&target, &viewer)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.contains(&format!("\"uri\":\"{target}\"")),
        "{answer}"
    );
}
