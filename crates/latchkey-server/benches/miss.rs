//! The verifier's cache-miss path for tokens that do not work: a never-issued token against a
//! revoked one, each looked up in the store with an empty cache (the cache is cleared outside
//! the timed part). The two should cost the same, so that timing cannot tell an attacker which
//! guessed or leaked token once existed.
//! Run: `cargo bench -p latchkey-server --bench miss`.

use latchkey_core::{catalog, Authority, Grant, Minter, Plan, Scope, TokenFormat, TokenKind};
use latchkey_server::{ServerConfig, Verifier};
use latchkey_store::{Actor, NewServiceToken, Store};
use std::hint::black_box;

fn main() {
    divan::main();
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    verifier: Verifier,
    never_issued: String,
    revoked: String,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let format = TokenFormat::default();
    let (verifier, revoked) = runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let op = Actor::operator();
        let account = store
            .create_account(&op, "Bench", Plan::Enterprise)
            .await
            .unwrap();
        let job_admin = catalog().set("job_admin").unwrap();
        let grants = [Grant::new(job_admin, Scope::AllProjects)];
        let new = format.generate(TokenKind::Service);
        let token = store
            .create_service_token(
                &op,
                Minter::Operator,
                &NewServiceToken {
                    account_id: account.id,
                    name: "revoked",
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
        store
            .revoke_service_token(&op, Authority::Operator, Some(account.id), token.id)
            .await
            .unwrap();
        let verifier = Verifier::new(store, ServerConfig::default());
        (verifier, new.secret.expose().to_owned())
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
        _dir: dir,
    }
}

fn miss(bencher: divan::Bencher, revoked: bool) {
    let f = fixture();
    let token = if revoked { &f.revoked } else { &f.never_issued };
    bencher
        .with_inputs(|| f.verifier.cache().clear())
        .bench_local_values(|()| {
            f.runtime
                .block_on(f.verifier.authenticate(black_box(token)))
                .is_err()
        });
}

#[divan::bench(sample_count = 300, sample_size = 1)]
fn never_issued_token(bencher: divan::Bencher) {
    miss(bencher, false);
}

#[divan::bench(sample_count = 300, sample_size = 1)]
fn revoked_token(bencher: divan::Bencher) {
    miss(bencher, true);
}
