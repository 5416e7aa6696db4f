#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build sandy and run every test suite: unit, golden, integration (real nspawn), e2e (booted test host),
# the same under ASan+UBSan, and a short fuzz run. Run as root for the suites that need it; without
# root they report SKIP with the reason. Ends with one line "N passed, N failed, N skipped".
set -euo pipefail

cd "$(dirname "$0")/.."
fuzz_seconds=${SANDY_FUZZ_SECONDS:-60}

if [ "$(id -u)" = 0 ] && ! command -v meson >/dev/null; then
        ./tools/install-deps.sh
fi

meson setup --wipe build >/dev/null 2>&1 || meson setup build >/dev/null
ninja -C build

meson setup --wipe build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null 2>&1 ||
        meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan

# The README's quick start builds with --buildtype=release, where -O3 brings warnings (and so, with
# -Werror, errors) that the debug builds never see: compile that configuration too.
meson setup --wipe build-release --buildtype=release >/dev/null 2>&1 || meson setup build-release --buildtype=release >/dev/null
ninja -C build-release

# The Debian package, built from a copy of the tree as a user would (debian/), checked by lintian (errors
# fail), and installed into a fresh test host by tests/e2e/host-deb.sh.
status=0
deb_result=skip
if command -v dpkg-buildpackage >/dev/null && dpkg-checkbuilddeps >/dev/null 2>&1; then
        debwork=$(mktemp -d /var/tmp/sandy-deb.XXXXXX)
        mkdir "$debwork/src"
        git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$debwork/src"
        if (cd "$debwork/src" && dpkg-buildpackage -us -uc -b) >"$debwork/build.log" 2>&1 &&
                lintian --fail-on error "$debwork"/sandy_*.deb >"$debwork/lintian.log" 2>&1; then
                deb_result=pass
                SANDY_TEST_DEB=$(ls "$debwork"/sandy_*_*.deb | grep -v dbgsym)
                export SANDY_TEST_DEB
        else
                deb_result=fail
                status=1
                tail -n 40 "$debwork/build.log" "$debwork/lintian.log" >&2 || true
        fi
fi

meson test -C build --print-errorlogs --no-rebuild || status=1
# The e2e suite boots a test host; once is enough, so the sanitizer build runs the rest.
meson test -C build-asan --print-errorlogs --no-rebuild --no-suite e2e || status=1

fuzz_result=skip
if [ -x tests/fuzz/run-fuzz.sh ] && command -v clang >/dev/null; then
        if tests/fuzz/run-fuzz.sh "$fuzz_seconds"; then fuzz_result=pass; else fuzz_result=fail; status=1; fi
fi

python3 - "$fuzz_result" "$deb_result" build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
kind = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}
for path in sys.argv[3:]:
    for line in open(path):
        t = json.loads(line)
        counts[kind.get(t["result"], "failed")] += 1
for extra in sys.argv[1:3]:  # the fuzz run, the Debian package
    counts[{"pass": "passed", "fail": "failed", "skip": "skipped"}[extra]] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $status
