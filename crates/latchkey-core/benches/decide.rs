//! Pieces of the hot path in isolation: token parse + checksum + SHA-256, and the decision.
//! Run: `cargo bench -p latchkey-core`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

use latchkey_core::{
    catalog, decide, EffectivePermissions, Grant, Permission, Plan, ProjectId, Scope, TokenFormat,
    TokenKind,
};
use std::hint::black_box;

fn main() {
    divan::main();
}

#[divan::bench]
fn parse_checksum_and_hash(bencher: divan::Bencher) {
    let format = TokenFormat::default();
    let token = format.generate(TokenKind::Service);
    bencher.bench_local(|| format.parse(black_box(token.secret.expose())).is_ok());
}

#[divan::bench]
fn reject_bad_checksum(bencher: divan::Bencher) {
    let format = TokenFormat::default();
    let token = format.generate(TokenKind::Service);
    let mut bad = token.secret.expose().to_owned();
    let last = bad.pop().unwrap();
    bad.push(if last == 'a' { 'b' } else { 'a' });
    bencher.bench_local(|| format.parse(black_box(&bad)).is_err());
}

#[divan::bench]
fn decide_project_permission(bencher: divan::Bencher) {
    let cat = catalog();
    let grants = [
        Grant::new(cat.set("job_viewer").unwrap(), Scope::AllProjects),
        Grant::new(cat.set("job_admin").unwrap(), Scope::Project(ProjectId(7))),
        Grant::new(cat.set("developer").unwrap(), Scope::Project(ProjectId(9))),
    ];
    let perms = EffectivePermissions::for_service_token(&grants, Plan::Enterprise);
    let write_jobs: Permission = "jobs:write".parse().unwrap();
    bencher.bench_local(|| {
        decide(
            black_box(&perms),
            write_jobs,
            black_box(Some(ProjectId(7))),
            None,
        )
        .is_allowed()
    });
}
