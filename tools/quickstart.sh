#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# From a fresh Debian 12/13 machine (booted with systemd, as root) to a running sandbox: build sandy's
# Debian package and install it with what it needs, declare /etc/sandy.d/demo.sandbox, build its image,
# start it and run a command in it.
#
#   quickstart.sh [--no-deps] [--no-build] [--deb FILE]
#     --no-deps    do not run apt (what building and running sandy needs is installed)
#     --no-build   do not build or install sandy (it is installed)
#     --deb FILE   install this sandy package instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."

deps=1 build=1 deb=
while [ $# -gt 0 ]; do
        case $1 in
        --no-deps) deps=0 ;;
        --no-build) build=0 ;;
        --deb) deb=$(realpath "${2:?--deb needs a file}"); shift ;;
        -h | --help) sed -n '3,10p' "$0"; exit 0 ;;
        *) echo "quickstart: unknown argument $1" >&2; exit 2 ;;
        esac
        shift
done
step() { printf '\n==> %s\n' "$*"; }
die() { echo "quickstart: $*" >&2; exit 1; }
# apt with one line per package and phase, nothing interactive.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0 "$@"; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0)"
[ -d /run/systemd/system ] || die "this machine is not running systemd as PID 1; sandy needs it"

work=$(mktemp -d /var/tmp/sandy-quickstart.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ $build = 1 ] && [ -z "$deb" ]; then
        if [ $deps = 1 ]; then
                step "Installing what building sandy needs (apt: compiler, debhelper, libraries)"
                apt_get update
                apt_get install -y --no-install-recommends build-essential
                apt_get build-dep -y --no-install-recommends ./
        fi
        step "Building the sandy package (dpkg-buildpackage; about a minute)"
        # In a copy, so that the checkout gets no build litter; the full log is kept on failure.
        mkdir "$work/src"
        tar --exclude=./.git --exclude='./build*' --exclude=./obj-\* -cf - . | tar -xf - -C "$work/src"
        log=/var/tmp/sandy-quickstart-build.log
        if ! (cd "$work/src" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1 </dev/null; then
                tail -n 30 "$log" >&2
                die "building the package failed; the whole log is $log"
        fi
        grep -E '^ *(dh_auto_test|Ok:|Fail:)' "$log" | sed 's/^ */    /' || true
        deb=$(ls "$work"/sandy_*.deb)
        echo "    built ${deb##*/}"
fi
if [ $build = 1 ]; then
        step "Installing ${deb##*/} (apt: with systemd-container, polkitd, dnsmasq, debootstrap, skopeo)"
        if [ $deps = 1 ]; then
                apt_get install -y --no-install-recommends "$deb" debootstrap skopeo
        else
                dpkg -i "$deb"
        fi
fi

. /etc/os-release
suite=${VERSION_CODENAME:-bookworm}
step "Declaring /etc/sandy.d/demo.sandbox"
mkdir -p /etc/sandy.d
if [ ! -e /etc/sandy.d/demo.sandbox ]; then
        cat >/etc/sandy.d/demo.sandbox <<SANDBOX
# Written by sandy's quickstart; see sandy.sandbox(5).
[Sandbox]
Description=quickstart demo

[Image]
From=debootstrap:$suite

[Network]
# Loopback only. Mode=lenient (internet, no LAN or host) and Mode=strict (an allowlist): sandy.sandbox(5).
Mode=none
SANDBOX
else
        echo "    /etc/sandy.d/demo.sandbox exists; keeping it"
fi
sandyctl verify demo
systemctl daemon-reload

step "Building the demo image with debootstrap ($suite; a few minutes the first time)"
# sandy-helper builds it (systemctl start would too); sandyctl shows its progress.
sandyctl build demo

step "Starting sandy@demo"
systemctl start sandy@demo.service
machinectl list --no-pager
step "Running a command inside, as the sandbox's user"
sandyctl exec demo -- /bin/sh -c 'echo "hello from $(hostname), $(. /etc/os-release; echo "$PRETTY_NAME")"'
cat <<DONE

The sandbox is running. Try:
  sandyctl status demo             what it is and what it runs
  sandyctl shell demo              a shell inside, as its user (agent), not root
  sandyctl exec demo -- CMD...     one command inside, its exit status kept
  sandyctl stop demo               stop it (what it wrote outside a workspace vanishes)
A sandbox for your own project, with a workspace and network access: "A first sandbox" in README.md.
DONE
