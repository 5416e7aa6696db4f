/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>

#include "macro.h"
#include "paths.h"

/* SANDY_CONFIG_FILE (paths.h): host-wide settings of sandy, in unit-file syntax. */

#define SANDY_POOL4_DEFAULT "10.231.0.0/16"
/* A fixed ULA prefix (RFC 4193 form), so addresses are the same on every host. */
#define SANDY_POOL6_DEFAULT "fd5a:6e64:7900::/64"
#define SANDY_DEBOOTSTRAP_MIRROR_DEFAULT "http://deb.debian.org/debian"

typedef struct SandyConfig {
        /* [Network] */
        struct in_addr pool4; /* network address; each sandbox gets one /30 of it */
        unsigned pool4_prefix;
        struct in6_addr pool6; /* each sandbox gets one /126 of it */
        unsigned pool6_prefix;
        bool ipv6;
        /* dnsmasq --stop-dns-rebind: refuse answers with private addresses (dnsmasq counts the TEST-NET
         * documentation ranges among them). */
        bool stop_dns_rebind;
        /* [Image] */
        char *debootstrap_mirror;
        char *debootstrap_keyring; /* NULL: debootstrap's default keyring */
        bool debootstrap_no_check_gpg;
} SandyConfig;

void sandy_config_done(SandyConfig *c);
/* The defaults, then path (NULL: $SANDY_CONFIG or SANDY_CONFIG_FILE) if it exists, then path.d/ *.conf in
 * lexical order. Problems are logged as file:line; returns -EINVAL if anything was invalid (c then holds
 * the defaults for those keys). */
int sandy_config_load(const char *path, SandyConfig *c);
int sandy_config_load_string(const char *label, const char *text, SandyConfig *c);
/* Number of /30 (and /126) slots the pools give. */
unsigned sandy_config_slots(const SandyConfig *c);
