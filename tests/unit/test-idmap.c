/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workspace's idmap (prepare/idmap.c): the owner's UID and primary GID, and nothing else. */
#include <errno.h>

#include "idmap.h"
#include "tests.h"

static void maps(uid_t ou, gid_t og, uid_t base, uid_t uu, gid_t ug, int expected_r, const char *eu,
                 const char *eg) {
        _cleanup_free_ char *u = NULL, *g = NULL;
        int r = workspace_id_maps(ou, og, base, uu, ug, &u, &g);

        check_int(r, expected_r);
        if (r == 0) {
                check_streq(u, eu);
                check_streq(g, eg);
        }
}

TEST(owner_only) {
        /* alice (1001:1001) is agent (1000:1000) of a sandbox at 0x70010000. */
        maps(1001, 1001, 0x70010000, 1000, 1000, 0, "1001 1879114728 1\n", "1001 1879114728 1\n");
        /* A primary group different from the UID, and a sandbox user with other IDs. */
        maps(1001, 100, 0x70000000, 1000, 1005, 0, "1001 1879049192 1\n", "100 1879049197 1\n");
        /* Exactly one line each: no identity ranges that would let root inside chgrp to disk or 0. */
        _cleanup_free_ char *u = NULL, *g = NULL;
        require(workspace_id_maps(1001, 1001, 0x70000000, 1000, 1000, &u, &g) == 0);
        check_not_contains(g, "\n6 ");
        check(strchr(g, '\n') == g + strlen(g) - 1);
        check(strchr(u, '\n') == u + strlen(u) - 1);
}

TEST(refused) {
        maps(0, 1001, 0x70000000, 1000, 1000, -EINVAL, NULL, NULL);         /* root-owned workspace */
        maps(1001, 0, 0x70000000, 1000, 1000, -EINVAL, NULL, NULL);         /* group root */
        maps(1001, 1001, 0x70000000, 0, 1000, -EINVAL, NULL, NULL);         /* root as the sandbox user */
        maps(1001, 1001, 0x70000000, 1000, 0x10000, -EINVAL, NULL, NULL);   /* outside the range */
        maps(1001, 1001, 0xFFFF0001U, 1000, 1000, -EINVAL, NULL, NULL);     /* overflow */
}

int main(void) {
        test_init();
        RUN(owner_only);
        RUN(refused);
        return test_finish();
}
