#!/usr/bin/env bash
# Hit cost against cache size, and memory per cached token (issue 9): crates/latchkey-server/
# benches/verify.rs's cache-hit case at 1k, 100k and 1M tokens, each size in a process of its own
# (so that its RSS growth is not served from memory an earlier size freed), REPS times in turn.
# Prints, per run, divan's fastest and median and the fixture's RSS growth per token.
# Usage: bash bench/verify.sh [reps]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
cargo bench -q -p latchkey-server --bench verify --no-run
echo "== $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-4s %-8s %-10s %-10s %s\n" run tokens fastest median "RSS growth per token"
for rep in $(seq "$reps"); do
    for n in 1000 100000 1000000; do
        out=$(cargo bench -q -p latchkey-server --bench verify -- "cache_hit.*[^0-9]$n\$" 2>&1)
        per=$(sed -n 's/.*cache of [0-9]* tokens: +[0-9]* KiB RSS, \([0-9]*\) B\/token.*/\1/p' <<<"$out")
        times=$(grep -E '^[0-9.]+ [nµm]s' <<<"$out" | awk -F'│' '{gsub(/ /,"",$1); gsub(/ /,"",$3); print $1, $3}')
        printf "%-4s %-8s %-10s %-10s %s B\n" "$rep" "$n" $times "$per"
    done
done
echo "== done, load $(cut -d' ' -f1-3 /proc/loadavg)"
