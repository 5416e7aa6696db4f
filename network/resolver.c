/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The resolvers of a sandbox and their files in SANDY_NET_DIR/NAME:
 *   resolv.conf          what the sandbox sees (bound by sandy-prepare)
 *   dnsmasq.conf         sandy-dns@NAME, on the host side of the link: forwards to the host's resolvers
 *                        (lenient), or only the allowed domains (strict)
 *   dnsmasq-inside.conf  sandy-dns-inside@NAME (strict only), in the sandbox's namespace: the sandbox's
 *                        resolver; answers only allowed domains (asking sandy-dns@NAME) and adds each
 *                        answer to the nft sets of that namespace before the sandbox sees it
 * The renderers are pure; resolver_write_files() reads /etc/resolv.conf and writes the files. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "path-util.h"
#include "string-util.h"
#include "strv.h"

int resolver_resolv_conf(const NetPolicy *p, char **ret) {
        const NetAddrs *a = &p->addrs;
        /* Strict: the resolver inside, on the sandbox's own address. */
        const char *v4 = p->strict ? a->sandbox4 : a->host4, *v6 = p->strict ? a->sandbox6 : a->host6;

        return xasprintf(ret, "# The sandbox's own resolver (%s%s.service).\nnameserver %s\n%s%s%s",
                         p->strict ? SANDBOX_DNS_INSIDE_UNIT_PREFIX : SANDBOX_DNS_UNIT_PREFIX, p->name, v4,
                         a->ipv6 ? "nameserver " : "", a->ipv6 ? v6 : "", a->ipv6 ? "\n" : "") < 0
                               ? -ENOMEM
                               : 0;
}

static void put_common(FILE *f, bool stop_dns_rebind) {
        if (stop_dns_rebind)
                fputs("stop-dns-rebind\n", f);
        /* No user= here: the units run dnsmasq as SANDY_DNS_USER already. */
        fputs("port=53\nno-hosts\nno-poll\nno-resolv\ndomain-needed\nbogus-priv\npid-file=\nlog-facility=-"
              "\n",
              f);
}

int resolver_host_conf(const NetPolicy *p, char *const *upstreams, bool stop_dns_rebind, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const NetAddrs *a = &p->addrs;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        fprintf(f,
                "# Written by sandy-helper for sandbox %s (Mode=%s); read by " SANDBOX_DNS_UNIT_PREFIX
                "%s.service.\n",
                p->name, p->strict ? "strict" : "lenient", p->name);
        fprintf(f, "bind-interfaces\nlisten-address=%s\n", a->host4);
        if (a->ipv6)
                fprintf(f, "listen-address=%s\n", a->host6);
        put_common(f, stop_dns_rebind);
        fputs("cache-size=1000\n", f);
        if (p->strict) {
                /* Only the allowed names go upstream; everything else is answered here (NXDOMAIN). The
                 * resolver inside asks this one, and so would anything else in the sandbox that got past
                 * the rules in its namespace. */
                fputs("address=/#/\n", f);
                for (size_t i = 0; i < p->n_groups; i++)
                        STRV_FOREACH (d, p->groups[i].domains)
                                STRV_FOREACH (u, upstreams)
                                        fprintf(f, "server=/%s/%s\n", *d, *u);
        } else
                STRV_FOREACH (u, upstreams)
                        fprintf(f, "server=%s\n", *u);
        return memstream_finish(&f, &buf, ret);
}

int resolver_inside_conf(const NetPolicy *p, bool stop_dns_rebind, char **ret) {
        _cleanup_free_ char *buf = NULL;
        const NetAddrs *a = &p->addrs;
        size_t size;
        FILE *f;

        if (!p->strict) {
                *ret = NULL;
                return 0;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "# Written by sandy-helper for sandbox %s (Mode=strict); read "
                "by " SANDBOX_DNS_INSIDE_UNIT_PREFIX "%s.service, in the sandbox's network namespace.\n",
                p->name, p->name);
        fprintf(f, "bind-interfaces\nlisten-address=%s\n", a->sandbox4);
        if (a->ipv6)
                fprintf(f, "listen-address=%s\n", a->sandbox6);
        put_common(f, stop_dns_rebind);
        /* No cache: every answer comes from sandy-dns@NAME and refreshes the sets' timeouts. */
        fputs("cache-size=0\nlog-queries\naddress=/#/\n", f);
        for (size_t i = 0; i < p->n_groups; i++)
                STRV_FOREACH (d, p->groups[i].domains) {
                        fprintf(f, "server=/%s/%s\n", *d, a->host4);
                        fprintf(f,
                                "nftset=/%s/4#inet#" SANDY_NFT_TABLE "#dom4_%zu,6#inet#" SANDY_NFT_TABLE
                                "#dom6_%zu\n",
                                *d, i, i);
                }
        return memstream_finish(&f, &buf, ret);
}

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

static int write_one(const char *dir, const char *name, const char *text, mode_t mode) {
        _cleanup_free_ char *p = path_join(dir, name);
        int r;

        if (!p)
                return -ENOMEM;
        if (!text) {
                if (unlink(p) < 0 && errno != ENOENT)
                        return log_error_errno(errno, "Failed to remove %s: %m", p);
                return 0;
        }
        r = write_file_atomic(p, text, strlen(text), mode);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", p);
        return 0;
}

int resolver_write_files(const NetPolicy *p, const SandyConfig *c) {
        _cleanup_free_ char *dir = NULL, *resolv = NULL, *host = NULL, *inside = NULL;
        _cleanup_strv_free_ char **ups = NULL;
        int r;

        dir = sandbox_net_path(p->name, NULL);
        if (!dir)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);
        r = read_upstreams(&ups);
        if (r < 0)
                return r;
        if (resolver_resolv_conf(p, &resolv) < 0 ||
            resolver_host_conf(p, ups, c->stop_dns_rebind, &host) < 0 ||
            resolver_inside_conf(p, c->stop_dns_rebind, &inside) < 0)
                return log_oom();
        /* resolv.conf is bound into the sandbox; the dnsmasq files are read by SANDY_DNS_USER. */
        r = write_one(dir, "resolv.conf", resolv, 0644);
        if (r >= 0)
                r = write_one(dir, SANDY_DNSMASQ_CONF, host, 0644);
        if (r >= 0)
                r = write_one(dir, SANDY_DNSMASQ_INSIDE_CONF, inside, 0644);
        return r;
}

void resolver_remove_files(const char *name) {
        _cleanup_free_ char *dir = sandbox_net_path(name, NULL);
        static const char *const files[] = {"resolv.conf", SANDY_DNSMASQ_CONF, SANDY_DNSMASQ_INSIDE_CONF};

        if (!dir)
                return;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *p = path_join(dir, files[i]);
                if (p)
                        (void)unlink(p);
        }
}
