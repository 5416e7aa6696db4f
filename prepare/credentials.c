/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Credential=: copies for the sandbox user, bound read-only into the sandbox. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "log.h"
#include "paths.h"
#include "prepare.h"
#include "string-util.h"

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
                size_t size;

                /* systemd's own limit for a credential. */
                r = read_full_file(s->credentials[i].path, 1024 * 1024, &data, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read credential %s from %s: %m", s->credentials[i].id,
                                               s->credentials[i].path);
                (void) unlinkat(dfd, s->credentials[i].id, 0);
                fd = openat(dfd, s->credentials[i].id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
                if (fd < 0 || write(fd, data, size) != (ssize_t) size || fchown(fd, uid, gid) < 0)
                        return log_error_errno(errno, "Failed to write credential %s: %m", s->credentials[i].id);
                explicit_bzero(data, size);
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

