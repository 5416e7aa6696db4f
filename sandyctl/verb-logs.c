/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl logs [-f] [-n N] NAME...: a thin front end that executes journalctl for the units of the
 * sandboxes (sandy@, sandy-net@, sandy-dns@), through ssh with -H. */
#include <string.h>

#include "log.h"
#include "parse-util.h"
#include "paths.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

typedef struct LogsArgs {
        bool follow;
        const char *lines; /* -n: a number or "all" */
        char **names;
} LogsArgs;

static int parse_logs_args(int argc, char *argv[], LogsArgs *a) {
        uint64_t n;

        for (int i = 1; i < argc; i++) {
                const char *s = argv[i];

                if (streq(s, "-f") || streq(s, "--follow"))
                        a->follow = true;
                else if (streq(s, "-n") || streq(s, "--lines")) {
                        if (++i >= argc)
                                return log_error_errno(EINVAL, "%s needs a number.", s);
                        a->lines = argv[i];
                } else if (startswith(s, "--lines="))
                        a->lines = s + strlen("--lines=");
                else if (startswith(s, "-n") && s[2])
                        a->lines = s + 2;
                else if (streq(s, "--no-pager"))
                        arg_no_pager = true;
                else if (s[0] == '-')
                        return log_error_errno(EINVAL, "Unknown option %s for logs (know -f, -n N, --no-pager).", s);
                else if (strv_extend(&a->names, s) < 0)
                        return log_oom();
        }
        if (a->lines && !streq(a->lines, "all") && safe_atou64(a->lines, &n) < 0)
                return log_error_errno(EINVAL, "-n takes a number or \"all\", not \"%s\".", a->lines);
        if (!a->names)
                return log_error_errno(EINVAL, "logs needs a sandbox NAME.");
        return 0;
}

/* [ssh HOST --] journalctl -u UNIT... [-f] [-n N] [--no-pager] */
static int journalctl_argv(const LogsArgs *a, char ***ret) {
        static const char *const unit_formats[] = {SANDBOX_UNIT_FMT, SANDBOX_NET_UNIT_FMT,
                                                   SANDBOX_DNS_UNIT_FMT};
        _cleanup_strv_free_ char **args = NULL;

        if (arg_host && (strv_extend(&args, "ssh") < 0 || strv_extend(&args, arg_host) < 0 ||
                         strv_extend(&args, "--") < 0))
                return -ENOMEM;
        if (strv_extend(&args, "journalctl") < 0)
                return -ENOMEM;
        STRV_FOREACH(n, a->names)
                for (size_t u = 0; u < ELEMENTSOF(unit_formats); u++)
                        if (strv_extend(&args, "-u") < 0 ||
                            strv_consume(&args, sandbox_unit_name(unit_formats[u], *n)) < 0)
                                return -ENOMEM;
        if ((a->follow && strv_extend(&args, "-f") < 0) ||
            (a->lines && (strv_extend(&args, "-n") < 0 || strv_extend(&args, a->lines) < 0)) ||
            (arg_no_pager && strv_extend(&args, "--no-pager") < 0))
                return -ENOMEM;
        *ret = TAKE_PTR(args);
        return 0;
}

int verb_logs(int argc, char *argv[]) {
        _cleanup_strv_free_ char **args = NULL;
        LogsArgs a = {};
        int r;

        r = parse_logs_args(argc, argv, &a);
        if (r == 0)
                r = sandbox_require_all_declared(a.names, strv_length(a.names));
        if (r == 0 && journalctl_argv(&a, &args) < 0)
                r = log_oom();
        strv_free(a.names);
        if (r != 0)
                return r;
        fflush(stdout);
        execvp(args[0], args);
        return log_error_errno(errno, "Failed to execute %s: %m", args[0]);
}
