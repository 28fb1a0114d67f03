//! What a row takes: the body ([`BODIES`]) and the query string ([`QUERIES`]) its handler reads,
//! and the request body of its operation.

use super::schemas::{entry_for, form, list, one, schema_ref, BodyRow, BodySchema};
use crate::envelope::PageQuery;
use crate::routes::table::RouteSpec;
use crate::routes::{
    audit, authorize, credentials, groups, introspect, invites, ip_restrictions, personal_tokens,
    projects, service_tokens, users,
};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::ArrayBuilder;
use utoipa::openapi::{ContentBuilder, RefOr, Required, Schema};
use utoipa::IntoParams;

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

/// The request body of a row: its content type and schema (a reference into `components`).
pub(super) fn request_body(spec: &RouteSpec) -> Option<utoipa::openapi::request_body::RequestBody> {
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
