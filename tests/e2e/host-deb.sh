#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package: the .deb tools/test.sh built (SANDY_TEST_DEB) installs in a FRESH test host (no meson
# install over it), its postinst creates the group and /var/lib/sandy and makes systemd and D-Bus see the
# units and the helper, and the README's quick start runs from it to a command inside the demo sandbox.
# Runs on the outer machine; starts its own test host (TESTHOST_NAME with "d" appended) and stops it.
set -uo pipefail
: "${TESTHOST:?run by tests/testhost/run-e2e.sh}" "${TESTHOST_NAME:?}"
src=$(cd "$(dirname "$0")/../.." && pwd)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; printf '%s\n' "$@" | tail -n 25 | sed 's/^/#   /'; }
done_() { echo "1..$n"; exit $((failed > 0)); }

suite=$(sed -n 's/^suite=//p' "${SANDY_TESTHOST_STATE:-/run/sandy-testhost}/$TESTHOST_NAME/meta" 2>/dev/null)
if [ -z "${SANDY_TEST_DEB:-}" ] || [ ! -f "${SANDY_TEST_DEB:-}" ]; then
        echo "ok 1 # SKIP no package to test: SANDY_TEST_DEB is not set (tools/test.sh builds one)"; echo 1..1; exit 0
fi
. /etc/os-release
if [ "$suite" != "$VERSION_CODENAME" ]; then
        echo "ok 1 # SKIP the package was built on Debian $VERSION_CODENAME; its library dependencies do not fit $suite"
        echo 1..1; exit 0
fi

name=${TESTHOST_NAME:0:9}d
debdir=$(dirname "$(realpath "$SANDY_TEST_DEB")")
deb=$(basename "$SANDY_TEST_DEB")
th() { "$TESTHOST" "$@"; }
inside() { th exec --name "$name" -- /bin/bash -c "$1"; }
trap 'th stop --name "$name" >/dev/null 2>&1' EXIT

if out=$(th start --suite "$suite" --name "$name" --bind-ro "$src:/src" --bind-ro "$debdir:/debs" 2>&1); then
        ok "a fresh $suite test host boots without sandy installed"
else
        notok "a fresh $suite test host boots without sandy installed" "$out"; done_
fi
if out=$(inside 'command -v sandyctl' 2>&1); then notok "sandy is not there before the package" "$out"; else ok "sandy is not there before the package"; fi

if out=$(inside "dpkg -i /debs/$deb" 2>&1); then ok "dpkg -i $deb installs (its dependencies are met)"; else notok "dpkg -i $deb installs" "$out"; fi
if out=$(inside 'getent group sandy && test -d /var/lib/sandy/images && [ "$(stat -c %a /var/lib/sandy/images)" = 700 ]' 2>&1); then
        ok "postinst created group sandy and /var/lib/sandy/images (0700)"
else
        notok "postinst created group sandy and /var/lib/sandy/images (0700)" "$out"
fi
if out=$(inside 'systemctl cat sandy@.service >/dev/null && busctl --system call org.sandy.Helper1 /org/sandy/Helper1 org.freedesktop.DBus.Peer Ping' 2>&1); then
        ok "systemd knows sandy@.service and D-Bus activates sandy-helper"
else
        notok "systemd knows sandy@.service and D-Bus activates sandy-helper" "$out"
fi

# As the quick start declares it (it keeps an existing file), with the image seeded as a real build would
# make it (with its user): the test host has no Debian mirror for debootstrap.
# shellcheck disable=SC2016
if out=$(inside '. /src/tests/e2e/lib.sh; . /src/tests/e2e/sandbox-lib.sh; . /etc/os-release; mkdir -p /etc/sandy.d
        printf "[Sandbox]\nDescription=quickstart demo\n[Image]\nFrom=debootstrap:%s\n[Network]\nMode=none\n" \
                "$VERSION_CODENAME" >/etc/sandy.d/demo.sandbox
        systemctl daemon-reload && seed_user_image demo' 2>&1); then
        ok "the demo image is seeded"
else
        notok "the demo image is seeded" "$out"
fi
if out=$(inside "timeout 600 /src/tools/quickstart.sh --no-deps --deb /debs/$deb </dev/null" 2>&1) &&
        grep -q "^hello from .*, Debian GNU/Linux" <<<"$out"; then
        ok "the quick start runs from the package to a command inside the sandbox"
else
        notok "the quick start runs from the package to a command inside the sandbox" "$out"
fi
if out=$(inside 'systemctl is-active sandy@demo.service && systemctl stop sandy@demo.service' 2>&1); then
        ok "sandy@demo runs, and stops"
else
        notok "sandy@demo runs, and stops" "$out"
fi
if out=$(inside "dpkg -r sandy && ! test -e /usr/bin/sandyctl && ! systemctl cat sandy@.service" 2>&1); then
        ok "dpkg -r removes it"
else
        notok "dpkg -r removes it" "$out"
fi
done_
