//! What the server logs: never a secret, at any level, as text or as JSON; and with
//! `--log-format json`, nothing but JSON objects, one a line.

use super::{base64, free_port, http, start_server_with, Env};
use serde_json::Value;
use std::process::Stdio;

#[test]
fn secrets_never_reach_the_logs_even_at_trace_level() {
    let logged = secrets_scenario("text");
    assert!(
        logged
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).is_err()),
        "text logs are text"
    );
}

#[test]
fn json_logs_are_one_json_object_a_line_and_hold_no_secret_either() {
    let logged = secrets_scenario("json");
    let mut levels = std::collections::BTreeSet::new();
    for line in logged.lines() {
        let object: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(object["timestamp"].is_string(), "{line}");
        assert!(object["target"].is_string(), "{line}");
        levels.insert(object["level"].as_str().unwrap().to_owned());
    }
    // The filter lets the detail through; the start and the stop are there.
    assert!(
        levels.contains("DEBUG") && levels.contains("INFO"),
        "{levels:?}"
    );
    let said = |message: &str| {
        logged
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).unwrap()["message"] == message)
    };
    assert!(said("latchkey serving") && said("stopped"), "{logged}");
}

/// Drives a server logging at trace level in `format` through everything that handles a secret
/// (minting, using, revoking and guessing tokens, a password sign-in, a PAT, an invitation
/// delivered and redeemed), stops it, and checks no secret reached its log or its database;
/// returns the log.
fn secrets_scenario(format: &str) -> String {
    let env = Env::new();
    let port = free_port();
    let log_path = env.dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, lines) = start_server_with(
        &env,
        port,
        Stdio::from(log),
        "trace",
        &["--log-format", format],
    );
    let admin = lines
        .iter()
        .find(|l| l.starts_with("lksvc_"))
        .cloned()
        .expect("bootstrap token");
    let password = lines
        .iter()
        .find_map(|l| l.strip_prefix("Admin password, shown once: "))
        .expect("bootstrap password")
        .to_owned();
    let base = format!("http://127.0.0.1:{port}");

    // Mint through the API, use, revoke, and present bad tokens.
    let (status, body) = http::request(
        "POST",
        &format!("{base}/api/v3/accounts/1/service-tokens/"),
        Some(&admin),
        r#"{"name":"ci","permission_grants":[{"permission_set":"job_runner"}]}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let minted = created["data"]["token_string"].as_str().unwrap().to_owned();
    let authorize = format!("{base}/api/v1/authorize");
    for token in [&admin, &minted] {
        let (status, _) = http::request(
            "POST",
            &authorize,
            Some(token),
            r#"{"permission":"runs:write","project_id":1}"#,
        )
        .unwrap();
        assert_eq!(status, 200);
    }
    let id = created["data"]["id"].to_string();
    let (status, _) = http::request(
        "DELETE",
        &format!("{base}/api/v3/accounts/1/service-tokens/{id}/"),
        Some(&admin),
        "",
    )
    .unwrap();
    assert_eq!(status, 200);
    let mut wrong = minted.clone();
    wrong.pop();
    wrong.push('x');
    for token in [&minted, &wrong, &"lksvc_short".to_owned()] {
        http::request(
            "POST",
            &authorize,
            Some(token),
            r#"{"permission":"runs:write"}"#,
        )
        .unwrap();
    }
    // Sign in with the password to make a PAT, use it; invite someone who redeems with a password.
    let basic = format!(
        "Basic {}",
        base64(&format!("admin@latchkey.local:{password}"))
    );
    let (status, body) = http::request(
        "POST",
        &format!("{base}/api/v3/accounts/1/personal-tokens/"),
        Some(&basic),
        r#"{"name":"laptop"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let pat: Value = serde_json::from_str(&body).unwrap();
    let pat = pat["data"]["token_string"].as_str().unwrap().to_owned();
    let (status, _) =
        http::request("GET", &format!("{base}/api/v2/whoami/"), Some(&pat), "").unwrap();
    assert_eq!(status, 200);
    let (status, body) = http::request(
        "POST",
        &format!("{base}/api/v3/accounts/1/invites/"),
        Some(&admin),
        r#"{"email":"new@example.com","license_type":"developer"}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let invite: Value = serde_json::from_str(&body).unwrap();
    assert!(
        invite["data"]["code"].is_null(),
        "the inviter never sees a delivered code"
    );
    let delivered = std::fs::read_to_string(env.dir.path().join("delivered.json")).unwrap();
    let delivered: Value = serde_json::from_str(&delivered).unwrap();
    assert_eq!(delivered["email"], "new@example.com");
    let code = delivered["code"].as_str().unwrap().to_owned();
    let new_password = "a brand new secret password";
    let (status, body) = http::request(
        "POST",
        &format!("{base}/api/v3/invites/redeem/"),
        None,
        &format!(r#"{{"code":"{code}","password":"{new_password}"}}"#),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    server.stop();

    let logged = std::fs::read_to_string(&log_path).unwrap();
    for secret in [&basic[6..], &pat, &code, new_password] {
        assert!(!logged.contains(secret), "a credential reached the log");
    }
    // Nor the database, its WAL or its shared memory, in any form a reader could use.
    let mut stored = Vec::new();
    for file in ["l.db", "l.db-wal", "l.db-shm"] {
        stored.extend(std::fs::read(env.dir.path().join(file)).unwrap_or_default());
    }
    let stored = String::from_utf8_lossy(&stored);
    for secret in [
        pat.as_str(),
        &code,
        new_password,
        &admin,
        &minted,
        &password,
    ] {
        assert!(!stored.contains(secret), "a secret reached the database");
        assert!(
            !stored.contains(&secret[secret.len().saturating_sub(24)..]),
            "part of a secret reached the database"
        );
    }
    assert!(
        logged.lines().count() > 5,
        "trace logging produced almost nothing: {logged}"
    );
    for secret in [&admin, &minted, &wrong, &password] {
        assert!(
            !logged.contains(secret.as_str()),
            "a secret reached the log"
        );
        // Not even the random part without its prefix.
        assert!(
            !logged.contains(&secret[secret.len().saturating_sub(40)..]),
            "part of a secret reached the log"
        );
    }
    logged
}
