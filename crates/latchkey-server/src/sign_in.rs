//! Password sign-in for routes that act for a user (HTTP Basic with e-mail and password).
//!
//! Argon2 is the one thing an anonymous caller can make the server spend memory and CPU on, so
//! it is bounded three ways before any hashing: the client address's failure budget (checked by
//! the guard), a failure budget per account and e-mail (a guessed password for one person from a
//! thousand addresses still stops), and the store's few hashing permits (429 at once when all are
//! taken, never a queue).

use crate::error::ApiError;
use crate::limiter::CredentialKey;
use crate::state::AppState;
use latchkey_core::{AccountId, Secret};
use std::collections::hash_map::RandomState;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// The failure-budget key of a person to sign in as: the account and the e-mail (case folded),
/// hashed with a key chosen at start (the same keyed hash as presented credentials), so nobody
/// can aim collisions at one shard.
pub fn email_key(account: AccountId, email: &str) -> CredentialKey {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    let person = format!("{}:{}", account.0, email.trim().to_lowercase());
    CredentialKey::of(KEYS.get_or_init(RandomState::new), &person)
}

/// Signs a user in with e-mail and password for one account: the same 401 for every wrong
/// credential, 404 without a seat there, and the account's IP rules as for tokens. Refused
/// with 429 before any hashing once the address or the e-mail has used its failures.
pub async fn sign_in(
    state: &AppState,
    ip: Option<IpAddr>,
    now: i64,
    account: AccountId,
    email: &str,
    password: Secret,
) -> Result<SignedIn, ApiError> {
    let key = email_key(account, email);
    state
        .password_failures
        .check(key, now)
        .map_err(ApiError::TooManyRequests)?;
    let store = state.verifier.store();
    let Some(user) = store.sign_in(account, email, &password).await? else {
        let _ = state.password_failures.hit(key, now);
        if let Some(ip) = ip {
            let _ = state.auth_failures.hit(ip, now);
        }
        return Err(ApiError::Unauthenticated);
    };
    seat(state, ip, account, user.id, user.email).await
}

/// The signed-in user `user_id` (with `email`) in `account`: their seat, their permissions
/// there (license and groups, under the account's plan), and the account's IP rules for
/// sign-ins checked against `ip`. 404 without a seat.
pub async fn seat(
    state: &AppState,
    ip: Option<IpAddr>,
    account: AccountId,
    user_id: latchkey_core::UserId,
    email: String,
) -> Result<SignedIn, ApiError> {
    let store = state.verifier.store();
    let membership = store
        .membership(account, user_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if let Some(rules) = store.sign_in_fence(account).await? {
        if !ip.is_some_and(|ip| rules.permits(ip)) {
            return Err(ApiError::IpDenied {
                account_id: account.0,
                user_id: Some(user_id.0),
                is_service_token: false,
                account_access_denied: true,
            });
        }
    }
    let plan = store
        .account(account)
        .await?
        .ok_or(ApiError::NotFound)?
        .plan;
    Ok(SignedIn {
        account,
        user_id,
        email,
        license: membership.license,
        permissions: Arc::new(membership.access.permissions(plan)),
        ip,
    })
}

/// A user signed in with e-mail and password for one request (routes that act for a user).
#[derive(Clone, Debug)]
pub struct SignedIn {
    /// The account in the path, where the user holds a seat.
    pub account: AccountId,
    /// Who.
    pub user_id: latchkey_core::UserId,
    /// Their e-mail, for the audit log.
    pub email: String,
    /// Their seat.
    pub license: latchkey_core::License,
    /// Their permissions in the account.
    pub permissions: Arc<latchkey_core::EffectivePermissions>,
    /// The client address.
    pub ip: Option<IpAddr>,
}
