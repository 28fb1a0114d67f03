//! Token creation rate on each backend: one whole `create_service_token` command per iteration
//! (account and project checks, minting rules, insert, grants, audit entry, change row, commit),
//! from one writer; and 16 commands at once from 16 tasks on a multi-threaded runtime, which on
//! PostgreSQL queue on the one advisory lock every write takes (`Store::write`).
//!
//! SQLite runs on a temp file (WAL, `synchronous=NORMAL`, as the server opens it). PostgreSQL
//! runs on `LATCHKEY_BENCH_PG_URL` when set (`bench/create.sh` starts a cluster with PostgreSQL's
//! durable defaults and sets it), else on a new database in the tests' throwaway cluster, which
//! runs with `fsync=off` and `synchronous_commit=off` (said on stderr: those figures are not
//! durable commits); without PostgreSQL its cases are skipped.
//! Run: `cargo bench -p latchkey-store --bench create` (or `bash bench/create.sh`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

use latchkey_core::{Grant, Minter, Plan, TokenFormat, TokenKind};
use latchkey_store::{Actor, NewServiceToken, Store, StoreOptions};
use std::sync::Arc;

fn main() {
    divan::main();
}

/// Commands run at once in the concurrent case.
const AT_ONCE: usize = 16;

/// A store with an account and project, and the grants each token gets.
struct Fixture {
    store: Store,
    account: latchkey_core::AccountId,
    grants: Arc<Vec<Grant>>,
    _dir: tempfile::TempDir,
}

fn url(backend: &str, dir: &tempfile::TempDir) -> Option<String> {
    if backend == "sqlite" {
        return Some(format!("sqlite://{}/bench.db", dir.path().display()));
    }
    if let Ok(url) = std::env::var("LATCHKEY_BENCH_PG_URL") {
        return Some(url);
    }
    let pg = latchkey_test_postgres::TestPostgres::shared()?;
    eprintln!(
        "postgres: the tests' cluster (fsync=off, synchronous_commit=off): \
         set LATCHKEY_BENCH_PG_URL (bench/create.sh) for durable commits"
    );
    Some(pg.new_database())
}

/// The fixture on `backend`; `None` when the backend is PostgreSQL and there is none.
fn fixture(runtime: &tokio::runtime::Runtime, backend: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let url = url(backend, &dir)?;
    let options = StoreOptions {
        max_connections: AT_ONCE as u32 + 1,
        ..StoreOptions::default()
    };
    let store = runtime.block_on(Store::open_with(&url, &options)).unwrap();
    let account = runtime
        .block_on(store.create_account(&Actor::operator(), "Bench", Plan::Enterprise))
        .unwrap();
    let project = runtime
        .block_on(store.create_project(&Actor::operator(), account.id, "p"))
        .unwrap();
    let grants: Vec<Grant> = [
        "job_viewer:all".to_owned(),
        format!("job_admin:project={}", project.id),
    ]
    .iter()
    .map(|g| g.parse().unwrap())
    .collect();
    Some(Fixture {
        store,
        account: account.id,
        grants: Arc::new(grants),
        _dir: dir,
    })
}

async fn create_one(store: &Store, account: latchkey_core::AccountId, grants: &[Grant]) {
    let new = TokenFormat::default().generate(TokenKind::Service);
    store
        .create_service_token(
            &Actor::operator(),
            Minter::Operator,
            &NewServiceToken {
                account_id: account,
                name: "bench",
                grants,
                expires_at: None,
                allowed_cidrs: &[],
                uid: &new.uid,
                digest: new.digest,
                hint: &new.hint,
            },
        )
        .await
        .unwrap();
}

#[divan::bench(args = ["sqlite", "postgres"], sample_count = 20, sample_size = 50)]
fn create_service_token(bencher: divan::Bencher, backend: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(f) = fixture(&runtime, backend) else {
        return;
    };
    bencher.bench_local(|| runtime.block_on(create_one(&f.store, f.account, &f.grants)));
}

/// One iteration is [`AT_ONCE`] commands started together; divide its time by 16 for the cost
/// of one creation under contention.
#[divan::bench(args = ["sqlite", "postgres"], sample_count = 10, sample_size = 10)]
fn create_16_service_tokens_at_once(bencher: divan::Bencher, backend: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(f) = fixture(&runtime, backend) else {
        return;
    };
    bencher.bench_local(|| {
        runtime.block_on(async {
            let tasks: Vec<_> = (0..AT_ONCE)
                .map(|_| {
                    let (store, grants) = (f.store.clone(), f.grants.clone());
                    let account = f.account;
                    tokio::spawn(async move { create_one(&store, account, &grants).await })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    });
}
