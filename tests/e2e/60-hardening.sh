#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A booted sandbox is hardened: its root is not host root, no_new_privs, a reduced capability set, the
# landlock syscalls allowed, no host sockets bound in, /proc/sys and /sys read-only, resource limits set
# by default, and a fork bomb stops at TasksMax=.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

declare_sandbox hard <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
EOF2
tap_check "image seeded (with the sandbox user)" seed_user_image hard
tap_check "sandy@hard starts" timeout 120 systemctl start sandy@hard.service
pid=$(leader hard)
tap_check "the leader's host UID is not 0 (PrivateUsers)" \
        bash -c "u=\$(stat -c %u /proc/$pid); echo uid=\$u; [ \"\$u\" -ge $((0x70000000)) ] && [ \"\$u\" -lt $((0x7FFE0000)) ]"
tap_check "inside, UID 0 maps to a high host range of 65536" \
        bash -c 'out=$(sandyctl exec hard -- cat /proc/1/uid_map); echo "$out"; set -- $out; [ "$1" = 0 ] && [ "$2" -ge 1879048192 ] && [ "$3" = 65536 ]'
tap_check "the container's init has NoNewPrivs 1" \
        bash -c "grep -x 'NoNewPrivs:[[:space:]]*1' /proc/$pid/status"
tap_check "a command of the agent has NoNewPrivs 1 and no effective capabilities" \
        bash -c 'out=$(as_agent hard cat /proc/self/status); echo "$out" | grep -E "NoNewPrivs|CapEff";
                 echo "$out" | grep -qx "NoNewPrivs:[[:space:]]*1" && echo "$out" | grep -qx "CapEff:[[:space:]]*0000000000000000"' 
# Capabilities of the container's root (its init): within nspawn's default set minus what we drop.
allowed="chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap net_bind_service
         net_broadcast net_raw ipc_owner sys_chroot sys_ptrace sys_admin sys_boot sys_nice sys_resource
         sys_tty_config lease audit_write setfcap"
tap_check "the init's CapEff is within the allowed set (no sys_module, sys_rawio, sys_time, mknod, net_admin, linux_immutable)" \
        python3 - "$pid" $allowed <<'PY'
import sys
names = ("chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable "
         "net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio sys_chroot "
         "sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease "
         "audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read "
         "perfmon bpf checkpoint_restore").split()
pid, allowed = sys.argv[1], set(sys.argv[2:])
eff = next(int(l.split()[1], 16) for l in open(f"/proc/{pid}/status") if l.startswith("CapEff:"))
have = {names[i] if i < len(names) else f"cap{i}" for i in range(64) if eff >> i & 1}
print("CapEff:", sorted(have))
extra = have - allowed
print("beyond the allowed set:", sorted(extra))
sys.exit(1 if extra or "sys_admin" not in have else 0)
PY
# landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) returns the ABI version where
# landlock is usable; the sandbox must see what the test host sees (x86_64: syscall 444).
host_ll=$(perl "$(image_rootfs hard)/usr/local/bin/sandy-test-landlock")
# Through machinectl shell: the booted systemd spawns it, so it carries nspawn's seccomp filter.
tap_check "a shell inside runs under nspawn's seccomp filter (Seccomp: 2)" \
        bash -c "as_root_in hard /bin/grep Seccomp: /proc/self/status | tr -d '\r' | grep -qx 'Seccomp:[[:space:]]*2'"
tap_check "the landlock syscalls work inside as on the test host (host: $host_ll)" \
        bash -c "out=\$(as_root_in hard /usr/local/bin/sandy-test-landlock | tr -d '\r'); echo inside=\$out; [ \"\$out\" = '$host_ll' ]"
for p in /run/dbus/system_bus_socket /run/systemd/private /run/systemd/io.systemd.Machine /run/systemd/notify; do
        [ -e "$p" ] || continue
        tap_check "host socket $p is not reachable inside" \
                bash -c "h=\$(stat -L -c %d:%i '$p'); i=\$(stat -L -c %d:%i '/proc/$pid/root$p' 2>/dev/null || echo none); echo host=\$h inside=\$i; [ \"\$h\" != \"\$i\" ]"
done
tap_check "no mount inside comes from the host's /run (dbus, systemd, sandy)" \
        bash -c "! awk '{print \$4}' /proc/$pid/mountinfo | grep -E '^/(run/)?(dbus|systemd/private|sandy)'"
tap_check "/proc/sys is read-only inside" \
        bash -c "awk '\$5 == \"/proc/sys\" {print \$6}' /proc/$pid/mountinfo | grep -q '^ro'"
tap_check "/sys is read-only inside" \
        bash -c "awk '\$5 == \"/sys\" {print \$6}' /proc/$pid/mountinfo | grep -q '^ro'"
# Defaults sized from the host.
mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) * 1024))
tap_check "MemoryMax defaults to 75% of the host's memory" \
        bash -c "v=\$(systemctl show -P MemoryMax sandy@hard.service); echo MemoryMax=\$v; [ \$((v / 4096)) = \$(($mem * 75 / 100 / 4096)) ] || [ \$((v / 4096 - $mem * 75 / 100 / 4096)) -le 1 ]"
tap_check "TasksMax defaults to 4096" bash -c '[ "$(systemctl show -P TasksMax sandy@hard.service)" = 4096 ]'
tap_check "CPUQuota defaults to 90% of the host's CPUs" \
        grep -qx "CPUQuota=$(($(nproc) * 90))%" /run/systemd/generator/sandy@hard.service.d/10-sandy.conf
systemctl stop sandy@hard.service

# A fork bomb, bounded: 300 sleeps under TasksMax=64. Needs the pids controller in the sandbox's cgroup,
# which the test host (cgroup2 without controllers) may not have.
declare_sandbox bomb <<EOF2
[Image]
From=oci-archive:$fixture/fixture.oci.tar
[Network]
Mode=none
[Resources]
TasksMax=64
EOF2
seed_user_image bomb
tap_check "sandy@bomb starts" timeout 120 systemctl start sandy@bomb.service
cg=/sys/fs/cgroup$(systemctl show -P ControlGroup sandy@bomb.service)
if [ -e "$cg/pids.max" ]; then
        tap_check "pids.max of the sandbox is 64" bash -c "[ \"\$(cat $cg/pids.max)\" = 64 ]"
        timeout 30 sandyctl exec bomb -- /bin/bash -c 'for i in $(seq 300); do sleep 20 & done 2>/dev/null; wait' >/dev/null 2>&1 &
        sleep 3
        tap_check "the sandbox never exceeds 64 tasks" bash -c "c=\$(cat $cg/pids.current); echo current=\$c; [ \$c -le 64 ]"
        tap_check "forks beyond it failed (pids.events max > 0)" bash -c "grep -E '^max [1-9]' $cg/pids.events"
        tap_check "the host stays responsive" timeout 5 systemctl list-units --no-pager -q sandy@bomb.service
else
        tap_skip "fork bomb: no pids controller in $cg on this test host (cgroup2 without controllers)"
fi
systemctl stop sandy@bomb.service

remove_sandbox hard
remove_sandbox bomb
tap_done
