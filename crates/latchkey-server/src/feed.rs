//! Background tasks that keep a node's cache honest: the change-feed poller (evicts what changed,
//! clears everything if the feed is lost, and revokes rotated-out tokens whose overlap ended)
//! and the `last_used_at` flusher.

use crate::clock::{Micros, UnixMicros};
use crate::verifier::{now_unix, Verifier};
use latchkey_store::ChangeKind;
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Applies every change after `seq`; returns the new position. Each change evicts what it
/// names — one token, one project's owner, one user's personal tokens, or (for a plan or IP-rule
/// change) the account's entries. On a store error everything is dropped, since changes may
/// have been missed.
pub async fn apply_changes(verifier: &Verifier, mut seq: i64) -> i64 {
    loop {
        match verifier.store().changes_since(seq, 1000).await {
            Ok(changes) => {
                let done = changes.len() < 1000;
                for change in &changes {
                    match (change.kind, change.account_id) {
                        (ChangeKind::Token(digest), _) => verifier.cache().remove(&digest),
                        (ChangeKind::Project(project), _) => verifier.owners().remove(project),
                        (ChangeKind::User(user), _) => verifier.cache().remove_user(user),
                        (ChangeKind::Account, Some(account)) => {
                            verifier.cache().remove_account(account);
                        }
                        (ChangeKind::Account, None) => forget_everything(verifier),
                    }
                    seq = change.seq;
                }
                if done {
                    return seq;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "change feed unreadable; clearing the cache");
                forget_everything(verifier);
                return seq;
            }
        }
    }
}

fn forget_everything(verifier: &Verifier) {
    verifier.cache().clear();
    verifier.owners().clear();
}

/// Starts the poller and the flusher. The poller starts from the feed's current end: the cache
/// is empty at start, so nothing older matters.
pub async fn spawn(
    verifier: Arc<Verifier>,
) -> Result<Vec<JoinHandle<()>>, latchkey_store::StoreError> {
    let start = verifier.store().latest_change().await?;
    let poller = {
        let verifier = verifier.clone();
        tokio::spawn(async move {
            let mut seq = start;
            let mut last_sweep = now_unix();
            let mut tick = tokio::time::interval(verifier.config().change_poll);
            let mut last_rotation_sweep = now_unix();
            loop {
                tick.tick().await;
                // Rotated-out tokens past their overlap are revoked for good, once, by whichever
                // node gets there first (the verifier already refuses them from revoke_at on).
                if now_unix() != last_rotation_sweep {
                    last_rotation_sweep = now_unix();
                    if let Err(e) = verifier.store().revoke_due().await {
                        tracing::warn!(error = %e, "could not revoke rotated-out tokens");
                    }
                }
                seq = apply_changes(&verifier, seq).await;
                let ttl = verifier.config().negative_ttl;
                let now = now_unix();
                if now - last_sweep >= i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1) {
                    let now = UnixMicros::now();
                    verifier
                        .cache()
                        .expire_negative(UnixMicros(now.0.saturating_sub(Micros::from(ttl).0)));
                    last_sweep = now.secs();
                }
            }
        })
    };
    let flusher = {
        let verifier = verifier.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(verifier.config().usage_flush);
            loop {
                tick.tick().await;
                if let Err(e) = verifier.flush_usage().await {
                    tracing::warn!(error = %e, "could not flush last_used_at");
                }
            }
        })
    };
    Ok(vec![poller, flusher])
}
