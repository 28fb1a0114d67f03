#!/usr/bin/env bash
# Load harness: /api/v1/authorize and /auth/forward beside the trivial /livez of the same binary, same run,
# loopback only. Needs wrk (Debian package `wrk`). Usage: bash bench/load.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p latchkey
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
export LATCHKEY_DATABASE_URL="sqlite://$dir/load.db" LATCHKEY_LOG=warn
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/latchkey serve --listen "127.0.0.1:$port" --forward-auth-headers nginx > "$dir/out" &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break; sleep 0.1; done
admin=$(grep '^lksvc_' "$dir/out")
export LATCHKEY_TOKEN=$(target/release/latchkey token create --account 1 --name load --grant job_admin:project=1)
echo "== GET /livez (no I/O, the baseline)"
wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/livez" | grep -E 'Requests/sec|50%|99%'
echo "== POST /api/v1/authorize (verify + decide, cache hit)"
wrk -t1 -c"$conns" -d"${secs}s" --latency -s bench/authorize.lua "http://127.0.0.1:$port/api/v1/authorize" | grep -E 'Requests/sec|50%|99%|Non-2xx'
echo "== GET /auth/forward (nginx auth_request: route map + verify + decide)"
wrk -t1 -c"$conns" -d"${secs}s" --latency \
    -H "Authorization: Token $LATCHKEY_TOKEN" -H "X-Original-Method: GET" \
    -H "X-Original-URI: /api/v2/accounts/1/runs/?project_id=1" \
    "http://127.0.0.1:$port/auth/forward" | grep -E 'Requests/sec|50%|99%|Non-2xx'
: "$admin"
