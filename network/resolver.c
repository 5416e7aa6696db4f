/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The files of a sandbox's resolver: its resolv.conf and the configuration of sandy-dns@NAME (dnsmasq),
 * forwarding (lenient) or answering only the allowlist and filling the nft sets (strict). */
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

int resolver_write_files(const Sandbox *s, const SandyConfig *c, const NetAddrs *a) {
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

        if (xasprintf(&resolv, "# The sandbox's own resolver (" SANDBOX_DNS_UNIT_FMT ").\nnameserver %s\n%s%s%s", s->name,
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
        fprintf(f, "# Written by sandy-helper for sandbox %s (Mode=%s); read by " SANDBOX_DNS_UNIT_FMT ".\n", s->name,
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

void resolver_remove_files(const char *name) {
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

