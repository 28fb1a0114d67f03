//! Stopping: on SIGTERM every listener stops taking connections at once, the requests in
//! flight are answered, and the `last_used_at` noted in memory is written before the process
//! exits. The operator's `/metrics` listener is one of those listeners.

use super::{bootstrap_token, free_port, http, start_server_with, Env};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A service token made through the CLI: its id and secret.
fn cli_token(env: &Env, name: &str) -> (String, String) {
    let made: Value = serde_json::from_str(&env.ok(&[
        "token",
        "create",
        "--account",
        "1",
        "--name",
        name,
        "--grant",
        "job_viewer:all",
        "--json",
    ]))
    .unwrap();
    (
        made["id"].to_string(),
        made["token_string"].as_str().unwrap().to_owned(),
    )
}

/// `last_used` of a service token, as `latchkey token show` reads it from the database.
fn last_used(env: &Env, id: &str) -> Value {
    let shown: Value = serde_json::from_str(&env.ok(&["token", "show", id, "--json"])).unwrap();
    shown["last_used"].clone()
}

fn authorize(port: u16, token: &str) -> String {
    let (status, body) = http::request(
        "POST",
        &format!("http://127.0.0.1:{port}/api/v1/authorize"),
        Some(token),
        r#"{"permission":"jobs:read"}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits, up to a generous ceiling, until `probe` holds.
fn until(what: &str, mut probe: impl FnMut() -> bool) {
    let start = Instant::now();
    while !probe() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sigterm(pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
fn sigterm_writes_the_last_use_seen_on_every_listener_before_exiting() {
    let env = Env::new();
    let (port, decide) = (free_port(), free_port());
    let decide_at = format!("127.0.0.1:{decide}");
    // Flushed once an hour: only the stop can write what is used below.
    let (server, _) = start_server_with(
        &env,
        port,
        Stdio::null(),
        "warn",
        &[
            "--usage-flush-secs",
            "3600",
            "--decision-listen",
            &decide_at,
        ],
    );
    let (main_id, main_token) = cli_token(&env, "main");
    let (decide_id, decide_token) = cli_token(&env, "decisions");
    assert_eq!(last_used(&env, &main_id), Value::Null);
    assert_eq!(last_used(&env, &decide_id), Value::Null);
    authorize(port, &main_token);
    authorize(decide, &decide_token);
    server.stop();
    for id in [main_id, decide_id] {
        let used = last_used(&env, &id);
        assert!(used.is_string(), "token {id}: last_used {used}");
    }
}

#[test]
fn sigterm_stops_every_listener_at_once_and_answers_the_requests_in_flight() {
    let env = Env::new();
    let (port, decide, metrics) = (free_port(), free_port(), free_port());
    let (server, lines) = start_server_with(
        &env,
        port,
        Stdio::null(),
        "warn",
        &[
            "--decision-listen",
            &format!("127.0.0.1:{decide}"),
            "--metrics-listen",
            &format!("127.0.0.1:{metrics}"),
            "--usage-flush-secs",
            "3600",
            // The half-sent request below must not time out while the test waits.
            "--request-timeout-secs",
            "600",
        ],
    );
    let admin = bootstrap_token(&lines);
    authorize(decide, &admin);
    // The operator's listener serves the counters; the API listeners do not.
    let scrape = || {
        http::request(
            "GET",
            &format!("http://127.0.0.1:{metrics}/metrics"),
            None,
            "",
        )
    };
    let (status, text) = scrape().unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("latchkey_decisions_total{kind=\"authorize\",outcome=\"allow\"} 1\n"),
        "{text}"
    );
    for at in [port, decide] {
        let url = format!("http://127.0.0.1:{at}/metrics");
        assert_eq!(http::request("GET", &url, Some(&admin), "").unwrap().0, 404);
    }

    // A request whose body is half sent: the guard has looked its new token up (a cache miss
    // the counters show) and the handler waits for the rest.
    let (id, token) = cli_token(&env, "in-flight");
    let body = r#"{"permission":"jobs:read"}"#;
    let (first, rest) = body.split_at(10);
    let mut in_flight = TcpStream::connect(("127.0.0.1", port)).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        in_flight,
        "POST /api/v1/authorize HTTP/1.1\r\nHost: latchkey\r\nAuthorization: Token {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    until("the guard looking the new token up", || {
        scrape().is_some_and(|(_, text)| {
            text.lines()
                .filter_map(|l| l.strip_prefix("latchkey_cache_misses_total "))
                .any(|n| n.parse::<f64>().unwrap() >= 2.0)
        })
    });

    sigterm(server.0.id());
    for at in [port, decide, metrics] {
        until(&format!("port {at} refusing connections"), || {
            TcpStream::connect(("127.0.0.1", at)).is_err()
        });
    }
    let mut server = server;
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "the server exited with a request in flight"
    );
    in_flight.write_all(rest.as_bytes()).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""allowed":true"#), "{answer}");
    until("the server exiting", || {
        server.0.try_wait().unwrap().is_some()
    });
    assert!(server.0.wait().unwrap().success());
    assert!(
        last_used(&env, &id).is_string(),
        "the request's use was lost"
    );
}
