#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Replay the fuzz target over the reproducers in regressions/ and the seed corpus, without libFuzzer.
# The seed corpus is not kept in the tree: it is the golden cases as the generator's tests install them
# (tests/golden/run-golden.py --export-corpus), made afresh for every run, so the two cannot drift.
#
#   replay.sh REPLAY-BINARY PYTHON3 GENERATOR
set -euo pipefail
replay=${1:?usage: replay.sh REPLAY-BINARY PYTHON3 GENERATOR}
python3=${2:?usage: replay.sh REPLAY-BINARY PYTHON3 GENERATOR}
generator=${3:?usage: replay.sh REPLAY-BINARY PYTHON3 GENERATOR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

corpus=$(mktemp -d "${TMPDIR:-/tmp}/sandy-fuzz-corpus.XXXXXX")
trap 'rm -rf "$corpus"' EXIT
"$python3" "$here/../golden/run-golden.py" "$generator" --export-corpus "$corpus" >&2
# An empty corpus would make this test pass without testing anything.
[ -n "$(ls -A "$corpus")" ] || { echo "no golden cases exported to $corpus" >&2; exit 1; }
"$replay" "$here/regressions" "$corpus"
