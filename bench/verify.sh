#!/usr/bin/env bash
# Hit cost against cache size, and memory per cached token (issue 9): crates/latchkey-server/
# benches/verify.rs's cache-hit case at 1k, 100k and 1M tokens, each size in a process of its own
# (so that its RSS growth is not served from memory an earlier size freed), REPS times in turn.
# Prints, per run, divan's fastest and median of the whole hit and of the cache lookup alone
# (cache_lookup: lookups one after the other, each waiting for the last; not run at 100k), and
# the fixture's RSS growth per token. HOT tokens (default 4096) are presented in turn: what a
# hit costs in a large cache depends on whether the entries in use fit the CPU's caches and TLB.
# Usage: bash bench/verify.sh [reps] [hot]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
export LATCHKEY_BENCH_HOT=${2:-4096}
cargo bench -q -p latchkey-server --bench verify --no-run
echo "== $(date -u +%FT%TZ), $LATCHKEY_BENCH_HOT tokens presented in turn, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-4s %-8s %-10s %-10s %-10s %-10s %s\n" run tokens "hit:fast" median "lookup:fast" median "RSS growth per token"
for rep in $(seq "$reps"); do
    for n in 1000 100000 1000000; do
        out=$(cargo bench -q -p latchkey-server --bench verify -- "cache_hit.*[^0-9]$n\$" 2>&1)
        per=$(sed -n 's/.*cache of [0-9]* tokens: +[0-9]* KiB RSS, \([0-9]*\) B\/token.*/\1/p' <<<"$out")
        times=$(grep -E '^[0-9.]+ [nµm]s' <<<"$out" | awk -F'│' '{gsub(/ /,"",$1); gsub(/ /,"",$3); print $1, $3}')
        lookup="- -"
        if [ "$n" != 100000 ]; then
            out=$(cargo bench -q -p latchkey-server --bench verify -- "cache_lookup.*[^0-9]$n\$" 2>&1)
            lookup=$(grep -E '^[0-9.]+ [nµm]s' <<<"$out" | awk -F'│' '{gsub(/ /,"",$1); gsub(/ /,"",$3); print $1, $3}')
        fi
        printf "%-4s %-8s %-10s %-10s %-10s %-10s %s B\n" "$rep" "$n" $times $lookup "$per"
    done
done
echo "== done, load $(cut -d' ' -f1-3 /proc/loadavg)"
