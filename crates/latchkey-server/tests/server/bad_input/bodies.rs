//! Bad bodies: malformed JSON and wrong content types on every body route, mistyped and
//! out-of-range fields, and JSON arrays where an object is expected.

use serde_json::json;

use super::cases::{assert_refused, case, check_refused, Case};
use super::fixture::fixture;
use super::routes::*;

/// Defects every JSON route refuses the same way.
fn malformed_json_cases(route: Route) -> Vec<Case> {
    let valid = valid_body(route);
    vec![
        case(route, &valid[..valid.len() - 1]),
        case(route, format!("{valid} garbage")),
        case(route, format!("{valid}{valid}")),
        case(route, "["),
        case(route, "{"),
        case(route, ""),
        case(route, "   "),
        case(route, "null"),
        case(route, "42"),
        case(route, r#""a string""#),
        case(route, b"{\"name\": \"\xff\xfe\"}".to_vec()),
        case(route, "\u{feff}{}"),
        case(route, "[".repeat(20_000)),
        case(route, format!("{}1{}", "[".repeat(200), "]".repeat(200))),
        case(route, valid).content_type(None).want(415),
        case(route, valid)
            .content_type(Some("text/plain"))
            .want(415),
        case(route, valid).content_type(FORM).want(415),
        case(route, valid)
            .content_type(Some("application/jsonp"))
            .want(415),
        case(route, "").content_type(None).want(415),
    ]
}

/// Wrong types and values for each known field.
fn field_cases(p1: i64) -> Vec<Case> {
    let grant = |g: &str| format!(r#"{{"name": "x", "permission_grants": [{g}]}}"#);
    let envs = |e: &str| {
        grant(&format!(
            r#"{{"permission_set": "developer", "writable_environment_categories": {e}}}"#
        ))
    };
    let project = |p: &str| {
        grant(&format!(
            r#"{{"permission_set": "job_admin", "project_id": {p}}}"#
        ))
    };
    let cidrs = |c: &str| {
        format!(
            r#"{{"name": "x", "permission_grants": [{{"permission_set": "job_viewer"}}], "allowed_cidrs": {c}}}"#
        )
    };
    let expires = |e: &str| {
        format!(
            r#"{{"name": "x", "permission_grants": [{{"permission_set": "job_viewer"}}], "expires_at": {e}}}"#
        )
    };
    let mut cases = vec![
        // name
        case(CREATE, r#"{"name": 5}"#),
        case(CREATE, r#"{"name": 1.5}"#),
        case(CREATE, r#"{"name": {"first": "x"}}"#),
        case(CREATE, r#"{"name": ["x"]}"#),
        case(CREATE, r#"{"name": true}"#),
        case(CREATE, r#"{"name": null}"#),
        case(CREATE, r"{}"),
        case(CREATE, r#"{"permission_grants": []}"#),
        case(CREATE, r#"{"name": "a", "name": "b"}"#),
        case(CREATE, r#"{"name": "\ud800"}"#),
        case(CREATE, r#"{"name": "bad\x"}"#),
        // permission_grants
        case(CREATE, r#"{"name": "x", "permission_grants": {}}"#),
        case(
            CREATE,
            r#"{"name": "x", "permission_grants": {"permission_set": "job_admin"}}"#,
        ),
        case(CREATE, r#"{"name": "x", "permission_grants": "job_admin"}"#),
        case(CREATE, r#"{"name": "x", "permission_grants": 1}"#),
        case(CREATE, grant("5")),
        case(CREATE, grant("{}")),
        case(CREATE, grant(r#"{"permission_set": 5}"#)),
        case(CREATE, grant(r#"{"permission_set": null}"#)),
        case(CREATE, grant(r#"{"permission_set": "root"}"#))
            .field("permission_grants[0].permission_set"),
        case(CREATE, grant(r#"{"permission_set": ""}"#))
            .field("permission_grants[0].permission_set"),
        case(CREATE, grant(r#"{"permission_set": "job_admin\u0000"}"#))
            .field("permission_grants[0].permission_set"),
        case(
            CREATE,
            r#"{"name": "x", "permission_grants": [{"permission_set": "job_viewer"}, {"permission_set": "nope"}]}"#,
        )
        .field("permission_grants[1].permission_set"),
        // project_id and all_projects
        case(CREATE, project(r#""1""#)),
        case(CREATE, project("1.5")),
        // `1e3` is the integer 1000 (JSON Schema's `integer`), which is no project here.
        case(CREATE, project("1e3")).want(409),
        case(CREATE, project("[1]")),
        case(CREATE, project("9223372036854775808")),
        case(CREATE, project("99999999999999999999999")),
        case(CREATE, project("-1")).field("permission_grants[0].project_id"),
        case(CREATE, project("0")).field("permission_grants[0].project_id"),
        case(CREATE, project("-9223372036854775808")).field("permission_grants[0].project_id"),
        // A positive id that is no project of this account: it conflicts with what exists.
        case(CREATE, project("9223372036854775807")).want(409),
        case(
            CREATE,
            grant(r#"{"permission_set": "job_admin", "all_projects": "yes"}"#),
        ),
        case(
            CREATE,
            grant(r#"{"permission_set": "job_admin", "all_projects": 1}"#),
        ),
        case(
            CREATE,
            grant(&format!(
                r#"{{"permission_set": "job_admin", "all_projects": true, "project_id": {p1}}}"#
            )),
        )
        .field("permission_grants[0].project_id"),
        case(
            CREATE,
            grant(r#"{"permission_set": "job_admin", "all_projects": false}"#),
        )
        .field("permission_grants[0].project_id"),
        // writable_environment_categories
        case(CREATE, envs(r#"["prod"]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#"["all", "bogus"]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#"["Development"]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#"[""]"#))
            .field("permission_grants[0].writable_environment_categories"),
        case(CREATE, envs(r#""all""#)),
        case(CREATE, envs("[1]")),
        case(CREATE, envs("{}")),
        case(
            CREATE,
            grant(
                r#"{"permission_set": "job_admin", "writable_environment_categories": ["development"]}"#,
            ),
        )
        .field("permission_grants[0].writable_environment_categories"),
        // expires_at
        case(CREATE, expires(r#""garbage""#)).field("expires_at"),
        case(CREATE, expires(r#""""#)).field("expires_at"),
        case(CREATE, expires(r#""2030-13-45T99:99:99Z""#)).field("expires_at"),
        case(CREATE, expires(r#""2030-01-01""#)).field("expires_at"),
        case(CREATE, expires(r#""2030-01-01T00:00:00""#)).field("expires_at"),
        case(CREATE, expires(r#""+12030-01-01T00:00:00Z""#)).field("expires_at"),
        case(CREATE, expires("1893456000")),
        case(CREATE, expires("{}")),
        // In the past: refused by the store, no field.
        case(CREATE, expires(r#""2000-01-01T00:00:00Z""#)),
        case(CREATE, expires(r#""1970-01-01T00:00:00Z""#)),
        // allowed_cidrs
        case(CREATE, cidrs(r#""10.0.0.0/8""#)),
        case(CREATE, cidrs("[5]")),
        case(CREATE, cidrs("[null]")),
        case(CREATE, cidrs(r#"{"cidr": "10.0.0.0/8"}"#)),
        case(CREATE, cidrs(r#"["bogus"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/8", "10.0.0.0/33"]"#)).field("allowed_cidrs[1]"),
        case(CREATE, cidrs(r#"["::/129"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/-1"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/0008"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["256.0.0.1"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"["10.0.0.0/8\u0000"]"#)).field("allowed_cidrs[0]"),
        case(CREATE, cidrs(r#"[""]"#)).field("allowed_cidrs[0]"),
    ];
    for route in [UPDATE, UPDATE_PUT] {
        cases.extend([
            case(route, r#"{"name": 5}"#),
            case(route, r#"{"name": {}}"#),
            case(route, r#"{"name": []}"#),
            case(route, r#"{"name": false}"#),
            case(route, r#"{"name": "\udfff"}"#),
            case(route, r#"{"state": "2"}"#),
            case(route, r#"{"state": "active"}"#),
            case(route, r#"{"state": 2.5}"#),
            case(route, r#"{"state": true}"#),
            case(route, r#"{"state": [2]}"#),
            case(route, r#"{"state": 9223372036854775808}"#),
            case(route, r#"{"state": 99}"#).field("state"),
            case(route, r#"{"state": -1}"#).field("state"),
            case(route, r#"{"state": 0}"#).field("state"),
            case(route, r#"{"state": 3}"#).field("state"),
            case(route, r#"{"state": -9223372036854775808}"#).field("state"),
            // The name is checked before the state: nothing is revoked.
            case(route, r#"{"name": "", "state": 2}"#),
            case(route, r#"{"state": 2, "state": 2}"#),
            case(route, r#"{"allowed_cidrs": "10.0.0.0/8"}"#),
            case(route, r#"{"allowed_cidrs": [5]}"#),
            case(route, r#"{"allowed_cidrs": ["bogus"]}"#).field("allowed_cidrs[0]"),
            case(route, r#"{"allowed_cidrs": ["1.2.3.4/40"], "state": 2}"#)
                .field("allowed_cidrs[0]"),
        ]);
    }
    let rule =
        |r: &str| format!(r#"{{"name": "r", "type": 2, "cidrs": ["198.51.100.0/24"], {r}}}"#);
    cases.extend([
        // IP rules: name, type, cidrs, description, the switches
        case(IP_CREATE, "{}").field("name"),
        case(IP_CREATE, r#"{"type": 2, "cidrs": ["198.51.100.0/24"]}"#).field("name"),
        case(IP_CREATE, r#"{"name": "r", "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(IP_CREATE, r#"{"name": "r", "type": 2}"#).field("cidrs"),
        case(IP_CREATE, r#"{"name": 5, "type": 2, "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": ["r"], "type": 2, "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": "2", "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2.5, "cidrs": ["198.51.100.0/24"]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 3, "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(IP_CREATE, r#"{"name": "r", "type": 0, "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(IP_CREATE, r#"{"name": "r", "type": -1, "cidrs": ["198.51.100.0/24"]}"#).field("type"),
        case(
            IP_CREATE,
            r#"{"name": "r", "type": 9223372036854775808, "cidrs": ["198.51.100.0/24"]}"#,
        ),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": "198.51.100.0/24"}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": {}}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [5]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [null]}"#),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": ["bogus"]}"#).field("cidrs[0]"),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": ["198.51.100.0/33"]}"#)
            .field("cidrs[0]"),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [{}]}"#).field("cidrs[0]"),
        case(
            IP_CREATE,
            r#"{"name": "r", "type": 2, "cidrs": [{"cidr": "10.0.0.0/8", "cidr_ipv6": "::/0"}]}"#,
        )
        .field("cidrs[0]"),
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": [{"cidr": 5}]}"#),
        // Refused by the store (no field): no ranges, a range twice.
        case(IP_CREATE, r#"{"name": "r", "type": 2, "cidrs": []}"#),
        case(
            IP_CREATE,
            r#"{"name": "r", "type": 2, "cidrs": ["198.51.100.0/24", "198.51.100.0/24"]}"#,
        ),
        case(IP_CREATE, rule(r#""description": 5"#)),
        case(IP_CREATE, rule(r#""description": "tab\there""#)),
        case(IP_CREATE, json!({"name": "r", "type": 2, "cidrs": ["198.51.100.0/24"], "description": "d".repeat(1001)}).to_string()),
        case(IP_CREATE, rule(r#""rule_set_enabled": "true""#)),
        case(IP_CREATE, rule(r#""rule_set_enabled": 1"#)),
        case(IP_CREATE, rule(r#""enabled_for_service_tokens": "yes""#)),
        case(IP_CREATE, rule(r#""enabled_for_service_tokens": false"#))
            .field("enabled_for_service_tokens"),
        case(IP_SWITCH, "{}"),
        case(IP_SWITCH, r#"{"enabled": "true"}"#),
        case(IP_SWITCH, r#"{"enabled": 1}"#),
        case(IP_SWITCH, r#"{"enabled": null}"#),
        case(IP_SWITCH, r#"{"enabled": false, "extra": 1}"#),
    ]);
    for route in [IP_UPDATE, IP_UPDATE_POST] {
        cases.extend([
            case(route, r#"{"name": 5}"#),
            case(route, r#"{"name": ""}"#),
            case(route, r#"{"type": "1"}"#),
            case(route, r#"{"type": 7}"#).field("type"),
            case(route, r#"{"cidrs": "198.51.100.0/24"}"#),
            case(route, r#"{"cidrs": ["nope"]}"#).field("cidrs[0]"),
            case(route, r#"{"cidrs": []}"#),
            case(route, r#"{"enabled_for_service_tokens": false}"#)
                .field("enabled_for_service_tokens"),
            case(route, r#"{"rule_set_enabled": "on"}"#),
        ]);
    }
    cases.extend([
        case(GRANTS, "{}"),
        case(GRANTS, r#"{"permission_set": "job_viewer"}"#),
        case(GRANTS, "[5]"),
        case(GRANTS, r#"["job_viewer"]"#),
        case(GRANTS, r#"[{"permission_set": 5}]"#),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": "1"}]"#,
        ),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": 9223372036854775808}]"#,
        ),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": -1}]"#,
        )
        .field("permission_grants[0].project_id"),
        case(
            GRANTS,
            r#"[{"permission_set": "job_admin", "project_id": 9223372036854775807}]"#,
        )
        .want(409),
        case(
            GRANTS,
            r#"[{"permission_set": "developer", "writable_environment_categories": ["prod"]}]"#,
        )
        .field("permission_grants[0].writable_environment_categories"),
        case(
            GRANTS,
            r#"[{"permission_set": "developer", "writable_environment_categories": "all"}]"#,
        ),
        case(
            GRANTS,
            r#"[{"permission_set": "job_viewer"}, {"permission_set": "nope"}]"#,
        )
        .field("permission_grants[1].permission_set"),
        // overlap_seconds
        case(ROTATE, r#"{"overlap_seconds": -1}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": 604801}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": 9223372036854775807}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": -9223372036854775808}"#).field("overlap_seconds"),
        case(ROTATE, r#"{"overlap_seconds": 9223372036854775808}"#),
        case(ROTATE, r#"{"overlap_seconds": 1e20}"#),
        case(ROTATE, r#"{"overlap_seconds": 1.5}"#),
        case(ROTATE, r#"{"overlap_seconds": "60"}"#),
        case(ROTATE, r#"{"overlap_seconds": null}"#),
        case(ROTATE, r#"{"overlap_seconds": []}"#),
        case(ROTATE, r#"{"overlap": 60}"#),
        // the leaked-credential report
        case(LEAK_REPORT, "{}"),
        case(LEAK_REPORT, r#"{"credentials": "lksvc_x"}"#),
        case(LEAK_REPORT, r#"{"credentials": [1]}"#),
        case(LEAK_REPORT, r#"{"credentials": [null]}"#),
        case(LEAK_REPORT, r#"{"credentials": {}}"#),
        case(LEAK_REPORT, r#"{"credentials": ["x"], "note": "hi"}"#),
        case(LEAK_REPORT, r#"{"credentials": []}"#).field("credentials"),
        case(
            LEAK_REPORT,
            json!({ "credentials": vec!["x"; 1001] }).to_string(),
        )
        .field("credentials"),
        // introspection takes a form, not JSON
        case(INTROSPECT, valid_body(INTROSPECT))
            .content_type(None)
            .want(415),
        case(INTROSPECT, r#"{"token": "lksvc_x"}"#).want(415),
        case(INTROSPECT, valid_body(INTROSPECT))
            .content_type(Some("text/plain"))
            .want(415),
        case(INTROSPECT, "").content_type(FORM),
        case(INTROSPECT, "token_type_hint=access_token").content_type(FORM),
        case(INTROSPECT, "token=a&token=b").content_type(FORM),
        case(INTROSPECT, b"\xff\xfe\x00".to_vec()).content_type(FORM),
    ]);
    cases
}

#[tokio::test]
async fn malformed_bodies_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let cases: Vec<Case> = JSON_ROUTES
        .iter()
        .flat_map(|r| malformed_json_cases(*r))
        .collect();
    for c in &cases {
        assert_refused(&fx, c).await;
    }
    eprintln!("{} malformed-body cases", cases.len());
}

#[tokio::test]
async fn mistyped_and_out_of_range_fields_are_4xx_envelopes_and_change_nothing() {
    let fx = fixture().await;
    let cases = field_cases(fx.app.p1.0);
    for c in &cases {
        assert_refused(&fx, c).await;
    }
    // The victim survived every one of them: still active, still named, still one grant.
    let (status, out) = fx.json(RETRIEVE, &fx.path(RETRIEVE.1), &json!({})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"]["state"], 1, "{out}");
    assert_eq!(out["data"]["name"], "test", "{out}");
    assert_eq!(
        out["data"]["permission_grants"].as_array().unwrap().len(),
        1
    );
    eprintln!("{} field cases", cases.len());
}

// A JSON array where the route expects an object must be refused: serde would take it for the
// struct's fields in order, even with `deny_unknown_fields` (found by this suite: `["seq", 2]`
// sent to `POST …/service-tokens/{id}/` renamed the token *and revoked it*; `[true]` turned IP
// restrictions on). The body must be an object; the grants route alone takes an array.
#[tokio::test]
async fn a_json_array_is_not_taken_for_an_object() {
    let fx = fixture().await;
    let cases = [
        case(ROTATE, "[]"),
        case(
            CREATE,
            r#"["positional", [{"permission_set": "job_viewer"}]]"#,
        ),
        case(UPDATE_PUT, r#"["positional"]"#),
        case(UPDATE, r#"["positional", 2]"#),
        case(IP_CREATE, r#"["positional", 2, "d", ["192.0.2.0/24"]]"#),
        case(IP_UPDATE, r#"["positional"]"#),
        case(IP_SWITCH, "[false]"),
        case(LEAK_REPORT, r#"[["lksvc_notarealtoken"]]"#),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        if let Err(e) = check_refused(&fx, c).await {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
