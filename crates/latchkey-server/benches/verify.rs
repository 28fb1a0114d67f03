//! The whole in-process hot path on a cache hit: parse, checksum, SHA-256, cache lookup, state
//! and expiry checks, usage note, project ownership, decision — with 1k, 100k and 1M tokens cached.
//! `cache_lookup` is the cache's part of that alone: one digest looked up after the other, each
//! lookup waiting for the last (between two requests lies too much work for the CPU to overlap
//! their lookups), so its cost at 1M is the memory latency a hit pays.
//! Run: `cargo bench -p latchkey-server`. `LATCHKEY_BENCH_HOT` sets how many of the cached tokens
//! are presented in turn (default 4096): what a hit costs in a large cache depends on whether
//! the entries in use fit the CPU's caches and TLB.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

use latchkey_core::{
    catalog, EffectivePermissions, Grant, Permission, Plan, ProjectId, Scope, TokenFormat,
    TokenKind,
};
use latchkey_server::cache::PrincipalLoad;
use latchkey_server::clock::UnixMicros;
use latchkey_server::{ServerConfig, Verifier};
use latchkey_store::{Actor, Store};
use std::hint::black_box;
use std::sync::Arc;

fn main() {
    divan::main();
}

/// How many tokens are presented in turn (`LATCHKEY_BENCH_HOT`, default 4096), spread evenly
/// over the cache; the rest of the cache is filler in the same shards.
fn presented() -> usize {
    std::env::var("LATCHKEY_BENCH_HOT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4096)
}

struct Fixture {
    verifier: Verifier,
    /// The presented secrets, side by side in one buffer as a request's bytes would be: each
    /// secret made while the cache was filled lies on a page of its own among the entries, and
    /// reading it would cost the large caches a miss a real request never pays.
    secrets: String,
    tokens: Vec<std::ops::Range<usize>>,
    project: ProjectId,
    _dir: tempfile::TempDir,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0)
            })
        })
        .unwrap_or(0)
}

fn fixture(cached: usize) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let (verifier, project) = runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let account = store
            .create_account(&Actor::operator(), "Bench", Plan::Enterprise)
            .await
            .unwrap();
        let project = store
            .create_project(&Actor::operator(), account.id, "p")
            .await
            .unwrap();
        (Verifier::new(store, ServerConfig::default()), project)
    });
    let cat = catalog();
    let grants = [
        Grant::new(cat.set("job_viewer").unwrap(), Scope::AllProjects),
        Grant::new(cat.set("job_admin").unwrap(), Scope::Project(project.id)),
    ];
    let perms = Arc::new(EffectivePermissions::for_service_token(
        &grants,
        Plan::Enterprise,
    ));
    let format = TokenFormat::default();
    let now = UnixMicros::now();
    let presented = presented();
    let before = rss_kib();
    let mut tokens = Vec::with_capacity(presented);
    for i in 0..cached {
        let t = format.generate(TokenKind::Service);
        let entry = PrincipalLoad {
            kind: TokenKind::Service,
            id: latchkey_core::TokenId(i as i64 + 1),
            account_id: project.account_id,
            user_id: None,
            active: true,
            expires_at: None,
            loaded_at: now,
            permissions: perms.clone(),
            network: None,
        };
        let epoch = verifier.cache().epoch();
        verifier.cache().insert(t.digest, entry, epoch, 0);
        if i % (cached / presented).max(1) == 0 && tokens.len() < presented {
            tokens.push(t.secret.expose().to_owned());
        }
    }
    let after = rss_kib();
    eprintln!(
        "cache of {cached} tokens: +{} KiB RSS, {:.0} B/token",
        after.saturating_sub(before),
        (after.saturating_sub(before) * 1024) as f64 / cached as f64
    );
    // Learn the project's owner once, as the first request would.
    let p = verifier
        .authenticate_cached(&tokens[0], now, None)
        .unwrap()
        .unwrap();
    let write_jobs: Permission = "jobs:write".parse().unwrap();
    runtime
        .block_on(verifier.decide(&p, write_jobs, Some(project.id), None))
        .unwrap();
    let mut secrets = String::with_capacity(tokens.iter().map(String::len).sum());
    let tokens = tokens
        .iter()
        .map(|t| {
            secrets.push_str(t);
            secrets.len() - t.len()..secrets.len()
        })
        .collect();
    Fixture {
        verifier,
        secrets,
        tokens,
        project: project.id,
        _dir: dir,
    }
}

#[divan::bench(args = [1_000, 100_000, 1_000_000], sample_count = 200, sample_size = 1000)]
fn verify_and_decide_cache_hit(bencher: divan::Bencher, cached: usize) {
    let f = fixture(cached);
    let write_jobs: Permission = "jobs:write".parse().unwrap();
    let now = UnixMicros::now();
    let mut i = 0usize;
    bencher.bench_local(|| {
        let token = &f.secrets[f.tokens[i % f.tokens.len()].clone()];
        i += 1;
        let principal = f
            .verifier
            .authenticate_cached(black_box(token), now, None)
            .unwrap()
            .unwrap();
        f.verifier
            .decide_cached(&principal, write_jobs, Some(f.project), None, now)
            .unwrap()
            .is_allowed()
    });
}

#[divan::bench(args = [1_000, 1_000_000], sample_count = 200, sample_size = 1000)]
fn cache_lookup(bencher: divan::Bencher, cached: usize) {
    let f = fixture(cached);
    let format = TokenFormat::default();
    let digests: Vec<_> = f
        .tokens
        .iter()
        .map(|t| format.parse(&f.secrets[t.clone()]).unwrap().digest)
        .collect();
    let mut i = 0usize;
    bencher.bench_local(|| {
        let digest = &digests[i % digests.len()];
        // The next index waits for this lookup's answer (every entry is active).
        let active = f.verifier.cache().with(black_box(digest), |e| e.active);
        i += usize::from(active.unwrap());
    });
}

#[divan::bench(sample_count = 200, sample_size = 1000)]
fn reject_malformed_token(bencher: divan::Bencher) {
    let f = fixture(1_000);
    let now = UnixMicros::now();
    let mut bad = f.secrets[f.tokens[0].clone()].to_owned();
    bad.replace_range(10..11, if &bad[10..11] == "a" { "b" } else { "a" });
    bencher.bench_local(|| {
        f.verifier
            .authenticate_cached(black_box(&bad), now, None)
            .is_err()
    });
}
