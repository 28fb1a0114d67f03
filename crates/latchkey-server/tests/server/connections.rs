//! Connections cannot be hoarded: a request head must arrive within the header-read timeout, an
//! idle keep-alive connection is closed after the idle timeout, a request must be whole within
//! the request timeout, and past the connection cap the longest-idle connection makes room for a
//! new one — or, when every held connection is busy, the new one is shed at once while the held
//! ones are served. All over raw sockets; every wait is for a condition, under a generous ceiling.

use crate::common::{eventually, spawn_app_with, App, PROPAGATION};
use latchkey_server::ServerConfig;
use std::io::{ErrorKind, Read};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Far beyond any wait in these tests, so only the timeout under test can close a connection.
const NEVER: Duration = Duration::from_secs(600);

fn config(
    max_connections: usize,
    header: Duration,
    idle: Duration,
    request: Duration,
) -> ServerConfig {
    ServerConfig {
        max_connections,
        header_read_timeout: header,
        idle_timeout: idle,
        request_timeout: request,
        ..ServerConfig::default()
    }
}

async fn connect(app: &App) -> TcpStream {
    TcpStream::connect(app.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// A connection whose request is being handled: the server has asked for its body (`100
/// Continue`) and waits for it.
async fn busy_connection(app: &App, token: &str, body: &[u8]) -> TcpStream {
    let mut s = connect(app).await;
    let head = format!(
        "POST /api/v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Token {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let continued = tokio::time::timeout(PROPAGATION, async {
        while !String::from_utf8_lossy(&got).contains("100 Continue\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(continued.is_ok(), "{:?}", String::from_utf8_lossy(&got));
    s
}

/// Reads until the server closes the connection (end of stream or reset); what it sent first.
/// Panics if the connection is still open after [`PROPAGATION`].
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(PROPAGATION, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the connection open: {:?}",
        String::from_utf8_lossy(&got)
    );
    got
}

/// Reads one answer (head and `Content-Length` body) off a kept-alive connection.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let answer = tokio::time::timeout(PROPAGATION, async {
        let mut buf = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&got).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .and_then(|n| n.trim().parse::<usize>().ok());
                if length.is_some_and(|n| body.len() >= n) {
                    return text;
                }
            }
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed mid-answer: {text:?}");
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    answer.expect("no answer")
}

fn livez(keep_alive: bool) -> Vec<u8> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    format!("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_header_is_closed_after_the_header_read_timeout() {
    let app = spawn_app_with(config(10_000, Duration::from_secs(1), NEVER, NEVER)).await;
    let mut half = connect(&app).await;
    half.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut silent = connect(&app).await;
    until_closed(&mut half).await;
    until_closed(&mut silent).await;
    // A client that sends its request is answered as ever.
    let mut prompt = connect(&app).await;
    prompt.write_all(&livez(false)).await.unwrap();
    let answer = until_closed(&mut prompt).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(config(10_000, NEVER, Duration::from_secs(1), NEVER)).await;
    let mut stream = connect(&app).await;
    for _ in 0..2 {
        stream.write_all(&livez(true)).await.unwrap();
        let answer = read_answer(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // Nothing more is asked: the server lets go.
    until_closed(&mut stream).await;
}

#[tokio::test]
async fn a_request_whose_body_never_finishes_is_closed_after_the_request_timeout() {
    let app = spawn_app_with(config(10_000, NEVER, NEVER, Duration::from_secs(1))).await;
    let token = app.token(app.account, &["job_viewer:all"]).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /api/v1/authorize HTTP/1.1\r\nHost: x\r\nAuthorization: Token {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"permission\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    until_closed(&mut stream).await;
}

/// Open sockets that never send a byte (std sockets, so the test can look at them without
/// waiting): the hoard.
fn hoard(app: &App, n: usize) -> Vec<std::net::TcpStream> {
    let address = app.url.trim_start_matches("http://");
    (0..n)
        .map(|_| {
            let s = std::net::TcpStream::connect(address).unwrap();
            s.set_nonblocking(true).unwrap();
            s
        })
        .collect()
}

/// How many of `sockets` the server has closed.
fn closed(sockets: &[std::net::TcpStream]) -> usize {
    sockets
        .iter()
        .filter(|s| match Read::read(&mut &**s, &mut [0u8; 64]) {
            Ok(_) => true,
            Err(e) => e.kind() != ErrorKind::WouldBlock,
        })
        .count()
}

#[tokio::test]
async fn idle_connections_past_the_cap_do_not_stop_a_new_client_from_being_answered() {
    let app = spawn_app_with(config(32, NEVER, NEVER, NEVER)).await;
    let token = app.token(app.account, &["job_viewer:all"]).await;
    let idle = hoard(&app, 100);
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut s = connect(&app).await;
        s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // A new client, on new connections, is answered on both the liveness and the decision route.
    for _ in 0..3 {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let livez = client
            .get(format!("{}/livez", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(livez.status(), 200);
        let (s, out) = app
            .authorize(&token, serde_json::json!({"permission": "jobs:read"}))
            .await;
        assert_eq!(s, 200, "{out}");
    }
    // Room was made by letting go of the hoard: the server holds no more than its cap of it.
    let held = eventually("the hoard is let go down to the cap", async || {
        let open = idle.len() - closed(&idle);
        (open <= 32).then_some(open)
    })
    .await;
    assert!(held <= 32, "{held}");
}

#[tokio::test]
async fn past_the_cap_with_every_connection_busy_a_new_one_is_shed_and_the_held_ones_are_served() {
    let app = spawn_app_with(config(8, NEVER, NEVER, NEVER)).await;
    let token = app.token(app.account, &["job_viewer:all"]).await;
    let body = br#"{"permission": "jobs:read"}"#;
    let mut busy = Vec::new();
    for _ in 0..8 {
        busy.push(busy_connection(&app, &token, body).await);
    }
    // Every held connection is busy: a new one is refused at once (503, or simply closed).
    let mut late = connect(&app).await;
    let _ = late.write_all(&livez(false)).await;
    let answer = until_closed(&mut late).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 503"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // The held ones are served.
    for s in &mut busy {
        s.write_all(body).await.unwrap();
        let answer = read_answer(s).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // Now idle, they make room for a new client.
    let mut next = connect(&app).await;
    next.write_all(&livez(false)).await.unwrap();
    let answer = until_closed(&mut next).await;
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
}

/// The decision listener (`serve_beside`, `latchkey serve --decision-listen`) serves the same
/// state on connections of its own: with every connection of the main listener busy and a new
/// one shed, decisions asked there are answered, and a revocation made through the main
/// listener's state holds there too.
#[tokio::test]
async fn the_decision_listener_answers_while_the_main_one_is_full() {
    let app = spawn_app_with(config(4, NEVER, NEVER, NEVER)).await;
    let (id, token) = app
        .mint_in(app.account, &[crate::common::grant("job_viewer:all")], None)
        .await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let beside = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    let decisions = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            latchkey_server::serve_beside(listener, state, async {
                let _ = stopped.await;
            })
            .await;
        });
    });
    let body = br#"{"permission": "jobs:read"}"#;
    let mut busy = Vec::new();
    for _ in 0..4 {
        busy.push(busy_connection(&app, &token, body).await);
    }
    let mut late = connect(&app).await;
    let _ = late.write_all(&livez(false)).await;
    let answer = until_closed(&mut late).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 503"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    let ask = async || {
        let resp = app
            .http
            .post(format!("{beside}/api/v1/authorize"))
            .header("Authorization", format!("Token {token}"))
            .json(&serde_json::json!({"permission": "jobs:read"}))
            .send()
            .await
            .unwrap();
        resp.status().as_u16()
    };
    assert_eq!(ask().await, 200);
    app.store
        .revoke_service_token(
            &latchkey_store::Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            id,
        )
        .await
        .unwrap();
    // One state: the main listener's change feed evicts the token for both.
    eventually("the revocation holding beside", async || {
        (ask().await == 401).then_some(())
    })
    .await;
    drop(busy);
    let _ = stop.send(());
    tokio::task::spawn_blocking(move || decisions.join().unwrap())
        .await
        .unwrap();
}
