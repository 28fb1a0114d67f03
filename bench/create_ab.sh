#!/usr/bin/env bash
# Durable token creations through the API on SQLite, binaries side by side (issue 9): for each
# round and each binary given, a fresh `latchkey serve` on a new SQLite file, the probe
# (crates/latchkey/benches/probe.rs) creating COUNT tokens from CLIENTS kept-alive clients as
# warm-up, then COUNT more measured: creations/s, latency percentiles, and the node's CPU per
# creation (utime+stime from /proc). Binaries are interleaved so that the machine's drift falls
# on all of them. Loopback only; Admin API budgets off so the store is what is measured.
# Usage: bash bench/create_ab.sh ROUNDS CLIENTS COUNT BINARY...
#   e.g. git worktree add /tmp/old OLD && (cd /tmp/old && cargo build --release -p latchkey)
#        bash bench/create_ab.sh 3 16 3000 /tmp/old/target/release/latchkey target/release/latchkey
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { echo "usage: bash bench/create_ab.sh ROUNDS CLIENTS COUNT BINARY..." >&2; exit 2; }
rounds=$1 clients=$2 count=$3
shift 3
probe=$(cargo bench -p latchkey --bench probe --no-run 2>&1 | sed -n 's/.*(\(.*probe-[0-9a-f]*\)).*/\1/p' | tail -1)
[ -x "$probe" ] || { echo "could not build the probe" >&2; exit 1; }
dir=$(mktemp -d)
pid=''
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
echo "== $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
    for bin in "$@"; do
        rm -rf "$dir/db" && mkdir "$dir/db"
        port=$(free_port)
        LATCHKEY_LOG=warn "$bin" serve --db "sqlite://$dir/db/bench.db" --listen "127.0.0.1:$port" \
            --token-requests-per-minute 0 --account-requests-per-minute 0 >"$dir/out" 2>"$dir/err" &
        pid=$!
        for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
        admin=$(grep -m1 '^lksvc_' "$dir/out") || { echo "$bin never printed its admin token" >&2; cat "$dir/err" >&2; exit 1; }
        "$probe" create "127.0.0.1:$port" "$admin" 1 "$clients" "$count" "$dir/warm" >/dev/null
        t0=$(ticks "$pid")
        out=$("$probe" create "127.0.0.1:$port" "$admin" 1 "$clients" "$count" "$dir/measured")
        t1=$(ticks "$pid")
        echo "-- round $round, $bin (load $(cut -d' ' -f1 /proc/loadavg))"
        echo "$out"
        awk -v a="$t0" -v b="$t1" -v n="$count" -v hz="$hz" \
            'BEGIN { printf "  CPU per creation: %.0f us\n", (b - a) * 1e6 / hz / n }'
        kill "$pid"; wait "$pid" 2>/dev/null || true; pid=''
    done
done
