//! The application: shared state, the router, and serving with graceful shutdown.

use crate::config::ServerConfig;
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
    pub password_failures: Arc<Limiter<crate::sign_in::EmailKey>>,
    /// Leaked-credential reports per client address.
    pub leak_reports: Arc<Limiter>,
    /// The forward-auth route map.
    pub route_map: Arc<crate::route_map::RouteMap>,
    /// Admin API requests per account (`None`: no budget).
    pub account_budget: Option<Arc<Limiter<latchkey_core::AccountId>>>,
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
            leak_reports: Arc::new(Limiter::new(config.leak_reports_per_hour, 3600)),
            route_map: Arc::new(
                config
                    .route_map
                    .clone()
                    .unwrap_or_else(crate::route_map::RouteMap::builtin),
            ),
            account_budget: (config.account_requests_per_minute > 0)
                .then(|| Arc::new(Limiter::new(config.account_requests_per_minute, 60))),
            verifier: Arc::new(Verifier::new(store, config)),
        }
    }
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

/// Serves until `shutdown` resolves, with the change-feed poller and the usage flusher running;
/// flushes `last_used_at` once more on the way out.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tasks = crate::feed::spawn(state.verifier.clone())
        .await
        .map_err(std::io::Error::other)?;
    let verifier = state.verifier.clone();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    for t in tasks {
        t.abort();
    }
    if let Err(e) = verifier.flush_usage().await {
        tracing::warn!(error = %e, "could not flush last_used_at at shutdown");
    }
    result
}
