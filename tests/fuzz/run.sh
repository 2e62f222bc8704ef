#!/usr/bin/env bash
# Runs every libFuzzer target in build-fuzz/fuzz/ for SECONDS each, starting from its seed
# corpus in tests/fuzz/corpus/<name>/ (read-only; new inputs go to tests/out/fuzz/<name>/).
# Prints one line per target, "fuzz: N passed, N failed" at the end, and fails on any finding
# (crash, sanitizer report, leak, timeout); the reproducer is kept in tests/out/fuzz/.
#
# usage: run.sh SECONDS [NAME...]     (make fuzz: 300 s each; make test: FUZZ_SMOKE_SECONDS)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SECS=${1:-300}
shift || true
BIN=$ROOT/build-fuzz/fuzz
OUT=$ROOT/tests/out/fuzz
mkdir -p "$OUT"
passed=0
failed=0
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for b in "$BIN"/fuzz_*; do [ -x "$b" ] && names+=("$(basename "$b")"); done
fi
if [ ${#names[@]} -eq 0 ]; then
    echo "fuzz: no targets in $BIN (make fuzz-build)"
    echo "fuzz: 0 passed, 1 failed"
    exit 1
fi
for name in "${names[@]}"; do
    work=$OUT/$name
    log=$OUT/$name.log
    mkdir -p "$work"
    # Memory and time per input are bounded so a slow path counts as a finding too.
    (cd "$OUT" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$BIN/$name" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$OUT/$name-" \
        "$work" "$ROOT/tests/fuzz/corpus/$name") >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ] && ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|ERROR: libFuzzer' "$log"; then
        passed=$((passed + 1))
        printf '   %-24s ok (%s runs in %ss)\n' "$name" "${runs:-?}" "$SECS"
    else
        failed=$((failed + 1))
        printf '   %-24s FAILED (see %s)\n' "$name" "$log"
        grep -E 'ERROR|runtime error|Test unit written' "$log" | head -5 | sed 's/^/      /'
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
