//! The OpenAPI document tells the whole truth (issue 8, finding 14): every rule the server
//! enforces on what it takes is stated in the document, and every status it answers is listed
//! for the operation, so a client generated from it meets no surprise.
//!
//! Each test reads a rule from the document the server serves (a length, a list size, a
//! minimum, a required field or header) and shows the server draws the line exactly there: a
//! request at the bound is not refused as bad input, one past it is a 400. Every answer met on
//! the way is checked against the statuses the document lists for its operation. The long
//! schemathesis run (`bench/schemathesis.sh`) explores the same ground at random; these pin the
//! rules it found stated nowhere.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_app_with, App};
use latchkey_server::{ForwardAuthHeaders, ServerConfig};

/// The document a server serves.
async fn served(app: &App) -> Value {
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    doc
}

/// A named schema's property.
fn property<'a>(doc: &'a Value, schema: &str, name: &str) -> &'a Value {
    let p = &doc["components"]["schemas"][schema]["properties"][name];
    assert!(p.is_object(), "{schema}.{name} is not documented");
    p
}

/// A number the document states (`maxLength`, `maxItems`, …), as a count.
fn bound(schema: &Value, keyword: &str) -> usize {
    schema[keyword]
        .as_u64()
        .unwrap_or_else(|| panic!("no {keyword} in {schema}")) as usize
}

/// Calls `path` (an instance of the document's `template`) and checks the answer's status is
/// one the document lists for that operation.
async fn call(
    app: &App,
    doc: &Value,
    (method, template): (Method, &str),
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, out) = app.call(method.clone(), path, token, body).await;
    let op = &doc["paths"][template][method.as_str().to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {template} is not in the document");
    assert!(
        op["responses"][status.to_string()].is_object(),
        "{method} {path} answered {status}, which the document does not list for it: {out}"
    );
    (status, out)
}

const PROJECTS: &str = "/api/v3/accounts/{account_id}/projects/";
const TOKENS: &str = "/api/v3/accounts/{account_id}/service-tokens/";
const TOKEN: &str = "/api/v3/accounts/{account_id}/service-tokens/{id}/";
const GRANTS: &str = "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/";
const ROTATE: &str = "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/";
const INVITES: &str = "/api/v3/accounts/{account_id}/invites/";
const REDEEM: &str = "/api/v3/invites/redeem/";
const GROUPS: &str = "/api/v3/accounts/{account_id}/groups/";
const GROUP: &str = "/api/v3/accounts/{account_id}/groups/{id}/";
const ASSIGN: &str = "/api/v3/accounts/{account_id}/assign-groups/";
const LICENSE: &str = "/api/v3/accounts/{account_id}/users/{user_id}/license/";
const REPORT: &str = "/api/v1/credentials/revoke";
const AUTHORIZE: &str = "/api/v1/authorize";

/// The document's path with the test account filled in.
fn at(app: &App, template: &str) -> String {
    template.replace("{account_id}", &app.account.0.to_string())
}

#[tokio::test]
async fn names_are_as_long_as_the_document_says_and_no_longer() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let name = property(&doc, "ProjectCreate", "name");
    assert!(
        name["pattern"].is_string(),
        "the name rule's characters: {name}"
    );
    assert_eq!(bound(name, "minLength"), 1);
    let max = bound(name, "maxLength");
    for schema in ["ServiceTokenCreate", "GroupCreate", "PersonalTokenCreate"] {
        assert_eq!(property(&doc, schema, "name"), name, "{schema}.name");
    }
    assert_eq!(
        property(&doc, "IpRestrictionRuleCreate", "name"),
        name,
        "an IP rule's name"
    );
    let create = (Method::POST, PROJECTS);
    let path = at(&app, PROJECTS);
    let send = |n: String| {
        call(
            &app,
            &doc,
            create.clone(),
            &path,
            Some(&admin),
            Some(json!({ "name": n })),
        )
    };
    let (s, out) = send("é".repeat(max)).await;
    assert_eq!(s, 201, "{max} characters (not bytes) are a name: {out}");
    for (bad, why) in [
        ("é".repeat(max + 1), "one too many"),
        (String::new(), "empty"),
        (" \u{200D} ".into(), "nothing visible"),
        ("a\u{202E}b".into(), "a character that reorders text"),
        ("a\u{7}b".into(), "a control character"),
    ] {
        let (s, out) = send(bad).await;
        assert_eq!(
            (s, &out["data"]["field"]),
            (400, &json!("name")),
            "{why}: {out}"
        );
    }
}

#[tokio::test]
async fn list_sizes_are_the_documented_ones() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;

    // Leaked-token reports: 1 to maxItems strings.
    let credentials = property(&doc, "CredentialReport", "credentials");
    assert_eq!(bound(credentials, "minItems"), 1);
    let max = bound(credentials, "maxItems");
    let report = |n: usize| json!({ "credentials": vec!["lksvc_x"; n] });
    let post = (Method::POST, REPORT);
    let (s, out) = call(&app, &doc, post.clone(), REPORT, None, Some(report(max))).await;
    assert_eq!(s, 202, "{out}");
    for n in [0, max + 1] {
        let (s, out) = call(&app, &doc, post.clone(), REPORT, None, Some(report(n))).await;
        assert_eq!(
            (s, &out["data"]["field"]),
            (400, &json!("credentials")),
            "{n}"
        );
    }

    // Authorize batches: 1 to maxItems checks.
    let checks = property(&doc, "AuthorizeBatch", "checks");
    assert_eq!(bound(checks, "minItems"), 1);
    let max = bound(checks, "maxItems");
    let batch = |n: usize| json!({ "checks": vec![json!({"permission": "jobs:read"}); n] });
    let post = (Method::POST, AUTHORIZE);
    let (s, out) = call(
        &app,
        &doc,
        post.clone(),
        AUTHORIZE,
        Some(&admin),
        Some(batch(max)),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    for n in [0, max + 1] {
        let (s, _) = call(
            &app,
            &doc,
            post.clone(),
            AUTHORIZE,
            Some(&admin),
            Some(batch(n)),
        )
        .await;
        assert_eq!(s, 400, "{n} checks");
    }

    // Group ids: an invitation's and a member's. At the bound the ids are only unknown (409),
    // past it the list itself is refused (400).
    let invite_groups = property(&doc, "InviteCreate", "group_ids");
    let assign_groups = property(&doc, "GroupAssign", "desired_group_ids");
    for (list, template, body) in [
        (
            invite_groups,
            INVITES,
            Box::new(
                |ids: Vec<i64>| json!({"email": "a@b.example", "license_type": "developer", "group_ids": ids}),
            ) as Box<dyn Fn(Vec<i64>) -> Value>,
        ),
        (
            assign_groups,
            ASSIGN,
            Box::new(|ids: Vec<i64>| json!({"user_id": 999_999, "desired_group_ids": ids})),
        ),
    ] {
        assert_eq!(list["items"]["minimum"], 1, "{template}: ids are 1 or more");
        let max = bound(list, "maxItems");
        let ids = |n: usize| (1_000_000..).take(n).collect::<Vec<i64>>();
        let post = (Method::POST, template);
        let path = at(&app, template);
        let (s, out) = call(
            &app,
            &doc,
            post.clone(),
            &path,
            Some(&admin),
            Some(body(ids(max))),
        )
        .await;
        assert_ne!(s, 400, "{template}: {max} ids are not too many: {out}");
        let (s, out) = call(
            &app,
            &doc,
            post.clone(),
            &path,
            Some(&admin),
            Some(body(ids(max + 1))),
        )
        .await;
        assert_eq!(s, 400, "{template}: {} ids are: {out}", max + 1);
    }

    // pk__in: 1 to 1000 ids, as its pattern says; no spaces, no leading zeros.
    let list = &doc["paths"][TOKENS]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pk__in")
        .unwrap()["schema"];
    assert!(
        list["pattern"].as_str().unwrap().contains("{0,999}"),
        "{list}"
    );
    let get = (Method::GET, TOKENS);
    let ids = |n: usize| (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let (s, out) = call(
        &app,
        &doc,
        get.clone(),
        &format!("{}?pk__in={}", at(&app, TOKENS), ids(1000)),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, 200, "{out}");
    for bad in [ids(1001), "01".into(), "1,%202".into()] {
        let (s, out) = call(
            &app,
            &doc,
            get.clone(),
            &format!("{}?pk__in={bad}", at(&app, TOKENS)),
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(
            (s, &out["data"]["field"]),
            (400, &json!("pk__in")),
            "{bad:.20}"
        );
    }
}

#[tokio::test]
async fn numbers_and_passwords_keep_their_documented_bounds() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;

    // An invitation lasts 1 to maximum days.
    let days = property(&doc, "InviteCreate", "expires_in_days");
    assert_eq!(days["minimum"], 1);
    let max = days["maximum"].as_i64().expect("a documented maximum");
    let post = (Method::POST, INVITES);
    let path = at(&app, INVITES);
    for (n, want) in [(max, 201), (max + 1, 400), (0, 400)] {
        let body = json!({"email": format!("d{n}@b.example"), "license_type": "developer", "expires_in_days": n});
        let (s, out) = call(&app, &doc, post.clone(), &path, Some(&admin), Some(body)).await;
        assert_eq!(s, want, "{n} days: {out}");
    }

    // A redemption's password: minLength to maxLength characters. Within them an unknown code
    // is refused as a credential (403), outside them the password is bad input (400).
    let password = property(&doc, "InviteRedeem", "password");
    let (min, max) = (bound(password, "minLength"), bound(password, "maxLength"));
    let post = (Method::POST, REDEEM);
    for (n, want) in [(min, 403), (max, 403), (min - 1, 400), (max + 1, 400)] {
        let body = json!({"code": "lkinv_unknown", "password": "p".repeat(n)});
        let (s, out) = call(&app, &doc, post.clone(), REDEEM, None, Some(body)).await;
        assert_eq!(s, want, "a password of {n}: {out}");
    }

    // A license change needs `license_type`, as the document says.
    let user = app
        .member("l@b.example", None, latchkey_core::License::Developer)
        .await;
    assert!(doc["components"]["schemas"]["UserLicense"]["required"]
        .as_array()
        .is_some_and(|r| r.contains(&json!("license_type"))));
    let path = at(&app, LICENSE).replace("{user_id}", &user.0.to_string());
    let (s, out) = call(
        &app,
        &doc,
        (Method::POST, LICENSE),
        &path,
        Some(&admin),
        Some(json!({})),
    )
    .await;
    assert_eq!((s, &out["data"]["field"]), (400, &json!("license_type")));

    // Ids in paths are 1 or more.
    let id = doc["paths"][TOKEN]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "id")
        .unwrap();
    assert_eq!(id["schema"]["minimum"], 1, "{id}");
}

#[tokio::test]
async fn a_whole_number_is_the_integer_it_spells() {
    // JSON Schema's `integer` (the document's type for ids and counts) is any number with a
    // zero fraction: `1.0` is the integer 1.
    let app = spawn_app().await;
    let doc = served(&app).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (target, _) = app.mint(&[crate::common::grant("job_viewer:all")]).await;
    let path = at(&app, GRANTS).replace("{id}", &target.0.to_string());
    let p1 = app.p1.0 as f64;
    let body = format!(r#"[{{"permission_set": "job_admin", "project_id": {p1:.1}}}]"#);
    assert!(body.contains(".0"), "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let (s, out) = call(
        &app,
        &doc,
        (Method::POST, GRANTS),
        &path,
        Some(&admin),
        Some(body),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["data"][0]["project_id"], app.p1.0);
    let rotate = at(&app, ROTATE).replace("{id}", &target.0.to_string());
    let (s, out) = call(
        &app,
        &doc,
        (Method::POST, ROTATE),
        &rotate,
        Some(&admin),
        Some(json!({"overlap_seconds": 6e1})),
    )
    .await;
    assert_eq!(s, 201, "6e1 seconds is 60: {out}");
    for fractional in [json!(1.5), json!(0.1e1 + 0.05)] {
        let body = json!([{"permission_set": "job_admin", "project_id": fractional}]);
        let (s, _) = call(
            &app,
            &doc,
            (Method::POST, GRANTS),
            &path,
            Some(&admin),
            Some(body),
        )
        .await;
        assert_eq!(s, 400, "{fractional} is no integer");
    }
}

#[tokio::test]
async fn what_the_current_state_forbids_is_a_conflict() {
    // A well-formed request refused for the state of things (a deleted group, a group or
    // project that is not there, a token already rotated) answers 409, as the document lists;
    // 400 is kept for what the document says is malformed.
    let app = spawn_app().await;
    let doc = served(&app).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    let (s, group) = call(
        &app,
        &doc,
        (Method::POST, GROUPS),
        &at(&app, GROUPS),
        Some(&admin),
        Some(json!({"name": "g"})),
    )
    .await;
    assert_eq!(s, 201, "{group}");
    let group_path = at(&app, GROUP).replace("{id}", &group["data"]["id"].to_string());
    let update = (Method::POST, GROUP);
    let (s, _) = call(
        &app,
        &doc,
        update.clone(),
        &group_path,
        Some(&admin),
        Some(json!({"state": 2})),
    )
    .await;
    assert_eq!(s, 200);
    let (s, out) = call(
        &app,
        &doc,
        update.clone(),
        &group_path,
        Some(&admin),
        Some(json!({"state": 1})),
    )
    .await;
    assert_eq!(s, 409, "a deleted group is not restored: {out}");
    let member = app
        .member("m@b.example", None, latchkey_core::License::Developer)
        .await;
    let (s, out) = call(
        &app,
        &doc,
        (Method::POST, ASSIGN),
        &at(&app, ASSIGN),
        Some(&admin),
        Some(json!({"user_id": member.0, "desired_group_ids": [group["data"]["id"]]})),
    )
    .await;
    assert_eq!(s, 409, "a deleted group is no group to join: {out}");
    let (s, token) = call(
        &app,
        &doc,
        (Method::POST, TOKENS),
        &at(&app, TOKENS),
        Some(&admin),
        Some(json!({"name": "t", "permission_grants": [{"permission_set": "job_viewer"}]})),
    )
    .await;
    assert_eq!(s, 201, "{token}");
    let rotate = at(&app, ROTATE).replace("{id}", &token["data"]["id"].to_string());
    let overlap = json!({"overlap_seconds": 600});
    let (s, _) = call(
        &app,
        &doc,
        (Method::POST, ROTATE),
        &rotate,
        Some(&admin),
        Some(overlap.clone()),
    )
    .await;
    assert_eq!(s, 201);
    let (s, out) = call(
        &app,
        &doc,
        (Method::POST, ROTATE),
        &rotate,
        Some(&admin),
        Some(overlap),
    )
    .await;
    assert_eq!(
        s, 409,
        "a rotated token's successor is what rotates next: {out}"
    );
}

/// Whether a documented field takes `null` (by its type and, if it has one, its closed set).
fn takes_null(schema: &Value) -> bool {
    schema["type"]
        .as_array()
        .is_some_and(|t| t.contains(&json!("null")))
        && schema["enum"]
            .as_array()
            .is_none_or(|e| e.contains(&Value::Null))
}

#[tokio::test]
async fn nulls_are_taken_exactly_where_the_document_allows_them() {
    let app = spawn_app().await;
    let doc = served(&app).await;
    let admin = app.token(app.account, &["account_admin:all"]).await;
    // An update's `null` means "no change" where the document allows it.
    let (target, _) = app.mint(&[crate::common::grant("job_viewer:all")]).await;
    let path = at(&app, TOKEN).replace("{id}", &target.0.to_string());
    for field in ["name", "state", "allowed_cidrs"] {
        assert!(
            takes_null(property(&doc, "ServiceTokenUpdate", field)),
            "{field}"
        );
        let (s, out) = call(
            &app,
            &doc,
            (Method::POST, TOKEN),
            &path,
            Some(&admin),
            Some(json!({ field: null })),
        )
        .await;
        assert_eq!(s, 200, "{field}: null: {out}");
    }
    for field in ["assign_by_default", "sso_mapping_groups"] {
        let documented = property(&doc, "GroupCreate", field);
        assert!(!takes_null(documented), "{documented}");
        let (s, out) = call(
            &app,
            &doc,
            (Method::POST, GROUPS),
            &at(&app, GROUPS),
            Some(&admin),
            Some(json!({"name": format!("n {field}"), field: null})),
        )
        .await;
        assert_eq!(s, 400, "{field}: null: {out}");
    }
}

#[tokio::test]
async fn each_server_documents_the_forward_auth_headers_it_reads() {
    let required = |doc: &Value| -> Vec<String> {
        doc["paths"]["/auth/forward"]["get"]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "header" && p["required"] == true)
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let lists_501 =
        |doc: &Value| doc["paths"]["/auth/forward"]["get"]["responses"]["501"].is_object();
    for (proxy, headers) in [
        (None, vec![]),
        (
            Some(ForwardAuthHeaders::Nginx),
            vec!["X-Original-Method", "X-Original-URI"],
        ),
        (
            Some(ForwardAuthHeaders::Traefik),
            vec!["X-Forwarded-Method", "X-Forwarded-Uri"],
        ),
        (Some(ForwardAuthHeaders::Envoy), vec![]),
    ] {
        let app = spawn_app_with(ServerConfig {
            forward_auth_headers: proxy,
            ..ServerConfig::default()
        })
        .await;
        let doc = served(&app).await;
        assert_eq!(required(&doc), headers, "{proxy:?}");
        assert_eq!(
            lists_501(&doc),
            proxy.is_none(),
            "{proxy:?}: 501 only while it is off"
        );
        let admin = app.token(app.account, &["account_admin:all"]).await;
        let get = (Method::GET, "/auth/forward");
        let (s, _) = call(&app, &doc, get.clone(), "/auth/forward", Some(&admin), None).await;
        let want = match proxy {
            None => 501,
            // Without the documented headers (or, for Envoy, the path) it is bad input.
            Some(_) => 400,
        };
        assert_eq!(s, want, "{proxy:?}");
        if !headers.is_empty() {
            let mut req = app
                .http
                .get(format!("{}/auth/forward", app.url))
                .header("Authorization", format!("Token {admin}"));
            let uri = format!(
                "/api/v2/accounts/{}/runs/?project_id={}",
                app.account, app.p1
            );
            req = req.header(headers[0], "GET").header(headers[1], uri);
            let status = req.send().await.unwrap().status().as_u16();
            assert_eq!(status, 200, "{proxy:?}: with the documented headers");
        }
    }
}
