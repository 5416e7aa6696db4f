/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Each sandbox's UID/GID range: allocated once, kept across restarts. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "fs-util.h"
#include "hash.h"
#include "log.h"
#include "prepare.h"

int sandbox_uid_base(const char *name, bool allocate, uid_t *ret) {
        _cleanup_close_ int dfd = -EBADF;
        char slotname[32], target[SANDBOX_NAME_MAX + 2];
        uint32_t h;
        int r;

        r = mkdir_p(SANDY_UIDMAP_DIR, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_UIDMAP_DIR);
        dfd = open(SANDY_UIDMAP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", SANDY_UIDMAP_DIR);

        /* slot-XXXX -> NAME, created with symlinkat(), which fails if the slot is taken: the allocation is
         * atomic without a lock. Probing starts at a hash of the name, so the range is usually the same
         * even if the directory is lost. */
        h = fnv1a32(name) % SANDY_UID_SLOTS;
        for (uint32_t i = 0; i < SANDY_UID_SLOTS; i++) {
                uint32_t slot = (h + i) % SANDY_UID_SLOTS;

                snprintf(slotname, sizeof slotname, "slot-%04x", slot);
                r = readlinkat_buf(dfd, slotname, target, sizeof target);
                if (r >= 0) {
                        if (streq(target, name)) {
                                *ret = SANDY_UID_BASE_MIN + slot * SANDY_UID_RANGE;
                                return 0;
                        }
                        continue;
                }
                if (r != -ENOENT)
                        return log_error_errno(r, "Failed to read %s/%s: %m", SANDY_UIDMAP_DIR, slotname);
                if (!allocate)
                        continue;
                if (symlinkat(name, dfd, slotname) < 0) {
                        if (errno == EEXIST) {
                                i--; /* raced: look at it again */
                                continue;
                        }
                        return log_error_errno(errno, "Failed to allocate %s/%s: %m", SANDY_UIDMAP_DIR, slotname);
                }
                *ret = SANDY_UID_BASE_MIN + slot * SANDY_UID_RANGE;
                return 0;
        }
        return allocate ? log_error_errno(ENOSPC, "No free UID range for sandbox %s.", name) : -ENOENT;
}
