/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-netctl: what sandy-net@NAME.service runs, as root in the host's mount namespace.
 *   setup NAME      ask sandy-helper (org.sandy.Helper1.Network.SetupNetwork) for the network of NAME; the
 *                   helper answers with the namespace as an fd, which is pinned here at SANDY_NETNS_DIR/NAME
 *   teardown NAME   TeardownNetwork, then remove the pin
 *   check           are the egress tables what is on record? (sandyctl doctor runs it)
 *   wait-dns [--inside] NAME
 *                   until the resolver of NAME answers (ExecStartPost= of sandy-dns@ and sandy-dns-inside@)
 * With --direct the work is done in this process (root; tests, and hosts without the helper). The helper
 * never mounts anything itself: the pin is a mount that the host's mount namespace must see. */
#include <fcntl.h>
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

static int call_helper(const char *method, const char *name, int *ret_fd) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* Image builds are not involved; a network setup takes well under a second. */
        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_NETWORK_IFACE, method,
                               &error, &reply, "s", name);
        if (r < 0)
                log_error_errno(r, "%s(%s) failed: %s", method, name, error.message ?: strerror(-r));
        else if (ret_fd) {
                int fd;
                r = sd_bus_message_read(reply, "h", &fd);
                if (r < 0)
                        log_error_errno(r, "Bad reply to %s(%s): %m", method, name);
                else {
                        /* The message owns fd. */
                        *ret_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        if (*ret_fd < 0)
                                r = log_error_errno(errno, "Failed to duplicate the namespace fd: %m");
                }
        }
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        sd_bus_flush_close_unref(bus);
        return r;
}

static int setup(const char *name) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (arg_direct) {
                _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
                Sandbox *s = NULL;
                r = sandbox_load(dirs, name, &s);
                if (r < 0)
                        return log_error_errno(r, "Sandbox %s cannot be loaded: %m", name);
                r = network_setup(s);
                bool netns = IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT);
                sandbox_free(s);
                if (r < 0 || !netns)
                        return r;
                fd = network_netns_fd(name);
                if (fd < 0)
                        return log_error_errno(fd, "The network of %s has no namespace: %m", name);
        } else {
                r = call_helper("SetupNetwork", name, &fd);
                if (r < 0)
                        return r;
        }
        r = netns_pin(name, fd);
        if (r < 0) {
                /* Nothing may stay that has no sandbox to go with it. */
                if (arg_direct)
                        (void)network_teardown(name);
                else
                        (void)call_helper("TeardownNetwork", name, NULL);
        }
        return r;
}

static int teardown(const char *name) {
        int r = arg_direct ? network_teardown(name) : call_helper("TeardownNetwork", name, NULL);
        int k = netns_unpin(name);
        return r < 0 ? r : k;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                        {"help", no_argument, NULL, 'h'},
                        {"direct", no_argument, NULL, 'd'},
                        {"inside", no_argument, NULL, 'i'},
                        {},
        };
        bool inside = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "hd", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%1$s [--direct] setup|teardown NAME\n%1$s --direct reconcile\n%1$s check\n"
                               "%1$s wait-dns [--inside] NAME\n\n"
                               "check: compare the egress tables in force with what is on record (exit 1 "
                               "if\n"
                               "one is missing or was changed), and list forwarding settings sandy "
                               "changed.\n",
                               program_invocation_short_name);
                        return 0;
                case 'd':
                        arg_direct = true;
                        break;
                case 'i':
                        inside = true;
                        break;
                default:
                        return 2;
                }
        if (argc - optind == 1 && arg_direct && streq(argv[optind], "reconcile"))
                return network_reconcile(true) < 0;
        if (argc - optind == 1 && streq(argv[optind], "check")) {
                r = network_check(stdout);
                return r < 0 ? 2 : r;
        }
        if (argc - optind == 2 && streq(argv[optind], "wait-dns")) {
                if (!sandbox_name_is_valid(argv[optind + 1])) {
                        log_error("Invalid sandbox name: %s", argv[optind + 1]);
                        return 2;
                }
                return resolver_wait_ready(argv[optind + 1], inside, 10 * 1000) < 0;
        }
        if (argc - optind != 2 || !(streq(argv[optind], "setup") || streq(argv[optind], "teardown"))) {
                log_error("Usage: %s [--direct] setup|teardown NAME", program_invocation_short_name);
                return 2;
        }
        const char *verb = argv[optind], *name = argv[optind + 1];
        if (!sandbox_name_is_valid(name)) {
                log_error("Invalid sandbox name: %s", name);
                return 2;
        }
        r = streq(verb, "setup") ? setup(name) : teardown(name);
        return r < 0 ? 1 : 0;
}
