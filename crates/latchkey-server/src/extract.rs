//! Extractors: the one way a request is authenticated, and JSON bodies whose rejections use the
//! error envelope.

use crate::app::AppState;
use crate::error::ApiError;
use crate::verifier::Principal;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

/// The caller, authenticated from `Authorization: Token <secret>` or `Bearer <secret>`.
pub struct Authenticated(pub Principal);

/// The secret from an `Authorization` header value, if it has a known scheme.
pub fn bearer_secret(value: &str) -> Option<&str> {
    let (scheme, secret) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        .then(|| secret.trim())
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let secret = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_secret)
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Authenticated(state.verifier.authenticate(secret).await?))
    }
}

/// A JSON body; malformed JSON, wrong types, a wrong content type and oversized bodies become
/// 400, 400, 415 and 413 in the envelope.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
                JsonRejection::JsonDataError(e) => ApiError::BadRequest {
                    field: None,
                    message: format!("invalid request body: {}", e.body_text()),
                },
                JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest {
                    field: None,
                    message: "malformed JSON in request body".into(),
                },
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::PayloadTooLarge
                }
                other => ApiError::BadRequest {
                    field: None,
                    message: other.body_text(),
                },
            }),
        }
    }
}
