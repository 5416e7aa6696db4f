/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl reset NAME...: discard what a stopped sandbox kept (the Ephemeral=no overlay, the PersistHome=
 * home, the reports of protected paths), SANDY_SANDBOX_STATE_DIR/NAME. sandy-helper removes it
 * (ResetState, polkit-checked like the other methods, fd-based, never following a symlink of what the
 * sandbox wrote) and refuses while the unit is not stopped: the client never touches root's files, so a
 * member of group sandy and -H work as root does. */
#include "bus-util.h"
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"

static int reset_one(sd_bus *bus, const char *name) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        _cleanup_free_ char *what = NULL;
        int discarded, r;

        if (xasprintf(&what, "discard the state of %s", name) < 0)
                return log_oom();
        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_STATE_IFACE, "ResetState", &error,
                               &reply, "s", name);
        if (r < 0)
                return bus_log_call_error(r, &error, what);
        r = sd_bus_message_read(reply, "b", &discarded);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of ResetState: %m");
        if (discarded)
                log_info("Discarded the state of sandbox %s.", name);
        else
                log_info("Sandbox %s has no state to discard.", name);
        return 0;
}

int verb_reset(int argc, char *argv[]) {
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        int r, ret = 0;

        /* A removed declaration's state can still be discarded: the name need only be valid. */
        for (int i = 1; i < argc; i++)
                if (!sandbox_name_is_valid(argv[i]))
                        return log_error_errno(EINVAL, "\"%s\" is not a valid sandbox name.", argv[i]),
                               EXIT_NO_SUCH_SANDBOX;
        r = bus_connect_system(&bus);
        if (r < 0)
                return r;
        polkit_agent_open_if_enabled();
        for (int i = 1; i < argc; i++) {
                r = reset_one(bus, argv[i]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        polkit_agent_close();
        return ret;
}
