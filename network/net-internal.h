/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "paths.h"
#include "sandbox.h"

/* Runtime state of sandbox networking is in SANDY_NET_DIR (paths.h). One symlink per taken slot:
 * SANDY_NET_ALLOC_DIR/SLOT -> NAME. symlink() is atomic, so two concurrent setups can never take the same
 * slot. Per sandbox, SANDY_NET_DIR/NAME holds the resolver files and the rules applied (host.nft,
 * inner.nft): what the self-healing and sandy-netctl check restore and compare against. */
#define SANDY_NFT_TABLE "sandy"
#define SANDY_INNER_IFNAME "sandy0"
#define SANDY_IFNAME_PREFIX "sb-"
/* AllowDomain= and AllowAddress= without ports (sandy.sandbox(5)). */
#define NET_DEFAULT_PORTS "80,443"

typedef struct NetAddrs {
        unsigned slot;
        bool ipv6;
        char host4[INET_ADDRSTRLEN], sandbox4[INET_ADDRSTRLEN], pool4[INET6_ADDRSTRLEN + 5];
        char host6[INET6_ADDRSTRLEN], sandbox6[INET6_ADDRSTRLEN], pool6[INET6_ADDRSTRLEN + 5];
} NetAddrs;

/* "sb-" and 12 hex digits of a hash of the name: fits IFNAMSIZ, same on every start. */
void net_ifname(const char *name, char ret[static IFNAMSIZ]);
void net_pool_strings(const SandyConfig *c, NetAddrs *a);
int net_addrs_for_slot(const SandyConfig *c, unsigned slot, NetAddrs *ret);

/* Slots (net-addr.c): SANDY_NET_ALLOC_DIR/SLOT, and taking the first free one for name. */
int net_slot_path(unsigned slot, char **ret);
int net_slot_allocate(const SandyConfig *c, const char *name, unsigned *ret);
/* The slot name holds (it is set up), or -ENOENT. */
int network_slot_of(const char *name, unsigned *ret);

/* ---- the policy (net-policy.c) */

/* Ranges opened only by an AllowAddress= prefix inside one of them, and ranges never opened (the pool is
 * added by the renderers). NULL-terminated. */
extern const char *const net_special4[], *const net_special6[], *const net_never4[], *const net_never6[];

typedef struct NetAllow {
        int family;
        char *prefix;       /* "192.168.77.0/24" */
        char *ports;        /* "80,443", "8000-8100" */
        bool private_range; /* lies entirely inside one of net_special4/6 */
} NetAllow;

/* The AllowDomain= entries with the same ports share the sets dom4_INDEX, dom6_INDEX. */
typedef struct NetDomainGroup {
        size_t index;
        char *ports;
        char **domains;
} NetDomainGroup;

typedef struct NetPolicy {
        const char *name;
        bool strict;
        char ifname[IFNAMSIZ];
        NetAddrs addrs;
        NetAllow *allows;
        size_t n_allows;
        NetDomainGroup *groups;
        size_t n_groups;
        uint16_t *host_ports;
        size_t n_host_ports;
        uid_t resolver_uid; /* SANDY_DNS_USER: the only one that may ask the host side's resolver (strict) */
} NetPolicy;

int net_policy_from_sandbox(const Sandbox *s, const char *ifname, const NetAddrs *a, uid_t resolver_uid,
                            NetPolicy *ret);
void net_policy_done(NetPolicy *p);
/* "443" -> "443", "80,443" -> "{ 80, 443 }". */
int net_ports_nft(const char *ports, char **ret);

/* ---- nft scripts: renderers (pure) */

typedef struct NetForwardGuard {
        bool ipv4, ipv6; /* sandy turned forwarding on: route nothing but sandbox links */
} NetForwardGuard;

/* The host's table (nft-host.c): the constant skeleton, one sandbox's elements, and the script that
 * removes elements again (idempotent). */
int nft_host_skeleton(const NetAddrs *pools, const NetForwardGuard *guard, char **ret);
int nft_host_elements(const NetPolicy *p, char **ret);
int nft_host_elements_remove(const char *elements, char **ret);
/* The sandbox's own table (nft-inner.c), and the script that sets its hostaddr4/6 sets. */
int nft_inner_script(const NetPolicy *p, char **ret);
int nft_inner_hostaddrs(char *const *addrs4, char *const *addrs6, char **ret);
/* The resolver files (resolver.c): resolv.conf, sandy-dns@NAME's config, sandy-dns-inside@NAME's (NULL
 * unless strict). */
int resolver_resolv_conf(const NetPolicy *p, char **ret);
int resolver_host_conf(const NetPolicy *p, char *const *upstreams, bool stop_dns_rebind, char **ret);
int resolver_inside_conf(const NetPolicy *p, bool stop_dns_rebind, char **ret);
int resolver_write_files(const NetPolicy *p, const SandyConfig *c);
void resolver_remove_files(const char *name);
/* Wait until the resolver of name (inside: its sandy-dns-inside@, queried from its namespace) answers a
 * query, or timeout_ms pass (-ETIMEDOUT, logged). */
int resolver_wait_ready(const char *name, bool inside, unsigned timeout_ms);

/* ---- nft: running them (nft.c). netns_fd -1: the host's namespace. */
int memstream_finish(FILE **f, char **buf, char **ret);
int nft_apply_in(int netns_fd, const char *script);
int nft_apply(const char *script);
int nft_query_in(int netns_fd, const char *cmd, char **ret);
int nft_query(const char *cmd, char **ret);
bool nft_table_exists(void);
/* The addresses in a set of the "inet sandy" table. */
int nft_set_elements(int netns_fd, const char *set, char ***ret);

/* ---- the host's table and the sandboxes' tables as a whole (net-tables.c) */

/* The host's own addresses outside the pools (cached while the guard runs). */
int net_host_addresses(char ***ret4, char ***ret6);
void net_host_addresses_invalidate(void);
/* Apply the elements of one sandbox; creates the table first if it is missing. */
int net_host_add(const char *elements);
/* Replace the whole host table, in one transaction, by the skeleton and the elements of every sandbox
 * whose SANDY_NET_DIR/NAME/host.nft exists. */
int net_host_rebuild(void);
/* The script of the sandbox's own table, with the host's addresses, from its inner.nft; keep: also put
 * back what the resolver learned (the dom sets' addresses). */
int net_inner_apply(const char *name, int netns_fd, bool keep_learned);
/* The state files of name: read, write, remove. */
int net_state_read(const char *name, const char *file, char **ret);
int net_state_write(const char *name, const char *file, const char *text);
void net_state_remove(const char *name);
/* Names with a host.nft. */
int net_state_names(char ***ret);

/* ---- namespaces (net-ns.c). netns_new(): a new one, owned by the initial user namespace. netns_hold():
 * this process keeps fd (taken) for sandbox name until netns_release(). netns_enter()/netns_leave(): switch
 * this thread into a namespace and back (aborts if it cannot come back). */
int netns_new(int *ret);
int netns_check_fd(int fd);
int netns_enter(int netns_fd);
void netns_leave(void);
int netns_hold(const char *name, int fd);
void netns_release(const char *name);
int netns_held_fd(const char *name);
char **netns_held_names(void);
/* The pin at SANDY_NETNS_DIR/NAME (sandy-netctl only: a mount in the host's mount namespace). */
int netns_pin(const char *name, int netns_fd);
int netns_unpin(const char *name);
int netns_open_pin(const char *name);

/* ---- links (net-link.c): the ip batches for the host side and the inside, and running them. */
int net_link_batches(const char *ifname, const NetAddrs *a, char **ret_host, char **ret_inner);
int net_link_create(int netns_fd, const char *ifname, const NetAddrs *a);
int net_link_delete(const char *ifname);

/* ---- forwarding (net-forward.c): turned on as little as sandboxes need, announced, and put back as it was
 * once no sandbox needs it. */
int net_forwarding_add(const char *ifname, bool ipv6);
/* After the last sandbox is gone. */
void net_forwarding_release(void);
/* The default routes moved: follow them (the guard calls it). */
void net_forwarding_refresh(void);
void net_forwarding_guard(NetForwardGuard *ret);

/* ---- self-healing (net-guard.c, sandy-helper only). */
void net_guard_watch(const char *name, int netns_fd);
void net_guard_unwatch(const char *name);
