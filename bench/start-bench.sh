#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Start and exec latency of a sandbox, against the raw tools in the same run (informational; never
# pass/fail):
#   start:  systemctl start sandy@NAME until `machinectl shell agent@NAME /bin/true` works (booted,
#           ephemeral), with the fixture image as it is and padded to ~1.8 GB (size must not matter)
#   peer:   systemd-nspawn --volatile=overlay -D ROOT /bin/true (not booted: the floor of nspawn itself)
#   exec:   sandyctl exec NAME -- true, against nsenter -t LEADER -a true
#
#   bench/start-bench.sh DESTDIR [--suite bookworm|trixie] [--name N] [--runs N]
#       boots a test host (tests/testhost/testhost.sh) with DESTDIR installed and runs itself inside
#   bench/start-bench.sh --inside [--runs N]      (inside a test host or any host with sandy installed)
#   --exec-only: only sandyctl exec against nsenter (root, then a member of group sandy through sandy-helper)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=5
suite=bookworm
name=bench
inside=0
exec_only=0
destdir=
while [[ $# -gt 0 ]]; do
        case $1 in
        --inside) inside=1; shift ;;
        --exec-only) exec_only=1; shift ;;
        --runs) runs=$2; shift 2 ;;
        --suite) suite=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) destdir=$1; shift ;;
        esac
done
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }

if [[ $inside = 0 ]]; then
        [[ -n $destdir ]] || { echo "usage: $0 DESTDIR [--suite S] [--name N] [--runs N]" >&2; exit 2; }
        th() { "$here/../tests/testhost/testhost.sh" "$@"; }
        "$here/../tests/testhost/build-fixture.sh" --quiet >/dev/null
        th start --name "$name" --suite "$suite" --install "$destdir" --bind-ro "$(cd "$here/.." && pwd):/src" >/dev/null
        trap 'th stop --name "$name" >/dev/null 2>&1 || true' EXIT
        th exec --name "$name" -- /bin/bash /src/bench/start-bench.sh --inside --runs "$runs" \
                $([[ $exec_only = 1 ]] && echo --exec-only)
        exit
fi

. /src/tests/e2e/lib.sh
. /src/tests/e2e/sandbox-lib.sh
fixture=$(fixture_dir) || { echo "SKIP: no fixture"; exit 77; }

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

declare_sandbox bench <<EOF
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF
seed_user_image bench
rootfs=$(image_rootfs bench)

# One run: start, poll a login shell until it works, stop. Prints milliseconds to the shell.
start_once() {
        local t0 t1
        t0=$(now)
        systemctl start sandy@bench.service
        until machinectl --quiet shell agent@bench /bin/true >/dev/null 2>&1; do sleep 0.01; done
        t1=$(now)
        ms "$t0" "$t1"
        systemctl stop sandy@bench.service
}
nspawn_once() {
        local t0 t1
        t0=$(now)
        systemd-nspawn -q --register=no --volatile=overlay -D "$rootfs" /bin/true
        t1=$(now)
        ms "$t0" "$t1"
}

size() { du -sh --apparent-size "$rootfs" | cut -f1; }
if [[ $exec_only = 0 ]]; then
start_once >/dev/null # warm the page cache and the UID range allocation
echo "image $(size)"
start_small=$(for _ in $(seq "$runs"); do start_once; done | median)
nspawn_small=$(for _ in $(seq "$runs"); do nspawn_once; done | median)

# Pad the image to ~1.8 GB with data that must not be read or copied at start.
pad=$(( (1800 - $(du -sm --apparent-size "$rootfs" | cut -f1)) ))
[ "$pad" -gt 0 ] && head -c "${pad}M" /dev/urandom >"$rootfs/opt/sandy-bench-pad"
sync
echo "image $(size) (padded)"
start_big=$(for _ in $(seq "$runs"); do start_once; done | median)
nspawn_big=$(for _ in $(seq "$runs"); do nspawn_once; done | median)
rm -f "$rootfs/opt/sandy-bench-pad"
fi

systemctl start sandy@bench.service
wait_for 30 machinectl --quiet shell agent@bench /bin/true
pid=$(leader bench)
exec_runs=$((runs * 10))
exec_once() { local t0 t1; t0=$(now); sandyctl exec bench -- true; t1=$(now); ms "$t0" "$t1"; }
nsenter_once() { local t0 t1; t0=$(now); nsenter -t "$pid" -a true; t1=$(now); ms "$t0" "$t1"; }
true_once() { local t0 t1; t0=$(now); /bin/true; t1=$(now); ms "$t0" "$t1"; }
exec_ms=$(for _ in $(seq "$exec_runs"); do exec_once; done | median)
nsenter_ms=$(for _ in $(seq "$exec_runs"); do nsenter_once; done | median)
true_ms=$(for _ in $(seq "$exec_runs"); do true_once; done | median)
# A member of group sandy goes through sandy-helper (D-Bus, polkit) to the same code.
getent group sandy >/dev/null && usermod -aG sandy alice 2>/dev/null
member_once() { local t0 t1; t0=$(now); as_user alice sandyctl --no-ask-password exec bench -- true; t1=$(now); ms "$t0" "$t1"; }
member_ms=$(for _ in $(seq "$runs"); do member_once; done | median)
systemctl stop sandy@bench.service
remove_sandbox bench

echo "medians of $runs runs (exec: $exec_runs), $(nproc) CPUs, systemd $(systemctl --version | awk 'NR==1 {print $2}')"
if [[ $exec_only = 0 ]]; then
echo "start to shell (booted), image as is: ${start_small} ms   nspawn --volatile=overlay /bin/true: ${nspawn_small} ms   ratio $(ratio "$start_small" "$nspawn_small")   (target < 1500 ms)"
echo "start to shell (booted), padded:      ${start_big} ms   nspawn --volatile=overlay /bin/true: ${nspawn_big} ms   ratio $(ratio "$start_big" "$nspawn_big")"
echo "padded / as is: start $(ratio "$start_big" "$start_small"), nspawn $(ratio "$nspawn_big" "$nspawn_small")"
fi
echo "sandyctl exec -- true: ${exec_ms} ms   nsenter -t PID -a true: ${nsenter_ms} ms   ratio $(ratio "$exec_ms" "$nsenter_ms")   (fork+exec of /bin/true from bash: ${true_ms} ms; target < 10 ms)"
echo "sandyctl exec -- true as a member of group sandy (through sandy-helper): ${member_ms} ms"
