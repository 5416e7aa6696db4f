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
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "strv.h"
#include "util.h"

uint64_t net_name_hash(const char *name) {
        /* FNV-1a: stable across builds and hosts, unlike anything seeded. */
        uint64_t h = 0xcbf29ce484222325ULL;
        for (const unsigned char *c = (const unsigned char *) name; *c; c++) {
                h ^= *c;
                h *= 0x100000001b3ULL;
        }
        return h;
}

void net_ifname(const char *name, char ret[static IFNAMSIZ]) {
        snprintf(ret, IFNAMSIZ, SANDY_IFNAME_PREFIX "%012llx",
                 (unsigned long long) (net_name_hash(name) & 0xffffffffffffULL));
}

void net_pool_strings(const SandyConfig *c, NetAddrs *a) {
        char b[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET, &c->pool4, b, sizeof b);
        snprintf(a->pool4, sizeof a->pool4, "%s/%u", b, c->pool4_prefix);
        inet_ntop(AF_INET6, &c->pool6, b, sizeof b);
        snprintf(a->pool6, sizeof a->pool6, "%s/%u", b, c->pool6_prefix);
        a->ipv6 = c->ipv6;
}

int net_addrs_for_slot(const SandyConfig *c, unsigned slot, NetAddrs *ret) {
        NetAddrs a = {.slot = slot};
        if (slot >= sandy_config_slots(c))
                return -ERANGE;
        net_pool_strings(c, &a);

        /* Slot i is the i-th /30: .1 on the host side, .2 inside. */
        for (unsigned k = 1; k <= 2; k++) {
                struct in_addr x = {.s_addr = htonl(ntohl(c->pool4.s_addr) + slot * 4 + k)};
                inet_ntop(AF_INET, &x, k == 1 ? a.host4 : a.sandbox4, INET_ADDRSTRLEN);

                struct in6_addr y = c->pool6;
                uint64_t low = 0;
                for (int i = 8; i < 16; i++)
                        low = (low << 8) | y.s6_addr[i];
                low += (uint64_t) slot * 4 + k;
                for (int i = 15; i >= 8; i--, low >>= 8)
                        y.s6_addr[i] = low & 0xff;
                inet_ntop(AF_INET6, &y, k == 1 ? a.host6 : a.sandbox6, INET6_ADDRSTRLEN);
        }
        *ret = a;
        return 0;
}

/* ---- slots */

static int slot_path(unsigned slot, char **ret) {
        return xasprintf(ret, SANDY_NET_ALLOC_DIR "/%u", slot);
}

static int slot_owned_by(unsigned slot, const char *name) {
        _cleanup_free_ char *p = NULL;
        char buf[SANDBOX_NAME_MAX + 2];
        ssize_t n;

        if (slot_path(slot, &p) < 0)
                return -ENOMEM;
        n = readlink(p, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return streq(buf, name);
}

static int slot_allocate(const SandyConfig *c, const char *name, unsigned *ret) {
        unsigned n = sandy_config_slots(c);
        uint64_t h = net_name_hash(name);
        int r;

        r = mkdir_p(SANDY_NET_ALLOC_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_NET_ALLOC_DIR);
        /* Start at the name's hash, so a sandbox usually gets the same addresses on every start. */
        for (unsigned i = 0; i < n; i++) {
                unsigned slot = (h + i) % n;
                _cleanup_free_ char *p = NULL;
                if (slot_path(slot, &p) < 0)
                        return log_oom();
                if (symlink(name, p) >= 0 || slot_owned_by(slot, name) > 0) {
                        *ret = slot;
                        return 0;
                }
                if (errno != EEXIST)
                        return log_error_errno(errno, "Failed to create %s: %m", p);
        }
        return log_error_errno(ENOSPC, "The address pool is exhausted (%u sandboxes).", n);
}

/* Slot of name, or -ENOENT. */
int network_slot_of(const char *name, unsigned *ret) {
        DIR *d = opendir(SANDY_NET_ALLOC_DIR);
        int r = -ENOENT;
        if (!d)
                return errno == ENOENT ? -ENOENT : -errno;
        for (struct dirent *de; (de = readdir(d));) {
                uint64_t v;
                if (safe_atou64(de->d_name, &v) < 0 || v > UINT32_MAX)
                        continue;
                if (slot_owned_by(v, name) > 0) {
                        *ret = v;
                        r = 0;
                        break;
                }
        }
        closedir(d);
        return r;
}

/* ---- processes */

/* Run "ip -batch -" with the commands in batch, in the namespace netns_fd (-1: ours). */
static int run_ip_batch(int netns_fd, const char *batch) {
        int p[2], status;
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
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                log_error("ip -batch failed (status %d) running:\n%s", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                          batch);
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
        int status;
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
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                (void) unlink(path);
                return log_error_errno(EIO, "Failed to create and pin a network namespace at %s (step %d).", path,
                                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        return 0;
}

static void netns_remove(const char *path) {
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                log_warning_errno(errno, "Failed to unmount %s: %m", path);
        if (unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove %s: %m", path);
}

/* ---- resolver files */

static int read_upstreams(char ***ret) {
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = read_full_file("/etc/resolv.conf", 1024 * 1024, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read /etc/resolv.conf for the upstream resolvers: %m");
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char a[INET6_ADDRSTRLEN + 1];
                struct in6_addr x;
                if (sscanf(line, " nameserver %46s", a) != 1)
                        continue;
                if (inet_pton(AF_INET, a, &x) != 1 && inet_pton(AF_INET6, a, &x) != 1)
                        continue;
                r = strv_extend(&l, a);
                if (r < 0)
                        return r;
        }
        if (!l)
                return log_error_errno(ENOENT, "/etc/resolv.conf names no nameserver.");
        *ret = TAKE_PTR(l);
        return 0;
}

static int write_resolver_files(const Sandbox *s, const SandyConfig *c, const NetAddrs *a) {
        _cleanup_free_ char *dir = NULL, *resolv = NULL, *conf = NULL, *p = NULL;
        _cleanup_strv_free_ char **ups = NULL;
        size_t size;
        FILE *f;
        int r;

        if (xasprintf(&dir, SANDY_NET_DIR "/%s", s->name) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);

        if (xasprintf(&resolv, "# The sandbox's own resolver (sandy-dns@%s.service).\nnameserver %s\n%s%s%s", s->name,
                      a->host4, a->ipv6 ? "nameserver " : "", a->ipv6 ? a->host6 : "", a->ipv6 ? "\n" : "") < 0)
                return -ENOMEM;
        p = path_join(dir, "resolv.conf");
        if (!p)
                return -ENOMEM;
        r = write_file_atomic(p, resolv, strlen(resolv), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", p);

        r = read_upstreams(&ups);
        if (r < 0)
                return r;

        f = open_memstream(&conf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# Written by sandy-helper for sandbox %s (Mode=%s); read by sandy-dns@%s.service.\n", s->name,
                network_mode_to_string(s->network_mode), s->name);
        fprintf(f, "bind-interfaces\nlisten-address=%s\n", a->host4);
        if (a->ipv6)
                fprintf(f, "listen-address=%s\n", a->host6);
        if (c->stop_dns_rebind)
                fputs("stop-dns-rebind\n", f);
        fputs("port=53\nno-hosts\nno-poll\ndomain-needed\nbogus-priv\ncache-size=1000\n"
              "pid-file=\nuser=nobody\ngroup=nogroup\nlog-facility=-\n",
              f);
        if (s->network_mode == NETWORK_STRICT) {
                /* No default server: names not allowed are answered here (NXDOMAIN), never sent upstream. */
                fputs("no-resolv\naddress=/#/\nlog-queries\n", f);
                STRV_FOREACH(d, s->allow_domains) {
                        STRV_FOREACH(u, ups)
                                fprintf(f, "server=/%s/%s\n", *d, *u);
                        fprintf(f, "nftset=/%s/4#inet#" SANDY_NFT_TABLE "#sb_%s_a4,6#inet#" SANDY_NFT_TABLE
                                   "#sb_%s_a6\n",
                                *d, s->name, s->name);
                }
        } else {
                fputs("no-resolv\n", f);
                STRV_FOREACH(u, ups)
                        fprintf(f, "server=%s\n", *u);
        }
        r = ferror(f) ? -ENOMEM : 0;
        fclose(f);
        if (r < 0)
                return r;
        free(p);
        p = path_join(dir, "dnsmasq.conf");
        if (!p)
                return -ENOMEM;
        r = write_file_atomic(p, conf, strlen(conf), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", p);
        return 0;
}

static void remove_resolver_files(const char *name) {
        _cleanup_free_ char *dir = NULL;
        if (xasprintf(&dir, SANDY_NET_DIR "/%s", name) < 0)
                return;
        static const char *const files[] = {"resolv.conf", "dnsmasq.conf"};
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = path_join(dir, files[i]);
                if (p)
                        (void) unlink(p);
        }
        (void) rmdir(dir);
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
        r = slot_allocate(&c, s->name, &slot);
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
        r = write_resolver_files(s, &c, &a);
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
        remove_resolver_files(name);

        if (network_slot_of(name, &slot) >= 0 && slot_path(slot, &slotp) >= 0)
                (void) unlink(slotp);
        return ret;
}
