/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-polkit-check unit|machine NAME USER: run by polkitd (polkit.spawn() in sandy.rules) to ask whether
 * USER, a member of group sandy, may act on sandbox NAME. A rules file cannot read /etc/sandy.d or look at
 * a workspace (polkitd runs as its own user, which cannot see into home directories), and a machine name
 * alone proves nothing: root may run any container under any name. So:
 *   - sandy-helper, which reads declarations as root, says whether USER may use NAME (Owner=, AllowUsers=,
 *     AllowGroups=, by default the workspace's owner) and refuses a declaration that changed since the
 *     last daemon-reload (CheckAccess, which never asks polkit: polkitd is waiting for us);
 *   - for "machine": machined must run the machine NAME in the unit sandy@NAME.service (its Unit property).
 * On success prints the sandbox's User= on stdout and exits 0; otherwise says why on stderr and exits 1.
 * polkit.spawn() turns a non-zero exit into an exception, which the rules treat as "no". */
#include <pwd.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "log.h"
#include "sandbox.h"
#include "string-util.h"

/* The unit machined has for the machine, over its public D-Bus API (its state files say "do not parse"). */
static int machine_unit(sd_bus *bus, const char *name, char **ret) {
        sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, MACHINED_BUS_NAME, MACHINED_OBJECT_PATH, MACHINED_MANAGER_IFACE, "GetMachine",
                               &error, &reply, "s", name);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, MACHINED_BUS_NAME, path, MACHINED_MACHINE_IFACE, "Unit", &error,
                                               ret);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

/* sandy-helper's answer: 1 and the sandbox's User= when uid may use it, 0 when not, < 0 logged. */
static int check_access(sd_bus *bus, const char *name, uid_t uid, char **ret_user) {
        sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *owner, *user;
        int allowed, r;

        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_ACCESS_IFACE, "CheckAccess", &error,
                               &reply, "su", name, (uint32_t) uid);
        if (r < 0) {
                log_error("Cannot decide about sandbox %s: %s", name, error.message ?: strerror(-r));
                goto finish;
        }
        r = sd_bus_message_read(reply, "bss", &allowed, &owner, &user);
        if (r < 0) {
                log_error_errno(r, "Cannot parse sandy-helper's answer: %m");
                goto finish;
        }
        if (!allowed) {
                log_error("UID %u may not use sandbox %s (it belongs to %s).", (unsigned) uid, name, owner);
                r = 0;
                goto finish;
        }
        *ret_user = strdup(user);
        r = *ret_user ? 1 : log_oom();
finish:
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *unit = NULL, *expected = NULL, *user = NULL;
        sd_bus *bus = NULL;
        const char *kind, *name;
        struct passwd *pw;
        uid_t uid;
        int r, ret = 1;

        if (argc != 4 || (!streq(argv[1], "unit") && !streq(argv[1], "machine"))) {
                log_error("Usage: %s unit|machine NAME USER", program_invocation_short_name);
                return 2;
        }
        kind = argv[1];
        name = argv[2];
        /* Also refuses ".host" and anything with '/' or "..". */
        if (!sandbox_name_is_valid(name)) {
                log_error("\"%s\" is not a valid sandbox name.", name);
                return 1;
        }
        pw = getpwnam(argv[3]);
        if (!pw) {
                log_error("No user %s.", argv[3]);
                return 1;
        }
        uid = pw->pw_uid;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus: %m");
                return 1;
        }
        r = check_access(bus, name, uid, &user);
        if (r <= 0)
                goto finish;
        if (streq(kind, "machine")) {
                r = machine_unit(bus, name, &unit);
                if (r < 0) {
                        log_error_errno(r, "Machine %s is not registered with machined: %m", name);
                        goto finish;
                }
                if (!(expected = sandbox_unit_name(SANDBOX_UNIT_FMT, name))) {
                        log_oom();
                        goto finish;
                }
                if (!streq(unit, expected)) {
                        log_error("Machine %s runs in %s, not in %s.", name, unit, expected);
                        goto finish;
                }
        }
        printf("%s\n", user);
        ret = fflush(stdout) == 0 ? 0 : 1;
finish:
        sd_bus_flush_close_unref(bus);
        return ret;
}
