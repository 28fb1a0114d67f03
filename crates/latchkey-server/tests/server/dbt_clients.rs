//! Real dbt Cloud API clients work unchanged: the calls below are made the way dbt's Terraform
//! provider and the `dbtc` Python client make them — a token created with no grants and then
//! given its permissions, paths without their trailing slash, `account_id` and `state` in bodies,
//! extra fields on grant objects, `state`, `pk__in`, `offset`, `limit`, `order_by` and group
//! filters on lists (issue 8, "Real dbt Cloud clients work unchanged").

use crate::common::{eventually, spawn_app, App};
use reqwest::Method;
use serde_json::{json, Value};

/// A client as the libraries build it: `Authorization: Token …`, JSON bodies, query params.
struct Client<'a> {
    app: &'a App,
    token: String,
}

impl Client<'_> {
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .app
            .http
            .request(method, format!("{}/api/{path}", self.app.url))
            .header("Authorization", format!("Token {}", self.token))
            .header("Accept", "application/json")
            .query(query);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn the_terraform_provider_manages_a_service_token_end_to_end() {
    let app = spawn_app().await;
    let tf = Client {
        app: &app,
        token: app.token(app.account, &["account_admin:all"]).await,
    };
    let a = app.account.0;

    // The provider checks the token against the account list first.
    let (s, accounts) = tf.send(Method::GET, "v2/accounts/", &[], None).await;
    assert_eq!(s, 200, "{accounts}");
    assert_eq!(accounts["data"][0]["id"], json!(a));

    // Create: name, account_id and state, no grants.
    let (s, made) = tf
        .send(
            Method::POST,
            &format!("v3/accounts/{a}/service-tokens/"),
            &[],
            Some(json!({"account_id": a, "name": "terraform", "state": 1})),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let id = made["data"]["id"].as_i64().unwrap();
    let secret = made["data"]["token_string"].as_str().unwrap().to_owned();

    // Then its permissions, each grant carrying account_id and service_token_id.
    let grants = json!([
        {"account_id": a, "service_token_id": id, "permission_set": "job_admin",
         "all_projects": false, "project_id": app.p1.0},
        {"account_id": a, "service_token_id": id, "permission_set": "metadata_only",
         "all_projects": true},
    ]);
    let (s, out) = tf
        .send(
            Method::POST,
            &format!("v3/accounts/{a}/service-tokens/{id}/permissions/"),
            &[],
            Some(grants),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["data"].as_array().unwrap().len(), 2);

    // Read back, with and without the trailing slash, and list with ?state=1.
    for path in [
        format!("v3/accounts/{a}/service-tokens/{id}/"),
        format!("v3/accounts/{a}/service-tokens/{id}"),
    ] {
        let (s, out) = tf.send(Method::GET, &path, &[], None).await;
        assert_eq!(s, 200, "{path}: {out}");
        assert_eq!(out["data"]["name"], "terraform");
        assert!(
            out["data"]["token_string"].is_null(),
            "the secret is shown once"
        );
    }
    let (s, listed) = tf
        .send(
            Method::GET,
            &format!("v3/accounts/{a}/service-tokens/"),
            &[("state", "1")],
            None,
        )
        .await;
    assert_eq!(s, 200, "{listed}");
    assert!(listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == json!(id)));

    // The token works as granted once the grants reach the verifier.
    eventually("the grants reaching the verifier", async || {
        let (_, out) = app
            .authorize(
                &secret,
                json!({"permission": "jobs:write", "project_id": app.p1.0}),
            )
            .await;
        (out["allowed"] == json!(true)).then_some(())
    })
    .await;

    // Update by posting the whole object back (the provider sends every field it read).
    let mut object = tf
        .send(
            Method::GET,
            &format!("v3/accounts/{a}/service-tokens/{id}"),
            &[],
            None,
        )
        .await
        .1["data"]
        .clone();
    object["name"] = json!("terraform (renamed)");
    let (s, out) = tf
        .send(
            Method::POST,
            &format!("v3/accounts/{a}/service-tokens/{id}"),
            &[],
            Some(object),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["data"]["name"], "terraform (renamed)");

    // Destroy.
    let (s, out) = tf
        .send(
            Method::DELETE,
            &format!("v3/accounts/{a}/service-tokens/{id}"),
            &[],
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["data"]["state"], 2);
}

#[tokio::test]
async fn the_terraform_provider_manages_groups_and_their_permissions() {
    let app = spawn_app().await;
    let tf = Client {
        app: &app,
        token: app.token(app.account, &["account_admin:all"]).await,
    };
    let a = app.account.0;
    let (s, group) = tf
        .send(
            Method::POST,
            &format!("v3/accounts/{a}/groups/"),
            &[],
            Some(
                json!({"account_id": a, "name": "Analysts", "assign_by_default": false,
                        "sso_mapping_groups": []}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{group}");
    let g = group["data"]["id"].as_i64().unwrap();
    let (s, out) = tf
        .send(
            Method::POST,
            &format!("v3/accounts/{a}/group-permissions/{g}"),
            &[],
            Some(
                json!([{"account_id": a, "group_id": g, "project_id": app.p1.0,
                         "all_projects": false, "permission_set": "analyst",
                         "writable_environment_categories": ["development"]}]),
            ),
        )
        .await;
    assert_eq!(s, 200, "{out}");
    for query in [
        vec![("name", "Analysts")],
        vec![("name__icontains", "analy")],
        vec![("state", "1"), ("limit", "10"), ("offset", "0")],
    ] {
        let (s, out) = tf
            .send(
                Method::GET,
                &format!("v3/accounts/{a}/groups"),
                &query,
                None,
            )
            .await;
        assert_eq!(s, 200, "{query:?}: {out}");
        let names: Vec<&str> = out["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|g| g["name"].as_str())
            .collect();
        assert!(names.contains(&"Analysts"), "{query:?}: {names:?}");
    }
    let (_, none) = tf
        .send(
            Method::GET,
            &format!("v3/accounts/{a}/groups/"),
            &[("name", "Nobody")],
            None,
        )
        .await;
    assert_eq!(none["data"], json!([]));
}

#[tokio::test]
async fn dbtc_lists_users_and_service_tokens_its_way() {
    let app = spawn_app().await;
    let dbtc = Client {
        app: &app,
        token: app.token(app.account, &["account_admin:all"]).await,
    };
    let a = app.account.0;
    for email in ["zed@example.com", "amy@example.com"] {
        app.member(email, None, latchkey_core::License::Developer)
            .await;
    }
    // dbtc's list_users: v2, limit, offset, order_by=email.
    let (s, out) = dbtc
        .send(
            Method::GET,
            &format!("v2/accounts/{a}/users/"),
            &[("limit", "100"), ("offset", "0"), ("order_by", "email")],
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let emails: Vec<&str> = out["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, ["amy@example.com", "zed@example.com"]);
    let (_, out) = dbtc
        .send(
            Method::GET,
            &format!("v2/accounts/{a}/users/"),
            &[("order_by", "-email")],
            None,
        )
        .await;
    assert_eq!(out["data"][0]["email"], "zed@example.com");
    let (s, out) = dbtc
        .send(
            Method::GET,
            &format!("v2/accounts/{a}/users/"),
            &[("order_by", "password")],
            None,
        )
        .await;
    assert_eq!(
        (s, &out["data"]["field"]),
        (400, &json!("order_by")),
        "{out}"
    );

    // create_service_token, then assign_service_token_permissions, then list_service_token_permissions
    // (no trailing slash) — and pk__in on the list.
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        let (s, made) = dbtc
            .send(
                Method::POST,
                &format!("v3/accounts/{a}/service-tokens/"),
                &[],
                Some(json!({"name": name})),
            )
            .await;
        assert_eq!(s, 201, "{made}");
        ids.push(made["data"]["id"].as_i64().unwrap());
    }
    let (s, _) = dbtc
        .send(
            Method::POST,
            &format!("v3/accounts/{a}/service-tokens/{}/permissions/", ids[0]),
            &[],
            Some(json!([{"permission_set": "job_runner", "all_projects": true}])),
        )
        .await;
    assert_eq!(s, 200);
    let (s, perms) = dbtc
        .send(
            Method::GET,
            &format!("v3/accounts/{a}/service-tokens/{}/permissions", ids[0]),
            &[],
            None,
        )
        .await;
    assert_eq!(s, 200, "{perms}");
    assert_eq!(perms["data"][0]["permission_set"], "job_runner");
    let wanted = format!("{},{}", ids[0], ids[2]);
    let (s, out) = dbtc
        .send(
            Method::GET,
            &format!("v3/accounts/{a}/service-tokens/"),
            &[("pk__in", wanted.as_str())],
            None,
        )
        .await;
    assert_eq!(s, 200, "{out}");
    let mut got: Vec<i64> = out["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec![ids[0], ids[2]]);
    assert_eq!(out["extra"]["pagination"]["total_count"], 2);
    for bad in ["", "1,x", "0", "-1", "1,,2"] {
        let (s, out) = dbtc
            .send(
                Method::GET,
                &format!("v3/accounts/{a}/service-tokens/"),
                &[("pk__in", bad)],
                None,
            )
            .await;
        assert_eq!(
            (s, &out["data"]["field"]),
            (400, &json!("pk__in")),
            "{bad:?}: {out}"
        );
    }
}
