/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Addresses and slots: each sandbox gets slot N of the pools in sandy.conf, a /30 and a /126, and a veth
 * name derived from its name. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "hash.h"
#include "log.h"
#include "net-internal.h"
#include "parse-util.h"
#include "string-util.h"

void net_ifname(const char *name, char ret[static IFNAMSIZ]) {
        snprintf(ret, IFNAMSIZ, SANDY_IFNAME_PREFIX "%012llx",
                 (unsigned long long) (fnv1a64(name) & 0xffffffffffffULL));
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

int net_slot_path(unsigned slot, char **ret) {
        return xasprintf(ret, SANDY_NET_ALLOC_DIR "/%u", slot);
}

static int slot_owned_by(unsigned slot, const char *name) {
        _cleanup_free_ char *p = NULL;
        char buf[SANDBOX_NAME_MAX + 2];
        int r;

        if (net_slot_path(slot, &p) < 0)
                return -ENOMEM;
        r = readlinkat_buf(AT_FDCWD, p, buf, sizeof buf);
        if (r < 0)
                return r;
        return streq(buf, name);
}

int net_slot_allocate(const SandyConfig *c, const char *name, unsigned *ret) {
        unsigned n = sandy_config_slots(c);
        uint64_t h = fnv1a64(name);
        int r;

        r = mkdir_p(SANDY_NET_ALLOC_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_NET_ALLOC_DIR);
        /* Start at the name's hash, so a sandbox usually gets the same addresses on every start. */
        for (unsigned i = 0; i < n; i++) {
                unsigned slot = (h + i) % n;
                _cleanup_free_ char *p = NULL;
                if (net_slot_path(slot, &p) < 0)
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

