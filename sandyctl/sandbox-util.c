/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Looking up named sandboxes and their images the same way in every verb, with the same messages and exit
 * statuses. */
#include <string.h>

#include "fs-util.h"
#include "hash.h"
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

int declaration_digest(const Sandbox *s, char ret[static SHA256_HEX_LEN + 1]) {
        _cleanup_free_ char *lines = NULL;
        int r;

        /* The generator's digest (SANDY_DIGEST_ENV): the SHA-256 of one "SHA256  PATH" line per file, in the
         * order applied (sha256sum's format). */
        ret[0] = 0;
        STRV_FOREACH(f, s->files) {
                _cleanup_free_ char *text = NULL;
                char hex[SHA256_HEX_LEN + 1];
                size_t size;

                r = read_full_file(*f, 1024 * 1024, &text, &size);
                if (r >= 0)
                        r = sha256_hex(text, size, hex);
                if (r >= 0)
                        r = strextendf(&lines, "%s  %s\n", hex, *f);
                if (r < 0)
                        return r;
        }
        return sha256_hex(lines ?: "", lines ? strlen(lines) : 0, ret);
}
