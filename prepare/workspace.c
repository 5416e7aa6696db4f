/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The workspace: opened once, checked on that fd, mounted from that fd, idmapped so that its owner on the
 * host is the sandbox user inside and nobody else has a name there. */
#include <fcntl.h>
#include <linux/magic.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "idmap.h"
#include "log.h"
#include "mount-util.h"
#include "prepare.h"
#include "string-util.h"

/* Kernel and pseudo file systems: no project lives there, and a bind of them would hand the agent the
 * host's kernel interfaces. */
static bool fs_type_refused(long type) {
        static const long refused[] = {PROC_SUPER_MAGIC, SYSFS_MAGIC,    CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC,
                                       DEVPTS_SUPER_MAGIC, BPF_FS_MAGIC, SECURITYFS_MAGIC,    DEBUGFS_MAGIC,
                                       TRACEFS_MAGIC,     NSFS_MAGIC,    SELINUX_MAGIC,       EFIVARFS_MAGIC};
        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                if (type == refused[i])
                        return true;
        return false;
}

int workspace_open(const Sandbox *s) {
        _cleanup_close_ int fd = -EBADF;
        struct statfs sfs;
        struct stat st;

        if (!s->workspace)
                return -EBADF;
        /* Once, from "/", no symlink in any component: whoever owns a parent directory cannot swap it for
         * a symlink between this check and the mount, which is made from this very fd. */
        fd = open_no_symlinks(s->workspace, O_PATH | O_DIRECTORY);
        if (fd == -ELOOP)
                return log_error_errno(fd, "Workspace %s of sandbox %s is, or lies below, a symlink; name the real "
                                           "directory.",
                                       s->workspace, s->name);
        if (fd == -ENOTDIR)
                return log_error_errno(fd, "Workspace %s of sandbox %s is not a directory.", s->workspace, s->name);
        if (fd < 0)
                return log_error_errno(fd, "Workspace %s of sandbox %s: %m", s->workspace, s->name);
        if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
                return log_error_errno(errno, "Failed to look at workspace %s: %m", s->workspace);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "Workspace %s of sandbox %s is not a directory.", s->workspace,
                                       s->name);
        if (st.st_uid == 0)
                return log_error_errno(EPERM, "Workspace %s of sandbox %s is owned by root: what the agent writes "
                                              "there would belong to root on the host. Give it to the user the "
                                              "agent works for.",
                                       s->workspace, s->name);
        if (fs_type_refused((long) sfs.f_type))
                return log_error_errno(EPERM, "Workspace %s of sandbox %s is on a kernel file system.", s->workspace,
                                       s->name);
        /* A whole home directory would hand the agent ~/.ssh, ~/.config and everything else that runs as
         * that user later; a workspace is a project below it. Compared by inode too: a home directory
         * reached under another name is the same directory. */
        setpwent();
        for (struct passwd *pw; (pw = getpwent());) {
                struct stat hst;
                bool same = pw->pw_dir && streq(pw->pw_dir, s->workspace);

                if (!same && pw->pw_dir && pw->pw_dir[0] == '/' && stat(pw->pw_dir, &hst) == 0)
                        same = hst.st_dev == st.st_dev && hst.st_ino == st.st_ino;
                if (same) {
                        _cleanup_free_ char *user = strdup(pw->pw_name);
                        endpwent();
                        return log_error_errno(EPERM, "Workspace %s of sandbox %s is the home directory of %s; "
                                                      "name a project directory below it.",
                                               s->workspace, s->name, user ?: "a user");
                }
        }
        endpwent();
        return TAKE_FD(fd);
}

int workspace_mount(const Sandbox *s, int wsfd, uid_t base, uid_t user_uid, gid_t user_gid, char **settings) {
        _cleanup_free_ char *ws = NULL, *umap = NULL, *gmap = NULL;
        _cleanup_close_ int wsns = -EBADF;
        struct passwd *pw;
        struct stat st;
        int r;

        ws = sandbox_runtime_path(s->name, "workspace");
        if (!ws)
                return log_oom();
        if (fstat(wsfd, &st) < 0)
                return log_error_errno(errno, "Failed to look at workspace %s: %m", s->workspace);
        /* The owner's UID and primary GID become the sandbox user's, nothing else is mapped (idmap.c). */
        pw = getpwuid(st.st_uid);
        if (!pw)
                return log_error_errno(ESRCH, "The owner (UID %u) of workspace %s of sandbox %s is no user of this "
                                              "host.",
                                       (unsigned) st.st_uid, s->workspace, s->name);
        if (pw->pw_gid == 0)
                return log_error_errno(EPERM, "The owner %s of workspace %s of sandbox %s has group root as primary "
                                              "group.",
                                       pw->pw_name, s->workspace, s->name);
        r = workspace_id_maps(st.st_uid, pw->pw_gid, base, user_uid, user_gid, &umap, &gmap);
        if (r < 0)
                return log_error_errno(r, "Cannot map workspace %s of sandbox %s to user %u:%u: %m", s->workspace,
                                       s->name, (unsigned) user_uid, (unsigned) user_gid);
        wsns = userns_fd(umap, gmap);
        if (wsns < 0)
                return log_error_errno(wsns, "Failed to create a user namespace for the workspace: %m");
        r = make_dir(ws, 0755, 0, 0);
        if (r < 0)
                return r;
        r = clone_mount(wsfd, "", AT_EMPTY_PATH, MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, wsns, ws);
        if (r < 0)
                return log_error_errno(r, "Failed to mount workspace %s idmapped at %s: %m", s->workspace, ws);
        r = protect_paths_apply(s, wsfd, ws);
        if (r < 0)
                return r;
        if (strextendf(settings, "Bind=%s:/home/%s/workspace\n", ws, s->user) < 0)
                return log_oom();
        return 0;
}
