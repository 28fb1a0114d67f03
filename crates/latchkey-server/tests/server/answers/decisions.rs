//! The variants of the rows whose answer depends most on what is asked: authorize (single and
//! batch, allowed and denied, explained or not), introspection (active and inactive tokens) and
//! invitation redemption (a new user and an existing one).

use latchkey_core::Secret;
use latchkey_store::Actor;
use serde_json::{json, Value};

use super::calls::{at, call, request, Auth, Payload};
use super::exercise::{variant, Variant};
use super::world::{invite, rich_token, World, PASSWORD};
use crate::common::{eventually, App};

/// `POST /api/v1/authorize`: single and batch, allowed and denied, with and without `explain`,
/// for a service token and a PAT. Each variant is asserted to be what its label says.
pub(super) async fn authorize_variants(app: &App, w: &World) -> Vec<Variant> {
    let p1 = app.p1.0;
    let p2 = app.p2.0;
    // Holds service_tokens:read on the account (from account_admin on one project), so it may
    // ask for explanations.
    let explainer = app
        .token(
            app.account,
            &[
                &format!("account_admin:project={}", app.p1),
                "job_viewer:all",
            ],
        )
        .await;
    let jobs_write = |project: i64, env: Option<&str>| {
        let mut check = json!({"permission": "jobs:write", "project_id": project});
        if let Some(env) = env {
            check["environment"] = json!(env);
        }
        check
    };
    let (rich, pat) = (w.rich.as_str(), w.pat.as_str());
    let explained = |mut check: Value| {
        check["explain"] = json!(true);
        check
    };
    // The rich token writes jobs on project one in production only (developer there), and in
    // development and staging everywhere (developer on all projects).
    let cases: Vec<(&str, &str, Value)> = vec![
        ("single, allowed", rich, jobs_write(p1, Some("production"))),
        (
            "single, denied: environment not writable",
            rich,
            jobs_write(p1, Some("other")),
        ),
        ("single, denied: no grant, PAT", pat, jobs_write(p2, None)),
        (
            "single, allowed, explained",
            explainer.as_str(),
            explained(jobs_write(p1, None)),
        ),
        (
            "single, denied, explained",
            explainer.as_str(),
            explained(jobs_write(p2, None)),
        ),
        (
            "single, account-wide, PAT",
            pat,
            json!({"permission": "jobs:read"}),
        ),
        (
            "batch, allowed and denied",
            rich,
            json!({"checks": [
                jobs_write(p1, Some("production")),
                jobs_write(p1, Some("other")),
                {"permission": "jobs:read"},
            ]}),
        ),
        (
            "batch, explained",
            explainer.as_str(),
            json!({"explain": true, "checks": [
                jobs_write(p2, None),
                {"permission": "jobs:read", "project_id": p2},
            ]}),
        ),
        (
            "batch, PAT, all allowed",
            pat,
            json!({"checks": [{"permission": "jobs:read", "project_id": p1}]}),
        ),
    ];
    let mut out = Vec::new();
    for (label, token, body) in cases {
        let answer = call(app, "POST", "/api/v1/authorize", token, Some(body)).await;
        let json = answer.json();
        let results: Vec<&Value> = match json["results"].as_array() {
            Some(rs) => rs.iter().collect(),
            None => vec![&json],
        };
        assert_eq!(
            label.starts_with("batch"),
            json["results"].is_array(),
            "{label}: {}",
            answer.text
        );
        if label.contains("denied") {
            assert!(
                results
                    .iter()
                    .any(|r| r["allowed"] == false && r["reason"].is_object()),
                "{label}: {}",
                answer.text
            );
        }
        if label.contains("environment not writable") {
            assert_eq!(
                json["reason"]["code"], "environment_not_writable",
                "{label}: {}",
                answer.text
            );
        }
        if label.contains("allowed") {
            assert!(
                results.iter().any(|r| r["allowed"] == true),
                "{label}: {}",
                answer.text
            );
        }
        assert_eq!(
            label.contains("explained"),
            results.iter().all(|r| r["explanation"].is_object()),
            "{label}: {}",
            answer.text
        );
        out.push(variant(label, answer));
    }
    out
}

/// `POST /oauth/introspect`: an active service token, an active PAT, and inactive tokens.
pub(super) async fn introspect_variants(app: &App, w: &World) -> Vec<Variant> {
    let (revoked_id, revoked) = rich_token(app, &w.admin, "revoked").await;
    let p = at(app, &format!("service-tokens/{revoked_id}/"));
    assert_eq!(call(app, "DELETE", &p, &w.admin, None).await.status, 200);
    let introspect = |token: String| {
        let form = format!("token={token}&token_type_hint=access_token");
        async move {
            request(
                app,
                "POST",
                "/oauth/introspect",
                Auth::Token(&w.admin),
                Payload::Form(form),
                &[],
            )
            .await
        }
    };
    let revoked_answer = eventually("introspection seeing the revocation", async || {
        let answer = introspect(revoked.clone()).await;
        (answer.json()["active"] == false).then_some(answer)
    })
    .await;
    let out = vec![
        variant("active service token", introspect(w.rich.clone()).await),
        variant(
            "active personal access token",
            introspect(w.pat.clone()).await,
        ),
        variant("revoked service token", revoked_answer),
        variant("garbage", introspect("lksvc_nothing".into()).await),
    ];
    for (label, answer) in &out {
        let json = answer.json();
        let active = !label.starts_with("revoked") && *label != "garbage";
        assert_eq!(json["active"], active, "{label}: {}", answer.text);
        if !active {
            assert_eq!(json, json!({"active": false}), "{label}");
        }
    }
    out
}

/// `POST /api/v3/invites/redeem/`: a new user (with a password) and an existing one.
pub(super) async fn redeem_variants(app: &App, w: &World) -> Vec<Variant> {
    let (_, new_code) = invite(app, &w.admin, "brand-new@example.com", &[w.group]).await;
    let existing = "existing@example.com";
    app.store
        .create_user(
            &Actor::operator(),
            app.account,
            existing,
            Some(&Secret::new(PASSWORD.into())),
        )
        .await
        .unwrap();
    let (_, old_code) = invite(app, &w.admin, existing, &[]).await;
    let redeem = |body: Value| {
        request(
            app,
            "POST",
            "/api/v3/invites/redeem/",
            Auth::None,
            Payload::Json(body),
            &[],
        )
    };
    vec![
        variant(
            "a new user, into a group",
            redeem(json!({"code": new_code, "password": PASSWORD})).await,
        ),
        variant(
            "an existing user of the account, proven by their password",
            redeem(json!({"code": old_code, "password": PASSWORD})).await,
        ),
    ]
}
