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
    let files = file_share(open_file_limit(), true, Listener::Decisions);
    let limits = ConnectionLimits::new(state.verifier.config(), files);
    let trusted = trusted_proxies(&state);
    let express = Some(crate::express::Express::new(state.clone()));
    crate::connections::serve(listener, router(state), express, limits, trusted, shutdown).await;
}

/// The proxies whose `X-Forwarded-For` names the client.
fn trusted_proxies(state: &AppState) -> Arc<[latchkey_core::Cidr]> {
    state.verifier.config().trusted_proxies.clone().into()
}

/// Most connections the operator's listener holds: a scraper or two, and a person with curl.
const OPERATOR_CONNECTIONS: usize = 16;

/// Serves the operator's routes ([`crate::routes::table::OPERATOR_ONLY`]: `/metrics`) from
/// `state` on a listener of their own (`latchkey serve --metrics-listen`), until `shutdown`
/// resolves; every other path is 404 there.
pub async fn serve_operator(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let limits = ConnectionLimits {
        max_connections: OPERATOR_CONNECTIONS,
        ..ConnectionLimits::new(state.verifier.config(), None)
    };
    let trusted = trusted_proxies(&state);
    let router = routes::table::build_operator(state)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    crate::connections::serve(listener, router, None, limits, trusted, shutdown).await;
}

/// Which listener a share of the open files is for.
#[derive(Clone, Copy)]
enum Listener {
    Main,
    Decisions,
}

/// The open files a listener's connections may count on: all of them when it is alone; with a
/// decision listener beside the main one, three quarters for the main one and a quarter for
/// the decisions, so that a connection flood on one never leaves the other without files.
fn file_share(open_files: Option<u64>, beside: bool, listener: Listener) -> Option<u64> {
    open_files.map(|files| match (beside, listener) {
        (false, _) => files,
        (true, Listener::Main) => files - files / 4,
        (true, Listener::Decisions) => files / 4,
    })
}

/// The router. Served by [`crate::connections::serve`], which gives every request its client's
/// address.
pub fn router(state: AppState) -> Router {
    let limit = state.verifier.config().body_limit;
    routes::table::build(state)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(limit))
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
    let config = verifier.config();
    let files = file_share(open_file_limit(), config.decision_listener, Listener::Main);
    let limits = ConnectionLimits::new(config, files);
    let trusted = trusted_proxies(&state);
    let express = Some(crate::express::Express::new(state.clone()));
    crate::connections::serve(listener, router(state), express, limits, trusted, shutdown).await;
    for t in tasks {
        t.abort();
    }
    if let Err(e) = verifier.flush_usage().await {
        tracing::warn!(error = %e, "could not flush last_used_at at shutdown");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{file_share, Listener};

    #[test]
    fn two_listeners_share_the_open_files_without_overlap() {
        for files in [256, 1024, 65_536, 1_048_576] {
            let main = file_share(Some(files), true, Listener::Main).unwrap();
            let decisions = file_share(Some(files), true, Listener::Decisions).unwrap();
            assert_eq!(main + decisions, files);
            assert!(decisions >= files / 4 && main >= files / 2);
            assert_eq!(file_share(Some(files), false, Listener::Main), Some(files));
        }
        assert_eq!(file_share(None, true, Listener::Decisions), None);
    }
}
