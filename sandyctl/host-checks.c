/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What verify and doctor check on this host about the files a declaration refers to: the workspace as
 * sandy-prepare will mount it, Setup=, Credential= sources and local From= images. */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "host-checks.h"
#include "log.h"
#include "mount-util.h"
#include "sandbox.h"
#include "string-util.h"

void workspace_info_done(WorkspaceInfo *w) {
        w->problem = mfree(w->problem);
        w->unchecked = mfree(w->unchecked);
        w->owner_name = mfree(w->owner_name);
}

static void fs_name(int fd, char *buf, size_t size) {
        static const struct {
                unsigned long magic;
                const char *name;
        } names[] = {
                {EXT4_SUPER_MAGIC, "ext4"},   {XFS_SUPER_MAGIC, "xfs"},        {BTRFS_SUPER_MAGIC, "btrfs"},
                {TMPFS_MAGIC, "tmpfs"},       {OVERLAYFS_SUPER_MAGIC, "overlayfs"}, {NFS_SUPER_MAGIC, "nfs"},
                {0x65735546, "fuse"},         {0x2fc12fc1, "zfs"},             {F2FS_SUPER_MAGIC, "f2fs"},
                {V9FS_MAGIC, "9p"},           {0x6a656a63, "virtiofs"},        {0xff534d42, "cifs"},
        };
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0) {
                snprintf(buf, size, "an unknown file system");
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if ((unsigned long) sfs.f_type == names[i].magic) {
                        snprintf(buf, size, "%s", names[i].name);
                        return;
                }
        snprintf(buf, size, "file system 0x%lx", (unsigned long) sfs.f_type);
}

/* Can the mount of fd be idmapped, as sandy-prepare does with the workspace? A detached clone of it gets
 * MOUNT_ATTR_IDMAP with a throwaway user namespace; it is never attached, and goes with the last fd. */
static IdmapSupport idmap_try(int fd, uid_t owner, char **ret_unchecked) {
        _cleanup_close_ int ns = -EBADF, tree = -EBADF;
        struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP};
        char map[64];

        if (geteuid() != 0) {
                *ret_unchecked = strdup("whether its file system takes idmapped mounts (that needs root)");
                return IDMAP_UNKNOWN;
        }
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned) owner);
        ns = userns_fd(map, map);
        if (ns < 0) {
                *ret_unchecked = strdupf("idmapped mounts: no user namespace for the test (%s)", strerror(-ns));
                return IDMAP_UNKNOWN;
        }
        tree = open_tree(fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0) {
                *ret_unchecked = strdupf("idmapped mounts: cannot clone the mount (%s)", strerror(errno));
                return IDMAP_UNKNOWN;
        }
        a.userns_fd = (uint64_t) ns;
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) >= 0)
                return IDMAP_YES;
        if (errno == EINVAL || errno == EOPNOTSUPP)
                return IDMAP_NO;
        *ret_unchecked = strdupf("idmapped mounts: %s", strerror(errno));
        return IDMAP_UNKNOWN;
}

static char *home_of(const char *path) {
        char *user = NULL;

        /* A whole home directory would hand the agent ~/.ssh and everything that later runs as that user;
         * sandy-prepare refuses it. */
        setpwent();
        for (struct passwd *pw; (pw = getpwent());)
                if (pw->pw_dir && streq(pw->pw_dir, path)) {
                        user = strdup(pw->pw_name);
                        break;
                }
        endpwent();
        return user;
}

int workspace_inspect(const char *path, WorkspaceInfo *w) {
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *home = NULL;
        struct passwd *pw;
        struct stat st;

        *w = (WorkspaceInfo){.idmap = IDMAP_UNKNOWN};
        /* One open without following any symlink; everything below is asked of that fd. */
        fd = (int) syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
        if (fd < 0) {
                switch (errno) {
                case ENOENT:
                        w->problem = strdup("does not exist (create it, owned by the user whose project it is)");
                        break;
                case ELOOP:
                        w->problem = strdup("is a symlink or lies below one; name the real directory");
                        break;
                case ENOTDIR:
                        w->problem = strdup("is not a directory");
                        break;
                case EACCES:
                        w->unchecked = strdup("the workspace itself (permission denied; run verify as root)");
                        return w->unchecked ? 0 : -ENOMEM;
                default:
                        w->problem = strdupf("cannot be opened: %s", strerror(errno));
                }
                return w->problem ? 0 : -ENOMEM;
        }
        if (fstat(fd, &st) < 0) {
                w->problem = strdupf("cannot be looked at: %s", strerror(errno));
                return w->problem ? 0 : -ENOMEM;
        }
        w->found = true;
        w->owner = st.st_uid;
        pw = getpwuid(st.st_uid);
        if (pw && !(w->owner_name = strdup(pw->pw_name)))
                return -ENOMEM;
        fs_name(fd, w->fs, sizeof(w->fs));
        if (st.st_uid == 0)
                w->problem = strdup("belongs to root; a workspace belongs to the user whose project it is "
                                    "(chown USER: DIR)");
        else if ((home = home_of(path)))
                w->problem = strdupf("is the home directory of %s; name a project directory below it", home);
        else {
                w->idmap = idmap_try(fd, st.st_uid, &w->unchecked);
                if (w->idmap == IDMAP_UNKNOWN && !w->unchecked)
                        return -ENOMEM;
                if (w->idmap != IDMAP_NO)
                        return 0;
                w->problem = strdupf(
                                "is on %s, which does not take idmapped mounts (ext4, xfs and btrfs do; "
                                "tmpfs from Linux 6.3)",
                                w->fs);
        }
        return w->problem ? 0 : -ENOMEM;
}

char *workspace_summary(const WorkspaceInfo *w) {
        return strdupf("a directory of %s (UID %u) on %s; %s", w->owner_name ?: "an unnamed user",
                       (unsigned) w->owner, w->fs,
                       w->idmap == IDMAP_YES ? "idmapped mounts work" : "idmapped mounts not tested (needs root)");
}

/* A file the declaration names: an error when it is missing or of the wrong type, a warning when it cannot
 * be looked at. 1 when it is there, 0 when it was not looked at, -errno (logged) otherwise. */
static int check_file(Location loc, const char *key, const char *path, bool dir) {
        struct stat st;

        if (stat(path, &st) < 0) {
                if (errno == EACCES) {
                        log_syntax(loc.file, loc.line, LOG_WARNING, 0, "%s %s not checked: %m (run verify as root).",
                                   key, path);
                        return 0;
                }
                return log_syntax(loc.file, loc.line, LOG_ERR, errno, "%s %s: %m.", key, path);
        }
        if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
                return log_syntax(loc.file, loc.line, LOG_ERR, dir ? ENOTDIR : EISDIR, "%s %s is not a %s.", key,
                                  path, dir ? "directory" : "regular file");
        return 1;
}

static int check_from(const Sandbox *s, char **ret_path) {
        const char *rest;
        bool dir = s->from_type == IMAGE_SOURCE_OCI;

        *ret_path = NULL;
        if (!IN_SET(s->from_type, IMAGE_SOURCE_OCI, IMAGE_SOURCE_OCI_ARCHIVE, IMAGE_SOURCE_DOCKER_ARCHIVE))
                return 0;
        /* PATH[:REF]: a path has no ':' (see the key's parser), so the first one starts REF. */
        rest = s->from + strlen(image_source_type_to_string(s->from_type));
        *ret_path = strndup(rest, strcspn(rest, ":"));
        if (!*ret_path)
                return log_oom();
        return check_file(s->loc_from, "From=", *ret_path, dir);
}

static int check_workspace(const Sandbox *s, bool quiet, const char *label) {
        _cleanup_(workspace_info_done) WorkspaceInfo w = {};
        _cleanup_free_ char *summary = NULL;
        int r;

        if (!s->workspace)
                return 0;
        r = workspace_inspect(s->workspace, &w);
        if (r < 0)
                return log_oom();
        if (w.problem)
                return log_syntax(s->loc_workspace.file, s->loc_workspace.line, LOG_ERR, EINVAL, "Workspace= %s %s.",
                                  s->workspace, w.problem);
        if (w.unchecked)
                log_syntax(s->loc_workspace.file, s->loc_workspace.line, LOG_WARNING, 0,
                           "Workspace= %s: not checked: %s.", s->workspace, w.unchecked);
        if (!w.found)
                return 0;
        summary = workspace_summary(&w);
        if (!summary)
                return log_oom();
        if (!quiet)
                printf("%s: Workspace= %s is %s.\n", label, s->workspace, summary);
        return 0;
}

int sandbox_check_references(const Sandbox *s, bool quiet) {
        _cleanup_free_ char *from = NULL;
        const char *label = s->files[0];
        int r, ret = 0;

        r = check_workspace(s, quiet, label);
        if (r < 0)
                ret = r;
        if (s->setup) {
                r = check_file(s->loc_setup, "Setup=", s->setup, false);
                if (r < 0 && ret == 0)
                        ret = r;
                if (r > 0 && !quiet)
                        printf("%s: Setup= %s exists.\n", label, s->setup);
        }
        for (size_t i = 0; i < s->n_credentials; i++) {
                const Credential *c = &s->credentials[i];

                r = check_file(c->loc, "Credential=", c->path, false);
                if (r < 0 && ret == 0)
                        ret = r;
                if (r > 0 && !quiet)
                        printf("%s: Credential= %s:%s exists.\n", label, c->id, c->path);
        }
        r = check_from(s, &from);
        if (r < 0 && ret == 0)
                ret = r;
        if (r > 0 && !quiet)
                printf("%s: From= %s exists.\n", label, from);
        return ret;
}
