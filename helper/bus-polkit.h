/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Ask polkit whether the sender of m may perform action (an action id from polkit/org.sandy.policy).
 * details: NULL or a NULL-terminated list of key, value, ... passed to polkit (e.g. "sandbox", NAME),
 * visible to polkit rules as action.lookup("sandbox"). Interactive authentication is allowed when the
 * message says so. Returns 1 when authorized, 0 when not, with error set to AccessDenied naming the
 * action, or a negative errno with error set. */
int bus_verify_polkit(sd_bus_message *m, const char *action, const char *const *details, sd_bus_error *error);

/* The same without blocking the caller's event loop, for method handlers (as systemd's
 * bus_verify_polkit_async()): returns 1 when authorized; 0 when the question is still with polkit, and then
 * the handler must return 1 without replying: once polkit answers, the call is dispatched again and this
 * returns the answer; -EACCES with error set when not authorized; another negative errno with error set. */
int bus_verify_polkit_async(sd_bus_message *m, const char *action, const char *const *details, sd_bus_error *error);
/* Checks waiting for polkit (the helper does not exit while there are any). */
unsigned bus_verify_polkit_pending(void);
