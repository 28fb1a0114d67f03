//! `GET /healthz`: the process serves and its database answers; `GET /livez`: the process
//! serves (no I/O at all, for liveness probes and as the trivial baseline in load tests).

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

/// The answer of both probes.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`: a failing `/healthz` answers 500 in the error envelope instead.
    status: &'static str,
}

const OK: Health = Health { status: "ok" };

/// 200 `{"status": "ok"}` when the database answers.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.verifier.store().latest_change().await?;
    Ok(Json(OK))
}

/// 200 `{"status": "ok"}` without touching anything.
pub async fn livez() -> Json<Health> {
    Json(OK)
}
