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
        # What a package's postinst would do: the sandy group, /var/lib/sandy, the new units and the
        # helper's bus policy.
        systemd-sysusers
        systemd-tmpfiles --create sandy.conf
        systemctl daemon-reload
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig >/dev/null
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
fi
sandyctl verify demo
systemctl daemon-reload

step "Building the demo image with debootstrap ($suite; a few minutes the first time)"
# sandy-helper builds it (systemctl start would too); sandyctl shows its progress.
sandyctl build demo

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
