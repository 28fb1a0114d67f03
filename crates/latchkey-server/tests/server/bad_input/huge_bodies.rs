//! 10 MB bodies, over a raw socket, chunked and with a `Content-Length`: 413s in the envelope.

use serde_json::json;
use std::fmt::Write as _;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::cases::assert_error_envelope;
use super::fingerprint::fingerprint;
use super::fixture::{fixture, Fixture};
use super::routes::{Route, FORM, FORM_ROUTES, JSON, JSON_ROUTES, LIST};

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
        write!(head, "Authorization: Token {t}\r\n").unwrap();
    }
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    } else {
        write!(head, "Content-Length: {HUGE}\r\n\r\n").unwrap();
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
