/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The environment of the agent's login shells: Environment= and CredentialEnvironment= of the declaration,
 * in /etc/profile.d/sandy-session.sh of the sandbox's root (written into the overlay's upper layer, never
 * the image). A credential is read there from the sandbox's own copy when the shell starts, so its value is
 * in no file but that copy. sandyctl exec sets the same variables itself (sandyctl/exec-run.c). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "paths.h"
#include "prepare.h"
#include "string-util.h"
#include "strv.h"

#define SESSION_ENV_FILE "sandy-session.sh"

/* 'VALUE' for sh: a quote inside becomes '\''. */
static int put_sh_quoted(FILE *f, const char *v) {
        fputc('\'', f);
        for (; *v; v++)
                if (*v == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*v, f);
        fputc('\'', f);
        return 0;
}

static int session_env_text(const Sandbox *s, char **ret, size_t *ret_size) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return -ENOMEM;
        fputs("# Written by sandy-prepare at every start: Environment= and CredentialEnvironment= of the\n"
              "# declaration, for login shells (sandy.sandbox(5)).\n",
              f);
        STRV_FOREACH(kv, s->environment) {
                const char *eq = strchr(*kv, '=');
                fprintf(f, "%.*s=", (int) (eq - *kv), *kv);
                put_sh_quoted(f, eq + 1);
                fprintf(f, "\nexport %.*s\n", (int) (eq - *kv), *kv);
        }
        STRV_FOREACH(ce, s->credential_environment) {
                const char *eq = strchr(*ce, '=');
                int n = (int) (eq - *ce);
                fprintf(f, "if [ -r " SANDY_CREDENTIALS_INSIDE "/%s ]; then %.*s=$(cat " SANDY_CREDENTIALS_INSIDE
                           "/%s); export %.*s; fi\n",
                        eq + 1, n, *ce, eq + 1, n, *ce);
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(text);
        *ret_size = size;
        return 0;
}

int session_env_setup(const Sandbox *s, const char *root, uid_t base) {
        _cleanup_close_ int etcfd = -EBADF, pdfd = -EBADF, fd = -EBADF;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        etcfd = root_open_etc(s, root);
        if (etcfd < 0)
                return etcfd;
        if (strv_isempty(s->environment) && strv_isempty(s->credential_environment)) {
                /* Nothing to say; one left from an earlier start (Ephemeral=no) must not say it still. */
                pdfd = openat(etcfd, "profile.d", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (pdfd >= 0)
                        (void) unlinkat(pdfd, SESSION_ENV_FILE, 0);
                return 0;
        }
        /* The image's own /etc/profile.d, or one of the sandbox's root in the upper layer; never a symlink
         * the image put there. */
        if (mkdirat(etcfd, "profile.d", 0755) >= 0) {
                if (fchownat(etcfd, "profile.d", base, base, AT_SYMLINK_NOFOLLOW) < 0)
                        return log_error_errno(errno, "Failed to chown /etc/profile.d of %s: %m", s->name);
        } else if (errno != EEXIST)
                return log_error_errno(errno, "Failed to create /etc/profile.d of %s: %m", s->name);
        pdfd = openat(etcfd, "profile.d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (pdfd < 0)
                return log_error_errno(errno, "Failed to open /etc/profile.d of %s: %m", s->name);
        r = session_env_text(s, &text, &size);
        if (r < 0)
                return log_oom();
        (void) unlinkat(pdfd, SESSION_ENV_FILE, 0);
        fd = openat(pdfd, SESSION_ENV_FILE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, text, size) != (ssize_t) size || fchown(fd, base, base) < 0)
                return log_error_errno(errno, "Failed to write /etc/profile.d/" SESSION_ENV_FILE " of %s: %m",
                                       s->name);
        return 0;
}
