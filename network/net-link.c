/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The veth pair of a sandbox, its addresses and routes, made with iproute2's "ip -batch": one process on the
 * host's side, one inside the sandbox's namespace. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net-internal.h"
#include "process-util.h"
#include "string-util.h"

/* The namespace fd as the ip child sees it ("netns /proc/self/fd/3"). */
#define CHILD_NETNS_FD 3

/* Run "ip -batch -" with the commands in batch. netns_fd: the child enters it (enter) or gets it as fd 3
 * for "netns /proc/self/fd/3" (!enter); -1: neither. */
static int run_ip_batch(int netns_fd, bool enter, const char *batch) {
        int p[2], r;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int e = errno;
                close(p[0]);
                close(p[1]);
                return -e;
        }
        if (pid == 0) {
                if (netns_fd >= 0 && enter && setns(netns_fd, CLONE_NEWNET) < 0)
                        _exit(126);
                if (netns_fd >= 0 && !enter) {
                        if (netns_fd == CHILD_NETNS_FD ? fcntl(netns_fd, F_SETFD, 0) < 0
                                                       : dup2(netns_fd, CHILD_NETNS_FD) < 0)
                                _exit(126);
                }
                if (dup2(p[0], STDIN_FILENO) < 0)
                        _exit(126);
                execlp("ip", "ip", "-batch", "-", (char *)NULL);
                _exit(127);
        }
        close(p[0]);
        size_t len = strlen(batch);
        for (size_t off = 0; off < len;) {
                ssize_t w = write(p[1], batch + off, len - off);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                off += w;
        }
        close(p[1]);
        r = wait_for_terminate_and_check("ip -batch", pid);
        if (r < 0)
                return r;
        if (r > 0) {
                log_error("The failed batch was:\n%s", batch);
                return -EIO;
        }
        return 0;
}

int net_link_batches(const char *ifname, const NetAddrs *a, char **ret_host, char **ret_inner) {
        _cleanup_free_ char *h = NULL, *in = NULL;

        /* The inner end is not host0: a container's networkd would flush addresses on that name. */
        if (strextendf(&h, "link add %s type veth peer name " SANDY_INNER_IFNAME " netns /proc/self/fd/%d\n",
                       ifname, CHILD_NETNS_FD) < 0 ||
            strextendf(&h, "addr add %s/30 dev %s\n", a->host4, ifname) < 0 ||
            (a->ipv6 && strextendf(&h, "addr add %s/126 nodad dev %s\n", a->host6, ifname) < 0) ||
            strextendf(&h, "link set %s up\n", ifname) < 0)
                return -ENOMEM;
        if (strextendf(&in,
                       "link set lo up\n"
                       "addr add %s/30 dev " SANDY_INNER_IFNAME "\n"
                       "link set " SANDY_INNER_IFNAME " up\n"
                       "route add default via %s dev " SANDY_INNER_IFNAME "\n",
                       a->sandbox4, a->host4) < 0 ||
            (a->ipv6 && strextendf(&in,
                                   "addr add %s/126 nodad dev " SANDY_INNER_IFNAME "\n"
                                   "route add ::/0 via %s dev " SANDY_INNER_IFNAME "\n",
                                   a->sandbox6, a->host6) < 0))
                return -ENOMEM;
        *ret_host = TAKE_PTR(h);
        *ret_inner = TAKE_PTR(in);
        return 0;
}

int net_link_create(int netns_fd, const char *ifname, const NetAddrs *a) {
        _cleanup_free_ char *host = NULL, *inner = NULL;
        int r;

        r = net_link_batches(ifname, a, &host, &inner);
        if (r < 0)
                return r;
        r = run_ip_batch(netns_fd, false, host);
        if (r < 0)
                return r;
        return run_ip_batch(netns_fd, true, inner);
}

int net_link_delete(const char *ifname) {
        _cleanup_free_ char *b = NULL;
        int r;

        /* Deleting one end of a veth deletes both. */
        if (if_nametoindex(ifname) == 0)
                return 0;
        if (xasprintf(&b, "link del %s\n", ifname) < 0)
                return -ENOMEM;
        r = run_ip_batch(-1, false, b);
        if (r < 0 && if_nametoindex(ifname) == 0)
                r = 0; /* gone meanwhile */
        return r;
}
