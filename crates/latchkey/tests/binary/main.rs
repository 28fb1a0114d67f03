//! The real `latchkey` binary, driven as a newcomer would, on a real SQLite file (and, in
//! `multi_node`, as several nodes on one PostgreSQL).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

mod decisions;
mod harness;
mod logs;
mod multi_node;
mod settings;
mod shutdown;

use harness::*;
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn init_project_token_check_and_revoke_work_from_the_command_line() {
    let env = Env::new();
    let init: Value = serde_json::from_str(&env.ok(&[
        "init",
        "--account",
        "Acme",
        "--plan",
        "enterprise",
        "--admin-email",
        "a@b.io",
        "--json",
    ]))
    .unwrap();
    for key in [
        "account_id",
        "project_id",
        "admin_user_id",
        "admin_password",
        "token",
    ] {
        assert!(!init[key].is_null(), "{key} missing in {init}");
    }
    let account = init["account_id"].to_string();
    let admin_token = init["token"].as_str().unwrap().to_owned();
    assert!(is_service_token(&admin_token));

    let project: Value = serde_json::from_str(&env.ok(&[
        "project",
        "create",
        "--account",
        &account,
        "--name",
        "Analytics",
        "--json",
    ]))
    .unwrap();
    let project_id = project["id"].to_string();

    let out = env.ok(&[
        "token",
        "create",
        "--account",
        &account,
        "--name",
        "ci",
        "--grant",
        &format!("job_admin:project={project_id}"),
    ]);
    assert_eq!(out.lines().count(), 1, "only the secret on stdout: {out:?}");
    let token = out.trim().to_owned();
    assert!(is_service_token(&token));

    let (code, json) = env.check(
        &token,
        &["--permission", "jobs:write", "--project", &project_id],
        false,
    );
    assert_eq!((code, json["allowed"].clone()), (0, Value::Bool(true)));
    let (code, json) = env.check(
        &token,
        &[
            "--permission",
            "jobs:write",
            "--project",
            &init["project_id"].to_string(),
        ],
        true,
    );
    assert_eq!((code, json["allowed"].clone()), (1, Value::Bool(false)));
    assert_eq!(json["reason"]["code"], "no_grant");
    let (code, _) = env.check(
        &admin_token,
        &["--permission", "service_tokens:write"],
        true,
    );
    assert_eq!(code, 0);
    let (code, _) = env.check("lksvc_not-a-token", &["--permission", "jobs:read"], false);
    assert_eq!(code, 2);

    let list = env.ok(&["token", "list", "--account", &account, "--json"]);
    assert!(
        !list.contains(&token) && !list.contains(&admin_token),
        "a secret in the listing"
    );
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["token_string"].is_null()));
    let id = list[0]["id"].to_string();
    let shown: Value = serde_json::from_str(&env.ok(&["token", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["name"], "ci");
    assert_eq!(shown["permission_grants"][0]["permission_set"], "job_admin");

    env.ok(&["token", "revoke", &id]);
    let shown: Value = serde_json::from_str(&env.ok(&["token", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["state"], 2);
    let (code, json) = env.check(
        &token,
        &["--permission", "jobs:write", "--project", &project_id],
        false,
    );
    assert_eq!(code, 2, "{json}");
}

#[test]
fn mistakes_get_one_clear_line_and_a_non_zero_exit() {
    let env = Env::new();
    let init: Value = serde_json::from_str(&env.ok(&[
        "init",
        "--account",
        "Small",
        "--plan",
        "team",
        "--admin-email",
        "t@b.io",
        "--json",
    ]))
    .unwrap();
    let account = init["account_id"].to_string();
    let other: Value = serde_json::from_str(&env.ok(&[
        "init",
        "--account",
        "Other",
        "--plan",
        "enterprise",
        "--admin-email",
        "o@b.io",
        "--json",
    ]))
    .unwrap();

    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "token",
                "create",
                "--account",
                &account,
                "--name",
                "x",
                "--grant",
                "job_admin:project=x",
            ],
            "SET:project=ID",
        ),
        (
            &[
                "token",
                "create",
                "--account",
                &account,
                "--name",
                "x",
                "--grant",
                "job_runner:all",
            ],
            "not available on the team plan",
        ),
        (
            &[
                "token",
                "create",
                "--account",
                &account,
                "--name",
                "x",
                "--grant",
                &format!("job_admin:project={}", other["project_id"]),
            ],
            "does not exist in account",
        ),
        (&["check", "--permission", "jobs"], "RESOURCE:ACCESS"),
        (
            &["serve", "--forward-auth-headers", "haproxy"],
            "expected nginx, traefik or envoy",
        ),
    ];
    for (args, expected) in cases {
        let out = env.run(args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
    let out = env.run(&["token", "show", "424242"]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
fn every_command_has_help() {
    let env = Env::new();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["init", "--help"],
        vec!["migrate", "--help"],
        vec!["project", "create", "--help"],
        vec!["token", "create", "--help"],
        vec!["token", "list", "--help"],
        vec!["token", "show", "--help"],
        vec!["token", "revoke", "--help"],
        vec!["check", "--help"],
    ] {
        let out = env.run(&args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn serve_bootstraps_once_and_sees_cli_revocations_within_a_poll() {
    let env = Env::new();
    let port = free_port();
    let (server, lines) = start_server(&env, port);
    let token = lines
        .iter()
        .find(|l| l.starts_with("lksvc_"))
        .cloned()
        .unwrap_or_else(|| panic!("no token in {lines:?}"));
    assert!(lines.iter().any(|l| l.contains("password")), "{lines:?}");
    let url = format!("http://127.0.0.1:{port}/api/v1/authorize");
    let (status, body) = http::request(
        "POST",
        &url,
        Some(&token),
        r#"{"permission":"service_tokens:write"}"#,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""allowed":true"#), "{body}");
    // Forward auth is off until the proxy in front is named.
    let runs = "/auth/forward/api/v2/accounts/1/runs/";
    let forward = format!("http://127.0.0.1:{port}{runs}");
    for url in [
        forward.clone(),
        format!("http://127.0.0.1:{port}/auth/forward"),
    ] {
        let (status, body) = http::request("GET", &url, Some(&token), "").unwrap();
        assert_eq!(status, 501, "{url}: {body}");
        assert!(body.contains("--forward-auth-headers"), "{body}");
    }
    drop(server);

    // A second start prints nothing secret; named, forward auth answers (Envoy's path here).
    let (_server, lines) = start_server_with(
        &env,
        port,
        Stdio::null(),
        "warn",
        &["--forward-auth-headers", "envoy"],
    );
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("lksvc_") && !l.to_lowercase().contains("password")),
        "{lines:?}"
    );
    let (status, body) = http::request("GET", &forward, Some(&token), "").unwrap();
    assert_eq!(status, 200, "{body}");

    // A token created and then revoked through the CLI while the server runs.
    let ci = env
        .ok(&[
            "token",
            "create",
            "--account",
            "1",
            "--name",
            "ci",
            "--grant",
            "job_runner:all",
        ])
        .trim()
        .to_owned();
    let ask = r#"{"permission":"runs:write","project_id":1}"#;
    let (status, body) = http::request("POST", &url, Some(&ci), ask).unwrap();
    assert_eq!(status, 200, "{body}");
    let list: Value =
        serde_json::from_str(&env.ok(&["token", "list", "--account", "1", "--json"])).unwrap();
    let id = list[0]["id"].to_string();
    env.ok(&["token", "revoke", &id]);
    let revoked_at = Instant::now();
    loop {
        let (status, _) = http::request("POST", &url, Some(&ci), ask).unwrap();
        if status == 401 {
            break;
        }
        assert!(
            // Far beyond the server's change poll, so that a loaded CI machine does not fail a
            // correct build; a revocation that never arrives still fails.
            revoked_at.elapsed() < Duration::from_secs(15),
            "revoked token still accepted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn idle_sockets_past_the_open_file_limit_do_not_stop_service() {
    let env = Env::new();
    let port = free_port();
    // The review's setting: 256 open files, hard limit too, and 370 idle sockets.
    let (_server, lines) =
        start_server_under(&env, port, Stdio::null(), "warn", &[], Some("-n 256"));
    let token = bootstrap_token(&lines);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let hoard: Vec<std::net::TcpStream> = (0..370)
        .map(|n| {
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(10)).unwrap_or_else(
                |e| panic!("idle socket {n}: the server stopped taking connections: {e}"),
            )
        })
        .collect();
    until_served(port, &token);
    drop(hoard);
}

#[cfg(target_os = "linux")]
#[test]
fn serve_raises_its_soft_open_file_limit_to_the_hard_limit() {
    let env = Env::new();
    let port = free_port();
    let (server, _) = start_server_under(&env, port, Stdio::null(), "warn", &[], Some("-Sn 256"));
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.0.id())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    // `Max open files  <soft>  <hard>  files`
    assert_eq!(open_files[3], open_files[4], "{limits}");
    assert_ne!(open_files[3], "256", "{limits}");
}
