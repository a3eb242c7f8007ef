#!/usr/bin/env bash
# `npm run bench`: set-up and builds, then one benchmark of this library
# (native with the portable kernels and with XNNPACK; WebAssembly SIMD with
# and without threads, in Node and in headless Chromium) against
# TensorFlow.js 4.22 (wasm and cpu backends) on the same model.json, for
# ResNet50 and MobileNetV2 at 224x224: forward, vanilla gradient,
# SmoothGrad-25, IG-32, and a matrix-multiply ceiling.  Prints one table and
# writes bench-output/bench.json and bench-output/bench.md
# (scripts/bench/main.mjs does the running and the report).
#
#   SAL_BENCH_RUNS        timed runs of forward and gradient (default 5)
#   SAL_BENCH_WARMUP      untimed runs first (default 1)
#   SAL_BENCH_HEAVY_RUNS  timed runs of SmoothGrad and IG (default: half the runs, rounded up)
#   SAL_BENCH_ONLY        groups to run, e.g. native,node (default: ceiling,native,node,chromium,tfjs)
#   SAL_BENCH_TFJS_LIMIT  seconds a tfjs SmoothGrad/IG may take, projected from its gradient (300)
#   SAL_CACHE_DIR, SAL_BUILD_DIR  as for scripts/run.sh; SAL_WASM_BUILD_DIR as for scripts/build_wasm.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAL_CACHE_DIR=$(realpath -m "${SAL_CACHE_DIR:-$repo/.cache}")
SAL_BUILD_DIR=$(realpath -m "${SAL_BUILD_DIR:-$repo/build}")
SAL_WASM_BUILD_DIR=$(realpath -m "${SAL_WASM_BUILD_DIR:-$repo/build-wasm}")
export SAL_CACHE_DIR SAL_BUILD_DIR SAL_WASM_BUILD_DIR
mobilenet=$SAL_CACHE_DIR/assets/mobilenet_v2
cd "$repo"

die() { echo "bench: error: $*" >&2; exit 1; }

bash scripts/setup.sh

[[ -d node_modules/@tensorflow/tfjs-backend-wasm && -d node_modules/playwright-core ]] ||
    die "the devDependencies (TensorFlow.js, playwright-core) are missing: run npm ci"

if [[ ! -f $mobilenet/model.json ]]; then
    echo "== MobileNetV2 with random weights ($mobilenet)"
    /usr/bin/python3 tools/make_mobilenet_v2.py --out "$mobilenet"
fi

echo "== native build ($SAL_BUILD_DIR)"
cmake -S . -B "$SAL_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSAL_ASSETS_DIR="$SAL_CACHE_DIR/assets"
cmake --build "$SAL_BUILD_DIR" -j"$(nproc)" --target bench_native bench_gemm_ceiling

echo "== WebAssembly build (npm run build, and the wasm ceiling microbenchmark)"
npm run build
# emcc's JavaScript optimizer needs acorn, which Debian installs there (node-acorn).
NODE_PATH=${NODE_PATH:-/usr/share/nodejs} \
    cmake --build "$SAL_WASM_BUILD_DIR/saliency-simd" -j"$(nproc)" --target bench_gemm_ceiling

echo "== benchmark"
node scripts/bench/main.mjs
