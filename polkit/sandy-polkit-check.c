/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-polkit-check MACHINE: run by polkitd (polkit.spawn() in sandy.rules) to ask whether a machine that
 * a member of group sandy wants to enter is a sandbox. A rules file cannot read /etc/sandy.d, and a machine
 * name alone proves nothing: root may run any container under any name. So both must hold:
 *   - NAME is declared (and not masked) in the search path, as the generator and sandy-prepare read it;
 *   - machined has the machine NAME running in the unit sandy@NAME.service (its Unit property).
 * On success prints the sandbox's User= on stdout and exits 0; otherwise prints nothing useful and exits 1.
 * polkit.spawn() turns a non-zero exit into an exception, which the rules treat as "not a sandbox". */
#include <string.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "log.h"
#include "sandbox.h"
#include "strv.h"
#include "string-util.h"

/* The unit machined has for the machine, over its public D-Bus API (its state files say "do not parse"). */
static int machine_unit(const char *name, char **ret) {
        sd_bus *bus = NULL;
        sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *path;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, MACHINED_BUS_NAME, MACHINED_OBJECT_PATH,
                               MACHINED_MANAGER_IFACE, "GetMachine", &error, &reply, "s", name);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, MACHINED_BUS_NAME, path,
                                               MACHINED_MACHINE_IFACE, "Unit", &error, ret);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_flush_close_unref(bus);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = NULL;
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *unit = NULL, *expected = NULL;
        const char *name;
        int r;

        if (argc != 2) {
                log_error("Usage: %s MACHINE", program_invocation_short_name);
                return 2;
        }
        name = argv[1];
        /* Also refuses ".host" and anything with '/' or "..". */
        if (!sandbox_name_is_valid(name)) {
                log_error("\"%s\" is not a valid sandbox name.", name);
                return 1;
        }
        /* Never let the environment of whoever runs us choose the declarations. */
        dirs = sandbox_search_path(SANDY_SEARCH_PATH_DEFAULT);
        if (!dirs)
                return log_oom(), 1;
        /* Declaration errors must not leak into polkitd's log as noise for every check: only the verdict. */
        log_set_max_level(LOG_CRIT);
        r = sandbox_load(dirs, name, &s);
        log_set_max_level(LOG_INFO);
        if (r < 0) {
                log_error("%s is not a usable sandbox declaration: %s", name,
                          r == -ENOENT ? "not declared" : r == -ENXIO ? "masked" : "invalid");
                return 1;
        }
        r = machine_unit(name, &unit);
        if (r < 0) {
                log_error_errno(r, "Machine %s is not registered with machined: %m", name);
                return 1;
        }
        if (!(expected = sandbox_unit_name(SANDBOX_UNIT_FMT, name)))
                return log_oom(), 1;
        if (!streq(unit, expected)) {
                log_error("Machine %s runs in %s, not in %s.", name, unit, expected);
                return 1;
        }
        printf("%s\n", s->user ?: "agent");
        return fflush(stdout) == 0 ? 0 : 1;
}
