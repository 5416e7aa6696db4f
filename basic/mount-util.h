/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/* A user namespace with the given maps ("INSIDE OUTSIDE COUNT\n"...; gid_map NULL: none written), as an
 * fd for MOUNT_ATTR_IDMAP. A short-lived child holds it until the fd is open. */
int userns_fd(const char *uid_map, const char *gid_map);
/* Clone the mount at (dfd, path) (AT_EMPTY_PATH with path ""), set attr_set (MOUNT_ATTR_IDMAP with ns_fd),
 * attach it at target and make it private. */
int clone_mount(int dfd, const char *path, unsigned open_flags, uint64_t attr_set, int ns_fd, const char *target);
