/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* What verify and doctor find out on this host about what a declaration refers to. */

struct Sandbox;

typedef enum IdmapSupport {
        IDMAP_UNKNOWN = -1, /* not tried: not root (the test needs CAP_SYS_ADMIN) */
        IDMAP_NO = 0,
        IDMAP_YES = 1,
} IdmapSupport;

typedef struct WorkspaceInfo {
        char *problem;  /* why the sandbox cannot start with it (NULL: none found) */
        char *unchecked; /* what could not be looked at as this user (NULL: everything was) */
        bool found;      /* it was opened: owner and fs are known */
        uid_t owner;
        char *owner_name; /* NULL when the UID has no name */
        char fs[32];      /* the file system's name (ext4, tmpfs, ...) or its magic number */
        IdmapSupport idmap;
} WorkspaceInfo;

void workspace_info_done(WorkspaceInfo *w);
/* Look at the workspace path as sandy-prepare will use it: it exists, is a directory reached without any
 * symlink, belongs to a user other than root and is not a home directory, and its file system takes
 * idmapped mounts. The last is tried for real when we are root (a detached clone of the mount, idmapped
 * with a throwaway user namespace, never attached anywhere); otherwise it is IDMAP_UNKNOWN. Returns 0 (the
 * findings in *ret) or -ENOMEM. */
int workspace_inspect(const char *path, WorkspaceInfo *ret);
/* One line for the user: "directory of alice (UID 1001) on ext4, idmapped mounts work". NULL on OOM. */
char *workspace_summary(const WorkspaceInfo *w);

/* The files a declaration names must exist: Setup=, each Credential= source, the path of an oci:,
 * oci-archive: or docker-archive: From=, and the workspace (workspace_inspect()). Each problem is logged as
 * file:line; what cannot be looked at as this user is a warning. Unless quiet, says on stdout what was
 * checked. Returns 0, or -ENOENT (or another -errno) after the first error. */
int sandbox_check_references(const struct Sandbox *s, bool quiet);
