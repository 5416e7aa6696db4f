/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Looking up named sandboxes and their images the same way in every verb, with the same messages and exit
 * statuses. */
#include <string.h>

#include "bus-util.h"
#include "image.h"
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

int sandbox_load_named(char *const *dirs, const char *name, Sandbox **ret) {
        int r;

        if (!sandbox_name_is_valid(name)) {
                log_error("\"%s\" is not a valid sandbox name.", name);
                return EXIT_NO_SUCH_SANDBOX;
        }
        r = sandbox_load(dirs, name, ret);
        if (r == -ENOENT) {
                log_error("No sandbox %s declared (see \"sandyctl verify\" and sandy.sandbox(5)).", name);
                return EXIT_NO_SUCH_SANDBOX;
        }
        if (r == -ENXIO) {
                log_error("Sandbox %s is masked.", name);
                return EXIT_NO_SUCH_SANDBOX;
        }
        if (r < 0) {
                log_error("Sandbox %s has errors; see \"sandyctl verify %s\".", name, name);
                return r;
        }
        return 0;
}

int sandbox_require_declared(char *const *dirs, const char *name) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;

        /* With -H the declarations live on the other host: systemd there (and sandy-prepare) decide. */
        if (arg_host) {
                if (!sandbox_name_is_valid(name)) {
                        log_error("\"%s\" is not a valid sandbox name.", name);
                        return EXIT_NO_SUCH_SANDBOX;
                }
                return 0;
        }
        return sandbox_load_named(dirs, name, &s);
}

int sandbox_require_all_declared(char *const *names, size_t n) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        int r;

        if (!dirs)
                return log_oom();
        for (size_t i = 0; i < n; i++) {
                r = sandbox_require_declared(dirs, names[i]);
                if (r != 0)
                        return r;
        }
        return 0;
}

int sandbox_image_id_quietly(const Sandbox *s, char id[static IMAGE_ID_HEX_LEN + 1]) {
        int level = log_get_max_level(), r;

        /* The recipe includes the Setup= script, which a member of group sandy may not be able to read:
         * then the ID is unknown here, which is no error of the declaration. */
        log_set_max_level(LOG_CRIT);
        r = sandbox_image_id(s, id);
        log_set_max_level(level);
        if (r < 0)
                id[0] = 0;
        return r;
}

int sandbox_access(sd_bus *bus, const char *name, char **ret_owner, int *ret_access) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        const char *owner, *user;
        int allowed, r;

        /* sandy-helper decides who may use a sandbox (it alone can look at every workspace); we only report. */
        *ret_owner = NULL;
        *ret_access = -1;
        if (!bus)
                return 0;
        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_ACCESS_IFACE, "CheckAccess", &error,
                               &reply, "su", name, (uint32_t) getuid());
        if (r < 0)
                return sd_bus_error_has_name(&error, HELPER_ERROR_STALE_DECLARATION) ? -ESTALE : 0;
        if (sd_bus_message_read(reply, "bss", &allowed, &owner, &user) < 0)
                return 0;
        *ret_owner = strdup(owner);
        if (!*ret_owner)
                return -ENOMEM;
        *ret_access = allowed;
        return 1;
}
