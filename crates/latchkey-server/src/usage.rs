//! `last_used_at` and `last_used_ip`: noted in memory when a token authenticates (at most once
//! per token per granularity window, [`crate::ServerConfig::usage_granularity`]) and written to
//! the store in batches. A batch the store refuses is kept and written with the next one, up to
//! a bound, so an outage of the store loses no usage short of that bound.

use crate::cache::CachedPrincipal;
use crate::metrics::{Metrics, StoreCall};
use latchkey_core::{TokenId, TokenKind};
use latchkey_store::{CredentialSource, Store, StoreError, TokenUse};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, PoisonError};
use time::OffsetDateTime;

/// Most tokens whose unwritten use is kept while the store refuses batches; past it the rest of
/// a refused batch is dropped (and logged). At about 48 bytes a token this bounds the memory.
pub const MAX_UNWRITTEN: usize = 100_000;

/// Most uses noted between two flushes (each token adds at most one a granularity window, so
/// this is reached only when flushes stall for many windows); past it a use is not noted, and
/// that token's `last_used_at` lags one window more. About 40 bytes a use.
pub const MAX_PENDING: usize = 1_000_000;

/// One kept use, waiting for the next flush.
#[derive(Clone, Copy)]
struct Use {
    kind: TokenKind,
    id: TokenId,
    /// Unix seconds.
    at: i64,
    ip: Option<IpAddr>,
}

/// A token's latest unwritten use: Unix seconds and the client address.
type LatestUse = (i64, Option<IpAddr>);

/// Makes `latest` the use at `at` from `ip` unless it is older: a use with no known address
/// keeps the last known one; of two in one second, the later kept wins.
fn later(latest: &mut LatestUse, at: i64, ip: Option<IpAddr>) {
    if at >= latest.0 {
        *latest = (at, ip.or(latest.1));
    }
}

/// The usage noted since the last flush, and what earlier flushes could not write.
pub struct UsageLog {
    /// Seconds between two uses of one token that are both written.
    granularity: i64,
    /// Uses kept since the last flush, in the order they were kept.
    pending: Mutex<Vec<Use>>,
    /// The latest use (Unix seconds, address) of tokens a refused batch held.
    unwritten: Mutex<HashMap<(TokenKind, TokenId), LatestUse>>,
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

    /// Notes that `entry` authenticated in second `now_secs` from `ip`: kept when it is the
    /// first use since the entry was loaded or the granularity window after the last one kept,
    /// dropped otherwise (the hit path's common case: one load and one compare).
    #[inline]
    pub fn note(&self, entry: &CachedPrincipal, now_secs: i64, ip: Option<IpAddr>) {
        let kept = entry.last_used.load(Relaxed);
        if kept == 0 || now_secs >= kept.saturating_add(self.granularity) {
            self.keep_use(entry, now_secs, ip);
        }
    }

    /// The rare half of [`UsageLog::note`]: a use to write.
    #[cold]
    fn keep_use(&self, entry: &CachedPrincipal, now_secs: i64, ip: Option<IpAddr>) {
        // Two threads may both keep the same window's use; the flush writes the latest once.
        entry.last_used.store(now_secs, Relaxed);
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() < MAX_PENDING {
            pending.push(Use {
                kind: entry.kind,
                id: entry.id,
                at: now_secs,
                ip,
            });
        }
    }

    /// Takes everything to write: the unwritten uses and the pending ones, one per token (the
    /// latest, with its address; of two in one second, the one kept last).
    pub fn take(&self) -> Vec<TokenUse> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut batch = std::mem::take(
            &mut *self
                .unwritten
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for u in pending {
            batch
                .entry((u.kind, u.id))
                .and_modify(|latest| later(latest, u.at, u.ip))
                .or_insert((u.at, u.ip));
        }
        batch
            .into_iter()
            .filter_map(|((kind, id), (at, ip))| {
                Some(TokenUse {
                    kind,
                    id,
                    at: OffsetDateTime::from_unix_timestamp(at).ok()?,
                    ip,
                })
            })
            .collect()
    }

    /// Keeps a batch the store refused, for the next flush; returns how many uses had to be
    /// dropped to stay within [`MAX_UNWRITTEN`].
    pub fn keep(&self, batch: Vec<TokenUse>) -> usize {
        let mut unwritten = self
            .unwritten
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut dropped = 0;
        for u in batch {
            let at = u.at.unix_timestamp();
            let room = unwritten.len() < MAX_UNWRITTEN;
            match unwritten.entry((u.kind, u.id)) {
                Entry::Occupied(mut latest) => later(latest.get_mut(), at, u.ip),
                Entry::Vacant(slot) if room => {
                    slot.insert((at, u.ip));
                }
                Entry::Vacant(_) => dropped += 1,
            }
        }
        dropped
    }

    /// Uses waiting to be written: kept since the last flush, or kept from a refused batch (a
    /// token in both counts twice; this is a gauge, not an inventory).
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
    use crate::cache::CachedPrincipal;
    use latchkey_core::TokenDigest;
    use std::net::IpAddr;
    use std::sync::Arc;
    use std::time::Duration;

    fn entry(id: i64) -> Arc<CachedPrincipal> {
        CachedPrincipal::test_service(TokenDigest([id as u8; 32]), id)
    }

    fn taken(log: &UsageLog) -> Vec<(i64, i64)> {
        let mut batch: Vec<_> = log
            .take()
            .into_iter()
            .map(|u| (u.id.0, u.at.unix_timestamp()))
            .collect();
        batch.sort_unstable();
        batch
    }

    #[test]
    fn a_token_in_constant_use_is_written_once_a_window() {
        let log = UsageLog::new(Duration::from_secs(60));
        let (a, b) = (entry(1), entry(2));
        let start = 1_800_000_000;
        log.note(&a, start, None);
        log.note(&a, start + 1, None);
        log.note(&b, start + 30, None);
        assert_eq!(
            taken(&log),
            [(1, start), (2, start + 30)],
            "first uses are kept"
        );
        for second in start + 2..start + 60 {
            log.note(&a, second, None);
        }
        assert_eq!(
            taken(&log),
            [],
            "uses inside the window are not written again"
        );
        log.note(&a, start + 60, None);
        log.note(&a, start + 61, None);
        log.note(&b, start + 61, None);
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
        log.note(&a, 100, None);
        log.note(&a, 100, None);
        log.note(&a, 101, None);
        assert_eq!(taken(&log), [(1, 101)]);
    }

    #[test]
    fn the_latest_use_carries_its_address_and_an_unknown_one_keeps_the_last_known() {
        let log = UsageLog::new(Duration::ZERO);
        let a = entry(1);
        let (x, y): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "2001:db8::7".parse().unwrap());
        log.note(&a, 100, Some(x));
        log.note(&a, 101, Some(y));
        let batch = log.take();
        assert_eq!(batch.len(), 1);
        assert_eq!((batch[0].at.unix_timestamp(), batch[0].ip), (101, Some(y)));
        // Refused by the store, then a use from an unknown address: the time moves, the
        // address stays the last known.
        log.keep(batch);
        log.note(&a, 102, None);
        let batch = log.take();
        assert_eq!((batch[0].at.unix_timestamp(), batch[0].ip), (102, Some(y)));
        // An older use kept from a refused batch never replaces a newer one.
        log.keep(vec![latchkey_store::TokenUse {
            at: time::OffsetDateTime::from_unix_timestamp(50).unwrap(),
            ip: Some(x),
            ..batch[0]
        }]);
        log.keep(batch);
        let batch = log.take();
        assert_eq!((batch[0].at.unix_timestamp(), batch[0].ip), (102, Some(y)));
    }
}
