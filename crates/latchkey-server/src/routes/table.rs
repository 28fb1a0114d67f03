//! The one route table: every route, what it requires, what it reads and answers, and its
//! handler. The router ([`build`]), the guard ([`crate::routes::guard`]) and the OpenAPI
//! document ([`crate::openapi`]) are all made from these rows and nothing else, so no route can
//! exist without an entry, no handler checks a permission by itself, and the document cannot
//! drift from what is served.

use crate::envelope::PageQuery;
use crate::routes::guard::{guard, RowGuard};
use crate::routes::row::{delete, get, patch, post, put};
pub use crate::routes::row::{Row, Unanswered};
pub use crate::routes::spec::{Lane, Requirement, RouteSpec};
use crate::routes::{
    audit, authorize, credentials, forward, groups, health, identity, introspect, invites,
    ip_restrictions, metrics, personal_tokens, projects, service_tokens, users,
};
pub use crate::sign_in::SignedIn;
use crate::state::AppState;
use axum::routing::MethodRouter;
use axum::Router;
use latchkey_core::permissions as p;
use latchkey_wire as wire;

use Requirement::{Authenticated, OnProject, Permission as Needs, Public, User};

/// The five methods forward auth answers on `path` (GET and POST first).
fn forward_rows(path: &'static str) -> [Row; 5] {
    [
        get(path, Authenticated, forward::forward).headers(),
        post(path, Authenticated, forward::forward).headers(),
        put(path, Authenticated, forward::forward).headers(),
        patch(path, Authenticated, forward::forward).headers(),
        delete(path, Authenticated, forward::forward).headers(),
    ]
}

/// The rows of the HTTP API: every row but the web console's, which [`console_table`] holds.
pub fn api_table() -> Vec<Row> {
    table().into_iter().filter(Row::in_document).collect()
}

/// The rows of the web console: its pages and assets, refused with pages and redirects.
pub fn console_table() -> Vec<Row> {
    table()
        .into_iter()
        .filter(|row| !row.in_document())
        .collect()
}

/// Every route. Add a row here to add a route.
pub fn table() -> Vec<Row> {
    const TOKENS: &str = "/api/v3/accounts/{account_id}/service-tokens/";
    const TOKEN: &str = "/api/v3/accounts/{account_id}/service-tokens/{id}/";
    const TOKEN_GRANTS: &str = "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/";
    const PATS: &str = "/api/v3/accounts/{account_id}/personal-tokens/";
    const PAT: &str = "/api/v3/accounts/{account_id}/personal-tokens/{id}/";
    const PROJECTS: &str = "/api/v3/accounts/{account_id}/projects/";
    const PROJECT: &str = "/api/v3/accounts/{account_id}/projects/{project_id}/";
    const GROUPS: &str = "/api/v3/accounts/{account_id}/groups/";
    const GROUP: &str = "/api/v3/accounts/{account_id}/groups/{id}/";
    const INVITES: &str = "/api/v3/accounts/{account_id}/invites/";
    const RULES: &str = "/api/v3/accounts/{account_id}/ip-restrictions/";
    const RULE_SET: &str = "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/";
    const RULE: &str = "/api/v3/accounts/{account_id}/ip-restrictions/{id}/";
    let mut rows = vec![
        get("/healthz", Public, health::healthz)
            .json::<health::Health>()
            .in_lane(Lane::Probe),
        get("/livez", Public, health::livez)
            .json::<health::Health>()
            .in_lane(Lane::Probe),
        get("/readyz", Public, health::readyz).json::<health::Readiness>(),
        get("/metrics", Public, metrics::metrics).metrics(),
        get("/api/openapi.json", Public, crate::openapi::openapi_json).json_document(),
        post("/api/v1/authorize", Authenticated, authorize::authorize)
            .body::<authorize::AuthorizeRequest>()
            .json::<authorize::AuthorizeAnswer>()
            .in_lane(Lane::Authorize),
        post("/api/v1/credentials/revoke", Public, credentials::revoke)
            .body::<credentials::ReportBody>()
            .accepted::<wire::ReportReceiptView>(),
        post(
            "/oauth/introspect",
            Needs(p::SERVICE_TOKENS_READ),
            introspect::introspect,
        )
        .form::<introspect::IntrospectForm>()
        .json::<introspect::Introspection>(),
        get("/api/v2/whoami/", Authenticated, identity::whoami).ok::<identity::WhoAmIView>(),
        get("/api/v2/constants/", Authenticated, identity::constants).ok::<wire::ConstantsView>(),
        get("/api/v2/accounts/", Authenticated, identity::accounts).page::<wire::AccountView>(),
        get("/api/v3/accounts/", Authenticated, identity::accounts).page::<wire::AccountView>(),
        // Service tokens.
        get(TOKENS, Needs(p::SERVICE_TOKENS_READ), service_tokens::list)
            .query::<service_tokens::ListQuery>()
            .page::<wire::ServiceTokenView>(),
        post(
            TOKENS,
            Needs(p::SERVICE_TOKENS_WRITE),
            service_tokens::create,
        )
        .body::<service_tokens::CreateBody>()
        .created::<wire::ServiceTokenView>(),
        get(
            TOKEN,
            Needs(p::SERVICE_TOKENS_READ),
            service_tokens::retrieve,
        )
        .ok::<wire::ServiceTokenView>(),
        delete(
            TOKEN,
            Needs(p::SERVICE_TOKENS_WRITE),
            service_tokens::delete,
        )
        .ok::<wire::ServiceTokenView>(),
        post(
            TOKEN,
            Needs(p::SERVICE_TOKENS_WRITE),
            service_tokens::update,
        )
        .body::<service_tokens::UpdateBody>()
        .ok::<wire::ServiceTokenView>(),
        put(
            TOKEN,
            Needs(p::SERVICE_TOKENS_WRITE),
            service_tokens::update,
        )
        .body::<service_tokens::UpdateBody>()
        .ok::<wire::ServiceTokenView>(),
        get(
            TOKEN_GRANTS,
            Needs(p::SERVICE_TOKENS_READ),
            service_tokens::grants,
        )
        .page::<wire::GrantView>(),
        post(
            TOKEN_GRANTS,
            Needs(p::SERVICE_TOKENS_WRITE),
            service_tokens::replace_grants,
        )
        .body_list::<service_tokens::GrantBody>()
        .page::<wire::GrantView>(),
        post(
            "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/",
            Needs(p::SERVICE_TOKENS_WRITE),
            service_tokens::rotate,
        )
        .body::<service_tokens::RotateBody>()
        .created::<wire::ServiceTokenView>(),
        // Personal access tokens.
        get(PATS, User, personal_tokens::list)
            .query::<PageQuery>()
            .page::<wire::PersonalTokenView>(),
        post(PATS, User, personal_tokens::create)
            .password_only()
            .body::<personal_tokens::CreateBody>()
            .created::<wire::PersonalTokenView>(),
        get(PAT, User, personal_tokens::retrieve).ok::<wire::PersonalTokenView>(),
        delete(PAT, User, personal_tokens::delete).ok::<wire::PersonalTokenView>(),
        // Projects.
        get(PROJECTS, Needs(p::PROJECTS_READ), projects::list)
            .query::<PageQuery>()
            .page::<wire::ProjectView>(),
        post(PROJECTS, Needs(p::PROJECT_CREATE_WRITE), projects::create)
            .body::<projects::CreateBody>()
            .created::<wire::ProjectView>(),
        get(PROJECT, OnProject(p::PROJECTS_READ), projects::retrieve).ok::<wire::ProjectView>(),
        post(PROJECT, OnProject(p::PROJECTS_WRITE), projects::update)
            .body::<projects::UpdateBody>()
            .ok::<wire::ProjectView>(),
        delete(PROJECT, OnProject(p::PROJECTS_WRITE), projects::delete).ok::<wire::ProjectView>(),
        // Users and their licenses.
        get(
            "/api/v3/accounts/{account_id}/users/",
            Needs(p::MEMBERS_READ),
            users::list,
        )
        .query::<users::UserQuery>()
        .page::<wire::MemberView>(),
        get(
            "/api/v2/accounts/{account_id}/users/",
            Needs(p::MEMBERS_READ),
            users::list,
        )
        .query::<users::UserQuery>()
        .page::<wire::MemberView>(),
        get(
            "/api/v3/accounts/{account_id}/users/{user_id}/",
            Needs(p::MEMBERS_READ),
            users::retrieve,
        )
        .ok::<wire::MemberView>(),
        get(
            "/api/v2/accounts/{account_id}/users/{user_id}/",
            Needs(p::MEMBERS_READ),
            users::retrieve,
        )
        .ok::<wire::MemberView>(),
        delete(
            "/api/v3/accounts/{account_id}/users/{user_id}/",
            Needs(p::MEMBERS_WRITE),
            users::remove,
        )
        .ok::<wire::MemberView>(),
        post(
            "/api/v3/accounts/{account_id}/users/{user_id}/license/",
            Needs(p::LICENSES_WRITE),
            users::set_license,
        )
        .body::<users::LicenseBody>()
        .ok::<wire::MemberView>(),
        // Groups.
        get(GROUPS, Needs(p::GROUPS_READ), groups::list)
            .query::<groups::GroupQuery>()
            .page::<wire::GroupView>(),
        post(GROUPS, Needs(p::GROUPS_WRITE), groups::create)
            .body::<groups::CreateBody>()
            .created::<wire::GroupView>(),
        get(GROUP, Needs(p::GROUPS_READ), groups::retrieve).ok::<wire::GroupView>(),
        post(GROUP, Needs(p::GROUPS_WRITE), groups::update)
            .body::<groups::UpdateBody>()
            .ok::<wire::GroupView>(),
        post(
            "/api/v3/accounts/{account_id}/group-permissions/{id}/",
            Needs(p::GROUPS_WRITE),
            groups::replace_permissions,
        )
        .body_list::<service_tokens::GrantBody>()
        .ok::<wire::GroupView>(),
        post(
            "/api/v3/accounts/{account_id}/assign-groups/",
            Needs(p::GROUPS_WRITE),
            groups::assign,
        )
        .body::<groups::AssignBody>()
        .ok::<wire::MemberView>(),
        // Invitations.
        get(INVITES, Needs(p::INVITATIONS_READ), invites::list)
            .query::<PageQuery>()
            .page::<wire::InviteView>(),
        post(INVITES, Needs(p::INVITATIONS_WRITE), invites::create)
            .body::<invites::CreateBody>()
            .created::<wire::InviteView>(),
        delete(
            "/api/v3/accounts/{account_id}/invites/{id}/",
            Needs(p::INVITATIONS_WRITE),
            invites::delete,
        )
        .ok::<wire::InviteView>(),
        post("/api/v3/invites/redeem/", Public, invites::redeem)
            .body::<invites::RedeemBody>()
            .created::<wire::RedemptionView>(),
        // The audit log.
        get(
            "/api/v3/accounts/{account_id}/audit-logs/",
            Needs(p::AUDIT_LOGS_READ),
            audit::list,
        )
        .query::<audit::ListQuery>()
        .page_or_csv::<wire::AuditEntryView>(),
        // IP restrictions.
        get(RULES, Needs(p::IP_RESTRICTIONS_READ), ip_restrictions::list)
            .query::<PageQuery>()
            .page::<wire::IpRuleView>(),
        post(
            RULES,
            Needs(p::IP_RESTRICTIONS_WRITE),
            ip_restrictions::create,
        )
        .body_with(ip_restrictions::create_body_schema)
        .created::<wire::IpRuleView>(),
        get(
            RULE_SET,
            Needs(p::IP_RESTRICTIONS_READ),
            ip_restrictions::rule_set,
        )
        .ok::<wire::IpRuleSetView>(),
        put(
            RULE_SET,
            Needs(p::IP_RESTRICTIONS_WRITE),
            ip_restrictions::set_rule_set,
        )
        .body::<ip_restrictions::SwitchBody>()
        .ok::<wire::IpRuleSetView>(),
        get(
            RULE,
            Needs(p::IP_RESTRICTIONS_READ),
            ip_restrictions::retrieve,
        )
        .ok::<wire::IpRuleView>(),
        put(
            RULE,
            Needs(p::IP_RESTRICTIONS_WRITE),
            ip_restrictions::update,
        )
        .body::<ip_restrictions::RuleBody>()
        .ok::<wire::IpRuleView>(),
        post(
            RULE,
            Needs(p::IP_RESTRICTIONS_WRITE),
            ip_restrictions::update,
        )
        .body::<ip_restrictions::RuleBody>()
        .ok::<wire::IpRuleView>(),
        delete(
            RULE,
            Needs(p::IP_RESTRICTIONS_WRITE),
            ip_restrictions::delete,
        )
        .ok::<wire::IpRuleView>(),
    ];
    rows.extend(crate::console::rows::rows());
    // nginx `auth_request` and Traefik call `/auth/forward` (the lane takes their GET and POST);
    // Envoy's ext_authz appends the original path to its `path_prefix` (`/auth/forward`).
    let [get_forward, post_forward, others @ ..] = forward_rows("/auth/forward");
    let forward = [
        get_forward.in_lane(Lane::Forward),
        post_forward.in_lane(Lane::Forward),
    ]
    .into_iter()
    .chain(others)
    .chain(forward_rows("/auth/forward/{*path}"));
    rows.splice(7..7, forward);
    rows
}

/// Rows served only on the operator's listener (`latchkey serve --metrics-listen`), and on no
/// API listener: they tell of the whole node, every account's activity at once, which is the
/// operator's business and no tenant's (see [`crate::routes::metrics`]). Elsewhere they are 404.
pub const OPERATOR_ONLY: &[&str] = &["/metrics"];

/// The API listeners' router: every row but [`OPERATOR_ONLY`], each behind the guard for its
/// own row.
pub fn build(state: AppState) -> Router {
    let mut router = build_rows(state, |spec| !OPERATOR_ONLY.contains(&spec.path));
    // Their paths still exist here as the document says: GET answers 404 and any other method
    // 405, like every other path, instead of a 404 for every method.
    for path in OPERATOR_ONLY {
        router = router.route(
            path,
            axum::routing::get(|| async { crate::error::ApiError::NotFound }),
        );
    }
    router
}

/// The operator listener's router: the [`OPERATOR_ONLY`] rows alone.
pub fn build_operator(state: AppState) -> Router {
    build_rows(state, |spec| OPERATOR_ONLY.contains(&spec.path))
}

/// A router of the rows `keep` keeps, each behind the guard for its own row.
fn build_rows(state: AppState, keep: impl Fn(&RouteSpec) -> bool) -> Router {
    let mut router = Router::new();
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for Row { spec, handler } in table().into_iter().filter(|row| keep(&row.spec)) {
        let path = spec.path;
        let guarded = handler.route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), RowGuard::of(&spec)),
            guard,
        ));
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(guarded),
            None => by_path.push((path, guarded)),
        }
    }
    for (path, handler) in by_path {
        // dbt Cloud's clients call paths with and without the trailing slash: both reach the
        // one row (and its one guard).
        if let Some(bare) = path.strip_suffix('/').filter(|p| !p.is_empty()) {
            router = router.route(bare, handler.clone());
        }
        router = router.route(path, handler);
    }
    router.with_state(state)
}
