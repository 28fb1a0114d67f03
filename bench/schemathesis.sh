#!/usr/bin/env bash
# Schema fuzzing: schemathesis against the OpenAPI document a real `latchkey serve` serves at
# /api/openapi.json, every operation, every check, as the Account Admin the first start prints
# (and, on the routes that act for a user, as that admin user). Exits non-zero on any finding: a
# 5xx, an answer that breaks its own schema, a status the document does not list for the
# operation, a schema-valid request refused, a schema-violating one accepted, … Loopback only,
# on a temp SQLite file; bounded in count (max-examples per operation) and in wall time.
#
# Needs schemathesis: pip install 'schemathesis==4.32.5' (the version this was written against).
# Usage: bash bench/schemathesis.sh [max-examples (200)] [extra schemathesis options…]
# Env:   LATCHKEY_SCHEMATHESIS_TIMEOUT  seconds for the whole run (default 1800)
#        LATCHKEY_BIN                   the binary to serve with (default: build the release one)
#
# The server runs with forward auth (nginx headers) and invitations (codes delivered by the
# caller) on, so those operations are live, and with the Admin API budgets off
# (`--account-requests-per-minute 0`, and `--token-requests-per-minute 0` where the binary has
# it): schemathesis sends far more than 5000 calls a minute, and a run that spends the budget
# tests nothing but 429 (which every guarded operation lists all the same). The failed-
# authentication throttle stays on. The rules the document can only state in words, and what
# the run does to keep its own credentials, are in bench/schemathesis_hooks.py; the statuses
# the checks take as refusals, in bench/schemathesis.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-200}
shift || true
wall=${LATCHKEY_SCHEMATHESIS_TIMEOUT:-1800}
python3 -c 'import schemathesis' 2>/dev/null || {
    echo "install schemathesis: pip install 'schemathesis==4.32.5'" >&2
    exit 1
}
bin=${LATCHKEY_BIN:-}
if [ -z "$bin" ]; then
    cargo build --release -q -p latchkey
    bin=target/release/latchkey
fi
dir=$(mktemp -d)
server=""
trap '[ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$dir"' EXIT
export LATCHKEY_DATABASE_URL="sqlite://$dir/schema.db" LATCHKEY_LOG=warn
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
budgets=(--account-requests-per-minute 0)
if "$bin" serve --help | grep -q -- --token-requests-per-minute; then
    budgets+=(--token-requests-per-minute 0)
fi
"$bin" serve --listen "127.0.0.1:$port" --forward-auth-headers nginx \
    --invite-delivery caller "${budgets[@]}" > "$dir/out" 2> "$dir/err" &
server=$!
base="http://127.0.0.1:$port"
for _ in $(seq 300); do curl -fs "$base/livez" >/dev/null 2>&1 && break; sleep 0.1; done

# The first start's Account Admin token and admin user; a personal access token of theirs.
admin=$(grep -m1 '^lksvc_' "$dir/out") || {
    echo "no admin token printed" >&2
    cat "$dir/out" "$dir/err" >&2
    exit 1
}
email=$(sed -n 's/^Admin user: *\([^ ]*\) .*/\1/p' "$dir/out")
user_id=$(sed -n 's/^Admin user: .*(id \([0-9]*\)).*/\1/p' "$dir/out")
password=$(sed -n 's/^Admin password, shown once: //p' "$dir/out")
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
whoami=$(curl -fsS -H "Authorization: Token $admin" "$base/api/v2/whoami/")
account=$(json '["data"]["principal"]["account_id"]' <<< "$whoami")
pat=$(curl -fsS -u "$email:$password" -H 'Content-Type: application/json' \
    -d '{"name": "schemathesis"}' "$base/api/v3/accounts/$account/personal-tokens/")
export LATCHKEY_ADMIN_TOKEN="$admin"
LATCHKEY_ADMIN_TOKEN_ID=$(json '["data"]["principal"]["id"]' <<< "$whoami")
export LATCHKEY_ADMIN_TOKEN_ID
export LATCHKEY_ADMIN_USER_ID="$user_id" LATCHKEY_ADMIN_EMAIL="$email"
export LATCHKEY_ADMIN_PASSWORD="$password"
LATCHKEY_PAT=$(json '["data"]["token_string"]' <<< "$pat")
LATCHKEY_PAT_ID=$(json '["data"]["id"]' <<< "$pat")
export LATCHKEY_PAT LATCHKEY_PAT_ID

export PYTHONPATH="$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks
config="$PWD/bench/schemathesis.toml"
status=0
# From the temp directory, so schemathesis's own cache (.schemathesis/) stays out of the tree.
# One worker: with two, Hypothesis describing its strategies from several threads trips a
# CPython 3.11 `ast` error inside schemathesis (a run error, not a finding).
(cd "$dir" && timeout --foreground -k 10 "$wall" python3 -m schemathesis.cli \
    --config-file "$config" run "$base/api/openapi.json" \
    --checks all \
    --max-examples "$examples" \
    --workers 1 \
    --request-timeout 10 \
    --generation-database none \
    --no-color \
    "$@") || status=$?
if ! kill -0 "$server" 2>/dev/null; then
    echo "latchkey serve died during the run" >&2
    cat "$dir/err" >&2
    exit 1
fi
if grep -q 'panicked' "$dir/err"; then
    echo "latchkey serve panicked during the run" >&2
    grep -A3 'panicked' "$dir/err" >&2
    status=1
fi
[ "$status" -ne 124 ] || echo "schemathesis did not finish within ${wall}s" >&2
exit "$status"
