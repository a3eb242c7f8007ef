#!/usr/bin/env bash
# `npm test`: set-up, then every test suite; stops at the first failure.
# The last line is "tests: N passed, N failed", summed over the ctest runs
# that ran.
#
#   SAL_CACHE_DIR   asset cache (default: <repo>/.cache)
#   SAL_BUILD_DIR   native build folder (default: build; the sanitizer build
#                   goes to the same name + "-asan")
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAL_CACHE_DIR=$(realpath -m "${SAL_CACHE_DIR:-$repo/.cache}")
export SAL_CACHE_DIR
build=$(realpath -m "${SAL_BUILD_DIR:-$repo/build}")
cd "$repo"

passed=0 failed=0 ctest_runs=0
print_summary() {
    if (( ctest_runs > 0 )); then echo "tests: $passed passed, $failed failed"; fi
}
trap print_summary EXIT

# Runs ctest on BUILD_DIR (with any VAR=value before it in the environment)
# and adds its counts, read from ctest's "X% tests passed, F tests failed out
# of T" line, to the summary.  Returns ctest's status.
run_ctest() { # BUILD_DIR [VAR=value ...]
    local dir=$1; shift
    local log="$dir/ctest-output.txt" status=0 counts f total
    env "$@" ctest --test-dir "$dir" --output-on-failure --no-tests=error | tee "$log" || status=$?
    counts=$(sed -nE 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$log" | tail -n 1)
    if [[ -n $counts ]]; then
        read -r f total <<< "$counts"
        passed=$((passed + total - f)) failed=$((failed + f)) ctest_runs=$((ctest_runs + 1))
    elif (( status == 0 )); then
        echo "test.sh: no ctest summary line in $log" >&2
        status=1
    fi
    return "$status"
}

bash scripts/setup.sh

echo "== C tests, Release build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSAL_ASSETS_DIR="$SAL_CACHE_DIR/assets"
cmake --build "$build" -j"$(nproc)"
run_ctest "$build"

echo "== C tests, AddressSanitizer + UndefinedBehaviorSanitizer build ($build-asan)"
cmake -S . -B "$build-asan" -DSAL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSAL_ASSETS_DIR="$SAL_CACHE_DIR/assets"
cmake --build "$build-asan" -j"$(nproc)"
run_ctest "$build-asan" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# == JavaScript tests (`node --test`) and browser tests (chromium) go here,
#    after the wasm module is built with emcmake.

echo "== all tests passed"
