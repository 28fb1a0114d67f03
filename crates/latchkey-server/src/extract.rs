//! Request parsing shared by every route: the `Authorization` header's secret, and JSON bodies
//! whose rejections use the error envelope. (Authentication itself is the route table's guard.)

use crate::error::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// The secret from an `Authorization` header value, if it has a known scheme (`Token` or
/// `Bearer`, any case).
pub fn bearer_secret(value: &str) -> Option<&str> {
    let (scheme, secret) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer"))
        .then(|| secret.trim())
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

/// A query string; a malformed one becomes a 400 in the envelope.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::BadRequest {
                field: None,
                message: format!("invalid query string: {}", e.body_text()),
            })
    }
}

/// The client's address: the peer of the connection, when the server knows it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl ClientIp {
    /// Reads it from a request's extensions.
    pub fn of(extensions: &axum::http::Extensions) -> ClientIp {
        ClientIp(
            extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        )
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(&parts.extensions))
    }
}

/// An `application/x-www-form-urlencoded` body; rejections become 415 or 400 in the envelope.
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::FormRejection;
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(ApiForm(v)),
            Err(FormRejection::InvalidFormContentType(_)) => Err(ApiError::UnsupportedMediaType),
            Err(other) if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(other) => Err(ApiError::BadRequest {
                field: None,
                message: format!("invalid form body: {}", other.body_text()),
            }),
        }
    }
}
