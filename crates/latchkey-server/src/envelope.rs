//! Success responses in dbt Cloud's envelope: `{"data", "status", "extra"}`; errors live in
//! [`crate::error`].

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

/// A success response. Its data is any serializable value, in practice one of the wire types of
/// [`crate::wire`] or a list of them.
pub struct Envelope {
    status: StatusCode,
    /// The data, or why it could not be turned into JSON (never for the wire types).
    data: Result<Value, String>,
    extra: Option<Value>,
}

fn to_value(data: impl Serialize) -> Result<Value, String> {
    serde_json::to_value(data).map_err(|e| e.to_string())
}

impl Envelope {
    fn with(status: StatusCode, data: impl Serialize) -> Envelope {
        Envelope {
            status,
            data: to_value(data),
            extra: None,
        }
    }

    /// 200 with data.
    pub fn ok(data: impl Serialize) -> Envelope {
        Envelope::with(StatusCode::OK, data)
    }

    /// 201 with data.
    pub fn created(data: impl Serialize) -> Envelope {
        Envelope::with(StatusCode::CREATED, data)
    }

    /// 202 with data.
    pub fn accepted(data: impl Serialize) -> Envelope {
        Envelope::with(StatusCode::ACCEPTED, data)
    }

    /// 200 with a whole (small, unpaged) list, described as one page holding all of it.
    pub fn all<T: Serialize>(items: Vec<T>) -> Envelope {
        let total = items.len() as i64;
        Envelope::page(items, 0, total.max(1), total)
    }

    /// 200 with a page of a list and `extra.pagination`.
    pub fn page<T: Serialize>(items: Vec<T>, offset: i64, limit: i64, total: i64) -> Envelope {
        let count = items.len();
        Envelope {
            status: StatusCode::OK,
            data: to_value(items),
            extra: Some(json!({
                "pagination": {"offset": offset, "limit": limit, "count": count, "total_count": total},
                "filters": {"offset": offset, "limit": limit},
            })),
        }
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        let data = match self.data {
            Ok(data) => data,
            Err(why) => return ApiError::Internal(why).into_response(),
        };
        let mut body = json!({
            "data": data,
            "status": {
                "code": self.status.as_u16(),
                "is_success": true,
                "user_message": "Success!",
                "developer_message": "",
            },
        });
        if let Some(extra) = self.extra {
            body["extra"] = extra;
        }
        (self.status, axum::Json(body)).into_response()
    }
}
