#!/usr/bin/env bash
# `npm test`: set-up, then every test suite; stops at the first failure.
# The last line is "tests: N passed, N failed", summed over the ctest runs
# and the `node --test` runs that ran.
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

passed=0 failed=0 suite_runs=0
print_summary() {
    if (( suite_runs > 0 )); then echo "tests: $passed passed, $failed failed"; fi
}
trap print_summary EXIT

# Runs ctest on BUILD_DIR (with any VAR=value before it in the environment,
# and any ctest arguments after --) and adds its counts, read from ctest's
# "X% tests passed, F tests failed out of T" line, to the summary.  Returns
# ctest's status.
run_ctest() { # BUILD_DIR [VAR=value ...] [-- CTEST_ARG ...]
    local dir=$1; shift
    local log="$dir/ctest-output.txt" status=0 counts f total vars=()
    while (( $# > 0 )) && [[ $1 != -- ]]; do vars+=("$1"); shift; done
    (( $# > 0 )) && shift
    env "${vars[@]}" ctest --test-dir "$dir" --output-on-failure --no-tests=error "$@" | tee "$log" || status=$?
    counts=$(sed -nE 's/^[0-9]+% tests passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1 \2/p' "$log" | tail -n 1)
    if [[ -n $counts ]]; then
        read -r f total <<< "$counts"
        passed=$((passed + total - f)) failed=$((failed + f)) suite_runs=$((suite_runs + 1))
    elif (( status == 0 )); then
        echo "test.sh: no ctest summary line in $log" >&2
        status=1
    fi
    return "$status"
}

# Runs `node --test` on FOLDER (with any VAR=value given after LOG in the
# environment), writing its TAP report to $build/LOG, and adds its counts,
# read from the report's "# pass N" and "# fail N" lines, to the summary.
# Returns node's status.
run_node_tests() { # FOLDER LOG [VAR=value ...]
    local folder=$1 log="$build/$2" status=0 pass fail
    shift 2
    env "$@" node --test --test-timeout=600000 --test-reporter=spec --test-reporter-destination=stdout \
        --test-reporter=tap --test-reporter-destination="$log" "$folder" || status=$?
    pass=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$log" | tail -n 1)
    fail=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$log" | tail -n 1)
    if [[ -n $pass && -n $fail ]]; then
        passed=$((passed + pass)) failed=$((failed + fail)) suite_runs=$((suite_runs + 1))
    elif (( status == 0 )); then
        echo "test.sh: no '# pass' / '# fail' lines in $log" >&2
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

echo "== WebAssembly build (npm run build)"
npm run build

# The same C tests of the kernels, the executor and the gradient methods, compiled to wasm SIMD and
# run in Node: the code paths only the wasm build takes.
wasm_build=$(realpath -m "${SAL_WASM_BUILD_DIR:-$repo/build-wasm}")/saliency-simd
echo "== C tests of the kernels and the executor in WebAssembly ($wasm_build)"
NODE_PATH=${NODE_PATH:-/usr/share/nodejs} \
    cmake --build "$wasm_build" -j"$(nproc)" --target test_kernels_conv test_kernels_misc test_executor test_methods_gradients
run_ctest "$wasm_build" -- -R '^test_(kernels_conv|kernels_misc|executor|methods_gradients)$'

# The API, the Node CLI, the packed package, and the API in headless Chromium.
echo "== JavaScript tests (node --test tests/node/)"
run_node_tests tests/node/ node-test-output.tap SAL_NATIVE_CLI="$build/saliency"

# The demo page (demo/, served by scripts/serve.mjs) in headless Chromium;
# screenshots go to test-output/browser/.
echo "== Browser tests of the demo (node --test tests/browser/)"
run_node_tests tests/browser/ browser-test-output.tap

echo "== all tests passed"
