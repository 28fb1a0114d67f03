//! The node's own counters for `GET /metrics`: decisions by kind and outcome, cache lookups, and
//! how long the store takes. Each is a relaxed atomic, so counting never waits: on the hit path a
//! request costs exactly one `fetch_add` (its decision, which also says whether the caller's
//! token came from the cache: hits on that path are not counted apart). What other parts already
//! keep (the cache's size and evictions, the change feed's health, the pool, the usage backlog)
//! is read from them when scraped; `routes::metrics` writes it all out in Prometheus's text
//! format with [`Exposition`].

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// What a decision was asked about: which route family answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionKind {
    /// `POST /api/v1/authorize`.
    Authorize,
    /// `POST /oauth/introspect` (the caller's own right to introspect).
    Introspect,
    /// `/auth/forward` for a proxy.
    Forward,
    /// The guard of an Admin API route (`/api/v2`, `/api/v3`).
    AdminApi,
}

impl DecisionKind {
    /// Every kind, in the order they are written out.
    pub const ALL: [DecisionKind; 4] = [
        DecisionKind::Authorize,
        DecisionKind::Introspect,
        DecisionKind::Forward,
        DecisionKind::AdminApi,
    ];

    /// The label value: `authorize`, `introspect`, `forward` or `admin_api`.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Authorize => "authorize",
            DecisionKind::Introspect => "introspect",
            DecisionKind::Forward => "forward",
            DecisionKind::AdminApi => "admin_api",
        }
    }

    /// The kind of a guarded route of the table, by its path.
    pub fn of_path(path: &str) -> DecisionKind {
        if path == "/api/v1/authorize" {
            DecisionKind::Authorize
        } else if path == "/oauth/introspect" {
            DecisionKind::Introspect
        } else if path.starts_with("/auth/forward") {
            DecisionKind::Forward
        } else {
            DecisionKind::AdminApi
        }
    }

    #[inline]
    fn index(self) -> usize {
        match self {
            DecisionKind::Authorize => 0,
            DecisionKind::Introspect => 1,
            DecisionKind::Forward => 2,
            DecisionKind::AdminApi => 3,
        }
    }

    /// Whether the route's guard decides it whole (it checks the row's permission), rather than
    /// the handler (authorize and forward auth decide what the request asks about).
    pub fn decided_by_guard(self) -> bool {
        matches!(self, DecisionKind::Introspect | DecisionKind::AdminApi)
    }
}

/// How a request that asked for a decision was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed (a batch: every check allowed).
    Allow,
    /// Refused: a missing permission, an IP fence, another account's object.
    Deny,
    /// No working token (missing, malformed, unknown, revoked, expired; or throttled).
    Unauthenticated,
    /// Authenticated, but answered without a decision: bad input, a budget spent, the database
    /// out of reach. Counted so that every request of these routes is counted once.
    Undecided,
}

impl Outcome {
    /// The outcomes that are decisions, in the order they are written out.
    pub const DECIDED: [Outcome; 3] = [Outcome::Allow, Outcome::Deny, Outcome::Unauthenticated];

    /// Every outcome.
    pub const ALL: [Outcome; 4] = [
        Outcome::Allow,
        Outcome::Deny,
        Outcome::Unauthenticated,
        Outcome::Undecided,
    ];

    /// The label value: `allow`, `deny`, `unauthenticated` or `undecided`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Undecided => "undecided",
        }
    }

    #[inline]
    fn index(self) -> usize {
        match self {
            Outcome::Allow => 0,
            Outcome::Deny => 1,
            Outcome::Unauthenticated => 2,
            Outcome::Undecided => 3,
        }
    }
}

/// The store calls whose durations are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreCall {
    /// A cache miss: the credential looked up by digest.
    FindCredential,
    /// A project-owner miss.
    ProjectOwner,
    /// A batch of `last_used_at`.
    RecordUsage,
    /// A read of the change feed.
    ChangesSince,
    /// An Admin API command, timed whole (its one transaction, and rendering its answer).
    AdminCommand,
}

impl StoreCall {
    /// Every call, in the order they are written out.
    pub const ALL: [StoreCall; 5] = [
        StoreCall::FindCredential,
        StoreCall::ProjectOwner,
        StoreCall::RecordUsage,
        StoreCall::ChangesSince,
        StoreCall::AdminCommand,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreCall::FindCredential => "find_credential",
            StoreCall::ProjectOwner => "project_owner",
            StoreCall::RecordUsage => "record_usage",
            StoreCall::ChangesSince => "changes_since",
            StoreCall::AdminCommand => "admin_command",
        }
    }

    fn index(self) -> usize {
        match self {
            StoreCall::FindCredential => 0,
            StoreCall::ProjectOwner => 1,
            StoreCall::RecordUsage => 2,
            StoreCall::ChangesSince => 3,
            StoreCall::AdminCommand => 4,
        }
    }
}

/// A counter alone on its cache line, so that cores counting different things do not take the
/// line from each other.
#[derive(Default)]
#[repr(align(64))]
struct Slot(AtomicU64);

/// The upper bounds of the duration buckets, in microseconds (a last bucket takes the rest).
pub const BUCKETS_MICROS: [u64; 14] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 5_000_000,
];

/// Durations in fixed buckets: one `fetch_add` for the bucket and one for the sum.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_MICROS.len() + 1],
    sum_micros: AtomicU64,
}

/// A histogram as read: how many fell in each bucket (not cumulative; the last one is past every
/// bound), and the sum in microseconds.
pub struct HistogramSnapshot {
    /// Per bucket of [`BUCKETS_MICROS`], then the rest.
    pub buckets: [u64; BUCKETS_MICROS.len() + 1],
    /// The sum of every duration, in microseconds.
    pub sum_micros: u64,
}

impl Histogram {
    /// Counts one duration.
    pub fn observe(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_MICROS
            .iter()
            .position(|bound| micros <= *bound)
            .unwrap_or(BUCKETS_MICROS.len());
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(micros, Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Relaxed)),
            sum_micros: self.sum_micros.load(Relaxed),
        }
    }
}

const OUTCOMES: usize = Outcome::ALL.len();
const CELLS: usize = DecisionKind::ALL.len() * OUTCOMES * 2;

/// The counters. One per node, in the verifier.
pub struct Metrics {
    /// Requests by kind, outcome, and whether the caller's token came from the cache.
    decisions: [Slot; CELLS],
    /// Cache lookups answered from memory that no decision count carries: a token found and not
    /// working, one found on the miss path after all, introspected ones, the CLI's.
    hits: Slot,
    /// Lookups that went to the store.
    misses: Slot,
    /// Requests the express lane answered ([`crate::express`]).
    express_answers: Slot,
    /// Connections the express lane handed to the router.
    express_handovers: Slot,
    /// Store call durations.
    store: [Histogram; StoreCall::ALL.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            decisions: std::array::from_fn(|_| Slot::default()),
            hits: Slot::default(),
            misses: Slot::default(),
            express_answers: Slot::default(),
            express_handovers: Slot::default(),
            store: std::array::from_fn(|_| Histogram::default()),
        }
    }
}

#[inline]
fn cell(kind: DecisionKind, outcome: Outcome, from_cache: bool) -> usize {
    (kind.index() * OUTCOMES + outcome.index()) * 2 + usize::from(from_cache)
}

impl Metrics {
    /// Counts a request of `kind` answered with `outcome`; `from_cache`: its token was found in
    /// the cache (which counts it as a cache hit too).
    #[inline]
    pub fn decided(&self, kind: DecisionKind, outcome: Outcome, from_cache: bool) {
        self.decisions[cell(kind, outcome, from_cache)]
            .0
            .fetch_add(1, Relaxed);
    }

    /// Counts a cache hit that no decision carries.
    pub fn cache_hit(&self) {
        self.hits.0.fetch_add(1, Relaxed);
    }

    /// Counts a lookup that went to the store.
    pub fn cache_miss(&self) {
        self.misses.0.fetch_add(1, Relaxed);
    }

    /// Counts a request the express lane answered.
    #[inline]
    pub fn express_answered(&self) {
        self.express_answers.0.fetch_add(1, Relaxed);
    }

    /// Counts a connection the express lane handed to the router.
    pub fn express_handed_over(&self) {
        self.express_handovers.0.fetch_add(1, Relaxed);
    }

    /// Requests the express lane answered, and connections it handed to the router.
    pub fn express(&self) -> (u64, u64) {
        (
            self.express_answers.0.load(Relaxed),
            self.express_handovers.0.load(Relaxed),
        )
    }

    /// Counts one store call's duration.
    pub fn observe(&self, call: StoreCall, elapsed: Duration) {
        self.store[call.index()].observe(elapsed);
    }

    /// Runs `call`'s future and counts how long it took.
    pub async fn timed<T>(
        &self,
        call: StoreCall,
        future: impl std::future::Future<Output = T>,
    ) -> T {
        let start = Instant::now();
        let out = future.await;
        self.observe(call, start.elapsed());
        out
    }

    /// Requests of `kind` answered with `outcome`.
    pub fn decisions(&self, kind: DecisionKind, outcome: Outcome) -> u64 {
        [false, true]
            .iter()
            .map(|hit| self.decisions[cell(kind, outcome, *hit)].0.load(Relaxed))
            .sum()
    }

    /// Cache lookups answered from memory.
    pub fn cache_hits(&self) -> u64 {
        let with_decisions: u64 = DecisionKind::ALL
            .iter()
            .flat_map(|kind| {
                Outcome::ALL
                    .map(|outcome| self.decisions[cell(*kind, outcome, true)].0.load(Relaxed))
            })
            .sum();
        with_decisions + self.hits.0.load(Relaxed)
    }

    /// Cache lookups that went to the store.
    pub fn cache_misses(&self) -> u64 {
        self.misses.0.load(Relaxed)
    }

    /// The durations of `call`.
    pub fn store(&self, call: StoreCall) -> HistogramSnapshot {
        self.store[call.index()].snapshot()
    }
}

/// What kind of metric a family is.
#[derive(Clone, Copy, Debug)]
pub enum Family {
    /// Only goes up (until the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Buckets, sum and count.
    Histogram,
}

impl Family {
    fn as_str(self) -> &'static str {
        match self {
            Family::Counter => "counter",
            Family::Gauge => "gauge",
            Family::Histogram => "histogram",
        }
    }
}

/// Writes Prometheus's text exposition format (version 0.0.4): each family's `# HELP` and
/// `# TYPE` lines, then its samples, `name{label="value",…} value`. Label values here are
/// always our own constants, so they need no escaping.
#[derive(Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// Begins a family.
    pub fn family(&mut self, name: &str, family: Family, help: &str) -> &mut Self {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {}", family.as_str());
        self
    }

    /// One sample of the family begun last.
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Into<f64>,
    ) -> &mut Self {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{value}\"");
            }
            self.text.push('}');
        }
        let value: f64 = value.into();
        let _ = writeln!(self.text, " {value}");
        self
    }

    /// The samples of one histogram of the family begun last (`labels` besides `le`).
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        h: &HistogramSnapshot,
    ) -> &mut Self {
        let mut below = 0u64;
        let bucket = format!("{name}_bucket");
        for (i, count) in h.buckets.iter().enumerate() {
            below += count;
            let le = BUCKETS_MICROS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |micros| seconds(*micros));
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.sample(&bucket, &with_le, count_value(below));
        }
        self.sample(
            &format!("{name}_sum"),
            labels,
            count_value(h.sum_micros) / 1e6,
        );
        self.sample(&format!("{name}_count"), labels, count_value(below))
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.text
    }
}

/// A count as a sample value (exact below 2^53, which no counter here reaches).
#[allow(clippy::cast_precision_loss, reason = "counts stay far below 2^53")]
pub fn count_value(n: u64) -> f64 {
    n as f64
}

/// Microseconds as seconds, written as Prometheus's `le` labels are (`0.0001`, `1`, `5`).
fn seconds(micros: u64) -> String {
    let text = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_outcome_and_source_has_a_cell_of_its_own() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in DecisionKind::ALL {
            for outcome in Outcome::ALL {
                for hit in [false, true] {
                    let at = cell(kind, outcome, hit);
                    assert!(at < CELLS);
                    assert!(seen.insert(at), "{kind:?} {outcome:?} {hit}");
                }
            }
        }
    }

    #[test]
    fn durations_fall_in_the_first_bucket_that_holds_them() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_micros(101));
        h.observe(Duration::from_secs(60));
        let s = h.snapshot();
        assert_eq!(s.buckets[0], 1);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[BUCKETS_MICROS.len()], 1);
        assert_eq!(s.sum_micros, 60_000_201);
        assert_eq!(seconds(100), "0.0001");
        assert_eq!(seconds(1_000_000), "1");
        assert_eq!(seconds(2_500), "0.0025");
    }
}
