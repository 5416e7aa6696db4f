#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The README's first command, tools/quickstart.sh, as far as it runs without the network: its apt and
# debootstrap steps are skipped (--no-deps; the build is already installed; the image is seeded), the
# rest (declare, verify, reload, start, run a command inside) runs for real.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sandbox-lib.sh"

fixture=$(fixture_dir) || { tap_skip "no fixture image under /var/cache/sandy-tests"; tap_done; exit; }

# What quickstart itself would declare on this host; it keeps an existing file.
. /etc/os-release
declare_sandbox demo <<EOF2
[Image]
From=debootstrap:$VERSION_CODENAME
[Network]
Mode=none
EOF2
# As a real debootstrap build makes it: with the sandbox's user, whom the quick start runs its command as.
tap_check "the demo image is seeded" seed_user_image demo
out=$(timeout 300 /src/tools/quickstart.sh --no-deps --no-build </dev/null 2>&1); rc=$?
tap_check "quickstart runs to the end and a command runs inside the sandbox" \
        status_is "$rc" 0 output_matches "$out" "^hello from .*, Debian GNU/Linux"
tap_check "sandy@demo is running afterwards" systemctl is-active sandy@demo.service
remove_sandbox demo
tap_done
