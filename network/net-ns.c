/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network namespaces of sandboxes. sandy-helper creates one per sandbox and keeps its fd while the sandbox
 * runs; it makes no mount for it. sandy-netctl (ExecStart= of sandy-net@NAME, in the host's mount namespace)
 * gets a copy of the fd from SetupNetwork and pins it at SANDY_NETNS_DIR/NAME, where systemd finds it for
 * NetworkNamespacePath=. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "string-util.h"
#include "strv.h"

/* ---- entering and leaving */

/* Our own namespace, opened once: the one every netns_leave() returns to. */
static int home_netns_fd(void) {
        static int fd = -EBADF;
        if (fd < 0) {
                fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
        }
        return fd;
}

int netns_enter(int netns_fd) {
        int home = home_netns_fd();
        if (home < 0)
                return home;
        return RET_NERRNO(setns(netns_fd, CLONE_NEWNET));
}

void netns_leave(void) {
        int home = home_netns_fd();
        /* Going on in a sandbox's namespace would apply the host's rules there: never. */
        if (home < 0 || setns(home, CLONE_NEWNET) < 0) {
                log_full_errno(LOG_EMERG, errno, "Cannot return to the host's network namespace: %m");
                abort();
        }
}

int netns_check_fd(int fd) {
        int t = ioctl(fd, NS_GET_NSTYPE);
        if (t < 0)
                return -errno;
        return t == CLONE_NEWNET ? 0 : -EBADF;
}

int netns_new(int *ret) {
        int home = home_netns_fd(), fd, r = 0;

        if (home < 0)
                return log_error_errno(home, "Cannot open our network namespace: %m");
        /* This thread only, and straight back: cheaper than a child process, and a namespace that belongs
         * to the initial user namespace (the sandbox's root gets no CAP_NET_ADMIN over it). */
        if (unshare(CLONE_NEWNET) < 0)
                return log_error_errno(errno, "Failed to create a network namespace: %m");
        fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                r = -errno;
        netns_leave();
        if (r < 0)
                return log_error_errno(r, "Failed to open the new network namespace: %m");
        *ret = fd;
        return 0;
}

/* ---- the namespaces this process holds, by sandbox */

typedef struct Held {
        char *name;
        int fd;
} Held;

static Held *held;
static size_t n_held;

static Held *held_find(const char *name) {
        for (size_t i = 0; i < n_held; i++)
                if (streq(held[i].name, name))
                        return &held[i];
        return NULL;
}

int netns_hold(const char *name, int fd) {
        Held *h = held_find(name);
        if (h) {
                safe_close(h->fd);
                h->fd = fd;
                return 0;
        }
        Held *n = realloc(held, sizeof(Held) * (n_held + 1));
        if (!n)
                return -ENOMEM;
        held = n;
        held[n_held] = (Held){.name = strdup(name), .fd = fd};
        if (!held[n_held].name)
                return -ENOMEM;
        n_held++;
        return 0;
}

void netns_release(const char *name) {
        Held *h = held_find(name);
        if (!h)
                return;
        safe_close(h->fd);
        free(h->name);
        *h = held[--n_held];
}

int netns_held_fd(const char *name) {
        Held *h = held_find(name);
        return h ? h->fd : -ENOENT;
}

char **netns_held_names(void) {
        char **l = NULL;
        for (size_t i = 0; i < n_held; i++)
                if (strv_extend(&l, held[i].name) < 0) {
                        strv_free(l);
                        return NULL;
                }
        return l;
}

int network_netns_fd(const char *name) {
        int fd = netns_held_fd(name);
        if (fd < 0)
                return fd;
        return RET_NERRNO(fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

/* ---- pins (sandy-netctl, in the host's mount namespace) */

static int pin_path(const char *name, char **ret) {
        if (!sandbox_name_is_valid(name))
                return -EINVAL;
        return xasprintf(ret, SANDY_NETNS_DIR "/%s", name);
}

static int pin_dir_setup(void) {
        int r = mkdir_p(SANDY_NETNS_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_NETNS_DIR);
        /* As "ip netns add" does: a shared mount point, so that unmounting a pin here also unmounts the
         * copies in mount namespaces made since (services with PrivateTmp= etc.), which would otherwise
         * keep the namespace alive. */
        if (mount("", SANDY_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
                if (errno != EINVAL)
                        return log_error_errno(errno, "Failed to make %s shared: %m", SANDY_NETNS_DIR);
                if (mount(SANDY_NETNS_DIR, SANDY_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0 ||
                    mount("", SANDY_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
                        return log_error_errno(errno, "Failed to make %s a shared mount: %m",
                                               SANDY_NETNS_DIR);
        }
        return 0;
}

int netns_pin(const char *name, int netns_fd) {
        _cleanup_free_ char *path = NULL;
        char src[64];
        int r;

        r = netns_check_fd(netns_fd);
        if (r < 0)
                return log_error_errno(r, "The namespace of sandbox %s is not a network namespace: %m",
                                       name);
        r = pin_path(name, &path);
        if (r < 0)
                return r;
        r = pin_dir_setup();
        if (r < 0)
                return r;
        /* A pin left by a start that never stopped (the host's /run outlives no boot, but a killed unit
         * can leave one). */
        (void)netns_unpin(name);

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        snprintf(src, sizeof src, "/proc/self/fd/%d", netns_fd);
        if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
                r = log_error_errno(errno, "Failed to pin the network namespace of %s at %s: %m", name,
                                    path);
                (void)unlink(path);
                return r;
        }
        return 0;
}

int netns_unpin(const char *name) {
        _cleanup_free_ char *path = NULL;
        int r = pin_path(name, &path);

        if (r < 0)
                return r;
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && !IN_SET(errno, EINVAL, ENOENT))
                log_warning_errno(errno, "Failed to unmount %s: %m", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_warning_errno(errno, "Failed to remove %s: %m", path);
        return 0;
}

int netns_open_pin(const char *name) {
        _cleanup_free_ char *path = NULL;
        int r = pin_path(name, &path);

        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Not mounted: an empty file, not a namespace. */
        r = netns_check_fd(fd);
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}
