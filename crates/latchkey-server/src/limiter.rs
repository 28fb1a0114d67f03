//! Fixed-window counters per key: failed-authentication throttling and the leaked-credential
//! report's budget (per client address), and the Admin API budget (per account).
//!
//! On the hot path a check is one atomic load while no key is blocked; the map is only read
//! when some key is over its limit.

use latchkey_core::AccountId;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

const SHARDS: usize = 16;
/// Entries per shard before old windows are swept.
const SHARD_CAPACITY: usize = 4096;

/// What a limiter counts by; picks the key's shard cheaply.
pub trait LimitKey: Copy + Eq + Hash {
    /// A byte that spreads keys over shards.
    fn shard_byte(&self) -> u8;
}

impl LimitKey for IpAddr {
    fn shard_byte(&self) -> u8 {
        match self {
            IpAddr::V4(v4) => v4.octets()[3],
            IpAddr::V6(v6) => v6.octets()[15],
        }
    }
}

impl LimitKey for AccountId {
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
    /// The latest time until which any address is blocked; before it, checks consult the map.
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

    fn shard(&self, key: &K) -> &Mutex<HashMap<K, (i64, u32)>> {
        &self.shards[key.shard_byte() as usize % SHARDS]
    }

    /// `Err(seconds until allowed)` if the key is over its limit now.
    #[inline]
    pub fn check(&self, ip: K, now: i64) -> Result<(), u64> {
        if now >= self.blocked_until.load(Ordering::Relaxed) {
            return Ok(());
        }
        let shard = self.shard(&ip).lock().expect("limiter lock");
        match shard.get(&ip) {
            Some(&(start, count)) if count >= self.limit && now < start + self.window => {
                Err((start + self.window - now) as u64)
            }
            _ => Ok(()),
        }
    }

    /// Counts one event; `Err(seconds until allowed)` if this event is over the limit.
    pub fn hit(&self, ip: K, now: i64) -> Result<(), u64> {
        let mut shard = self.shard(&ip).lock().expect("limiter lock");
        if shard.len() >= SHARD_CAPACITY {
            let window = self.window;
            shard.retain(|_, (start, _)| now < *start + window);
        }
        let entry = shard.entry(ip).or_insert((now, 0));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_past_its_limit_until_the_window_ends() {
        let l: Limiter = Limiter::new(3, 60);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..2 {
            assert!(l.hit(ip, 1000).is_ok());
        }
        assert_eq!(l.check(ip, 1000), Ok(()));
        assert!(
            l.hit(ip, 1000).is_ok(),
            "the third event is within the limit"
        );
        assert_eq!(l.check(ip, 1000), Err(60), "but the limit is used up");
        assert_eq!(l.hit(ip, 1000), Err(60));
        assert_eq!(l.check(ip, 1030), Err(30));
        assert_eq!(l.check(other, 1030), Ok(()));
        assert_eq!(l.check(ip, 1060), Ok(()));
        assert!(l.hit(ip, 1060).is_ok(), "a new window starts afresh");
    }
}
