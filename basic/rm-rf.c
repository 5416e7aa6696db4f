/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "rm-rf.h"

/* Below dfd (whose device is dev): everything, depth first. */
static int rm_children(int dfd, dev_t dev) {
        DIR *d = opendir_dup(dfd);
        int r = 0;

        if (!d)
                return -errno;
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                struct stat st;
                int k = 0;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = -EBADF;
                        struct stat sst;

                        if (st.st_dev != dev) {
                                if (r == 0)
                                        r = -EXDEV;
                                continue;
                        }
                        /* O_NOFOLLOW: if it was swapped for a symlink since fstatat(), this fails (ELOOP or
                         * ENOTDIR) instead of walking somewhere else. */
                        sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0 || fstat(sub, &sst) < 0)
                                k = errno == ENOENT ? 0 : -errno;
                        else if (sst.st_dev != dev)
                                k = -EXDEV;
                        else
                                k = rm_children(sub, dev);
                        if (k >= 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                                k = -errno;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
                        k = -errno;
                if (k < 0 && r == 0)
                        r = k;
        }
        if (errno != 0 && r == 0)
                r = -errno;
        closedir(d);
        return r;
}

int rm_rf_children(int dfd) {
        struct stat st;

        if (fstat(dfd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        return rm_children(dfd, st.st_dev);
}

int rm_rf_at(int dfd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st, parent;
        int r;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* ".." of the opened directory is its real parent, whatever dfd and name were. */
        if (fstat(fd, &st) < 0 || fstatat(fd, "..", &parent, 0) < 0)
                return -errno;
        /* A mount point: never descend into another file system. */
        if (st.st_dev != parent.st_dev)
                return -EXDEV;
        r = rm_children(fd, st.st_dev);
        if (r < 0)
                return r;
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int rm_rf(const char *path) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF;
        const char *slash;

        if (!path || path[0] != '/')
                return -EINVAL;
        slash = strrchr(path, '/');
        if (!slash[1] || streq(slash + 1, ".") || streq(slash + 1, ".."))
                return -EINVAL;
        dir = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!dir)
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        return rm_rf_at(dfd, slash + 1);
}
