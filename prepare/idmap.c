/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The maps of the workspace's idmapped mount: pure text, unit-tested (tests/unit/test-idmap.c). */
#include <stdio.h>

#include "idmap.h"
#include "string-util.h"

int workspace_id_maps(uid_t owner_uid, gid_t owner_gid, uid_t base, uid_t user_uid, gid_t user_gid,
                      char **ret_uid_map, char **ret_gid_map) {
        _cleanup_free_ char *u = NULL, *g = NULL;

        /* Exactly one ID each way: the owner's UID and primary GID are the sandbox user's inside, and no
         * other host ID has a name there. So nothing made inside can belong to, or be setgid to, anybody
         * but the owner, and root inside (unmapped) cannot create files in the workspace at all. */
        if (owner_uid == 0 || owner_gid == 0 || user_uid == 0 || user_gid == 0 || user_uid >= IDMAP_RANGE ||
            user_gid >= IDMAP_RANGE || base > UINT32_MAX - IDMAP_RANGE)
                return -EINVAL;
        if (xasprintf(&u, "%u %u 1\n", (unsigned) owner_uid, (unsigned) (base + user_uid)) < 0 ||
            xasprintf(&g, "%u %u 1\n", (unsigned) owner_gid, (unsigned) (base + user_gid)) < 0)
                return -ENOMEM;
        *ret_uid_map = TAKE_PTR(u);
        *ret_gid_map = TAKE_PTR(g);
        return 0;
}
