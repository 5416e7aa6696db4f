/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* At helper start: whatever belongs to a sandbox whose sandy-net@NAME.service is not running goes. The pins
 * of such sandboxes only with unpin (sandy-netctl --direct reconcile, in the host's mount namespace); the
 * next setup of the name replaces a stale pin anyway. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "bus-names.h"
#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "strv.h"
#include "string-util.h"

/* 1 if the unit is active, activating, reloading or deactivating (its own ExecStop cleans up), 0 if not,
 * negative if systemd cannot be asked: then nothing may be removed. */
static int unit_is_live(sd_bus *bus, const char *name) {
        _cleanup_free_ char *unit = NULL, *state = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *path;
        int r;

        if (!(unit = sandbox_unit_name(SANDBOX_NET_UNIT_FMT, name)))
                return -ENOMEM;
        r = sd_bus_call_method(bus, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE, "GetUnit",
                               &error, &reply, "s", unit);
        if (r < 0) {
                bool gone = sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit");
                sd_bus_error_free(&error);
                return gone ? 0 : r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, "org.freedesktop.systemd1.Unit",
                                               "ActiveState", &error, &state);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        if (r < 0)
                return r;
        return !streq(state, "inactive") && !streq(state, "failed");
}

static int add_dir_names(const char *dir, bool symlink_targets, char ***names) {
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        for (struct dirent *de; (de = readdir(d));) {
                char buf[SANDBOX_NAME_MAX + 2];
                const char *n = de->d_name;
                if (symlink_targets) {
                        if (readlinkat_buf(dirfd(d), de->d_name, buf, sizeof buf) < 0)
                                continue;
                        n = buf;
                }
                if (!sandbox_name_is_valid(n) || strv_contains(*names, n))
                        continue;
                if (strv_extend(names, n) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        return 0;
}

/* A sandbox that runs, after a helper restart: hold its namespace again (from its pin), put its own table
 * back as recorded (keeping what its resolver learned), and watch it. */
static void adopt(const char *name) {
        int fd;

        if (netns_held_fd(name) >= 0)
                return;
        fd = netns_open_pin(name);
        if (fd < 0) {
                log_warning_errno(fd,
                                  "Cannot open the namespace of running sandbox %s; its own rules are not "
                                  "watched: %m",
                                  name);
                return;
        }
        if (netns_hold(name, fd) < 0) {
                safe_close(fd);
                return;
        }
        if (net_inner_apply(name, fd, true) < 0)
                log_warning("The rules in the namespace of sandbox %s could not be put back.", name);
        net_guard_watch(name, fd);
}

int network_reconcile(bool unpin) {
        _cleanup_strv_free_ char **names = NULL, **live_ifnames = NULL;
        sd_bus *bus = NULL;
        bool any_live = false;
        int r;

        r = net_state_names(&names);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s: %m", SANDY_NET_DIR);
        (void)add_dir_names(SANDY_NETNS_DIR, false, &names);
        (void)add_dir_names(SANDY_NET_ALLOC_DIR, true, &names);

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Cannot ask systemd which sandboxes run, not reconciling: %m");

        STRV_FOREACH (n, names) {
                char ifname[IFNAMSIZ];
                r = unit_is_live(bus, *n);
                if (r < 0) {
                        log_warning_errno(r, "Cannot tell whether sandbox %s runs, leaving its network: %m",
                                          *n);
                        r = 1;
                }
                if (r > 0) {
                        net_ifname(*n, ifname);
                        (void)strv_extend(&live_ifnames, ifname);
                        any_live = true;
                        if (!unpin)
                                adopt(*n);
                        continue;
                }
                log_info("Sandbox %s is not running: removing its network leftovers.", *n);
                (void)network_teardown(*n);
                if (unpin)
                        (void)netns_unpin(*n);
        }

        /* The host's table exactly as on record: whatever older versions or crashes left in it goes. */
        if (any_live || nft_table_exists()) {
                r = net_host_rebuild();
                if (r < 0)
                        log_warning_errno(r,
                                          "Failed to rebuild the host's table inet " SANDY_NFT_TABLE ": %m");
        }

        /* Links whose sandbox left no other trace. */
        struct if_nameindex *ifs = if_nameindex();
        if (!ifs)
                log_warning_errno(errno, "Cannot list network interfaces: %m");
        for (struct if_nameindex *i = ifs; i && i->if_index != 0; i++) {
                if (!startswith(i->if_name, SANDY_IFNAME_PREFIX) || strv_contains(live_ifnames, i->if_name))
                        continue;
                log_info("Removing stale link %s.", i->if_name);
                if (net_link_delete(i->if_name) < 0)
                        log_warning("Failed to remove link %s.", i->if_name);
        }
        if (ifs)
                if_freenameindex(ifs);
        sd_bus_flush_close_unref(bus);
        return 0;
}
