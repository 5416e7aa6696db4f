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
