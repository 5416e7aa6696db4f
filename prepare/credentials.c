/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Credential=: copies for the sandbox user, bound read-only into the sandbox. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-parser.h"
#include "fs-util.h"
#include "log.h"
#include "paths.h"
#include "prepare.h"
#include "string-util.h"

/* systemd's own limit for a credential. */
#define CREDENTIAL_SIZE_MAX (1024 * 1024)

/* In the child of read_as_user(), as the owner: no symlink is followed anywhere on the path, and the file
 * must be a regular one that belongs to the owner. */
static int open_owned(const char *path, uid_t owner) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open_no_symlinks(path, O_RDONLY | O_NONBLOCK);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != owner)
                return -EPERM;
        return TAKE_FD(fd);
}

/* The owner's own file, opened by a child that IS the owner (UID, GID, groups): the kernel's permission
 * checks are the owner's. -EPERM (-ELOOP: a symlink on the path) when that is not the case. */
static int read_as_owner(const char *path, uid_t owner, char **ret, size_t *ret_size) {
        int r = read_as_user(path, owner, open_owned, CREDENTIAL_SIZE_MAX, 0, ret, ret_size);
        return r >= 0 || IN_SET(r, -ELOOP, -ENOMEM, -ESRCH) ? r : -EPERM;
}

/* Anybody else's file (root's, a service user's): opened as sudo opens sudoers (open_trusted()): it, every
 * directory from "/" down and every symlink on the way must be root's and writable by nobody else, so no
 * user can swap any part of the path, and the walk holds an fd at each step. */
static int read_as_root(const char *path, char **ret, size_t *ret_size, char **ret_problem) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = open_trusted(path, 0, UID_INVALID, &fd, ret_problem);
        if (r < 0)
                return r;
        r = read_full_fd(fd, CREDENTIAL_SIZE_MAX, ret, ret_size);
        return r == -EISDIR ? -EBADFD : r;
}

static int credential_read(const Sandbox *s, const Credential *c, char **ret, size_t *ret_size) {
        _cleanup_free_ char *problem = NULL;
        uid_t owner = 0;
        int r;

        (void) sandbox_owner_uid(s, &owner);
        if (owner != 0) {
                r = read_as_owner(c->path, owner, ret, ret_size);
                if (r >= 0 || r == -ENOMEM)
                        return r;
                log_debug_errno(r, "Credential %s: %s is not a file of the sandbox's owner that they can read: %m",
                                c->id, c->path);
        }
        r = read_as_root(c->path, ret, ret_size, &problem);
        if (r == -EPERM)
                return log_error_errno(r, "Credential %s of sandbox %s: %s is neither the sandbox owner's own file "
                                          "(read as them, no symlinks) nor a file only root can change (%s).",
                                       c->id, s->name, c->path, problem ?: "it is not root's");
        if (r == -ELOOP)
                return log_error_errno(r, "Credential %s of sandbox %s: %s is a symlink or lies below one.", c->id,
                                       s->name, c->path);
        if (r == -EBADFD)
                return log_error_errno(r, "Credential %s of sandbox %s: %s is not a regular file.", c->id, s->name,
                                       c->path);
        if (r < 0)
                return log_error_errno(r, "Failed to read credential %s from %s: %m", c->id, c->path);
        return 0;
}

/* nspawn's --load-credential makes them system credentials, which only the sandbox's root can read. The
 * agent runs as the sandbox user, so each one is also copied into SANDY_RUNTIME_DIR/NAME/credentials (host /run
 * is a tmpfs: never on disk), owned by that user with mode 0400 in a 0500 directory, and bound read-only
 * at SANDY_CREDENTIALS_INSIDE/ID. Other users inside cannot read them; nothing lands in the environment. */
int credentials_install(const Sandbox *s, uid_t uid, gid_t gid, char **settings) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (s->n_credentials == 0)
                return 0;
        if (!(dir = sandbox_runtime_path(s->name, "credentials")))
                return log_oom();
        r = make_dir(dir, 0700, 0, 0);
        if (r < 0)
                return r;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", dir);
        for (size_t i = 0; i < s->n_credentials; i++) {
                _cleanup_free_ char *data = NULL;
                _cleanup_close_ int fd = -EBADF;
                size_t size = 0;

                r = credential_read(s, &s->credentials[i], &data, &size);
                if (r < 0)
                        return r;
                (void) unlinkat(dfd, s->credentials[i].id, 0);
                fd = openat(dfd, s->credentials[i].id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
                if (fd < 0 || write(fd, data, size) != (ssize_t) size || fchown(fd, uid, gid) < 0)
                        r = log_error_errno(errno, "Failed to write credential %s: %m", s->credentials[i].id);
                explicit_bzero(data, size);
                if (r < 0)
                        return r;
        }
        if (fchown(dfd, uid, gid) < 0 || fchmod(dfd, 0500) < 0)
                return log_error_errno(errno, "Failed to set ownership of %s: %m", dir);
        if (strextendf(settings, "BindReadOnly=%s:" SANDY_CREDENTIALS_INSIDE "\n", dir) < 0)
                return log_oom();
        return 0;
}

int credentials_remove(const char *name) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF;
        DIR *d;
        struct dirent *de;

        if (!(dir = sandbox_runtime_path(name, "credentials")))
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(TAKE_FD(dfd));
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        return rmdir(dir) < 0 ? -errno : 0;
}
