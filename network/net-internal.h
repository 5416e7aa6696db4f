/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <arpa/inet.h>
#include <net/if.h>
#include <stdbool.h>

#include "config.h"
#include "paths.h"
#include "sandbox.h"

/* Runtime state of sandbox networking is in SANDY_NET_DIR (paths.h). One symlink per taken slot:
 * SANDY_NET_ALLOC_DIR/SLOT -> NAME. symlink() is atomic, so two concurrent setups can never take the same
 * slot. */
#define SANDY_NFT_TABLE "sandy"
#define SANDY_INNER_IFNAME "sandy0"
#define SANDY_IFNAME_PREFIX "sb-"

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

/* Namespaces (net-ns.c). netns_new(): a new one, owned by the initial user namespace. netns_hold(): this
 * process keeps fd (taken) for sandbox name until netns_release(). netns_enter()/netns_leave(): switch this
 * thread into a namespace and back (aborts if it cannot come back). */
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

/* Links (net-link.c): the ip batches for the host side and the inside, and running them. */
int net_link_batches(const char *ifname, const NetAddrs *a, char **ret_host, char **ret_inner);
int net_link_create(int netns_fd, const char *ifname, const NetAddrs *a);
int net_link_delete(const char *ifname);

/* Forwarding (net-forward.c). */
int net_forwarding_enable(bool ipv6);

/* Slots (net-addr.c): SANDY_NET_ALLOC_DIR/SLOT, and taking the first free one for name. */
int net_slot_path(unsigned slot, char **ret);
int net_slot_allocate(const SandyConfig *c, const char *name, unsigned *ret);

/* The resolver files of s (resolver.c): SANDY_NET_DIR/NAME/{resolv.conf,dnsmasq.conf}. */
int resolver_write_files(const Sandbox *s, const SandyConfig *c, const NetAddrs *a);
void resolver_remove_files(const char *name);

/* nft scripts (nft-rules.c). Each is applied as one atomic batch. */
int nft_skeleton_script(const NetAddrs *pools, char **ret);
int nft_sandbox_script(const Sandbox *s, const char *ifname, const NetAddrs *a, char **ret);
int nft_sandbox_remove_script(const char *name, const char *ifname, bool strict_sets, char **ret);
/* Run script as one transaction; on failure nothing changed and the error is logged. */
int nft_apply(const char *script);
/* Output of an nft command (e.g. "list chain inet sandy X"); -ENOENT when it fails. */
int nft_query(const char *cmd, char **ret);
bool nft_table_exists(void);
/* Names of sandboxes that have chains in the table. */
int nft_list_sandboxes(char ***ret);
int network_ensure_table(void);
/* The slot name holds (it is set up), or -ENOENT. */
int network_slot_of(const char *name, unsigned *ret);
