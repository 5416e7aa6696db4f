/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "sandbox.h"

/* sandy@NAME.service.d/20-network.conf: pulls in sandy-net@NAME and sandy-dns@NAME and hands nspawn the
 * namespace. *ret is NULL for Mode=host and Mode=none, which need none of it. */
int sandbox_render_network_dropin(const Sandbox *s, char **ret);

/* Port= number i: "sandy-NAME-port-HOST.socket" / ".service" and their text. */
int sandbox_port_unit_name(const Sandbox *s, size_t i, const char *suffix, char **ret);
int sandbox_render_port_socket(const Sandbox *s, size_t i, char **ret);
int sandbox_render_port_service(const Sandbox *s, size_t i, char **ret);
