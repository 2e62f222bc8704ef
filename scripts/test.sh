#!/usr/bin/env bash
# The test driver behind `make test`: cmocka unit tests, then the integration suite against
# an isolated stack. Ends with one line "N passed, N failed" and fails when anything failed.
#
# usage: test.sh BUILD_DIR [unit|fuzz|integration]
# FUZZ_SMOKE_SECONDS (default 2): how long each fuzz target runs (make fuzz runs them long).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
WHAT=${2:-all}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
OUT=$ROOT/tests/out
mkdir -p "$OUT"
passed=0
failed=0

if [ "$WHAT" = all ] || [ "$WHAT" = unit ]; then
    echo "== unit tests ($BUILD/tests)"
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        # needs a database server: the integration suite runs it against its stack
        [ "$name" = test_db_stream ] && continue
        log=$OUT/$name.log
        (cd "$ROOT" && "$t") >"$log" 2>&1
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1 # crashed or failed outside cmocka's counting
        fi
        if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
            f=$((f + 1))
            echo "   sanitizer report in $log"
        fi
        passed=$((passed + p))
        failed=$((failed + f))
        printf '   %-24s %s passed, %s failed\n' "$name" "$p" "$f"
        [ "$f" -eq 0 ] || sed 's/^/      /' "$log" | grep -E 'FAIL|ERROR|error|Sanitizer' | head -20
    done
fi

if [ "$WHAT" = all ] || [ "$WHAT" = fuzz ]; then
    secs=${FUZZ_SMOKE_SECONDS:-2}
    echo "== fuzz smoke (libFuzzer + ASan/UBSan, ${secs}s per target, tests/fuzz/)"
    # The fuzz targets have a build of their own (clang, build-fuzz/) whatever BUILD is; the
    # lock keeps runs started side by side from compiling into it at once.
    log=$OUT/fuzz.log
    if flock "$ROOT/tests/out/.fuzz-build.lock" make -s -C "$ROOT" fuzz-build \
        >"$OUT/fuzz-build.log" 2>&1; then
        "$ROOT/tests/fuzz/run.sh" "$secs" >"$log" 2>&1
        sed '$d' "$log"
        p=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -1)
        f=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -1)
        [ -n "$p" ] || { p=0; f=1; }
    else
        echo "   building the fuzz targets failed (see $OUT/fuzz-build.log)"
        p=0
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
fi

if [ "$WHAT" = all ] || [ "$WHAT" = integration ]; then
    echo "== integration tests (real MariaDB, nginx, FastCGI app, worker, sandbox)"
    log=$OUT/integration.log
    PREGON_BUILD=$BUILD /usr/bin/python3 "$ROOT/tests/integration/run.py" 2>&1 | tee "$log"
    p=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^integration: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -1)
    if [ -z "$p" ]; then
        p=0
        f=1
        echo "   the integration suite did not finish"
    fi
    passed=$((passed + p))
    failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
