/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* org.sandy.Helper1.Exec (bus-exec.c). */
int bus_exec_register(sd_bus *bus);
