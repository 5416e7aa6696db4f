/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>

#include "mount-util.h"
#include "process-util.h"
#include "string-util.h"

/* A user namespace with the given maps ("INSIDE OUTSIDE COUNT\n"...), as an fd for MOUNT_ATTR_IDMAP. */
int userns_fd(const char *uid_map, const char *gid_map) {
        int sync_pipe[2], hold_pipe[2];
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        pid_t pid;
        char c;
        int r = 0;

        if (pipe2(sync_pipe, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(hold_pipe, O_CLOEXEC) < 0) {
                r = -errno;
                safe_close(sync_pipe[0]);
                safe_close(sync_pipe[1]);
                return r;
        }
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto finish;
        }
        if (pid == 0) {
                /* The child only holds the namespace open until the parent has an fd for it. */
                close(sync_pipe[0]);
                close(hold_pipe[1]);
                c = unshare(CLONE_NEWUSER) < 0 ? 'e' : 'k';
                (void) !write(sync_pipe[1], &c, 1);
                (void) !read(hold_pipe[0], &c, 1);
                _exit(0);
        }
        close(sync_pipe[1]);
        sync_pipe[1] = -EBADF;
        close(hold_pipe[0]);
        hold_pipe[0] = -EBADF;
        if (read(sync_pipe[0], &c, 1) != 1 || c != 'k') {
                r = -EPERM;
                goto kill;
        }
        const char *files[] = {"uid_map", gid_map ? "gid_map" : NULL};
        const char *maps[] = {uid_map, gid_map};
        for (size_t i = 0; i < ELEMENTSOF(files) && files[i]; i++) {
                _cleanup_close_ int mfd = -EBADF;
                p = mfree(p);
                if (xasprintf(&p, "/proc/%d/%s", (int) pid, files[i]) < 0) {
                        r = -ENOMEM;
                        goto kill;
                }
                mfd = open(p, O_WRONLY | O_CLOEXEC);
                if (mfd < 0 || write(mfd, maps[i], strlen(maps[i])) != (ssize_t) strlen(maps[i])) {
                        r = -errno;
                        goto kill;
                }
        }
        p = mfree(p);
        if (xasprintf(&p, "/proc/%d/ns/user", (int) pid) < 0) {
                r = -ENOMEM;
                goto kill;
        }
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                r = -errno;
kill:
        close(hold_pipe[1]);
        hold_pipe[1] = -EBADF;
        (void) wait_for_pid(pid, NULL);
finish:
        safe_close(sync_pipe[0]);
        safe_close(sync_pipe[1]);
        safe_close(hold_pipe[0]);
        safe_close(hold_pipe[1]);
        return r < 0 ? r : TAKE_FD(fd);
}

/* Clone the mount at (dfd, path) (AT_EMPTY_PATH with path ""), set attributes, attach it at target. */
int clone_mount(int dfd, const char *path, unsigned open_flags, uint64_t attr_set, int ns_fd,
                       const char *target) {
        _cleanup_close_ int fd = -EBADF;
        struct mount_attr a = {.attr_set = attr_set, .userns_fd = (uint64_t) (ns_fd >= 0 ? ns_fd : 0)};

        fd = open_tree(dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | open_flags);
        if (fd < 0)
                return -errno;
        if (attr_set && mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
                return -errno;
        if (move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return -errno;
        /* A clone of a shared mount joins its peer group: the read-only mounts put on the workspace copy
         * would show up on the host's own workspace too. */
        if (mount(NULL, target, NULL, MS_PRIVATE, NULL) < 0)
                return -errno;
        return 0;
}

