/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* UID/GID ranges of 65536, one per sandbox (prepare/uid-range.c) and one per running image build
 * (image/confine.c), allocated as SANDY_UIDMAP_DIR/slot-XXXX -> owner. Between the end of nspawn's "pick"
 * range (0x6FFF0000) and systemd's foreign UID range (0x7FFE0000), and below 2^31, which some tools still
 * take for negative. */
#define SANDY_UID_RANGE 0x10000U
#define SANDY_UID_BASE_MIN 0x70000000U
#define SANDY_UID_SLOTS 0x0FFEU
/* Owners of build slots start with this: no sandbox name can (names start with a letter or digit). */
#define SANDY_UID_BUILD_OWNER_PREFIX ".build-"
