/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-sandbox network: pinned namespace, veth pair, addresses from the pool, routes, resolver files, and
 * the nft rules. Links and addresses are made with iproute2's "ip -batch", one process per namespace. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process-util.h"
#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "strv.h"
#include "fs-util.h"
#include "parse-util.h"
#include "path-util.h"
#include "hash.h"
#include "string-util.h"

/* ---- processes */

/* Run "ip -batch -" with the commands in batch, in the namespace netns_fd (-1: ours). */
static int run_ip_batch(int netns_fd, const char *batch) {
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
                if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
                        _exit(126);
                if (dup2(p[0], STDIN_FILENO) < 0)
                        _exit(126);
                execlp("ip", "ip", "-batch", "-", (char *) NULL);
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

static int write_string(const char *path, const char *s) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, s, strlen(s)) < 0)
                return -errno;
        return 0;
}

/* ---- namespaces */

static int netns_path(const char *name, char **ret) {
        return xasprintf(ret, SANDY_NETNS_DIR "/%s", name);
}

static int netns_dir_setup(void) {
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
                        return log_error_errno(errno, "Failed to make %s a shared mount: %m", SANDY_NETNS_DIR);
        }
        return 0;
}

static int netns_create(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        int r;
        pid_t pid;

        if (fd < 0)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(1);
                if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
                        _exit(2);
                _exit(0);
        }
        r = wait_for_terminate_and_check(NULL, pid);
        if (r != 0) {
                (void) unlink(path);
                return log_error_errno(r < 0 ? r : EIO, "Failed to create and pin a network namespace at %s (step %d).",
                                       path, r);
        }
        return 0;
}

static void netns_remove(const char *path) {
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                log_warning_errno(errno, "Failed to unmount %s: %m", path);
        if (unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove %s: %m", path);
}

/* ---- nft */

static bool skeleton_done = false;

static int nft_apply_with_skeleton(const char *script, const SandyConfig *c) {
        _cleanup_free_ char *skel = NULL, *both = NULL;
        NetAddrs pools = {};
        int r;

        if (skeleton_done || nft_table_exists()) {
                skeleton_done = true;
                return nft_apply(script);
        }
        net_pool_strings(c, &pools);
        r = nft_skeleton_script(&pools, &skel);
        if (r < 0)
                return r;
        /* The table and the sandbox's rules in one transaction: no half state. */
        if (xasprintf(&both, "%s%s", skel, script) < 0)
                return -ENOMEM;
        r = nft_apply(both);
        if (r >= 0)
                skeleton_done = true;
        return r;
}

int network_ensure_table(void) {
        SandyConfig c = {};
        int r = sandy_config_load(NULL, &c);
        if (r >= 0)
                r = nft_apply_with_skeleton("", &c);
        sandy_config_done(&c);
        return r;
}

/* Set a sysctl to "1" unless it already is: in a container /proc/sys may be read-only, and then a host
 * that forwards already must not fail here. */
static int sysctl_enable(const char *path) {
        _cleanup_free_ char *v = NULL;
        if (read_full_file(path, 64, &v, NULL) >= 0 && startswith(v, "1"))
                return 0;
        return write_string(path, "1");
}

static int enable_forwarding(bool ipv6) {
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

/* Addresses and routes inside the sandbox's namespace, where SANDY_INNER_IFNAME already is. */
static int inner_batch(const NetAddrs *a, char **ret) {
        _cleanup_free_ char *b = NULL;
        if (xasprintf(&b,
                      "link set lo up\n"
                      "addr add %1$s/30 dev " SANDY_INNER_IFNAME "\n"
                      "link set " SANDY_INNER_IFNAME " up\n"
                      "route add default via %2$s dev " SANDY_INNER_IFNAME "\n",
                      a->sandbox4, a->host4) < 0)
                return -ENOMEM;
        if (a->ipv6) {
                char *n = NULL;
                if (xasprintf(&n,
                              "%saddr add %s/126 nodad dev " SANDY_INNER_IFNAME "\n"
                              "route add ::/0 via %s dev " SANDY_INNER_IFNAME "\n",
                              b, a->sandbox6, a->host6) < 0)
                        return -ENOMEM;
                free(b);
                b = n;
        }
        *ret = TAKE_PTR(b);
        return 0;
}

int network_setup(const Sandbox *s) {
        _cleanup_free_ char *path = NULL, *host_batch = NULL, *ns_batch = NULL, *rules = NULL;
        _cleanup_close_ int nsfd = -EBADF;
        SandyConfig c = {};
        char ifname[IFNAMSIZ];
        NetAddrs a;
        unsigned slot = 0;
        int r;

        /* host: nothing of ours. none: nspawn's Private=yes gives loopback only. */
        if (!IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT))
                return 0;

        r = sandy_config_load(NULL, &c);
        if (r < 0)
                goto finish;
        /* Whatever a crashed earlier run left behind; the new rules need a clean slate. */
        r = network_teardown(s->name);
        if (r < 0)
                goto finish;

        net_ifname(s->name, ifname);
        r = netns_path(s->name, &path);
        if (r < 0)
                goto finish;
        r = netns_dir_setup();
        if (r < 0)
                goto finish;
        r = net_slot_allocate(&c, s->name, &slot);
        if (r < 0)
                goto finish;
        r = net_addrs_for_slot(&c, slot, &a);
        if (r < 0)
                goto fail;
        r = netns_create(path);
        if (r < 0)
                goto fail;
        nsfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) {
                r = log_error_errno(errno, "Failed to open %s: %m", path);
                goto fail;
        }

        r = enable_forwarding(a.ipv6);
        if (r < 0)
                goto fail;
        r = resolver_write_files(s, &c, &a);
        if (r < 0)
                goto fail;

        /* Rules before the link exists: nothing passes unfiltered, ever. */
        r = nft_sandbox_script(s, ifname, &a, &rules);
        if (r < 0)
                goto fail;
        r = nft_apply_with_skeleton(rules, &c);
        if (r < 0)
                goto fail;

        /* The inner end is not host0: a container's networkd would flush addresses on that name. */
        r = xasprintf(&host_batch,
                      "link add %s type veth peer name " SANDY_INNER_IFNAME " netns %s\n"
                      "addr add %s/30 dev %s\n",
                      ifname, path, a.host4, ifname);
        if (r >= 0 && a.ipv6) {
                char *n = NULL;
                r = xasprintf(&n, "%saddr add %s/126 nodad dev %s\n", host_batch, a.host6, ifname);
                free(host_batch);
                host_batch = n;
        }
        if (r >= 0) {
                char *n = NULL;
                r = xasprintf(&n, "%slink set %s up\n", host_batch, ifname);
                free(host_batch);
                host_batch = n;
        }
        if (r < 0)
                goto fail;
        r = run_ip_batch(-1, host_batch);
        if (r < 0)
                goto fail;

        r = inner_batch(&a, &ns_batch);
        if (r < 0)
                goto fail;
        r = run_ip_batch(nsfd, ns_batch);
        if (r < 0)
                goto fail;

        log_info("Sandbox %s: network namespace %s, link %s, %s <-> %s%s%s, Mode=%s.", s->name, path, ifname,
                 a.host4, a.sandbox4, a.ipv6 ? ", " : "", a.ipv6 ? a.sandbox6 : "",
                 network_mode_to_string(s->network_mode));
        r = 0;
        goto finish;

fail:
        (void) network_teardown(s->name);
finish:
        sandy_config_done(&c);
        return r;
}

int network_teardown(const char *name) {
        _cleanup_free_ char *path = NULL, *rules = NULL, *slotp = NULL;
        char ifname[IFNAMSIZ];
        unsigned slot = 0;
        int r, ret = 0;

        if (!sandbox_name_is_valid(name))
                return -EINVAL;
        net_ifname(name, ifname);

        /* Deleting one end of a veth deletes both. */
        if (if_nametoindex(ifname) > 0) {
                _cleanup_free_ char *b = NULL;
                if (xasprintf(&b, "link del %s\n", ifname) < 0)
                        return -ENOMEM;
                r = run_ip_batch(-1, b);
                if (r < 0 && if_nametoindex(ifname) > 0)
                        ret = r;
        }

        if (nft_table_exists()) {
                r = nft_sandbox_remove_script(name, ifname, true, &rules);
                if (r >= 0)
                        r = nft_apply(rules);
                if (r < 0)
                        ret = r;
        }

        if (netns_path(name, &path) < 0)
                return -ENOMEM;
        netns_remove(path);
        resolver_remove_files(name);

        if (network_slot_of(name, &slot) >= 0 && net_slot_path(slot, &slotp) >= 0)
                (void) unlink(slotp);
        return ret;
}
