/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "sandbox.h"

/* Per sandbox, a UID/GID range of 65536 of its own, kept across restarts (a persistent upper layer holds
 * host IDs of it). Between the end of nspawn's "pick" range (0x6FFF0000) and systemd's foreign UID range
 * (0x7FFE0000), and below 2^31, which some tools still take for negative. */
#define SANDY_UID_RANGE 0x10000U
#define SANDY_UID_BASE_MIN 0x70000000U
#define SANDY_UID_SLOTS 0x0FFEU

#define SANDY_RUNTIME_DIR "/run/sandy"
#define SANDY_STATE_ROOT SANDY_STATE_DIR "/state"

/* Everything sandy-prepare mounts for one start, under /run/sandy/NAME:
 *   lower/      the image, idmapped read-only into the sandbox's range
 *   tmp/        tmpfs with upper/ and work/ (Ephemeral=yes; else /var/lib/sandy/state/NAME/overlay/)
 *   root/       the overlay nspawn runs (SANDY_ROOT)
 *   home/       /var/lib/sandy/state/NAME/home idmapped (PersistHome=yes)
 *   workspace/  the workspace, idmapped so its owner is the sandbox user, protected paths read-only on top
 *   credentials/ copies of the Credential= files for the sandbox user
 *   protected   the protected paths found at start, for the report at stop
 * and returns the nspawn settings text to append to the installed .nspawn file. */
int sandbox_mount_all(const Sandbox *s, const char *image_rootfs, char **ret_root, char **ret_settings);
/* Undo it (ExecStopPost): report protected paths created during the session, unmount, remove. Safe to run
 * after a partial or failed start. */
int sandbox_unmount_all(const char *name);

/* Exposed for sandyctl reset / tests. */
int sandbox_uid_base(const char *name, bool allocate, uid_t *ret);
