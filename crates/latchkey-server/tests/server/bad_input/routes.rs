//! The route table as this suite sees it: every row classified by the input it reads (a JSON
//! body, a form, a query string, nothing), and a valid body for each route that takes one.

use latchkey_server::routes::table::{api_table, Row};

/// A row of the route table: method and path pattern.
pub(super) type Route = (&'static str, &'static str);

pub(super) const CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/service-tokens/");
pub(super) const UPDATE: Route = ("POST", "/api/v3/accounts/{account_id}/service-tokens/{id}/");
pub(super) const UPDATE_PUT: Route = ("PUT", "/api/v3/accounts/{account_id}/service-tokens/{id}/");
pub(super) const GRANTS: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
);
pub(super) const ROTATE: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/",
);
pub(super) const LEAK_REPORT: Route = ("POST", "/api/v1/credentials/revoke");
pub(super) const INTROSPECT: Route = ("POST", "/oauth/introspect");
pub(super) const AUTHORIZE: Route = ("POST", "/api/v1/authorize");
pub(super) const LIST: Route = ("GET", "/api/v3/accounts/{account_id}/service-tokens/");
pub(super) const RETRIEVE: Route = ("GET", "/api/v3/accounts/{account_id}/service-tokens/{id}/");
pub(super) const AUDIT: Route = ("GET", "/api/v3/accounts/{account_id}/audit-logs/");
pub(super) const IP_CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/ip-restrictions/");
pub(super) const IP_SWITCH: Route = (
    "PUT",
    "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/",
);
pub(super) const IP_UPDATE: Route = ("PUT", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/");
pub(super) const IP_UPDATE_POST: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
);
pub(super) const IP_RETRIEVE: Route =
    ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/{id}/");
pub(super) const PROJECT_CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/projects/");
pub(super) const PROJECT_UPDATE: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/projects/{project_id}/",
);
pub(super) const LICENSE: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/users/{user_id}/license/",
);
pub(super) const GROUP_CREATE: Route = ("POST", "/api/v3/accounts/{account_id}/groups/");
pub(super) const GROUP_UPDATE: Route = ("POST", "/api/v3/accounts/{account_id}/groups/{id}/");
pub(super) const GROUP_GRANTS: Route = (
    "POST",
    "/api/v3/accounts/{account_id}/group-permissions/{id}/",
);
pub(super) const ASSIGN: Route = ("POST", "/api/v3/accounts/{account_id}/assign-groups/");
pub(super) const INVITE: Route = ("POST", "/api/v3/accounts/{account_id}/invites/");
pub(super) const REDEEM: Route = ("POST", "/api/v3/invites/redeem/");

/// Routes with a JSON body.
pub(super) const JSON_ROUTES: [Route; 19] = [
    INVITE,
    REDEEM,
    PROJECT_CREATE,
    PROJECT_UPDATE,
    LICENSE,
    GROUP_CREATE,
    GROUP_UPDATE,
    GROUP_GRANTS,
    ASSIGN,
    CREATE,
    UPDATE,
    UPDATE_PUT,
    GRANTS,
    ROTATE,
    LEAK_REPORT,
    IP_CREATE,
    IP_SWITCH,
    IP_UPDATE,
    IP_UPDATE_POST,
];
/// Routes with a form body.
pub(super) const FORM_ROUTES: [Route; 1] = [INTROSPECT];
/// Routes covered for bad bodies elsewhere (`http_authorize.rs`).
pub(super) const COVERED_ELSEWHERE: [Route; 12] = [
    AUTHORIZE,
    // Forward auth reads headers only; forward_auth.rs and forward_uri.rs cover missing and odd
    // ones.
    ("GET", "/auth/forward"),
    ("POST", "/auth/forward"),
    ("PUT", "/auth/forward"),
    ("PATCH", "/auth/forward"),
    ("DELETE", "/auth/forward"),
    // The same for Envoy (forward_uri.rs covers its paths).
    ("GET", "/auth/forward/{*path}"),
    ("POST", "/auth/forward/{*path}"),
    ("PUT", "/auth/forward/{*path}"),
    ("PATCH", "/auth/forward/{*path}"),
    ("DELETE", "/auth/forward/{*path}"),
    // A PAT's create body: personal_tokens.rs (it needs a password sign-in).
    ("POST", "/api/v3/accounts/{account_id}/personal-tokens/"),
];
/// GET routes that read a query string: the token list and the audit log, and the lists read
/// whole and answered a page at a time (the personal-token list with the fixture's PAT).
pub(super) const QUERY_ROUTES: [Route; 9] = [
    LIST,
    AUDIT,
    ("GET", "/api/v3/accounts/{account_id}/ip-restrictions/"),
    ("GET", "/api/v3/accounts/{account_id}/projects/"),
    ("GET", "/api/v3/accounts/{account_id}/users/"),
    ("GET", "/api/v2/accounts/{account_id}/users/"),
    ("GET", "/api/v3/accounts/{account_id}/groups/"),
    ("GET", "/api/v3/accounts/{account_id}/invites/"),
    ("GET", "/api/v3/accounts/{account_id}/personal-tokens/"),
];
/// Routes that read neither a body nor a query (the `{id}` ones are probed with unknown ids).
pub(super) const NO_INPUT_ROUTES: [Route; 24] = [
    ("GET", "/healthz"),
    ("GET", "/livez"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/v2/whoami/"),
    ("GET", "/api/v2/constants/"),
    ("GET", "/api/v2/accounts/"),
    ("GET", "/api/v3/accounts/"),
    RETRIEVE,
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/",
    ),
    IP_RETRIEVE,
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
    ),
    ("GET", "/api/v3/accounts/{account_id}/users/{user_id}/"),
    ("GET", "/api/v2/accounts/{account_id}/users/{user_id}/"),
    ("DELETE", "/api/v3/accounts/{account_id}/users/{user_id}/"),
    ("GET", "/api/v3/accounts/{account_id}/groups/{id}/"),
    ("DELETE", "/api/v3/accounts/{account_id}/invites/{id}/"),
    // A user's own PATs: called with the fixture's PAT.
    ("GET", "/api/v3/accounts/{account_id}/personal-tokens/{id}/"),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/personal-tokens/{id}/",
    ),
];

pub(super) const JSON: Option<&str> = Some("application/json");
pub(super) const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// A body that the route accepts, so that a case's one defect is the only thing wrong.
pub(super) fn valid_body(route: Route) -> &'static str {
    match route {
        CREATE => r#"{"name": "ok", "permission_grants": [{"permission_set": "job_viewer"}]}"#,
        UPDATE | UPDATE_PUT => r#"{"name": "renamed"}"#,
        GRANTS => r#"[{"permission_set": "job_viewer", "all_projects": true}]"#,
        ROTATE => r#"{"overlap_seconds": 60}"#,
        LEAK_REPORT => r#"{"credentials": ["lksvc_notarealtoken"]}"#,
        INTROSPECT => "token=lksvc_notarealtoken",
        IP_CREATE => r#"{"name": "office", "type": 2, "cidrs": ["198.51.100.0/24"]}"#,
        IP_SWITCH => r#"{"enabled": false}"#,
        IP_UPDATE | IP_UPDATE_POST => r#"{"name": "renamed"}"#,
        PROJECT_CREATE | GROUP_CREATE => r#"{"name": "new"}"#,
        PROJECT_UPDATE | GROUP_UPDATE => r#"{"name": "renamed"}"#,
        LICENSE => r#"{"license_type": "developer"}"#,
        GROUP_GRANTS => r#"[{"permission_set": "job_viewer", "all_projects": true}]"#,
        ASSIGN => r#"{"user_id": 1, "desired_group_ids": []}"#,
        INVITE => r#"{"email": "invitee@example.com", "license_type": "developer"}"#,
        REDEEM => r#"{"code": "lkinv_notarealcode", "password": "a long enough password"}"#,
        _ => unreachable!("no body for {route:?}"),
    }
}

#[test]
fn every_route_in_the_table_is_classified_here_by_the_input_it_reads() {
    let known: Vec<Route> = JSON_ROUTES
        .iter()
        .chain(&FORM_ROUTES)
        .chain(&COVERED_ELSEWHERE)
        .chain(&QUERY_ROUTES)
        .chain(&NO_INPUT_ROUTES)
        .copied()
        .collect();
    let rows = api_table();
    for Row { spec, .. } in &rows {
        let row = (spec.method.as_str(), spec.path);
        assert_eq!(
            known.iter().filter(|r| **r == row).count(),
            1,
            "{} {}: a route this suite does not know; add it to one of the lists \
             (and give it bad-input cases if it reads a body or a query)",
            row.0,
            row.1
        );
    }
    assert_eq!(rows.len(), known.len(), "a listed route left the table");
}
