//! Fixed-window counters per client address: failed-authentication throttling and the
//! leaked-credential report's budget.
//!
//! On the hot path a check is one atomic load while no address is blocked; the map is only
//! read when some address is over its limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

const SHARDS: usize = 16;
/// Entries per shard before old windows are swept.
const SHARD_CAPACITY: usize = 4096;

/// Counts events per address in windows of `window` seconds. [`Limiter::hit`] refuses the event
/// past `limit`; [`Limiter::check`] refuses an address that has used its `limit` already.
pub struct Limiter {
    limit: u32,
    window: i64,
    shards: Vec<Mutex<HashMap<IpAddr, (i64, u32)>>>,
    /// The latest time until which any address is blocked; before it, checks consult the map.
    blocked_until: AtomicI64,
}

impl Limiter {
    /// `limit` events per `window_secs` seconds.
    pub fn new(limit: u32, window_secs: i64) -> Limiter {
        Limiter {
            limit,
            window: window_secs.max(1),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            blocked_until: AtomicI64::new(0),
        }
    }

    fn shard(&self, ip: &IpAddr) -> &Mutex<HashMap<IpAddr, (i64, u32)>> {
        let byte = match ip {
            IpAddr::V4(v4) => v4.octets()[3],
            IpAddr::V6(v6) => v6.octets()[15],
        };
        &self.shards[byte as usize % SHARDS]
    }

    /// `Err(seconds until allowed)` if the address is over its limit now.
    #[inline]
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), u64> {
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
    pub fn hit(&self, ip: IpAddr, now: i64) -> Result<(), u64> {
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
        let l = Limiter::new(3, 60);
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
