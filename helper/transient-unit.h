/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* The transient units sandy-helper starts for a caller (sandyctl exec, sandyctl logs): systemd's
 * StartTransientUnit, built in three steps. */

/* PREFIX + a random 64-bit hex suffix + ".service" in *ret (PREFIX names the caller's request). */
int transient_unit_name(const char *prefix, char **ret);
/* A StartTransientUnit call for unit, with its property array open: append "(sv)" properties next. */
int transient_unit_new(sd_bus *bus, const char *unit, sd_bus_message **ret);
/* The property name, an "as" value. */
int transient_unit_append_strv(sd_bus_message *m, const char *name, char **l);
/* ExecStartEx=path argv... with "no-env-expand": systemd would otherwise expand $VAR and $$ in argv. */
int transient_unit_append_exec(sd_bus_message *m, const char *path, char **argv);
/* Close the properties and start it (mode "fail"). */
int transient_unit_start(sd_bus *bus, sd_bus_message *m, const char *unit, sd_bus_error *error);
