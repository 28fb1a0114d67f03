//! `latchkey serve --decision-listen`: a second listener, on threads of its own, that answers
//! the same API from the same state, and stops with the server.

use super::{bootstrap_token, free_port, http, start_server_under, Env};
use std::process::Stdio;

#[test]
fn the_decision_listener_answers_beside_the_main_one_and_stops_with_it() {
    let env = Env::new();
    let port = free_port();
    let decide = free_port();
    let decide_at = format!("127.0.0.1:{decide}");
    let (server, lines) = start_server_under(
        &env,
        port,
        Stdio::null(),
        "warn",
        &["--decision-listen", &decide_at],
        None,
    );
    let token = bootstrap_token(&lines);
    for at in [port, decide] {
        let (status, body) = http::request(
            "POST",
            &format!("http://127.0.0.1:{at}/api/v1/authorize"),
            Some(&token),
            r#"{"permission":"service_tokens:write"}"#,
        )
        .unwrap();
        assert_eq!(status, 200, "port {at}: {body}");
        assert!(body.contains(r#""allowed":true"#), "port {at}: {body}");
    }
    // A token that does not work gets the same answer there.
    let (status, body) = http::request(
        "POST",
        &format!("http://127.0.0.1:{decide}/api/v1/authorize"),
        Some("lksvc_not_a_token"),
        r#"{"permission":"jobs:read"}"#,
    )
    .unwrap();
    assert_eq!(status, 401, "{body}");
    server.stop();
    assert!(
        std::net::TcpStream::connect(&decide_at).is_err(),
        "the decision listener outlived the server"
    );
}
