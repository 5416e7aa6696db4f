/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's layer: the "inet sandy" table in the host's network namespace. A constant rule set for every
 * sandbox link ("sb-*"), and per sandbox only set elements: its link and address (anti-spoofing), its
 * resolver, its AllowHostPort= ports, whether it is strict, and the AllowAddress= prefixes inside the
 * private ranges. The exact policy of each sandbox lives in its own namespace (nft-inner.c); this layer is
 * the floor under it, whatever happens in there. Pure text renderers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net-internal.h"
#include "string-util.h"

#define T "inet " SANDY_NFT_TABLE
#define REJECT "reject with icmpx type admin-prohibited"

static void put_list(FILE *f, const char *const *l, const char *extra) {
        for (const char *const *s = l; *s; s++)
                fprintf(f, "%s%s", s == l ? "" : ", ", *s);
        if (extra)
                fprintf(f, ", %s", extra);
}

void nft_put_range_sets(FILE *f, const NetAddrs *pools) {
        fputs("add set " T " never4 { type ipv4_addr; flags interval; auto-merge; elements = { ", f);
        put_list(f, net_never4, pools->pool4);
        fputs(" } }\nadd set " T " never6 { type ipv6_addr; flags interval; auto-merge; elements = { ", f);
        put_list(f, net_never6, pools->pool6);
        fputs(" } }\nadd set " T " special4 { type ipv4_addr; flags interval; elements = { ", f);
        put_list(f, net_special4, NULL);
        fputs(" } }\nadd set " T " special6 { type ipv6_addr; flags interval; elements = { ", f);
        put_list(f, net_special6, NULL);
        fputs(" } }\n", f);
}

int nft_host_skeleton(const NetAddrs *pools, const NetForwardGuard *guard, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        fputs("add table " T "\n", f);
        nft_put_range_sets(f, pools);
        /* The per-sandbox elements (nft_host_elements()). */
        fputs("add set " T " src4 { type ifname . ipv4_addr; }\n"
              "add set " T " src6 { type ifname . ipv6_addr; }\n"
              "add set " T " resolver4 { type ifname . ipv4_addr; }\n"
              "add set " T " resolver6 { type ifname . ipv6_addr; }\n"
              "add set " T " hostports { type ifname . inet_service; }\n"
              "add set " T " strict { type ifname; }\n"
              "add set " T " private4 { type ipv4_addr . ipv4_addr . inet_service; flags interval; }\n"
              "add set " T " private6 { type ipv6_addr . ipv6_addr . inet_service; flags interval; }\n"
              /* The families whose forwarding sandy turned on (net-forward.c). */
              "add set " T " fwguard { type nf_proto; }\n",
              f);
        if (guard->ipv4 || guard->ipv6)
                fprintf(f, "add element " T " fwguard { %s%s%s }\n", guard->ipv4 ? "ipv4" : "",
                        guard->ipv4 && guard->ipv6 ? ", " : "", guard->ipv6 ? "ipv6" : "");
        /* policy accept: the host's other traffic is not ours to judge (but see the guard below). */
        fputs("add chain " T " forward { type filter hook forward priority 0; policy accept; }\n"
              "add chain " T " input { type filter hook input priority 0; policy accept; }\n"
              /* nft 1.0.6 takes no named priorities for nat hooks. */
              "add chain " T " postrouting { type nat hook postrouting priority 100; policy accept; }\n"
              "add chain " T " egress\n"
              "add chain " T " egress_strict\n"
              "add chain " T " to_host\n",
              f);
        static const char *const chains[] = {"forward", "input",         "postrouting",
                                             "egress",  "egress_strict", "to_host"};
        for (size_t i = 0; i < ELEMENTSOF(chains); i++)
                fprintf(f, "flush chain " T " %s\n", chains[i]);

        fputs("add rule " T " forward iifname \"" SANDY_IFNAME_PREFIX "*\" jump egress\n"
              "add rule " T " forward oifname \"" SANDY_IFNAME_PREFIX
              "*\" ct state established,related accept\n"
              /* Nobody opens connections into a sandbox through the host. */
              "add rule " T " forward oifname \"" SANDY_IFNAME_PREFIX "*\" drop\n",
              f);
        /* Forwarding that sandy turned on for its links routes nothing else (net-forward.c). */
        fputs("add rule " T " forward meta nfproto @fwguard drop\n", f);

        /* Leaving a sandbox towards anything but the host. A link without its element (half set up, or
         * stale) gets nothing: fail closed. */
        fputs("add rule " T " egress iifname . ip saddr != @src4 drop\n"
              "add rule " T " egress iifname . ip6 saddr != @src6 drop\n"
              "add rule " T " egress ct state established,related accept\n"
              "add rule " T " egress ct state invalid drop\n"
              "add rule " T " egress ip daddr @never4 " REJECT "\n"
              "add rule " T " egress ip6 daddr @never6 " REJECT "\n"
              /* An AllowAddress= prefix inside a private range is an explicit choice; 0.0.0.0/0 is not. */
              "add rule " T " egress ip saddr . ip daddr . tcp dport @private4 accept\n"
              "add rule " T " egress ip6 saddr . ip6 daddr . tcp dport @private6 accept\n"
              "add rule " T " egress ip daddr @special4 " REJECT "\n"
              "add rule " T " egress ip6 daddr @special6 " REJECT "\n"
              "add rule " T " egress iifname @strict goto egress_strict\n"
              "add rule " T " egress accept\n"
              /* Strict: TCP only (no QUIC, no DNS around its resolver); which addresses and ports is
               * decided in the sandbox's namespace, where the resolver adds what it learns. */
              "add rule " T " egress_strict meta l4proto tcp accept\n"
              "add rule " T " egress_strict " REJECT "\n",
              f);

        /* To the host itself: its resolver and AllowHostPort= only. */
        fputs("add rule " T " input iifname \"" SANDY_IFNAME_PREFIX "*\" jump to_host\n"
              "add rule " T " to_host ct state established,related accept\n"
              "add rule " T
              " to_host icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } "
              "accept\n"
              "add rule " T " to_host iifname . ip saddr != @src4 drop\n"
              "add rule " T " to_host iifname . ip6 saddr != @src6 drop\n"
              "add rule " T
              " to_host meta l4proto { tcp, udp } th dport 53 iifname . ip daddr @resolver4 accept\n"
              "add rule " T
              " to_host meta l4proto { tcp, udp } th dport 53 iifname . ip6 daddr @resolver6 accept\n"
              "add rule " T " to_host iifname . tcp dport @hostports accept\n"
              "add rule " T " to_host meta l4proto tcp reject with tcp reset\n"
              "add rule " T " to_host " REJECT "\n",
              f);

        /* iifname is not known on postrouting; the anti-spoofing rules make the source address as good. */
        fprintf(f,
                "add rule " T " postrouting ip saddr %s oifname != \"" SANDY_IFNAME_PREFIX
                "*\" masquerade\n",
                pools->pool4);
        fprintf(f,
                "add rule " T " postrouting ip6 saddr %s oifname != \"" SANDY_IFNAME_PREFIX
                "*\" masquerade\n",
                pools->pool6);
        return memstream_finish(&f, &buf, ret);
}

/* "ADDR . PREFIX . PORT" for each port or range of the list. */
static void put_private(FILE *f, const char *saddr, const NetAllow *a) {
        for (const char *p = a->ports; *p;) {
                size_t n = strcspn(p, ",");
                fprintf(f, "%s . %s . %.*s", saddr, a->prefix, (int)n, p);
                p += n;
                if (*p) {
                        fputs(", ", f);
                        p++;
                }
        }
}

int nft_host_elements(const NetPolicy *p, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);
        const NetAddrs *a = &p->addrs;

        if (!f)
                return -ENOMEM;
        fprintf(f, "add element " T " src4 { \"%s\" . %s }\n", p->ifname, a->sandbox4);
        fprintf(f, "add element " T " resolver4 { \"%s\" . %s }\n", p->ifname, a->host4);
        if (a->ipv6) {
                fprintf(f, "add element " T " src6 { \"%s\" . %s }\n", p->ifname, a->sandbox6);
                fprintf(f, "add element " T " resolver6 { \"%s\" . %s }\n", p->ifname, a->host6);
        }
        if (p->n_host_ports > 0) {
                fprintf(f, "add element " T " hostports { ");
                for (size_t i = 0; i < p->n_host_ports; i++)
                        fprintf(f, "%s\"%s\" . %u", i > 0 ? ", " : "", p->ifname,
                                (unsigned)p->host_ports[i]);
                fputs(" }\n", f);
        }
        if (p->strict)
                fprintf(f, "add element " T " strict { \"%s\" }\n", p->ifname);
        for (int fam = 4; fam <= 6; fam += 2) {
                bool any = false;
                for (size_t i = 0; i < p->n_allows; i++) {
                        const NetAllow *al = &p->allows[i];
                        if (!al->private_range || (al->family == AF_INET) != (fam == 4))
                                continue;
                        if (fam == 6 && !a->ipv6)
                                continue;
                        fprintf(f, "%s",
                                any        ? ", "
                                : fam == 4 ? "add element " T " private4 { "
                                           : "add element " T " private6 { ");
                        put_private(f, fam == 4 ? a->sandbox4 : a->sandbox6, al);
                        any = true;
                }
                if (any)
                        fputs(" }\n", f);
        }
        return memstream_finish(&f, &buf, ret);
}

int nft_host_elements_remove(const char *elements, char **ret) {
        _cleanup_free_ char *out = NULL;

        /* nft 1.0.6 has no "destroy": "add" makes sure each element exists, so that "delete" cannot fail
         * and removing twice is fine. One transaction. */
        if (strextendf(&out, "%s", elements) < 0)
                return -ENOMEM;
        for (const char *l = elements; *l;) {
                size_t n = strcspn(l, "\n");
                if (startswith(l, "add element ") &&
                    strextendf(&out, "delete%.*s\n", (int)(n - 3), l + 3) < 0)
                        return -ENOMEM;
                l += n;
                if (*l)
                        l++;
        }
        *ret = TAKE_PTR(out);
        return 0;
}
