#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Limits that are proven, not only written (issue 17): MemoryMax=, TasksMax= and CPUQuota= of a sandbox are
# enforced by the kernel, inside the sandbox only; and the ephemeral root's tmpfs cannot outgrow
# EphemeralSize= (issue 13's key; skipped where the build lacks it).
#
# The default test host has a cgroup2 tree without controllers (this machine's memory, pids and cpu
# controllers are cgroup v1), so nothing there enforces a limit. This test boots a second test host of
# its own with the legacy hierarchy (testhost.sh --cgroup legacy), whose systemd uses those v1
# controllers: Debian 12's 252 as it is, Debian 13's 257 forced (it refuses cgroup v1 unless
# SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1 is on its command line, which testhost.sh puts there). systemd 258
# and later have no cgroup v1 at all: there the limit checks are skipped with that reason, and the tmpfs
# check runs in the ordinary test host.
# Runs on the outer machine; TESTHOST, TESTHOST_NAME, TESTHOST_SUITE, TESTHOST_DESTDIR, TESTHOST_SRC come
# from run-e2e.sh.
set -uo pipefail
: "${TESTHOST:?run by tests/testhost/run-e2e.sh}" "${TESTHOST_NAME:?}"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../testhost/e2e-lib.sh
. "$here/../testhost/e2e-lib.sh"
src=${TESTHOST_SRC:-$(cd "$here/../.." && pwd)}

host=$TESTHOST_NAME # where the checks below run
# in_host FUNCTION ARGS...: a function of tests/e2e/lib.sh, run as root in the test host $host.
in_host() {
        "$TESTHOST" exec --name "$host" -- /bin/bash -c '. /src/tests/e2e/lib.sh; "$@"' in_host "$@"
}
# check DESC FUNCTION ARGS...: ok when it succeeds in the host; its output is shown when it does not.
check() {
        local d=$1
        shift
        tap_check "$d" in_host "$@"
}
# judge DESC CONDITION OUTPUT: ok when the shell CONDITION (on the outer side) holds; OUTPUT is the evidence.
judge() {
        if eval "$2"; then tap_ok "$1"; else tap_fail "$1" "condition: $2" "$3"; fi
}
num() { local v; v=$(field "$1" "$2"); [[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo -1; }
field() { awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }' <<<"$1"; }

# ------------------------------------------------------------------ can the limits be enforced here?
reason=""
have_v1() { [[ $(stat -f -c %T "/sys/fs/cgroup/$1" 2>/dev/null) == cgroupfs ]]; }
sdver=$(in_host systemctl --version | awk 'NR == 1 { print $2 }')
if ! have_v1 memory || ! have_v1 pids || ! have_v1 cpu || ! have_v1 systemd; then
        reason="this machine has no cgroup v1 memory, pids, cpu and name=systemd hierarchies to boot a legacy test host on"
elif ! [[ $sdver =~ ^[0-9]+$ ]]; then
        reason="cannot read the test host's systemd version ('$sdver')"
elif ((sdver >= 258)); then
        reason="the test host's systemd $sdver has no cgroup v1 support (removed in 258), and this machine's memory, pids and cpu controllers are cgroup v1 only: MemoryMax=, TasksMax= and CPUQuota= cannot be enforced in this test host"
elif [[ -z ${TESTHOST_DESTDIR:-} || -z ${TESTHOST_SUITE:-} ]]; then
        reason="TESTHOST_DESTDIR/TESTHOST_SUITE not set (run-e2e.sh sets them): cannot boot a legacy test host"
fi

lhost=""
cleanup() {
        [[ -z $lhost ]] || "$TESTHOST" stop --name "$lhost" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n $reason ]]; then
        tap_skip "MemoryMax=, TasksMax=, CPUQuota= enforcement: $reason"
else
        lhost=${TESTHOST_NAME:0:8}v1
        if out=$("$TESTHOST" start --install "$TESTHOST_DESTDIR" --suite "$TESTHOST_SUITE" --name "$lhost" \
                --bind-ro "$src:/src" --cgroup legacy 2>&1); then
                tap_ok "a test host boots with the legacy cgroup hierarchy (v1 memory, pids, cpu; systemd $sdver)"
                host=$lhost
        else
                tap_fail "a test host boots with the legacy cgroup hierarchy (v1 memory, pids, cpu; systemd $sdver)" "$out"
                lhost=""
                tap_done
                exit
        fi
fi

if [[ $host == "$lhost" ]]; then
        # lim: tight limits; ctl: the defaults (TasksMax=4096, MemoryMax=75%, CPUQuota=90% per CPU), the
        # positive control for every probe: there the same probe goes past lim's limits.
        check "declare lim (MemoryMax=128M TasksMax=64 CPUQuota=20%), booted" \
                declare_probed_sandbox lim $'MemoryMax=128M\nTasksMax=64\nCPUQuota=20%'
        check "declare ctl (the default limits), booted" declare_probed_sandbox ctl ""
        check "both start with one systemctl start" timeout 300 systemctl start sandy@lim.service sandy@ctl.service
        check "lim's MemoryMax=, TasksMax= and CPUQuota= are in the kernel (memory, pids, cpu v1 cgroups)" \
                limits_applied lim $((128 << 20)) 64 20000

        # Memory: 256 MiB where 128M is the most.
        out=$(in_host limits_alloc ctl 256 2>&1)
        judge "control: the probe allocates 256 MiB in ctl (no tight MemoryMax=)" '[[ $out == *"allocated 256"* ]]' "$out"
        out=$(in_host limits_alloc lim 16 2>&1)
        judge "lim: 16 MiB are fine" '[[ $out == *"allocated 16"* ]]' "$out"
        out=$(in_host limits_alloc lim 256 2>&1)
        judge "lim: 256 MiB past MemoryMax=128M is OOM-killed" \
                '[[ $out != *"allocated 256"* ]] && (($(num "$out" oom_kills) > 0))' "$out"
        check "lim still runs after the OOM kill: only the allocation died" systemctl is-active sandy@lim.service
        out=$(in_host limits_alloc lim 1 2>&1)
        judge "lim's systemd still answers (a new shell runs the probe)" '[[ $out == *"allocated 1"* ]]' "$out"

        # CPU: a busy loop for 3 s.
        out=$(in_host limits_cpu lim 3 2>&1)
        judge "lim: a busy loop is throttled by CPUQuota=20% (throttled periods, CPU time <= 20% of wall + slack)" \
                '(($(num "$out" throttled) > 0)) &&
                 awk -v c="$(field "$out" cpu)" -v w="$(field "$out" wall)" "BEGIN { exit !(w > 0 && c <= 0.3 * w + 0.2) }"' "$out"
        out=$(in_host limits_cpu ctl 3 2>&1)
        judge "control: the same loop in ctl (CPUQuota=180%) is never throttled" \
                '[[ $(field "$out" cpu) =~ ^[0-9.]+$ ]] && (($(num "$out" throttled) == 0))' "$out"

        # Tasks: a fork bomb (2^10 processes at most, each living 8 s).
        out=$(in_host limits_forkbomb ctl 7 8 2>&1)
        judge "control: a smaller fork bomb (128) in ctl goes past 64 tasks" '(($(num "$out" peak) > 64))' "$out"
        out=$(in_host limits_forkbomb lim 10 8 2>&1)
        judge "lim: the fork bomb stops at TasksMax=64 (peak <= 64, forks refused)" \
                '(($(num "$out" peak) <= 64 && $(num "$out" peak) > 32 && $(num "$out" refused) > 0))' "$out"
        judge "the test host kept starting processes during the fork bomb" '(($(num "$out" host_failed) == 0))' "$out"
        check "the test host is unharmed (running)" system_running
        check "lim still runs after the fork bomb" systemctl is-active sandy@lim.service
fi

# ------------------------------------------------------------------ the ephemeral root's tmpfs
# EphemeralSize= (issue 13) sizes the tmpfs under the ephemeral root's overlay. Without it only the memory
# cgroup bounds that tmpfs, and tmpfs pages cannot be reclaimed: a sandbox filling it past MemoryMax= is
# OOM-killed whole (its nspawn included), so the bound must be the tmpfs size.
if in_host ephemeral_size_supported; then
        check "declare eph (EphemeralSize=32M), booted" declare_probed_sandbox eph "" EphemeralSize=32M
        check "eph starts" timeout 300 systemctl start sandy@eph.service
        out=$(in_host limit_probe eph fill /var/tmp/fill 16 2>&1)
        judge "eph: 16 MiB fit in the ephemeral root" '[[ $out == *"wrote 16"* ]]' "$out"
        out=$(in_host limit_probe eph fill /var/tmp/fill 64 2>&1)
        judge "eph: 64 MiB do not: the write stops at the tmpfs bound with ENOSPC" \
                '[[ $out == *"No space left on device"* ]] && (($(num "$out" wrote) < 32))' "$out"
        check "eph still runs" systemctl is-active sandy@eph.service
        check "stop eph: inactive" stop_inactive eph
        in_host remove_sandbox eph >/dev/null 2>&1
else
        tap_skip "the ephemeral root's tmpfs bound: EphemeralSize= is not in this build (issue 13 adds the tmpfs size key)"
fi

if [[ $host == "$lhost" ]]; then
        check "lim and ctl stop with one command, both inactive" stop_inactive lim ctl
        check "no v1 cgroup of lim is left" v1_cgroups_gone lim
fi
tap_done
