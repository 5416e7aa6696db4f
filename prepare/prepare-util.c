/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "prepare.h"

int make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid) {
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
                return log_error_errno(errno, "Failed to set ownership of %s: %m", path);
        return 0;
}
