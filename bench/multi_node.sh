#!/usr/bin/env bash
# Revocation lag across nodes (issue 9): three `latchkey serve` processes (release build) on one
# throwaway PostgreSQL database (bench/pg.sh: durable defaults, loopback). N times, the probe
# (crates/latchkey/benches/probe.rs) creates a token on node A, has B and C allow it (cached),
# revokes it through A's API and asks B and C back to back until each refuses; it prints
# p50/p90/p99/max of each node's lag from the moment the DELETE is sent.
# Two configurations, one after the other on the same database: the default (LISTEN/NOTIFY,
# and the feed polled every 250 ms), then listening only (--change-poll-ms 60000, so what
# arrives within a minute came by NOTIFY). Loopback only; bounded by N.
# PROBE_POLL_US=N pauses N µs between polls (the pollers otherwise take a core of a 2-core box).
# LATCHKEY_BENCH_CSV=DIR keeps every round's lags (default.csv, listen-only.csv) there.
# Usage: bash bench/multi_node.sh [revocations]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-200}
. bench/pg.sh
cargo build --release -q -p latchkey
probe=$(cargo bench -p latchkey --bench probe --no-run 2>&1 | sed -n 's/.*(\(.*probe-[0-9a-f]*\)).*/\1/p' | tail -1)
[ -x "$probe" ] || { echo "could not build the probe" >&2; exit 1; }
dir=$(mktemp -d)
nodes=()
stop_nodes() { for p in "${nodes[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${nodes[@]}"; do wait "$p" 2>/dev/null || true; done; nodes=(); }
trap 'stop_nodes; pg_stop; rm -rf "$dir"' EXIT
pg_start
psql -q "$PG_URL" -c 'CREATE DATABASE bench' >/dev/null
url="${PG_URL%/*}/bench"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ports=($(free_port) $(free_port) $(free_port))

start_nodes() {
    local i
    for i in 0 1 2; do
        LATCHKEY_LOG=warn target/release/latchkey serve --db "$url" --listen "127.0.0.1:${ports[$i]}" \
            --trusted-proxy 127.0.0.1/32 --token-requests-per-minute 0 \
            --account-requests-per-minute 0 "$@" > "$dir/node$i.out" 2>"$dir/node$i.err" &
        nodes+=($!)
    done
    for i in 0 1 2; do
        for _ in $(seq 600); do
            curl -fs "http://127.0.0.1:${ports[$i]}/readyz" 2>/dev/null | grep -q '"listening"' && break
            sleep 0.1
        done
        curl -fs "http://127.0.0.1:${ports[$i]}/readyz" | grep -q '"listening"' \
            || { echo "node $i never listened"; cat "$dir/node$i.err"; exit 1; }
    done
}

echo "== $(date -u +%FT%TZ), $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
start_nodes
admin=$(cat "$dir"/node*.out | grep -m1 '^lksvc_')
account=$(curl -fs -H "Authorization: Token $admin" "http://127.0.0.1:${ports[0]}/api/v3/accounts/" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
a="127.0.0.1:${ports[0]}" b="127.0.0.1:${ports[1]}" c="127.0.0.1:${ports[2]}"
echo "== default configuration (LISTEN/NOTIFY, feed polled every 250 ms), $rounds revocations"
csv() { [ -n "${LATCHKEY_BENCH_CSV:-}" ] && echo "$LATCHKEY_BENCH_CSV/$1.csv" || true; }
PROBE_CSV=$(csv default) "$probe" lag "$a" "$b" "$c" "$admin" "$account" "$rounds"
stop_nodes
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== listening only (--change-poll-ms 60000), $rounds revocations"
start_nodes --change-poll-ms 60000
PROBE_CSV=$(csv listen-only) "$probe" lag "$a" "$b" "$c" "$admin" "$account" "$rounds"
stop_nodes
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
