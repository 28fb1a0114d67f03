//! `/auth/forward` trusts only what the configured proxy sets, and judges the original request
//! exactly as an upstream would see it: the headers of the other proxy kinds are ignored (a
//! client can send them), a repeated header is refused, nothing answers until the deployment
//! names its proxy (`--forward-auth-headers`), and URIs that upstreams read differently (dot
//! segments, `..;`, backslashes, encoded slashes, repeated or re-encoded query keys) are refused
//! while the unambiguous ones (percent-encoded unreserved characters) are decoded first.
//!
//! The headers sent for Traefik are exactly those its ForwardAuth middleware documents
//! (`X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri`, `-For`). The real nginx runs in
//! `forward_auth.rs`.

use crate::common::{spawn_app_with, App};
use latchkey_server::{ForwardAuthHeaders, ServerConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn app_behind(proxy: Option<ForwardAuthHeaders>) -> App {
    spawn_app_with(ServerConfig {
        forward_auth_headers: proxy,
        ..ServerConfig::default()
    })
    .await
}

/// `GET /auth/forward` with `token` and `headers` (appended in order, so a name may repeat);
/// the status, the `X-Latchkey-Permission` header, and the JSON body (`Null` if none).
async fn ask(app: &App, token: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, Value) {
    ask_at(app, "/auth/forward", token, headers).await
}

async fn ask_at(
    app: &App,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (u16, Option<String>, Value) {
    let mut req = app
        .http
        .get(format!("{}{path}", app.url))
        .header("Authorization", format!("Token {token}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let permission = resp
        .headers()
        .get("x-latchkey-permission")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, permission, resp.json().await.unwrap_or(Value::Null))
}

/// Exactly what Traefik's ForwardAuth sends for `method uri` (with `trustForwardHeader: false`
/// it sets these itself), plus whatever the client sent, which Traefik copies along.
fn traefik<'a>(
    method: &'a str,
    uri: &'a str,
    client: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers = client.to_vec();
    headers.extend([
        ("X-Forwarded-Method", method),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "cloud.example.com"),
        ("X-Forwarded-Uri", uri),
        ("X-Forwarded-For", "203.0.113.7"),
    ]);
    headers
}

/// `n` with every digit percent-encoded (`12` → `%31%32`).
fn encoded(n: i64) -> String {
    n.to_string().bytes().map(|b| format!("%{b:02X}")).collect()
}

fn nginx<'a>(method: &'a str, uri: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("X-Original-Method", method), ("X-Original-URI", uri)]
}

/// Sends `raw` (a whole HTTP/1.1 request) to `addr` over TCP, so the request line is exactly as
/// written (an HTTP client library would resolve `%2e%2e` or turn `\` into `/` first); the
/// status and the whole answer as text.
pub async fn raw_request(addr: &str, raw: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
    (status, answer)
}

/// A GET of `target` (the request line's URI, as is) with a token, on a closing connection.
pub fn raw_get(target: &str, token: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Token {token}\r\n\
         Connection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn a_client_sent_x_original_uri_cannot_change_a_traefik_decision() {
    let app = app_behind(Some(ForwardAuthHeaders::Traefik)).await;
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let a = app.account;
    let create_job = format!("/api/v2/accounts/{a}/jobs/");
    let run_job = format!("/api/v2/accounts/{a}/jobs/42/run/");

    // The real request needs jobs:write, which a job runner lacks; the client's own
    // X-Original-* name a request it may make. Traefik passes those on: they must not count.
    let forged = [
        ("X-Original-Method", "POST"),
        ("X-Original-URI", run_job.as_str()),
    ];
    let (status, _, body) = ask(&app, &runner, &traefik("POST", &create_job, &forged)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["status"]["is_success"], false);

    // The other way round: the real request is allowed whatever the client adds.
    let forged = [
        ("X-Original-Method", "POST"),
        ("X-Original-URI", create_job.as_str()),
    ];
    let (status, permission, body) = ask(&app, &runner, &traefik("POST", &run_job, &forged)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(permission.as_deref(), Some("runs:write"));

    // Without Traefik's own headers there is no original request: a client's X-Original-* is
    // not read in their place.
    let (status, _, body) = ask(&app, &runner, &nginx("POST", &run_job)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["data"]["field"], "X-Forwarded-Method");
}

#[tokio::test]
async fn nginx_mode_reads_only_x_original_and_ignores_x_forwarded() {
    let app = app_behind(Some(ForwardAuthHeaders::Nginx)).await;
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let a = app.account;
    let run_job = format!("/api/v2/accounts/{a}/jobs/42/run/");
    let create_job = format!("/api/v2/accounts/{a}/jobs/");

    let (status, permission, body) = ask(&app, &runner, &nginx("POST", &run_job)).await;
    assert_eq!(
        (status, permission.as_deref()),
        (200, Some("runs:write")),
        "{body}"
    );

    // Traefik's headers name an allowed request: not read, so the original is missing.
    let (status, _, body) = ask(&app, &runner, &traefik("POST", &run_job, &[])).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["data"]["field"], "X-Original-Method");

    // And they cannot turn nginx's denial into an allow.
    let mut both = nginx("POST", &create_job);
    both.extend(traefik("POST", &run_job, &[]));
    let (status, _, body) = ask(&app, &runner, &both).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn until_the_proxy_is_named_forward_auth_refuses_with_501_saying_how_to_start() {
    let app = app_behind(None).await;
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let run_job = format!("/api/v2/accounts/{}/jobs/42/run/", app.account);
    for headers in [nginx("POST", &run_job), traefik("POST", &run_job, &[])] {
        let (status, permission, body) = ask(&app, &runner, &headers).await;
        assert_eq!(status, 501, "{body}");
        assert_eq!(permission, None);
        assert_eq!(body["status"]["code"], 501);
        assert_eq!(body["status"]["is_success"], false);
        let message = body["status"]["user_message"].as_str().unwrap();
        assert!(message.contains("--forward-auth-headers"), "{message}");
    }
}

#[tokio::test]
async fn a_repeated_original_header_is_refused_whichever_copy_comes_first() {
    let app = app_behind(Some(ForwardAuthHeaders::Traefik)).await;
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let a = app.account;
    let allowed = format!("/api/v2/accounts/{a}/jobs/42/run/");
    let denied = format!("/api/v2/accounts/{a}/jobs/");
    for (first, second) in [
        (&allowed, &denied),
        (&denied, &allowed),
        (&allowed, &allowed),
    ] {
        let headers = [
            ("X-Forwarded-Method", "POST"),
            ("X-Forwarded-Uri", first.as_str()),
            ("X-Forwarded-Uri", second.as_str()),
        ];
        let (status, _, body) = ask(&app, &runner, &headers).await;
        assert_eq!(status, 400, "{first} then {second}: {body}");
        assert_eq!(body["data"]["field"], "X-Forwarded-Uri");
    }
    let headers = [
        ("X-Forwarded-Method", "POST"),
        ("X-Forwarded-Method", "GET"),
        ("X-Forwarded-Uri", allowed.as_str()),
    ];
    let (status, _, body) = ask(&app, &runner, &headers).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["data"]["field"], "X-Forwarded-Method");
}

#[tokio::test]
async fn ambiguous_query_strings_are_refused_and_encoded_keys_are_read_decoded() {
    let app = app_behind(Some(ForwardAuthHeaders::Nginx)).await;
    let viewer = app
        .token(app.account, &[&format!("job_viewer:project={}", app.p1)])
        .await;
    let (a, p1, p2) = (app.account, app.p1, app.p2);
    let runs = format!("/api/v2/accounts/{a}/runs/");
    for (query, want) in [
        // The plain cases.
        (format!("project_id={p1}"), 200),
        (format!("project_id={p2}"), 403),
        // Encoded keys and values are what the upstream decodes them to.
        (format!("project%5Fid={p1}"), 200),
        (format!("project%5fid={p2}"), 403),
        (format!("project_id={}", encoded(p1.0)), 200),
        (format!("project_id={}", encoded(p2.0)), 403),
        // Two values for one key, however spelled: refused, never guessed.
        (format!("project_id={p1}&project%5Fid={p2}"), 403),
        (format!("project%5Fid={p2}&project_id={p1}"), 403),
        (format!("project_id={p1}&project_id={p1}"), 403),
        (format!("project_id={p1}&PROJECT_ID={p2}"), 403),
        (format!("project_id={p1}&project.id={p2}"), 403),
        (format!("project_id={p1}&limit=5&project_id={p2}"), 403),
        (format!("limit=5&limit=6&project_id={p1}"), 403),
        // `;` separates pairs for some parsers, and `[]` makes arrays for others.
        (format!("project_id={p1};project_id={p2}"), 403),
        (format!("project_id%5B%5D={p2}&project_id={p1}"), 403),
        // Malformed escapes.
        (format!("project_id={p1}&x=%zz"), 403),
    ] {
        let uri = format!("{runs}?{query}");
        let (status, _, body) = ask(&app, &viewer, &nginx("GET", &uri)).await;
        assert_eq!(status, want, "{uri}: {body}");
    }
}

#[tokio::test]
async fn paths_upstreams_read_differently_are_refused_and_unreserved_escapes_are_decoded() {
    let app = app_behind(Some(ForwardAuthHeaders::Nginx)).await;
    // Reads jobs and may run them; may not read environments nor create jobs.
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let viewer = app
        .token(app.account, &[&format!("job_viewer:project={}", app.p1)])
        .await;
    let (a, p1, p2) = (app.account, app.p1, app.p2);
    let envs = format!("v3/accounts/{a}/projects/{p1}/environments/");
    for (token, method, uri, want) in [
        // Tomcat and Spring read `..;` as `..`: this is GET /api/v3/…/environments/ to them.
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/..;/..;/..;/..;/{envs}"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/1;x=y/"),
            403,
        ),
        // Backslashes are separators to some upstreams and characters to others.
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/1\\..\\..\\..\\..\\{envs}"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/1%5C..%5C..%5Cbilling/"),
            403,
        ),
        // Dot segments, plain or encoded, and encoded slashes.
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{envs}"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/%2E%2E/"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/.%2e/x/"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/../../{envs}"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/1/./x/"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/1%2F..%2F..%2Fbilling/"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/1%2f..%2f..%2fbilling/"),
            403,
        ),
        // Double encoding: decoded twice by some, once by others.
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/jobs/%252e%252e/x/"),
            403,
        ),
        // An empty segment: merged by some upstreams, a segment of its own to others.
        (
            &runner,
            "POST",
            format!("/api/v2/accounts/{a}/jobs/42//run/"),
            403,
        ),
        (
            &runner,
            "POST",
            format!("//api/v2/accounts/{a}/jobs/42/run/"),
            403,
        ),
        // Not a path at all, a fragment, a lower-case method.
        (
            &runner,
            "POST",
            format!("http://upstream/api/v2/accounts/{a}/jobs/42/run/"),
            403,
        ),
        (
            &runner,
            "POST",
            format!("/api/v2/accounts/{a}/jobs/42/run/#x"),
            403,
        ),
        (
            &runner,
            "post",
            format!("/api/v2/accounts/{a}/jobs/42/run/"),
            403,
        ),
        // Unreserved characters percent-encoded are the same URI (RFC 3986 6.2.2.2): decoded,
        // then matched.
        (
            &runner,
            "POST",
            format!("/api/v2/accounts/{a}/jobs/42/%72%75%6E/"),
            200,
        ),
        (
            &runner,
            "POST",
            format!("/api/v2/accounts/{a}/jobs/42/ru%6e/"),
            200,
        ),
        (
            &runner,
            "POST",
            format!("/api/v2/accounts/{a}/%6Aobs/"),
            403,
        ),
        (
            &viewer,
            "GET",
            format!("/api/v3/accounts/{a}/projects/{p1}/environments/"),
            200,
        ),
        (
            &viewer,
            "GET",
            format!(
                "/api/v3/accounts/{}/projects/{}/environments/",
                encoded(a.0),
                encoded(p1.0)
            ),
            200,
        ),
        (
            &viewer,
            "GET",
            format!(
                "/api/v3/accounts/{a}/projects/{}/environments/",
                encoded(p2.0)
            ),
            403,
        ),
        (
            &viewer,
            "GET",
            format!("/api/v3/accounts/{a}/projects/{p2}/environments/"),
            403,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/runs/5/artifacts/manifest%2Ejson"),
            200,
        ),
        (
            &runner,
            "GET",
            format!("/api/v2/accounts/{a}/runs/5/artifacts/my%20file.json"),
            200,
        ),
    ] {
        let (status, _, body) = ask(&app, token, &nginx(method, &uri)).await;
        assert_eq!(status, want, "{method} {uri}: {body}");
    }
}

#[tokio::test]
async fn envoy_mode_reads_the_check_requests_own_method_and_path() {
    let app = app_behind(Some(ForwardAuthHeaders::Envoy)).await;
    let runner = app.token(app.account, &["job_runner:all"]).await;
    let viewer = app
        .token(app.account, &[&format!("job_viewer:project={}", app.p1)])
        .await;
    let (a, p1, p2) = (app.account, app.p1, app.p2);
    let runs = |p| format!("/api/v2/accounts/{a}/runs/?project_id={p}");

    // ext_authz with `path_prefix: /auth/forward` sends GET /auth/forward/<original path>.
    let (status, permission, body) =
        ask_at(&app, &format!("/auth/forward{}", runs(p1)), &viewer, &[]).await;
    assert_eq!(
        (status, permission.as_deref()),
        (200, Some("runs:read")),
        "{body}"
    );
    // Headers of the other proxies change nothing, either way.
    let p1_runs = runs(p1);
    let p2_runs = runs(p2);
    let forged = [
        ("X-Original-Method", "GET"),
        ("X-Original-URI", p1_runs.as_str()),
        ("X-Forwarded-Method", "GET"),
        ("X-Forwarded-Uri", p1_runs.as_str()),
    ];
    let (status, _, body) =
        ask_at(&app, &format!("/auth/forward{p2_runs}"), &viewer, &forged).await;
    assert_eq!(status, 403, "{body}");

    // The method is the check request's own.
    let run_job = format!("/auth/forward/api/v2/accounts/{a}/jobs/42/run/");
    let resp = app
        .http
        .post(format!("{}{run_job}", app.url))
        .header("Authorization", format!("Token {runner}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-latchkey-permission"], "runs:write");
    let resp = app
        .http
        .delete(format!("{}{run_job}", app.url))
        .header("Authorization", format!("Token {runner}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        403,
        "no rule maps DELETE on a job's run"
    );

    // The path is normalised like any other: raw, as Envoy may send it.
    let addr = app.url.trim_start_matches("http://");
    let envs = format!("v3/accounts/{a}/projects/{p1}/environments/");
    for target in [
        format!("/auth/forward/api/v2/accounts/{a}/jobs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/{envs}"),
        format!("/auth/forward/api/v2/accounts/{a}/jobs/..;/..;/..;/..;/{envs}"),
        format!("/auth/forward/api/v2/accounts/{a}/jobs/1\\..\\..\\..\\..\\{envs}"),
    ] {
        assert_eq!(
            raw_request(addr, &raw_get(&target, &runner)).await.0,
            403,
            "{target}"
        );
    }
    assert_eq!(
        raw_request(
            addr,
            &raw_get(
                &format!("/auth/forward/api/v2/accounts/{a}/jobs/1/"),
                &runner
            )
        )
        .await
        .0,
        200
    );

    // Without Envoy's path_prefix there is no original path.
    let (status, _, body) = ask_at(&app, "/auth/forward", &runner, &[]).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_envoy_path_answers_only_in_envoy_mode() {
    for proxy in [ForwardAuthHeaders::Nginx, ForwardAuthHeaders::Traefik] {
        let app = app_behind(Some(proxy)).await;
        let runner = app.token(app.account, &["job_runner:all"]).await;
        let path = format!("/auth/forward/api/v2/accounts/{}/jobs/1/", app.account);
        let (status, _, body) = ask_at(&app, &path, &runner, &traefik("GET", &path, &[])).await;
        assert_eq!(status, 404, "{proxy:?}: {body}");
    }
}
