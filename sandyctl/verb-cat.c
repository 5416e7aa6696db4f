/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl cat: the declaration as sandy sees it, after drop-ins and defaults. */
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"

int verb_cat(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        int ret = 0;

        if (!dirs)
                return log_oom();
        if (arg_json)
                return log_error_errno(EOPNOTSUPP, "cat prints the declaration as text; --json is not supported.");
        /* The declarations are on the other host: sandyctl there prints them. */
        if (arg_host)
                return remote_sandyctl(argc, argv);
        for (int i = 1; i < argc; i++) {
                _cleanup_sandbox_free_ Sandbox *s = NULL;
                int r = sandbox_load(dirs, argv[i], &s);

                if (r == -EINVAL && !sandbox_name_is_valid(argv[i]))
                        r = log_error_errno(r, "\"%s\" is not a valid sandbox name.", argv[i]);
                else if (r == -ENOENT)
                        r = log_error_errno(r, "No sandbox %s declared.", argv[i]);
                else if (r == -ENXIO)
                        r = log_error_errno(r, "Sandbox %s is masked.", argv[i]);
                if (r < 0) {
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                if (i > 1)
                        putchar('\n');
                r = sandbox_format(s, stdout);
                if (r < 0 && ret == 0)
                        ret = log_error_errno(r, "Failed to write output: %m");
        }
        return ret;
}
