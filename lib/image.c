/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "conf-parser.h"
#include "hash.h"
#include "image.h"
#include "log.h"
#include "strv.h"
#include "fs-util.h"
#include "string-util.h"

#define SETUP_SCRIPT_MAX (1024U * 1024U)

int sandbox_read_setup(const Sandbox *s, char **ret, size_t *ret_size) {
        _cleanup_free_ char *problem = NULL;
        _cleanup_close_ int fd = -EBADF;
        uid_t owner = 0;
        int r;

        /* The script is built into the image that the sandbox's agent runs with its workspace: whoever could
         * change it would run code as that agent. So the same rule as for the declaration (root's, or the
         * sandbox owner's own), checked and read through one descriptor. */
        (void) sandbox_owner_uid(s, &owner);
        r = open_trusted(s->setup, 0, owner == 0 ? UID_INVALID : owner, &fd, &problem);
        if (r == -EPERM)
                return log_error_errno(r, "Refusing Setup= script %s of sandbox %s: %s", s->setup, s->name, problem);
        if (r < 0)
                return log_error_errno(r, "Failed to open Setup= script %s of sandbox %s: %m", s->setup, s->name);
        r = read_full_fd(fd, SETUP_SCRIPT_MAX, ret, ret_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read Setup= script %s: %m", s->setup);
        return 0;
}

int sandbox_recipe(const Sandbox *s, char **ret) {
        _cleanup_free_ char *buf = NULL, *script = NULL;
        char script_hash[IMAGE_ID_HEX_LEN + 1] = "-";
        size_t size, script_size;
        FILE *f;
        int r;

        if (s->setup) {
                r = sandbox_read_setup(s, &script, &script_size);
                if (r < 0)
                        return r;
                r = sha256_hex(script, script_size, script_hash);
                if (r < 0)
                        return r;
        }

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        /* Only what changes the built tree; Boot= and User= decide what provisioning adds. Bump the
         * version line when the build itself changes in a way that matters. */
        fprintf(f, "sandy-recipe 1\nfrom %s\npackages", s->from);
        STRV_FOREACH(p, s->packages)
                fprintf(f, " %s", *p);
        fprintf(f, "\nsetup %s\nboot %s\nuser %s\n", script_hash, s->boot ? "yes" : "no", s->user);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

int sandbox_image_id(const Sandbox *s, char ret[static IMAGE_ID_HEX_LEN + 1]) {
        _cleanup_free_ char *recipe = NULL;
        int r;

        r = sandbox_recipe(s, &recipe);
        if (r < 0)
                return r;
        return sha256_hex(recipe, strlen(recipe), ret);
}

bool image_id_is_valid(const char *id) {
        if (!id || strlen(id) != IMAGE_ID_HEX_LEN)
                return false;
        return strspn(id, "0123456789abcdef") == IMAGE_ID_HEX_LEN;
}

char *image_dir(const char *id) {
        char *p;

        if (!image_id_is_valid(id) || xasprintf(&p, SANDY_IMAGE_STORE_DIR "/%s", id) < 0)
                return NULL;
        return p;
}

char *image_rootfs(const char *id) {
        char *p;

        if (!image_id_is_valid(id) || xasprintf(&p, SANDY_IMAGE_STORE_DIR "/%s/rootfs", id) < 0)
                return NULL;
        return p;
}
