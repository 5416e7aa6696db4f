/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs-util.h"
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

int state_dir_make(const char *name, const char *sub, char **ret) {
        _cleanup_free_ char *state = sandbox_state_path(name, NULL), *p = NULL;
        int r;

        if (!state || (sub && !(p = sandbox_state_path(name, sub))))
                return log_oom();
        r = mkdir_p(SANDY_SANDBOX_STATE_DIR, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_SANDBOX_STATE_DIR);
        r = make_dir(state, 0700, 0, 0);
        if (r >= 0 && p)
                r = make_dir(p, 0700, 0, 0);
        if (r < 0)
                return r;
        if (ret)
                *ret = TAKE_PTR(p) ?: TAKE_PTR(state);
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

/* An errno as a child's exit status: 1-125, clear of the shell's 128+N for "killed by signal N". */
static _noreturn_ void exit_errno(int r) {
        _exit(r == 0 ? 0 : -r > 0 && -r <= 125 ? -r : EIO);
}

int read_as_user(const char *path, uid_t uid, UserOpenFn open_fn, size_t max, ReadFullFlags flags,
                 char **ret, size_t *ret_size) {
        struct passwd *pw = getpwuid(uid);
        _cleanup_close_ int rfd = -EBADF;
        int pfd[2], r, st;
        size_t n = 0;
        pid_t pid;

        if (!pw)
                return -ESRCH;
        pid = fork_with_pipe(pfd);
        if (pid < 0)
                return pid;
        if (pid == 0) {
                _cleanup_close_ int fd = -EBADF;

                safe_close(pfd[0]);
                if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
                    setresuid(uid, uid, uid) < 0)
                        _exit(EPERM);
                fd = open_fn(path, uid);
                exit_errno(fd < 0 ? fd : copy_bytes(fd, pfd[1]));
        }
        safe_close(pfd[1]);
        rfd = pfd[0];
        r = read_full_fd_full(rfd, max, flags | READ_FULL_ANY_TYPE, ret, &n);
        /* Closed before the wait: a child still writing (more than max) gets EPIPE, not a reader forever. */
        rfd = safe_close(rfd);
        st = wait_for_terminate_and_check(NULL, pid);
        if (r >= 0 && st != 0) {
                explicit_bzero(*ret, n);
                *ret = mfree(*ret);
                /* The child's errno, or how it died. */
                return st > 0 && st <= 125 ? -st : st < 0 ? st : -EPROTO;
        }
        if (r >= 0 && ret_size)
                *ret_size = n;
        return r;
}

static int open_following(const char *path, uid_t uid) {
        /* The user's own view, permissions and symlinks included: never more than they may read. */
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int read_file_as_user(const char *path, uid_t uid, size_t max, char **ret) {
        if (uid == 0)
                return -ESRCH;
        return read_as_user(path, uid, open_following, max, READ_FULL_TRUNCATE, ret, NULL);
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
