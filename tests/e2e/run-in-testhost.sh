#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson's e2e entry: install the build into a scratch DESTDIR and run tests/e2e in a booted test host.
#   run-in-testhost.sh BUILD-DIR SUITE
set -euo pipefail
build=${1:?usage: run-in-testhost.sh BUILD-DIR SUITE}
suite=${2:?usage: run-in-testhost.sh BUILD-DIR SUITE}
here=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" = 0 ] || { echo "SKIP: e2e tests need root"; exit 77; }
command -v systemd-nspawn >/dev/null || { echo "SKIP: systemd-nspawn is not installed"; exit 77; }

destdir=$(mktemp -d /var/tmp/sandy-destdir.XXXXXX)
trap 'rm -rf "$destdir"' EXIT
meson install -C "$build" --destdir "$destdir" --no-rebuild --quiet >/dev/null
"$here/../testhost/run-e2e.sh" "$destdir" --suite "$suite" --name "$suite"
