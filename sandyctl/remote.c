/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* -H for the verbs that read the declarations (list, status, images, cat, verify, doctor): those live on the
 * other host, and so do the files they name, so sandyctl itself runs there over ssh, as the same user, with
 * the same global options: a member gets there exactly what they would get logged in. The verbs that only
 * talk to systemd, machined and sandy-helper use the remote bus instead (bus_connect_system()). */
#include <string.h>

#include "log.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

/* ssh hands the command to the remote user's shell as one line: a word with anything but these characters
 * is quoted. Plain words stay as they are, so the argv is also usable without a shell. */
static char *shell_word(const char *w) {
        char *q = NULL;

        if (!isempty(w) && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.,:=@%+/-") ==
                                   strlen(w))
                return strdup(w);
        if (strextendf(&q, "'") < 0)
                return NULL;
        for (const char *c = w; *c; c++)
                if (strextendf(&q, *c == '\'' ? "'\\''" : "%c", *c) < 0) {
                        free(q);
                        return NULL;
                }
        if (strextendf(&q, "'") < 0) {
                free(q);
                return NULL;
        }
        return q;
}

int remote_sandyctl(int argc, char *argv[]) {
        _cleanup_strv_free_ char **args = NULL, **words = NULL;

        if (strv_extend(&args, "ssh") < 0 || strv_extend(&args, "-xT") < 0 || strv_extend(&args, "--") < 0 ||
            strv_extend(&args, arg_host) < 0 || strv_extend(&words, "sandyctl") < 0 ||
            (arg_json && strv_extend(&words, arg_json_pretty ? "--json=pretty" : "--json=short") < 0) ||
            (!arg_legend && strv_extend(&words, "--no-legend") < 0) ||
            (arg_quiet && strv_extend(&words, "--quiet") < 0) ||
            (!arg_ask_password && strv_extend(&words, "--no-ask-password") < 0))
                return log_oom();
        for (int i = 0; i < argc; i++)
                if (strv_extend(&words, argv[i]) < 0)
                        return log_oom();
        STRV_FOREACH(w, words)
                if (strv_consume(&args, shell_word(*w)) < 0)
                        return log_oom();
        fflush(stdout);
        execvp(args[0], args);
        return log_error_errno(errno, "Failed to execute ssh: %m");
}
