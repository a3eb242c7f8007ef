#!/usr/bin/env bash
# `npm start`: set-up, build the WebAssembly module (incremental: nothing to do
# when dist/ is up to date), then serve the demo page and print its URL.
#
#   npm start [-- --port N] [-- --no-isolation]     (or PORT=N npm start)
#   SAL_CACHE_DIR   asset cache (default: <repo>/.cache); the model and photos come from its assets/
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Resolved before the cd below, so that a relative path means the caller's folder.
SAL_CACHE_DIR=$(realpath -m "${SAL_CACHE_DIR:-$repo/.cache}")
export SAL_CACHE_DIR
cd "$repo"

bash scripts/setup.sh
npm run build
exec node scripts/serve.mjs "$@"
