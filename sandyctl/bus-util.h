/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "macro.h"

/* sd-bus.h provides the sd_bus_*_unrefp cleanup functions. */

#define _cleanup_bus_unref_ _cleanup_(sd_bus_flush_close_unrefp)
#define _cleanup_bus_message_unref_ _cleanup_(sd_bus_message_unrefp)
#define _cleanup_bus_slot_unref_ _cleanup_(sd_bus_slot_unrefp)
#define _cleanup_bus_error_free_ _cleanup_(sd_bus_error_free)

/* The system bus, or with -H the remote host's over ssh (as systemctl -H does). Interactive polkit
 * authorization is allowed unless --no-ask-password. */
int bus_connect_system(sd_bus **ret);
/* The same, or NULL without a message: for listings that still make sense without live state. */
sd_bus *bus_connect_system_optional(void);
/* Dispatch messages (signal handlers) until done(userdata) is true; each_round(userdata), if given, runs
 * before every round (a progress bar). 0, or the -errno of sd_bus_process()/sd_bus_wait(), not logged. */
int bus_process_until(sd_bus *bus, bool (*done)(void *userdata), void (*each_round)(void *userdata),
                      void *userdata);
/* Log a failed call. Access-denied errors get a hint about group sandy. Returns -errno for r/error. */
int bus_log_call_error(int r, const sd_bus_error *error, const char *what);
/* Start a pkttyagent for interactive authorization, as systemctl does (only on a tty, local bus). */
void polkit_agent_open_if_enabled(void);
void polkit_agent_close(void);

/* systemd's object path of a unit; NULL on OOM. */
char *unit_bus_path(const char *unit);
/* ActiveState of a unit, "inactive" when systemd does not know it. */
int unit_active_state(sd_bus *bus, const char *unit, char **ret);
/* Whether the helper answers and offers egress information: DescribeEgress JSON in *ret (NULL if not). */
int helper_describe_egress(sd_bus *bus, const char *sandbox, char **ret);
