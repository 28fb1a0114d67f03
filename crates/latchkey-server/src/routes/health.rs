//! `GET /healthz`: the process serves and its database answers.

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

/// 200 `{"status": "ok"}` when the database answers.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.verifier.store().latest_change().await?;
    Ok(Json(json!({"status": "ok"})))
}
