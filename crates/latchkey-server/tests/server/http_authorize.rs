//! `POST /api/v1/authorize` over real HTTP, against the real router on a loopback socket and a
//! real SQLite file.

use latchkey_core::{
    catalog, decide, EffectivePermissions, Grant, License, Minter, Permission, Plan, Scope,
    TokenFormat, TokenKind,
};
use latchkey_store::{Actor, NewServiceTokenParts};
use serde_json::{json, Value};

use crate::common::{eventually, grant, spawn_app, until_status};

#[tokio::test]
async fn every_set_and_scope_decides_over_http_as_the_matrix_says() {
    let app = spawn_app().await;
    for set in catalog()
        .plan_sets(Plan::Enterprise)
        .filter(|s| !s.is_user_only())
    {
        for scope in [Scope::AllProjects, Scope::Project(app.p1)] {
            let g = Grant::new(set, scope);
            let (_, token) = app.mint(&[g]).await;
            let perms = EffectivePermissions::for_service_token(&[g], Plan::Enterprise);
            let mut checks = Vec::new();
            for permission in Permission::all() {
                for project in [Some(app.p1), Some(app.p2), None] {
                    checks.push((permission, project));
                }
            }
            for chunk in checks.chunks(100) {
                let body: Vec<Value> = chunk
                    .iter()
                    .map(|(perm, project)| json!({"permission": perm.to_string(), "project_id": project.map(|p| p.0)}))
                    .collect();
                let (status, out) = app.authorize(&token, json!({ "checks": body })).await;
                assert_eq!(status, 200, "{out}");
                for ((perm, project), result) in
                    chunk.iter().zip(out["results"].as_array().unwrap())
                {
                    let want = decide(&perms, *perm, *project, None).is_allowed();
                    assert_eq!(
                        result["allowed"], want,
                        "{set} {scope:?} {perm} {project:?}: {result}"
                    );
                    assert_eq!(result["reason"].is_null(), want);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_single_check_answers_with_the_decision_reason_and_principal() {
    let app = spawn_app().await;
    let (id, token) = app
        .mint(&[grant(&format!("job_admin:project={}", app.p1))])
        .await;
    let (status, out) = app
        .authorize(
            &token,
            json!({"permission": "jobs:write", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(out["allowed"], true);
    assert_eq!(out["reason"], Value::Null);
    assert_eq!(
        out["principal"],
        json!({"kind": "service_token", "id": id.0, "account_id": app.account.0})
    );

    let (_, out) = app
        .authorize(
            &token,
            json!({"permission": "jobs:write", "project_id": app.p2.0}),
        )
        .await;
    assert_eq!(out["allowed"], false);
    assert_eq!(out["reason"]["code"], "no_grant");
    assert_eq!(
        out["reason"]["message"],
        format!("no grant covers jobs:write on project {}", app.p2)
    );

    // Both schemes, any case.
    for scheme in ["Bearer", "bearer", "TOKEN"] {
        let resp = app
            .http
            .post(format!("{}/api/v1/authorize", app.url))
            .header("Authorization", format!("{scheme} {token}"))
            .json(&json!({"permission": "jobs:read", "project_id": app.p1.0}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn unknown_malformed_revoked_and_expired_tokens_get_one_identical_401() {
    let app = spawn_app().await;
    let (revoked_id, revoked) = app.mint(&[grant("job_admin:all")]).await;
    app.store
        .revoke_service_token(
            &Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            revoked_id,
        )
        .await
        .unwrap();
    let soon = latchkey_store::now() + time::Duration::milliseconds(300);
    let (_, expiring) = app
        .mint_in(app.account, &[grant("job_admin:all")], Some(soon))
        .await;
    let unknown = TokenFormat::default()
        .generate(TokenKind::Service)
        .secret
        .expose()
        .to_owned();
    let unknown_pat = TokenFormat::default()
        .generate(TokenKind::Personal)
        .secret
        .expose()
        .to_owned();
    let mut almost = unknown.clone();
    almost.pop();
    almost.push('!');
    // Wait until the expiring token has passed its expiry (held to the microsecond).
    eventually("the token's expiry passing", async || {
        (latchkey_store::now() > soon).then_some(())
    })
    .await;

    let body = serde_json::to_vec(&json!({"permission": "jobs:read"})).unwrap();
    let mut answers = Vec::new();
    for token in [
        Some(unknown.as_str()),
        Some(&unknown_pat),
        Some(&almost),
        Some(&revoked),
        Some(&expiring),
        Some(""),
        None,
    ] {
        answers.push(app.raw(token, Some("application/json"), body.clone()).await);
    }
    let wrong_scheme = app
        .http
        .post(format!("{}/api/v1/authorize", app.url))
        .header("Authorization", format!("Basic {unknown}"))
        .json(&json!({"permission": "jobs:read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_scheme.headers()["www-authenticate"], "Bearer");
    answers.push((
        wrong_scheme.status().as_u16(),
        wrong_scheme.text().await.unwrap(),
    ));
    for (status, body) in &answers {
        assert_eq!(*status, 401);
        assert_eq!(body, &answers[0].1, "bodies differ");
    }
    let envelope: Value = serde_json::from_str(&answers[0].1).unwrap();
    assert_eq!(envelope["status"]["code"], 401);
    assert_eq!(envelope["status"]["is_success"], false);
}

#[tokio::test]
async fn a_revocation_reaches_the_running_server_within_a_poll() {
    let app = spawn_app().await;
    let (id, token) = app.mint(&[grant("job_admin:all")]).await;
    let (status, _) = app
        .authorize(&token, json!({"permission": "jobs:read"}))
        .await;
    assert_eq!(status, 200, "now cached");
    // Revoke behind the server's back, as the CLI on the same database does.
    app.store
        .revoke_service_token(
            &Actor::operator(),
            latchkey_core::Authority::Operator,
            None,
            id,
        )
        .await
        .unwrap();
    until_status(&app, &token, 401).await;
}

#[tokio::test]
async fn a_plan_downgrade_reaches_the_running_server_within_a_poll() {
    let app = spawn_app().await;
    let (_, token) = app
        .mint(&[grant("job_admin:all"), grant("semantic_layer_only:all")])
        .await;
    let check = json!({"permission": "jobs:write", "project_id": app.p1.0});
    assert_eq!(
        app.authorize(&token, check.clone()).await.1["allowed"],
        true
    );
    app.store
        .set_plan(&Actor::operator(), app.account, Plan::Developer)
        .await
        .unwrap();
    eventually("job_admin failing on the developer plan", async || {
        let (_, out) = app.authorize(&token, check.clone()).await;
        (out["allowed"] == false).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_pat_acts_with_its_users_permissions_and_stops_when_the_seat_goes() {
    let app = spawn_app().await;
    let op = Actor::operator();
    let user = app
        .member("dev@example.com", None, License::Developer)
        .await;
    let group = app
        .store
        .create_group(
            &op,
            latchkey_core::Authority::Operator,
            app.account,
            "jobs",
            &[grant(&format!("job_admin:project={}", app.p1))],
        )
        .await
        .unwrap()
        .id;
    app.store.add_group_member(&op, group, user).await.unwrap();
    let new = TokenFormat::default().generate(TokenKind::Personal);
    let parts = NewServiceTokenParts {
        uid: &new.uid,
        digest: new.digest,
        hint: &new.hint,
    };
    app.store
        .create_personal_token(
            &op,
            Minter::Operator,
            app.account,
            user,
            "laptop",
            parts,
            None,
        )
        .await
        .unwrap();
    let pat = new.secret.expose();

    let (_, out) = app
        .authorize(
            pat,
            json!({"permission": "jobs:write", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(out["allowed"], true);
    assert_eq!(out["principal"]["kind"], "personal_access_token");
    assert_eq!(out["principal"]["user_id"], user.0);
    let (_, out) = app
        .authorize(
            pat,
            json!({"permission": "jobs:write", "project_id": app.p2.0}),
        )
        .await;
    assert_eq!(out["allowed"], false);

    app.store
        .remove_membership(&op, latchkey_core::Authority::Operator, app.account, user)
        .await
        .unwrap();
    until_status(&app, pat, 401).await;
}

#[tokio::test]
async fn another_accounts_project_is_denied_like_a_project_that_does_not_exist() {
    let app = spawn_app().await;
    let op = Actor::operator();
    let other = app
        .store
        .create_account(&op, "B", Plan::Enterprise)
        .await
        .unwrap();
    let theirs = app
        .store
        .create_project(&op, other.id, "theirs")
        .await
        .unwrap();
    let (_, token) = app.mint(&[grant("account_admin:all")]).await;
    let (_, foreign) = app
        .authorize(
            &token,
            json!({"permission": "jobs:read", "project_id": theirs.id.0}),
        )
        .await;
    let (_, missing) = app
        .authorize(
            &token,
            json!({"permission": "jobs:read", "project_id": 999_999}),
        )
        .await;
    assert_eq!(foreign["allowed"], false);
    assert_eq!(foreign["reason"]["code"], missing["reason"]["code"]);
    assert_eq!(
        foreign["reason"]["message"]
            .as_str()
            .unwrap()
            .replace(&theirs.id.to_string(), "N"),
        missing["reason"]["message"]
            .as_str()
            .unwrap()
            .replace("999999", "N")
    );
    // Their token cannot see ours either.
    let (_, theirs_token) = app
        .mint_in(other.id, &[grant("account_admin:all")], None)
        .await;
    let (_, out) = app
        .authorize(
            &theirs_token,
            json!({"permission": "jobs:read", "project_id": app.p1.0}),
        )
        .await;
    assert_eq!(out["allowed"], false);
}

#[tokio::test]
async fn environment_categories_scope_jobs_write() {
    let app = spawn_app().await;
    let (_, token) = app
        .mint(&[grant(&format!(
            "developer:project={}:envs=production",
            app.p1
        ))])
        .await;
    let ask =
        |env: &str| json!({"permission": "jobs:write", "project_id": app.p1.0, "environment": env});
    assert_eq!(
        app.authorize(&token, ask("production")).await.1["allowed"],
        true
    );
    let (_, out) = app.authorize(&token, ask("development")).await;
    assert_eq!(out["allowed"], false);
    assert_eq!(out["reason"]["code"], "environment_not_writable");
}

#[tokio::test]
async fn bad_input_gets_a_4xx_envelope_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, token) = app.mint(&[grant("job_admin:all")]).await;
    let json_ct = Some("application/json");
    let cases: Vec<(Option<&str>, Vec<u8>, u16)> = vec![
        (json_ct, b"{not json".to_vec(), 400),
        (json_ct, br#"{"permission": 5}"#.to_vec(), 400),
        (
            json_ct,
            br#"{"permission": "jobs:read", "project_id": "x"}"#.to_vec(),
            400,
        ),
        (
            json_ct,
            br#"{"permission": "jobs:read", "surprise": 1}"#.to_vec(),
            400,
        ),
        (json_ct, br#"{"permission": "jobz:write"}"#.to_vec(), 400),
        (json_ct, br#"{"permission": "jobs:admin"}"#.to_vec(), 400),
        (
            json_ct,
            br#"{"permission": "jobs:read", "project_id": 0}"#.to_vec(),
            400,
        ),
        (
            json_ct,
            br#"{"permission": "jobs:read", "project_id": -3}"#.to_vec(),
            400,
        ),
        (
            json_ct,
            br#"{"permission": "jobs:read", "environment": "prod"}"#.to_vec(),
            400,
        ),
        (json_ct, br#"{"checks": []}"#.to_vec(), 400),
        (
            json_ct,
            "{\"permission\": \"jobs:write'; DROP TABLE service_tokens;--\"}"
                .as_bytes()
                .to_vec(),
            400,
        ),
        (
            json_ct,
            "{\"permission\": \"jobs\\u0000:read\u{202e}\"}"
                .as_bytes()
                .to_vec(),
            400,
        ),
        (
            json_ct,
            br#"{"permission": "jobs:read", "project_id": 99999999999999999999999}"#.to_vec(),
            400,
        ),
        (json_ct, b"[]".to_vec(), 400),
        (None, br#"{"permission": "jobs:read"}"#.to_vec(), 415),
        (
            Some("text/plain"),
            br#"{"permission": "jobs:read"}"#.to_vec(),
            415,
        ),
        (json_ct, vec![b' '; 10 * 1024 * 1024], 413),
    ];
    for (ct, body, want) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        let (status, text) = app.raw(Some(&token), ct, body).await;
        assert_eq!(status, want, "{shown}: {text}");
        let envelope: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON for {shown}: {text}"));
        assert_eq!(envelope["status"]["code"], want);
        assert_eq!(envelope["status"]["is_success"], false);
    }
    let too_many: Vec<Value> = (0..101)
        .map(|_| json!({"permission": "jobs:read"}))
        .collect();
    let (status, out) = app.authorize(&token, json!({"checks": too_many})).await;
    assert_eq!(status, 400);
    assert_eq!(out["data"]["field"], "checks");
    let (_, out) = app
        .authorize(
            &token,
            json!({"checks": [{"permission": "jobs:read"}, {"permission": "nope:read"}]}),
        )
        .await;
    assert_eq!(out["data"]["field"], "checks[1].permission");

    // Nothing changed: the token still works and is the account's only one.
    assert_eq!(
        app.authorize(
            &token,
            json!({"permission": "jobs:write", "project_id": app.p1.0})
        )
        .await
        .1["allowed"],
        true
    );
    assert_eq!(
        app.store
            .list_service_tokens(app.account, None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn health_and_unknown_routes_answer_in_json() {
    let app = spawn_app().await;
    let health = app
        .http
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    let missing = app
        .http
        .get(format!("{}/nope", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["status"]["code"],
        404
    );
}

#[tokio::test]
async fn last_used_is_flushed_in_the_background() {
    let app = spawn_app().await;
    let (id, token) = app.mint(&[grant("job_admin:all")]).await;
    assert!(app
        .store
        .service_token(id)
        .await
        .unwrap()
        .unwrap()
        .last_used_at
        .is_none());
    app.authorize(&token, json!({"permission": "jobs:read"}))
        .await;
    eventually("last_used_at being written", async || {
        let token = app.store.service_token(id).await.unwrap().unwrap();
        token.last_used_at.map(|_| ())
    })
    .await;
}

#[tokio::test]
async fn explain_names_the_deciding_grants_for_callers_that_may_read_tokens() {
    let app = spawn_app().await;
    let (_, token) = app
        .mint(&[
            grant(&format!("account_admin:project={}", app.p1)),
            grant("job_viewer:all"),
        ])
        .await;
    let (status, out) = app
        .authorize(
            &token,
            json!({"permission": "jobs:write", "project_id": app.p1.0, "explain": true}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["allowed"], true);
    assert_eq!(
        out["explanation"]["grants"],
        json!([
            {"grant": format!("account_admin:project={}", app.p1), "covers": true},
            {"grant": "job_viewer:all", "covers": false},
        ])
    );
    let (_, out) = app
        .authorize(&token, json!({"explain": true, "checks": [{"permission": "jobs:write", "project_id": app.p2.0}, {"permission": "jobs:read", "project_id": app.p2.0}]}))
        .await;
    assert_eq!(out["results"][0]["allowed"], false);
    assert!(out["results"][0]["explanation"]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["covers"] == false));
    assert_eq!(
        out["results"][1]["explanation"]["grants"][1]["covers"],
        true
    );

    // Without the flag nothing is explained; without service_tokens:read it is refused.
    let (_, plain) = app
        .authorize(&token, json!({"permission": "jobs:read"}))
        .await;
    assert!(plain.get("explanation").is_none());
    let (_, job_admin) = app.mint(&[grant("job_admin:all")]).await;
    let (status, out) = app
        .authorize(
            &job_admin,
            json!({"permission": "jobs:read", "explain": true}),
        )
        .await;
    assert_eq!(status, 403, "{out}");
}

#[tokio::test]
async fn an_unknown_field_beside_a_batchs_checks_is_refused() {
    let app = spawn_app().await;
    let (_, token) = app.mint(&[grant("job_viewer:all")]).await;
    for body in [
        json!({"checks": [{"permission": "jobs:read"}], "explian": true}),
        json!({"checks": [{"permission": "jobs:read"}], "permission": "jobs:write"}),
        json!({"checks": [{"permission": "jobs:read", "explain": true}]}),
    ] {
        let (status, out) = app.authorize(&token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {out}");
        assert_eq!(out["status"]["is_success"], false);
    }
}

#[tokio::test]
async fn a_wrong_method_on_a_known_route_answers_405_in_the_envelope() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/authorize"),
        (reqwest::Method::PUT, "/api/v1/authorize"),
        (reqwest::Method::DELETE, "/api/v1/authorize"),
        (reqwest::Method::POST, "/healthz"),
    ] {
        let resp = app
            .http
            .request(method.clone(), format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405, "{method} {path}");
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(body["status"]["code"], 405, "{method} {path}: {body}");
    }
}
