/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sandy.Helper1.Network on /org/sandy/Helper1. */
#include <errno.h>

#include "network.h"

int bus_network_register(sd_bus *bus) {
        return 0;
}
