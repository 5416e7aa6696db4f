/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "paths.h"
#include "sandbox.h"

/* Sandbox networking, owned by sandy-helper (see sandy-helper(8)). The namespace of sandbox NAME is
 * pinned at SANDY_NETNS_DIR/NAME (paths.h), sandy0 configured inside; systemd starts nspawn in it
 * (NetworkNamespacePath= of sandy@NAME.service). */

/* Create the namespace, veth pair, addresses, routes, resolver config and nft rules of s; all or nothing:
 * on failure whatever was made is removed again and the nft table is unchanged. */
int network_setup(const Sandbox *s);
/* Remove all of it. Succeeds when nothing is there. */
int network_teardown(const char *name);
/* At helper start: drop chains, sets, links and namespaces of sandboxes that are not running. */
int network_reconcile(void);

/* The D-Bus interface org.sandy.Helper1.Network on /org/sandy/Helper1 (bus-network.c). */
int bus_network_register(sd_bus *bus);
