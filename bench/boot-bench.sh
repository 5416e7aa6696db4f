#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The lean boot and the Boot=no start against peers measured in the same run (issue 17; informational,
# never pass/fail):
#   lean:   systemctl start of a booted sandbox (BootTarget=lean, the default) until `machinectl shell
#           agent@NAME /bin/true` works, against
#   stock:  the same with BootTarget=default (the image's own default.target), same image;
#           target lean/stock <= 0.6x
#   noboot: systemctl start of a Boot=no sandbox (Command=/bin/sleep infinity) until its first
#           `sandyctl exec NAME -- true` works, against
#   nspawn: systemd-nspawn --volatile=overlay -D ROOT /bin/true of the same image; target <= 1.6x
# Runs interleaved (lean, stock, noboot, nspawn, lean, ...) so that all see the same machine load; also
# prints the inner systemd's own "Startup finished" userspace time of each boot.
#
#   bench/boot-bench.sh DESTDIR [--suite bookworm|trixie] [--name N] [--runs N]
#       boots a test host (tests/testhost/testhost.sh) with DESTDIR installed and runs the steps inside
#   bench/boot-bench.sh --inside STEP   (inside a test host or any host with sandy installed)
#       STEP: setup, lean, stock, noboot, nspawn, teardown
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=9
suite=bookworm
name=bootb
inside=
destdir=
while [[ $# -gt 0 ]]; do
        case $1 in
        --inside) inside=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --suite) suite=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) destdir=$1; shift ;;
        esac
done
[[ $EUID -eq 0 ]] || { echo "SKIP: needs root"; exit 77; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

if [[ -z $inside ]]; then
        [[ -n $destdir ]] || { echo "usage: $0 DESTDIR [--suite S] [--name N] [--runs N]" >&2; exit 2; }
        th() { "$here/../tests/testhost/testhost.sh" "$@"; }
        "$here/../tests/testhost/build-fixture.sh" --quiet >/dev/null
        trap 'th stop --name "$name" >/dev/null 2>&1 || true' EXIT
        th start --name "$name" --suite "$suite" --install "$destdir" --bind-ro "$(cd "$here/.." && pwd):/src" >/dev/null
        step() { th exec --name "$name" -- /bin/bash /src/bench/boot-bench.sh --inside "$@"; }
        step setup
        echo "$(nproc) CPUs; systemd $(th exec --name "$name" -- systemctl --version | awk 'NR==1 {print $2}'); medians of $runs runs, interleaved"
        lean=() stock=() lean_us=() stock_us=() noboot=() nspawn=()
        for _ in $(seq "$runs"); do
                read -r ms us < <(step lean); lean+=("$ms"); lean_us+=("$us")
                read -r ms us < <(step stock); stock+=("$ms"); stock_us+=("$us")
                noboot+=("$(step noboot)")
                nspawn+=("$(step nspawn)")
        done
        l=$(printf '%s\n' "${lean[@]}" | median) s=$(printf '%s\n' "${stock[@]}" | median)
        lu=$(printf '%s\n' "${lean_us[@]}" | median) su=$(printf '%s\n' "${stock_us[@]}" | median)
        n=$(printf '%s\n' "${noboot[@]}" | median) p=$(printf '%s\n' "${nspawn[@]}" | median)
        echo "booted, start to shell: lean ${l} ms, stock ${s} ms, ratio $(ratio "$l" "$s") (target <= 0.6x)"
        echo "booted, inner systemd userspace startup: lean ${lu} ms, stock ${su} ms, ratio $(ratio "$lu" "$su")"
        echo "Boot=no, start to first command: ${n} ms, nspawn --volatile=overlay /bin/true: ${p} ms, ratio $(ratio "$n" "$p") (target <= 1.6x)"
        echo "load average after: $(th exec --name "$name" -- cat /proc/loadavg | cut -d' ' -f1-3)"
        step teardown
        exit
fi

. /src/tests/e2e/lib.sh
. /src/tests/e2e/sandbox-lib.sh
fixture=$(fixture_dir) || { echo "SKIP: no fixture"; exit 77; }

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) / 1e6 }'; }
# One booted run: start, poll a login shell until it works; prints ms to the shell and the inner userspace ms.
booted_run() {
        local t0 t1 us
        t0=$(now)
        systemctl start "sandy@$1.service"
        until machinectl --quiet shell "agent@$1" /bin/true >/dev/null 2>&1; do sleep 0.01; done
        t1=$(now)
        us=$(machinectl --quiet shell "$1" /usr/bin/systemd-analyze time 2>/dev/null | tr -d '\r' |
                sed -n 's/^Startup finished in \(.*\) (userspace).*/\1/p' | tail -1 |
                awk '{ v = $1; if (v ~ /ms$/) { sub(/ms$/, "", v); print v } else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 } else print "nan" }')
        echo "$(ms "$t0" "$t1") ${us:-nan}"
        systemctl stop "sandy@$1.service"
}

case $inside in
setup)
        declare_fixture_sandbox bootlean
        declare_fixture_sandbox bootstock BootTarget=default
        declare_fixture_sandbox noboot Boot=no "Command=/bin/sleep infinity"
        seed_user_image bootlean
        # Warm the page cache and the UID range allocations.
        for n in bootlean bootstock; do
                systemctl start sandy@$n.service
                wait_for 60 machinectl --quiet shell agent@$n /bin/true
                systemctl stop sandy@$n.service
        done
        systemctl start sandy@noboot.service
        wait_for 60 sandyctl exec noboot -- true
        systemctl stop sandy@noboot.service
        ;;
lean) booted_run bootlean ;;
stock) booted_run bootstock ;;
noboot)
        t0=$(now)
        systemctl start sandy@noboot.service
        until sandyctl exec noboot -- true >/dev/null 2>&1; do sleep 0.01; done
        t1=$(now)
        ms "$t0" "$t1"
        systemctl stop sandy@noboot.service
        ;;
nspawn)
        rootfs=$(image_rootfs bootlean)
        t0=$(now)
        systemd-nspawn -q --register=no --volatile=overlay -D "$rootfs" /bin/true
        t1=$(now)
        ms "$t0" "$t1"
        ;;
teardown)
        for n in bootlean bootstock noboot; do remove_sandbox $n; done
        ;;
*)
        echo "unknown step $inside" >&2
        exit 2
        ;;
esac
