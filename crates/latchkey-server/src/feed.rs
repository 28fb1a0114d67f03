//! Background tasks that keep a node's cache honest: the change-feed reader (evicts what changed,
//! clears everything if the feed is lost, and revokes rotated-out tokens whose overlap ended),
//! on PostgreSQL the listener that wakes it as changes commit on any node, and the
//! `last_used_at` flusher.

use crate::clock::{Micros, UnixMicros};
use crate::verifier::{now_unix, Verifier};
use latchkey_store::ChangeKind;
use latchkey_store::ChangeListener;
use latchkey_store::CredentialSource;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// The first wait before reconnecting a lost listener, doubled after each failed attempt.
const RECONNECT_FIRST: Duration = Duration::from_millis(50);
/// The longest wait between reconnection attempts.
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Applies every change after `seq`; returns the new position. Each change evicts what it
/// names — one token, one project's owner, one user's personal tokens, or (for a plan or IP-rule
/// change) the account's entries. On a store error everything is dropped, since changes may
/// have been missed.
pub async fn apply_changes(verifier: &Verifier, mut seq: i64) -> i64 {
    loop {
        let read = verifier
            .metrics()
            .timed(
                crate::metrics::StoreCall::ChangesSince,
                verifier.store().changes_since(seq, 1000),
            )
            .await;
        match read {
            Ok(changes) => {
                verifier.feed().read_ok(now_unix(), changes.len() as u64);
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
                verifier.feed().read_failed();
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

/// Keeps a listening connection and wakes the feed reader each time a change commits on any
/// node. When the connection is lost, the node may have missed changes: it clears its caches at
/// once (a stale allow is worse than a miss), wakes the reader, and reconnects with backoff.
async fn listen(verifier: Arc<Verifier>, mut listener: ChangeListener, wake: Arc<Notify>) {
    verifier.feed().set_listens();
    let mut backoff = RECONNECT_FIRST;
    loop {
        match listener.changed().await {
            Ok(()) => {
                verifier.feed().set_listening(true);
                backoff = RECONNECT_FIRST;
            }
            Err(e) => {
                tracing::warn!(error = %e, "change listener lost; clearing the cache, reconnecting");
                verifier.feed().set_listening(false);
                forget_everything(&verifier);
                wake.notify_one();
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RECONNECT_MAX);
            }
        }
        wake.notify_one();
    }
}

/// Starts the feed reader, the listener (PostgreSQL) and the flusher. The reader starts from
/// the feed's current end (the cache is empty at start, so nothing older matters) and reads on
/// every wake from the listener and every `change_poll`, whichever comes first.
pub async fn spawn(
    verifier: Arc<Verifier>,
) -> Result<Vec<JoinHandle<()>>, latchkey_store::StoreError> {
    let start = verifier.store().latest_change().await?;
    verifier.feed().read_ok(now_unix(), 0);
    let wake = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    if let Some(listener) = verifier.store().change_listener() {
        tasks.push(tokio::spawn(listen(
            verifier.clone(),
            listener,
            wake.clone(),
        )));
    }
    let poller = {
        let verifier = verifier.clone();
        tokio::spawn(async move {
            let mut seq = start;
            let mut last_sweep = now_unix();
            let mut tick = tokio::time::interval(verifier.config().change_poll);
            let mut last_rotation_sweep = now_unix();
            let mut last_prune = 0;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = wake.notified() => {}
                }
                // Rotated-out tokens past their overlap are revoked for good, once, by whichever
                // node gets there first (the verifier already refuses them from revoke_at on).
                if now_unix() != last_rotation_sweep {
                    last_rotation_sweep = now_unix();
                    if let Err(e) = verifier.store().revoke_due().await {
                        tracing::warn!(error = %e, "could not revoke rotated-out tokens");
                    }
                    // Old change-feed rows go, once a minute on each node.
                    if last_rotation_sweep - last_prune >= 60 {
                        last_prune = last_rotation_sweep;
                        if let Err(e) = verifier.store().prune_changes().await {
                            tracing::warn!(error = %e, "could not prune the change feed");
                        }
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
    tasks.push(poller);
    tasks.push(flusher);
    Ok(tasks)
}
