//! Unknown ids: every `{id}` row refuses unknown numbers, non-integers and unknown or malformed
//! account ids with a 404 (or 4xx) envelope, and changes nothing.

use latchkey_server::routes::table::{api_table, Row};

use super::cases::{assert_error_envelope, error_envelope};
use super::fingerprint::fingerprint;
use super::fixture::{fixture, Fixture};
use super::routes::{
    valid_body, AUDIT, CREATE, GRANTS, GROUP_GRANTS, JSON, LIST, RETRIEVE, ROTATE, UPDATE,
};

/// A body the `{id}` routes accept, so only the id is wrong.
fn body_for_id_route(method: &str, path: &str) -> (Option<&'static str>, Vec<u8>) {
    match method {
        "GET" | "DELETE" => (None, Vec::new()),
        _ if path.ends_with("/permissions/") => (JSON, valid_body(GRANTS).into()),
        _ if path.contains("/group-permissions/") => (JSON, valid_body(GROUP_GRANTS).into()),
        _ if path.ends_with("/rotate/") => (JSON, valid_body(ROTATE).into()),
        _ => (JSON, valid_body(UPDATE).into()),
    }
}

/// Every table row with `{id}`, with each id, must be refused with `want`; all the cases that
/// are not are listed in one failure.
async fn assert_ids_refused(fx: &Fixture, ids: &[&str], want: &[u16]) -> usize {
    let mut n = 0;
    let mut failures = Vec::new();
    for Row { spec, .. } in api_table() {
        if !spec.path.contains("{id}") {
            continue;
        }
        let method = spec.method.as_str();
        let (content_type, body) = body_for_id_route(method, spec.path);
        for id in ids {
            let path = fx.path_with_id(spec.path, id);
            let label = format!("{method} {path}");
            let before = fingerprint(&fx.app).await;
            let (status, text) = fx.send(method, &path, content_type, body.clone()).await;
            if let Err(e) = error_envelope(status, &text) {
                failures.push(format!("{label}: {e}"));
            } else if !want.contains(&status) {
                failures.push(format!("{label}: want {want:?}, got {status}: {text}"));
            }
            assert_eq!(
                fingerprint(&fx.app).await,
                before,
                "{label}: a refused request changed the database"
            );
            n += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed, among them:\n{}",
        failures.len(),
        failures
            .iter()
            .step_by(failures.len().div_ceil(12).max(1))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    n
}

#[tokio::test]
async fn unknown_numeric_ids_are_404_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let n = assert_ids_refused(
        &fx,
        &[
            "999999",
            "0",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
        ],
        &[404],
    )
    .await;
    eprintln!("{n} unknown-id cases");
}

// An `{id}` that is not an i64 is a 404 in the envelope (found by this suite: axum's own `Path`
// rejection answered 400 in text/plain).
#[tokio::test]
async fn ids_that_are_not_integers_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let n = assert_ids_refused(
        &fx,
        &[
            "abc",
            "99999999999999999999999",
            "9223372036854775808",
            "1.5",
            "1e3",
            "%20",
            "%00",
            "1%20OR%201=1",
        ],
        &[400, 404],
    )
    .await;
    eprintln!("{n} non-integer-id cases");
}

#[tokio::test]
async fn unknown_or_malformed_account_ids_are_404_envelopes() {
    let fx = fixture().await;
    for account in ["999999", "abc", "-1", "0", "99999999999999999999999", "1.0"] {
        for (method, pattern) in [LIST, CREATE, RETRIEVE, AUDIT] {
            let path = pattern
                .replace("{account_id}", account)
                .replace("{id}", &fx.victim.to_string());
            let (content_type, body) = if method == "POST" {
                (JSON, valid_body(CREATE).as_bytes().to_vec())
            } else {
                (None, Vec::new())
            };
            let label = format!("{method} {path}");
            let before = fingerprint(&fx.app).await;
            let (status, text) = fx.send(method, &path, content_type, body).await;
            assert_error_envelope(&label, status, &text);
            assert_eq!(status, 404, "{label}: {text}");
            assert_eq!(fingerprint(&fx.app).await, before, "{label}");
        }
    }
}
