/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Both layers as a whole: the host's table with the elements of every sandbox, each sandbox's own table, and
 * the files that say what was applied (SANDY_NET_DIR/NAME/host.nft and inner.nft), from which both are
 * restored. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "path-util.h"
#include "string-util.h"
#include "strv.h"
#include "validate.h"

#define T "inet " SANDY_NFT_TABLE

/* ---- state files */

int net_state_read(const char *name, const char *file, char **ret) {
        _cleanup_free_ char *p = sandbox_net_path(name, file);
        if (!p)
                return -ENOMEM;
        return read_full_file(p, 16 * 1024 * 1024, ret, NULL);
}

int net_state_write(const char *name, const char *file, const char *text) {
        _cleanup_free_ char *dir = sandbox_net_path(name, NULL), *p = sandbox_net_path(name, file);
        int r;

        if (!dir || !p)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r >= 0)
                r = write_file_atomic(p, text, strlen(text), 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", p);
        return 0;
}

void net_state_remove(const char *name) {
        static const char *const files[] = {SANDY_NFT_HOST_FILE, SANDY_NFT_INNER_FILE};
        _cleanup_free_ char *dir = sandbox_net_path(name, NULL);

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = sandbox_net_path(name, files[i]);
                if (p)
                        (void)unlink(p);
        }
        if (dir)
                (void)rmdir(dir);
}

int net_state_names(char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        DIR *d = opendir(SANDY_NET_DIR);

        if (!d) {
                *ret = NULL;
                return errno == ENOENT ? 0 : -errno;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *p = NULL;
                if (!sandbox_name_is_valid(de->d_name))
                        continue;
                p = path_join(de->d_name, SANDY_NFT_HOST_FILE);
                if (!p) {
                        closedir(d);
                        return -ENOMEM;
                }
                if (faccessat(dirfd(d), p, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (strv_extend(&l, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- the host's addresses */

static char **cached4, **cached6;
static bool cached;

void net_host_addresses_invalidate(void) {
        cached4 = strv_free(cached4);
        cached6 = strv_free(cached6);
        cached = false;
}

static bool in_prefix(int family, const void *addr, const char *prefix) {
        unsigned char a[16] = {};

        memcpy(a, addr, family == AF_INET ? 4 : 16);
        return address_in_range(family, a, family == AF_INET ? 32 : 128, prefix);
}

int net_host_addresses(char ***ret4, char ***ret6) {
        _cleanup_strv_free_ char **l4 = NULL, **l6 = NULL;
        struct ifaddrs *ifa = NULL;
        SandyConfig c = {};
        NetAddrs pools = {};

        if (!cached) {
                /* The other sandboxes' host sides are in the pool, which is never reachable anyway. */
                (void)sandy_config_load(NULL, &c);
                net_pool_strings(&c, &pools);
                sandy_config_done(&c);
                if (getifaddrs(&ifa) < 0)
                        return log_error_errno(errno, "Failed to list the host's addresses: %m");
                for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                        char buf[INET6_ADDRSTRLEN];
                        int fam = i->ifa_addr ? i->ifa_addr->sa_family : AF_UNSPEC;
                        const void *a = fam == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)
                                                                         ->sin_addr
                                        : fam == AF_INET6
                                                        ? (const void *)&((struct sockaddr_in6 *)i->ifa_addr)
                                                                          ->sin6_addr
                                                        : NULL;
                        /* Link-local is never reachable from a sandbox anyway (net_never6). */
                        if (!a || startswith(i->ifa_name, SANDY_IFNAME_PREFIX) ||
                            in_prefix(fam, a, fam == AF_INET ? pools.pool4 : pools.pool6) ||
                            (fam == AF_INET6 && in_prefix(fam, a, "fe80::/10")))
                                continue;
                        inet_ntop(fam, a, buf, sizeof buf);
                        char ***l = fam == AF_INET ? &l4 : &l6;
                        if (!strv_contains(*l, buf) && strv_extend(l, buf) < 0) {
                                freeifaddrs(ifa);
                                return -ENOMEM;
                        }
                }
                freeifaddrs(ifa);
                strv_sort(l4);
                strv_sort(l6);
                cached4 = TAKE_PTR(l4);
                cached6 = TAKE_PTR(l6);
                cached = true;
        }
        *ret4 = strv_copy(cached4);
        *ret6 = strv_copy(cached6);
        if ((cached4 && !*ret4) || (cached6 && !*ret6))
                return -ENOMEM;
        return 0;
}

/* ---- the host's table */

static int host_skeleton(char **ret) {
        SandyConfig c = {};
        NetAddrs pools = {};
        NetForwardGuard guard = {};
        int r = sandy_config_load(NULL, &c);

        net_pool_strings(&c, &pools);
        sandy_config_done(&c);
        if (r < 0)
                return r;
        net_forwarding_guard(&guard);
        return nft_host_skeleton(&pools, &guard, ret);
}

int net_host_add(const char *elements) {
        _cleanup_free_ char *skel = NULL, *both = NULL;
        int r;

        /* The table is usually there: one small batch. When it is not, the skeleton and the elements go in
         * one transaction: no half state. (A failed batch changes nothing.) */
        if (nft_table_exists())
                return nft_apply(elements);
        r = host_skeleton(&skel);
        if (r < 0)
                return r;
        if (xasprintf(&both, "%s%s", skel, elements) < 0)
                return -ENOMEM;
        return nft_apply(both);
}

int net_host_rebuild(void) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *script = NULL, *skel = NULL;
        int r;

        r = host_skeleton(&skel);
        if (r < 0)
                return r;
        r = net_state_names(&names);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s: %m", SANDY_NET_DIR);
        /* "add" first, so that "delete" cannot fail when the table is gone. */
        if (strextendf(&script, "add table " T "\ndelete table " T "\n%s", skel) < 0)
                return -ENOMEM;
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *e = NULL;
                if (net_state_read(*n, SANDY_NFT_HOST_FILE, &e) < 0)
                        continue;
                if (strextendf(&script, "%s", e) < 0)
                        return -ENOMEM;
        }
        return nft_apply(script);
}

/* ---- a sandbox's own table */

int net_inner_apply(const char *name, int netns_fd, bool keep_learned) {
        _cleanup_strv_free_ char **a4 = NULL, **a6 = NULL;
        _cleanup_free_ char *inner = NULL, *hosts = NULL, *script = NULL;
        int r;

        r = net_state_read(name, SANDY_NFT_INNER_FILE, &inner);
        if (r < 0)
                return log_error_errno(r, "The rules of sandbox %s are not on record: %m", name);
        r = net_host_addresses(&a4, &a6);
        if (r < 0)
                return r;
        r = nft_inner_hostaddrs(a4, a6, &hosts);
        if (r < 0)
                return r;
        if (strextendf(&script, "add table " T "\ndelete table " T "\n%s%s", inner, hosts) < 0)
                return -ENOMEM;
        /* What the resolver learned: the sets are replaced, their addresses are not lost. */
        for (const char *l = inner; keep_learned && l && (l = strstr(l, "add set " T " dom"));) {
                _cleanup_strv_free_ char **el = NULL;
                char set[32];
                l += strlen("add set " T " ");
                if (sscanf(l, "%31[a-z0-9_]", set) != 1)
                        continue;
                if (nft_set_elements(netns_fd, set, &el) < 0)
                        continue;
                if (nft_elements_append(&script, set, el) < 0)
                        return -ENOMEM;
        }
        return nft_apply_in(netns_fd, script);
}
