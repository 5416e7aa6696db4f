/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Looking up a named sandbox the same way in every verb, with the same messages and exit statuses. */
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
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
