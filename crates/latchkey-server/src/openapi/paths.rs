//! What a row's method and path name: the OpenAPI method, the operationId, the tag and its
//! description, the path parameters, and the path as OpenAPI spells it.

use axum::http::Method;
use utoipa::openapi::path::{HttpMethod, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, Required};

/// The OpenAPI method of an HTTP method (`None` for one OpenAPI has no field for).
pub(super) fn http_method(method: &Method) -> Option<HttpMethod> {
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
        "healthz" | "livez" | "readyz" => "health".to_owned(),
        "whoami" | "constants" | "accounts" => "identity".to_owned(),
        "group-permissions" | "assign-groups" => "groups".to_owned(),
        "auth" => "forward-auth".to_owned(),
        "openapi.json" => "openapi".to_owned(),
        other => other.trim_end_matches(".json").to_owned(),
    }
}

/// The description of a tag, when this module knows it.
pub(super) fn tag_description(tag: &str) -> Option<&'static str> {
    Some(match tag {
        "health" => "Liveness (`/livez`, `/healthz`: the process serves) and readiness (`/readyz`: the database answers and the change feed is read).",
        "openapi" => "This document.",
        "metrics" => "The node's counters for Prometheus, on the operator's listener only.",
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
pub(super) fn path_parameter(name: &str) -> utoipa::openapi::path::Parameter {
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
pub(super) fn path_parameters(path: &str) -> Vec<&str> {
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
