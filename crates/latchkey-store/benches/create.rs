//! Token creation rate on SQLite: one `create_service_token` per iteration — the whole command
//! (account and project checks, minting rules, insert, grants, audit entry, change row, commit).
//! Run: `cargo bench -p latchkey-store`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

use latchkey_core::{Grant, Minter, Plan, TokenFormat, TokenKind};
use latchkey_store::{Actor, NewServiceToken, Store};

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 20, sample_size = 50)]
fn create_service_token(bencher: divan::Bencher) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = runtime
        .block_on(Store::open(&format!(
            "sqlite://{}/bench.db",
            dir.path().display()
        )))
        .unwrap();
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
    let format = TokenFormat::default();
    bencher.bench_local(|| {
        let new = format.generate(TokenKind::Service);
        runtime
            .block_on(store.create_service_token(
                &Actor::operator(),
                Minter::Operator,
                &NewServiceToken {
                    account_id: account.id,
                    name: "bench",
                    grants: &grants,
                    expires_at: None,
                    allowed_cidrs: &[],
                    uid: &new.uid,
                    digest: new.digest,
                    hint: &new.hint,
                },
            ))
            .unwrap()
    });
}
