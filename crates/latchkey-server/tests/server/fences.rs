//! Network fences that cannot be set wrong (issue 8, finding 9): IPv4-mapped IPv6 rules mean
//! the IPv4 range, and a token cannot fence itself out of the address it calls from.

use crate::common::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_ipv4_mapped_ipv6_rule_is_the_ipv4_range_it_means_and_matches() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let rules = format!("/api/v3/accounts/{}/ip-restrictions/", app.account);
    let (s, made) = app
        .call(
            Method::POST,
            &rules,
            Some(&admin),
            Some(
                json!({"name": "loopback", "type": 1, "cidrs": ["::ffff:127.0.0.0/104"],
                        "rule_set_enabled": true}),
            ),
        )
        .await;
    assert_eq!(
        s, 201,
        "the lockout guard sees the rule letting 127.0.0.1 in: {made}"
    );
    assert_eq!(made["data"]["cidrs"][0]["cidr"], "127.0.0.0/8", "{made}");
    // Enforced, and the test client (127.0.0.1) is let in by it.
    let (s, out) = app
        .authorize(
            &admin,
            json!({"permission": "jobs:read", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(s, 200, "{out}");
}

#[tokio::test]
async fn a_token_cannot_fence_itself_out_of_the_address_it_calls_from() {
    let app = spawn_app().await;
    let (id, token) = app.mint(&[crate::common::grant("account_admin:all")]).await;
    let path = format!("{}{}/", app.tokens(), id.0);
    let (s, out) = app
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"allowed_cidrs": ["10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(
        s, 409,
        "a lockout conflicts with where the token calls from: {out}"
    );
    assert!(
        out["status"]["user_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("allowed_cidrs:")),
        "{out}"
    );
    let (s, out) = app.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(s, 200, "the token still works: {out}");
    assert_eq!(out["data"]["allowed_cidrs"], json!([]));
    // Its own address included, it may.
    let (s, out) = app
        .call(
            Method::POST,
            &path,
            Some(&token),
            Some(json!({"allowed_cidrs": ["10.0.0.0/8", "127.0.0.0/8"]})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
}
