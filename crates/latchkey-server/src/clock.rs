//! Instants as the verifier keeps them: whole microseconds since the Unix epoch, the precision
//! the store writes, so that an expiry or a rotation's `revoke_at` holds to the microsecond and
//! not to the whole second.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;

/// An instant in microseconds since the Unix epoch. Comparing two is one integer comparison,
/// so the hot path pays nothing for the precision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMicros(pub i64);

impl UnixMicros {
    /// The current time.
    #[inline]
    pub fn now() -> UnixMicros {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(UnixMicros(0), |d| {
                UnixMicros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            })
    }

    /// A stored time, rounded down to its microsecond (a sub-microsecond remainder, which the
    /// store does not keep anyway, ends a token's life early rather than late).
    pub fn of(t: OffsetDateTime) -> UnixMicros {
        let micros = t.unix_timestamp_nanos().div_euclid(1000);
        UnixMicros(i64::try_from(micros).unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX }))
    }

    /// The whole second this instant falls in (Unix seconds).
    #[inline]
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    /// Whether more than `age` has passed from `earlier` to this instant.
    #[inline]
    pub fn is_older_than(self, earlier: UnixMicros, age: Micros) -> bool {
        self.0.saturating_sub(earlier.0) > age.0
    }
}

/// A length of time in microseconds, converted once from a configured [`Duration`] so that
/// age checks on the hot path are one subtraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Micros(pub i64);

impl From<Duration> for Micros {
    fn from(d: Duration) -> Micros {
        Micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_time_keeps_its_microseconds() {
        let t = time::macros::datetime!(2030-01-01 00:00:00.900_000_7 UTC);
        let at = UnixMicros::of(t);
        assert_eq!(at.0 % 1_000_000, 900_000);
        assert_eq!(at.secs(), t.unix_timestamp());
        let before_1970 = time::macros::datetime!(1969-12-31 23:59:59.5 UTC);
        assert_eq!(UnixMicros::of(before_1970).secs(), -1);
    }

    #[test]
    fn an_age_is_exceeded_only_past_it() {
        let age = Micros::from(Duration::from_secs(1));
        assert!(!UnixMicros(1_000_000).is_older_than(UnixMicros(0), age));
        assert!(UnixMicros(1_000_001).is_older_than(UnixMicros(0), age));
    }
}
