/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* Ask polkit whether the sender of m may perform action (an action id from polkit/org.sandy.policy).
 * details: NULL or a NULL-terminated list of key, value, ... passed to polkit (e.g. "sandbox", NAME),
 * visible to polkit rules as action.lookup("sandbox"). Interactive authentication is allowed when the
 * message says so. Returns 1 when authorized, 0 when not, with error set to AccessDenied naming the
 * action, or a negative errno with error set. */
int bus_verify_polkit(sd_bus_message *m, const char *action, const char *const *details, sd_bus_error *error);
