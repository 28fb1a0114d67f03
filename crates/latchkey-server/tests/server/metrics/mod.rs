//! `GET /metrics`: served on the operator's listener only, in Prometheus's text format (held to
//! it by [`exposition`], a reader of our own), with counters that move as real requests are
//! answered: decisions by kind and outcome, cache hits and misses, evictions, store durations,
//! the change feed, the pool and the usage backlog.

pub mod exposition;

use exposition::Samples;
use latchkey_core::{TokenFormat, TokenKind};
use latchkey_server::{ForwardAuthHeaders, ServerConfig};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

use crate::common::{eventually, grant, spawn_app, spawn_app_with, until_status, App, Operator};

/// Scrapes, checks the answer is the format, and reads it.
async fn scrape(operator: &Operator) -> Samples {
    let (status, content_type, text) = operator.scrape().await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    exposition::parse(&text).unwrap_or_else(|e| panic!("not the text format: {e}\n{text}"))
}

/// A sample's value; panics naming it when it is missing.
fn value(samples: &Samples, key: &str) -> f64 {
    *samples
        .get(key)
        .unwrap_or_else(|| panic!("{key} is missing from {samples:#?}"))
}

/// How much a sample grew between two scrapes.
fn grew(before: &Samples, after: &Samples, key: &str) -> f64 {
    value(after, key) - value(before, key)
}

fn decisions(kind: &str, outcome: &str) -> String {
    format!("latchkey_decisions_total{{kind=\"{kind}\",outcome=\"{outcome}\"}}")
}

const HITS: &str = "latchkey_cache_hits_total";
const MISSES: &str = "latchkey_cache_misses_total";

/// Asks forward auth (Traefik's headers) whether `method uri` may go on.
async fn forward(app: &App, token: &str, method: &str, uri: &str) -> u16 {
    app.http
        .get(format!("{}/auth/forward", app.url))
        .header("Authorization", format!("Bearer {token}"))
        .header("X-Forwarded-Method", method)
        .header("X-Forwarded-Uri", uri)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Introspects `token` as `caller`; the status.
async fn introspect(app: &App, caller: &str, token: &str) -> u16 {
    app.http
        .post(format!("{}/oauth/introspect", app.url))
        .header("Authorization", format!("Token {caller}"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn decisions_and_cache_lookups_are_counted_as_requests_are_answered() {
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(ForwardAuthHeaders::Traefik),
        // Long enough that an unknown token is still remembered when it comes again.
        negative_ttl: Duration::from_secs(600),
        ..ServerConfig::default()
    })
    .await;
    let operator = app.operator().await;
    // The node reads its change feed (from where it stood at start) before the tokens are made.
    eventually("the change feed read", async || {
        let samples = scrape(&operator).await;
        let reads = "latchkey_store_duration_seconds_count{call=\"changes_since\"}";
        (value(&samples, reads) >= 1.0).then_some(())
    })
    .await;
    let (viewer_id, viewer) = app.mint(&[grant("job_viewer:all")]).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let unknown = TokenFormat::default().generate(TokenKind::Service);
    let unknown = unknown.secret.expose();
    // Both creations are in the change feed; once the node has applied them (evicting nothing
    // it had), no change comes between the calls below and the cache.
    let before = eventually("the creations applied", async || {
        let samples = scrape(&operator).await;
        (value(&samples, "latchkey_change_feed_changes_total") >= 2.0).then_some(samples)
    })
    .await;

    // Authorize: allowed twice, denied once, a token nobody has twice, a body it cannot read.
    let read = json!({"permission": "jobs:read"});
    for _ in 0..2 {
        let (status, body) = app.authorize(&viewer, read.clone()).await;
        assert_eq!((status, &body["allowed"]), (200, &json!(true)), "{body}");
    }
    let (status, body) = app
        .authorize(&viewer, json!({"permission": "jobs:write"}))
        .await;
    assert_eq!((status, &body["allowed"]), (200, &json!(false)), "{body}");
    for _ in 0..2 {
        assert_eq!(app.authorize(unknown, read.clone()).await.0, 401);
    }
    let (status, _) = app.authorize(&viewer, json!({"permission": 7})).await;
    assert_eq!(status, 400);
    // A malformed token is refused before any lookup.
    assert_eq!(app.authorize("lksvc_short", read.clone()).await.0, 401);

    // The Admin API's guard: allowed for the admin, denied for the viewer.
    let (status, _) = app
        .call(Method::GET, &app.tokens(), Some(&admin), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(Method::GET, &app.tokens(), Some(&viewer), None)
        .await;
    assert_eq!(status, 403);

    // Introspection: the admin may, the viewer may not.
    assert_eq!(introspect(&app, &admin, &viewer).await, 200);
    assert_eq!(introspect(&app, &viewer, &admin).await, 403);

    // Forward auth: a mapped read the viewer holds, and a write it does not.
    let jobs = format!("/api/v2/accounts/{}/jobs/", app.account);
    assert_eq!(forward(&app, &viewer, "GET", &jobs).await, 200);
    let run = format!("/api/v2/accounts/{}/runs/7/cancel/", app.account);
    assert_eq!(forward(&app, &viewer, "POST", &run).await, 403);

    let after = scrape(&operator).await;
    let moved = |kind: &str, outcome: &str| grew(&before, &after, &decisions(kind, outcome));
    assert_eq!(moved("authorize", "allow"), 2.0);
    assert_eq!(moved("authorize", "deny"), 1.0);
    assert_eq!(moved("authorize", "unauthenticated"), 3.0);
    let undecided = "latchkey_undecided_total{kind=\"authorize\"}";
    assert_eq!(grew(&before, &after, undecided), 1.0);
    assert_eq!(moved("admin_api", "allow"), 1.0);
    assert_eq!(moved("admin_api", "deny"), 1.0);
    assert_eq!(moved("introspect", "allow"), 1.0);
    assert_eq!(moved("introspect", "deny"), 1.0);
    assert_eq!(moved("forward", "allow"), 1.0);
    assert_eq!(moved("forward", "deny"), 1.0);
    // Every well-formed token presented was looked up once, in memory or in the store: the
    // authorize calls but the malformed one, two Admin API calls, the two introspection
    // callers and the token the admin introspected, two forward-auth calls.
    let lookups = grew(&before, &after, HITS) + grew(&before, &after, MISSES);
    assert_eq!(lookups, 6.0 + 2.0 + 3.0 + 2.0);
    // The viewer, the admin and the unknown token were each new to the cache once.
    assert_eq!(grew(&before, &after, MISSES), 3.0, "{after:#?}");
    assert_eq!(grew(&before, &after, HITS), 10.0, "{after:#?}");
    // Each miss is one credential read, timed.
    let reads = "latchkey_store_duration_seconds_count{call=\"find_credential\"}";
    assert_eq!(grew(&before, &after, reads), grew(&before, &after, MISSES));
    let admin_commands = "latchkey_store_duration_seconds_count{call=\"admin_command\"}";
    assert_eq!(grew(&before, &after, admin_commands), 1.0);
    assert_eq!(value(&after, "latchkey_cache_negative_entries"), 1.0);
    assert_eq!(value(&after, "latchkey_cache_entries"), 3.0);

    // A revocation evicts the token.
    let path = format!("{}{viewer_id}/", app.tokens());
    let (status, _) = app.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, 200);
    until_status(&app, &viewer, 401).await;
    let evicted = scrape(&operator).await;
    let tokens = "latchkey_cache_evictions_total{reason=\"token\"}";
    assert_eq!(grew(&before, &evicted, tokens), 1.0, "{evicted:#?}");
}

#[tokio::test]
async fn the_change_feed_pool_and_usage_backlog_are_reported() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let token = app.token(app.account, &["job_viewer:all"]).await;
    until_status(&app, &token, 200).await;
    let feed_state = match crate::BACKEND {
        latchkey_store::Backend::Sqlite => "polling",
        latchkey_store::Backend::Postgres => "listening",
    };
    let reads = "latchkey_store_duration_seconds_count{call=\"changes_since\"}";
    let first = scrape(&operator).await;
    let samples = eventually("the feed read again, and the usage written", async || {
        let samples = scrape(&operator).await;
        let state = format!("latchkey_change_feed_state{{state=\"{feed_state}\"}}");
        (value(&samples, &state) == 1.0
            && grew(&first, &samples, reads) >= 1.0
            && value(&samples, "latchkey_usage_flush_backlog") == 0.0
            && value(
                &samples,
                "latchkey_store_duration_seconds_count{call=\"record_usage\"}",
            ) >= 1.0)
            .then_some(samples)
    })
    .await;
    let states: f64 = ["listening", "polling", "reconnecting"]
        .iter()
        .map(|s| {
            value(
                &samples,
                &format!("latchkey_change_feed_state{{state=\"{s}\"}}"),
            )
        })
        .sum();
    assert_eq!(states, 1.0, "one state at a time");
    let lag = value(&samples, "latchkey_change_feed_lag_seconds");
    assert!((0.0..60.0).contains(&lag), "lag {lag}");
    assert_eq!(
        value(&samples, "latchkey_change_feed_reconnects_total"),
        0.0
    );
    assert_eq!(
        value(&samples, "latchkey_change_feed_read_errors_total"),
        0.0
    );
    let held = value(&samples, "latchkey_db_pool_connections{state=\"idle\"}")
        + value(&samples, "latchkey_db_pool_connections{state=\"in_use\"}");
    assert!(held >= 1.0, "the node holds a connection: {held}");
    let version = format!(
        "latchkey_build_info{{version=\"{}\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&samples, &version), 1.0);
}

#[tokio::test]
async fn metrics_are_served_on_the_operator_listener_and_nowhere_else() {
    let app = spawn_app().await;
    let operator = app.operator().await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    // The API listener does not have it, whoever asks.
    for token in [None, Some(admin.as_str())] {
        let (status, body) = app.call(Method::GET, "/metrics", token, None).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["status"]["code"], 404);
    }
    // The operator's listener has it, and nothing else.
    assert_eq!(operator.scrape().await.0, 200);
    for path in ["/healthz", "/api/v2/whoami/", "/api/v1/authorize"] {
        let resp = app
            .http
            .get(format!("{}{path}", operator.url))
            .header("Authorization", format!("Token {admin}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
    let resp = app
        .http
        .post(format!("{}/metrics", operator.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 405);
}
