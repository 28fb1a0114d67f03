//! The application: shared state, the router, and serving with graceful shutdown.

use crate::config::ServerConfig;
use crate::connections::{open_file_limit, ConnectionLimits};
use crate::error::ApiError;
use crate::limiter::Limiter;
use crate::routes;
use crate::verifier::Verifier;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use latchkey_store::Store;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The node's verifier (and through it, the store and the configuration).
    pub verifier: Arc<Verifier>,
    /// Failed authentications per client address.
    pub auth_failures: Arc<Limiter>,
    /// Failed password sign-ins per account and e-mail.
    pub password_failures: Arc<Limiter<crate::limiter::CredentialKey>>,
    /// Failed token authentications per presented token.
    pub credential_failures: Arc<crate::throttle::CredentialFailures>,
    /// The store slot that cache misses from throttled addresses queue for.
    pub throttled_lookups: Arc<tokio::sync::Semaphore>,
    /// Leaked-credential reports per client address.
    pub leak_reports: Arc<Limiter>,
    /// The forward-auth route map.
    pub route_map: Arc<crate::route_map::RouteMap>,
    /// The Admin API budgets: per token, under a ceiling per account.
    pub admin_budget: Arc<crate::budget::AdminBudget>,
}

impl AppState {
    /// State over a store.
    pub fn new(store: Store, config: ServerConfig) -> AppState {
        AppState {
            auth_failures: Arc::new(Limiter::new(
                config.failed_auth_limit,
                config.failed_auth_window_secs,
            )),
            password_failures: Arc::new(Limiter::new(
                config.failed_auth_limit,
                config.failed_auth_window_secs,
            )),
            credential_failures: Arc::new(crate::throttle::CredentialFailures::new(
                config.failed_auth_limit,
                config.failed_auth_window_secs,
            )),
            throttled_lookups: Arc::new(tokio::sync::Semaphore::new(
                crate::throttle::THROTTLED_LOOKUPS,
            )),
            leak_reports: Arc::new(Limiter::new(config.leak_reports_per_hour, 3600)),
            route_map: Arc::new(
                config
                    .route_map
                    .clone()
                    .unwrap_or_else(crate::route_map::RouteMap::builtin),
            ),
            admin_budget: Arc::new(crate::budget::AdminBudget::new(&config)),
            verifier: Arc::new(Verifier::new(store, config)),
        }
    }
}

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
