//! The HTTP layer's one error type, and the one place it becomes dbt Cloud's envelope:
//! `{"data": …, "status": {"code", "is_success": false, "user_message", "developer_message"}}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No working token: unknown, malformed, revoked and expired alike.
    #[error("Invalid token.")]
    Unauthenticated,
    /// Bad input; `field` names the offending field when there is one.
    #[error("{message}")]
    BadRequest {
        /// The offending field.
        field: Option<String>,
        /// What was wrong and what was expected.
        message: String,
    },
    /// The body is larger than the limit.
    #[error("Request body too large.")]
    PayloadTooLarge,
    /// The body is not `application/json`.
    #[error("Expected a body with Content-Type: application/json.")]
    UnsupportedMediaType,
    /// The caller lacks a permission; the message names it.
    #[error("Forbidden: {0}")]
    Forbidden(String),
    /// The caller's address is fenced out by the account's IP rules or the token's allowlist;
    /// the body carries dbt Cloud's fields.
    #[error("Forbidden: Access denied")]
    IpDenied {
        /// The token's account.
        account_id: i64,
        /// For PATs, the user.
        user_id: Option<i64>,
        /// Whether a service token made the call.
        is_service_token: bool,
        /// True when the account's rules refused it (false: the token's own allowlist).
        account_access_denied: bool,
    },
    /// The request conflicts with the current state (a range on both lists, a lockout).
    #[error("{0}")]
    Conflict(String),
    /// Nothing here (also for other accounts' things).
    #[error("Not found.")]
    NotFound,
    /// The path exists, the method does not.
    #[error("Method not allowed.")]
    MethodNotAllowed,
    /// Too many requests from this client; retry after this many seconds.
    #[error("Too many requests; retry later.")]
    TooManyRequests(u64),
    /// A service this request needs (an invitation's delivery) failed; nothing was kept.
    #[error("{0}")]
    Unavailable(String),
    /// A feature this deployment has not switched on (forward auth before its proxy is named);
    /// the message says how to switch it on.
    #[error("{0}")]
    NotEnabled(&'static str),
    /// Something failed on our side; the detail goes to the log, not to the caller.
    #[error("Internal error.")]
    Internal(String),
}

impl ApiError {
    /// A 400 naming a field.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Forbidden(_) | ApiError::IpDenied { .. } => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotEnabled(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::verifier::AuthError> for ApiError {
    fn from(e: crate::verifier::AuthError) -> Self {
        match e {
            crate::verifier::AuthError::Unauthenticated => ApiError::Unauthenticated,
            crate::verifier::AuthError::Store(e) => ApiError::from(e),
        }
    }
}

impl From<latchkey_store::StoreError> for ApiError {
    fn from(e: latchkey_store::StoreError) -> Self {
        use latchkey_store::StoreError as E;
        match e {
            E::NotFound(_) => ApiError::NotFound,
            E::Conflict(m) => ApiError::Conflict(m),
            E::Field { field, message } => ApiError::field(field, message),
            E::Invalid(m) => ApiError::BadRequest {
                field: None,
                message: m,
            },
            E::Domain(
                d @ (latchkey_core::Error::Escalation { .. }
                | latchkey_core::Error::StrongerTarget { .. }),
            ) => ApiError::Forbidden(d.to_string()),
            E::Domain(d @ latchkey_core::Error::LicenseNotOnPlan { .. }) => {
                ApiError::field("license_type", d.to_string())
            }
            E::Busy => ApiError::TooManyRequests(1),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable("The database is unavailable; try again shortly.".to_owned())
            }
            E::Domain(d) => ApiError::BadRequest {
                field: None,
                message: d.to_string(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let (data, developer_message) = match &self {
            ApiError::BadRequest { field, message } => {
                (json!({ "field": field }), Some(message.clone()))
            }
            ApiError::IpDenied {
                account_id,
                user_id,
                is_service_token,
                account_access_denied,
            } => (
                json!({
                    "account_id": account_id,
                    "user_id": user_id,
                    "is_service_token": is_service_token,
                    "account_access_denied": account_access_denied,
                }),
                None,
            ),
            _ => (serde_json::Value::Null, None),
        };
        let body = json!({
            "data": data,
            "status": {
                "code": status.as_u16(),
                "is_success": false,
                "user_message": self.to_string(),
                "developer_message": developer_message,
            }
        });
        let mut response = (status, axum::Json(body)).into_response();
        if let ApiError::TooManyRequests(secs) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs.max(1)));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(1));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
