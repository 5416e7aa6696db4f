#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Image build time with the build confinement (issue 12) against the helper before it, in the same run
# and the same test host (informational; never pass/fail). The recipe: the fixture image (oci-archive)
# with Packages= from a local repository inside the image and a Setup= script, i.e. an unpack, apt-get
# update/install/clean, Setup= and the user; each build from scratch (the image is removed first),
# alternating old and new.
#
#   bench/build-bench.sh DESTDIR OLD_DESTDIR [--suite bookworm|trixie] [--name N] [--runs N]
#       boots a test host with DESTDIR installed, OLD_DESTDIR bound at /old, and runs itself inside
#   bench/build-bench.sh --inside [--runs N]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=5
suite=bookworm
name=bbench
inside=0
dest=()
while [[ $# -gt 0 ]]; do
        case $1 in
        --inside) inside=1; shift ;;
        --runs) runs=$2; shift 2 ;;
        --suite) suite=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) dest+=("$1"); shift ;;
        esac
done
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }

if [[ $inside = 0 ]]; then
        [[ ${#dest[@]} -eq 2 ]] || { echo "usage: $0 DESTDIR OLD_DESTDIR [--suite S] [--name N] [--runs N]" >&2; exit 2; }
        th() { "$here/../tests/testhost/testhost.sh" "$@"; }
        "$here/../tests/testhost/build-fixture.sh" --quiet >/dev/null
        th start --name "$name" --suite "$suite" --install "${dest[0]}" --bind-ro "$(cd "$here/.." && pwd):/src" \
                --bind-ro "$(cd "${dest[1]}" && pwd):/old" >/dev/null
        trap 'th stop --name "$name" >/dev/null 2>&1 || true' EXIT
        th exec --name "$name" -- /bin/bash /src/bench/build-bench.sh --inside --runs "$runs"
        exit
fi

. /src/tests/e2e/lib.sh
fixture=$(fixture_dir) || { echo "SKIP: no fixture"; exit 77; }
[ -x /old/usr/libexec/sandy/sandy-helper ] || { echo "SKIP: no old helper at /old"; exit 77; }
systemd-sysusers >/dev/null 2>&1
systemd-tmpfiles --create sandy.conf >/dev/null 2>&1

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
hcall() { busctl --system --timeout=600 call org.sandy.Helper1 /org/sandy/Helper1 org.sandy.Helper1.Manager "$@"; }

# The old helper under the same unit, with what the new unit takes away given back (it ran as full root).
use_helper() {
        systemctl stop sandy-helper.service
        mkdir -p /run/systemd/system/sandy-helper.service.d
        if [ "$1" = old ]; then
                printf '[Service]\nExecStart=\nExecStart=/old/usr/libexec/sandy/sandy-helper\nCapabilityBoundingSet=~\nNoNewPrivileges=no\nSystemCallFilter=\nDevicePolicy=auto\n' \
                        >/run/systemd/system/sandy-helper.service.d/50-bench-old.conf
        else
                rm -f /run/systemd/system/sandy-helper.service.d/50-bench-old.conf
        fi
        systemctl daemon-reload
}

# The fixture plus a local repository whose package's postinst does nothing, and the fixture's own useradd
# (the old helper runs it; see build_hostile_image).
HOSTILE_POSTINST=true HOSTILE_KEEP_USERADD=1 build_hostile_image /var/tmp/bench-image.oci.tar oci-archive
mkdir -p /etc/sandy
printf '#!/bin/sh\nmkdir -p /opt/bench && cp -a /usr/share/doc /opt/bench/ && echo set up\n' >/etc/sandy/bench-setup.sh
chmod 755 /etc/sandy/bench-setup.sh
declare_sandbox bench <<EOF
[Image]
From=oci-archive:/var/tmp/bench-image.oci.tar
Packages=sandy-probe
Setup=/etc/sandy/bench-setup.sh
[Network]
Mode=none
EOF

one_build() { # prints milliseconds
        local id t0 t1
        id=$(basename "$(dirname "$(image_rootfs bench)")")
        hcall RemoveImage s "$id" >/dev/null 2>&1 || true
        t0=$(now)
        hcall EnsureImage s bench >/dev/null
        t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'
}

: >/tmp/bench-old.txt
: >/tmp/bench-new.txt
for i in $(seq 1 "$runs"); do
        for v in old new; do
                use_helper $v
                hcall ListImages >/dev/null # activation outside the timing
                one_build >>/tmp/bench-$v.txt
        done
done
use_helper new
old=$(median </tmp/bench-old.txt)
new=$(median </tmp/bench-new.txt)
. /etc/os-release
echo "$PRETTY_NAME, systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), $runs builds each, alternating"
echo "old (2698d7b): $(tr '\n' ' ' </tmp/bench-old.txt)-> median $old ms"
echo "new:           $(tr '\n' ' ' </tmp/bench-new.txt)-> median $new ms"
pairs=$(paste /tmp/bench-new.txt /tmp/bench-old.txt | awk '{ printf "%.3f\n", $1 / $2 }' | median)
awk -v a="$new" -v b="$old" -v p="$pairs" 'BEGIN { printf "new / old: %.2f of the medians, %.2f median of the pairs (target <= 1.10)\n", a / b, p }'
remove_sandbox bench
hcall Prune >/dev/null 2>&1 || true
rm -f /var/tmp/bench-image.oci.tar /etc/sandy/bench-setup.sh
