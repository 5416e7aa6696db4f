/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl verify: check declarations before they land, e.g. Ansible's `validate: sandyctl verify %s`, which
 * hands over a temporary file whose name says nothing about the sandbox. */
#include <string.h>

#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "util.h"

static int verify_path(const char *path) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *name = NULL;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

        if (endswith(base, ".conf"))
                return sandbox_check_dropin(path);
        if (endswith(base, SANDBOX_SUFFIX)) {
                if (sandbox_name_from_path(path, &name) < 0)
                        return log_syntax(path, 0, LOG_ERR, EINVAL,
                                          "File name does not make a valid sandbox name (letters, digits, '-', "
                                          "'_', '.', at most %d characters).",
                                          SANDBOX_NAME_MAX);
        }
        return sandbox_load_files(name ?: "verify", path, NULL, &s);
}

static int verify_declared(char *const *dirs, const char *name) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        int r = sandbox_load(dirs, name, &s);

        if (r == -ENOENT)
                return log_error_errno(r, "No sandbox %s declared in %s.", name, SANDY_SEARCH_PATH_DEFAULT);
        if (r == -ENXIO) {
                log_info("Sandbox %s is masked.", name);
                return 0;
        }
        return r;
}

int verb_verify(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        int r, ret = 0;

        if (!dirs)
                return log_oom();
        if (argc <= 1) {
                r = sandbox_list_names(dirs, &names);
                if (r < 0)
                        return log_error_errno(r, "Failed to enumerate sandboxes: %m");
                if (log_error_count() > 0)
                        ret = -EINVAL;
        }
        for (int i = 1; i < argc; i++) {
                /* An argument with a '/' or that names an existing file is a file; otherwise a sandbox. */
                if (strchr(argv[i], '/') || access(argv[i], F_OK) >= 0)
                        r = verify_path(argv[i]);
                else
                        r = verify_declared(dirs, argv[i]);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        STRV_FOREACH(n, names) {
                r = verify_declared(dirs, *n);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}
