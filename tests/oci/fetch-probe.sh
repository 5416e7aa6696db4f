#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Run by tests/oci/pull-test.sh in skopeo's place (OCI_TEST_SKOPEO): says, one "probe" line each, what a
# program confined for a pull (image/confine.h, CONFINE_VIEW_FETCH) is and may do, and fails. It only creates
# files of its own, uniquely named, and removes those it could create.
say() { echo "probe $*"; }
st() { sed -n "s/^$1:[[:space:]]*//p" /proc/self/status; }
say "uid=$(id -u) gid=$(id -g) groups=$(id -G | wc -w)"
say "uid_map $(tr -s ' ' <"/proc/self/uid_map" | sed 's/^ //')"
say "CapEff=$(st CapEff) CapPrm=$(st CapPrm) CapBnd=$(st CapBnd) CapAmb=$(st CapAmb)"
say "NoNewPrivs=$(st NoNewPrivs) Seccomp=$(st Seccomp)"
say "netns=$(readlink /proc/self/ns/net) pidns=$(readlink /proc/self/ns/pid) mntns=$(readlink /proc/self/ns/mnt)"
tag=$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
for d in / /etc /usr /var /var/lib /opt /run /run/sandy-build /run/sandy-build/fetch /run/sandy-build/fetch/layout \
        /tmp /var/tmp /dev/shm; do
        f=$d/.sandy-fetch-probe-$tag
        if (: >"$f") 2>/dev/null; then
                rm -f "$f"
                say "write $d yes"
        else
                say "write $d no"
        fi
done
say "tmp-file /tmp/sandy-fetch-probe-$tag"
: >"/tmp/sandy-fetch-probe-$tag" 2>/dev/null
say "home-entries $(ls -A /home 2>/dev/null | wc -l) root-entries $(ls -A /root 2>/dev/null | wc -l)"
say "run-entries $(ls -A /run | tr '\n' ' ')"
say "HOME=$HOME TMPDIR=$TMPDIR XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-}"
for a in "$@"; do
        case $a in
        --src-authfile=*)
                f=${a#--src-authfile=}
                if grep -q '"auths"' "$f" 2>/dev/null; then say "authfile $f readable"; else say "authfile $f unreadable"; fi
                ;;
        --src-no-creds) say "authfile none" ;;
        esac
done
say "argv $*"
echo 'time="2026-01-01T00:00:00Z" level=fatal msg="the probe is done"'
exit 1
