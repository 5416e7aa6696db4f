/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workspace: checked, then mounted idmapped so that its owner on the host is the sandbox user inside. */
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "log.h"
#include "mount-util.h"
#include "prepare.h"
#include "string-util.h"

int workspace_check(const Sandbox *s) {
        _cleanup_free_ char *resolved = NULL;
        struct stat st;

        if (!s->workspace)
                return 0;
        if (lstat(s->workspace, &st) < 0)
                return log_error_errno(errno, "Workspace %s of sandbox %s: %m", s->workspace, s->name);
        if (S_ISLNK(st.st_mode))
                return log_error_errno(ELOOP, "Workspace %s of sandbox %s is a symlink; name the real directory.",
                                       s->workspace, s->name);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "Workspace %s of sandbox %s is not a directory.", s->workspace,
                                       s->name);
        /* A symlink further up would let whoever owns it point the bind mount elsewhere. */
        resolved = realpath(s->workspace, NULL);
        if (!resolved)
                return log_error_errno(errno, "Failed to resolve workspace %s: %m", s->workspace);
        if (!streq(resolved, s->workspace))
                return log_error_errno(ELOOP, "Workspace %s of sandbox %s resolves to %s through a symlink; name "
                                              "the real directory.",
                                       s->workspace, s->name, resolved);
        /* A whole home directory would hand the agent ~/.ssh, ~/.config and everything else that runs as
         * that user later; a workspace is a project below it. */
        setpwent();
        for (struct passwd *pw; (pw = getpwent());)
                if (pw->pw_dir && streq(pw->pw_dir, s->workspace)) {
                        _cleanup_free_ char *user = strdup(pw->pw_name);
                        endpwent();
                        return log_error_errno(EPERM, "Workspace %s of sandbox %s is the home directory of %s; "
                                                      "name a project directory below it.",
                                               s->workspace, s->name, user ?: "a user");
                }
        endpwent();
        return 0;
}

/* On-disk GID -> host GID seen by the sandbox: 0..65535 to base+0..65535, but on-disk `owner` shows as the
 * sandbox user's group `user` and (if below 65536) on-disk `user` takes `owner`'s place. */
static char *workspace_gid_map(gid_t owner, gid_t user, uid_t base) {
        _cleanup_free_ char *m = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&m, &size);
        gid_t lo, hi;

        if (!f)
                return NULL;
        if (owner == user)
                fprintf(f, "0 %u %u\n", base, SANDY_UID_RANGE);
        else {
                fprintf(f, "%u %u 1\n", owner, base + user);
                if (owner < SANDY_UID_RANGE)
                        fprintf(f, "%u %u 1\n", user, base + owner);
                lo = owner < SANDY_UID_RANGE && owner < user ? owner : user;
                hi = owner < SANDY_UID_RANGE && owner > user ? owner : user;
                if (lo == hi) /* owner is above the range: only `user` is left out of the identity */
                        hi = SANDY_UID_RANGE;
                /* Identity everywhere else: [0, lo), (lo, hi), (hi, 65536). */
                if (lo > 0)
                        fprintf(f, "0 %u %u\n", base, lo);
                if (hi > lo + 1)
                        fprintf(f, "%u %u %u\n", lo + 1, base + lo + 1, hi - lo - 1);
                if (hi + 1 < SANDY_UID_RANGE)
                        fprintf(f, "%u %u %u\n", hi + 1, base + hi + 1, SANDY_UID_RANGE - hi - 1);
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(m);
}


int workspace_mount(const Sandbox *s, uid_t base, uid_t user_uid, gid_t user_gid, char **settings) {
        _cleanup_free_ char *ws = NULL, *umap = NULL, *gmap = NULL;
        _cleanup_close_ int wsns = -EBADF, wsfd = -EBADF;
        struct stat st;
        gid_t g;
        int r;

        ws = sandbox_runtime_path(s->name, "workspace");
        if (!ws)
                return log_oom();
        wsfd = open(s->workspace, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wsfd < 0 || fstat(wsfd, &st) < 0)
                return log_error_errno(errno, "Failed to open workspace %s: %m", s->workspace);
        if (st.st_uid == 0)
                return log_error_errno(EPERM, "Workspace %s of sandbox %s is owned by root: what the agent writes "
                                              "there would belong to root on the host. Give it to the user the "
                                              "agent works for.",
                                       s->workspace, s->name);
        /* Only the owner's UID is mapped: on-disk owner -> the sandbox user (base + its UID). Files of anybody
         * else show up as nobody inside, and the sandbox's root cannot create files there at all. GIDs are
         * mapped one to one, except that the owner's group and the sandbox user's group trade places: the
         * kernel refuses writes to inodes with an unmapped GID, and a project often has files of other
         * groups. The group is the directory's, unless that is root's (a directory made by root and only
         * chowned): then the owner's primary group, so that nothing the agent makes belongs to group root on
         * the host. */
        g = st.st_gid;
        if (g == 0) {
                struct passwd *pw = getpwuid(st.st_uid);
                g = pw ? pw->pw_gid : 0;
        }
        if (g == 0)
                return log_error_errno(EPERM, "Workspace %s of sandbox %s belongs to group root, and its owner has "
                                              "no other group.",
                                       s->workspace, s->name);
        if (xasprintf(&umap, "%u %u 1\n", st.st_uid, base + user_uid) < 0)
                return log_oom();
        gmap = workspace_gid_map(g, user_gid, base);
        if (!gmap)
                return log_oom();
        wsns = userns_fd(umap, gmap);
        if (wsns < 0)
                return log_error_errno(wsns, "Failed to create a user namespace for the workspace: %m");
        r = make_dir(ws, 0755, 0, 0);
        if (r < 0)
                return r;
        r = clone_mount(wsfd, "", AT_EMPTY_PATH, MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, wsns, ws);
        if (r < 0)
                return log_error_errno(r, "Failed to mount workspace %s idmapped at %s: %m", s->workspace, ws);
        r = protect_paths_apply(s, ws);
        if (r < 0)
                return r;
        if (strextendf(settings, "Bind=%s:/home/%s/workspace\n", ws, s->user) < 0)
                return log_oom();
        return 0;
}
