/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Same as SANDY_UID_RANGE (prepare.h): the IDs of one sandbox. */
#define IDMAP_RANGE 0x10000U

/* The uid_map and gid_map ("INSIDE OUTSIDE COUNT\n" as written to /proc/PID/{u,g}id_map, seen from the
 * mount's side: on-disk ID, host ID shown) of the workspace mount: on-disk owner_uid:owner_gid is the
 * sandbox user (base + user_uid : base + user_gid), nothing else is mapped. -EINVAL for root or IDs out of
 * the range. */
int workspace_id_maps(uid_t owner_uid, gid_t owner_gid, uid_t base, uid_t user_uid, gid_t user_gid,
                      char **ret_uid_map, char **ret_gid_map);
