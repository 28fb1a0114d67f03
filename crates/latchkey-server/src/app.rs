//! The application: the router over the shared state ([`crate::state`]), and serving it with
//! graceful shutdown.

use crate::connections::{open_file_limit, ConnectionLimits};
use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `state` on a further listener, beside [`serve`] on the same state (which runs the
/// change feed and the usage flush): meant for a runtime of its own, so that what arrives on
/// one listener never waits behind the other's connections.
pub async fn serve_beside(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = ConnectionLimits::new(state.verifier.config(), open_file_limit());
    crate::connections::serve(listener, router(state), limits, shutdown).await;
}

/// The router.
pub fn router(state: AppState) -> Router {
    let limit = state.verifier.config().body_limit;
    let trusted: Arc<[latchkey_core::Cidr]> =
        state.verifier.config().trusted_proxies.clone().into();
    routes::table::build(state)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            trusted,
            crate::extract::resolve_client_ip,
        ))
}

/// Serves until `shutdown` resolves, under the configuration's connection limits
/// ([`crate::connections`]), with the change-feed poller and the usage flusher running; flushes
/// `last_used_at` once more on the way out.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tasks = crate::feed::spawn(state.verifier.clone())
        .await
        .map_err(std::io::Error::other)?;
    let verifier = state.verifier.clone();
    let limits = ConnectionLimits::new(verifier.config(), open_file_limit());
    crate::connections::serve(listener, router(state), limits, shutdown).await;
    for t in tasks {
        t.abort();
    }
    if let Err(e) = verifier.flush_usage().await {
        tracing::warn!(error = %e, "could not flush last_used_at at shutdown");
    }
    Ok(())
}
