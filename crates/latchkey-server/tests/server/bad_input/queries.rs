//! Query strings: bad ones are 4xx envelopes that change nothing, edge ones are answered as
//! written.

use serde_json::{json, Value};

use super::cases::{assert_refused, case, Case};
use super::fingerprint::fingerprint;
use super::fixture::fixture;
use super::routes::{Route, AUDIT, LIST, QUERY_ROUTES};

#[tokio::test]
async fn bad_query_strings_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let q = |route: Route, query: &str| Case {
        path: Some(format!("{}{query}", fx.path(route.1))),
        ..case(route, "").content_type(None)
    };
    let mut cases = Vec::new();
    for route in QUERY_ROUTES {
        // No route clamps: out-of-range numbers are refused, never silently adjusted.
        cases.extend([
            q(route, "?offset=99999999999999999999"),
            q(route, "?offset=9223372036854775808"),
            q(route, "?offset=-1").field("offset"),
            q(route, "?offset=-9223372036854775808").field("offset"),
            q(route, "?offset=1.5"),
            q(route, "?offset=abc"),
            q(route, "?offset=%00"),
            q(route, "?offset="),
            q(route, "?limit=0").field("limit"),
            q(route, "?limit=-5").field("limit"),
            q(route, "?limit=1001").field("limit"),
            q(route, "?limit=100000").field("limit"),
            q(route, "?limit=9223372036854775807").field("limit"),
            q(route, "?limit=1e3"),
            q(route, "?limit=10.0"),
            q(route, "?limit=0x10"),
            q(route, "?limit=ten"),
            q(route, "?limit=5&limit=6"),
            q(route, "?offset=0&offset=0"),
        ]);
    }
    cases.extend([
        q(LIST, "?state=abc"),
        q(LIST, "?state=1.0"),
        q(LIST, "?state=3").field("state"),
        q(LIST, "?state=0").field("state"),
        q(LIST, "?state=-1").field("state"),
        q(LIST, "?state=1&state=2"),
        q(AUDIT, "?state=abc"),
        q(AUDIT, "?bogus=1"),
        q(AUDIT, "?limit[]=5"),
        q(AUDIT, "?format=xml").field("format"),
        q(AUDIT, "?format=CSV").field("format"),
        q(AUDIT, "?format=csv&limit=100001").field("limit"),
        q(AUDIT, "?format=json&format=csv"),
        q(AUDIT, "?actor_id=abc"),
        q(AUDIT, "?actor_id=99999999999999999999"),
        q(AUDIT, "?target_id=1.5"),
        q(AUDIT, "?target_id=99999999999999999999"),
        q(AUDIT, "?logged_at_start=yesterday").field("logged_at_start"),
        q(AUDIT, "?logged_at_start=2024-01-01T00:00:00").field("logged_at_start"),
        q(AUDIT, "?logged_at_start=2024-1-1").field("logged_at_start"),
        q(AUDIT, "?logged_at_end=2024-02-30").field("logged_at_end"),
        q(
            AUDIT,
            "?logged_at_end=%27%3B%20DROP%20TABLE%20audit_log%3B--",
        )
        .field("logged_at_end"),
    ]);
    for c in &cases {
        assert_refused(&fx, c).await;
    }
    eprintln!("{} query cases", cases.len());
}

#[tokio::test]
async fn edge_query_strings_are_answered_as_written() {
    let fx = fixture().await;
    let get = |route: Route, query: &str| {
        let path = format!("{}{query}", fx.path(route.1));
        let fx = &fx;
        async move {
            let before = fingerprint(&fx.app).await;
            let (status, text) = fx.send(route.0, &path, None, Vec::new()).await;
            assert_eq!(status, 200, "GET {path}: {text}");
            assert_eq!(
                fingerprint(&fx.app).await,
                before,
                "GET {path} changed the database"
            );
            (path, text)
        }
    };
    // The largest offset is taken as written and gives an empty page, on every route.
    for route in QUERY_ROUTES {
        let (path, text) = get(route, "?offset=9223372036854775807&limit=1000").await;
        let out: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(out["data"], json!([]), "GET {path}: {out}");
        let pagination = &out["extra"]["pagination"];
        assert_eq!(pagination["offset"], i64::MAX, "GET {path}: {out}");
        assert_eq!(pagination["limit"], 1000, "GET {path}: {out}");
        let (path, text) = get(route, "?limit=1").await;
        let out: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            out["data"].as_array().unwrap().len(),
            1,
            "GET {path}: {out}"
        );
    }
    // The token list ignores parameters it does not know (the audit log refuses them).
    for query in ["?bogus=1&state=1", "?limit[]=5"] {
        let (path, text) = get(LIST, query).await;
        let out: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(out["extra"]["pagination"]["total_count"], 2, "GET {path}");
        assert_eq!(out["extra"]["pagination"]["limit"], 100, "GET {path}");
    }
    // Days at the ends of the calendar the server can represent.
    get(AUDIT, "?logged_at_end=9999-12-31").await;
    get(AUDIT, "?logged_at_start=0000-01-01").await;
    let (path, text) = get(AUDIT, "?format=csv&limit=100000").await;
    assert!(text.starts_with("id,created_at,"), "GET {path}: {text}");
}
