#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sandy-nouserns' filter, without a sandbox: what it refuses (user namespaces through unshare() and clone(),
# clone3() as ENOSYS) and what it leaves alone (fork, threads, other unshare() calls). TAP.
#   test-nouserns.sh PATH-TO-sandy-nouserns
set -u
nouserns=$1
n=0 failed=0
check() { # check DESC WANT CMD...: CMD prints WANT
        local d=$1 want=$2 got
        shift 2
        n=$((n + 1))
        got=$("$@" 2>&1)
        if [ "$got" = "$want" ]; then echo "ok $n - $d"; else echo "not ok $n - $d"; echo "#   got: $got, want: $want"; failed=1; fi
}
# x86_64 numbers; on other architectures the probes below would call other syscalls.
if [ "$(uname -m)" != x86_64 ] || ! command -v perl >/dev/null; then
        echo "1..0 # SKIP needs x86_64 and perl"
        exit 0
fi
probe='my ($nr, @a) = map { $_ + 0 } @ARGV; my $r = syscall($nr, @a); print $r < 0 ? "errno=" . ($! + 0) : "ok", "\n";'
check "unshare(CLONE_NEWUSER) is refused with EPERM" errno=1 "$nouserns" -- perl -e "$probe" 272 268435456
check "unshare(CLONE_NEWUSER|CLONE_NEWNS) too" errno=1 "$nouserns" -- perl -e "$probe" 272 268566528
check "clone(CLONE_NEWUSER) too" errno=1 "$nouserns" -- perl -e "$probe" 56 268435473 0 0 0 0
check "clone3() is ENOSYS (its flags are out of the filter's sight)" errno=38 "$nouserns" -- perl -e "$probe" 435 0 0
check "unshare(0) is allowed" ok "$nouserns" -- perl -e "$probe" 272 0
check "fork and exec still work" forked "$nouserns" -- sh -c '(echo forked)'
check "threads still work (glibc falls back from clone3 to clone)" thread \
        "$nouserns" -- python3 -c 'import threading; t = threading.Thread(target=lambda: print("thread")); t.start(); t.join()'
check "the filter is inherited" errno=1 "$nouserns" -- sh -c "perl -e '$probe' 272 268435456"
check "the command runs with its arguments as given" '[a b] [$x]' "$nouserns" -- sh -c 'echo "[$1] [$2]"' sh 'a b' '$x'
check "a missing command exits 127" 127 sh -c "'$nouserns' -- /nonexistent 2>/dev/null; echo \$?"
check "without arguments it explains and exits 2" 2 sh -c "'$nouserns' 2>/dev/null; echo \$?"
echo "1..$n"
exit $failed
