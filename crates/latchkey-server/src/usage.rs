//! `last_used_at`: noted in memory when a token authenticates (at most once per token per
//! granularity window, [`crate::ServerConfig::usage_granularity`]) and written to the store in
//! batches. A batch the store refuses is
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
pub struct UsageLog {
    /// Seconds between two uses of one token that are both written.
    granularity: i64,
    /// Entries whose use changed since they were last taken (each at most once).
    pending: Mutex<Vec<Arc<CachedPrincipal>>>,
    /// Last use, in Unix seconds, of tokens a refused batch held.
    unwritten: Mutex<HashMap<(TokenKind, TokenId), i64>>,
}

impl UsageLog {
    /// A log writing each token's use at most once per `granularity` (at least a second).
    pub fn new(granularity: std::time::Duration) -> UsageLog {
        UsageLog {
            granularity: i64::try_from(granularity.as_secs())
                .unwrap_or(i64::MAX)
                .max(1),
            pending: Mutex::default(),
            unwritten: Mutex::default(),
        }
    }

    /// Notes that `entry` authenticated in second `now_secs`: kept when it is the first use
    /// since the entry was loaded or the granularity window after the last one kept, dropped
    /// otherwise (the hit path's common case: one load and one compare).
    #[inline]
    pub fn note(&self, entry: &Arc<CachedPrincipal>, now_secs: i64) {
        let kept = entry.last_used.load(Relaxed);
        if kept == 0 || now_secs >= kept.saturating_add(self.granularity) {
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

#[cfg(test)]
mod tests {
    use super::UsageLog;
    use crate::cache::{CachedPrincipal, PrincipalLoad};
    use crate::clock::UnixMicros;
    use latchkey_core::{AccountId, TokenDigest, TokenId, TokenKind};
    use std::sync::Arc;
    use std::time::Duration;

    fn entry(id: i64) -> Arc<CachedPrincipal> {
        Arc::new(CachedPrincipal::new(
            TokenDigest([id as u8; 32]),
            PrincipalLoad {
                kind: TokenKind::Service,
                id: TokenId(id),
                account_id: AccountId(1),
                user_id: None,
                active: true,
                expires_at: None,
                loaded_at: UnixMicros(0),
                permissions: Arc::default(),
                network: None,
            },
        ))
    }

    fn taken(log: &UsageLog) -> Vec<(i64, i64)> {
        let mut batch: Vec<_> = log
            .take()
            .into_iter()
            .map(|(_, id, at)| (id.0, at.unix_timestamp()))
            .collect();
        batch.sort_unstable();
        batch
    }

    #[test]
    fn a_token_in_constant_use_is_written_once_a_window() {
        let log = UsageLog::new(Duration::from_secs(60));
        let (a, b) = (entry(1), entry(2));
        let start = 1_800_000_000;
        log.note(&a, start);
        log.note(&a, start + 1);
        log.note(&b, start + 30);
        assert_eq!(
            taken(&log),
            [(1, start), (2, start + 30)],
            "first uses are kept"
        );
        for second in start + 2..start + 60 {
            log.note(&a, second);
        }
        assert_eq!(
            taken(&log),
            [],
            "uses inside the window are not written again"
        );
        log.note(&a, start + 60);
        log.note(&a, start + 61);
        log.note(&b, start + 61);
        assert_eq!(
            taken(&log),
            [(1, start + 60)],
            "the window's first use, once"
        );
    }

    #[test]
    fn a_one_second_granularity_keeps_every_new_second() {
        let log = UsageLog::new(Duration::ZERO);
        let a = entry(1);
        log.note(&a, 100);
        log.note(&a, 100);
        log.note(&a, 101);
        assert_eq!(taken(&log), [(1, 101)]);
    }
}
