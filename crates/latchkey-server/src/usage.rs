//! `last_used_at`: noted in memory when a token authenticates (at most once per second per token,
//! one push per flush interval) and written to the store in batches. A batch the store refuses is
//! kept and written with the next one, up to a bound, so an outage of the store loses no usage
//! short of that bound.

use crate::cache::CachedPrincipal;
use crate::metrics::{Metrics, StoreCall};
use latchkey_core::{TokenId, TokenKind};
use latchkey_store::CredentialSource;
use latchkey_store::{Store, StoreError};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};
use time::OffsetDateTime;

/// Most tokens whose unwritten use is kept while the store refuses batches; past it the rest of
/// a refused batch is dropped (and logged). At about 40 bytes a token this bounds the memory.
pub const MAX_UNWRITTEN: usize = 100_000;

/// The usage noted since the last flush, and what earlier flushes could not write.
#[derive(Default)]
pub struct UsageLog {
    /// Entries whose use changed since they were last taken (each at most once).
    pending: Mutex<Vec<Arc<CachedPrincipal>>>,
    /// Last use, in Unix seconds, of tokens a refused batch held.
    unwritten: Mutex<HashMap<(TokenKind, TokenId), i64>>,
}

impl UsageLog {
    /// Notes that `entry` authenticated in second `now_secs`.
    #[inline]
    pub fn note(&self, entry: &Arc<CachedPrincipal>, now_secs: i64) {
        if entry.last_used.load(Relaxed) != now_secs {
            entry.last_used.store(now_secs, Relaxed);
            if !entry.usage_pending.swap(true, Relaxed) {
                self.pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(entry.clone());
            }
        }
    }

    /// Takes everything to write: the unwritten uses and the pending ones, one per token (the
    /// latest).
    pub fn take(&self) -> Vec<(TokenKind, TokenId, OffsetDateTime)> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut batch = std::mem::take(
            &mut *self
                .unwritten
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for p in pending {
            p.usage_pending.store(false, Relaxed);
            let at = p.last_used.load(Relaxed);
            let latest = batch.entry((p.kind, p.id)).or_insert(at);
            *latest = (*latest).max(at);
        }
        batch
            .into_iter()
            .filter_map(|((kind, id), at)| {
                Some((kind, id, OffsetDateTime::from_unix_timestamp(at).ok()?))
            })
            .collect()
    }

    /// Keeps a batch the store refused, for the next flush; returns how many uses had to be
    /// dropped to stay within [`MAX_UNWRITTEN`].
    pub fn keep(&self, batch: Vec<(TokenKind, TokenId, OffsetDateTime)>) -> usize {
        let mut unwritten = self
            .unwritten
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut dropped = 0;
        for (kind, id, at) in batch {
            let at = at.unix_timestamp();
            let room = unwritten.len() < MAX_UNWRITTEN;
            match unwritten.entry((kind, id)) {
                Entry::Occupied(mut latest) => {
                    let latest = latest.get_mut();
                    *latest = (*latest).max(at);
                }
                Entry::Vacant(slot) if room => {
                    slot.insert(at);
                }
                Entry::Vacant(_) => dropped += 1,
            }
        }
        dropped
    }

    /// Tokens whose use waits to be written: noted since the last flush, or kept from a
    /// refused batch (a token in both counts twice; this is a gauge, not an inventory).
    pub fn backlog(&self) -> usize {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let unwritten = self
            .unwritten
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        pending + unwritten
    }

    /// Writes everything noted (timed in `metrics`); on a store error the batch is kept for the
    /// next call.
    pub async fn flush(&self, store: &Store, metrics: &Metrics) -> Result<(), StoreError> {
        let batch = self.take();
        if batch.is_empty() {
            return Ok(());
        }
        let written = metrics
            .timed(StoreCall::RecordUsage, store.record_usage(&batch))
            .await;
        match written {
            Ok(()) => Ok(()),
            Err(e) => {
                let dropped = self.keep(batch);
                if dropped > 0 {
                    tracing::warn!(
                        dropped,
                        "last_used_at kept for too many tokens; some dropped"
                    );
                }
                Err(e)
            }
        }
    }
}
