# SPDX-License-Identifier: LGPL-2.1-or-later
# Helpers for the tests of the sandbox itself (tests/e2e/6*.sh). Sourced after lib.sh.

# make_workspace DIR [OWNER]: an empty workspace owned by OWNER (default alice, UID 1001). It is a tmpfs
# of its own: the test host's root is an overlayfs, and an overlayfs cannot be idmapped (a real host's
# ext4, xfs or btrfs can).
make_workspace() {
        local d=$1 owner=${2:-alice}
        mkdir -p "$d"
        mountpoint -q "$d" || mount -t tmpfs -o mode=0755 tmpfs "$d" || return 1
        chown "$owner:$owner" "$d"
}
drop_workspace() {
        umount -l "$1" 2>/dev/null
        rmdir "$1" 2>/dev/null || true
}

# seed_user_image NAME: seed_image, plus the sandbox user "agent" (UID 1000) that the image build
# creates in real images; the fixture has none.
seed_user_image() {
        local r
        seed_image "$1" || return 1
        r=$(image_rootfs "$1") || return 1
        grep -q '^agent:' "$r/etc/passwd" || chroot "$r" useradd -m -u 1000 -U -s /bin/bash agent || return 1
        # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION): the ABI version, or err:ERRNO
        # (x86_64 syscall 444). A file, because machinectl shell takes some arguments as its own options.
        printf '%s\n' '#!/usr/bin/perl' '$r = syscall(444, 0, 0, 1); print $r < 0 ? "err:" . ($!+0) : $r;' \
                >"$r/usr/local/bin/sandy-test-landlock" && chmod 0755 "$r/usr/local/bin/sandy-test-landlock"
}

# as_agent NAME CMD...: run CMD in the running sandbox NAME as its user (sandyctl exec, as root).
as_agent() {
        local n=$1
        shift
        sandyctl exec "$n" -- "$@"
}

# as_root_in NAME CMD...: CMD as root inside (machinectl shell, so through the booted systemd).
as_root_in() {
        local n=$1
        shift
        machinectl --quiet shell "$n" "$@"
}

# leader NAME: the host PID of the sandbox's init.
leader() {
        machinectl show -p Leader --value "$1"
}
export -f as_agent as_root_in leader

# ---- issue 13: exec isolation, workspace IDs, protected paths, race-free paths, tmpfs, user namespaces.
# Each check prints what it saw, for the TAP diagnostics.

as_alice() { as_user alice "$@"; }
# field NAME FILE: the value of "NAME:" in a /proc status-like file.
status_field() { awk -v k="$1:" '$1 == k {print $2}' "$2"; }
# seed_probe_image NAME: seed_user_image, plus probes in /usr/local/bin (files, because machinectl shell
# takes some arguments as its own options), each printing "ok" or "errno=N":
#   sandy-test-syscall WHAT   bpf, perf_event_open, keyctl, add_key, request_key, open_by_handle_at (NULL
#                             arguments), personality (ADDR_NO_RANDOMIZE), unshare_user (unshare(CLONE_NEWUSER))
#   sandy-test-socket alg     socket(AF_ALG, SOCK_SEQPACKET, 0)
#   sandy-test-keyread        KEYREAD_PROBE (below)
seed_probe_image() {
        local r
        seed_user_image "$1" || return 1
        r=$(image_rootfs "$1") || return 1
        cat >"$r/usr/local/bin/sandy-test-syscall" <<'PL' || return 1
#!/usr/bin/perl
my %p = (bpf => [321, 0, 0, 0], perf_event_open => [298, 0, 0, -1, -1, 0], keyctl => [250, 0, -3, 0],
         add_key => [248, 0, 0, 0, 0, 0], request_key => [249, 0, 0, 0, 0], open_by_handle_at => [304, -100, 0, 0],
         personality => [135, 0x0040000], unshare_user => [272, 0x10000000]);
my $a = $p{$ARGV[0]} or die "unknown probe $ARGV[0]\n";
my ($nr, @args) = @$a;
my $r = syscall($nr, @args);
print $r < 0 ? "errno=" . ($! + 0) : "ok", "\n";
PL
        cat >"$r/usr/local/bin/sandy-test-socket" <<'PL' || return 1
#!/usr/bin/perl
my %f = (alg => [38, 5]);
my $a = $f{$ARGV[0]} or die "unknown family $ARGV[0]\n";
print socket(my $s, $a->[0], $a->[1], 0) ? "ok" : "errno=" . ($! + 0), "\n";
PL
        printf '#!/usr/bin/perl\n%s\n' "$KEYREAD_PROBE" >"$r/usr/local/bin/sandy-test-keyread" || return 1
        chmod 0755 "$r/usr/local/bin/sandy-test-syscall" "$r/usr/local/bin/sandy-test-socket" \
                "$r/usr/local/bin/sandy-test-keyread"
}
# KEYREAD_PROBE: perl that reads the user key "e2e-exec-key" through the session keyring (keyctl
# KEYCTL_GET_KEYRING_ID, KEYCTL_SEARCH, KEYCTL_READ): prints its content or "errno=N".
KEYREAD_PROBE='sub fail { print "errno=" . ($! + 0) . "\n"; exit 0 }
my $s = syscall(250, 0, -3, 0); fail() if $s < 0;
my ($type, $desc) = ("user", "e2e-exec-key");
my $k = syscall(250, 10, $s, $type, $desc, 0); fail() if $k < 0;
my $buf = "\0" x 256; my $n = syscall(250, 11, $k, $buf, 256); fail() if $n < 0;
print substr($buf, 0, $n), "\n";'
# shows TEXT CMD...: CMD's output (stdout and stderr) has a line that is exactly TEXT.
shows() {
        local want=$1 out
        shift
        out=$("$@" 2>&1)
        echo "$out"
        grep -qxF -- "$want" <<<"$(tr -d '\r' <<<"$out")"
}
# ran_without TEXT CMD...: CMD ran (its output has the line "probe-ran") and its output nowhere has TEXT.
ran_without() {
        local text=$1 out
        shift
        out=$("$@" 2>&1)
        echo "$out"
        grep -qx probe-ran <<<"$(tr -d '\r' <<<"$out")" && ! grep -qF -- "$text" <<<"$out"
}
# exits_with STATUS CMD...: CMD exits with STATUS.
exits_with() {
        local want=$1 rc=0
        shift
        "$@" || rc=$?
        [ "$rc" = "$want" ] || { echo "exit status $rc, not $want"; return 1; }
}
# in_pty CMD...: run CMD (a program or a function) with a terminal on stdin, stdout and stderr (a pty of
# Python's); its exit status.
in_pty() {
        python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' \
                bash -c '"$@"' in_pty "$@" </dev/null
}
# with_fd N FILE CMD...: CMD with descriptor N open on FILE (read-only).
with_fd() {
        local n=$1 f=$2
        shift 2
        eval "exec $n<\"\$f\""
        "$@"
        local rc=$?
        eval "exec $n<&-"
        return $rc
}
# command_fds_are NAME FD...: exactly these descriptors are open in a command run by sandyctl exec in NAME.
command_fds_are() {
        local out
        out=$(sandyctl exec "$1" -- sh -c 'ls /proc/$$/fd')
        shift
        words_are "$out" "$@"
}
# session_leader NAME: the command run by sandyctl exec is the leader of its own session.
session_leader() {
        local out
        out=$(sandyctl exec "$1" -- sh -c 'echo $$ $(cut -d" " -f6 /proc/$$/stat)')
        echo "$out"
        # shellcheck disable=SC2086  # two words
        set -- $out
        [ -n "${1:-}" ] && [ "$1" = "${2:-}" ]
}
# exec_pty_probe [USER] NAME: with a terminal, the command's stdin is a terminal of its own in the sandbox:
# prints tty's answer and "isatty".
exec_pty_probe() {
        local out run=()
        [ $# = 2 ] && { run=(as_user "$1"); shift; }
        out=$(in_pty "${run[@]}" sandyctl --no-ask-password exec "$1" -- sh -c 'tty; test -t 0 && echo isatty' | tr -d '\r')
        echo "$out"
        grep -qx isatty <<<"$out" && grep -qE '^/dev/pts/[0-9]+$' <<<"$out"
}
# TIOCSTI_PROBE: pushes "echo PWNED" into the terminal on its stdin.
TIOCSTI_PROBE='ioctl(STDIN, 0x5412, $_) for split //, qq(echo PWNED\n)'
# tiocsti_reaches_caller [PREFIX...]: in a shell on a terminal, PREFIX perl -e TIOCSTI_PROBE runs; the shell
# then reads a line from its terminal: true if it got what the probe pushed.
tiocsti_reaches_caller() {
        local out
        out=$(in_pty bash -c '"$@" perl -e "$0"; read -t 2 l; echo "got:$l"' "$TIOCSTI_PROBE" "$@" | tr -d '\r')
        echo "$out"
        grep -q 'got:echo PWNED' <<<"$out"
}
# same_status_field NAME FIELD: FIELD of /proc/self/status in a command of sandyctl exec is the leader's.
same_status_field() {
        local a b
        a=$(sandyctl exec "$1" -- awk -v k="$2:" '$1 == k {print $2}' /proc/self/status)
        b=$(status_field "$2" "/proc/$(leader "$1")/status")
        echo "exec=$a leader=$b"
        [ -n "$a" ] && [ "$a" = "$b" ]
}
# like_payload_as USER NAME PROBE ARG: the probe (sandy-test-syscall, sandy-test-socket) answers the same in
# sandyctl exec as USER (root: as root) as in the payload (machinectl shell agent@NAME).
like_payload_as() {
        local a b
        a=$(exec_as "$1" "$2" -- "/usr/local/bin/$3" "$4")
        b=$(machinectl --quiet shell "agent@$2" "/usr/local/bin/$3" "$4" | tr -d '\r')
        echo "exec=$a payload=$b"
        [ -n "$a" ] && [ "$a" = "$b" ]
}
# refused_like_payload NAME PROBE ARG: like_payload_as root, and refused there too (not "ok").
refused_like_payload() {
        like_payload_as root "$@" && [ "$(exec_as root "$1" -- "/usr/local/bin/$2" "$3")" != ok ]
}
# exec_filters_like_leader NAME: a member's command has the leader's seccomp filters and what PID 1 of this
# host has (inherited by any transient unit), nothing more (sandy-helper's own would add some).
exec_filters_like_leader() {
        local a l p
        a=$(exec_as alice "$1" -- awk '/^Seccomp_filters:/ {print $2}' /proc/self/status)
        l=$(status_field Seccomp_filters "/proc/$(leader "$1")/status")
        p=$(status_field Seccomp_filters /proc/1/status)
        echo "exec=$a leader=$l pid1=$p"
        [ -n "$a" ] && [ "$a" = $((l + p)) ]
}
# with_session_key SECRET CMD...: CMD (a program or a function) in a new session keyring holding the user key
# "e2e-exec-key" = SECRET.
with_session_key() {
        python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
if libc.syscall(250, 1, b"e2e-exec") < 0:  # KEYCTL_JOIN_SESSION_KEYRING
    sys.exit("join_session_keyring failed")
v = sys.argv[1].encode()
if libc.syscall(248, b"user", b"e2e-exec-key", v, len(v), -3) < 0:  # add_key to @s
    sys.exit("add_key failed")
os.execvp("bash", ["bash", "-c", "\"$@\"", "with_session_key"] + sys.argv[2:])' "$@"
}
# background_in_unit NAME: a command of sandyctl exec runs, on the host, in the sandbox's unit.
background_in_unit() {
        local p tag=31.$RANDOM bg found=1
        sandyctl exec "$1" -- sleep "$tag" >/dev/null 2>&1 &
        bg=$!
        wait_for 30 pgrep -x -f "sleep $tag" || { kill $bg; echo "no sleep $tag appeared"; return 1; }
        for p in $(pgrep -x -f "sleep $tag"); do
                cat "/proc/$p/cgroup"
                grep -q "sandy@$1.service" "/proc/$p/cgroup" && found=0
        done
        kill $bg
        wait $bg 2>/dev/null
        return $found
}
# argv_exact [USER] NAME: sandyctl exec passes argv unchanged: spaces, empty, $(...), newlines, quotes.
EXEC_ARGV_EXPECTED=$'[a b]\n[]\n[$(id)]\n[x\ny]\n[it\'s]\n["q"]\n[`id`]\n[$HOME]\n[$$]'
argv_exact() {
        local run=() out
        [ $# = 2 ] && { run=(as_user "$1"); shift; }
        out=$("${run[@]}" sandyctl --no-ask-password exec "$1" -- printf '[%s]\n' 'a b' '' '$(id)' $'x\ny' "it's" \
                '"q"' '`id`' '$HOME' '$$')
        echo "$out"
        [ "$out" = "$EXEC_ARGV_EXPECTED" ]
}
# exec_as USER NAME CMD...: sandyctl exec as USER (root: as root), never asking for a password.
exec_as() {
        local u=$1
        shift
        if [ "$u" = root ]; then sandyctl exec "$@"; else as_user "$u" sandyctl --no-ask-password exec "$@"; fi
}

# git_as USER DIR ARGS...: git as USER in DIR with a fixed identity.
git_as() {
        local u=$1 d=$2
        shift 2
        as_user "$u" env GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t \
                git -C "$d" "$@"
}
# swap_loop_as USER A B SECONDS [DWELL]: as USER, exchange A and B (renameat2 RENAME_EXCHANGE) for SECONDS,
# keeping each state DWELL seconds (default 0: as fast as possible; a dwell longer than one check of the
# victim makes a check and a later use see different states more often).
# (A program, not a function: as_user clears the environment, exported functions with it.)
swap_loop_as() {
        as_user "$1" python3 -c '
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, end = sys.argv[1].encode(), sys.argv[2].encode(), time.time() + float(sys.argv[3])
dwell = float(sys.argv[4])
while time.time() < end:
    libc.renameat2(-100, a, -100, b, 2)
    if dwell:
        time.sleep(dwell)' "$2" "$3" "$4" "${5:-0}"
}
# credential_is NAME ID TEXT: sandy@NAME starts, and its credential ID is TEXT for the agent.
credential_is() {
        timeout 120 systemctl start "sandy@$1.service" && shows "$3" as_agent "$1" cat "/run/sandy/credentials/$2"
}
# owner_is PATH USER:GROUP: stat says so.
owner_is() {
        local got
        got=$(stat -c %U:%G "$1")
        [ "$got" = "$2" ] || { echo "$1 is $got, not $2"; return 1; }
}
# mount_options_have MOUNTPOINT OPTION...: findmnt's options of the mount have each OPTION (a prefix match).
mount_options_have() {
        local o opt
        o=$(findmnt -n -o OPTIONS "$1")
        echo "$o"
        shift
        for opt; do grep -qE "(^|,)$opt" <<<"$o" || return 1; done
}
export -f as_user as_alice status_field seed_probe_image shows ran_without exits_with in_pty with_fd command_fds_are session_leader exec_filters_like_leader \
        exec_pty_probe tiocsti_reaches_caller same_status_field like_payload_as refused_like_payload with_session_key \
        background_in_unit argv_exact exec_as git_as swap_loop_as credential_is owner_is mount_options_have
export TIOCSTI_PROBE EXEC_ARGV_EXPECTED KEYREAD_PROBE
