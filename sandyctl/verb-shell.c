/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl shell NAME [-- COMMAND...]: a thin front end that executes machinectl shell (machined's
 * OpenMachineShell, polkit-checked there) as the sandbox user, in the workspace. */
#include <string.h>

#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "string-util.h"

/* In the workspace when there is one, then the user's login shell (bash if the image has it). */
static const char shell_script[] =
        "cd \"$HOME/workspace\" 2>/dev/null || cd \"$HOME\" 2>/dev/null || cd /; "
        "if [ $# -gt 0 ]; then exec \"$@\"; fi; "
        "if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l";

int verb_shell(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **args = NULL;
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *target = NULL;
        const char *name = argv[1];
        int r, first_cmd = 2;

        if (!dirs)
                return log_oom();
        if (argc > 2) {
                if (!streq(argv[2], "--"))
                        return log_error_errno(EINVAL, "Usage: shell NAME [-- COMMAND [ARGS...]]");
                first_cmd = 3;
        }
        /* With -H the declaration is on the other host; its default user is the one we know. */
        r = arg_host ? sandbox_require_declared(dirs, name) : sandbox_load_named(dirs, name, &s);
        if (r != 0)
                return r;
        if (xasprintf(&target, "%s@%s", s && s->user ? s->user : "agent", name) < 0)
                return log_oom();

        if (strv_extend(&args, "machinectl") < 0 ||
            (!arg_ask_password && strv_extend(&args, "--no-ask-password") < 0) ||
            (arg_host && (strv_extend(&args, "-H") < 0 || strv_extend(&args, arg_host) < 0)))
                return log_oom();
        /* machined's OpenMachineShell runs the command as USER, with a login environment (HOME etc.). */
        STRV_FOREACH(a, STRV_MAKE("--quiet", "shell", target, "/bin/sh", "-c", shell_script, "sh"))
                if (strv_extend(&args, *a) < 0)
                        return log_oom();
        for (int i = first_cmd; i < argc; i++)
                if (strv_extend(&args, argv[i]) < 0)
                        return log_oom();
        fflush(stdout);
        execvp("machinectl", args);
        return log_error_errno(errno, "Failed to execute machinectl: %m");
}
