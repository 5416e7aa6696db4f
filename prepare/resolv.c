/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "prepare.h"
#include "string-util.h"

/* Mode=lenient and strict: nspawn binds sandy-net@'s resolv.conf (the sandbox's own resolver) read-only
 * onto /etc/resolv.conf. nspawn follows a symlink there inside the root, and the image's is often one
 * (to a stub resolver's file in /run, which that resolver would then find mounted over, or anywhere the
 * image likes); with none nspawn makes the mount point as host root. So the mount point becomes a plain
 * file of the sandbox's root in the overlay's upper layer, looked up inside the root (the image is
 * untrusted); the image itself is never written. */
int resolv_conf_setup(const Sandbox *s, const char *root, uid_t base, char **settings) {
        _cleanup_close_ int etcfd = -EBADF, fd = -EBADF;
        struct stat st;
        int r;

        if (!IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT))
                return 0;
        etcfd = root_open_etc(s, root);
        if (etcfd < 0)
                return etcfd;
        r = fstatat(etcfd, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to look at /etc/resolv.conf of %s: %m", s->name);
        if (r < 0 || !S_ISREG(st.st_mode)) {
                if (r == 0 && S_ISDIR(st.st_mode))
                        return log_error_errno(EISDIR, "/etc/resolv.conf in the image of %s is a directory.",
                                               s->name);
                if (r == 0 && unlinkat(etcfd, "resolv.conf", 0) < 0)
                        return log_error_errno(errno, "Failed to remove /etc/resolv.conf of %s: %m", s->name);
                fd = openat(etcfd, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0 || fchown(fd, base, base) < 0)
                        return log_error_errno(errno, "Failed to create /etc/resolv.conf of %s: %m", s->name);
        }
        if (strextendf(settings, "BindReadOnly=" SANDY_NET_DIR "/%s/resolv.conf:/etc/resolv.conf\n", s->name) < 0)
                return log_oom();
        return 0;
}

