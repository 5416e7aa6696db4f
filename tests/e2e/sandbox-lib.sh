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

# probe_syscall NR ARGS...: call syscall NR (x86_64) with integer arguments; prints "ok" or "errno=N".
probe_syscall() {
        perl -e '$r = syscall(map { $_ + 0 } @ARGV); print $r < 0 ? "errno=" . ($!+0) : "ok", "\n"' "$@"
}
# in_pty CMD...: run CMD with a terminal on stdin, stdout and stderr (a pty of Python's); its exit status.
in_pty() {
        python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' "$@" </dev/null
}
# field NAME FILE: the value of "NAME:" in a /proc status-like file.
status_field() { awk -v k="$1:" '$1 == k {print $2}' "$2"; }
# git_as USER DIR ARGS...: git as USER in DIR with a fixed identity and no global config of the test's.
git_as() {
        local u=$1 d=$2
        shift 2
        as_user "$u" env GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t \
                ${GIT_EXEC_PATH:+GIT_EXEC_PATH=$GIT_EXEC_PATH} "$(command -v git)" -C "$d" "$@"
}
# planted_hook PATH MARKER: an executable hook that records that it ran (touch MARKER).
planted_hook() {
        printf '#!/bin/sh\ntouch %s\n' "$2" >"$1" && chmod 0755 "$1"
}
# swap_loop A B SECONDS: exchange A and B (renameat2 RENAME_EXCHANGE) as fast as possible, as the caller.
swap_loop() {
        python3 - "$@" <<'PY'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, end = sys.argv[1].encode(), sys.argv[2].encode(), time.time() + float(sys.argv[3])
while time.time() < end:
    libc.renameat2(-100, a, -100, b, 2)
PY
}
as_alice() { as_user alice "$@"; }
# use_git: git on PATH; where the test host has none, Debian's package from the test cache, unpacked.
use_git() {
        command -v git >/dev/null && return 0
        local deb d=/var/tmp/e2e-git
        deb=$(ls "$SANDY_TEST_CACHE"/debs/git_*_amd64.deb 2>/dev/null | head -1)
        [ -n "$deb" ] || return 1
        [ -x $d/usr/bin/git ] || dpkg-deb -x "$deb" $d || return 1
        export PATH=$d/usr/bin:$PATH GIT_EXEC_PATH=$d/usr/lib/git-core
        git --version >/dev/null
}
export -f use_git as_user as_alice probe_syscall in_pty status_field git_as planted_hook swap_loop
