/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl verify: check declarations before they land, e.g. Ansible's `validate: sandyctl verify %s`, which
 * hands over a temporary file whose name says nothing about the sandbox. Beyond the syntax and the values,
 * what the declaration refers to on this host must be usable (host-checks.c): the workspace, Setup=,
 * Credential= sources, local From= images; what was checked is said on stdout. */
#include <string.h>

#include "host-checks.h"
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "string-util.h"

/* --offline: the declaration alone, not what it names on this host (checking on another machine). */
static bool arg_offline = false;

static int check_references(const Sandbox *s) {
        return arg_offline ? 0 : sandbox_check_references(s, arg_quiet);
}

static int verify_path(const char *path, bool dropin) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *name = NULL;
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        int r;

        if (dropin || endswith(base, ".conf"))
                return sandbox_check_dropin(path);
        /* A hidden file is never read by the generator under its own name: it is a temporary copy, such as
         * ansible-core 2.19's ".source.sandbox" (older versions say "source"). Check it as a declaration. */
        if (endswith(base, SANDBOX_SUFFIX) && base[0] != '.') {
                if (sandbox_name_from_path(path, &name) < 0)
                        return log_syntax(path, 0, LOG_ERR, EINVAL,
                                          "File name does not make a valid sandbox name (letters, digits, '-', "
                                          "'_', '.', at most %d characters).",
                                          SANDBOX_NAME_MAX);
        }
        r = sandbox_load_files(name ?: "verify", path, NULL, &s);
        if (r < 0)
                return r;
        return check_references(s);
}

static int verify_declared(char *const *dirs, const char *name) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        int r;

        if (!sandbox_name_is_valid(name))
                return log_error_errno(EINVAL, "\"%s\" is neither a file nor a valid sandbox name.", name);
        r = sandbox_load(dirs, name, &s);
        if (r == -ENOENT) {
                log_error("No sandbox %s declared in:", name);
                STRV_FOREACH(d, dirs)
                        log_error("  %s", *d);
                return -ENOENT;
        }
        if (r == -ENXIO) {
                log_info("Sandbox %s is masked.", name);
                return 0;
        }
        if (r < 0)
                return r;
        return check_references(s);
}

int verb_verify(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        bool dropin;
        int r, ret = 0;

        /* --dropin: the files are drop-ins whatever their names (Ansible validates a temporary copy). */
        dropin = false;
        for (;;)
                if (verb_take_option(&argc, &argv, "--dropin"))
                        dropin = true;
                else if (verb_take_option(&argc, &argv, "--offline"))
                        arg_offline = true;
                else
                        break;
        if (dropin && argc <= 1)
                return log_error_errno(EINVAL, "verify --dropin needs FILE arguments.");

        if (!dirs)
                return log_oom();
        /* The declarations and the files they name are on the other host: ask sandyctl there. */
        if (arg_host) {
                _cleanup_strv_free_ char **args = NULL;

                for (int i = 1; i < argc; i++)
                        if (dropin || strchr(argv[i], '/') || endswith(argv[i], SANDBOX_SUFFIX) ||
                            endswith(argv[i], ".conf"))
                                return log_error_errno(EOPNOTSUPP,
                                                       "verify -H checks declared sandboxes on %s by "
                                                       "NAME; %s is a file here. Copy it there, or "
                                                       "check it here without -H.",
                                                       arg_host, argv[i]);
                if (strv_extend(&args, "verify") < 0 || (arg_offline && strv_extend(&args, "--offline") < 0))
                        return log_oom();
                for (int i = 1; i < argc; i++)
                        if (strv_extend(&args, argv[i]) < 0)
                                return log_oom();
                return remote_sandyctl((int) strv_length(args), args);
        }
        if (argc <= 1) {
                r = sandbox_list_names(dirs, &names);
                if (r < 0)
                        return log_error_errno(r, "Failed to enumerate sandboxes: %m");
                if (log_error_count() > 0)
                        ret = -EINVAL;
        }
        for (int i = 1; i < argc; i++) {
                /* A path (with a '/') or a *.sandbox / *.conf file name is a file; anything else names a
                 * declared sandbox, even when a file of that name happens to be in the current directory. */
                if (dropin || strchr(argv[i], '/') || endswith(argv[i], SANDBOX_SUFFIX) ||
                    endswith(argv[i], ".conf"))
                        r = verify_path(argv[i], dropin);
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
