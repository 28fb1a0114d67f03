#!/usr/bin/env bash
# The verifier's cache-miss path in process on each backend (issue 9's cold-miss figure without
# HTTP): crates/latchkey-server/benches/miss.rs on a SQLite file and on a throwaway PostgreSQL
# (bench/pg.sh, durable defaults, loopback). Usage: bash bench/miss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/pg.sh
trap 'pg_stop' EXIT
cargo bench -q -p latchkey-server --bench miss --no-run
pg_start
psql -q "$PG_URL" -c 'CREATE DATABASE bench' >/dev/null
echo "== $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
LATCHKEY_BENCH_PG_URL="${PG_URL%/*}/bench" cargo bench -q -p latchkey-server --bench miss
echo "== done, load $(cut -d' ' -f1-3 /proc/loadavg)"
