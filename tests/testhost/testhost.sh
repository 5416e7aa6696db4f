#!/bin/bash
# Booted Debian test host for sandy's end-to-end tests.
#
#   testhost.sh start [--suite S] [--install DESTDIR] [--name N] [--bind-ro SRC:DST]... [--nspawn-arg ARG]...
#                     [--cgroup unified|legacy]
#   testhost.sh exec  [--name N] [--user U] [--env K=V]... -- CMD...
#   testhost.sh journal [--name N] [FILE]
#   testhost.sh status [--name N]
#   testhost.sh stop  [--name N | --all]
#   testhost.sh reboot [--name N]                 (keeps the overlay, as a real reboot keeps the disk)
#   testhost.sh run   [--suite S] [--install DESTDIR] [--name N] [--bind-ro SRC:DST]... [--cgroup M] -- CMD...
#
# The host is systemd-nspawn -b on an overlay (DESTDIR over the cached rootfs,
# fresh upper layer in /var/tmp/sandy-testhost-N each start). Its network
# namespace sandy-th-N holds uplink0 (192.0.2.2, 2001:db8::2), one end of a veth
# pair whose other end is in sandy-up-N: canary servers, a DNS server
# (203.0.113.53), no uplink. Nothing of this exists in the outer namespace.
# State (PIDs, logs) lives in $SANDY_TESTHOST_STATE/N (default /run/sandy-testhost/th);
# canary.log and dnsmasq.log are visible inside the host under /var/log/testhost.
# Name N defaults to "th"; several test hosts with different names can run at once.
# --cgroup legacy (issue 17) boots the host on this machine's cgroup v1 controllers instead of the
# default controller-less cgroup2 tree, so that MemoryMax=, TasksMax= and CPUQuota= are enforced in it
# (systemd 256 and 257 refuse cgroup v1 unless forced: the host's init gets
# SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1; 258 and later have no v1 at all). See "cgroup v1" below.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$here/common.sh"
# shellcheck source=upstream-registry.sh
. "$here/upstream-registry.sh"

STATE_ROOT=${SANDY_TESTHOST_STATE:-/run/sandy-testhost}
INST_PREFIX=/var/tmp/sandy-testhost-
BOOT_TIMEOUT=${SANDY_TESTHOST_BOOT_TIMEOUT:-120}
STOP_TIMEOUT=${SANDY_TESTHOST_STOP_TIMEOUT:-60}

# Addresses of the isolated upstream network (documentation/test ranges and the
# private "canary" ranges; they exist only inside namespaces created here).
UP_ADDR4=192.0.2.1/24 UP_ADDR6=2001:db8::1/64
TH_ADDR4=192.0.2.2/24 TH_ADDR6=2001:db8::2/64
DNS_ADDR=203.0.113.53
CANARIES=(
    203.0.113.10=internet 203.0.113.20=allowed.test 203.0.113.30=blocked.test
    192.168.77.1=lan 100.64.0.1=cgnat 169.254.169.254=metadata
    fd00::1=ula 2001:db8:1::10=internet6
    # Issue 14: AWS's IPv6 metadata address, Alibaba Cloud's metadata address.
    fd00:ec2::254=metadata6 100.100.100.200=metadata-alibaba
)

name=th
set_names() {
    [[ $name =~ ^[a-z0-9]{1,10}$ ]] || die "name must be 1-10 of [a-z0-9]: '$name'"
    state=$STATE_ROOT/$name
    inst=$INST_PREFIX$name
    netns=sandy-up-$name    # upstream: canaries, DNS, no uplink
    thns=sandy-th-$name     # the test host's own network namespace
    veth=uplink0            # test host's end of the pair (in $thns)
    upveth=upl0             # upstream's end (in $netns)
}

# ---------------------------------------------------------------- cgroups
# Where the cgroup2 hierarchy is: pure v2 hosts have it at /sys/fs/cgroup,
# hybrid hosts (like this CI machine) at /sys/fs/cgroup/unified.
cgroup2_root() {
    local t
    for t in /sys/fs/cgroup /sys/fs/cgroup/unified; do
        if [[ $(stat -f -c %T "$t" 2>/dev/null) == cgroup2fs ]]; then echo "$t"; return 0; fi
    done
    return 1
}

# Alive and not a zombie: our daemons get reparented to this machine's PID 1,
# which may reap them late, and kill -0 succeeds on a zombie.
pid_alive() {
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st%% *}
    [[ -n $st && $st != Z ]]
}
pid_is() { [[ -n ${1:-} && -r /proc/$1/comm && $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]; }
readpid() { cat "$state/$1.pid" 2>/dev/null || true; }

# Remove a cgroup subtree bottom-up (cgroup dirs can only be rmdir'ed when empty).
rm_cgroup_tree() {
    local cg=$1
    [[ -d $cg ]] || return 0
    if [[ -e $cg/cgroup.kill ]]; then echo 1 >"$cg/cgroup.kill" 2>/dev/null || true; sleep 0.2; fi
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# ---------------------------------------------------------------- cgroup v1 (issue 17)
# --cgroup legacy: nspawn gets SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0 and is started in a cgroup of its own
# in every v1 hierarchy of this machine (below the caller's own cgroup there, so whatever limits the
# caller runs under still apply); with its cgroup namespace the host's systemd sees those as its roots and
# enforces MemoryMax= (memory.limit_in_bytes), TasksMax= (pids.max) and CPUQuota= (cpu.cfs_quota_us).
# Only these cgroups of the test host's own are written; nothing kernel-global.

# cgroup_v1_hierarchies: "MOUNTPOINT CONTROLLERS" per v1 hierarchy (controllers sorted, comma-separated,
# "name=systemd" included), from the mount options.
cgroup_v1_hierarchies() {
    local dev mp fs opts rest o ctl
    while read -r dev mp fs opts rest; do
        [[ $fs == cgroup ]] || continue
        ctl=()
        for o in ${opts//,/ }; do
            case $o in
                rw|ro|relatime|noatime|strictatime|nosuid|nodev|noexec|clone_children|noprefix|xattr) ;;
                cpuset_v2_mode|favordynmods|release_agent=*) ;;
                *) ctl+=("$o") ;;
            esac
        done
        ((${#ctl[@]})) || continue
        echo "$mp $(printf '%s\n' "${ctl[@]}" | sort | paste -sd,)"
    done </proc/self/mounts
}

# cgroup_v1_self_path CONTROLLERS: this process's cgroup in that hierarchy (from /proc/self/cgroup).
cgroup_v1_self_path() {
    local id ctl path
    while IFS=: read -r id ctl path; do
        [[ $id != 0 ]] || continue
        if [[ $(tr , '\n' <<<"$ctl" | sort | paste -sd,) == "$1" ]]; then echo "$path"; return 0; fi
    done </proc/self/cgroup
    return 1
}

# setup_cgroup_v1: a cgroup sandy-testhost-N in every v1 hierarchy; their paths go to $state/cgroup-v1.
setup_cgroup_v1() {
    local mp ctl self d f
    : >"$state/cgroup-v1"
    while read -r mp ctl; do
        self=$(cgroup_v1_self_path "$ctl") || { log "warning: not in the v1 hierarchy $mp; skipping it"; continue; }
        d=${mp}${self%/}/sandy-testhost-$name
        rm_cgroup_tree_v1 "$d"
        mkdir "$d" || die "cannot create the cgroup $d"
        # A new cpuset is empty and takes no tasks until it has CPUs and memory nodes.
        for f in cpuset.cpus cpuset.mems; do
            if [[ -e $d/$f ]]; then cat "${d%/*}/$f" >"$d/$f" || die "cannot set $d/$f"; fi
        done
        echo "$d" >>"$state/cgroup-v1"
    done < <(cgroup_v1_hierarchies)
    [[ -s $state/cgroup-v1 ]] || die "--cgroup legacy: this machine has no cgroup v1 hierarchy"
    grep -q '/systemd/' "$state/cgroup-v1" ||
        die "--cgroup legacy: no name=systemd v1 hierarchy on this machine (systemd in a legacy host needs one)"
}

# rm_cgroup_tree_v1 DIR: kill what is left in a v1 cgroup subtree (v1 has no cgroup.kill), then remove it.
rm_cgroup_tree_v1() {
    local cg=$1 i pids
    [[ -d $cg ]] || return 0
    for ((i = 0; i < 50; i++)); do
        pids=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
        [[ -n $pids ]] || break
        # shellcheck disable=SC2086  # a list of PIDs
        kill -KILL $pids 2>/dev/null || true
        sleep 0.1
    done
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# ---------------------------------------------------------------- upstream
# The test host's network namespace is made and configured here, before boot,
# and handed to nspawn with --network-namespace-path=. (--network-interface=
# needs udev to have "initialized" the link, and this machine runs no udev.)
setup_network() {
    ip netns add "$netns"
    ip netns add "$thns"
    # Both ends are created directly inside their namespaces: nothing of the
    # pair ever exists in the outer namespace.
    ip link add "$veth" netns "$thns" type veth peer name "$upveth" netns "$netns"
    local thip=(ip -n "$thns")
    "${thip[@]}" link set lo up
    ip netns exec "$thns" sysctl -q -w "net.ipv6.conf.$veth.accept_dad=0" "net.ipv6.conf.$veth.accept_ra=0"
    "${thip[@]}" addr add "$TH_ADDR4" dev "$veth"
    "${thip[@]}" addr add "$TH_ADDR6" dev "$veth" nodad
    "${thip[@]}" link set "$veth" up
    "${thip[@]}" route add default via "${UP_ADDR4%/*}"
    "${thip[@]}" -6 route add default via "${UP_ADDR6%/*}"
    # The test host routes for its sandboxes; forwarding is never enabled outside it.
    ip netns exec "$thns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

    local nsip=(ip -n "$netns")
    "${nsip[@]}" link set lo up
    "${nsip[@]}" addr add "$UP_ADDR4" dev "$upveth"
    "${nsip[@]}" addr add "$UP_ADDR6" dev "$upveth" nodad
    "${nsip[@]}" link set "$upveth" up
    # Canary addresses: on a dummy device when the kernel has one, else on lo
    # (local delivery is the same either way; some CI kernels lack CONFIG_DUMMY).
    local carrier=canary0
    if ! "${nsip[@]}" link add canary0 type dummy 2>/dev/null; then carrier=lo; fi
    "${nsip[@]}" link set "$carrier" up
    local c a
    for c in "${CANARIES[@]}" "$DNS_ADDR=dns"; do
        a=${c%%=*}
        if [[ $a == *:* ]]; then "${nsip[@]}" addr add "$a/128" dev "$carrier" nodad
        else "${nsip[@]}" addr add "$a/32" dev "$carrier"; fi
    done
    for a in $(upstream_extra_addrs); do "${nsip[@]}" addr add "$a/32" dev "$carrier"; done
    # Return routes towards the test host for the ranges a sandbox pool may use,
    # so replies reach sandboxes even without NAT. No default route: no uplink.
    local r
    for r in 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10; do
        "${nsip[@]}" route add "$r" via "${TH_ADDR4%/*}"
    done
    "${nsip[@]}" -6 route add fc00::/7 via "${TH_ADDR6%/*}"
    "${nsip[@]}" -6 route add 2001:db8:100::/40 via "${TH_ADDR6%/*}"
    ip netns exec "$netns" sysctl -q -w net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
    echo "$carrier" >"$state/carrier"
}

start_upstream_services() {
    local labels=() c
    for c in "${CANARIES[@]}"; do labels+=(--label "$c"); done
    rm -f "$state/canary.ready"
    setsid ip netns exec "$netns" python3 "$here/canary.py" --log "$state/log/canary.log" \
        --tcp-port 80 --tcp-port 443 --udp-port 443 --ready "$state/canary.ready" "${labels[@]}" \
        </dev/null >>"$state/canary.out" 2>&1 &
    echo $! >"$state/canary.pid"
    # dnsmasq: authoritative for the test domains, nothing else (no upstream resolvers).
    setsid ip netns exec "$netns" dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address="$DNS_ADDR" \
        --user=root --group=root --pid-file="$state/dnsmasq.pidfile" \
        --log-queries=extra --log-facility="$state/log/dnsmasq.log" \
        --address=/allowed.test/203.0.113.20 --address=/blocked.test/203.0.113.30 \
        --address=/other.test/203.0.113.10 --address=/v6.test/2001:db8:1::10 --local=/test/ \
        $(upstream_dns_args) \
        </dev/null >>"$state/dnsmasq.out" 2>&1 &
    echo $! >"$state/dnsmasq.pid"
    local i
    for ((i = 0; i < 100; i++)); do
        if [[ -e $state/canary.ready ]] &&
           ip netns exec "$netns" ss -Hlun "src $DNS_ADDR" 2>/dev/null | grep -q ':53'; then
            return 0
        fi
        pid_alive "$(readpid canary)" || { cat "$state/canary.out" >&2; die "canary server died"; }
        pid_alive "$(readpid dnsmasq)" || { cat "$state/dnsmasq.out" >&2; die "dnsmasq died"; }
        sleep 0.1
    done
    die "upstream services did not come up"
}

# ---------------------------------------------------------------- rootfs
# Copy DESTDIR into a staging layer, folding /bin /sbin /lib /lib64 into /usr:
# a real lib/ in a lower layer would hide the rootfs's lib -> usr/lib symlink.
stage_destdir() {
    local src=$1 dst=$2 d
    mkdir -p "$dst"
    cp -a "$src/." "$dst/"
    for d in bin sbin lib lib64 lib32 libx32; do
        if [[ -L $dst/$d ]]; then rm -f "$dst/$d"
        elif [[ -d $dst/$d ]]; then
            mkdir -p "$dst/usr/$d"
            cp -a "$dst/$d/." "$dst/usr/$d/"
            rm -rf "${dst:?}/$d"
        fi
    done
}

# Per-instance files, written through the overlay (they land in the upper layer).
write_instance_files() {
    local m=$1
    mkdir -p "$m/etc/testhost"
    rm -f "$m/etc/resolv.conf"
    echo "nameserver $DNS_ADDR" >"$m/etc/resolv.conf"
    # A machine id per boot, so the persistent journal can be read back after stop.
    tr -d '-' </proc/sys/kernel/random/uuid >"$m/etc/machine-id"
    cat >"$m/etc/testhost/env" <<EOF
TESTHOST=1
TESTHOST_NAME=$name
TESTHOST_LOGDIR=/var/log/testhost
SANDY_TEST_CACHE=$SANDY_TEST_CACHE
EOF
}

# write_cgroup_v1_unit ROOT: on a legacy host, nspawn mounts the controller hierarchies read-only (only
# name=systemd is writable) unless the container has a user namespace, and the host's systemd then sees no
# usable controller. This early unit makes them writable (they show only the host's own cgroups: its
# cgroup namespace starts at the cgroups setup_cgroup_v1 made) and re-executes systemd, which looks for
# writable controllers only when it starts. Written into the instance's upper layer only.
write_cgroup_v1_unit() {
    local m=$1
    mkdir -p "$m/etc/systemd/system/sysinit.target.wants"
    cat >"$m/etc/testhost/cgroup-v1-rw.sh" <<'SCRIPT'
#!/bin/sh
# Written by testhost.sh --cgroup legacy: writable cgroup v1 controllers, then systemd re-executes to use them.
set -e
findmnt -rn -t cgroup -o TARGET,VFS-OPTIONS | while read -r m o; do
    case ",$o," in *,ro,*) mount -o remount,bind,rw "$m" ;; esac
done
exec systemctl daemon-reexec
SCRIPT
    chmod 0755 "$m/etc/testhost/cgroup-v1-rw.sh"
    cat >"$m/etc/systemd/system/testhost-cgroup-v1.service" <<'UNIT'
[Unit]
Description=Writable cgroup v1 controllers for the test host (testhost.sh --cgroup legacy)
DefaultDependencies=no
Before=sysinit.target
ConditionPathIsReadWrite=!/sys/fs/cgroup/memory

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/etc/testhost/cgroup-v1-rw.sh
UNIT
    ln -sf ../testhost-cgroup-v1.service "$m/etc/systemd/system/sysinit.target.wants/testhost-cgroup-v1.service"
}

# ---------------------------------------------------------------- start
# launch_and_wait CGROUP: run the nspawn command line saved in the state dir and wait for the
# container's init to appear; leaves $st set to the system state it reached. Used by start and reboot.
launch_and_wait() {
    local cg=$1 nspawn
    eval "nspawn=($(cat "$state/nspawn.cmdline"))"
    local unified=1 v1=""
    if [[ $(cat "$state/cgroup-mode" 2>/dev/null) == legacy ]]; then unified=0 v1=$state/cgroup-v1; fi
    (
        [[ -n $cg ]] && echo "$BASHPID" >"$cg/cgroup.procs"
        if [[ -n $v1 ]]; then
            while read -r d; do echo "$BASHPID" >"$d/cgroup.procs" || exit 1; done <"$v1"
        fi
        # setsid: a Ctrl-C in the caller's terminal must not reach nspawn; stop
        # sends SIGTERM, which nspawn turns into a clean poweroff of the container.
        exec env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=$unified setsid "${nspawn[@]}" </dev/null >"$state/console.log" 2>&1
    ) &
    local npid=$!
    echo "$npid" >"$state/nspawn.pid"

    # The container's init is nspawn's child that is PID 1 in its own namespace.
    local leader="" deadline=$((SECONDS + BOOT_TIMEOUT)) c
    while [[ -z $leader ]]; do
        pid_alive "$npid" || { tail -n 40 "$state/console.log" >&2; die "systemd-nspawn exited during start"; }
        for c in $(pgrep -P "$npid" || true); do
            if [[ $(awk '/^NSpid:/{print $NF}' "/proc/$c/status" 2>/dev/null) == 1 ]]; then leader=$c; fi
        done
        ((SECONDS < deadline)) || die "container init did not appear"
        [[ -n $leader ]] || sleep 0.1
    done
    echo "$leader" >"$state/leader.pid"

    st=""
    while ((SECONDS < deadline)); do
        st=$(cmd_exec -- timeout $((deadline - SECONDS + 1)) \
             systemctl is-system-running --wait 2>/dev/null) || true
        case $st in
            running|degraded) break ;;
        esac
        pid_alive "$npid" || break
        sleep 0.5
    done
}

cmd_start() {
    local suite=bookworm destdir="" binds=() extra=() cgmode=unified
    while [[ $# -gt 0 ]]; do
        case $1 in
            --suite) suite=$2; shift 2 ;;
            --cgroup) cgmode=$2; shift 2 ;;
            --install) destdir=$2; shift 2 ;;
            --name) name=$2; shift 2 ;;
            --bind-ro) binds+=("--bind-ro=$2"); shift 2 ;;
            --bind) binds+=("--bind=$2"); shift 2 ;;
            --nspawn-arg) extra+=("$2"); shift 2 ;;
            *) die "start: unknown argument: $1" ;;
        esac
    done
    set_names
    need_root
    command -v systemd-nspawn >/dev/null || die "systemd-nspawn is not installed"
    [[ $cgmode == unified || $cgmode == legacy ]] || die "--cgroup: unified or legacy, not '$cgmode'"
    [[ -z $destdir || -d $destdir ]] || die "--install: no such directory: $destdir"
    if [[ -e $state/nspawn.pid ]] && pid_is "$(readpid nspawn)" systemd-nspawn; then
        die "test host '$name' is already running (testhost.sh stop --name $name)"
    fi
    cmd_stop_one >/dev/null 2>&1 || true   # leftovers of an interrupted run of this name
    # A start that fails half-way tears down what it made (run has its own trap).
    if [[ ${in_run:-0} -eq 0 ]]; then trap 'cmd_stop_one >/dev/null 2>&1' EXIT; fi

    local rootfs
    rootfs=$("$here/build-rootfs.sh" --suite "$suite" --quiet)
    rm -rf "$state"
    mkdir -p "$state/log" "$inst"/{upper,work,merged,staging,var-lib-sandy,var-lib-machines}
    chmod 755 "$state/log"
    : >"$state/log/canary.log"
    : >"$state/log/dnsmasq.log"
    echo "$cgmode" >"$state/cgroup-mode"
    cat >"$state/meta" <<EOF
name=$name
suite=$suite
cgroup=$cgmode
rootfs=$rootfs
destdir=$destdir
inst=$inst
EOF
    # Never write into the cached rootfs: everything goes to a fresh upper dir.
    [[ -n $destdir ]] && stage_destdir "$destdir" "$inst/staging"
    mount -t overlay overlay \
        -o "lowerdir=$inst/staging:$rootfs,upperdir=$inst/upper,workdir=$inst/work" "$inst/merged"
    registry_setup
    write_instance_files "$inst/merged"
    registry_instance_files "$inst/merged"
    [[ $cgmode == legacy ]] && write_cgroup_v1_unit "$inst/merged"

    setup_network
    start_upstream_services
    start_registry_services

    # cgroups: this host runs no systemd, so nspawn (--keep-unit, --register=no)
    # gets a cgroup2 subtree of its own; the container gets a full cgroup2
    # hierarchy (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1) even on a hybrid v1/v2 host,
    # which nested nspawn and systemd 257 need.
    local cgroot cg=""
    if cgroot=$(cgroup2_root); then
        cg=$cgroot/sandy-testhost-$name
        rm_cgroup_tree "$cg"
        mkdir -p "$cg"
        echo "$cg" >"$state/cgroup"
    else
        log "warning: no cgroup2 hierarchy found; nspawn will pick the cgroup mode itself"
    fi
    [[ $cgmode == legacy ]] && setup_cgroup_v1

    local nspawn=(
        systemd-nspawn --boot --directory="$inst/merged" --machine="testhost-$name" --hostname=testhost
        --register=no --keep-unit --private-users=no --capability=all
        --network-namespace-path="/run/netns/$thns" --resolv-conf=off --timezone=off --link-journal=no
        --console=read-only
        # Landlock is blocked by systemd 252's default filter; sandboxes inside need it.
        --system-call-filter='landlock_create_ruleset landlock_add_rule landlock_restrict_self'
        --bind-ro="$SANDY_TEST_CACHE:$SANDY_TEST_CACHE"
        --bind-ro="$state/log:/var/log/testhost"
        # Real (non-overlay) dirs where sandy keeps images and overlay upper
        # layers: an overlayfs upper dir cannot live on overlayfs.
        --bind="$inst/var-lib-sandy:/var/lib/sandy"
        --bind="$inst/var-lib-machines:/var/lib/machines"
        $(registry_nspawn_args)
        "${binds[@]}" "${extra[@]}"
    )
    # Arguments after the options go to the host's init, which reads them as its kernel command line:
    # systemd 256 and 257 boot on cgroup v1 only when this is set (older ones ignore it).
    [[ $cgmode == legacy ]] && nspawn+=(SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1)
    printf '%q ' "${nspawn[@]}" >"$state/nspawn.cmdline"
    SECONDS=0
    launch_and_wait "$cg"
    if [[ ${in_run:-0} -eq 0 ]]; then trap - EXIT; fi
    case $st in
        running) log "test host '$name' is up ($suite, ${SECONDS}s)" ;;
        degraded)
            log "test host '$name' is up but degraded ($suite, ${SECONDS}s); failed units:"
            cmd_exec -- systemctl --failed --no-legend --no-pager >&2 || true ;;
        *)
            tail -n 60 "$state/console.log" >&2
            cmd_stop_one >/dev/null 2>&1 || true
            die "test host did not boot within ${BOOT_TIMEOUT}s (state: '${st:-unknown}'); console log: $state/console.log" ;;
    esac
}

# ---------------------------------------------------------------- reboot
# A reboot of the test host keeps its overlay's upper layer (its /etc, /var), as a real reboot keeps
# the disk. nspawn --keep-unit exits on reboot (status 133, for systemd to restart the unit); there is
# no systemd out here, so this does the restart.
cmd_reboot() {
    local npid deadline
    while [[ $# -gt 0 ]]; do
        case $1 in --name) name=$2; shift 2 ;; *) die "reboot: unknown argument: $1" ;; esac
    done
    set_names
    npid=$(readpid nspawn)
    pid_is "$npid" systemd-nspawn || die "test host '$name' is not running"
    cmd_exec -- systemctl reboot >/dev/null 2>&1 || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while pid_is "$npid" systemd-nspawn; do
        ((SECONDS < deadline)) || die "test host '$name' did not go down for reboot in ${STOP_TIMEOUT}s"
        sleep 0.2
    done
    SECONDS=0
    in_run=1 launch_and_wait "$(cat "$state/cgroup" 2>/dev/null || true)"
    case $st in
        running|degraded) log "test host '$name' rebooted (${SECONDS}s)" ;;
        *) tail -n 60 "$state/console.log" >&2; die "test host did not come back after reboot (state: '${st:-unknown}')" ;;
    esac
}

# ---------------------------------------------------------------- exec
cmd_exec() {
    local user="" envs=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            --user) user=$2; shift 2 ;;
            --name) name=$2; shift 2 ;;
            --env) envs+=("$2"); shift 2 ;;
            --) shift; break ;;
            *) break ;;
        esac
    done
    [[ $# -gt 0 ]] || die "exec: no command"
    set_names
    local leader
    leader=$(readpid leader)
    pid_alive "$leader" || die "test host '$name' is not running"
    # Join the container's cgroup (its init.scope) so that from inside the
    # process looks local: systemd-run --scope and /proc/self/cgroup work.
    local cgpath
    cgpath=$(awk -F: '$1 == "0" {print $3}' "/proc/$leader/cgroup")
    local root
    root=$(cgroup2_root || true)
    local -a base_env=(TERM="${TERM:-dumb}" LANG=C.UTF-8)
    local kv
    while read -r kv; do [[ -n $kv ]] && base_env+=("$kv"); done <"$inst/merged/etc/testhost/env"
    local -a inner
    if [[ -z $user || $user == root ]]; then
        inner=(/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
               HOME=/root USER=root LOGNAME=root SHELL=/bin/bash "${base_env[@]}" "${envs[@]}")
    else
        # setpriv: no PAM, no session, just the user's ids, groups and a login-like env.
        inner=(/usr/bin/setpriv --reuid="$user" --regid="$(user_gid "$user")" --init-groups --reset-env
               /usr/bin/env "${base_env[@]}" "${envs[@]}")
    fi
    local cgprocs=()
    if [[ -n $root && -n $cgpath && -w $root$cgpath/cgroup.procs ]]; then
        cgprocs=(--cgroup-procs "$root$cgpath/cgroup.procs")
    fi
    if [[ -s $state/cgroup-v1 ]]; then
        # A legacy host: also its init's cgroup in each v1 hierarchy.
        local mp ctl p id c
        while read -r mp ctl; do
            while IFS=: read -r id c p; do
                [[ $id != 0 && $(tr , '\n' <<<"$c" | sort | paste -sd,) == "$ctl" ]] || continue
                [[ -w $mp$p/cgroup.procs ]] && cgprocs+=(--cgroup-procs "$mp$p/cgroup.procs")
            done <"/proc/$leader/cgroup"
        done < <(cgroup_v1_hierarchies)
    fi
    # nsexec.py rather than nsenter: see its header (nsenter hangs the poweroff).
    # shellcheck disable=SC2016  # $HOME and $@ are expanded by the inner shell
    python3 "$here/nsexec.py" "$leader" "${cgprocs[@]}" -- \
        "${inner[@]}" /bin/sh -c 'cd "$HOME" 2>/dev/null || cd /; exec "$@"' sh "$@"
}

# Primary gid of a user, looked up in the running host's /etc/passwd.
user_gid() {
    local g
    g=$(awk -F: -v u="$1" '$1 == u || $3 == u {print $4; exit}' "$inst/merged/etc/passwd")
    [[ -n $g ]] || die "no such user in the test host: $1"
    echo "$g"
}

# ---------------------------------------------------------------- journal
cmd_journal() {
    local out=""
    while [[ $# -gt 0 ]]; do
        case $1 in
            --name) name=$2; shift 2 ;;
            *) out=$1; shift ;;
        esac
    done
    set_names
    local -a jargs=(--no-pager -o short-precise -a)
    if pid_alive "$(readpid leader)"; then
        if [[ -n $out ]]; then cmd_exec -- journalctl -b "${jargs[@]}" >"$out"
        else cmd_exec -- journalctl -b "${jargs[@]}"; fi
    elif [[ -d $inst/upper/var/log/journal ]]; then
        if [[ -n $out ]]; then journalctl -D "$inst/upper/var/log/journal" "${jargs[@]}" >"$out"
        else journalctl -D "$inst/upper/var/log/journal" "${jargs[@]}"; fi
    else
        die "test host '$name' is not running and has no journal left"
    fi
    [[ -z $out ]] || log "journal of '$name' written to $out"
}

cmd_status() {
    while [[ $# -gt 0 ]]; do
        case $1 in --name) name=$2; shift 2 ;; *) die "status: unknown argument: $1" ;; esac
    done
    set_names
    if pid_alive "$(readpid leader)"; then
        echo "test host '$name': running (nspawn $(readpid nspawn), init $(readpid leader)), state dir $state"
        cmd_exec -- systemctl is-system-running || true
    else
        echo "test host '$name': not running"
        return 3
    fi
}

# ---------------------------------------------------------------- stop
kill_wait() { # kill_wait SIGNAL TIMEOUT PID...: signal PIDs, wait for them to go
    local sig=$1 t=$2 p; shift 2
    for p in "$@"; do kill -"$sig" "$p" 2>/dev/null || true; done
    local deadline=$((SECONDS + t))
    for p in "$@"; do
        while pid_alive "$p" && ((SECONDS < deadline)); do sleep 0.1; done
    done
    for p in "$@"; do pid_alive "$p" && return 1; done
    return 0
}

netns_down() { # stop every process in a netns, then delete it
    local ns=$1 pids
    [[ -e /run/netns/$ns ]] || return 0
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
    if ((${#pids[@]})); then
        kill_wait TERM 5 "${pids[@]}" || kill_wait KILL 5 "${pids[@]}" || true
    fi
    ip netns del "$ns" 2>/dev/null || true
}

umount_tree() {
    local m=$1
    mountpoint -q "$m" 2>/dev/null || return 0
    umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null || true
}

cmd_stop_one() {
    local npid leader
    npid=$(readpid nspawn)
    leader=$(readpid leader)
    if pid_is "$npid" systemd-nspawn; then
        # SIGTERM: nspawn sends SIGRTMIN+3 to the container's systemd (poweroff).
        if ! kill_wait TERM "$STOP_TIMEOUT" "$npid"; then
            log "test host '$name' did not power off in ${STOP_TIMEOUT}s; killing it"
            kill_wait KILL 5 "$npid" "$leader" || true
        fi
    fi
    # Anything left in the host's cgroup (e.g. exec'ed processes) goes too.
    local cg
    cg=$(cat "$state/cgroup" 2>/dev/null || true)
    if [[ -z $cg ]] && cg=$(cgroup2_root); then cg=$cg/sandy-testhost-$name; fi
    if [[ -n $cg ]]; then rm_cgroup_tree "$cg"; fi
    if [[ -s $state/cgroup-v1 ]]; then
        while read -r cg; do rm_cgroup_tree_v1 "$cg"; done <"$state/cgroup-v1"
    fi
    # On a hybrid machine nspawn mirrors its cgroup2 path into the name=systemd v1 hierarchy; that
    # copy is left behind empty: remove it (rmdir only removes empty cgroups).
    local sd
    sd=$(cgroup_v1_hierarchies | awk '$2 == "name=systemd" { print $1 }')
    if [[ -n $sd && -d $sd/sandy-testhost-$name ]]; then
        find "$sd/sandy-testhost-$name" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
    local p
    for p in canary dnsmasq registry-https registry-http mirror; do
        if pid_alive "$(readpid "$p")"; then kill_wait TERM 5 "$(readpid "$p")" || true; fi
    done
    netns_down "$netns"
    netns_down "$thns"
    umount_tree "$inst/merged"
    if [[ -d $inst ]] && ! mountpoint -q "$inst/merged"; then
        rm -rf --one-file-system "$inst"
    fi
    rm -f "$state"/*.pid "$state/canary.ready"
    log "test host '$name' stopped"
}

cmd_stop() {
    local all=0
    while [[ $# -gt 0 ]]; do
        case $1 in
            --all) all=1; shift ;;
            --name) name=$2; shift 2 ;;
            *) die "stop: unknown argument: $1" ;;
        esac
    done
    need_root
    if [[ $all -eq 0 ]]; then set_names; cmd_stop_one; return 0; fi
    local d n
    for d in "$STATE_ROOT"/*/; do
        [[ -d $d ]] || continue
        n=${d%/}; name=${n##*/}
        [[ $name =~ ^[a-z0-9]{1,10}$ ]] || continue
        set_names; cmd_stop_one
    done
    # Sweep by name prefix: leftovers of runs whose state dir is gone.
    local p cmd
    for p in $(pgrep -x systemd-nspawn || true); do
        cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || true)
        if [[ $cmd == *"--directory=$INST_PREFIX"* ]]; then
            log "killing leftover systemd-nspawn $p"
            kill_wait TERM "$STOP_TIMEOUT" "$p" || kill_wait KILL 5 "$p" || true
        fi
    done
    for n in $(ip netns list 2>/dev/null | awk '{print $1}'); do
        if [[ $n == sandy-up-* || $n == sandy-th-* ]]; then log "removing netns $n"; netns_down "$n"; fi
    done
    local cgroot
    if cgroot=$(cgroup2_root); then
        for d in "$cgroot"/sandy-testhost-*; do rm_cgroup_tree "$d"; done
    fi
    for d in "$INST_PREFIX"*; do
        [[ -d $d ]] || continue
        umount_tree "$d/merged"
        mountpoint -q "$d/merged" 2>/dev/null || rm -rf --one-file-system "$d"
    done
}

# ---------------------------------------------------------------- run
cmd_run() {
    local start_args=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            --name) name=$2; start_args+=("$1" "$2"); shift 2 ;;
            --suite|--install|--bind-ro|--bind|--nspawn-arg|--cgroup) start_args+=("$1" "$2"); shift 2 ;;
            --) shift; break ;;
            *) die "run: unknown argument: $1" ;;
        esac
    done
    [[ $# -gt 0 ]] || die "run: no command"
    set_names
    # Always stop, however we leave (error, Ctrl-C, TERM).
    in_run=1
    run_child=""
    trap 'cmd_stop_one' EXIT
    # Kill the command too; the stop then powers the host off.
    trap '[[ -n $run_child ]] && kill "$run_child" 2>/dev/null; exit 130' INT
    trap '[[ -n $run_child ]] && kill "$run_child" 2>/dev/null; exit 143' TERM
    cmd_start "${start_args[@]}"
    local rc=0
    # In the background + wait: bash runs traps only once a foreground child
    # is done, but interrupts `wait` at once. Keep stdin (bash would give an
    # async command /dev/null).
    if [[ -e /proc/$$/fd/0 ]]; then exec {run_stdin}<&0; else exec {run_stdin}</dev/null; fi  # CI may close stdin
    cmd_exec -- "$@" <&"$run_stdin" &
    run_child=$!
    wait "$run_child" || rc=$?
    run_child=""
    if [[ $rc -ne 0 ]]; then
        local j=${SANDY_TESTHOST_ARTIFACTS:-/var/tmp}/sandy-testhost-$name.journal.txt
        cmd_journal "$j" 2>/dev/null || true
        log "command failed (exit $rc); test host journal: $j; console/canary/dns logs: $state"
    fi
    return "$rc"
}

sub=${1:-}
[[ $# -gt 0 ]] && shift
case $sub in
    start) cmd_start "$@" ;;
    exec) cmd_exec "$@" ;;
    journal) cmd_journal "$@" ;;
    status) cmd_status "$@" ;;
    stop) cmd_stop "$@" ;;
    reboot) cmd_reboot "$@" ;;
    run) cmd_run "$@" ;;
    -h|--help|help) sed -n "2,24p" "$0" ;;
    *) sed -n "2,24p" "$0" >&2; exit 2 ;;
esac
