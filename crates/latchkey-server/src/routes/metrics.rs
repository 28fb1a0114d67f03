//! `GET /metrics`: the node's counters and gauges in Prometheus's text exposition format
//! (version 0.0.4), for the operator's scraper.
//!
//! Who may read it: nothing here is secret (no token, digest, address, account or user appears;
//! every label is one of our own constants), but it is the whole node's activity, across every
//! account — how many tokens are cached, how often decisions are refused, when the database
//! stumbles — which is reconnaissance for an attacker and no tenant's business. So it is served
//! only on the operator's listener (`latchkey serve --metrics-listen ADDR`, off by default), never
//! on the API listeners, where a reverse proxy could pass it to the world by accident: the route
//! is in the table ([`crate::routes::table::OPERATOR_ONLY`]) and answers 404 there. Scraping
//! does no I/O and takes no lock a request waits on for long (the cache's shard locks for
//! reading, one at a time).

use crate::cache::Eviction;
use crate::feed_health::FeedState;
use crate::metrics::{count_value, DecisionKind, Exposition, Family, Outcome, StoreCall};
use crate::state::AppState;
use crate::verifier::{now_unix, Verifier};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The text of everything, now.
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        render(&state.verifier),
    )
        .into_response()
}

/// Writes every family, for a verifier's node.
pub fn render(verifier: &Verifier) -> String {
    let mut out = Exposition::default();
    decisions(&mut out, verifier);
    cache(&mut out, verifier);
    express(&mut out, verifier);
    feed(&mut out, verifier);
    store(&mut out, verifier);
    out.family(
        "latchkey_build_info",
        Family::Gauge,
        "Always 1; the version of the running binary.",
    )
    .sample(
        "latchkey_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    out.finish()
}

fn decisions(out: &mut Exposition, verifier: &Verifier) {
    let m = verifier.metrics();
    let name = "latchkey_decisions_total";
    out.family(
        name,
        Family::Counter,
        "Requests answered with a decision, by kind (authorize, introspect, forward, admin_api: \
         the Admin API's guard) and outcome (allow, deny, unauthenticated). An authorize batch \
         counts once.",
    );
    for kind in DecisionKind::ALL {
        for outcome in Outcome::DECIDED {
            let labels = [("kind", kind.as_str()), ("outcome", outcome.as_str())];
            out.sample(name, &labels, count_value(m.decisions(kind, outcome)));
        }
    }
    let name = "latchkey_undecided_total";
    out.family(
        name,
        Family::Counter,
        "Requests of those routes from an authenticated caller answered without a decision \
         (bad input, a spent budget, the database out of reach), by kind.",
    );
    for kind in DecisionKind::ALL {
        let n = m.decisions(kind, Outcome::Undecided);
        out.sample(name, &[("kind", kind.as_str())], count_value(n));
    }
}

fn express(out: &mut Exposition, verifier: &Verifier) {
    let (answers, handovers) = verifier.metrics().express();
    let name = "latchkey_express_answers_total";
    out.family(
        name,
        Family::Counter,
        "Requests answered in the express lane (authorize and the probes, straight off the \
         connection).",
    )
    .sample(name, &[], count_value(answers));
    let name = "latchkey_express_handovers_total";
    out.family(
        name,
        Family::Counter,
        "Connections the express lane handed to the router, at the first request it does not \
         take.",
    )
    .sample(name, &[], count_value(handovers));
}

fn cache(out: &mut Exposition, verifier: &Verifier) {
    let m = verifier.metrics();
    let cache = verifier.cache();
    let counter = |out: &mut Exposition, name: &str, help: &str, n: u64| {
        out.family(name, Family::Counter, help)
            .sample(name, &[], count_value(n));
    };
    counter(
        out,
        "latchkey_cache_hits_total",
        "Token lookups answered from this node's cache (working tokens and remembered failures).",
        m.cache_hits(),
    );
    counter(
        out,
        "latchkey_cache_misses_total",
        "Token lookups that went to the database.",
        m.cache_misses(),
    );
    let name = "latchkey_cache_evictions_total";
    out.family(
        name,
        Family::Counter,
        "Cache entries dropped, by reason: token (it changed), user (their seat, license or \
         groups changed), account (its plan or IP rules changed), all (the change feed was lost).",
    );
    for reason in Eviction::ALL {
        let n = cache.evictions(reason);
        out.sample(name, &[("reason", reason.as_str())], count_value(n));
    }
    let gauge = |out: &mut Exposition, name: &str, help: &str, n: usize| {
        out.family(name, Family::Gauge, help)
            .sample(name, &[], count_value(n as u64));
    };
    gauge(
        out,
        "latchkey_cache_entries",
        "Entries in the token cache now, unknown tokens included.",
        cache.len(),
    );
    gauge(
        out,
        "latchkey_cache_negative_entries",
        "Unknown tokens remembered now (bounded, short-lived).",
        verifier.cache().negative_len(),
    );
    gauge(
        out,
        "latchkey_usage_flush_backlog",
        "Tokens whose last_used_at waits to be written (noted since the last flush, or kept \
         from a batch the database refused).",
        verifier.usage_backlog(),
    );
}

fn feed(out: &mut Exposition, verifier: &Verifier) {
    let feed = verifier.feed();
    let name = "latchkey_change_feed_state";
    out.family(
        name,
        Family::Gauge,
        "1 for how this node hears of changes now: listening (PostgreSQL notifications), polling \
         (SQLite), or reconnecting (the listener was lost; the cache was cleared).",
    );
    let now = feed.state();
    for state in [
        FeedState::Listening,
        FeedState::Polling,
        FeedState::Reconnecting,
    ] {
        let on = u8::from(state == now);
        out.sample(name, &[("state", state.as_str())], on);
    }
    let last = feed.last_read();
    let age = if last == 0 {
        0
    } else {
        (now_unix() - last).max(0)
    };
    let name = "latchkey_change_feed_lag_seconds";
    out.family(
        name,
        Family::Gauge,
        "Seconds since the change feed was last read without error.",
    )
    .sample(name, &[], count_value(age.unsigned_abs()));
    let counters = [
        (
            "latchkey_change_feed_reconnects_total",
            "Times the listening connection was lost (each cleared the cache and reconnected).",
            feed.losses(),
        ),
        (
            "latchkey_change_feed_read_errors_total",
            "Reads of the change feed that failed (each cleared the cache).",
            feed.read_errors(),
        ),
        (
            "latchkey_change_feed_changes_total",
            "Changes read from the feed and applied to this node's caches.",
            feed.applied(),
        ),
    ];
    for (name, help, n) in counters {
        out.family(name, Family::Counter, help)
            .sample(name, &[], count_value(n));
    }
}

fn store(out: &mut Exposition, verifier: &Verifier) {
    let name = "latchkey_store_duration_seconds";
    out.family(
        name,
        Family::Histogram,
        "How long store calls took, by call: find_credential (a cache miss), project_owner, \
         record_usage (a last_used_at batch), changes_since (a change-feed read), admin_command \
         (an Admin API request, timed whole).",
    );
    for call in StoreCall::ALL {
        let h = verifier.metrics().store(call);
        out.histogram(name, &[("call", call.as_str())], &h);
    }
    let (size, idle) = verifier.store().pool_use();
    let idle = u64::try_from(idle).unwrap_or(u64::MAX);
    let name = "latchkey_db_pool_connections";
    out.family(
        name,
        Family::Gauge,
        "Database connections this node holds, by state (idle, in_use).",
    )
    .sample(name, &[("state", "idle")], count_value(idle))
    .sample(
        name,
        &[("state", "in_use")],
        count_value(u64::from(size).saturating_sub(idle)),
    );
}
