#!/usr/bin/env bash
# Hostile load on password sign-in (issue 8, finding 5): N concurrent wrong sign-ins, each from
# its own address (X-Forwarded-For from a trusted proxy) and for its own e-mail, so neither the
# per-address nor the per-e-mail failure budget stops them and only the hashing permits bound
# the work. An honest client (a second wrk, a few connections) calls /api/v1/authorize first
# on a quiet server, then during the flood; beside it, the same client against nginx's
# `return 200` on the same machine, quiet and under the same flood, shows what the machine
# itself gives (the flood's generator shares the cores). Reports the server's peak RSS (VmHWM)
# and CPU, and the latencies. Loopback only; needs wrk, and nginx for the comparison.
# Usage: bash bench/password_flood.sh [seconds] [flood connections] [honest connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-1000}
honest=${3:-4}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
# LATCHKEY_BIN runs another build (to compare two side by side); the default is this tree's.
bin=${LATCHKEY_BIN:-target/release/latchkey}
[ -n "${LATCHKEY_BIN:-}" ] || cargo build --release -q -p latchkey
dir=$(mktemp -d)
nginx_pid=""
trap 'kill $server $nginx_pid 2>/dev/null || true; rm -rf "$dir"' EXIT
ulimit -n 65536 2>/dev/null || true
export LATCHKEY_DATABASE_URL="sqlite://$dir/flood.db" LATCHKEY_LOG=error
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# LATCHKEY_DECISION_LISTEN=1: the honest client asks on the decision listener (its own threads),
# as a deployment that keeps decisions internal would; otherwise on the flooded listener.
decide_port=$port
decision=()
if [ -n "${LATCHKEY_DECISION_LISTEN:-}" ]; then
    decide_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    decision=(--decision-listen "127.0.0.1:$decide_port")
fi
unset LATCHKEY_DECISION_LISTEN
"$bin" serve --listen "127.0.0.1:$port" "${decision[@]}" --trusted-proxy 127.0.0.1/32 \
    --account-requests-per-minute 0 > "$dir/out" &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break; sleep 0.1; done
export LATCHKEY_TOKEN=$("$bin" token create --account 1 --name flood --grant job_admin:project=1)
# Each request a new address and a new e-mail, with a wrong password.
cat > "$dir/flood.lua" <<'LUA'
local n = 0
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  return ((s:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if (#x < 6) then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#s % 3 + 1])
end
request = function()
  n = n + 1
  local ip = string.format("10.%d.%d.%d", (n // 65536) % 256, (n // 256) % 256, n % 256)
  local auth = "Basic " .. b64("user" .. n .. "@example.com:not the password " .. n)
  return wrk.format("GET", "/api/v3/accounts/1/personal-tokens/",
    { ["Authorization"] = auth, ["X-Forwarded-For"] = ip })
end
LUA
rss() { awk '/VmHWM|VmRSS/ {printf "%s %s kB  ", $1, $2}' /proc/$server/status; echo; }
cpu() { awk '{print $14 + $15}' /proc/$server/stat; }

# nginx answering `return 200`, for the machine's own limit beside ours.
nginx_port=""
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if [ -x "$nginx_bin" ]; then
    nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$dir/nginx"
    cat > "$dir/nginx.conf" <<NGINX
worker_processes auto;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/nginx;
    server { listen 127.0.0.1:$nginx_port; location / { return 200 "ok"; } }
}
NGINX
    "$nginx_bin" -c "$dir/nginx.conf" -p "$dir/nginx" 2>/dev/null &
    nginx_pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$nginx_port/" >/dev/null 2>&1 && break; sleep 0.1; done
fi

# One honest client's measurement: $1 what, $2 seconds.
authorize() {
    echo "-- POST /api/v1/authorize, $honest connections, $1$([ "$decide_port" = "$port" ] || echo ', on the decision listener')"
    wrk -t1 -c"$honest" -d"$2s" --latency -s bench/authorize.lua "http://127.0.0.1:$decide_port/api/v1/authorize" \
        | grep -E 'Requests/sec|50%|90%|99%|Non-2xx'
}
nginx_200() {
    [ -n "$nginx_port" ] || { echo "-- nginx not found: no comparison"; return; }
    echo "-- nginx return 200, $honest connections, $1"
    wrk -t1 -c"$honest" -d"$2s" --latency "http://127.0.0.1:$nginx_port/" \
        | grep -E 'Requests/sec|50%|90%|99%|Non-2xx'
}

window=$(( (secs - 4) / 2 ))
[ "$window" -ge 2 ] || { echo "seconds must be 8 or more" >&2; exit 2; }
echo "== quiet"
authorize "quiet" "$window"
nginx_200 "quiet" "$window"
echo "== before the flood: $(rss)"
ticks=$(getconf CLK_TCK)
c0=$(cpu)
wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/flood.lua" "http://127.0.0.1:$port/" > "$dir/flood.txt" 2>&1 &
flood=$!
sleep 2
echo "== during $conns connections of wrong sign-ins"
authorize "during the flood" "$window"
nginx_200 "during the same flood" "$window"
wait $flood
c1=$(cpu)
echo "== the flood"
grep -E 'requests in|Requests/sec|Non-2xx|Socket errors' "$dir/flood.txt"
echo "== after the flood: $(rss)"
echo "server CPU during the flood: $(( (c1 - c0) * 1000 / ticks )) ms"
