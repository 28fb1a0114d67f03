//! `GET /api/v3/accounts/{account_id}/audit-logs/`: the account's audit log, newest first.

use crate::app::AppState;
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::routes::table::Caller;
use crate::wire;
use axum::extract::State;
use latchkey_store::AuditQuery;
use serde::Deserialize;

/// `?event_type=&offset=&limit=`.
#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// A page of entries.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Envelope, ApiError> {
    let offset = q.offset.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if offset < 0 {
        return Err(ApiError::field("offset", "offset must be 0 or more"));
    }
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field("limit", "limit must be 1 to 1000"));
    }
    let query = AuditQuery {
        account_id: Some(caller.account()),
        event_type: q.event_type,
        offset,
        limit,
    };
    let store = state.verifier.store();
    let entries = store.audit_entries(&query).await?;
    let total = store.audit_count(&query).await?;
    Ok(Envelope::page(
        entries.iter().map(wire::audit_entry).collect(),
        offset,
        limit,
        total,
    ))
}
