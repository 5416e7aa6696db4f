#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Command= and Environment= must reach the payload exactly as declared. The generator writes them into
# a .nspawn file; this runs that file through the real systemd-nspawn with a busybox root and compares.
set -euo pipefail

generator=${1:?usage: nspawn-quoting.sh SANDY-GENERATOR}
skip() { echo "1..0 # SKIP $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not installed"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || skip "needs busybox-static (a static busybox)"

work=$(mktemp -d /var/tmp/sandy-quoting.XXXXXX)
machine=sandy-quoting-$$
cleanup() { rm -f "/run/systemd/nspawn/$machine.nspawn"; rm -rf "$work"; }
trap cleanup EXIT

root=$work/root
mkdir -p "$root"/{bin,usr,etc,proc,sys,dev,tmp,run,var/tmp} "$work/etc" "$work/out"
cp "$busybox" "$root/bin/busybox"
for c in sh printf env grep sort; do ln -s busybox "$root/bin/$c"; done
echo ID=sandy-test >"$root/etc/os-release"
: >"$root/etc/machine-id"

cat >"$work/etc/$machine.sandbox" <<'SANDBOX'
[Sandbox]
Boot=no
Command=/bin/sh -c 'for a in "$@"; do printf "[%s]\n" "$a"; done; env | grep ^X | sort' argv0 "a b" 'back\slash' 'trail\' "x\"y'z" "it's" 100% '' "  lead" %n
Environment="X1=he said \"hi\"" 'X2=a\b' "X3=sp ace" "X4=q'uo\"te" X5= "X6=%i"
[Image]
From=debootstrap:bookworm
[Network]
Mode=none
SANDBOX

SANDY_SEARCH_PATH=$work/etc "$generator" "$work/out"
# nspawn insists on removing its propagation directory, which it only does on tmpfs.
mkdir -p /run/systemd/nspawn/propagate
mountpoint -q /run/systemd/nspawn/propagate || mount -t tmpfs -o mode=0755 tmpfs /run/systemd/nspawn/propagate
cp "$work/out/sandy/$machine.nspawn" "/run/systemd/nspawn/$machine.nspawn"

expected='[a b]
[back\slash]
[trail\]
[x"y'"'"'z]
[it'"'"'s]
[100%]
[]
[  lead]
[%n]
X1=he said "hi"
X2=a\b
X3=sp ace
X4=q'"'"'uo"te
X5=
X6=%i'
# Not under systemd here: no registration, no scope of our own.
actual=$(cd "$work" && timeout 60 systemd-nspawn --quiet --register=no --keep-unit --machine="$machine" \
        --settings=trusted -D "$root" </dev/null 2>&1 | tr -d '\r')
echo "1..1"
if [ "$actual" = "$expected" ]; then
        echo "ok 1 - Command= and Environment= reach the payload unchanged"
else
        echo "not ok 1 - Command= and Environment= reach the payload unchanged"
        diff <(echo "$expected") <(echo "$actual") | sed 's/^/# /'
        exit 1
fi
