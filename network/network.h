/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <systemd/sd-bus.h>

#include "paths.h"
#include "sandbox.h"

/* Sandbox networking, owned by sandy-helper (see sandy-helper(8)). The helper creates the namespace of
 * sandbox NAME and keeps it open (it makes no mount); sandy-netctl, ExecStart= of sandy-net@NAME, gets it as
 * an fd from SetupNetwork and pins it at SANDY_NETNS_DIR/NAME (paths.h), where systemd starts nspawn in it
 * (NetworkNamespacePath= of sandy@NAME.service). */

/* Create the namespace, veth pair, addresses, routes, resolver config and nft rules of s; all or nothing:
 * on failure whatever was made is removed again and the nft table is unchanged. The namespace is held by
 * this process until network_teardown(); network_netns_fd() gives a copy of it. */
int network_setup(const Sandbox *s);
/* A new fd (O_CLOEXEC) of the namespace network_setup() made for name, or -ENOENT. */
int network_netns_fd(const char *name);
/* Remove all of it (the pin is sandy-netctl's). Succeeds when nothing is there. */
int network_teardown(const char *name);
/* At helper start: drop chains, sets and links of sandboxes that are not running; with unpin also their
 * pins (only in the host's mount namespace, i.e. not in sandy-helper). */
int network_reconcile(bool unpin);

/* Compare the egress tables in force with what is on record; a line per table to out (net-check.c).
 * 0: all as recorded, 1: something is missing or was changed. Root. */
int network_check(FILE *out);

/* Self-healing (sandy-helper): watch the host's nftables, and the namespace of each sandbox set up from
 * now on or adopted by network_reconcile(), on the default sd-event loop; rebuild an "inet sandy" table
 * that anyone else changed. Call before network_reconcile(). */
int network_guard_start(void);
/* Sandboxes are being guarded: the helper must not exit when idle. */
bool network_guarding(void);

/* The D-Bus interface org.sandy.Helper1.Network on /org/sandy/Helper1 (bus-network.c). */
int bus_network_register(sd_bus *bus);
