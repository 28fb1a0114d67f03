//! One operation per row of the route table: its description, parameters, body, answers and
//! security.

use super::errors::error_statuses;
use super::forward_auth::{forward_headers, forward_text};
use super::paths::{operation_id, path_parameter, path_parameters, tag};
use super::requests::request_body;
use super::security::{permission_label, requirement_text, security};
use super::success::success_response;
use crate::config::ForwardAuthHeaders;
use crate::routes::table::RouteSpec;
use axum::http::Method;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{OperationBuilder, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Required};

/// A row's parameters: those of its path, then those of its query string, then the headers a
/// forward-auth row reads the original request from.
fn parameters(spec: &RouteSpec, forward: Option<ForwardAuthHeaders>) -> Vec<Parameter> {
    let mut parameters: Vec<Parameter> = path_parameters(spec.path)
        .into_iter()
        .map(path_parameter)
        .collect();
    if let Some(query) = spec.query {
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

/// The operation for one row of the route table, on a server started for `forward`.
pub(super) fn operation(
    spec: &RouteSpec,
    forward: Option<ForwardAuthHeaders>,
) -> utoipa::openapi::path::Operation {
    let label = permission_label(&spec.requirement);
    let mut description = requirement_text(&spec.requirement);
    if spec.password_only {
        description = "Acts for the user in the account in the path, signed in with their e-mail \
                       and password (HTTP Basic): a token never creates a personal access token \
                       (400)."
            .to_owned();
    }
    if let Some(text) = forward_text(spec.path, forward) {
        description = format!("{description} {text}");
    }
    if crate::routes::table::OPERATOR_ONLY.contains(&spec.path) {
        description = format!(
            "{description} Served only on the operator's listener (`latchkey serve \
             --metrics-listen ADDR`, off by default), never on the API listeners, which answer \
             404: it tells of every account's activity on the node at once."
        );
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
