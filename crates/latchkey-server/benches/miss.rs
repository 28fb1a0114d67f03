//! The verifier's cache-miss path for tokens that do not work: a never-issued token against a
//! revoked one, each looked up in the store with an empty cache (cleared outside the timed part).
//! The two should cost the same, so that timing cannot tell an attacker which guessed or leaked
//! token once existed. The two are timed in alternation, pair after pair, so that the load of a
//! shared machine falls on both alike; the figures printed are per kind and for the difference
//! within each pair.
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
    let f = fixture();
    let time = |token: &str| {
        f.verifier.cache().clear();
        let start = Instant::now();
        let refused = f
            .runtime
            .block_on(f.verifier.authenticate(black_box(token)))
            .is_err();
        let took = start.elapsed();
        assert!(refused);
        took.as_nanos() as i64
    };
    // Warm both paths (statement cache, pool connection).
    for _ in 0..200 {
        time(&f.never_issued);
        time(&f.revoked);
    }
    let (mut never, mut revoked, mut diff) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PAIRS {
        // Alternate which goes first, so neither always follows the other.
        let (n, r) = if i % 2 == 0 {
            let n = time(&f.never_issued);
            (n, time(&f.revoked))
        } else {
            let r = time(&f.revoked);
            (time(&f.never_issued), r)
        };
        never.push(n);
        revoked.push(r);
        diff.push(r - n);
    }
    println!("miss path, {PAIRS} alternating pairs (ns): min / median / p90");
    for (what, mut v) in [
        ("never-issued token", never),
        ("revoked token", revoked),
        ("revoked - never-issued (per pair)", diff),
    ] {
        v.sort_unstable();
        println!(
            "  {what:<36} {:>8} / {:>8} / {:>8}",
            v[0],
            v[v.len() / 2],
            v[v.len() * 9 / 10]
        );
    }
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
