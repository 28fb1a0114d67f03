#!/usr/bin/env bash
# Load harness (issue 9): Latchkey against the machine's limit, in one run. nginx answering
# `return 200` (one worker, access log off) and one `latchkey serve` (release build, a SQLite
# file) are pinned to core 1, wrk (one thread, CONNS kept-alive connections) to core 0. Then, in
# ROUNDS alternating rounds of SECS seconds each:
#   nginx      GET /                    `return 200`: what this machine's loopback HTTP costs
#   livez      GET /livez               Latchkey's HTTP stack with a no-op handler
#   authorize  POST /api/v1/authorize   verify + decide on a cache hit, each request with the
#                                       next of TOKENS tokens (bench/rotate.lua)
#   forward    GET /auth/forward        nginx auth_request: route map + verify + decide, rotating
# For each: requests/s, its ratio to nginx's in the same round, p50/p99, the server's CPU per
# request (utime+stime of the process from /proc over the run: nginx's master and worker), and
# how busy wrk's core was (with /usr/bin/time): near 100 %, the ratio is wrk's limit, not ours.
# A warm-up pass first looks every token up once (misses), so the rounds measure hits.
# CACHED (default TOKENS) tokens are made; when there are more than TOKENS, every one of them is
# asked once first, so the node caches CACHED tokens while the rounds rotate through TOKENS of
# them: the request-level cost of a hit in a large cache (its in-process part: bench/verify.sh).
# LATCHKEY_BIN: the binary to measure (default: a release build of this tree, built first).
# Usage: bash bench/load.sh [secs=10] [conns=64] [tokens=20000] [rounds=3] [cached=tokens]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
tokens=${3:-20000}
rounds=${4:-3}
cached=${5:-$tokens}
[ "$cached" -ge "$tokens" ] || { echo "cached ($cached) must be at least tokens ($tokens)" >&2; exit 1; }
for tool in wrk taskset; do
    command -v "$tool" >/dev/null || { echo "install $tool (apt-get install wrk util-linux)" >&2; exit 1; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx_bin" ] || { echo "install nginx (apt-get install nginx-light)" >&2; exit 1; }
[ "$(nproc)" -ge 2 ] || { echo "needs two cores (wrk on one, the servers on the other)" >&2; exit 1; }
bin=${LATCHKEY_BIN:-}
if [ -z "$bin" ]; then cargo build --release -q -p latchkey; bin=target/release/latchkey; fi
probe=$(cargo bench -p latchkey --bench probe --no-run 2>&1 | sed -n 's/.*(\(.*probe-[0-9a-f]*\)).*/\1/p' | tail -1)
[ -x "$probe" ] || { echo "could not build the probe" >&2; exit 1; }
dir=$(mktemp -d)
server='' ; nginx_pid=''
trap 'kill $server 2>/dev/null || true; [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
ulimit -n 65536 2>/dev/null || true
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
hz=$(getconf CLK_TCK)
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }

# nginx: one worker, no log, keep-alive as long as wrk wants, the same connection cap as ours.
nport=$(free_port)
mkdir -p "$dir/nginx/logs"
cat > "$dir/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    server {
        listen 127.0.0.1:$nport;
        location / { return 200; }
    }
}
EOF
taskset -c 1 "$nginx_bin" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" &
nginx_pid=$!

port=$(free_port)
LATCHKEY_LOG=warn taskset -c 1 "$bin" serve --db "sqlite://$dir/load.db" \
    --listen "127.0.0.1:$port" --forward-auth-headers nginx \
    --token-requests-per-minute 0 --account-requests-per-minute 0 > "$dir/out" 2> "$dir/err" &
server=$!
for _ in $(seq 300); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$nport/" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$nport/" >/dev/null || { echo "nginx never answered"; cat "$dir/nginx/logs/error.log"; exit 1; }
nginx_pids=$(pgrep -P "$nginx_pid" | tr '\n' ' ')
nginx_pids="$nginx_pid $nginx_pids"
admin=$(grep -m1 '^lksvc_' "$dir/out")
account=$(curl -fs -H "Authorization: Token $admin" "http://127.0.0.1:$port/api/v3/accounts/" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
echo "== $(date -u +%FT%TZ), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'), load $(load)"
echo "-- making $cached tokens (job_admin on all projects) through the API"
taskset -c 0 "$probe" create "127.0.0.1:$port" "$admin" "$account" 8 "$cached" "$dir/all" | tail -2
head -n "$tokens" "$dir/all" > "$dir/tokens"
if [ "$cached" -gt "$tokens" ]; then
    echo "-- every one of the $cached tokens asked once, so the node caches them all"
    "$probe" warm "127.0.0.1:$port" "$dir/all" 4 | tail -1
fi
rss() { awk '/^VmRSS/ {print $2 " KiB"}' "/proc/$server/status"; }
echo "   server RSS $(rss)"
curl -fs -X POST -H 'Content-Type: application/json' -H "Authorization: Token $(head -1 "$dir/tokens")" \
    -d '{"permission":"jobs:write","project_id":1}' "http://127.0.0.1:$port/api/v1/authorize" | grep -q '"allowed":true' \
    || { echo "the rotation's tokens are not allowed"; exit 1; }
taskset -a -cp 1 "$server" >/dev/null

declare -A rps
# wrk's own CPU (user + system over wall time): near 100 %, wrk and not the server sets the pace.
timer=(env)
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f 'client %U %S %e')
run() { # name, seconds, pids…, -- wrk arguments…
    local name=$1 s=$2; shift 2
    local pids=()
    while [ "$1" != -- ]; do pids+=("$1"); shift; done
    shift
    local t0 out reqs
    t0=$(ticks "${pids[@]}")
    out=$(taskset -c 0 "${timer[@]}" wrk -t1 -c"$conns" -d"${s}s" --latency "$@" 2>&1)
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    rps[$name]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    local ratio=""
    [ -n "${rps[nginx]:-}" ] && ratio=$(awk -v a="${rps[$name]}" -v b="${rps[nginx]}" 'BEGIN { printf "%.2f", a / b }')
    printf "  %-10s %9s req/s  %5s x nginx  p50 %-8s p99 %-8s  %7s us CPU/request  wrk %4s%% busy  %s (load %s)\n" \
        "$name" "${rps[$name]}" "$ratio" \
        "$(awk '$1=="50%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
        "$(awk -v a="$(ticks "${pids[@]}")" -v a0="$t0" -v n="$reqs" -v hz="$hz" 'BEGIN { printf "%.1f", (a-a0)*1e6/hz/n }')" \
        "$(awk '/^client / { printf "%.0f", ($2 + $3) * 100 / $4 }' <<<"$out")" \
        "$(grep -q Non-2xx <<<"$out" && grep Non-2xx <<<"$out" | tr -s ' ' || echo 'all 2xx')" "$(load)"
}
export LATCHKEY_TOKENS="$dir/tokens"
echo "-- warm-up: every route, the rotation's tokens each looked up (misses, unless CACHED warmed them)"
run authorize 5 "$server" -- -s bench/rotate.lua "http://127.0.0.1:$port/api/v1/authorize"
run forward 2 "$server" -- -s bench/forward.lua "http://127.0.0.1:$port/auth/forward"
run livez 2 "$server" -- "http://127.0.0.1:$port/livez"
run nginx 2 $nginx_pids -- "http://127.0.0.1:$nport/"
for round in $(seq "$rounds"); do
    echo "-- round $round: wrk -t1 -c$conns on core 0, the servers on core 1, ${secs}s each"
    unset 'rps[nginx]'
    run nginx "$secs" $nginx_pids -- "http://127.0.0.1:$nport/"
    run livez "$secs" "$server" -- "http://127.0.0.1:$port/livez"
    run authorize "$secs" "$server" -- -s bench/rotate.lua "http://127.0.0.1:$port/api/v1/authorize"
    run forward "$secs" "$server" -- -s bench/forward.lua "http://127.0.0.1:$port/auth/forward"
done
echo "-- server RSS $(rss)"
: "$admin"
