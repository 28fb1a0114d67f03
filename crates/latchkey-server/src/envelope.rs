//! Success responses in dbt Cloud's envelope: `{"data", "status", "extra"}`; errors live in
//! [`crate::error`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A success response.
pub struct Envelope {
    status: StatusCode,
    data: Value,
    extra: Option<Value>,
}

impl Envelope {
    /// 200 with data.
    pub fn ok(data: Value) -> Envelope {
        Envelope {
            status: StatusCode::OK,
            data,
            extra: None,
        }
    }

    /// 201 with data.
    pub fn created(data: Value) -> Envelope {
        Envelope {
            status: StatusCode::CREATED,
            data,
            extra: None,
        }
    }

    /// 202 with data.
    pub fn accepted(data: Value) -> Envelope {
        Envelope {
            status: StatusCode::ACCEPTED,
            data,
            extra: None,
        }
    }

    /// 200 with a whole (small, unpaged) list, described as one page holding all of it.
    pub fn all(items: Vec<Value>) -> Envelope {
        let total = items.len() as i64;
        Envelope::page(items, 0, total.max(1), total)
    }

    /// 200 with a page of a list and `extra.pagination`.
    pub fn page(items: Vec<Value>, offset: i64, limit: i64, total: i64) -> Envelope {
        let count = items.len();
        Envelope {
            status: StatusCode::OK,
            data: Value::Array(items),
            extra: Some(json!({
                "pagination": {"offset": offset, "limit": limit, "count": count, "total_count": total},
                "filters": {"offset": offset, "limit": limit},
            })),
        }
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        let mut body = json!({
            "data": self.data,
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
