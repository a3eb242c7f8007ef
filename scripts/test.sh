#!/usr/bin/env bash
# `npm test`: set-up, then every test suite; stops at the first failure.
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

scripts/setup.sh

echo "== C tests, Release build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSAL_ASSETS_DIR="$SAL_CACHE_DIR/assets"
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure --no-tests=error

echo "== C tests, AddressSanitizer + UndefinedBehaviorSanitizer build ($build-asan)"
cmake -S . -B "$build-asan" -DSAL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSAL_ASSETS_DIR="$SAL_CACHE_DIR/assets"
cmake --build "$build-asan" -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$build-asan" --output-on-failure --no-tests=error

# == JavaScript tests (`node --test`) and browser tests (chromium) go here,
#    after the wasm module is built with emcmake.

echo "== all tests passed"
