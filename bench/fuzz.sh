#!/usr/bin/env bash
# Coverage-guided fuzzing of Latchkey's parsers: builds every cargo-fuzz target in fuzz/ and runs
# each in turn under libFuzzer, then prints executions, speed, coverage and crashes per target.
# Exits non-zero if any target crashed (a panic, a failed assertion, a timeout or an OOM).
#
#   bench/fuzz.sh                 # each target until 10,000,000 executions (-runs=10000000)
#   bench/fuzz.sh 20              # each target for 20 seconds (-max_total_time=20)
#   bench/fuzz.sh -runs=1000000   # any libFuzzer flags, passed to every target
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). It runs on the nightly toolchain when
# rustup has one (installing it if it can), else on the stable one with RUSTC_BOOTSTRAP=1, which
# accepts the same -Z flags. Each target's corpus grows in fuzz/corpus/<target>/ (not committed),
# seeded from fuzz/seeds/<target>/; a crashing input lands in fuzz/artifacts/<target>/ and the
# run's whole log in fuzz/artifacts/<target>.log. Adding a target: fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

flags=()
for arg in "$@"; do
    case "$arg" in
        *[!0-9]* | '')
            if [[ "$arg" != -* ]]; then
                echo "usage: bench/fuzz.sh [SECONDS_PER_TARGET | -libfuzzer_flag=VALUE ...]" >&2
                exit 2
            fi
            flags+=("$arg")
            ;;
        *) flags+=("-max_total_time=$arg") ;;
    esac
done
[ ${#flags[@]} -eq 0 ] && flags=(-runs=10000000)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

# The toolchain: libFuzzer's instrumentation needs -Z flags, so nightly, or stable told to allow them.
cargo=(cargo)
if command -v rustup >/dev/null; then
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        echo "== no nightly toolchain: trying rustup toolchain install nightly --profile minimal"
        rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || true
    fi
    if rustup run nightly rustc --version >/dev/null 2>&1; then
        cargo=(cargo +nightly)
    else
        echo "== nightly unavailable: fuzzing on the stable toolchain with RUSTC_BOOTSTRAP=1"
        export RUSTC_BOOTSTRAP=1
    fi
else
    export RUSTC_BOOTSTRAP=1
fi
echo "== fuzzing with $("${cargo[@]}" fuzz --version) on $(rustc "${cargo[@]:1}" --version)"

# -a: debug assertions (and so overflow checks) on; the sanitizer is cargo-fuzz's default, ASan.
fuzz=("${cargo[@]}" fuzz)
opts=(--fuzz-dir fuzz -a)
mapfile -t targets < <("${fuzz[@]}" list --fuzz-dir fuzz)
echo "== building ${targets[*]}"
"${fuzz[@]}" build "${opts[@]}"

failed=0 passed=0 crashed=0
summary=()
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t" artifacts="fuzz/artifacts/$t" log="fuzz/artifacts/$t.log"
    mkdir -p "$corpus" "$artifacts"
    dirs=("$corpus")
    [ -d "fuzz/seeds/$t" ] && dirs+=("fuzz/seeds/$t")
    before=$(find "$artifacts" -type f | wc -l)
    echo "== $t: ${flags[*]}"
    start=$SECONDS
    status=0
    "${fuzz[@]}" run "${opts[@]}" "$t" "${dirs[@]}" -- \
        -print_final_stats=1 -timeout=10 "${flags[@]}" >"$log" 2>&1 || status=$?
    elapsed=$((SECONDS - start))
    crashes=$(($(find "$artifacts" -type f | wc -l) - before))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    # The last status line: "#N DONE cov: C ft: F corp: U/Sb ...".
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
    if [ "$crashes" -ne 0 ]; then
        failed=1 crashed=$((crashed + 1))
        echo "!! $t crashed (exit $status); log: $log" >&2
        grep -E "panicked at|^(thread|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)" "$log" \
            | head -20 >&2 || tail -20 "$log" >&2
    elif [ "$status" -ne 0 ]; then
        # Not a finding of the fuzzer (a build error, a full disk …), but not a pass either.
        failed=1 crashed=$((crashed + 1))
        crashes="error"
        echo "!! $t failed without a crashing input (exit $status); log: $log" >&2
        tail -20 "$log" >&2
    fi
    [ "$status" -eq 0 ] && [ "$crashes" = 0 ] && passed=$((passed + 1))
    summary+=("$(printf '%-11s %12s %9s %6s %7s %7s %8s %6ss' "$t" "${execs:--}" "${speed:--}" \
        "${cov:--}" "${ft:--}" "${corp:--}" "$crashes" "$elapsed")")
done

echo "== fuzzing summary (${flags[*]})"
printf '%-11s %12s %9s %6s %7s %7s %8s %7s\n' target executions exec/s cov ft corpus crashes time
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
    echo "fuzzing failed; replay a crash with: cargo +nightly fuzz run -a TARGET fuzz/artifacts/TARGET/FILE" >&2
fi
# One line in the plain "N passed, N failed" form: a target passes when it ran to its limit.
echo "fuzzing: $passed passed, $crashed failed"
exit "$failed"
