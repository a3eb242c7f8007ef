#!/usr/bin/env bash
# Builds the WebAssembly module in its two variants into dist/ (what
# web/engine.js loads):
#   dist/saliency-simd.mjs, .wasm                     SIMD, one thread
#   dist/saliency-simd-threads.mjs, .wasm, .worker.js SIMD + pthreads
# Each variant has its own CMake build directory, configured once with
# emcmake and rebuilt incrementally after that; dist/ files are replaced only
# when they change.  Running it twice does nothing the second time.
#
#   SAL_WASM_BUILD_DIR  where the two build directories go (default <repo>/build-wasm)
#   SAL_BUILD_JOBS      parallel compile jobs (default: number of cores)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=$(realpath -m "${SAL_WASM_BUILD_DIR:-$repo/build-wasm}")
dist=$repo/dist
jobs=${SAL_BUILD_JOBS:-$(nproc)}

say() { echo "build_wasm: $*" >&2; }
die() { say "error: $*"; exit 1; }

command -v emcc > /dev/null || die "emcc not found (install Debian's emscripten package)"
command -v node > /dev/null || die "node not found"
# emcc's JavaScript optimizer needs acorn, which Debian installs there (node-acorn).
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}

# NAME THREADS(ON|OFF): configure if needed, build, copy outputs into dist/.
build_variant() {
    local name=$1 threads=$2 dir=$build_root/$1
    if [[ ! -f $dir/CMakeCache.txt ]]; then
        say "configure $name ($dir)"
        emcmake cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSAL_THREADS="$threads" \
            -DCMAKE_CROSSCOMPILING_EMULATOR="$(command -v node)" > "$build_root/$name.configure.log" 2>&1 ||
            die "configuring $name failed; see $build_root/$name.configure.log"
    fi
    say "build $name"
    cmake --build "$dir" -j"$jobs" --target saliency_wasm
    local file
    for file in "$dir/$name".mjs "$dir/$name".wasm "$dir/$name".worker.js; do
        if [[ -f $file ]]; then install_if_changed "$file" "$dist/$(basename "$file")"; fi
    done
}

install_if_changed() {
    if ! cmp -s "$1" "$2"; then
        cp "$1" "$2.partial"
        mv -f "$2.partial" "$2"
        say "updated dist/$(basename "$2")"
    fi
}

mkdir -p "$build_root" "$dist"
build_variant saliency-simd OFF
build_variant saliency-simd-threads ON

# The pthread workers (*.worker.js) are classic scripts: CommonJS under Node
# even if a parent package.json says "type": "module".
printf '{\n  "type": "commonjs"\n}\n' > "$build_root/package.json"
install_if_changed "$build_root/package.json" "$dist/package.json"
say "done: $(cd "$dist" && ls | tr '\n' ' ')"
