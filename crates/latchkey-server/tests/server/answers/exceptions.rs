//! The route-table rows whose success answer is not a JSON body (forward auth, the OpenAPI
//! document itself), each with what is checked instead.

use latchkey_server::{ForwardAuthHeaders, ServerConfig};
use serde_json::Value;

use super::calls::{request, Auth, Payload};
use super::world::World;
use crate::common::{spawn_app_with, App};

/// Rows whose success answer is not a JSON body to validate, each with the reason and what
/// [`check_exception`] asserts instead. Every other row must be exercised by
/// [`exercise`](super::exercise).
pub(super) const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "GET",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "POST",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "PUT",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "PATCH",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "DELETE",
        "/auth/forward",
        "no body: 200 with X-Latchkey-Principal / X-Latchkey-Account (and -User for a PAT)",
    ),
    (
        "GET",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "POST",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "PUT",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "PATCH",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "DELETE",
        "/auth/forward/{*path}",
        "no body: Envoy ext_authz's path, 200 with the X-Latchkey-* headers (on an Envoy-mode server)",
    ),
    (
        "GET",
        "/api/openapi.json",
        "the document itself: it parses and is the generated document",
    ),
    (
        "GET",
        "/metrics",
        "Prometheus's text format, on the operator's listener (404 on the API listener)",
    ),
];

/// The check of a row in [`EXCEPTIONS`]; panics when it fails.
pub(super) async fn check_exception(app: &App, w: &World, method: &str, path: &str, doc: &Value) {
    if path == "/metrics" {
        let documented = &doc["paths"][path]["get"]["responses"];
        assert!(documented["200"]["content"]["text/plain"].is_object());
        assert!(documented["404"].is_object());
        let answer = request(app, method, path, Auth::None, Payload::None, &[]).await;
        assert_eq!(answer.status, 404, "{}", answer.text);
        let (status, content_type, text) = app.operator().await.scrape().await;
        assert_eq!(status, 200, "{text}");
        assert!(content_type.starts_with("text/plain; version=0.0.4"));
        crate::metrics::exposition::parse(&text).unwrap();
        return;
    }
    if path == "/api/openapi.json" {
        let answer = request(app, method, path, Auth::None, Payload::None, &[]).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let served: Value = serde_json::from_str(&answer.text).expect("the document parses");
        assert_eq!(&served, doc, "the served document is the generated one");
        return;
    }
    if path == "/auth/forward/{*path}" {
        check_envoy_exception(method, doc).await;
        return;
    }
    assert_eq!(
        path, "/auth/forward",
        "an exception this function does not know"
    );
    let documented = &doc["paths"][path][method.to_ascii_lowercase()]["responses"]["200"];
    for header in ["X-Latchkey-Principal", "X-Latchkey-Account"] {
        assert!(
            documented["headers"][header].is_object(),
            "{method} {path}: {header} is not documented"
        );
    }
    let runs = format!(
        "/api/v2/accounts/{}/runs/?project_id={}",
        app.account, app.p1
    );
    let proxied = [
        ("X-Forwarded-Method", "GET".to_owned()),
        ("X-Forwarded-Uri", runs),
    ];
    let service = request(
        app,
        method,
        path,
        Auth::Token(&w.rich),
        Payload::None,
        &proxied,
    )
    .await;
    let personal = request(
        app,
        method,
        path,
        Auth::Token(&w.pat),
        Payload::None,
        &proxied,
    )
    .await;
    for (answer, principal, user) in [
        (&service, format!("service_token:{}", w.rich_id), None),
        (
            &personal,
            format!("personal_access_token:{}", w.pat_id),
            Some(w.user.0.to_string()),
        ),
    ] {
        let what = format!("{method} {path} as {principal}");
        assert_eq!(answer.status, 200, "{what}: {}", answer.text);
        assert_eq!(answer.text, "", "{what}: the answer has no body");
        assert_eq!(
            answer.header("x-latchkey-principal"),
            Some(principal.as_str()),
            "{what}"
        );
        assert_eq!(
            answer.header("x-latchkey-account"),
            Some(app.account.to_string().as_str()),
            "{what}"
        );
        assert_eq!(answer.header("x-latchkey-user"), user.as_deref(), "{what}");
        assert_eq!(
            answer.header("x-latchkey-permission"),
            Some("runs:read"),
            "{what}"
        );
    }
}

/// The check of Envoy's forward-auth rows, on a server of its own in Envoy mode: the method is
/// the original request's, so each method asks about a request mapped for it.
async fn check_envoy_exception(method: &str, doc: &Value) {
    let documented =
        &doc["paths"]["/auth/forward/{path}"][method.to_ascii_lowercase()]["responses"]["200"];
    for header in ["X-Latchkey-Principal", "X-Latchkey-Account"] {
        assert!(
            documented["headers"][header].is_object(),
            "{method} /auth/forward/{{path}}: {header} is not documented"
        );
    }
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(ForwardAuthHeaders::Envoy),
        ..ServerConfig::default()
    })
    .await;
    let (id, token) = app.mint(&[crate::common::grant("job_admin:all")]).await;
    let (a, p) = (app.account, app.p1);
    let (original, permission) = match method {
        "GET" => (
            format!("/api/v2/accounts/{a}/runs/?project_id={p}"),
            "runs:read",
        ),
        "POST" => (format!("/api/v2/accounts/{a}/jobs/42/run/"), "runs:write"),
        _ => (
            format!("/api/v3/accounts/{a}/projects/{p}/environments/9/"),
            "environments:write",
        ),
    };
    let path = format!("/auth/forward{original}");
    let answer = request(&app, method, &path, Auth::Token(&token), Payload::None, &[]).await;
    let what = format!("{method} {path}");
    assert_eq!(answer.status, 200, "{what}: {}", answer.text);
    assert_eq!(answer.text, "", "{what}: the answer has no body");
    let principal = format!("service_token:{id}");
    assert_eq!(
        answer.header("x-latchkey-principal"),
        Some(principal.as_str()),
        "{what}"
    );
    assert_eq!(
        answer.header("x-latchkey-account"),
        Some(a.to_string().as_str()),
        "{what}"
    );
    assert_eq!(
        answer.header("x-latchkey-permission"),
        Some(permission),
        "{what}"
    );
}
