/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IP forwarding for sandbox traffic. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "string-util.h"

static int write_string(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                return -errno;
        return 0;
}

/* Set a sysctl to "1" unless it already is: in a container /proc/sys may be read-only, and then a host
 * that forwards already must not fail here. */
static int sysctl_enable(const char *path) {
        _cleanup_free_ char *v = NULL;
        if (read_full_file(path, 64, &v, NULL) >= 0 && startswith(v, "1"))
                return 0;
        return write_string(path, "1");
}

int net_forwarding_enable(bool ipv6) {
        int r = sysctl_enable("/proc/sys/net/ipv4/ip_forward");
        if (r < 0)
                return log_error_errno(r, "Failed to enable IPv4 forwarding: %m");
        if (ipv6) {
                /* Without it only IPv6 connectivity is lost, not filtering: go on. */
                r = sysctl_enable("/proc/sys/net/ipv6/conf/all/forwarding");
                if (r < 0)
                        log_warning_errno(r, "Failed to enable IPv6 forwarding, sandboxes get no IPv6 out: %m");
        }
        return 0;
}
