/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* org.sandy.Helper1.State: DescribeState (reports and last errors) and ResetState (bus-state.c). */
int bus_state_register(sd_bus *bus);
