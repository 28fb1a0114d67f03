//! The express lane ([`latchkey_server::express`]) answers what it takes exactly as the router
//! does. Every request here is sent twice over raw sockets: on a fresh connection, where the
//! lane takes it, and on a connection whose first request (`GET /readyz`) the lane does not
//! take, so that hyper and the router answer it; the two answers must be the same byte for byte
//! but the `date`. The lane's own counters prove which one answered each time. Then the
//! connection itself: pipelining, a head and body arriving a byte at a time, `Connection:
//! close`, a handover in the middle of pipelined requests, and what the lane leaves to hyper.

use crate::common::{spawn_app_with, App, PROPAGATION};
use latchkey_server::ServerConfig;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An answer as read off the wire: its status line, its headers but `date` (names lowercased,
/// in the order sent) and its body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

async fn connect(app: &App) -> TcpStream {
    TcpStream::connect(app.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads one whole answer off `stream`, keeping bytes of the next in `pending`.
async fn read_answer(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Answer {
    let read = tokio::time::timeout(PROPAGATION, async {
        loop {
            if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(pending[..end].to_vec()).unwrap();
                let mut lines = head.split("\r\n");
                let status = lines.next().unwrap().to_owned();
                let headers: Vec<(String, String)> = lines
                    .map(|l| {
                        let (n, v) = l.split_once(": ").unwrap();
                        (n.to_ascii_lowercase(), v.to_owned())
                    })
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                if pending.len() >= end + 4 + length {
                    let body = String::from_utf8(pending[end + 4..end + 4 + length].to_vec());
                    pending.drain(..end + 4 + length);
                    let (dates, headers): (Vec<_>, Vec<_>) =
                        headers.into_iter().partition(|(n, _)| n == "date");
                    assert_eq!(dates.len(), 1, "one date: {dates:?}");
                    assert!(dates[0].1.ends_with(" GMT"), "{dates:?}");
                    return Answer {
                        status,
                        headers,
                        body: body.unwrap(),
                    };
                }
            }
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a whole answer: {pending:?}");
            pending.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    read.expect("no answer")
}

/// Whether the server closes `stream` within [`PROPAGATION`] (its answers read and dropped).
async fn closes(stream: &mut TcpStream) -> bool {
    tokio::time::timeout(PROPAGATION, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

/// The lane's counters now: requests answered, connections handed over.
fn counters(app: &App) -> (u64, u64) {
    app.verifier.metrics().express()
}

/// `request` answered by the lane (a fresh connection), and by the router (after a request the
/// lane hands over); asserts which answered from the counters.
async fn both(app: &App, request: &[u8]) -> (Answer, Answer) {
    let before = counters(app);
    let mut s = connect(app).await;
    s.write_all(request).await.unwrap();
    let lane = read_answer(&mut s, &mut Vec::new()).await;
    let after_lane = counters(app);
    assert_eq!(after_lane, (before.0 + 1, before.1), "the lane answered");

    let mut s = connect(app).await;
    let mut pending = Vec::new();
    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let ready = read_answer(&mut s, &mut pending).await;
    assert_eq!(ready.status, "HTTP/1.1 200 OK", "{ready:?}");
    s.write_all(request).await.unwrap();
    let router = read_answer(&mut s, &mut pending).await;
    assert_eq!(
        counters(app),
        (after_lane.0, after_lane.1 + 1),
        "the router answered"
    );
    (lane, router)
}

fn post(authorization: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Vec<u8> {
    let authorization = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
    let content_type = content_type.map_or(String::new(), |c| format!("Content-Type: {c}\r\n"));
    let head = format!(
        "POST /api/v1/authorize HTTP/1.1\r\nHost: latchkey\r\n{authorization}{content_type}\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    request
}

fn config() -> ServerConfig {
    ServerConfig {
        // Many refusals from one address in a row: the throttle is tested elsewhere.
        failed_auth_limit: 100_000,
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn every_answer_of_the_lane_is_the_router_s() {
    let app = spawn_app_with(config()).await;
    let admin = app.token(app.account, &["account_admin"]).await;
    let runner = app
        .token(app.account, &[&format!("job_runner:project={}", app.p1)])
        .await;
    let (_, pat) = app
        .user_with_pat(
            "dev@example.com",
            latchkey_core::License::Developer,
            &["developer"],
        )
        .await;
    let (revoked_id, revoked) = app.mint(&[crate::common::grant("job_admin")]).await;
    app.store
        .revoke_service_token(
            &latchkey_store::Actor::operator(),
            latchkey_core::Authority::Operator,
            Some(app.account),
            revoked_id,
        )
        .await
        .unwrap();
    let unknown = latchkey_core::TokenFormat::default()
        .generate(latchkey_core::TokenKind::Service)
        .secret
        .expose()
        .to_owned();
    let json = Some("application/json");
    let p1 = app.p1;
    let bodies: Vec<String> = vec![
        r#"{"permission":"jobs:write"}"#.into(),
        format!(r#"{{"permission":"jobs:write","project_id":{p1}}}"#),
        format!(r#"{{"permission":"jobs:write","project_id":{p1},"environment":"production"}}"#),
        format!(r#"{{"permission":"jobs:read","project_id":{p1},"explain":true}}"#),
        format!(
            r#"{{"checks":[{{"permission":"jobs:read"}},{{"permission":"jobs:write","project_id":{p1}}}]}}"#
        ),
        r#"{"checks":[],"explain":true}"#.into(),
        r#"{"permission":"jobs:write","project_id":2.0e0}"#.into(),
        r#"{"permission":"jobs:write","project_id":-1}"#.into(),
        r#"{"permission":"no:such"}"#.into(),
        r#"{"permission":"jobs:write","extra":1}"#.into(),
        r#"{"permission":7}"#.into(),
        r#"{"permission":"jobs:write' OR 1=1 --"}"#.into(),
        r#"{"permission":"jöbs:wrïte\u0000\ud800"}"#.into(),
        r#"["jobs:write"]"#.into(),
        r#"{"permission":"#.into(),
        String::new(),
        "   ".into(),
    ];
    let mut compared = 0;
    let secrets = [&admin, &runner, &pat, &revoked, &unknown];
    for secret in secrets {
        for body in &bodies {
            let (lane, router) = both(
                &app,
                &post(Some(&format!("Token {secret}")), json, body.as_bytes()),
            )
            .await;
            assert_eq!(lane, router, "{body}");
            compared += 1;
        }
    }
    let ask = br#"{"permission":"jobs:read"}"#;
    for authorization in [
        None,
        Some("Token".to_owned()),
        Some("Token not-a-token".to_owned()),
        Some(format!("Bearer {admin}")),
        Some(format!("bearer   {admin}  ")),
        Some(format!("Basic {admin}")),
        Some(format!("Token {admin}x")),
    ] {
        let (lane, router) = both(&app, &post(authorization.as_deref(), json, ask)).await;
        assert_eq!(lane, router, "{authorization:?}");
        compared += 1;
    }
    let token = format!("Token {admin}");
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/json; charset=utf-8"),
        Some("application/problem+json"),
        Some("APPLICATION/JSON"),
    ] {
        let (lane, router) = both(&app, &post(Some(&token), content_type, ask)).await;
        assert_eq!(lane, router, "{content_type:?}");
        compared += 1;
    }
    for probe in ["/livez", "/healthz"] {
        let request = format!("GET {probe} HTTP/1.1\r\nHost: x\r\n\r\n");
        let (lane, router) = both(&app, request.as_bytes()).await;
        assert_eq!(lane, router, "{probe}");
        assert_eq!(lane.body, r#"{"status":"ok"}"#);
        compared += 1;
    }
    // The answers are the real ones, not two equal refusals.
    let allowed = format!(r#"{{"permission":"jobs:write","project_id":{p1}}}"#);
    let (lane, _) = both(&app, &post(Some(&token), json, allowed.as_bytes())).await;
    assert!(lane.body.contains(r#""allowed":true"#), "{lane:?}");
    let (lane, _) = both(&app, &post(Some(&format!("Token {revoked}")), json, ask)).await;
    assert_eq!(lane.status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(lane.header("www-authenticate"), Some("Bearer"));
    assert!(compared > 90, "{compared}");
}

#[tokio::test]
async fn an_ip_fence_and_a_trusted_proxy_are_the_router_s_too() {
    let app = spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..config()
    })
    .await;
    let new = latchkey_core::TokenFormat::default().generate(latchkey_core::TokenKind::Service);
    let grants = [crate::common::grant("job_admin")];
    let allowed: Vec<latchkey_core::Cidr> = vec!["203.0.113.0/24".parse().unwrap()];
    app.store
        .create_service_token(
            &latchkey_store::Actor::operator(),
            latchkey_core::Minter::Operator,
            &latchkey_store::NewServiceToken {
                account_id: app.account,
                name: "fenced",
                grants: &grants,
                expires_at: None,
                allowed_cidrs: &allowed,
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await
        .unwrap();
    let token = format!("Token {}", new.secret.expose());
    let body = br#"{"permission":"jobs:read"}"#;
    let mut statuses = Vec::new();
    for forwarded in [
        None,
        Some("203.0.113.9"),
        Some("198.51.100.1, 203.0.113.9"),
        Some("203.0.113.9, 198.51.100.1"),
        Some("not-an-address"),
    ] {
        let mut request = post(Some(&token), Some("application/json"), body);
        if let Some(hops) = forwarded {
            let at = request.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
            let header = format!("X-Forwarded-For: {hops}\r\n");
            request.splice(at..at, header.bytes());
        }
        let (lane, router) = both(&app, &request).await;
        assert_eq!(lane, router, "{forwarded:?}");
        statuses.push(lane.status);
    }
    assert_eq!(
        statuses,
        [
            "HTTP/1.1 403 Forbidden",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 403 Forbidden",
            "HTTP/1.1 403 Forbidden",
        ]
    );
}

#[tokio::test]
async fn pipelined_and_dribbled_requests_are_answered_in_order() {
    let app = spawn_app_with(config()).await;
    let admin = format!("Token {}", app.token(app.account, &["account_admin"]).await);
    let ask = |permission: &str| {
        post(
            Some(&admin),
            Some("application/json"),
            format!(r#"{{"permission":"{permission}"}}"#).as_bytes(),
        )
    };
    // Three at once, in one write.
    let mut s = connect(&app).await;
    let mut all = ask("jobs:read");
    all.extend(ask("jobs:write"));
    all.extend(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(&all).await.unwrap();
    let mut pending = Vec::new();
    let first = read_answer(&mut s, &mut pending).await;
    let second = read_answer(&mut s, &mut pending).await;
    let third = read_answer(&mut s, &mut pending).await;
    assert!(
        first.body.contains(r#""permission":"jobs:read""#),
        "{first:?}"
    );
    assert!(
        second.body.contains(r#""permission":"jobs:write""#),
        "{second:?}"
    );
    assert_eq!(third.body, r#"{"status":"ok"}"#);

    // One byte at a time, head and body.
    let before = counters(&app);
    let mut s = connect(&app).await;
    s.set_nodelay(true).unwrap();
    for byte in ask("jobs:read") {
        s.write_all(&[byte]).await.unwrap();
        s.flush().await.unwrap();
    }
    let dribbled = read_answer(&mut s, &mut Vec::new()).await;
    assert_eq!(dribbled.body, first.body);
    assert_eq!(counters(&app).0, before.0 + 1);

    // A request the lane does not take, between two it does: all three answered, in order,
    // the last by the router.
    let before = counters(&app);
    let mut s = connect(&app).await;
    let mut all = ask("jobs:read");
    all.extend(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    all.extend(ask("jobs:write"));
    s.write_all(&all).await.unwrap();
    let mut pending = Vec::new();
    let answers = [
        read_answer(&mut s, &mut pending).await,
        read_answer(&mut s, &mut pending).await,
        read_answer(&mut s, &mut pending).await,
    ];
    assert!(answers[0].body.contains("jobs:read"), "{answers:?}");
    assert!(answers[1].body.contains(r#""change_feed""#), "{answers:?}");
    assert!(answers[2].body.contains("jobs:write"), "{answers:?}");
    assert_eq!(counters(&app), (before.0 + 1, before.1 + 1));
}

#[tokio::test]
async fn connection_close_is_answered_and_honoured() {
    let app = spawn_app_with(config()).await;
    let mut s = connect(&app).await;
    s.write_all(
        b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /livez HTTP/1.1\r\n\r\n",
    )
    .await
    .unwrap();
    let mut pending = Vec::new();
    let answer = read_answer(&mut s, &mut pending).await;
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(closes(&mut s).await, "the connection stays open");
    assert!(pending.is_empty(), "answered past the close: {pending:?}");
}

#[tokio::test]
async fn what_the_lane_does_not_take_the_router_answers() {
    let app = spawn_app_with(ServerConfig {
        body_limit: 64 * 1024,
        ..config()
    })
    .await;
    let admin = format!("Token {}", app.token(app.account, &["account_admin"]).await);
    let ask = br#"{"permission":"jobs:read"}"#;
    let chunked = format!(
        "POST /api/v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: {admin}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{}\r\n0\r\n\r\n",
        ask.len(),
        String::from_utf8_lossy(ask)
    );
    let padded = format!(
        r#"{{"permission":"jobs:read"{}}}"#,
        " ".repeat(latchkey_server::express::MAX_BODY)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        // Chunked: the router reads it and answers the check.
        (chunked.into_bytes(), "HTTP/1.1 200 OK"),
        // Longer than the lane reads before authenticating, within the server's limit.
        (
            post(Some(&admin), Some("application/json"), padded.as_bytes()),
            "HTTP/1.1 200 OK",
        ),
        // Over the body limit: the router's 413.
        (
            post(
                Some(&admin),
                Some("application/json"),
                &[b' '; 64 * 1024 + 1],
            ),
            "HTTP/1.1 413 Payload Too Large",
        ),
        // HTTP/1.0, a HEAD, a query string, a path with a trailing slash, another route.
        (b"GET /livez HTTP/1.0\r\n\r\n".to_vec(), "HTTP/1.0 200 OK"),
        (
            b"GET /livez?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 200 OK",
        ),
        (
            b"GET /api/v1/authorize HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            b"POST /api/v1/authorize HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 401 Unauthorized",
        ),
        (
            b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "HTTP/1.1 404 Not Found",
        ),
    ];
    for (request, status) in cases {
        let before = counters(&app);
        let mut s = connect(&app).await;
        s.write_all(&request).await.unwrap();
        let answer = read_answer(&mut s, &mut Vec::new()).await;
        assert_eq!(
            answer.status,
            status,
            "{}",
            String::from_utf8_lossy(&request)
        );
        assert_eq!(counters(&app), (before.0, before.1 + 1));
    }
}

/// A connection with an authorize request in hand: everything sent but the body's last byte
/// (returned), once the guard has looked its new, so uncached, token up.
async fn request_in_hand(app: &App) -> (TcpStream, u8) {
    let admin = format!("Token {}", app.token(app.account, &["account_admin"]).await);
    let request = post(
        Some(&admin),
        Some("application/json"),
        br#"{"permission":"jobs:read"}"#,
    );
    let misses = app.verifier.metrics().cache_misses();
    let (head, last) = request.split_at(request.len() - 1);
    let mut s = connect(app).await;
    s.write_all(head).await.unwrap();
    crate::common::eventually("the guard looking the token up", async || {
        (app.verifier.metrics().cache_misses() > misses).then_some(())
    })
    .await;
    (s, last[0])
}

#[tokio::test]
async fn a_stop_lets_the_lane_finish_the_request_in_hand() {
    let app = spawn_app_with(ServerConfig {
        request_timeout: Duration::from_secs(600),
        ..config()
    })
    .await;
    // The request is in hand when the server stops.
    let (mut s, last) = request_in_hand(&app).await;
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_answer(&mut idle, &mut Vec::new()).await;
    let mut app = app;
    app.stop();
    assert!(closes(&mut idle).await, "an idle connection stays open");
    s.write_all(&[last]).await.unwrap();
    let mut pending = Vec::new();
    let answer = read_answer(&mut s, &mut pending).await;
    assert_eq!(answer.status, "HTTP/1.1 200 OK", "{answer:?}");
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(closes(&mut s).await);
}

/// A forward-auth request as `proxy` sends it: the original method and URI in its headers.
fn forward(verb: &str, token: Option<&str>, original: &[(&str, &str)]) -> Vec<u8> {
    let authorization = token.map_or(String::new(), |t| format!("Authorization: Token {t}\r\n"));
    let headers: String = original
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    format!("{verb} /auth/forward HTTP/1.1\r\nHost: latchkey\r\n{authorization}{headers}\r\n")
        .into_bytes()
}

#[tokio::test]
async fn forward_auth_answers_are_the_router_s() {
    use latchkey_server::ForwardAuthHeaders::{Nginx, Traefik};
    for proxy in [Some(Nginx), Some(Traefik), None] {
        let app = spawn_app_with(ServerConfig {
            forward_auth_headers: proxy,
            ..config()
        })
        .await;
        let (a, p1, p2) = (app.account, app.p1, app.p2);
        let admin = app.token(a, &["account_admin"]).await;
        let runner = app.token(a, &[&format!("job_runner:project={p1}")]).await;
        let (method, uri) = match proxy {
            Some(Traefik) => ("X-Forwarded-Method", "X-Forwarded-Uri"),
            _ => ("X-Original-Method", "X-Original-URI"),
        };
        let runs = |project: i64| format!("/api/v2/accounts/{a}/runs/?project_id={project}");
        let originals: Vec<Vec<(&str, String)>> = vec![
            vec![(method, "GET".into()), (uri, runs(p1.0))],
            vec![(method, "GET".into()), (uri, runs(p2.0))],
            vec![
                (method, "POST".into()),
                (uri, format!("/api/v2/accounts/{a}/jobs/1/run/")),
            ],
            vec![
                (method, "GET".into()),
                (uri, format!("/api/v2/accounts/{a}/runs/")),
            ],
            vec![
                (method, "GET".into()),
                (uri, format!("/api/v2/accounts/{}/runs/", a.0 + 1)),
            ],
            vec![
                (method, "GET".into()),
                (uri, format!("/api/v2/accounts/{a}/runs/../../billing/")),
            ],
            vec![(method, "GET".into()), (uri, "/nowhere/at/all".into())],
            vec![
                (method, "GET".into()),
                (uri, format!("{}&project_id={}", runs(p1.0), p2.0)),
            ],
            vec![(uri, runs(p1.0))],
            vec![(method, "GET".into())],
            vec![],
        ];
        let mut statuses = Vec::new();
        for verb in ["GET", "POST"] {
            for token in [
                Some(admin.as_str()),
                Some(runner.as_str()),
                Some("nope"),
                None,
            ] {
                for original in &originals {
                    let original: Vec<(&str, &str)> =
                        original.iter().map(|(n, v)| (*n, v.as_str())).collect();
                    let (lane, router) = both(&app, &forward(verb, token, &original)).await;
                    assert_eq!(lane, router, "{proxy:?} {verb} {original:?}");
                    statuses.push(lane.status);
                }
            }
        }
        // Real answers, not one refusal over and over.
        let distinct: std::collections::BTreeSet<_> = statuses.iter().collect();
        match proxy {
            None => assert!(distinct.contains(&"HTTP/1.1 501 Not Implemented".to_owned())),
            Some(_) => {
                for status in [
                    "HTTP/1.1 200 OK",
                    "HTTP/1.1 403 Forbidden",
                    "HTTP/1.1 400 Bad Request",
                ] {
                    assert!(
                        distinct.contains(&status.to_owned()),
                        "{proxy:?}: {distinct:?}"
                    );
                }
            }
        }
        assert!(distinct.contains(&"HTTP/1.1 401 Unauthorized".to_owned()));
        let allowed = forward("GET", Some(&admin), &[(method, "GET"), (uri, &runs(p1.0))]);
        if proxy.is_some() {
            let (lane, _) = both(&app, &allowed).await;
            assert_eq!(
                lane.header("x-latchkey-permission"),
                Some("runs:read"),
                "{lane:?}"
            );
            assert_eq!(lane.header("content-length"), Some("0"));
        }
    }
}

#[tokio::test]
async fn a_request_in_hand_in_the_lane_holds_its_connection_at_the_cap() {
    let app = spawn_app_with(ServerConfig {
        max_connections: 1,
        request_timeout: Duration::from_secs(600),
        ..config()
    })
    .await;
    // The one connection the cap allows has its request in hand.
    let (mut held, last) = request_in_hand(&app).await;
    // A new connection cannot take its place: it is shed (503, or simply closed).
    let mut late = connect(&app).await;
    let _ = late
        .write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut shed = Vec::new();
    let closed = tokio::time::timeout(PROPAGATION, late.read_to_end(&mut shed)).await;
    assert!(closed.is_ok(), "the late connection was held");
    let shed = String::from_utf8_lossy(&shed);
    assert!(
        shed.is_empty() || shed.starts_with("HTTP/1.1 503"),
        "{shed}"
    );
    // The held one is answered, and stays open for its next request.
    held.write_all(&[last]).await.unwrap();
    let mut pending = Vec::new();
    let answer = read_answer(&mut held, &mut pending).await;
    assert_eq!(answer.status, "HTTP/1.1 200 OK", "{answer:?}");
    held.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_answer(&mut held, &mut pending).await.body,
        r#"{"status":"ok"}"#
    );
}
