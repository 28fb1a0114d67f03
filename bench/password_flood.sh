#!/usr/bin/env bash
# Hostile load on password sign-in (issue 8, finding 5): N concurrent wrong sign-ins, each from
# its own address (X-Forwarded-For from a trusted proxy) and for its own e-mail, so neither the
# per-address nor the per-e-mail failure budget stops them and only the hashing permits bound
# the work; at the same time /api/v1/authorize is measured from a second wrk. Reports the
# server's peak RSS (VmHWM) and CPU, and authorize's latency. Loopback only; needs wrk.
# Usage: bash bench/password_flood.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
conns=${2:-1000}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p latchkey
dir=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$dir"' EXIT
ulimit -n 65536 2>/dev/null || true
export LATCHKEY_DATABASE_URL="sqlite://$dir/flood.db" LATCHKEY_LOG=error
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/latchkey serve --listen "127.0.0.1:$port" --trusted-proxy 127.0.0.1/32 \
    --account-requests-per-minute 0 > "$dir/out" &
server=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/livez" >/dev/null 2>&1 && break; sleep 0.1; done
export LATCHKEY_TOKEN=$(target/release/latchkey token create --account 1 --name flood --grant job_admin:project=1)
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
echo "== before: $(rss)"
ticks=$(getconf CLK_TCK)
c0=$(cpu)
wrk -t2 -c"$conns" -d"${secs}s" -s "$dir/flood.lua" "http://127.0.0.1:$port/" > "$dir/flood.txt" 2>&1 &
flood=$!
sleep 2
echo "== POST /api/v1/authorize during the flood (32 connections)"
wrk -t1 -c32 -d"$((secs - 4))s" --latency -s bench/authorize.lua "http://127.0.0.1:$port/api/v1/authorize" \
    | grep -E 'Requests/sec|50%|90%|99%|Non-2xx'
wait $flood
c1=$(cpu)
echo "== the flood ($conns connections of wrong sign-ins)"
grep -E 'requests in|Requests/sec|Non-2xx|Socket errors' "$dir/flood.txt"
echo "== after: $(rss)"
echo "server CPU during the run: $(( (c1 - c0) * 1000 / ticks )) ms"
