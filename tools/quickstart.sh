#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# From a fresh Debian 12/13 machine (booted with systemd, as root) to a running sandbox:
# install dependencies, build and install sandy, declare /etc/sandy.d/demo.sandbox, build its image,
# start it and run a command in it.
#
#   quickstart.sh [--no-deps] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

deps=1 build=1
for a in "$@"; do
        case $a in
        --no-deps) deps=0 ;;
        --no-build) build=0 ;;
        -h | --help) sed -n '3,8p' "$0"; exit 0 ;;
        *) echo "quickstart: unknown argument $a" >&2; exit 2 ;;
        esac
done
step() { printf '\n==> %s\n' "$*"; }
die() { echo "quickstart: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0)"
[ -d /run/systemd/system ] || die "this machine is not running systemd as PID 1; sandy needs it"

if [ $deps = 1 ]; then
        step "Installing dependencies (apt)"
        ./tools/install-deps.sh
fi
if [ $build = 1 ]; then
        step "Building and installing sandy"
        meson setup build-quickstart --buildtype=release >/dev/null 2>&1 || meson setup --wipe build-quickstart --buildtype=release >/dev/null
        ninja -C build-quickstart >/dev/null
        meson install -C build-quickstart --no-rebuild --quiet >/dev/null
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
# Loopback only. Filtered internet access (Mode=lenient/strict) comes with the egress rules.
Mode=none
SANDBOX
fi
sandyctl verify demo
systemctl daemon-reload

rootfs=$(sandyctl --json=short images | python3 -c '
import json, sys
print(next(i["rootfs"] for i in json.load(sys.stdin) if "demo" in i["sandboxes"]))')
if [ ! -d "$rootfs" ]; then
        # Until sandy-helper builds images (it will, on start), build this one the same way: debootstrap
        # into a temporary directory, renamed into the content-addressed store when complete.
        step "Building the demo image with debootstrap ($suite; a few minutes)"
        tmp=$(dirname "$rootfs")/.tmp-quickstart.$$
        trap 'rm -rf "$tmp"' EXIT
        mkdir -p "$tmp"
        debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2 "$suite" "$tmp/rootfs" >/dev/null
        mv "$tmp/rootfs" "$rootfs"
fi

step "Starting sandy@demo"
systemctl start sandy@demo.service
machinectl list --no-pager
step "Running a command inside"
machinectl shell demo /bin/sh -c 'echo "hello from $(hostname), $(. /etc/os-release; echo "$PRETTY_NAME")"'
cat <<DONE

The sandbox is running. Try:
  machinectl shell demo          a shell inside
  systemctl status sandy@demo    its unit
  machinectl stop demo           stop it (writes inside vanish: it is ephemeral)
DONE
