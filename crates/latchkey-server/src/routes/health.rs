//! `GET /healthz`: the process serves and its database answers; `GET /livez`: the process
//! serves (no I/O at all, for liveness probes and as the trivial baseline in load tests).

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

/// 200 `{"status": "ok"}` without touching anything.
pub async fn livez() -> Json<Value> {
    Json(json!({"status": "ok"}))
}
