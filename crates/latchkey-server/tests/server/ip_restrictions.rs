//! IP restrictions over real HTTP: the v3 rule endpoints, the switch, the store's refusals (one
//! range on both lists, locking out one's own address), enforcement on every token kind with
//! dbt Cloud's 403 body, per-token allowlists, and `X-Forwarded-For` from trusted proxies only.

use crate::common::{spawn_app, spawn_app_with, App};
use latchkey_core::License;
use latchkey_server::ServerConfig;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A server that believes `X-Forwarded-For` from loopback, so tests can speak from any address.
async fn behind_proxy() -> App {
    spawn_app_with(ServerConfig {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..ServerConfig::default()
    })
    .await
}

fn rules(app: &App) -> String {
    format!("/api/v3/accounts/{}/ip-restrictions/", app.account)
}

fn whoami() -> &'static str {
    "/api/v2/whoami/"
}

/// Calls whoami as `ip` until the answer is `want` (the change feed reaches the verifier within
/// a poll); returns the last answer.
async fn whoami_until(app: &App, ip: &str, token: &str, want: u16) -> (u16, Value) {
    let deadline = Instant::now() + crate::common::PROPAGATION;
    loop {
        let out = app
            .call_via(ip, Method::GET, whoami(), Some(token), None)
            .await;
        if out.0 == want || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn audit_events(app: &App, admin: &str) -> Vec<String> {
    let (s, out) = app
        .call(
            Method::GET,
            &format!("/api/v3/accounts/{}/audit-logs/?limit=1000", app.account),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    out["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rules_are_created_listed_changed_and_deleted_with_audit_events() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, made) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({
                "name": "office",
                "type": 1,
                "description": "HQ",
                "cidrs": ["203.0.113.0/24", {"cidr_ipv6": "2001:db8::/32"}, {"cidr": "198.51.100.7"}],
            })),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let rule = &made["data"];
    assert_eq!(rule["type"], 1);
    assert_eq!(rule["rule_set_enabled"], false);
    assert_eq!(rule["cidrs"][0]["cidr"], "203.0.113.0/24");
    assert_eq!(rule["cidrs"][1]["cidr"], Value::Null);
    assert_eq!(rule["cidrs"][1]["cidr_ipv6"], "2001:db8::/32");
    assert_eq!(rule["cidrs"][2]["cidr"], "198.51.100.7/32");
    let id = rule["id"].as_i64().unwrap();

    let (s, list) = app
        .call(Method::GET, &rules(&app), Some(&admin), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["extra"]["pagination"]["total_count"], 1);

    let one = format!("{}{id}/", rules(&app));
    let (s, changed) = app
        .call(
            Method::PUT,
            &one,
            Some(&admin),
            Some(json!({"name": "office (new)", "cidrs": ["203.0.113.0/25"]})),
        )
        .await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["data"]["name"], "office (new)");
    assert_eq!(
        changed["data"]["description"], "HQ",
        "fields not sent are kept"
    );
    assert_eq!(changed["data"]["cidrs"].as_array().unwrap().len(), 1);

    let (s, gone) = app.call(Method::DELETE, &one, Some(&admin), None).await;
    assert_eq!(s, 200);
    assert_eq!(gone["data"]["state"], 2);
    let (_, list) = app
        .call(Method::GET, &rules(&app), Some(&admin), None)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
    let (s, kept) = app.call(Method::GET, &one, Some(&admin), None).await;
    assert_eq!((s, kept["data"]["state"].clone()), (200, json!(2)));

    let events = audit_events(&app, &admin).await;
    for e in [
        "ip_restrictions.rule.added",
        "ip_restrictions.rule.changed",
        "ip_restrictions.rule.removed",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
    }
}

#[tokio::test]
async fn bad_ranges_and_rule_types_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    for (body, field) in [
        (
            json!({"name": "x", "type": 1, "cidrs": ["10.0.0.0/8", "10.0.0.0/33"]}),
            "cidrs[1]",
        ),
        (
            json!({"name": "x", "type": 1, "cidrs": ["10.1.0.0/8"]}),
            "cidrs[0]",
        ),
        (
            json!({"name": "x", "type": 1, "cidrs": ["not an ip"]}),
            "cidrs[0]",
        ),
        (
            json!({"name": "x", "type": 3, "cidrs": ["10.0.0.0/8"]}),
            "type",
        ),
        (json!({"name": "x", "cidrs": ["10.0.0.0/8"]}), "type"),
        (json!({"type": 1, "cidrs": ["10.0.0.0/8"]}), "name"),
        (json!({"name": "x", "type": 1}), "cidrs"),
        (
            json!({"name": "x", "type": 1, "cidrs": [{"cidr": "10.0.0.0/8", "cidr_ipv6": "::/0"}]}),
            "cidrs[0]",
        ),
        (
            json!({"name": "x", "type": 1, "cidrs": ["10.0.0.0/8"], "enabled_for_service_tokens": false}),
            "enabled_for_service_tokens",
        ),
    ] {
        let (s, out) = app
            .call(Method::POST, &rules(&app), Some(&admin), Some(body.clone()))
            .await;
        assert_eq!(s, 400, "{body} → {out}");
        assert_eq!(out["data"]["field"], field, "{body} → {out}");
    }
    let (s, out) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "x", "type": 1, "cidrs": ["10.1.0.0/8"]})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        out["status"]["developer_message"]
            .as_str()
            .unwrap()
            .contains("10.0.0.0/8"),
        "the message names the range meant: {out}"
    );
    // Nothing was stored by any of them.
    let (_, list) = app
        .call(Method::GET, &rules(&app), Some(&admin), None)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn one_range_on_both_lists_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, _) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "a", "type": 1, "cidrs": ["10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, out) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "d", "type": 2, "cidrs": ["192.0.2.0/24", "10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(s, 409, "{out}");
    assert!(out["status"]["user_message"]
        .as_str()
        .unwrap()
        .contains("10.0.0.0/8"));
    // A sub-range on the other list is fine: the most specific range wins.
    let (s, deny) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "d", "type": 2, "cidrs": ["10.1.0.0/16"]})),
        )
        .await;
    assert_eq!(s, 201);
    // Turning the deny rule into the same range as the allow rule is refused too.
    let (s, _) = app
        .call(
            Method::PUT,
            &format!("{}{}/", rules(&app), deny["data"]["id"]),
            Some(&admin),
            Some(json!({"cidrs": ["10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(s, 409);
    let (_, list) = app
        .call(Method::GET, &rules(&app), Some(&admin), None)
        .await;
    let ranges: Vec<_> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cidrs"][0]["cidr"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ranges, ["10.0.0.0/8", "10.1.0.0/16"]);
}

#[tokio::test]
async fn a_change_that_would_lock_out_the_callers_own_address_is_refused() {
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let switch = format!("{}rule-set/", rules(&app));
    // Only an allow rule for elsewhere: enabling would shut out 127.0.0.1.
    let (s, _) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "vpn", "type": 1, "cidrs": ["10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, out) = app
        .call(
            Method::PUT,
            &switch,
            Some(&admin),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 409, "{out}");
    assert!(out["status"]["user_message"]
        .as_str()
        .unwrap()
        .contains("127.0.0.1"));
    let (_, set) = app.call(Method::GET, &switch, Some(&admin), None).await;
    assert_eq!(
        set["data"]["enabled"], false,
        "the refused switch did not move"
    );

    // Allow ourselves, then enabling works — in the same call as the rule.
    let (s, me) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "me", "type": 1, "cidrs": ["127.0.0.1/32"], "rule_set_enabled": true})),
        )
        .await;
    assert_eq!(s, 201, "{me}");
    assert_eq!(me["data"]["rule_set_enabled"], true);
    // Now a deny rule over our own address, or deleting the rule that lets us in, is refused.
    let (s, _) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "lo", "type": 2, "cidrs": ["127.0.0.0/8"]})),
        )
        .await;
    assert_eq!(
        s, 201,
        "127.0.0.1/32 on the allow list is more specific than 127.0.0.0/8"
    );
    let (s, _) = app
        .call(
            Method::DELETE,
            &format!("{}{}/", rules(&app), me["data"]["id"]),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(s, 409);
    let (s, _) = app.call(Method::GET, whoami(), Some(&admin), None).await;
    assert_eq!(s, 200, "still in");
    let events = audit_events(&app, &admin).await;
    assert!(
        events.iter().any(|e| e == "ip_restrictions.toggled"),
        "{events:?}"
    );
}

#[tokio::test]
async fn enabled_rules_fence_every_token_kind_with_dbt_clouds_403_body() {
    let app = behind_proxy().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let viewer = app.token(app.account, &["account_viewer:all"]).await;
    let (user, pat) = app
        .user_with_pat("dev@example.com", License::Developer, &["developer:all"])
        .await;
    for body in [
        json!({"name": "office", "type": 1, "cidrs": ["203.0.113.0/24"]}),
        json!({"name": "guest wifi", "type": 2, "cidrs": ["203.0.113.128/25"]}),
        json!({"name": "printer", "type": 1, "cidrs": ["203.0.113.200/32"]}),
    ] {
        let (s, out) = app
            .call_via(
                "203.0.113.5",
                Method::POST,
                &rules(&app),
                Some(&admin),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{out}");
    }
    let (s, out) = app
        .call_via(
            "203.0.113.5",
            Method::PUT,
            &format!("{}rule-set/", rules(&app)),
            Some(&admin),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(s, 200, "{out}");

    // Denied: outside every allow range, and inside the deny range carved out of one.
    let (s, out) = whoami_until(&app, "198.51.100.1", &viewer, 403).await;
    assert_eq!(s, 403, "{out}");
    assert_eq!(
        out,
        json!({
            "status": {"code": 403, "is_success": false, "user_message": "Forbidden: Access denied", "developer_message": null},
            "data": {"account_id": app.account.0, "user_id": null, "is_service_token": true, "account_access_denied": true},
        })
    );
    let (s, _) = whoami_until(&app, "203.0.113.130", &viewer, 403).await;
    assert_eq!(s, 403);
    let (s, out) = whoami_until(&app, "203.0.113.130", &pat, 403).await;
    assert_eq!(s, 403);
    assert_eq!(out["data"]["is_service_token"], false);
    assert_eq!(out["data"]["user_id"], user.0);
    // The decision endpoint and the admin API are fenced alike (once the admin's cached
    // principal has been evicted by the change feed).
    let (s, _) = whoami_until(&app, "198.51.100.1", &admin, 403).await;
    assert_eq!(s, 403);
    let (s, _) = app
        .call_via(
            "198.51.100.1",
            Method::POST,
            "/api/v1/authorize",
            Some(&admin),
            Some(json!({"permission": "jobs:read"})),
        )
        .await;
    assert_eq!(s, 403);

    // Allowed: inside an allow range, and the allowed host inside the deny range.
    for ip in ["203.0.113.5", "203.0.113.200", "::ffff:203.0.113.9"] {
        let (s, out) = whoami_until(&app, ip, &viewer, 200).await;
        assert_eq!(s, 200, "{ip}: {out}");
    }
    let (s, _) = whoami_until(&app, "203.0.113.5", &pat, 200).await;
    assert_eq!(s, 200);

    // Switching off lifts the fence within a poll.
    let (s, _) = app
        .call_via(
            "203.0.113.5",
            Method::PUT,
            &format!("{}rule-set/", rules(&app)),
            Some(&admin),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = whoami_until(&app, "198.51.100.1", &viewer, 200).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // No trusted proxies: the header is ignored and the peer (127.0.0.1) is the client.
    let app = spawn_app().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, out) = app
        .call(
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "me", "type": 1, "cidrs": ["127.0.0.1/32"], "rule_set_enabled": true})),
        )
        .await;
    assert_eq!(s, 201, "{out}");
    let (s, _) = whoami_until(&app, "198.51.100.1", &admin, 200).await;
    assert_eq!(s, 200, "a forged X-Forwarded-For does not move the client");

    // Trusted loopback proxy: the nearest untrusted hop is the client; a garbled hop is refused.
    let app = behind_proxy().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, _) = app
        .call_via(
            "127.0.0.1",
            Method::POST,
            &rules(&app),
            Some(&admin),
            Some(json!({"name": "office", "type": 1, "cidrs": ["203.0.113.0/24", "127.0.0.1/32"], "rule_set_enabled": true})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = whoami_until(&app, "198.51.100.1, 203.0.113.5", &admin, 200).await;
    assert_eq!(
        s, 200,
        "the rightmost untrusted hop decides, not a client-written left one"
    );
    let (s, _) = whoami_until(&app, "203.0.113.5, 198.51.100.1", &admin, 403).await;
    assert_eq!(s, 403);
    let (s, _) = whoami_until(&app, "203.0.113.5, not-an-ip", &admin, 403).await;
    assert_eq!(
        s, 403,
        "an unreadable hop makes the client unknown, which a fence refuses"
    );
}

#[tokio::test]
async fn a_tokens_own_allowlist_must_pass_too_and_survives_rotation() {
    let app = behind_proxy().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, made) = app
        .call(
            Method::POST,
            &app.tokens(),
            Some(&admin),
            Some(json!({"name": "ci", "permission_grants": [{"permission_set": "job_runner", "all_projects": true}], "allowed_cidrs": ["198.51.100.0/24"]})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(made["data"]["allowed_cidrs"], json!(["198.51.100.0/24"]));
    let ci = made["data"]["token_string"].as_str().unwrap().to_owned();
    let id = made["data"]["id"].as_i64().unwrap();

    let (s, out) = app.call(Method::GET, whoami(), Some(&ci), None).await;
    assert_eq!(s, 403, "loopback is not on the token's list: {out}");
    assert_eq!(out["data"]["account_access_denied"], false);
    assert_eq!(out["data"]["is_service_token"], true);
    let (s, _) = app
        .call_via("198.51.100.9", Method::GET, whoami(), Some(&ci), None)
        .await;
    assert_eq!(s, 200);

    // Rotation keeps the list.
    let (s, rotated) = app
        .call(
            Method::POST,
            &format!("{}{id}/rotate/", app.tokens()),
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(s, 201, "{rotated}");
    assert_eq!(rotated["data"]["allowed_cidrs"], json!(["198.51.100.0/24"]));
    let new_id = rotated["data"]["id"].as_i64().unwrap();
    let ci = rotated["data"]["token_string"].as_str().unwrap().to_owned();
    let (s, _) = app.call(Method::GET, whoami(), Some(&ci), None).await;
    assert_eq!(s, 403);

    // Clearing it opens the token up again, within a poll.
    let (s, out) = app
        .call(
            Method::POST,
            &format!("{}{new_id}/", app.tokens()),
            Some(&admin),
            Some(json!({"allowed_cidrs": []})),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["data"]["allowed_cidrs"], json!([]));
    let (s, _) = whoami_until(&app, "192.0.2.44", &ci, 200).await;
    assert_eq!(s, 200);

    let (s, out) = app
        .call(
            Method::POST,
            &format!("{}{new_id}/", app.tokens()),
            Some(&admin),
            Some(json!({"allowed_cidrs": ["300.0.0.0/8"]})),
        )
        .await;
    assert_eq!(
        (s, out["data"]["field"].clone()),
        (400, json!("allowed_cidrs[0]"))
    );
}

#[tokio::test]
async fn ip_restrictions_need_the_enterprise_plan() {
    let app = spawn_app().await;
    let op = latchkey_store::Actor::operator();
    let team = app
        .store
        .create_account(&op, "T", latchkey_core::Plan::Team)
        .await
        .unwrap();
    let admin = app.token(team.id, &["account_admin:all"]).await;
    let (s, out) = app
        .call(
            Method::POST,
            &format!("/api/v3/accounts/{}/ip-restrictions/", team.id),
            Some(&admin),
            Some(json!({"name": "x", "type": 1, "cidrs": ["127.0.0.1/32"]})),
        )
        .await;
    assert_eq!(s, 409, "the account's plan does not offer it: {out}");
    assert!(out["status"]["user_message"]
        .as_str()
        .unwrap()
        .contains("Enterprise"));
}
