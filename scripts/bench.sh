#!/usr/bin/env bash
# `npm run bench`: set-up, build, then time ResNet50 forward passes and
# vanilla gradients with 1 and 2 threads.  Prints a table and writes it as
# Markdown to bench-output/native.md (raw outputs beside it).
#
#   SAL_BENCH_RUNS    timed runs per figure (default 10)
#   SAL_BENCH_WARMUP  untimed runs first (default 1)
#   SAL_BENCH_BATCH   images per run (default 1)
#   SAL_CACHE_DIR, SAL_BUILD_DIR as for scripts/run.sh
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SAL_CACHE_DIR=$(realpath -m "${SAL_CACHE_DIR:-$repo/.cache}")
export SAL_CACHE_DIR
build=$(realpath -m "${SAL_BUILD_DIR:-$repo/build}")
results=$repo/bench-output
runs=${SAL_BENCH_RUNS:-10}
warmup=${SAL_BENCH_WARMUP:-1}
batch=${SAL_BENCH_BATCH:-1}
cd "$repo"

bash scripts/setup.sh

echo "== build ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSAL_ASSETS_DIR="$SAL_CACHE_DIR/assets"
cmake --build "$build" -j"$(nproc)" --target bench_native

mkdir -p "$results"
for threads in 1 2; do
    echo "== $threads thread(s)"
    "$build/bench_native" --model "$SAL_CACHE_DIR/assets/resnet50/model.json" \
        --image "$SAL_CACHE_DIR/assets/photos/cat.jpg" \
        --threads "$threads" --runs "$runs" --warmup "$warmup" --batch "$batch" |
        tee "$results/native-$threads-threads.txt"
done

# One table row per thread count, from bench_native's "forward" and
# "gradient" lines: "<what> median M ms  min A ms  max B ms  R GFLOP/s".
row() {
    awk -v threads="$1" '
        $1 == "forward" || $1 == "gradient" { cell[$1] = sprintf("%s | %s-%s | %s", $3, $6, $9, $11) }
        END { printf "| %s | %s | %s |\n", threads, cell["forward"], cell["gradient"] }' "$2"
}

{
    echo "# Native benchmark: ResNet50, 224x224, batch $batch"
    echo
    echo "$(date -u +%Y-%m-%d), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores," \
        "commit $(git rev-parse --short HEAD 2> /dev/null || echo none); median of $runs runs after $warmup warm-up."
    echo "GFLOP/s counts 8.2 GFLOP per forward pass and twice that per gradient (forward + input-gradient backward)."
    echo
    echo "| threads | forward ms | min-max ms | GFLOP/s | gradient ms | min-max ms | GFLOP/s |"
    echo "|--------:|-----------:|-----------:|--------:|------------:|-----------:|--------:|"
    for threads in 1 2; do row "$threads" "$results/native-$threads-threads.txt"; done
} > "$results/native.md"

echo
cat "$results/native.md"
echo
echo "Written to $results/native.md"
