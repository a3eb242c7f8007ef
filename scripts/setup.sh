#!/usr/bin/env bash
# Set-up for a Debian bookworm machine with Node 20 and npm: Debian packages,
# npm packages and the verified assets.  Idempotent: when everything is in
# place it installs nothing and only checks (about a second).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Build tools, the two header-only libraries, the sample photos
# (python3-skimage), and what the wasm and browser work needs.
debian_packages=(
    cmake build-essential clang
    libstb-dev libjsmn-dev
    python3-skimage
    emscripten chromium
    libxnnpack-dev libpthreadpool-dev
)

say() { echo "setup: $*" >&2; }
die() { say "error: $*"; exit 1; }

missing_debian_packages() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${debian_packages[@]}" 2>/dev/null |
        awk '$2 == "installed" { print $1 }' || true)
    local package
    for package in "${debian_packages[@]}"; do
        grep -qxF "$package" <<< "$installed" || echo "$package"
    done
}

as_root() {
    if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
    local -a missing
    mapfile -t missing < <(missing_debian_packages)
    if (( ${#missing[@]} == 0 )); then
        say "Debian packages present"
        return
    fi
    command -v apt-get > /dev/null || die "apt-get not found; this set-up expects Debian bookworm (missing: ${missing[*]})"
    [[ $(id -u) == 0 ]] || command -v sudo > /dev/null ||
        die "not root and no sudo: run as root, or install these Debian packages yourself: ${missing[*]}"
    say "installing Debian packages: ${missing[*]}"
    # A failed update (say, one unreachable third-party source) need not stop
    # the install; the install itself must succeed.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        say "warning: 'apt-get update' failed; trying the install anyway"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        die "'apt-get install' failed for: ${missing[*]} (are the Debian mirrors reachable?)"
}

# `npm ci` whenever package-lock.json changed since the last one; the stamp
# lives inside node_modules, which `npm ci` deletes first.
install_npm_packages() {
    local lock="$repo/package-lock.json" stamp="$repo/node_modules/.setup-lock.sha256"
    if [[ ! -f $lock ]]; then
        say "no package-lock.json: no npm packages to install"
        return
    fi
    local want
    want=$(sha256sum < "$lock")
    if [[ -f $stamp && $(< "$stamp") == "$want" ]]; then
        say "npm packages up to date"
        return
    fi
    say "npm ci"
    (cd "$repo" && npm ci --no-audit --no-fund)
    mkdir -p "$repo/node_modules"
    echo "$want" > "$stamp"
}

main() {
    if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
        die "Node.js 20 (or newer) and npm are needed first"
    fi
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
        die "Node.js 20 or newer is needed (found $(node --version))"
    install_debian_packages
    install_npm_packages
    bash "$repo/scripts/fetch_assets.sh"
}

main "$@"
