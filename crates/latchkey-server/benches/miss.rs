//! The verifier's cache-miss path for tokens that do not work: a never-issued token against a
//! revoked one, each looked up in the store with an empty cache (cleared outside the timed part).
//! The two should cost the same, so that timing cannot tell an attacker which guessed or leaked
//! token once existed. The two are timed in alternation, pair after pair, so that the load of a
//! shared machine falls on both alike; the figures printed are per kind and for the difference
//! within each pair. Beside them, a working token's miss (the lookup that then caches it: issue
//! 9's cold-miss figure), timed in the same rounds.
//!
//! On SQLite (a temp file) and on PostgreSQL: `LATCHKEY_BENCH_PG_URL` when set (a database with
//! PostgreSQL's durable defaults, as `bench/pg.sh` starts), else a new database in the tests'
//! throwaway cluster; without PostgreSQL its half is skipped.
//! Run: `cargo bench -p latchkey-server --bench miss`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

use latchkey_core::{catalog, Authority, Grant, Minter, Plan, Scope, TokenFormat, TokenKind};
use latchkey_server::{ServerConfig, Verifier};
use latchkey_store::{Actor, NewServiceToken, Store};
use std::hint::black_box;
use std::time::Instant;

/// Pairs timed.
const PAIRS: usize = 3000;

fn main() {
    for backend in ["sqlite", "postgres"] {
        let dir = tempfile::tempdir().unwrap();
        let Some(url) = url(backend, &dir) else {
            println!("{backend}: no PostgreSQL, skipped");
            continue;
        };
        run(backend, &fixture(&url));
    }
}

/// The database of `backend`; `None` when it is PostgreSQL and there is none.
fn url(backend: &str, dir: &tempfile::TempDir) -> Option<String> {
    if backend == "sqlite" {
        return Some(format!("sqlite://{}/bench.db", dir.path().display()));
    }
    if let Ok(url) = std::env::var("LATCHKEY_BENCH_PG_URL") {
        return Some(url);
    }
    let pg = latchkey_test_postgres::TestPostgres::shared()?;
    Some(pg.new_database())
}

fn run(backend: &str, f: &Fixture) {
    let time = |token: &str, works: bool| {
        f.verifier.cache().clear();
        let start = Instant::now();
        let refused = f
            .runtime
            .block_on(f.verifier.authenticate(black_box(token)))
            .is_err();
        let took = start.elapsed();
        assert_eq!(refused, !works);
        took.as_nanos() as i64
    };
    // Warm the three paths (statement cache, pool connection).
    for _ in 0..200 {
        time(&f.never_issued, false);
        time(&f.revoked, false);
        time(&f.working, true);
    }
    let (mut never, mut revoked, mut diff, mut working) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..PAIRS {
        // Alternate which goes first, so neither always follows the other.
        let (n, r) = if i % 2 == 0 {
            let n = time(&f.never_issued, false);
            (n, time(&f.revoked, false))
        } else {
            let r = time(&f.revoked, false);
            (time(&f.never_issued, false), r)
        };
        never.push(n);
        revoked.push(r);
        diff.push(r - n);
        working.push(time(&f.working, true));
    }
    println!("{backend}: miss path, {PAIRS} rounds (ns): min / median / p90 / p99");
    for (what, mut v) in [
        ("never-issued token", never),
        ("revoked token", revoked),
        ("revoked - never-issued (per pair)", diff),
        ("working token (looked up, cached)", working),
    ] {
        v.sort_unstable();
        println!(
            "  {what:<36} {:>8} / {:>8} / {:>8} / {:>8}",
            v[0],
            v[v.len() / 2],
            v[v.len() * 9 / 10],
            v[v.len() * 99 / 100]
        );
    }
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    verifier: Verifier,
    never_issued: String,
    revoked: String,
    working: String,
}

fn fixture(url: &str) -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let format = TokenFormat::default();
    let (verifier, revoked, working) = runtime.block_on(async {
        let store = Store::open(url).await.unwrap();
        let op = Actor::operator();
        let account = store
            .create_account(&op, "Bench", Plan::Enterprise)
            .await
            .unwrap();
        let job_admin = catalog().set("job_admin").unwrap();
        let grants = [Grant::new(job_admin, Scope::AllProjects)];
        let mut made = Vec::new();
        for name in ["revoked", "working"] {
            let new = format.generate(TokenKind::Service);
            let token = store
                .create_service_token(
                    &op,
                    Minter::Operator,
                    &NewServiceToken {
                        account_id: account.id,
                        name,
                        grants: &grants,
                        expires_at: None,
                        allowed_cidrs: &[],
                        uid: &new.uid,
                        digest: new.digest,
                        hint: &new.hint,
                    },
                )
                .await
                .unwrap();
            made.push((token.id, new.secret.expose().to_owned()));
        }
        store
            .revoke_service_token(&op, Authority::Operator, Some(account.id), made[0].0)
            .await
            .unwrap();
        let verifier = Verifier::new(store, ServerConfig::default());
        let working = made.pop().unwrap().1;
        let revoked = made.pop().unwrap().1;
        (verifier, revoked, working)
    });
    let never_issued = format
        .generate(TokenKind::Service)
        .secret
        .expose()
        .to_owned();
    Fixture {
        runtime,
        verifier,
        never_issued,
        revoked,
        working,
    }
}
