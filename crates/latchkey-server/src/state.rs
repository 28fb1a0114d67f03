//! What every handler can reach: the node's verifier and the limits and budgets kept beside it.

use crate::config::ServerConfig;
use crate::limiter::Limiter;
use crate::verifier::Verifier;
use latchkey_store::Store;
use std::sync::Arc;

/// Store lookups that throttled callers may run at once, on one node.
pub const THROTTLED_LOOKUPS: usize = 1;

/// What every handler can reach: a handle on the node's [`Shared`] state, cloned for every
/// request (one reference count, whatever the state holds).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    #[inline]
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The node's state behind an [`AppState`].
pub struct Shared {
    /// The node's verifier (and through it, the store and the configuration).
    pub verifier: Arc<Verifier>,
    /// Failed authentications per client address.
    pub auth_failures: Arc<Limiter>,
    /// Failed password sign-ins per account and e-mail.
    pub password_failures: Arc<Limiter<crate::limiter::CredentialKey>>,
    /// Failed token authentications per presented token.
    pub credential_failures: Arc<crate::limiter::CredentialFailures>,
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
        AppState(Arc::new(Shared {
            auth_failures: Arc::new(Limiter::new(
                config.failed_auth_limit,
                config.failed_auth_window_secs,
            )),
            password_failures: Arc::new(Limiter::new(
                config.failed_auth_limit,
                config.failed_auth_window_secs,
            )),
            credential_failures: Arc::new(crate::limiter::CredentialFailures::new(
                config.failed_auth_limit,
                config.failed_auth_window_secs,
            )),
            throttled_lookups: Arc::new(tokio::sync::Semaphore::new(THROTTLED_LOOKUPS)),
            leak_reports: Arc::new(Limiter::new(config.leak_reports_per_hour, 3600)),
            route_map: Arc::new(
                config
                    .route_map
                    .clone()
                    .unwrap_or_else(crate::route_map::RouteMap::builtin),
            ),
            admin_budget: Arc::new(crate::budget::AdminBudget::new(&config)),
            verifier: Arc::new(Verifier::new(store, config)),
        }))
    }
}
