/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "inet sandy" table: text scripts handed to libnftables, each one netlink transaction. */
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "net-internal.h"
#include "strv.h"
#include "string-util.h"

#define T "inet " SANDY_NFT_TABLE
/* DNS answers are re-added on every lookup; the timeout only bounds how long a stale address stays. */
#define STRICT_SET_SPEC4 "{ type ipv4_addr; flags timeout; timeout 1h; }"
#define STRICT_SET_SPEC6 "{ type ipv6_addr; flags timeout; timeout 1h; }"
#define REJECT "reject with icmpx type admin-prohibited"

static int finish(FILE **f, char **buf, char **ret) {
        int r = ferror(*f) ? -ENOMEM : 0;
        if (fclose(*f) != 0 && r == 0)
                r = -errno;
        *f = NULL;
        if (r < 0) {
                *buf = mfree(*buf);
                return r;
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

int nft_skeleton_script(const NetAddrs *p, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        fputs("add table " T "\n", f);
        /* What lenient sandboxes may not reach (besides the host, handled on the input hook), and the pool
         * itself so sandboxes never reach each other. Interval sets with auto-merge: ranges overlap. */
        fprintf(f,
                "add set " T " blocked4 { type ipv4_addr; flags interval; auto-merge; elements = { "
                "0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16, 172.16.0.0/12, "
                "192.168.0.0/16, 224.0.0.0/4, 240.0.0.0/4, 168.63.129.16, %s } }\n",
                p->pool4);
        fprintf(f,
                "add set " T " blocked6 { type ipv6_addr; flags interval; auto-merge; elements = { "
                "::/128, ::1/128, ::ffff:0:0/96, 64:ff9b::/96, 100::/64, fc00::/7, fe80::/10, ff00::/8, "
                "fd00:ec2::254, %s } }\n",
                p->pool6);
        fputs("add map " T " sandy_fwd { type ifname : verdict; }\n"
              "add map " T " sandy_in { type ifname : verdict; }\n"
              /* policy accept: the host's other forwarding is not ours to judge. */
              "add chain " T " forward { type filter hook forward priority 0; policy accept; }\n"
              "add chain " T " input { type filter hook input priority 0; policy accept; }\n"
              /* nft 1.0.6 takes no named priorities for nat hooks. */
              "add chain " T " postrouting { type nat hook postrouting priority 100; policy accept; }\n"
              "flush chain " T " forward\n"
              "flush chain " T " input\n"
              "flush chain " T " postrouting\n"
              "add rule " T " forward iifname vmap @sandy_fwd\n"
              /* A sandbox link without map entry (half set up, or stale) gets nothing: fail closed. */
              "add rule " T " forward iifname \"" SANDY_IFNAME_PREFIX "*\" drop\n"
              "add rule " T " forward oifname \"" SANDY_IFNAME_PREFIX "*\" ct state established,related accept\n"
              "add rule " T " forward oifname \"" SANDY_IFNAME_PREFIX "*\" drop\n"
              "add rule " T " input iifname vmap @sandy_in\n"
              "add rule " T " input iifname \"" SANDY_IFNAME_PREFIX "*\" drop\n",
              f);
        /* iifname is not known on postrouting; the anti-spoofing rules make the source address as good. */
        fprintf(f, "add rule " T " postrouting ip saddr %s oifname != \"" SANDY_IFNAME_PREFIX "*\" masquerade\n",
                p->pool4);
        fprintf(f, "add rule " T " postrouting ip6 saddr %s oifname != \"" SANDY_IFNAME_PREFIX "*\" masquerade\n",
                p->pool6);
        return finish(&f, &buf, ret);
}

/* AllowAddress= in its normalised form: "A[/P][:PORT]" or "[A6[/P]]:PORT", "[A6]/P:PORT", "A6[/P]". */
static int put_allow_address(FILE *f, const char *chain, const char *spec) {
        _cleanup_free_ char *addr = NULL;
        const char *port = NULL;
        bool v6;

        if (spec[0] == '[') {
                const char *close = strchr(spec, ']');
                if (!close)
                        return -EINVAL;
                addr = strndup(spec + 1, close - spec - 1);
                if (!addr)
                        return -ENOMEM;
                const char *rest = close + 1;
                if (rest[0] == '/') { /* "[A]/P:PORT" */
                        const char *colon = strchr(rest, ':');
                        _cleanup_free_ char *pfx = colon ? strndup(rest, colon - rest) : strdup(rest);
                        char *n = NULL;
                        if (!pfx || xasprintf(&n, "%s%s", addr, pfx) < 0)
                                return -ENOMEM;
                        free(addr);
                        addr = n;
                        rest = colon ?: "";
                }
                if (rest[0] == ':')
                        port = rest + 1;
                v6 = true;
        } else if (strchr(spec, ':') && strchr(spec, ':') != strrchr(spec, ':')) {
                addr = strdup(spec);
                if (!addr)
                        return -ENOMEM;
                v6 = true;
        } else {
                const char *colon = strchr(spec, ':');
                addr = colon ? strndup(spec, colon - spec) : strdup(spec);
                if (!addr)
                        return -ENOMEM;
                port = colon ? colon + 1 : NULL;
                v6 = false;
        }
        for (const char *c = addr; *c; c++)
                if (!strchr("0123456789abcdefABCDEF:./", *c))
                        return -EINVAL;
        if (port && strspn(port, "0123456789") != strlen(port))
                return -EINVAL;
        if (port)
                fprintf(f, "add rule " T " %s %s daddr %s tcp dport %s accept\n", chain, v6 ? "ip6" : "ip", addr,
                        port);
        else
                fprintf(f, "add rule " T " %s %s daddr %s meta l4proto tcp accept\n", chain, v6 ? "ip6" : "ip",
                        addr);
        return 0;
}

int nft_sandbox_script(const Sandbox *s, const char *ifname, const NetAddrs *a, char **ret) {
        _cleanup_free_ char *buf = NULL, *fwd = NULL, *in = NULL;
        bool strict = s->network_mode == NETWORK_STRICT;
        size_t size;
        FILE *f;
        int r = 0;

        if (xasprintf(&fwd, "sb_%s_fwd", s->name) < 0 || xasprintf(&in, "sb_%s_in", s->name) < 0)
                return -ENOMEM;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        /* "create": the chains and sets must be new (network_setup() removed any old ones first); no
         * "flush", which makes libnftables fetch every rule of the table. */
        fprintf(f, "create chain " T " %s\n", fwd);
        fprintf(f, "create chain " T " %s\n", in);
        if (strict) {
                fprintf(f, "create set " T " sb_%s_a4 " STRICT_SET_SPEC4 "\n", s->name);
                fprintf(f, "create set " T " sb_%s_a6 " STRICT_SET_SPEC6 "\n", s->name);
        }

        /* Leaving the sandbox towards anything but the host. Anti-spoofing first. */
        fprintf(f, "add rule " T " %s ip saddr != %s drop\n", fwd, a->sandbox4);
        if (a->ipv6)
                fprintf(f, "add rule " T " %s ip6 saddr != %s drop\n", fwd, a->sandbox6);
        else
                fprintf(f, "add rule " T " %s meta nfproto ipv6 drop\n", fwd);
        fprintf(f, "add rule " T " %s ct state established,related accept\n", fwd);
        fprintf(f, "add rule " T " %s ct state invalid drop\n", fwd);
        if (strict)
                /* Explicitly allowed addresses win over the special ranges: the admin asked for them. */
                STRV_FOREACH(addr, s->allow_addresses) {
                        r = put_allow_address(f, fwd, *addr);
                        if (r < 0)
                                break;
                }
        fprintf(f, "add rule " T " %s ip daddr @blocked4 " REJECT "\n", fwd);
        fprintf(f, "add rule " T " %s ip6 daddr @blocked6 " REJECT "\n", fwd);
        if (strict) {
                /* No DNS over TLS around the resolver; no UDP at all (QUIC, DNS to elsewhere). */
                fprintf(f, "add rule " T " %s tcp dport 853 reject with tcp reset\n", fwd);
                fprintf(f, "add rule " T " %s ip daddr @sb_%s_a4 meta l4proto tcp accept\n", fwd, s->name);
                fprintf(f, "add rule " T " %s ip6 daddr @sb_%s_a6 meta l4proto tcp accept\n", fwd, s->name);
                fprintf(f, "add rule " T " %s meta l4proto tcp reject with tcp reset\n", fwd);
                fprintf(f, "add rule " T " %s " REJECT "\n", fwd);
        } else
                fprintf(f, "add rule " T " %s accept\n", fwd);

        /* To the host itself: only the sandbox's resolver and AllowHostPort=. */
        fprintf(f, "add rule " T " %s ct state established,related accept\n", in);
        if (a->ipv6)
                fprintf(f,
                        "add rule " T " %s icmpv6 type { nd-router-solicit, nd-neighbor-solicit, "
                        "nd-neighbor-advert } accept\n",
                        in);
        fprintf(f, "add rule " T " %s ip saddr %s ip daddr %s meta l4proto { tcp, udp } th dport 53 accept\n", in,
                a->sandbox4, a->host4);
        if (a->ipv6)
                fprintf(f,
                        "add rule " T " %s ip6 saddr %s ip6 daddr %s meta l4proto { tcp, udp } th dport 53 accept\n",
                        in, a->sandbox6, a->host6);
        if (s->n_allow_host_ports > 0) {
                _cleanup_free_ char *ports = NULL;
                for (size_t i = 0; i < s->n_allow_host_ports; i++) {
                        char *n = NULL;
                        if (xasprintf(&n, "%s%s%u", ports ?: "", ports ? ", " : "",
                                      (unsigned) s->allow_host_ports[i]) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        free(ports);
                        ports = n;
                }
                if (ports) {
                        fprintf(f, "add rule " T " %s ip saddr %s tcp dport { %s } accept\n", in, a->sandbox4,
                                ports);
                        if (a->ipv6)
                                fprintf(f, "add rule " T " %s ip6 saddr %s tcp dport { %s } accept\n", in,
                                        a->sandbox6, ports);
                }
        }
        fprintf(f, "add rule " T " %s meta l4proto tcp reject with tcp reset\n", in);
        fprintf(f, "add rule " T " %s " REJECT "\n", in);

        /* Last: only now does traffic from the link reach the chains. */
        fprintf(f, "add element " T " sandy_fwd { \"%s\" : jump %s }\n", ifname, fwd);
        fprintf(f, "add element " T " sandy_in { \"%s\" : jump %s }\n", ifname, in);

        if (r < 0) {
                fclose(f);
                return r;
        }
        return finish(&f, &buf, ret);
}

int nft_sandbox_remove_script(const char *name, const char *ifname, bool strict_sets, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        /* nft 1.0.6 has no "destroy": "add" makes sure each object exists, so that "delete" cannot fail and
         * removing twice is fine. */
        fprintf(f, "add chain " T " sb_%s_fwd\nadd chain " T " sb_%s_in\n", name, name);
        fprintf(f, "add element " T " sandy_fwd { \"%s\" : jump sb_%s_fwd }\n", ifname, name);
        fprintf(f, "add element " T " sandy_in { \"%s\" : jump sb_%s_in }\n", ifname, name);
        fprintf(f, "delete element " T " sandy_fwd { \"%s\" }\n", ifname);
        fprintf(f, "delete element " T " sandy_in { \"%s\" }\n", ifname);
        /* The kernel deletes a chain's rules with it once nothing jumps there any more. */
        fprintf(f, "delete chain " T " sb_%s_fwd\n", name);
        fprintf(f, "delete chain " T " sb_%s_in\n", name);
        if (strict_sets) {
                fprintf(f, "add set " T " sb_%s_a4 " STRICT_SET_SPEC4 "\ndelete set " T " sb_%s_a4\n", name, name);
                fprintf(f, "add set " T " sb_%s_a6 " STRICT_SET_SPEC6 "\ndelete set " T " sb_%s_a6\n", name, name);
        }
        return finish(&f, &buf, ret);
}

static struct nft_ctx *nft_ctx_get(void) {
        /* One context for the process: creating one costs more than a small batch. */
        static struct nft_ctx *ctx = NULL;

        if (!ctx) {
                ctx = nft_ctx_new(NFT_CTX_DEFAULT);
                if (!ctx)
                        return NULL;
                if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0) {
                        nft_ctx_free(ctx);
                        ctx = NULL;
                }
        }
        return ctx;
}

int nft_apply(const char *script) {
        struct nft_ctx *ctx = nft_ctx_get();
        if (!ctx)
                return log_oom();
        int r = nft_run_cmd_from_buffer(ctx, script);
        const char *err = nft_ctx_get_error_buffer(ctx);
        (void) nft_ctx_get_output_buffer(ctx);
        if (r != 0) {
                log_error("nft batch failed, nothing was changed: %s", isempty(err) ? "(no message)" : err);
                log_debug("The batch was:\n%s", script);
                return -EIO;
        }
        return 0;
}

int nft_query(const char *cmd, char **ret) {
        struct nft_ctx *ctx = nft_ctx_get();
        if (!ctx)
                return -ENOMEM;
        int r = nft_run_cmd_from_buffer(ctx, cmd);
        const char *out = nft_ctx_get_output_buffer(ctx);
        (void) nft_ctx_get_error_buffer(ctx);
        if (r != 0)
                return -ENOENT;
        if (ret) {
                *ret = strdup(out ?: "");
                if (!*ret)
                        return -ENOMEM;
        }
        return 0;
}

bool nft_table_exists(void) {
        return nft_query("list chain " T " forward", NULL) == 0;
}

int nft_list_sandboxes(char ***ret) {
        _cleanup_free_ char *out = NULL;
        _cleanup_strv_free_ char **names = NULL;
        int r;

        /* nft 1.0.6 has no "list chains FAMILY TABLE"; the table listing has every chain header. */
        r = nft_query("list table " T, &out);
        if (r == -ENOENT) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        for (char *l = out; l && *l;) {
                char *nl = strchr(l, '\n');
                if (nl)
                        *nl = 0;
                const char *p = strstr(l, "chain sb_");
                if (p) {
                        p += strlen("chain sb_");
                        const char *e = strstr(p, "_fwd {");
                        if (e) {
                                char *n = strndup(p, e - p);
                                if (!n || strv_consume(&names, n) < 0)
                                        return -ENOMEM;
                        }
                }
                l = nl ? nl + 1 : NULL;
        }
        *ret = TAKE_PTR(names);
        return 0;
}
