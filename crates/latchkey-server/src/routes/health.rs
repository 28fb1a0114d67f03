//! The probes. `GET /livez` and `GET /healthz`: the process serves (no I/O at all: for liveness
//! probes, and `/livez` as the trivial baseline in load tests). `GET /readyz`: this node can
//! decide correctly — its database answers and its change feed has been read lately — and how
//! its change feed hears of changes.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

/// The answer of `/livez` and `/healthz`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// `{"status": "ok"}`.
pub(crate) const OK: Health = Health { status: "ok" };

/// The answer of `/readyz` when the node is ready (when it is not, a 503 in the error envelope
/// says why).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Always `ok`.
    status: &'static str,
    /// `sqlite` or `postgres`.
    database: &'static str,
    /// `listening` (PostgreSQL: hears changes as they commit on any node, and polls as a safety
    /// net), `polling` (SQLite, one node), or `reconnecting` (the listening connection was lost:
    /// the caches were cleared and the node polls until it is back).
    change_feed: &'static str,
    /// Seconds since the change feed was last read.
    change_feed_age_seconds: i64,
}

/// 200 `{"status": "ok"}` without touching anything.
pub async fn livez() -> Json<Health> {
    Json(OK)
}

/// 200 `{"status": "ok"}` without touching anything: the process serves.
pub async fn healthz() -> Json<Health> {
    Json(OK)
}

/// 200 when the change feed was read within the last few poll intervals (so the database
/// answers, and no change can be more than that late here); 503 saying how long ago it was read
/// otherwise. No I/O of its own: the feed's reads are the database check, so a flood of probes
/// costs the database nothing.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Readiness>, ApiError> {
    let verifier = &state.verifier;
    let feed = verifier.feed();
    let age = crate::verifier::now_unix() - feed.last_read();
    let allowed = i64::try_from(verifier.config().change_poll.as_secs())
        .unwrap_or(i64::MAX)
        .saturating_mul(4)
        .max(5);
    if age > allowed {
        return Err(ApiError::Unavailable(format!(
            "The database has not answered the change feed for {age} s."
        )));
    }
    Ok(Json(Readiness {
        status: "ok",
        database: match verifier.store().backend() {
            latchkey_store::Backend::Sqlite => "sqlite",
            latchkey_store::Backend::Postgres => "postgres",
        },
        change_feed: feed.state().as_str(),
        change_feed_age_seconds: age.max(0),
    }))
}
