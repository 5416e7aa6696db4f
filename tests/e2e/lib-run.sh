#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lib-run.sh COMMAND [ARG...]: run COMMAND (a function of lib.sh or a program) with lib.sh loaded, for
# tests that run outside the test host and reach in with testhost.sh exec (tests/e2e/host-*.sh).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$@"
