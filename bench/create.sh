#!/usr/bin/env bash
# Token creations in the store (issue 9): crates/latchkey-store/benches/create.rs on SQLite and
# on a throwaway PostgreSQL (bench/pg.sh), first with PostgreSQL's durable defaults (each commit
# waits for its WAL flush), then with `synchronous_commit = off` (a commit survives the process,
# not a power cut: what SQLite's WAL with synchronous=NORMAL gives). After each, the statements
# PostgreSQL ran (pg_stat_statements): calls and time, so the advisory lock's share shows.
# Also what one fdatasync costs on this disk (pg_test_fsync). Loopback only; bounded by divan's
# sample counts. Usage: bash bench/create.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/pg.sh
trap 'pg_stop' EXIT
cargo bench -p latchkey-store --bench create --no-run -q
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for mode in "synchronous_commit = on" "synchronous_commit = off"; do
    PG_SETTINGS="$mode
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_utility = off" pg_start
    psql -q "$PG_URL" -c 'CREATE DATABASE bench' >/dev/null
    url="${PG_URL%/*}/bench"
    psql -q "$url" -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
    if [ "$mode" = "synchronous_commit = on" ]; then
        echo "== one fdatasync on this disk (pg_test_fsync, 8 kB writes)"
        (cd "$PG_DIR" && pg_as "$(pg_bin)/pg_test_fsync" -s 1 -f "$PG_DIR/fsync.test" 2>&1 | grep -m1 -E '^[[:space:]]+fdatasync') || true
    fi
    echo "== PostgreSQL with $mode (load $(cut -d' ' -f1-3 /proc/loadavg))"
    psql -q "$url" -c 'SELECT pg_stat_statements_reset()' >/dev/null
    LATCHKEY_BENCH_PG_URL="$url" cargo bench -q -p latchkey-store --bench create
    echo "-- the statements PostgreSQL ran for it (top 12 by total time)"
    psql "$url" -c "SELECT calls, round(total_exec_time::numeric, 1) AS total_ms,
        round(mean_exec_time::numeric * 1000, 1) AS mean_us, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
        ORDER BY total_exec_time DESC LIMIT 12"
    pg_stop
done
echo "== done, load $(cut -d' ' -f1-3 /proc/loadavg)"
