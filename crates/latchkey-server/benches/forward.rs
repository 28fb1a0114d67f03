//! Forward auth's work before the decision: reading the original request as the upstream will
//! (`forward_uri::normalise`) and resolving it through the built-in route map, with the heap
//! allocations each takes (none when nothing needs decoding).
//! Run: `cargo bench -p latchkey-server --bench forward`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests and benches stop loudly on a failed setup"
)]

use latchkey_core::forward_uri::normalise;
use latchkey_server::route_map::RouteMap;
use std::hint::black_box;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// `bench/load.sh`'s request, a project in the path, and one with escapes to decode.
const URIS: [&str; 3] = [
    "/api/v2/accounts/1/runs/?project_id=1",
    "/api/v3/accounts/1/projects/1/environments/9/",
    "/api/v2/accounts/1/%72uns/?project%5Fid=%31",
];

#[divan::bench(args = URIS)]
fn normalise_and_resolve(bencher: divan::Bencher, uri: &str) {
    let map = RouteMap::builtin();
    bencher.bench_local(|| {
        let request = normalise(black_box("GET"), black_box(uri)).ok();
        black_box(request.and_then(|r| map.resolve(&r)))
    });
}

/// A refusal is cheap too: an ambiguous query is found without allocating.
#[divan::bench]
fn refuse_a_repeated_key(bencher: divan::Bencher) {
    bencher.bench_local(|| {
        black_box(normalise(
            black_box("GET"),
            black_box("/api/v2/accounts/1/runs/?project_id=2&limit=5&project%5Fid=6"),
        ))
    });
}
