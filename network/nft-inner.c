/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The sandbox's own layer: an "inet sandy" table in the sandbox's network namespace, on its output (and
 * input) path. The namespace belongs to the initial user namespace, so root inside the sandbox has no
 * CAP_NET_ADMIN over it and cannot change this table; a flush of the host's ruleset does not reach it. It
 * carries the sandbox's whole policy: the host layer (nft-host.c) is the floor under it. In strict mode its
 * resolver (dnsmasq in this namespace, sandy-dns-inside@NAME) adds the addresses of allowed domains to the
 * dom4_N/dom6_N sets before it answers. Pure text renderers. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net-internal.h"
#include "string-util.h"
#include "strv.h"

#define T "inet " SANDY_NFT_TABLE
#define REJECT "reject with icmpx type admin-prohibited"
/* DNS answers are re-added on every lookup (the inside resolver keeps no cache); the timeout only bounds
 * how long a stale address stays. */
#define DOM_SET_SPEC4 "{ type ipv4_addr; flags timeout; timeout 1h; }"
#define DOM_SET_SPEC6 "{ type ipv6_addr; flags timeout; timeout 1h; }"

static int put_allow(FILE *f, const NetAllow *a) {
        _cleanup_free_ char *ports = NULL;
        int r = net_ports_nft(a->ports, &ports);
        if (r < 0)
                return r;
        fprintf(f, "add rule " T " output %s daddr %s tcp dport %s accept\n",
                a->family == AF_INET ? "ip" : "ip6", a->prefix, ports);
        return 0;
}

int nft_inner_script(const NetPolicy *p, char **ret) {
        _cleanup_free_ char *buf = NULL, *hostports = NULL;
        const NetAddrs *a = &p->addrs;
        size_t size;
        FILE *f;
        int r = 0;

        if (p->n_host_ports > 0) {
                if (strextendf(&hostports, "{ ") < 0)
                        return -ENOMEM;
                for (size_t i = 0; i < p->n_host_ports; i++)
                        if (strextendf(&hostports, "%s%u", i > 0 ? ", " : "", (unsigned)p->host_ports[i]) <
                            0)
                                return -ENOMEM;
                if (strextendf(&hostports, " }") < 0)
                        return -ENOMEM;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fprintf(f, "# The egress policy of sandbox %s (Mode=%s), inside its network namespace.\n", p->name,
                p->strict ? "strict" : "lenient");
        fputs("add table " T "\n", f);
        nft_put_range_sets(f, a);
        /* The host's own addresses, kept current by sandy-helper (nft_inner_hostaddrs()). */
        fputs("add set " T " hostaddr4 { type ipv4_addr; }\n"
              "add set " T " hostaddr6 { type ipv6_addr; }\n",
              f);
        for (size_t i = 0; i < p->n_groups; i++) {
                fprintf(f, "add set " T " dom4_%zu " DOM_SET_SPEC4 "\n", i);
                fprintf(f, "add set " T " dom6_%zu " DOM_SET_SPEC6 "\n", i);
        }
        /* policy drop: a flushed chain fails closed. */
        fputs("add chain " T " output { type filter hook output priority 0; policy drop; }\n"
              "add chain " T " input { type filter hook input priority 0; policy drop; }\n",
              f);

        fputs("add rule " T " output oif \"lo\" accept\n"
              "add rule " T " output ct state established,related accept\n"
              "add rule " T
              " output icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
              "mld2-listener-report } accept\n",
              f);
        /* DNS: lenient to the host side's resolver; strict only the resolver in here (its user) does. */
        const char *who = "";
        char uidbuf[32] = "";
        if (p->strict) {
                snprintf(uidbuf, sizeof uidbuf, "meta skuid %u ", (unsigned)p->resolver_uid);
                who = uidbuf;
        }
        fprintf(f, "add rule " T " output %sip daddr %s meta l4proto { tcp, udp } th dport 53 accept\n", who,
                a->host4);
        if (a->ipv6)
                fprintf(f,
                        "add rule " T
                        " output %sip6 daddr %s meta l4proto { tcp, udp } th dport 53 accept\n",
                        who, a->host6);
        if (hostports) {
                fprintf(f, "add rule " T " output ip daddr %s tcp dport %s accept\n", a->host4, hostports);
                fprintf(f, "add rule " T " output ip daddr @hostaddr4 tcp dport %s accept\n", hostports);
                if (a->ipv6)
                        fprintf(f, "add rule " T " output ip6 daddr %s tcp dport %s accept\n", a->host6,
                                hostports);
                fprintf(f, "add rule " T " output ip6 daddr @hostaddr6 tcp dport %s accept\n", hostports);
        }
        fputs("add rule " T " output ip daddr @never4 " REJECT "\n"
              "add rule " T " output ip6 daddr @never6 " REJECT "\n"
              "add rule " T " output ip daddr @hostaddr4 " REJECT "\n"
              "add rule " T " output ip6 daddr @hostaddr6 " REJECT "\n",
              f);
        /* An AllowAddress= prefix that lies inside a private range is an explicit choice; 0.0.0.0/0 or
         * 10.0.0.0/7 are not, and come after the private ranges are closed. */
        for (size_t i = 0; i < p->n_allows && r >= 0; i++)
                if (p->allows[i].private_range)
                        r = put_allow(f, &p->allows[i]);
        fputs("add rule " T " output ip daddr @special4 " REJECT "\n"
              "add rule " T " output ip6 daddr @special6 " REJECT "\n",
              f);
        if (p->strict) {
                for (size_t i = 0; i < p->n_allows && r >= 0; i++)
                        if (!p->allows[i].private_range)
                                r = put_allow(f, &p->allows[i]);
                for (size_t i = 0; i < p->n_groups && r >= 0; i++) {
                        _cleanup_free_ char *ports = NULL;
                        r = net_ports_nft(p->groups[i].ports, &ports);
                        if (r < 0)
                                break;
                        fprintf(f, "add rule " T " output ip daddr @dom4_%zu tcp dport %s accept\n", i,
                                ports);
                        fprintf(f, "add rule " T " output ip6 daddr @dom6_%zu tcp dport %s accept\n", i,
                                ports);
                }
                fputs("add rule " T " output meta l4proto tcp reject with tcp reset\n"
                      "add rule " T " output " REJECT "\n",
                      f);
        } else
                fputs("add rule " T " output accept\n", f);

        /* Nobody but the host opens connections into the sandbox (the port forwards connect to its
         * loopback from inside). */
        fputs("add rule " T " input iif \"lo\" accept\n"
              "add rule " T " input ct state established,related accept\n"
              "add rule " T " input icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n",
              f);
        fprintf(f, "add rule " T " input ip saddr %s accept\n", a->host4);
        if (a->ipv6)
                fprintf(f, "add rule " T " input ip6 saddr %s accept\n", a->host6);
        if (r < 0) {
                fclose(f);
                return r;
        }
        return memstream_finish(&f, &buf, ret);
}

int nft_elements_append(char **script, const char *set, char *const *elements) {
        _cleanup_free_ char *joined = NULL;

        if (strv_isempty(elements))
                return 0;
        joined = strv_join(elements, ", ");
        if (!joined || strextendf(script, "add element " T " %s { %s }\n", set, joined) < 0)
                return -ENOMEM;
        return 0;
}

int nft_inner_hostaddrs(char *const *addrs4, char *const *addrs6, char **ret) {
        _cleanup_free_ char *s = NULL;

        if (strextendf(&s, "flush set " T " hostaddr4\nflush set " T " hostaddr6\n") < 0 ||
            nft_elements_append(&s, "hostaddr4", addrs4) < 0 ||
            nft_elements_append(&s, "hostaddr6", addrs6) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}
