/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The egress policy of one sandbox, from its declaration: what the nft renderers (nft-host.c, nft-inner.c)
 * and the resolver files (resolver.c) are made from. Pure: no system state is read here. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "net-internal.h"
#include "string-util.h"
#include "strv.h"
#include "validate.h"

/* Ranges a sandbox reaches only through an AllowAddress= prefix that lies entirely inside one of them: the
 * LAN (RFC 1918), CGNAT, IPv4 link-local, ULA. */
const char *const net_special4[] = {"10.0.0.0/8",    "100.64.0.0/10",  "169.254.0.0/16",
                                    "172.16.0.0/12", "192.168.0.0/16", NULL};
const char *const net_special6[] = {"fc00::/7", NULL};
/* Never reachable, whatever AllowAddress= says: cloud metadata services (AWS, GCP, Azure, OpenStack,
 * DigitalOcean, Oracle at 169.254.169.254 and their DNS/NTP beside it, ECS/EKS task metadata, Alibaba,
 * Azure's wire server, AWS and GCP over IPv6), "this network", loopback, multicast and reserved, NAT64 (it
 * would reach private IPv4 through a translator), IPv6 link-local (from a sandbox's link that is only ever
 * the host's end of it), and the sandbox pool itself (added by the renderers). */
const char *const net_never4[] = {"169.254.169.0/24", "169.254.170.0/24", "100.100.100.200",
                                  "168.63.129.16",    "0.0.0.0/8",        "127.0.0.0/8",
                                  "224.0.0.0/4",      "240.0.0.0/4",      NULL};
const char *const net_never6[] = {"fd00:ec2::/32",
                                  "fd20:ce::254",
                                  "::/128",
                                  "::1/128",
                                  "::ffff:0:0/96",
                                  "64:ff9b::/96",
                                  "64:ff9b:1::/48",
                                  "100::/64",
                                  "fe80::/10",
                                  "ff00::/8",
                                  NULL};

/* An AllowAddress= entry, as the declaration's parser (lib/validate.c) reads it. */
static int parse_allow(const char *entry, NetAllow *ret) {
        _cleanup_free_ char *ports = NULL;
        unsigned char bin[16];
        unsigned prefix;
        int family, r;

        r = address_parse(entry, &family, bin, &prefix, &ports);
        if (r < 0)
                return r;
        *ret = (NetAllow){.family = family};
        r = address_format(family, bin, prefix, true, &ret->prefix);
        if (r < 0)
                return r;
        if (!(ret->ports = strdup(ports ?: NET_DEFAULT_PORTS)))
                return -ENOMEM;
        for (const char *const *s = family == AF_INET ? net_special4 : net_special6; *s; s++)
                if (address_in_range(family, bin, prefix, *s))
                        ret->private_range = true;
        return 0;
}

static int add_domain(NetPolicy *p, const char *entry) {
        _cleanup_free_ char *domain = NULL, *ports = NULL;
        int r = allow_domain_split(entry, &domain, &ports);
        if (r < 0)
                return r;
        const char *want = ports ?: NET_DEFAULT_PORTS;
        for (size_t i = 0; i < p->n_groups; i++)
                if (streq(p->groups[i].ports, want))
                        return strv_consume(&p->groups[i].domains, TAKE_PTR(domain));
        NetDomainGroup *n = realloc(p->groups, sizeof(NetDomainGroup) * (p->n_groups + 1));
        if (!n)
                return -ENOMEM;
        p->groups = n;
        p->groups[p->n_groups] = (NetDomainGroup){.index = p->n_groups, .ports = strdup(want)};
        if (!p->groups[p->n_groups].ports)
                return -ENOMEM;
        r = strv_consume(&p->groups[p->n_groups].domains, TAKE_PTR(domain));
        p->n_groups++;
        return r;
}

int net_policy_from_sandbox(const Sandbox *s, const char *ifname, const NetAddrs *a, uid_t resolver_uid,
                            NetPolicy *ret) {
        NetPolicy p = {
                        .name = s->name,
                        .strict = s->network_mode == NETWORK_STRICT,
                        .addrs = *a,
                        .resolver_uid = resolver_uid,
        };
        int r = 0;

        snprintf(p.ifname, sizeof p.ifname, "%s", ifname);
        if (p.strict) {
                STRV_FOREACH (e, s->allow_addresses) {
                        NetAllow *n = realloc(p.allows, sizeof(NetAllow) * (p.n_allows + 1));
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        p.allows = n;
                        r = parse_allow(*e, &p.allows[p.n_allows++]);
                        if (r < 0)
                                break;
                }
                STRV_FOREACH (e, s->allow_domains) {
                        if (r < 0)
                                break;
                        r = add_domain(&p, *e);
                }
        }
        if (r >= 0 && s->n_allow_host_ports > 0) {
                p.host_ports = malloc(sizeof(uint16_t) * s->n_allow_host_ports);
                if (!p.host_ports)
                        r = -ENOMEM;
                else {
                        memcpy(p.host_ports, s->allow_host_ports, sizeof(uint16_t) * s->n_allow_host_ports);
                        p.n_host_ports = s->n_allow_host_ports;
                }
        }
        if (r < 0) {
                net_policy_done(&p);
                return log_error_errno(r, "Cannot make the egress policy of %s: %m", s->name);
        }
        *ret = p;
        return 0;
}

void net_policy_done(NetPolicy *p) {
        for (size_t i = 0; i < p->n_allows; i++) {
                free(p->allows[i].prefix);
                free(p->allows[i].ports);
        }
        free(p->allows);
        for (size_t i = 0; i < p->n_groups; i++) {
                free(p->groups[i].ports);
                strv_free(p->groups[i].domains);
        }
        free(p->groups);
        free(p->host_ports);
        *p = (NetPolicy){};
}

int net_ports_nft(const char *ports, char **ret) {
        /* "443" stays as it is; "80,443" becomes "{ 80, 443 }" (ranges keep their '-'). */
        if (!strchr(ports, ','))
                return (*ret = strdup(ports)) ? 0 : -ENOMEM;
        _cleanup_free_ char *s = NULL;
        if (strextendf(&s, "{ ") < 0)
                return -ENOMEM;
        for (const char *c = ports; *c; c++)
                if (*c == ',' ? strextendf(&s, ", ") < 0 : strextendf(&s, "%c", *c) < 0)
                        return -ENOMEM;
        if (strextendf(&s, " }") < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}
