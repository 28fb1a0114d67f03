#!/usr/bin/env bash
# SQLite beside PostgreSQL in one run (issue 9): one `latchkey serve` (release build) on a SQLite
# file and one on a throwaway PostgreSQL (bench/pg.sh: durable defaults, loopback), measured
# alternately so that the shared machine's load falls on both.
#  1. Durable token creations through the API: POST service-tokens from CLIENTS concurrent
#     kept-alive clients (the probe, crates/latchkey/benches/probe.rs), then from one client.
#     The tokens made are the rotation of step 2 and the misses of step 3.
#  2. /api/v1/authorize on a cache hit: wrk (1 thread, CONNS connections) pinned to core 0, the
#     server (and PostgreSQL's processes) pinned to core 1, each request with the next of the
#     backend's tokens (bench/rotate.lua); a warm-up pass first. Requests/s, latencies, and the
#     server's (and PostgreSQL's) CPU per request from /proc.
#     Then the same with 100 of the tokens only, where each usage flush writes 100 rows.
#  2b. Creations from one client while wrk keeps the tokens in use (the usage flush's cost).
#  3. Cold misses: each node restarted (empty cache), the probe asks MISSES tokens once each
#     (the store lookup), again (hits), and as many never-issued ones, one at a time.
# The Admin API budgets are off (--token-requests-per-minute 0, --account-requests-per-minute 0)
# so that step 1 measures the store, not the budget. Loopback only; every step bounded.
# LATCHKEY_BENCH_ROUNDS: measured pairs in step 2 (3); LATCHKEY_BENCH_MISSES=0 skips step 3.
# Usage: bash bench/backends.sh [seconds per wrk run] [tokens per backend] [clients] [conns] [misses]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
per=${2:-20000}
clients=${3:-16}
conns=${4:-64}
misses=${5:-5000}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
. bench/pg.sh
cargo build --release -q -p latchkey
probe=$(cargo bench -p latchkey --bench probe --no-run 2>&1 | sed -n 's/.*(\(.*probe-[0-9a-f]*\)).*/\1/p' | tail -1)
[ -x "$probe" ] || { echo "could not build the probe" >&2; exit 1; }
dir=$(mktemp -d)
declare -A pid port url
trap 'for b in sqlite pg; do kill ${pid[$b]:-} 2>/dev/null || true; done; pg_stop; rm -rf "$dir"' EXIT
ulimit -n 65536 2>/dev/null || true
# pg_stat_statements shows what PostgreSQL runs for each step (printed after it).
PG_SETTINGS="shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track_utility = off" pg_start
psql -q "$PG_URL" -c 'CREATE DATABASE bench' >/dev/null
psql -q "${PG_URL%/*}/bench" -c 'CREATE EXTENSION pg_stat_statements' >/dev/null
url[sqlite]="sqlite://$dir/bench.db"
url[pg]="${PG_URL%/*}/bench"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

start() { # backend, extra serve flags…
    local b=$1; shift
    port[$b]=$(free_port)
    LATCHKEY_LOG=warn target/release/latchkey serve --db "${url[$b]}" --listen "127.0.0.1:${port[$b]}" \
        --token-requests-per-minute 0 --account-requests-per-minute 0 "$@" >> "$dir/$b.out" 2>>"$dir/$b.err" &
    pid[$b]=$!
    for _ in $(seq 300); do curl -fs "http://127.0.0.1:${port[$b]}/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
    echo "$b never ready"; cat "$dir/$b.err"; exit 1
}
stop() { kill "${pid[$1]}"; wait "${pid[$1]}" 2>/dev/null || true; }

echo "== $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load $(load)"
declare -A admin account
for b in sqlite pg; do
    start "$b"
    admin[$b]=$(grep -m1 '^lksvc_' "$dir/$b.out")
    account[$b]=$(curl -fs -H "Authorization: Token ${admin[$b]}" "http://127.0.0.1:${port[$b]}/api/v3/accounts/" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
done

echo "== 1. token creations through the API (POST service-tokens), load $(load)"
create() { # backend, clients, count, output
    local b=$1 t0 p0
    t0=$(ticks "${pid[$b]}"); p0=$([ "$b" = pg ] && pg_ticks || echo 0)
    echo "-- $b, $2 clients"
    "$probe" create "127.0.0.1:${port[$b]}" "${admin[$b]}" "${account[$b]}" "$2" "$3" "$4"
    awk -v s="$(ticks "${pid[$b]}")" -v s0="$t0" -v p="$([ "$b" = pg ] && pg_ticks || echo 0)" -v p0="$p0" \
        -v n="$3" -v hz="$hz" 'BEGIN { printf "  CPU per creation: latchkey %.0f us, PostgreSQL %.0f us\n", (s-s0)*1e6/hz/n, (p-p0)*1e6/hz/n }'
}
statements() { # what PostgreSQL ran since the last call, by total time
    echo "-- the statements PostgreSQL ran for $1, by total time"
    psql "${url[pg]}" -c "SELECT calls, round(total_exec_time::numeric) AS total_ms,
        round(mean_exec_time::numeric * 1000) AS mean_us, left(regexp_replace(query, '\s+', ' ', 'g'), 80) AS query
        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
        ORDER BY total_exec_time DESC LIMIT ${2:-10}"
    psql -q "${url[pg]}" -c 'SELECT pg_stat_statements_reset()' >/dev/null
}
# Round 1 on new tables: PostgreSQL plans with the statistics of empty tables until it analyzes
# them (autovacuum, or an ANALYZE); round 2 after an ANALYZE, as a database in service would be.
psql -q "${url[pg]}" -c 'SELECT pg_stat_statements_reset()' >/dev/null
for round in 1 2; do
    if [ "$round" = 2 ]; then
        statements "round 1" 4
        psql -q "${url[pg]}" -c 'ANALYZE'
        echo "-- ANALYZE; round 2"
    fi
    for b in sqlite pg; do create "$b" "$clients" $((per / 2)) "$dir/$b.$round.tokens"; done
done
for b in sqlite pg; do
    create "$b" 1 2000 "$dir/$b.single.tokens"
    cat "$dir/$b.1.tokens" "$dir/$b.2.tokens" > "$dir/$b.tokens"
done
statements "round 2 and the single client"
# Let PostgreSQL settle (autovacuum after the inserts, dirty pages) before the hits.
psql -q "${url[pg]}" -c 'VACUUM ANALYZE' -c 'CHECKPOINT'

echo "== 2. /api/v1/authorize, cache hits, $per tokens in rotation, wrk -t1 -c$conns on core 0, servers on core 1"
pin() { # cores: each node's threads and the cluster's processes
    local b p
    for b in sqlite pg; do taskset -a -cp "$1" "${pid[$b]}" >/dev/null; done
    for p in $(pg_pids); do taskset -a -cp "$1" "$p" >/dev/null 2>&1 || true; done
}
hits() { # backend, seconds[, tokens file]
    local b=$1 t0 p0 out tokens=${3:-$dir/$1.tokens}
    # The other node's last usage flush (every 5 s) must not fall into this run.
    sleep 6
    t0=$(ticks "${pid[$b]}"); p0=$(pg_ticks)
    out=$(LATCHKEY_TOKENS="$tokens" taskset -c 0 wrk -t1 -c"$conns" -d"$2s" --latency \
        -s bench/rotate.lua "http://127.0.0.1:${port[$b]}/api/v1/authorize")
    local rps reqs
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    printf "  %-6s %9s req/s  p50 %-8s p99 %-8s %s  CPU/request: latchkey %s us, PostgreSQL %s us  (load %s)\n" "$b" "$rps" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
        "$(grep -q Non-2xx <<<"$out" && grep Non-2xx <<<"$out" | tr -s ' ' || echo 'all 2xx')" \
        "$(awk -v a="$(ticks "${pid[$b]}")" -v a0="$t0" -v n="$reqs" -v hz="$hz" 'BEGIN { printf "%.1f", (a-a0)*1e6/hz/n }')" \
        "$(awk -v a="$(pg_ticks)" -v a0="$p0" -v n="$reqs" -v hz="$hz" 'BEGIN { printf "%.1f", (a-a0)*1e6/hz/n }')" "$(load)"
}
curl -fs -X POST -H 'Content-Type: application/json' -H "Authorization: Token $(head -1 "$dir/pg.tokens")" \
    -d '{"permission":"jobs:write","project_id":1}' "http://127.0.0.1:${port[pg]}/api/v1/authorize" | grep -q '"allowed":true' \
    || { echo "the rotation's tokens are not allowed"; exit 1; }
pin 1
echo "-- warm-up (every token looked up once)"
for b in sqlite pg; do hits "$b" 5; done
echo "-- measured"
for round in $(seq "${LATCHKEY_BENCH_ROUNDS:-3}"); do for b in sqlite pg; do hits "$b" "$secs"; done; done
statements "step 2 (the warm-up's lookups, then cache hits only)" 4
echo "-- the same with only 100 of the tokens in rotation (a usage flush of 100 rows, not $per)"
for b in sqlite pg; do head -100 "$dir/$b.tokens" > "$dir/$b.hot"; done
for round in 1 2 3; do for b in sqlite pg; do hits "$b" "$secs" "$dir/$b.hot"; done; done
pin 0,1
statements "step 2 with 100 tokens" 4

echo "== 2b. creations from one client while wrk keeps $per tokens in use (unpinned): each node's"
echo "   usage flush (every 5 s) writes their last_used_at in one write transaction"
for b in sqlite pg; do
    LATCHKEY_TOKENS="$dir/$b.tokens" wrk -t1 -c"$conns" -d15s -s bench/rotate.lua \
        "http://127.0.0.1:${port[$b]}/api/v1/authorize" > "$dir/wrk.out" &
    load_pid=$!
    sleep 1
    echo "-- $b (load $(load))"
    "$probe" create "127.0.0.1:${port[$b]}" "${admin[$b]}" "${account[$b]}" 1 2000 "$dir/$b.busy.tokens"
    wait "$load_pid"
    grep -E 'Requests/sec' "$dir/wrk.out" | sed 's/^/  authorize meanwhile: /'
done
[ "${LATCHKEY_BENCH_MISSES:-1}" = 0 ] && exit 0

echo "== 3. cold misses, one request at a time, $misses tokens (each node restarted: empty cache)"
for round in 1 2; do
    for b in sqlite pg; do
        stop "$b"
        start "$b" --trusted-proxy 127.0.0.1/32
        echo "-- $b, run $round (load $(load))"
        "$probe" miss "127.0.0.1:${port[$b]}" "$dir/$b.tokens" "$misses"
    done
done
echo "== done, load $(load)"
