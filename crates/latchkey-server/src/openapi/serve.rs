//! `GET /api/openapi.json`: each document built once, served as this server's forward auth
//! makes it.

use super::document::{document_json_for, DocumentError};
use crate::config::ForwardAuthHeaders;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::LazyLock;

/// The documents, each built once: forward auth off, then nginx, Traefik and Envoy.
static DOCUMENTS: [LazyLock<Result<String, DocumentError>>; 4] = [
    LazyLock::new(|| document_json_for(None)),
    LazyLock::new(|| document_json_for(Some(ForwardAuthHeaders::Nginx))),
    LazyLock::new(|| document_json_for(Some(ForwardAuthHeaders::Traefik))),
    LazyLock::new(|| document_json_for(Some(ForwardAuthHeaders::Envoy))),
];

/// `GET /api/openapi.json`: the OpenAPI 3.1 document of this server (its forward-auth rows as
/// its `--forward-auth-headers` makes them). A document that could not be built (a fault of the
/// code, which the tests catch) answers 500.
pub async fn openapi_json(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let document = match state.verifier.config().forward_auth_headers {
        None => &DOCUMENTS[0],
        Some(ForwardAuthHeaders::Nginx) => &DOCUMENTS[1],
        Some(ForwardAuthHeaders::Traefik) => &DOCUMENTS[2],
        Some(ForwardAuthHeaders::Envoy) => &DOCUMENTS[3],
    };
    match &**document {
        Ok(json) => Ok(([(header::CONTENT_TYPE, "application/json")], json.as_str())),
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}
