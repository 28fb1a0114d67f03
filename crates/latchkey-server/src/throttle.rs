//! Failed-authentication throttling, and authenticating a presented token under it.
//!
//! Failures are counted per client address ([`AppState::auth_failures`]) and per presented
//! credential ([`AppState::credential_failures`]), separately; either over its limit turns the
//! failure's 401 into a 429 with `Retry-After`. Neither ever refuses a token that verifies: one
//! noisy client behind a shared address (a NAT, a proxy, a CI fleet) must not lock out the
//! honest ones behind it.
//!
//! What keeps guessing bounded instead: a token the cache knows (valid or not) is answered from
//! memory, and only a cache miss reaches the store. A miss from a throttled address queues for
//! the node's one store slot for throttled callers ([`crate::state::THROTTLED_LOOKUPS`]), so guessing from any
//! number of throttled addresses occupies at most that much of the store however fast it comes,
//! while a valid token from the same address waits its turn there and is served (and cached, so
//! its next call does not wait). A credential that keeps failing is not looked up at all until
//! its window ends.
//!
//! The hot path — a token in the cache — touches no counter.

use crate::clock::UnixMicros;
use crate::error::ApiError;
use crate::state::AppState;
use crate::verifier::{AuthError, Principal};
use std::net::IpAddr;

/// Authenticates a presented token: the principal if it verifies, whoever else failed from
/// the caller's address, and whether it came from the cache (which the caller counts with its
/// decision); otherwise the failure, counted ([`failed`]).
pub async fn authenticate(
    state: &AppState,
    ip: Option<IpAddr>,
    secret: &str,
    clock: UnixMicros,
) -> Result<(Principal, bool), ApiError> {
    let now = clock.secs();
    let outcome = match state.verifier.authenticate_cached(secret, clock, ip) {
        Ok(Some(principal)) => return Ok((principal, true)),
        Ok(None) => look_up(state, ip, secret, clock).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(principal) => Ok((principal, false)),
        Err(AuthError::Unauthenticated) => Err(failed(state, ip, Some(secret), now)),
        Err(e) => Err(e.into()),
    }
}

/// A cache miss: the store decides, through the throttled callers' slot for a throttled address.
async fn look_up(
    state: &AppState,
    ip: Option<IpAddr>,
    secret: &str,
    clock: UnixMicros,
) -> Result<Principal, AuthError> {
    let now = clock.secs();
    if state.credential_failures.check(secret, now).is_err() {
        // It failed again and again in this window; it will not verify now.
        return Err(AuthError::Unauthenticated);
    }
    let throttled = ip.is_some_and(|ip| state.auth_failures.check(ip, now).is_err());
    // The semaphore is never closed; were it, the lookup would simply go unqueued.
    let _turn = if throttled {
        state.throttled_lookups.acquire().await.ok()
    } else {
        None
    };
    state.verifier.authenticate_from(secret, clock, ip).await
}

/// Counts a failed authentication against the client address and, when one was presented, the
/// credential: the one 401, or 429 once either has failed past its limit.
pub fn failed(
    state: &AppState,
    ip: Option<IpAddr>,
    credential: Option<&str>,
    now: i64,
) -> ApiError {
    let by_address = ip.map_or(Ok(()), |ip| state.auth_failures.hit(ip, now));
    let by_credential = credential.map_or(Ok(()), |c| state.credential_failures.hit(c, now));
    match (by_address, by_credential) {
        (Err(a), Err(b)) => ApiError::TooManyRequests(a.max(b)),
        (Err(secs), Ok(())) | (Ok(()), Err(secs)) => ApiError::TooManyRequests(secs),
        (Ok(()), Ok(())) => ApiError::Unauthenticated,
    }
}
