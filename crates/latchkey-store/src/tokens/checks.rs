//! The checks a token passes before it is written: its name, its expiry, an allowlist that would
//! fence the caller out, and the measure of a token's power when someone wants to change it.

use crate::records::*;
use crate::{now, StoreError};
use latchkey_core::{EffectivePermissions, Grant, Plan, TokenId};
use time::OffsetDateTime;

/// Refuses a token fencing itself out: an allowlist it sets on itself must hold the address it
/// calls from (an unknown address cannot be shown to be held).
pub(crate) fn check_not_fencing_itself_out(
    actor: &Actor,
    id: TokenId,
    cidrs: &[latchkey_core::Cidr],
) -> Result<(), StoreError> {
    if actor.kind != ActorKind::ServiceToken || actor.id != Some(id.0) || cidrs.is_empty() {
        return Ok(());
    }
    let ip = actor
        .ip
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if ip.is_some_and(|ip| cidrs.iter().any(|c| c.contains(ip))) {
        return Ok(());
    }
    Err(StoreError::Conflict(
        "allowed_cidrs: this allowlist would shut this token out of the address it is calling \
         from; include that address, or have another token set it"
            .into(),
    ))
}

/// What a token's grants give it on the widest plan: the measure of its power when someone
/// wants to change it.
pub(crate) fn token_permissions(token: &ServiceToken) -> EffectivePermissions {
    let grants: Vec<Grant> = token.grants.iter().map(|g| g.grant).collect();
    EffectivePermissions::for_service_token(&grants, Plan::Enterprise)
}

/// A token's name follows the one rule for names.
pub(crate) fn check_token_name(name: &str) -> Result<(), StoreError> {
    crate::accounts::input::check_name("token name", name)
}

/// An expiry, when there is one, lies in the future.
pub(crate) fn check_expiry(expires_at: Option<OffsetDateTime>) -> Result<(), StoreError> {
    match expires_at {
        Some(t) if t <= now() => Err(StoreError::field(
            "expires_at",
            "expires_at must be in the future",
        )),
        _ => Ok(()),
    }
}
