/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "sandbox.h"

/* Ask polkit whether the sender of m may perform action (an action id from polkit/org.sandy.policy),
 * without blocking the caller's event loop (as systemd's bus_verify_polkit_async()). details: NULL or a
 * NULL-terminated list of key, value, ... passed to polkit, visible to rules as action.lookup(KEY).
 * Interactive authentication is allowed when the message says so. Root is authorized without asking.
 *
 * When details name a sandbox ("sandbox", NAME), the caller's UID (from the bus credentials) must be allowed
 * on it (Owner=, AllowUsers=, AllowGroups=, see bus_sandbox_access()); for a caller who is not, polkit is
 * asked for POLKIT_ACTION_OTHER_SANDBOX instead (details "sandbox" and "action"), which only
 * administrators pass.
 *
 * Returns 1 when authorized; 0 when the question is still with polkit, and then the handler must return 1
 * without replying: once polkit answers, the call is dispatched again and this returns the answer; -EACCES
 * with error set when not authorized; another negative errno with error set. */
/* The caller's (effective) UID, as the bus daemon vouches for it. */
int bus_sender_uid(sd_bus_message *m, uid_t *ret);
int bus_verify_polkit_async(sd_bus_message *m, const char *action, const char *const *details, sd_bus_error *error);
/* Checks waiting for polkit (the helper does not exit while there are any). */
unsigned bus_verify_polkit_pending(void);

/* May uid use the declared sandbox name (sandbox_uid_allowed() with sandbox_owner_uid())? Returns 0 with
 * the answer, its owner and User=; negative with error set when there is no usable declaration. */
int bus_sandbox_access(const char *name, uid_t uid, bool *ret_allowed, uid_t *ret_owner, char **ret_user,
                       sd_bus_error *error);
/* The declaration *s was just loaded: is it the text the units were generated from (the digest systemd has
 * in sandy@NAME.service)? 0 if so; otherwise frees *s and returns negative with error set
 * (HELPER_ERROR_STALE_DECLARATION: "... changed since daemon-reload; run systemctl daemon-reload"). */
int bus_sandbox_check_current(sd_bus *bus, Sandbox **s, sd_bus_error *error);

/* org.sandy.Helper1.Access: CheckAccess(s sandbox, u uid) -> (b allowed, s owner, s user), for
 * sandy-polkit-check and sandyctl; refuses stale declarations like the methods do. */
int bus_access_register(sd_bus *bus);
