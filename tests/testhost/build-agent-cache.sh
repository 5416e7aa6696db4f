#!/bin/bash
# Build (or reuse) what the registry, Packages= and agent tests (tests/e2e/9*.sh) need from the internet,
# fetched once into the test cache:
#
#   $SANDY_TEST_CACHE/agents-<hash>/base.oci.tar  Debian 13 minbase + systemd, dbus, Node.js, npm, git, curl,
#                                                 ripgrep, ca-certificates (the agents' base image)
#   $SANDY_TEST_CACHE/agents-<hash>/debian/       an apt repository (apt-ftparchive) of every package of that
#                                                 image, plus "hello", which the image does not have
#   $SANDY_TEST_CACHE/agents-<hash>/npm/          a static npm registry (npm-mirror.py) of the agent CLIs at
#                                                 the versions pinned below, with their dependency closure
#   $SANDY_TEST_CACHE/agents -> agents-<hash>
#
# The key is a hash of this script (the package list and the pins), common.sh, mkoci.py and npm-mirror.py.
# tests/testhost/mirror.py serves debian/ and npm/ in the test host's upstream network.
#
#   build-agent-cache.sh [--quiet]      prints the directory on stdout
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"

quiet=0
case ${1:-} in
    --quiet) quiet=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    "") ;;
    *) die "unknown argument: $1" ;;
esac

# Debian 13: its Node.js is 20. Gemini CLI needs Node >= 20 (Debian 12 has 18); Codex declares >= 16;
# Claude Code declares >= 22 since 2.1 but is a native binary that Node only unpacks (npm warns, installs).
suite=trixie
pkgs=(systemd systemd-sysv dbus ca-certificates git curl ripgrep nodejs npm)
# In the repository but not in the image: what Packages= installs in 91-packages.sh.
extra=(hello)
npm_pins=(@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 @google/gemini-cli@0.61.0)

need_root
command -v debootstrap >/dev/null || die "debootstrap is not installed"
command -v apt-ftparchive >/dev/null || die "apt-ftparchive is not installed (apt-utils)"
command -v npm >/dev/null || die "npm is not installed"

hash=$({ cat "$0" "$here/common.sh" "$here/mkoci.py" "$here/npm-mirror.py"
         printf '%s\n' "$suite" "${pkgs[@]}" "${extra[@]}" "${npm_pins[@]}"; } | short_hash)
final=$SANDY_TEST_CACHE/agents-$hash

link_current() {
    ln -sfn "agents-$hash" "$SANDY_TEST_CACHE/.agents.new.$$"
    mv -T "$SANDY_TEST_CACHE/.agents.new.$$" "$SANDY_TEST_CACHE/agents"
}

# The packages apt installs for "$@" on $suite, each named: debootstrap's own resolver cannot pick a
# provider of a virtual package (npm depends on several), so it gets apt's answer to include.
resolve_closure() {
    local a=$tmp/apt
    mkdir -p "$a/etc" "$a/state/lists/partial" "$a/cache/archives/partial"
    : >"$a/status"
    echo "deb $SANDY_TEST_MIRROR $suite main" >"$a/etc/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$a/etc/sources.list" -o Dir::Etc::SourceParts=/nonexistent
                -o "Dir::State=$a/state" -o "Dir::Cache=$a/cache" -o "Dir::State::status=$a/status"
                -o APT::Install-Recommends=false -o APT::Architecture=amd64 -o Debug::NoLocking=true)
    apt-get "${opts[@]}" -qq update >&2
    apt-get "${opts[@]}" -s install "$@" | awk '/^Inst /{print $2}'
}

make_repository() {
    local root=$1 repo=$2 p v a f
    mkdir -p "$repo/pool/main" "$repo/dists/$suite/main/binary-amd64"
    # Exactly the packages installed (hello among them still), from debootstrap's cache.
    while read -r p v a; do
        f=$SANDY_TEST_CACHE/debs/${p}_${v//:/%3a}_${a}.deb
        [[ -f $f ]] || die "$f is not in the cache"
        cp "$f" "$repo/pool/main/"
    done < <(chroot "$root" dpkg-query -W -f '${Package} ${Version} ${Architecture}\n')
    (
        cd "$repo"
        apt-ftparchive packages pool >"dists/$suite/main/binary-amd64/Packages"
        gzip -9kn "dists/$suite/main/binary-amd64/Packages"
        apt-ftparchive -o APT::FTPArchive::Release::Suite="$suite" -o APT::FTPArchive::Release::Codename="$suite" \
            -o APT::FTPArchive::Release::Components=main -o APT::FTPArchive::Release::Architectures=amd64 \
            release "dists/$suite" >"dists/$suite/Release"
    )
}

build() {
    if [[ -f $final/base.oci.tar ]]; then return 0; fi
    clean_stale_tmp
    tmp=$SANDY_TEST_CACHE/.tmp-agents-resolve.$$
    rm -rf "$tmp"
    local closure
    closure=$(resolve_closure "${pkgs[@]}" "${extra[@]}") || die "apt cannot resolve ${pkgs[*]} ${extra[*]} on $suite"
    rm -rf "$tmp"
    # shellcheck disable=SC2086  # one package a line
    debootstrap_tmp "agents-$hash" "$suite" "building the agent test cache" $closure
    local root=$tmp/rootfs
    make_repository "$root" "$tmp/debian"
    chroot "$root" dpkg --purge "${extra[@]}" >/dev/null
    rm -f "$tmp/debootstrap.log"
    rootfs_common_cleanup "$root"
    find "$root/dev" -mindepth 1 -delete
    echo sandbox >"$root/etc/hostname"
    python3 "$here/mkoci.py" "$root" "$tmp/base.oci.tar" >"$tmp/oci.json"
    rm -rf --one-file-system "$root"
    log "fetching the npm packages ${npm_pins[*]}"
    python3 "$here/npm-mirror.py" "$tmp/npm" "${npm_pins[@]}" 2>"$tmp/npm.log" || { cat "$tmp/npm.log" >&2; die "npm-mirror.py failed"; }
    printf '%s\n' "$suite" "${pkgs[@]}" "${extra[@]}" "${npm_pins[@]}" >"$tmp/recipe"
    mv -T "$tmp" "$final"
    trap - EXIT
    log "built $final"
    prune_old "$SANDY_TEST_CACHE/agents-" "$final"
}

mkdir -p "$SANDY_TEST_CACHE"
with_lock "$SANDY_TEST_CACHE/.lock-agents-$hash" build
[[ -f $final/base.oci.tar ]] || die "build did not produce $final"
link_current
echo "$final"
