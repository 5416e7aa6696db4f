/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-netctl: what sandy-net@NAME.service runs. "setup NAME" / "teardown NAME" ask sandy-helper over D-Bus
 * (org.sandy.Helper1.Network); with --direct the work is done in this process (root; tests, and hosts
 * without the helper). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "strv.h"
#include "string-util.h"

static bool arg_direct = false;

static int call_helper(const char *method, const char *name) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* Image builds are not involved; a network setup takes well under a second. */
        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_NETWORK_IFACE,
                               method, &error, NULL, "s", name);
        if (r < 0)
                log_error_errno(r, "%s(%s) failed: %s", method, name, error.message ?: strerror(-r));
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}

static int direct(const char *verb, const char *name) {
        if (streq(verb, "setup")) {
                _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
                Sandbox *s = NULL;
                int r = sandbox_load(dirs, name, &s);
                if (r < 0)
                        return log_error_errno(r, "Sandbox %s cannot be loaded: %m", name);
                r = network_setup(s);
                sandbox_free(s);
                return r;
        }
        if (streq(verb, "teardown"))
                return network_teardown(name);
        return -EINVAL;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"direct", no_argument, NULL, 'd'},
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "hd", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%1$s [--direct] setup|teardown NAME\n%1$s --direct reconcile\n",
                               program_invocation_short_name);
                        return 0;
                case 'd':
                        arg_direct = true;
                        break;
                default:
                        return 2;
                }
        if (argc - optind == 1 && arg_direct && streq(argv[optind], "reconcile"))
                return network_reconcile() < 0;
        if (argc - optind != 2 || !(streq(argv[optind], "setup") || streq(argv[optind], "teardown"))) {
                log_error("Usage: %s [--direct] setup|teardown NAME", program_invocation_short_name);
                return 2;
        }
        const char *verb = argv[optind], *name = argv[optind + 1];
        if (!sandbox_name_is_valid(name)) {
                log_error("Invalid sandbox name: %s", name);
                return 2;
        }
        if (arg_direct)
                r = direct(verb, name);
        else
                r = call_helper(streq(verb, "setup") ? "SetupNetwork" : "TeardownNetwork", name);
        return r < 0 ? 1 : 0;
}
