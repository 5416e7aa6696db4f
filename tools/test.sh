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

status=0
meson test -C build --print-errorlogs --no-rebuild || status=1
# The e2e suite boots a test host; once is enough, so the sanitizer build runs the rest.
meson test -C build-asan --print-errorlogs --no-rebuild --no-suite e2e || status=1

fuzz_result=skip
if [ -x tests/fuzz/run-fuzz.sh ] && command -v clang >/dev/null; then
        if tests/fuzz/run-fuzz.sh "$fuzz_seconds"; then fuzz_result=pass; else fuzz_result=fail; status=1; fi
fi

python3 - "$fuzz_result" build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
kind = {"OK": "passed", "EXPECTEDFAIL": "passed", "SKIP": "skipped"}
for path in sys.argv[2:]:
    for line in open(path):
        t = json.loads(line)
        counts[kind.get(t["result"], "failed")] += 1
fuzz = sys.argv[1]
counts[{"pass": "passed", "fail": "failed", "skip": "skipped"}[fuzz]] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit $status
