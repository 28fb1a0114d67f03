//! The schemas of dbt Cloud's envelope, which every Admin API answer wears: the `status` object,
//! the error envelope, the success envelope, and a page with its counters.

use utoipa::ToSchema;

/// The `status` object of every answer, success or error.
#[derive(ToSchema)]
pub struct Status {
    /// The HTTP status code, repeated.
    pub code: u16,
    /// True for 2xx answers.
    pub is_success: bool,
    /// A message for people (`"Success!"` on success).
    pub user_message: String,
    /// Detail for developers: `""` on success, the validation message on a 400, else null.
    #[schema(required = true)]
    pub developer_message: Option<String>,
}

/// dbt Cloud's error envelope: every 4xx and 5xx answer of the API.
#[derive(ToSchema)]
pub struct ErrorEnvelope {
    /// Null; on a 400 `{"field": <the offending field or null>}`; on a 403 for an address the
    /// account's IP rules or the token's allowlist fence out `{"account_id", "user_id",
    /// "is_service_token", "account_access_denied"}`.
    pub data: serde_json::Value,
    /// `code` equals the HTTP status and `is_success` is false.
    pub status: Status,
}

/// dbt Cloud's success envelope.
#[derive(ToSchema)]
pub struct Envelope {
    /// The answer: an object, or an array for a list.
    pub data: serde_json::Value,
    /// `code` equals the HTTP status and `is_success` is true.
    pub status: Status,
}

/// The paging counters of a list answer, as dbt Cloud sends them.
#[derive(ToSchema)]
pub struct Pagination {
    /// Items skipped.
    pub offset: i64,
    /// Page size asked for.
    pub limit: i64,
    /// Items on this page.
    pub count: i64,
    /// Items in the whole list; keep paging while `offset + count < total_count`.
    pub total_count: i64,
}

/// The filters a list answer applied.
#[derive(ToSchema)]
pub struct Filters {
    /// Items skipped.
    pub offset: i64,
    /// Page size.
    pub limit: i64,
}

/// `extra` of a list answer.
#[derive(ToSchema)]
pub struct PageExtra {
    /// Paging counters.
    pub pagination: Pagination,
    /// The applied filters.
    pub filters: Filters,
}

/// The success envelope of a list: `data` is an array and `extra.pagination` counts it.
#[derive(ToSchema)]
pub struct PageEnvelope {
    /// One page of the list.
    pub data: Vec<serde_json::Value>,
    /// `code` is 200 and `is_success` is true.
    pub status: Status,
    /// Paging counters and filters.
    pub extra: PageExtra,
}
