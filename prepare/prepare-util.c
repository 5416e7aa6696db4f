/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "process-util.h"
#include "prepare.h"

int make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid) {
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
                return log_error_errno(errno, "Failed to set ownership of %s: %m", path);
        return 0;
}

int openat_no_symlinks(int dirfd, const char *path, int flags, mode_t mode) {
        /* openat2() refuses O_PATH with anything but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC. */
        struct open_how how = {.flags = (uint64_t) flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY),
                               .mode = flags & O_CREAT ? mode : 0,
                               .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
        int fd;

        fd = (int) syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

int open_no_symlinks(const char *path, int flags) {
        _cleanup_close_ int root = -EBADF;

        if (!path || path[0] != '/')
                return -EINVAL;
        /* From "/" itself, so that even the first component is looked up with the same rules. */
        root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        return openat_no_symlinks(root, path[1] ? path + 1 : ".", flags, 0);
}

int read_file_as_user(const char *path, uid_t uid, size_t max, char **ret) {
        struct passwd *pw = getpwuid(uid);
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int rfd = -EBADF;
        size_t n = 0;
        int pfd[2], r = 0;
        pid_t pid;

        if (!pw || uid == 0)
                return -ESRCH;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(pfd[0]);
                safe_close(pfd[1]);
                return r;
        }
        if (pid == 0) {
                char b[4096];
                int fd;

                /* The user's own view, permissions and symlinks included: never more than they may read. */
                safe_close(pfd[0]);
                if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        _exit(2);
                fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                if (fd < 0)
                        _exit(3);
                for (ssize_t k; (k = read(fd, b, sizeof b)) > 0;)
                        if (write(pfd[1], b, (size_t) k) != k)
                                _exit(4);
                _exit(0);
        }
        safe_close(pfd[1]);
        rfd = pfd[0];
        buf = malloc(max + 1);
        if (!buf)
                r = -ENOMEM;
        while (r == 0) {
                ssize_t k = read(rfd, buf + n, max - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        r = -errno;
                else if (k == 0)
                        break;
                else if ((n += (size_t) k) >= max)
                        break;
        }
        rfd = safe_close(rfd);
        if (wait_for_terminate_and_check(NULL, pid) != 0 && r == 0)
                r = -ENOENT;
        if (r < 0)
                return r;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int root_open_etc(const Sandbox *s, const char *root) {
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
        _cleanup_close_ int rfd = -EBADF;
        int fd;

        rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", root);
        /* The image's symlinks resolve inside its root, never to the host's. */
        fd = (int) syscall(SYS_openat2, rfd, "etc", &how, sizeof how);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open /etc in the root of %s: %m", s->name);
        return fd;
}
