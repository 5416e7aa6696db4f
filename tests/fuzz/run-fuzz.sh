#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Build the libFuzzer target (clang, ASan + UBSan) in its own build directory and fuzz for SECONDS.
#
#   tests/fuzz/run-fuzz.sh SECONDS [LIBFUZZER-OPTION...]
#
# Exits non-zero on a finding (crash, sanitizer report, leak, timeout); the input is saved as
# $SANDY_FUZZ_BUILD_DIR/fuzz-artifacts/crash-* (or leak-*, timeout-*). Keep it as a regression:
#   cp build-fuzz/fuzz-artifacts/crash-XXXX tests/fuzz/regressions/SHORT-DESCRIPTION
# New interesting inputs are kept between runs in $SANDY_FUZZ_BUILD_DIR/fuzz-corpus. The seed corpus is
# the golden cases as installed (tests/golden/run-golden.py --export-corpus), exported afresh each run.
# werror is off in that build: clang warns where gcc does not, and that must not stop the fuzzer.
set -euo pipefail

seconds=${1:?usage: run-fuzz.sh SECONDS [libFuzzer options...]}
shift
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${SANDY_FUZZ_BUILD_DIR:-$src/build-fuzz}
cc=${CC:-clang}

if [ ! -f "$build/build.ninja" ]; then
        CC=$cc meson setup "$build" "$src" -Dfuzz=true -Dwerror=false -Db_lundef=false \
                --buildtype=debugoptimized >/dev/null
else
        meson configure "$build" -Dfuzz=true -Dwerror=false >/dev/null
fi
ninja -C "$build" tests/fuzz-sandbox generator/sandy-generator

artifacts=$build/fuzz-artifacts
corpus=$build/fuzz-corpus
seeds=$build/fuzz-seeds
rm -rf "$seeds"
mkdir -p "$artifacts" "$corpus" "$seeds"
python3 "$src/tests/golden/run-golden.py" "$build/generator/sandy-generator" --export-corpus "$seeds"

# New inputs go into the first directory; the seed corpus and the regressions are only read.
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$build/tests/fuzz-sandbox" \
        -max_total_time="$seconds" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -max_len=65536 \
        -dict="$src/tests/fuzz/sandbox.dict" \
        -artifact_prefix="$artifacts/" \
        -print_final_stats=1 \
        "$@" \
        "$corpus" "$seeds" "$src/tests/fuzz/regressions"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
        echo "run-fuzz.sh: the fuzzer found a problem (exit status $rc); reproducers in $artifacts:" >&2
        ls -l "$artifacts" >&2
fi
exit "$rc"
