//! The OpenAPI 3.1 document, served at `GET /api/openapi.json` and committed as `openapi.json` at
//! the repository root.
//!
//! It is generated from the route table ([`crate::routes::table::table`]) and nothing else, so no
//! route can be missing from it: one operation per row, with the row's method and path (axum's
//! `{param}` syntax is OpenAPI's), its path parameters, a tag taken from the path, the row's
//! requirement (in the description, in `x-latchkey-permission`, and as `security`: none for public
//! rows, `Authorization: Token <token>` or `Bearer <token>` for the rest, and also HTTP Basic for
//! rows that act for a user), the success answer, and
//! dbt Cloud's error envelope for the failures the guard and the extractors produce.
//!
//! Request bodies and query strings are the handlers' own types: [`BODIES`] names, per row, the
//! type its handler reads (it derives `ToSchema`; its schema and those it refers to go into
//! `components.schemas`), and [`QUERIES`] the query type (it derives `IntoParams`). The tests
//! hold every row that reads a body to an entry there.
//!
//! Answers are described the same way: [`RESPONSES`] names, per row, the type its handler sends
//! (in the envelope's `data`, as the items of a page, or as the whole plain-JSON body); those are
//! the wire types of [`crate::wire`] and the handlers' own answer types, which derive both
//! `Serialize` and `ToSchema`, so one type makes both the bytes and the schema.

use crate::app::AppState;
use crate::config::ForwardAuthHeaders;
use crate::envelope::PageQuery;
use crate::routes::table::{table, Requirement, RouteSpec};
use crate::routes::{
    audit, authorize, credentials, groups, health, identity, introspect, invites, ip_restrictions,
    personal_tokens, projects, service_tokens, users,
};
use crate::wire;
use axum::extract::State;
use axum::http::{header, Method};
use axum::response::IntoResponse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ComponentsBuilder, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, KnownFormat, LicenseBuilder, OpenApi, OpenApiBuilder,
    PathsBuilder, Ref, RefOr, Required, ResponseBuilder, Schema,
};
use utoipa::{IntoParams, ToSchema};

/// The `status` object of every answer, success or error.
#[derive(ToSchema)]
pub struct Status {
    /// The HTTP status code, repeated.
    pub code: u16,
    /// True for 2xx answers.
    pub is_success: bool,
    /// A message for people (`"Success!"` on success).
    pub user_message: String,
    /// Detail for developers: `""` on success, the validation message on a 400, else null.
    #[schema(required = true)]
    pub developer_message: Option<String>,
}

/// dbt Cloud's error envelope: every 4xx and 5xx answer of the API.
#[derive(ToSchema)]
pub struct ErrorEnvelope {
    /// Null; on a 400 `{"field": <the offending field or null>}`; on a 403 for an address the
    /// account's IP rules or the token's allowlist fence out `{"account_id", "user_id",
    /// "is_service_token", "account_access_denied"}`.
    pub data: serde_json::Value,
    /// `code` equals the HTTP status and `is_success` is false.
    pub status: Status,
}

/// dbt Cloud's success envelope.
#[derive(ToSchema)]
pub struct Envelope {
    /// The answer: an object, or an array for a list.
    pub data: serde_json::Value,
    /// `code` equals the HTTP status and `is_success` is true.
    pub status: Status,
}

/// The paging counters of a list answer, as dbt Cloud sends them.
#[derive(ToSchema)]
pub struct Pagination {
    /// Items skipped.
    pub offset: i64,
    /// Page size asked for.
    pub limit: i64,
    /// Items on this page.
    pub count: i64,
    /// Items in the whole list; keep paging while `offset + count < total_count`.
    pub total_count: i64,
}

/// The filters a list answer applied.
#[derive(ToSchema)]
pub struct Filters {
    /// Items skipped.
    pub offset: i64,
    /// Page size.
    pub limit: i64,
}

/// `extra` of a list answer.
#[derive(ToSchema)]
pub struct PageExtra {
    /// Paging counters.
    pub pagination: Pagination,
    /// The applied filters.
    pub filters: Filters,
}

/// The success envelope of a list: `data` is an array and `extra.pagination` counts it.
#[derive(ToSchema)]
pub struct PageEnvelope {
    /// One page of the list.
    pub data: Vec<serde_json::Value>,
    /// `code` is 200 and `is_success` is true.
    pub status: Status,
    /// Paging counters and filters.
    pub extra: PageExtra,
}

/// What a successful call of a route answers.
#[derive(Clone, Copy)]
enum Success {
    /// The success envelope with this status.
    Envelope(u16),
    /// A page of a list in the success envelope.
    Page,
    /// A page of a list, or with `?format=csv` the whole selection as CSV.
    PageOrCsv,
    /// Plain JSON, not enveloped.
    Json,
    /// No body: the answer is the status and the `X-Latchkey-*` headers.
    Headers,
}

/// Routes whose success answer the rules in [`success`] do not describe.
const SUCCESS: &[(&str, &str, Success)] = &[
    ("POST", "/api/v1/credentials/revoke", Success::Envelope(202)),
    ("GET", "/api/v2/accounts/", Success::Page),
    ("GET", "/api/v3/accounts/", Success::Page),
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
        Success::Page,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
        Success::Page,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/",
        Success::Envelope(201),
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/audit-logs/",
        Success::PageOrCsv,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/assign-groups/",
        Success::Envelope(200),
    ),
    ("POST", "/api/v3/invites/redeem/", Success::Envelope(201)),
];

/// True for an account's collection, `/api/vN/accounts/{account_id}/<things>/`.
fn is_collection(path: &str) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(
        segments[..],
        ["api", version, "accounts", "{account_id}", things]
            if version.starts_with('v') && !things.starts_with('{')
    )
}

/// The success answer of a row: listed in [`SUCCESS`]; else on an account's collection a page
/// (GET) or the envelope with 201 (POST, create); else the envelope with 200 on the Admin API
/// (`/api/v2/`, `/api/v3/`), no body on forward auth (`/auth/`), and plain JSON elsewhere.
fn success(spec: &RouteSpec) -> Success {
    let method = &spec.method;
    if let Some((_, _, s)) = SUCCESS
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == spec.path)
    {
        *s
    } else if is_collection(spec.path) && *method == Method::GET {
        Success::Page
    } else if is_collection(spec.path) && *method == Method::POST {
        Success::Envelope(201)
    } else if spec.path.starts_with("/api/v2/") || spec.path.starts_with("/api/v3/") {
        Success::Envelope(200)
    } else if spec.path.starts_with("/auth/") {
        Success::Headers
    } else {
        Success::Json
    }
}

/// The schema of a request body, from the type its handler reads.
pub struct BodySchema {
    /// The type's name in `components.schemas`.
    pub name: String,
    /// The type's schema and those it refers to, by name.
    pub schemas: Vec<(String, RefOr<Schema>)>,
    /// True when the body is a JSON array of the type, not one of it.
    pub list: bool,
    /// `application/json`, or a form.
    pub content_type: &'static str,
}

/// The body is one `T`, a JSON object.
fn one<T: ToSchema>() -> BodySchema {
    let name = T::name().into_owned();
    let mut schemas = vec![(name.clone(), T::schema())];
    T::schemas(&mut schemas);
    BodySchema {
        name,
        schemas,
        list: false,
        content_type: "application/json",
    }
}

/// The body is one `T`, as `application/x-www-form-urlencoded`.
fn form<T: ToSchema>() -> BodySchema {
    BodySchema {
        content_type: "application/x-www-form-urlencoded",
        ..one::<T>()
    }
}

/// The body is a JSON array of `T`.
fn list<T: ToSchema>() -> BodySchema {
    BodySchema {
        list: true,
        ..one::<T>()
    }
}

/// The body of `POST …/ip-restrictions/`: the rule's type, with `name`, `type` and `cidrs`
/// required (an update takes any of them).
fn rule_create() -> BodySchema {
    let mut body = one::<ip_restrictions::RuleBody>();
    let own = body.schemas.iter().find(|(name, _)| *name == body.name);
    if let Some((_, RefOr::T(Schema::Object(object)))) = own {
        let mut object = object.clone();
        object.required = vec!["cidrs".into(), "name".into(), "type".into()];
        object.description = Some("A new rule: `name`, `type` and `cidrs` are required.".into());
        body.name = "IpRestrictionRuleCreate".into();
        body.schemas.push((body.name.clone(), object.into()));
    }
    body
}

/// An entry of [`BODIES`]: method, path, and the schema of the body.
pub type BodyRow = (&'static str, &'static str, fn() -> BodySchema);

/// The body each row that reads one takes: (method, path, the handler's body type). Forward
/// auth (`/auth/forward`) reads the proxied request's headers, never a body.
pub const BODIES: &[BodyRow] = &[
    (
        "POST",
        "/api/v1/authorize",
        one::<authorize::AuthorizeRequest>,
    ),
    (
        "POST",
        "/api/v1/credentials/revoke",
        one::<credentials::ReportBody>,
    ),
    (
        "POST",
        "/oauth/introspect",
        form::<introspect::IntrospectForm>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/",
        one::<service_tokens::CreateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
        one::<service_tokens::UpdateBody>,
    ),
    (
        "PUT",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
        one::<service_tokens::UpdateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
        list::<service_tokens::GrantBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/",
        one::<service_tokens::RotateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/personal-tokens/",
        one::<personal_tokens::CreateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/projects/",
        one::<projects::CreateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
        one::<projects::UpdateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/users/{user_id}/license/",
        one::<users::LicenseBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/groups/",
        one::<groups::CreateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/groups/{id}/",
        one::<groups::UpdateBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/group-permissions/{id}/",
        list::<service_tokens::GrantBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/assign-groups/",
        one::<groups::AssignBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/invites/",
        one::<invites::CreateBody>,
    ),
    (
        "POST",
        "/api/v3/invites/redeem/",
        one::<invites::RedeemBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/ip-restrictions/",
        rule_create,
    ),
    (
        "PUT",
        "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/",
        one::<ip_restrictions::SwitchBody>,
    ),
    (
        "PUT",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
        one::<ip_restrictions::RuleBody>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
        one::<ip_restrictions::RuleBody>,
    ),
];

/// The query parameters of `T`, a handler's query type.
fn query<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// An entry of [`QUERIES`]: method, path, and the query parameters.
pub type QueryRow = (&'static str, &'static str, fn() -> Vec<Parameter>);

/// The query string each row that reads one takes: (method, path, the handler's query type).
pub const QUERIES: &[QueryRow] = &[
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/",
        query::<service_tokens::ListQuery>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/audit-logs/",
        query::<audit::ListQuery>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/users/",
        query::<users::UserQuery>,
    ),
    (
        "GET",
        "/api/v2/accounts/{account_id}/users/",
        query::<users::UserQuery>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/groups/",
        query::<groups::GroupQuery>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/projects/",
        query::<PageQuery>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/invites/",
        query::<PageQuery>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/ip-restrictions/",
        query::<PageQuery>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/personal-tokens/",
        query::<PageQuery>,
    ),
];

/// The type each row answers with: (method, path, the type). For an enveloped answer it is the
/// type of `data`, for a page the type of its items, and for plain JSON the whole body.
/// `GET /api/openapi.json` (this document) and forward auth (no body) have none.
pub const RESPONSES: &[BodyRow] = &[
    (
        "POST",
        "/api/v1/authorize",
        one::<authorize::AuthorizeAnswer>,
    ),
    (
        "POST",
        "/oauth/introspect",
        one::<introspect::Introspection>,
    ),
    ("GET", "/healthz", one::<health::Health>),
    ("GET", "/livez", one::<health::Health>),
    (
        "POST",
        "/api/v1/credentials/revoke",
        one::<wire::ReportReceiptView>,
    ),
    ("GET", "/api/v2/whoami/", one::<identity::WhoAmIView>),
    ("GET", "/api/v2/constants/", one::<wire::ConstantsView>),
    ("GET", "/api/v2/accounts/", one::<wire::AccountView>),
    ("GET", "/api/v3/accounts/", one::<wire::AccountView>),
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/",
        one::<wire::ServiceTokenView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/",
        one::<wire::ServiceTokenView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
        one::<wire::ServiceTokenView>,
    ),
    (
        "PUT",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
        one::<wire::ServiceTokenView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
        one::<wire::ServiceTokenView>,
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/",
        one::<wire::ServiceTokenView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
        one::<wire::GrantView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/permissions/",
        one::<wire::GrantView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/service-tokens/{id}/rotate/",
        one::<wire::ServiceTokenView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/personal-tokens/",
        one::<wire::PersonalTokenView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/personal-tokens/",
        one::<wire::PersonalTokenView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/personal-tokens/{id}/",
        one::<wire::PersonalTokenView>,
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/personal-tokens/{id}/",
        one::<wire::PersonalTokenView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/projects/",
        one::<wire::ProjectView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/projects/",
        one::<wire::ProjectView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
        one::<wire::ProjectView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
        one::<wire::ProjectView>,
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/projects/{project_id}/",
        one::<wire::ProjectView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/users/",
        one::<wire::MemberView>,
    ),
    (
        "GET",
        "/api/v2/accounts/{account_id}/users/",
        one::<wire::MemberView>,
    ),
    (
        "GET",
        "/api/v2/accounts/{account_id}/users/{user_id}/",
        one::<wire::MemberView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/users/{user_id}/",
        one::<wire::MemberView>,
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/users/{user_id}/",
        one::<wire::MemberView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/users/{user_id}/license/",
        one::<wire::MemberView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/assign-groups/",
        one::<wire::MemberView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/groups/",
        one::<wire::GroupView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/groups/",
        one::<wire::GroupView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/groups/{id}/",
        one::<wire::GroupView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/groups/{id}/",
        one::<wire::GroupView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/group-permissions/{id}/",
        one::<wire::GroupView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/invites/",
        one::<wire::InviteView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/invites/",
        one::<wire::InviteView>,
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/invites/{id}/",
        one::<wire::InviteView>,
    ),
    (
        "POST",
        "/api/v3/invites/redeem/",
        one::<wire::RedemptionView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/ip-restrictions/",
        one::<wire::IpRuleView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/ip-restrictions/",
        one::<wire::IpRuleView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
        one::<wire::IpRuleView>,
    ),
    (
        "PUT",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
        one::<wire::IpRuleView>,
    ),
    (
        "POST",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
        one::<wire::IpRuleView>,
    ),
    (
        "DELETE",
        "/api/v3/accounts/{account_id}/ip-restrictions/{id}/",
        one::<wire::IpRuleView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/",
        one::<wire::IpRuleSetView>,
    ),
    (
        "PUT",
        "/api/v3/accounts/{account_id}/ip-restrictions/rule-set/",
        one::<wire::IpRuleSetView>,
    ),
    (
        "GET",
        "/api/v3/accounts/{account_id}/audit-logs/",
        one::<wire::AuditEntryView>,
    ),
];

/// The entry of `entries` for a row, if any.
fn entry_for<T: Copy>(entries: &[(&str, &str, T)], spec: &RouteSpec) -> Option<T> {
    entries
        .iter()
        .find(|(m, p, _)| *m == spec.method.as_str() && *p == spec.path)
        .map(|(_, _, f)| *f)
}

/// The request body of a row: its content type and schema (a reference into `components`).
fn request_body(spec: &RouteSpec) -> Option<utoipa::openapi::request_body::RequestBody> {
    let body = entry_for(BODIES, spec)?();
    let schema: RefOr<Schema> = if body.list {
        ArrayBuilder::new().items(schema_ref(&body.name)).into()
    } else {
        schema_ref(&body.name)
    };
    Some(
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .description(
                body.list
                    .then_some("The full list: it replaces the current one (`[]` empties it)."),
            )
            .content(
                body.content_type,
                ContentBuilder::new().schema(Some(schema)).build(),
            )
            .build(),
    )
}

/// The value of `x-latchkey-permission`: the permission (`resource:access`, on the account or on
/// the project in the path), `authenticated`, `user` or `public`.
fn permission_label(requirement: &Requirement) -> String {
    if let Requirement::Permission(permission) | Requirement::OnProject(permission) = requirement {
        (*permission).to_owned()
    } else if *requirement == Requirement::Public {
        "public".to_owned()
    } else if *requirement == Requirement::Authenticated {
        "authenticated".to_owned()
    } else if *requirement == Requirement::User {
        "user".to_owned()
    } else {
        // A requirement this module does not know yet: named by its variant, in snake case.
        snake(&format!("{requirement:?}"))
    }
}

/// `SomeName(x)` → `some_name(x)`, for requirements documented generically.
fn snake(debug: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with(['(', '"', ' ']) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The sentence of an operation's description that states its requirement.
fn requirement_text(requirement: &Requirement) -> String {
    if let Requirement::Permission(permission) = requirement {
        format!(
            "Requires a working token holding `{permission}` on the account in the path \
             (`Authorization: Token <token>` or `Bearer <token>`). Without the permission the \
             answer is 403 naming it; another account's resources answer 404."
        )
    } else if let Requirement::OnProject(permission) = requirement {
        format!(
            "Requires a working token holding `{permission}` on the project in the path \
             (`Authorization: Token <token>` or `Bearer <token>`). Without the permission the \
             answer is 403 naming it; another account's projects answer 404."
        )
    } else if *requirement == Requirement::Public {
        "Public: no token needed.".to_owned()
    } else if *requirement == Requirement::Authenticated {
        "Requires any working token (`Authorization: Token <token>` or `Bearer <token>`); no \
         permission is checked by the route itself."
            .to_owned()
    } else if *requirement == Requirement::User {
        "Acts for a user in the account in the path: their personal access token \
         (`Authorization: Token <token>` or `Bearer <token>`), or their e-mail and password \
         (HTTP Basic). Users see and change only their own things; another account answers 404."
            .to_owned()
    } else {
        format!(
            "Requires a working token (`Authorization: Token <token>` or `Bearer <token>`) \
             and `{}`.",
            permission_label(requirement)
        )
    }
}

/// The OpenAPI method of an HTTP method (`None` for one OpenAPI has no field for).
fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        Method::TRACE => HttpMethod::Trace,
        _ => return None,
    })
}

/// `get_api_v3_accounts_account_id_service_tokens_id` from `GET` and its path.
pub fn operation_id(method: &Method, path: &str) -> String {
    let mut id = method.as_str().to_ascii_lowercase();
    for word in path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        id.push('_');
        id.push_str(&word.to_ascii_lowercase());
    }
    id
}

/// The tag of a path: its first segment after `/api`, the version and `accounts/{account_id}`,
/// with identity and health routes grouped.
pub fn tag(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut rest = &segments[..];
    if rest.first() == Some(&"api") {
        rest = &rest[1..];
    }
    if rest.first().is_some_and(|s| {
        s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
    }) {
        rest = &rest[1..];
    }
    if rest.len() > 1 && rest[0] == "accounts" && rest[1].starts_with('{') {
        rest = &rest[2..];
    }
    match rest.first().copied().unwrap_or("root") {
        "healthz" | "livez" => "health".to_owned(),
        "whoami" | "constants" | "accounts" => "identity".to_owned(),
        "group-permissions" | "assign-groups" => "groups".to_owned(),
        "auth" => "forward-auth".to_owned(),
        "openapi.json" => "openapi".to_owned(),
        other => other.trim_end_matches(".json").to_owned(),
    }
}

/// The description of a tag, when this module knows it.
fn tag_description(tag: &str) -> Option<&'static str> {
    Some(match tag {
        "health" => "Readiness (`/healthz`, touches the database) and liveness (`/livez`).",
        "openapi" => "This document.",
        "authorize" => "Decisions: may the presented token do this?",
        "credentials" => "Reports of leaked tokens, which are revoked.",
        "forward-auth" => {
            "nginx `auth_request`, Traefik ForwardAuth and Envoy `ext_authz` (HTTP service, \
             `path_prefix: /auth/forward`). The original request is read only from where the \
             proxy named by `--forward-auth-headers` puts it (nginx: `X-Original-Method` and \
             `X-Original-URI`; Traefik: `X-Forwarded-Method` and `X-Forwarded-Uri`; Envoy: the \
             method and the path after `/auth/forward`); a missing or repeated header is a 400, \
             an original request upstreams could read differently a 403, and with no proxy \
             named the answer is 501."
        }
        "oauth" => "RFC 7662 token introspection for gateways.",
        "identity" => "The caller, the catalog's constants, and the caller's accounts.",
        "service-tokens" => "Service tokens and their permission grants, dbt Cloud v3 style.",
        "audit-logs" => "The account's audit log.",
        "ip-restrictions" => "The account's IP allow and block rules.",
        "personal-tokens" => "A user's own personal access tokens.",
        "projects" => "The account's projects.",
        "users" => "The account's members and their licenses.",
        "groups" => "Groups, their permissions, and who is in them.",
        _ => return None,
    })
}

/// A path parameter: integers (1 or more) for `id` and `*_id`, strings otherwise.
fn path_parameter(name: &str) -> utoipa::openapi::path::Parameter {
    let integer = name == "id" || name.ends_with("_id");
    let schema = if integer {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
    } else {
        ObjectBuilder::new().schema_type(Type::String)
    };
    let description = match name {
        "path" => "Envoy `ext_authz`: the original request's path and query, which Envoy appends \
                   to its `path_prefix` (answers only with `--forward-auth-headers envoy`)."
            .to_owned(),
        "account_id" => {
            "The account; it must be the caller's own (another account's answer 404).".to_owned()
        }
        "id" => "The object's id.".to_owned(),
        other => match other.strip_suffix("_id") {
            Some(thing) => format!("The {}'s id.", thing.replace('_', " ")),
            None => format!("`{other}`."),
        },
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// The names of a path's `{param}`s, in order (a catch-all `{*rest}` is named `rest`).
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|s| {
            s.split_once('}')
                .map(|(name, _)| name.trim_start_matches('*'))
        })
        .collect()
}

/// A row's path as OpenAPI spells it: axum's catch-all `{*rest}` is `{rest}`.
pub fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// A reference to a schema in `components`.
fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

/// The shared error responses: (status, component name, description).
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "Bad input; `data.field` names the offending field when there is one and \
         `status.developer_message` says what was expected.",
    ),
    (
        "401",
        "Unauthenticated",
        "No working token: missing, malformed, unknown, revoked and expired alike (one body).",
    ),
    (
        "403",
        "Forbidden",
        "The token lacks the permission (the message names it), or the caller's address is \
         fenced out by the account's IP rules or the token's allowlist.",
    ),
    (
        "404",
        "NotFound",
        "Nothing here; also the answer for another account's resources.",
    ),
    (
        "409",
        "Conflict",
        "The request conflicts with the current state.",
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the limit (64 KiB).",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body does not have the expected Content-Type.",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many requests (failed authentications from one address, an account's Admin API \
         budget, or leak reports), or every password check busy; retry after `Retry-After` \
         seconds.",
    ),
    (
        "501",
        "NotEnabled",
        "Forward auth is off: the server was started without `--forward-auth-headers`.",
    ),
    (
        "503",
        "ServiceUnavailable",
        "A service the request needs failed (an invitation's delivery program); nothing was kept.",
    ),
];

/// Statuses only some rows answer, beyond what their kind of row documents.
const EXTRA_STATUSES: &[(&str, &str, &[&str])] = &[
    ("POST", "/api/v3/invites/redeem/", &["403", "409"]),
    ("POST", "/api/v3/accounts/{account_id}/invites/", &["503"]),
];

/// Statuses no row documents unless [`EXTRA_STATUSES`] names it (501: every forward-auth row).
const ONLY_WHERE_NAMED: &[&str] = &["501", "503"];

/// The error statuses a row documents: all of [`ERRORS`] for guarded rows; for public rows that
/// read a body, bad input and rate limiting; none for the other public rows. Forward-auth rows
/// answer 501 while forward auth is off (`forward` is `None`).
fn error_statuses(
    spec: &RouteSpec,
    forward: Option<ForwardAuthHeaders>,
) -> Vec<&'static (&'static str, &'static str, &'static str)> {
    let public = spec.requirement == Requirement::Public;
    let extra: &[&str] = if spec.path.starts_with("/auth/forward") {
        if forward.is_none() {
            &["501"]
        } else {
            &[]
        }
    } else {
        EXTRA_STATUSES
            .iter()
            .find(|(method, path, _)| spec.method.as_str() == *method && spec.path == *path)
            .map_or(&[], |(_, _, statuses)| statuses)
    };
    ERRORS
        .iter()
        .filter(|(status, _, _)| {
            let by_kind = !ONLY_WHERE_NAMED.contains(status)
                && (!public
                    || (request_body(spec).is_some()
                        && ["400", "413", "415", "429"].contains(status)));
            by_kind || extra.contains(status)
        })
        .collect()
}

/// The shared error response components, each carrying the error envelope.
fn error_responses() -> Vec<(String, utoipa::openapi::Response)> {
    ERRORS
        .iter()
        .map(|(status, name, description)| {
            let mut response = ResponseBuilder::new().description(*description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(schema_ref("ErrorEnvelope")))
                    .build(),
            );
            if *status == "401" {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some("`Bearer`."))
                        .build(),
                );
            }
            if *status == "429" {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::Integer))
                        .description(Some("Seconds to wait."))
                        .build(),
                );
            }
            ((*name).to_owned(), response.build())
        })
        .collect()
}

/// The success envelope with `data` of the given schema (a page's adds `extra`).
fn envelope_schema(data: RefOr<Schema>, page: bool) -> RefOr<Schema> {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("data", data)
        .required("data")
        .property("status", schema_ref("Status"))
        .required("status");
    if page {
        object = object
            .property("extra", schema_ref("PageExtra"))
            .required("extra");
    }
    object.into()
}

/// The success response of a row: (status, response).
fn success_response(spec: &RouteSpec) -> (String, utoipa::openapi::Response) {
    let json = |schema: RefOr<Schema>| ContentBuilder::new().schema(Some(schema)).build();
    let answer = entry_for(RESPONSES, spec).map(|t| schema_ref(&t().name));
    let page = || -> RefOr<Schema> {
        match &answer {
            Some(item) => envelope_schema(ArrayBuilder::new().items(item.clone()).into(), true),
            None => schema_ref("PageEnvelope"),
        }
    };
    let (status, response) =
        match success(spec) {
            Success::Envelope(status) => (
                status,
                ResponseBuilder::new()
                    .description("Success, in dbt Cloud's envelope.")
                    .content(
                        "application/json",
                        json(match &answer {
                            Some(data) => envelope_schema(data.clone(), false),
                            None => schema_ref("Envelope"),
                        }),
                    ),
            ),
            Success::Page => (
                200,
                ResponseBuilder::new()
                    .description("A page of the list, in dbt Cloud's envelope.")
                    .content("application/json", json(page())),
            ),
            Success::PageOrCsv => (
                200,
                ResponseBuilder::new()
                    .description(
                        "A page of the list, in dbt Cloud's envelope; with `?format=csv`, the \
                     selection as a CSV attachment.",
                    )
                    .content("application/json", json(page()))
                    .content(
                        "text/csv",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    ),
            ),
            Success::Json => (
                200,
                ResponseBuilder::new()
                    .description("Success (plain JSON, not enveloped).")
                    .content(
                        "application/json",
                        json(answer.clone().unwrap_or_else(|| {
                            ObjectBuilder::new().schema_type(Type::Object).into()
                        })),
                    ),
            ),
            Success::Headers => {
                let header = |description: &str, ty: Type| {
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(ty))
                        .description(Some(description))
                        .build()
                };
                (
                    200,
                    ResponseBuilder::new()
                        .description("Allowed; no body, the caller's identity in headers.")
                        .header(
                            "X-Latchkey-Principal",
                            header(
                                "`service_token:<id>` or `personal_access_token:<id>`.",
                                Type::String,
                            ),
                        )
                        .header(
                            "X-Latchkey-Account",
                            header("The token's account.", Type::Integer),
                        )
                        .header(
                            "X-Latchkey-User",
                            header("For personal access tokens, the user.", Type::Integer),
                        )
                        .header(
                            "X-Latchkey-Permission",
                            header(
                                "The permission the route map required (`resource:access`).",
                                Type::String,
                            ),
                        ),
                )
            }
        };
    (status.to_string(), response.build())
}

/// A row's parameters: those of its path, then those of its query string, then the headers a
/// forward-auth row reads the original request from.
fn parameters(spec: &RouteSpec, forward: Option<ForwardAuthHeaders>) -> Vec<Parameter> {
    let mut parameters: Vec<Parameter> = path_parameters(spec.path)
        .into_iter()
        .map(path_parameter)
        .collect();
    if let Some(query) = entry_for(QUERIES, spec) {
        parameters.extend(query());
    }
    if spec.path == "/auth/forward" {
        parameters.extend(
            forward_headers(forward)
                .iter()
                .map(|(name, what, example)| {
                    ParameterBuilder::new()
                        .name(*name)
                        .parameter_in(ParameterIn::Header)
                        .required(Required::True)
                        .description(Some(format!(
                    "The original request's {what}, as the proxy sets it (once; a missing or \
                     repeated one is a 400, one upstreams could read differently a 403)."
                )))
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .pattern(Some(r"^[\t\u0020-\u007E]*$")),
                        ))
                        .example(Some(serde_json::Value::from(*example)))
                        .build()
                }),
        );
    }
    parameters
}

/// A header forward auth reads the original request from: name, what it holds, an example.
type ForwardHeader = (&'static str, &'static str, &'static str);

/// The headers a forward-auth row without a path reads the original request from, for the proxy
/// the server was started for. None for Envoy (the path holds it) and none while forward auth is
/// off.
fn forward_headers(forward: Option<ForwardAuthHeaders>) -> &'static [ForwardHeader] {
    const METHOD: &str = "GET";
    const URI: &str = "/api/v2/accounts/1/runs/?project_id=1";
    match forward {
        Some(ForwardAuthHeaders::Nginx) => &[
            ("X-Original-Method", "method", METHOD),
            ("X-Original-URI", "path and query", URI),
        ],
        Some(ForwardAuthHeaders::Traefik) => &[
            ("X-Forwarded-Method", "method", METHOD),
            ("X-Forwarded-Uri", "path and query", URI),
        ],
        Some(ForwardAuthHeaders::Envoy) | None => &[],
    }
}

/// What a forward-auth row does on a server started for `forward`, said in its description.
fn forward_text(path: &str, forward: Option<ForwardAuthHeaders>) -> Option<&'static str> {
    let bare = path == "/auth/forward";
    Some(match forward {
        None => "Forward auth is off on this server (started without `--forward-auth-headers`): \
                 the answer is 501.",
        Some(ForwardAuthHeaders::Envoy) if bare => {
            "This server reads the original request from the path (`--forward-auth-headers \
             envoy`): without one the answer is 400."
        }
        Some(ForwardAuthHeaders::Envoy) => {
            "This server reads the original request from the path after `/auth/forward` \
             (`--forward-auth-headers envoy`)."
        }
        Some(_) if bare => {
            "This server reads the original request from the headers below (`--forward-auth-headers`)."
        }
        Some(_) => "Envoy's path: this server reads the original request from headers, so the \
                    answer is 404.",
    })
    .filter(|_| path.starts_with("/auth/forward"))
}

/// Rules that tie a schema's fields together, which its type's derive cannot state (by the
/// schema's name): they go beside its `properties`, under `allOf`.
fn cross_field_rules(name: &str) -> Option<serde_json::Value> {
    match name {
        "PermissionGrant" => Some(crate::value_sets::grant_rules()),
        _ => None,
    }
}

/// A schema with its [`cross_field_rules`] added, if it has any.
fn with_cross_field_rules(name: &str, mut schema: RefOr<Schema>) -> RefOr<Schema> {
    if let (Some(rules), RefOr::T(Schema::Object(object))) = (cross_field_rules(name), &mut schema)
    {
        // utoipa's object has no `allOf`; its extensions are written beside the other keys.
        object
            .extensions
            .get_or_insert_with(Default::default)
            .insert("allOf".into(), rules);
    }
    schema
}

/// The schemas of every request body and answer, by name; two types under one name are a bug.
fn named_schemas() -> BTreeMap<String, RefOr<Schema>> {
    let mut schemas = BTreeMap::new();
    for (method, path, body) in BODIES.iter().chain(RESPONSES) {
        for (name, schema) in body().schemas {
            let schema = with_cross_field_rules(&name, schema);
            let json = serde_json::to_value(&schema).expect("a schema serializes");
            if let Some(other) = schemas.insert(name.clone(), schema) {
                assert!(
                    serde_json::to_value(&other).expect("a schema serializes") == json,
                    "{method} {path}: two types are both named {name}; \
                     give one `#[schema(as = …)]`"
                );
            }
        }
    }
    schemas
}

/// The operation for one row of the route table, on a server started for `forward`.
fn operation(
    spec: &RouteSpec,
    forward: Option<ForwardAuthHeaders>,
) -> utoipa::openapi::path::Operation {
    let label = permission_label(&spec.requirement);
    let mut description = requirement_text(&spec.requirement);
    if password_only(spec) {
        description = "Acts for the user in the account in the path, signed in with their e-mail \
                       and password (HTTP Basic): a token never creates a personal access token \
                       (400)."
            .to_owned();
    }
    if let Some(text) = forward_text(spec.path, forward) {
        description = format!("{description} {text}");
    }
    if spec.method == Method::DELETE && spec.path.starts_with("/api/") {
        description = format!(
            "{description} Deleting is soft, as in dbt Cloud: the object is kept with \
             `state: 2` (an invitation as `withdrawn`), and reads of it still answer."
        );
    }
    let mut op = OperationBuilder::new()
        .tag(tag(spec.path))
        .operation_id(Some(operation_id(&spec.method, spec.path)))
        .description(Some(description))
        .parameters(Some(parameters(spec, forward)).filter(|ps| !ps.is_empty()))
        .extensions(Some(
            ExtensionsBuilder::new()
                .add("x-latchkey-permission", label)
                .build(),
        ));
    if let Some(body) = request_body(spec) {
        op = op.request_body(Some(body));
    }
    let (status, response) = success_response(spec);
    op = op.response(status, response);
    for (status, name, _) in error_statuses(spec, forward) {
        op = op.response(*status, RefOr::Ref(Ref::from_response_name(*name)));
    }
    op.securities(Some(security(spec))).build()
}

/// Rows that act for a user and take only the user's password: a token never mints a personal
/// access token, so a leaked one cannot make itself a twin (a token gets 400).
const PASSWORD_ONLY: &[(&str, &str)] =
    &[("POST", "/api/v3/accounts/{account_id}/personal-tokens/")];

/// True for a row of [`PASSWORD_ONLY`].
fn password_only(spec: &RouteSpec) -> bool {
    PASSWORD_ONLY
        .iter()
        .any(|(m, p)| *m == spec.method.as_str() && *p == spec.path)
}

/// The security of a row: none for public rows; a token (either header form) for the others,
/// or HTTP Basic for rows that act for a user; HTTP Basic alone for [`PASSWORD_ONLY`] rows.
fn security(spec: &RouteSpec) -> Vec<SecurityRequirement> {
    let requirement = &spec.requirement;
    let mut schemes = Vec::new();
    if password_only(spec) {
        schemes.push("BasicAuth");
    } else if *requirement != Requirement::Public {
        schemes.extend(["TokenAuth", "BearerAuth"]);
    }
    if *requirement == Requirement::User && !password_only(spec) {
        schemes.push("BasicAuth");
    }
    schemes
        .into_iter()
        .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
        .collect()
}

/// The OpenAPI 3.1 document of every route in the route table, as a server started without
/// `--forward-auth-headers` serves it (the committed `openapi.json`).
pub fn document() -> OpenApi {
    document_for(None)
}

/// The document of a server started for the proxy `forward` (`--forward-auth-headers`): its
/// forward-auth rows name the headers that proxy sets, and answer 501 only while it is off.
pub fn document_for(forward: Option<ForwardAuthHeaders>) -> OpenApi {
    let rows = table();
    let mut paths = PathsBuilder::new();
    let mut tags = BTreeSet::new();
    for (spec, _) in &rows {
        let method = http_method(&spec.method).unwrap_or_else(|| {
            panic!(
                "{} {}: OpenAPI has no field for this method",
                spec.method, spec.path
            )
        });
        tags.insert(tag(spec.path));
        paths = paths.path(
            openapi_path(spec.path),
            PathItem::new(method, operation(spec, forward)),
        );
    }
    let components = ComponentsBuilder::new()
        .schema_from::<Status>()
        .schema_from::<ErrorEnvelope>()
        .schema_from::<Envelope>()
        .schema_from::<Pagination>()
        .schema_from::<Filters>()
        .schema_from::<PageExtra>()
        .schema_from::<PageEnvelope>()
        .schemas_from_iter(named_schemas())
        .responses_from_iter(error_responses())
        .security_scheme(
            "TokenAuth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "Authorization: Token <token>",
            ))),
        )
        .security_scheme(
            "BearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Authorization: Bearer <token>"))
                    .build(),
            ),
        )
        .security_scheme(
            "BasicAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "E-mail and password, on routes that act for a user \
                         (`x-latchkey-permission: user`).",
                    ))
                    .build(),
            ),
        )
        .build();
    let info = InfoBuilder::new()
        .title("Latchkey")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "A token and permission authority modelled on dbt Cloud's service tokens.\n\n\
             Send a token as `Authorization: Token <token>` (or, equivalently, \
             `Authorization: Bearer <token>`). Admin API answers (`/api/v2/`, `/api/v3/`) use \
             dbt Cloud's envelope `{\"data\", \"status\": {\"code\", \"is_success\", \
             \"user_message\", \"developer_message\"}}`, with `extra.pagination` on lists; every \
             error uses it. Each operation's `x-latchkey-permission` is what its route requires: \
             a permission (`resource:access`), `authenticated`, `user` (the user's own personal \
             access token, or e-mail and password over HTTP Basic) or `public`.\n\n\
             Generated from the route table; do not edit by hand.",
        ))
        .license(Some(
            LicenseBuilder::new()
                .name("Apache-2.0")
                .identifier(Some("Apache-2.0"))
                .build(),
        ))
        .build();
    OpenApiBuilder::new()
        .info(info)
        .paths(paths.build())
        .components(Some(components))
        .tags(Some(tags.into_iter().map(|name| {
            TagBuilder::new()
                .description(tag_description(&name))
                .name(name)
                .build()
        })))
        .build()
}

/// [`document`] as pretty-printed JSON with a trailing newline: the bytes of the committed
/// `openapi.json` and of `GET /api/openapi.json` on a server without forward auth.
pub fn document_json() -> String {
    document_json_for(None)
}

/// [`document_for`] as pretty-printed JSON with a trailing newline.
pub fn document_json_for(forward: Option<ForwardAuthHeaders>) -> String {
    let mut json =
        serde_json::to_string_pretty(&document_for(forward)).expect("the document serializes");
    json.push('\n');
    json
}

/// The documents, each built once: forward auth off, then nginx, Traefik and Envoy.
static DOCUMENTS: [LazyLock<String>; 4] = [
    LazyLock::new(|| document_json_for(None)),
    LazyLock::new(|| document_json_for(Some(ForwardAuthHeaders::Nginx))),
    LazyLock::new(|| document_json_for(Some(ForwardAuthHeaders::Traefik))),
    LazyLock::new(|| document_json_for(Some(ForwardAuthHeaders::Envoy))),
];

/// `GET /api/openapi.json`: the OpenAPI 3.1 document of this server (its forward-auth rows as
/// its `--forward-auth-headers` makes them).
pub async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    let document = match state.verifier.config().forward_auth_headers {
        None => &DOCUMENTS[0],
        Some(ForwardAuthHeaders::Nginx) => &DOCUMENTS[1],
        Some(ForwardAuthHeaders::Traefik) => &DOCUMENTS[2],
        Some(ForwardAuthHeaders::Envoy) => &DOCUMENTS[3],
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.as_str(),
    )
}
