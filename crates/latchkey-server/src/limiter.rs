//! Fixed-window counters per key: what the failed-authentication throttle (per client address,
//! per presented credential), the leaked-credential report's budget (per address) and the Admin
//! API budget (per token, per account) count with. What is counted, and what a count over its
//! limit means, is for their callers ([`crate::throttle`], [`crate::budget`]).
//!
//! On the hot path a check is one atomic load while no key is blocked; the map is only read
//! when some key is over its limit. Memory is bounded: a shard that fills up forgets expired
//! windows, then counts below their limit, and never a key that is blocked.

use latchkey_core::AccountId;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

const SHARDS: usize = 16;
/// Keys per shard; past it, old windows and then unblocked counts are forgotten.
const SHARD_CAPACITY: usize = 4096;

/// What a limiter counts by; picks the key's shard cheaply.
pub trait LimitKey: Copy + Eq + Hash {
    /// A byte that spreads keys over shards.
    fn shard_byte(&self) -> u8;

    /// The key events are counted under (for most keys, the key itself).
    fn bucket(self) -> Self {
        self
    }
}

impl LimitKey for IpAddr {
    fn shard_byte(&self) -> u8 {
        match self {
            IpAddr::V4(v4) => v4.octets()[3],
            IpAddr::V6(v6) => v6.octets()[7],
        }
    }

    /// An IPv4-mapped IPv6 address counts as its IPv4 address, and an IPv6 address as its /64:
    /// one client usually holds a whole /64, and must not escape its count by walking it.
    fn bucket(self) -> Self {
        match self.to_canonical() {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
            v4 @ IpAddr::V4(_) => v4,
        }
    }
}

impl LimitKey for AccountId {
    fn shard_byte(&self) -> u8 {
        self.0 as u8
    }
}

/// A presented credential as a counter key: a keyed 64-bit hash of it, so the counters hold no
/// secret and nobody outside the process can aim a key at another's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CredentialKey(u64);

impl CredentialKey {
    /// The key of `credential` under the process's hash `keys`.
    pub fn of(keys: &impl BuildHasher, credential: &str) -> CredentialKey {
        CredentialKey(keys.hash_one(credential))
    }
}

impl LimitKey for CredentialKey {
    fn shard_byte(&self) -> u8 {
        self.0 as u8
    }
}

/// Counts events per key in windows of `window` seconds. [`Limiter::hit`] refuses the event
/// past `limit`; [`Limiter::check`] refuses a key that has used its `limit` already.
pub struct Limiter<K: LimitKey = IpAddr> {
    limit: u32,
    window: i64,
    shards: Vec<Mutex<HashMap<K, (i64, u32)>>>,
    /// The latest time until which any key is blocked; before it, checks consult the map.
    blocked_until: AtomicI64,
}

impl<K: LimitKey> Limiter<K> {
    /// `limit` events per `window_secs` seconds.
    pub fn new(limit: u32, window_secs: i64) -> Limiter<K> {
        Limiter {
            limit,
            window: window_secs.max(1),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            blocked_until: AtomicI64::new(0),
        }
    }

    /// The events allowed per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    fn shard(&self, key: &K) -> MutexGuard<'_, HashMap<K, (i64, u32)>> {
        // A panic while counting cannot leave a count half-written; keep counting.
        self.shards[key.shard_byte() as usize % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// True while some key may be blocked: one atomic load, for callers that must do work
    /// (hash a credential) before they can [`Limiter::check`].
    #[inline]
    pub fn is_blocking(&self, now: i64) -> bool {
        now < self.blocked_until.load(Ordering::Relaxed)
    }

    /// `Err(seconds until allowed)` if the key is over its limit now.
    #[inline]
    pub fn check(&self, key: K, now: i64) -> Result<(), u64> {
        if !self.is_blocking(now) {
            return Ok(());
        }
        let key = key.bucket();
        match self.shard(&key).get(&key) {
            Some(&(start, count)) if count >= self.limit && now < start + self.window => {
                Err((start + self.window - now) as u64)
            }
            _ => Ok(()),
        }
    }

    /// Counts one event; `Err(seconds until allowed)` if this event is over the limit.
    pub fn hit(&self, key: K, now: i64) -> Result<(), u64> {
        let key = key.bucket();
        let mut shard = self.shard(&key);
        if shard.len() >= SHARD_CAPACITY && !shard.contains_key(&key) {
            let (window, limit) = (self.window, self.limit);
            shard.retain(|_, (start, _)| now < *start + window);
            if shard.len() >= SHARD_CAPACITY {
                shard.retain(|_, (_, count)| *count >= limit);
            }
            if shard.len() >= SHARD_CAPACITY {
                // Every key here is blocked; a new key goes uncounted rather than grow the map.
                return Ok(());
            }
        }
        let entry = shard.entry(key).or_insert((now, 0));
        if now >= entry.0 + self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let until = entry.0 + self.window;
        if entry.1 >= self.limit {
            self.blocked_until.fetch_max(until, Ordering::Relaxed);
        }
        if entry.1 > self.limit {
            return Err((until - now) as u64);
        }
        Ok(())
    }
}

/// Failed authentications per presented credential, counted under a keyed hash of it.
pub struct CredentialFailures {
    limiter: Limiter<CredentialKey>,
    keys: RandomState,
}

impl CredentialFailures {
    /// `limit` failures per credential per `window_secs` seconds.
    pub fn new(limit: u32, window_secs: i64) -> CredentialFailures {
        CredentialFailures {
            limiter: Limiter::new(limit, window_secs),
            keys: RandomState::new(),
        }
    }

    /// `Err(seconds until allowed)` if `credential` has used its failures (one atomic load while
    /// no credential is blocked).
    pub fn check(&self, credential: &str, now: i64) -> Result<(), u64> {
        if !self.limiter.is_blocking(now) {
            return Ok(());
        }
        self.limiter
            .check(CredentialKey::of(&self.keys, credential), now)
    }

    /// Counts a failure of `credential`; `Err(seconds until allowed)` past its limit.
    pub fn hit(&self, credential: &str, now: i64) -> Result<(), u64> {
        self.limiter
            .hit(CredentialKey::of(&self.keys, credential), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_past_its_limit_until_the_window_ends() {
        let l: Limiter = Limiter::new(3, 60);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(!l.is_blocking(1000));
        for _ in 0..2 {
            assert!(l.hit(ip, 1000).is_ok());
        }
        assert_eq!(l.check(ip, 1000), Ok(()));
        assert!(
            l.hit(ip, 1000).is_ok(),
            "the third event is within the limit"
        );
        assert!(l.is_blocking(1000));
        assert_eq!(l.check(ip, 1000), Err(60), "but the limit is used up");
        assert_eq!(l.hit(ip, 1000), Err(60));
        assert_eq!(l.check(ip, 1030), Err(30));
        assert_eq!(l.check(other, 1030), Ok(()));
        assert_eq!(l.check(ip, 1060), Ok(()));
        assert!(!l.is_blocking(1060));
        assert!(l.hit(ip, 1060).is_ok(), "a new window starts afresh");
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_a_mapped_ipv4_as_itself() {
        let l: Limiter = Limiter::new(1, 60);
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.hit(a, 0).is_ok());
        assert_eq!(l.hit(b, 0), Err(60), "the same /64");
        assert_eq!(l.check(elsewhere, 0), Ok(()));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(l.hit(v4, 0).is_ok());
        assert_eq!(l.check(mapped, 0), Err(60));
        let other_mapped: IpAddr = "::ffff:192.0.2.8".parse().unwrap();
        assert_eq!(
            l.check(other_mapped, 0),
            Ok(()),
            "not one bucket for all of IPv4"
        );
    }

    #[test]
    fn a_flood_of_new_keys_is_bounded_and_never_frees_a_blocked_key() {
        let l: Limiter<CredentialKey> = Limiter::new(2, 60);
        let keys = std::collections::hash_map::RandomState::new();
        let stale = CredentialKey::of(&keys, "stale");
        for _ in 0..3 {
            let _ = l.hit(stale, 0);
        }
        for n in 0..(SHARDS * SHARD_CAPACITY * 2) {
            let _ = l.hit(CredentialKey::of(&keys, &n.to_string()), 1);
        }
        let kept: usize = l.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(kept <= SHARDS * SHARD_CAPACITY, "{kept}");
        assert!(
            l.check(stale, 1).is_err(),
            "the blocked key is still blocked"
        );
    }
}
