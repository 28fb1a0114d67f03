//! Success responses in dbt Cloud's envelope: `{"data", "status", "extra"}`, and the paging of
//! lists (`?offset=&limit=`); errors live in [`crate::error`].

use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Page size when a list call names none.
pub const DEFAULT_LIMIT: i64 = 100;
/// Largest page of a JSON list.
pub const MAX_LIMIT: i64 = 1000;

/// `?offset=&limit=` of a list read whole and answered a page at a time.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to skip (default 0).
    #[serde(default)]
    #[param(nullable = false, minimum = 0)]
    pub offset: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[serde(default)]
    #[param(nullable = false, minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The `(offset, limit)` a list call asks for, with `default_limit` when it names none; a
/// negative offset or a limit outside 1 to `max` is a 400 naming the field, never clamped.
pub fn page_window(
    offset: Option<i64>,
    limit: Option<i64>,
    default_limit: i64,
    max: i64,
) -> Result<(i64, i64), ApiError> {
    let offset = offset.unwrap_or(0);
    let limit = limit.unwrap_or(default_limit);
    if offset < 0 {
        return Err(ApiError::field("offset", "offset must be 0 or more"));
    }
    if !(1..=max).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("limit must be 1 to {max}"),
        ));
    }
    Ok((offset, limit))
}

/// A success response. Its data is any serializable value, in practice one of the wire types of
/// [`latchkey_wire`] or a list of them.
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

    /// 200 with the page of `items` (a whole list, read at once) that `query` asks for.
    pub fn slice<T: Serialize>(items: Vec<T>, query: &PageQuery) -> Result<Envelope, ApiError> {
        let (offset, limit) = page_window(query.offset, query.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
        let total = items.len() as i64;
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let page: Vec<T> = items.into_iter().skip(skip).take(limit as usize).collect();
        Ok(Envelope::page(page, offset, limit, total))
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
