//! Rows without a permission (point 3 of the suite): each is one this suite knows is public or
//! identity-only, so a route added without a permission fails until someone decides, here, that
//! it needs none.

use latchkey_core::Scope;
use latchkey_server::routes::table::{api_table, Requirement, Row};
use latchkey_server::ServerConfig;

use super::catalog_file::{rank, CatalogFile};
use super::tokens_and_paths::{grant_on, junk_body, method_of, mint};
use crate::common::spawn_app_with;

/// Every row that checks no permission, and why that is right. A new row without a permission
/// fails the test below until it is added here, deliberately.
const WITHOUT_PERMISSION: &[(&str, &str, Requirement)] = &[
    // Liveness and readiness probes.
    ("GET", "/healthz", Requirement::Public),
    ("GET", "/livez", Requirement::Public),
    ("GET", "/readyz", Requirement::Public),
    // Counters with no secret in them, served on the operator's listener alone (404 here): who
    // reaches that listener is the operator's network's decision.
    ("GET", "/metrics", Requirement::Public),
    // The OpenAPI document describes the API, not any account's data.
    ("GET", "/api/openapi.json", Requirement::Public),
    // Whoever finds a leaked token may report it (GitHub-style), with no token of their own.
    ("POST", "/api/v1/credentials/revoke", Requirement::Public),
    // The invited person has no token yet: the one-time code is the credential (throttled).
    ("POST", "/api/v3/invites/redeem/", Requirement::Public),
    // Asks about the caller's own permissions only.
    ("POST", "/api/v1/authorize", Requirement::Authenticated),
    // The caller itself, the catalog's constants, and the caller's own account.
    ("GET", "/api/v2/whoami/", Requirement::Authenticated),
    ("GET", "/api/v2/constants/", Requirement::Authenticated),
    ("GET", "/api/v2/accounts/", Requirement::Authenticated),
    ("GET", "/api/v3/accounts/", Requirement::Authenticated),
    // Forward-auth: the permission comes from the route map entry for the proxied request, and
    // the handler asks the decision function for it (tested against nginx in forward_auth.rs).
    ("GET", "/auth/forward", Requirement::Authenticated),
    ("POST", "/auth/forward", Requirement::Authenticated),
    ("PUT", "/auth/forward", Requirement::Authenticated),
    ("PATCH", "/auth/forward", Requirement::Authenticated),
    ("DELETE", "/auth/forward", Requirement::Authenticated),
    // The same for Envoy's ext_authz, which appends the original path to `/auth/forward`.
    ("GET", "/auth/forward/{*path}", Requirement::Authenticated),
    ("POST", "/auth/forward/{*path}", Requirement::Authenticated),
    ("PUT", "/auth/forward/{*path}", Requirement::Authenticated),
    ("PATCH", "/auth/forward/{*path}", Requirement::Authenticated),
    (
        "DELETE",
        "/auth/forward/{*path}",
        Requirement::Authenticated,
    ),
];

#[tokio::test]
async fn a_route_table_row_without_a_permission_is_public_or_identity_only() {
    let cat = CatalogFile::load();
    // Forward auth on: with no proxy named it answers 501 to everyone.
    let app = spawn_app_with(ServerConfig {
        forward_auth_headers: Some(latchkey_server::ForwardAuthHeaders::Nginx),
        ..ServerConfig::default()
    })
    .await;
    // The weakest token there is: the offered set granting the fewest cells, on one project.
    let weakest = cat
        .sets()
        .into_iter()
        .filter(|s| cat.offered_to_service_tokens(s))
        .min_by_key(|s| {
            ["account", "project"]
                .iter()
                .flat_map(|level| {
                    cat.0["permission_sets"][s][level]
                        .as_object()
                        .unwrap()
                        .values()
                })
                .map(|v| rank(v.as_str().unwrap()) as usize)
                .sum::<usize>()
        })
        .unwrap();
    let weak = mint(
        &app,
        app.account,
        "weakest",
        &[grant_on(&weakest, Scope::Project(app.p1))],
    )
    .await
    .unwrap();

    let mut checked = 0;
    for Row { spec, .. } in api_table() {
        // OnProject rows check a permission on the project in the path (directory.rs); User rows
        // act for the calling user on their own tokens only (personal_tokens.rs), and refuse
        // service tokens outright.
        if matches!(
            spec.requirement,
            Requirement::Permission(_) | Requirement::OnProject(_) | Requirement::User
        ) {
            continue;
        }
        let listed = WITHOUT_PERMISSION
            .iter()
            .find(|(m, p, _)| *m == spec.method.as_str() && *p == spec.path);
        let Some((_, _, requirement)) = listed else {
            panic!(
                "{} {} requires {:?} but no permission: give it one, or add it to \
                 WITHOUT_PERMISSION with the reason it needs none",
                spec.method, spec.path, spec.requirement
            );
        };
        assert_eq!(
            *requirement, spec.requirement,
            "{} {}",
            spec.method, spec.path
        );
        // `{*path}` is the proxied request's path (forward auth), not an object.
        assert!(
            !spec.path.replace("{*path}", "").contains('{'),
            "{} {} names an object but checks no permission",
            spec.method,
            spec.path
        );
        // And it really needs nothing more: no token for a public row, the weakest for the rest.
        let method = method_of(&spec);
        let token = (spec.requirement == Requirement::Authenticated).then_some(&weak.secret);
        let (status, body) = app
            .call(
                method.clone(),
                spec.path,
                token.map(String::as_str),
                junk_body(&method),
            )
            .await;
        assert!(
            status != 401 && status != 403 && status < 500,
            "{method} {} with {}: {status} {body}",
            spec.path,
            if token.is_some() {
                &weakest
            } else {
                "no token"
            }
        );
        checked += 1;
    }
    assert!(checked > 0);
}
