/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl shell NAME [-- COMMAND...] and sandyctl logs NAME: thin front ends that exec the real tools,
 * machinectl (machined's OpenMachineShell, polkit-checked there) and journalctl. */
#include <string.h>

#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "parse-util.h"
#include "string-util.h"

#define STRV_MAKE(...) ((const char *const[]){__VA_ARGS__, NULL})

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
        if (arg_host) {
                /* The declaration is on the other host; its default user is the one we know. */
                if (!sandbox_name_is_valid(name))
                        return log_error("\"%s\" is not a valid sandbox name.", name), EXIT_NO_SUCH_SANDBOX;
        } else {
                r = sandbox_load_named(dirs, name, &s);
                if (r != 0)
                        return r;
        }
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

int verb_logs(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **args = NULL, **names = NULL;
        bool follow = false;
        const char *lines = NULL;
        int r;

        if (!dirs)
                return log_oom();
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (streq(a, "-f") || streq(a, "--follow"))
                        follow = true;
                else if (streq(a, "-n") || streq(a, "--lines")) {
                        if (++i >= argc)
                                return log_error_errno(EINVAL, "%s needs a number.", a);
                        lines = argv[i];
                } else if (startswith(a, "--lines="))
                        lines = a + 8;
                else if (startswith(a, "-n") && a[2])
                        lines = a + 2;
                else if (streq(a, "--no-pager"))
                        arg_no_pager = true;
                else if (a[0] == '-')
                        return log_error_errno(EINVAL, "Unknown option %s for logs (know -f, -n N, --no-pager).", a);
                else if (strv_extend(&names, a) < 0)
                        return log_oom();
        }
        if (lines) {
                uint64_t n;
                if (!streq(lines, "all") && safe_atou64(lines, &n) < 0)
                        return log_error_errno(EINVAL, "-n takes a number or \"all\", not \"%s\".", lines);
        }
        if (!names)
                return log_error_errno(EINVAL, "logs needs a sandbox NAME.");

        if (arg_host && (strv_extend(&args, "ssh") < 0 || strv_extend(&args, arg_host) < 0 ||
                         strv_extend(&args, "--") < 0))
                return log_oom();
        if (strv_extend(&args, "journalctl") < 0)
                return log_oom();
        STRV_FOREACH(n, names) {
                static const char *const prefixes[] = {"sandy", "sandy-net", "sandy-dns"};

                r = sandbox_require_declared(dirs, *n);
                if (r != 0)
                        return r;
                for (size_t u = 0; u < ELEMENTSOF(prefixes); u++) {
                        char *unit;
                        if (strv_extend(&args, "-u") < 0 || xasprintf(&unit, "%s@%s.service", prefixes[u], *n) < 0 ||
                            strv_consume(&args, unit) < 0)
                                return log_oom();
                }
        }
        if ((follow && strv_extend(&args, "-f") < 0) ||
            (lines && (strv_extend(&args, "-n") < 0 || strv_extend(&args, lines) < 0)) ||
            (arg_no_pager && strv_extend(&args, "--no-pager") < 0))
                return log_oom();
        fflush(stdout);
        execvp(args[0], args);
        return log_error_errno(errno, "Failed to execute %s: %m", args[0]);
}
