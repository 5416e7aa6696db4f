/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A pager for long output and colour decisions, in the manner of systemctl: less -FRSXMK on a tty unless
 * --no-pager, $SYSTEMD_PAGER/$PAGER choose another ("cat" or "" turns it off); colour only on a tty and
 * never with $NO_COLOR set ($SYSTEMD_COLORS=0/1 as systemd's own override). */
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "process-util.h"
#include "log.h"
#include "sandyctl.h"
#include "parse-util.h"

static pid_t pager_pid = 0;
static int saved_stdout = -EBADF;

bool colors_enabled(void) {
        static int cached = -1;
        const char *e;

        if (cached >= 0)
                return cached;
        e = getenv("SYSTEMD_COLORS");
        if (e && parse_boolean(e) >= 0)
                cached = parse_boolean(e);
        else if (getenv("NO_COLOR"))
                cached = 0; /* https://no-color.org: set at all, whatever its value */
        else if (streq_ptr(getenv("TERM"), "dumb"))
                cached = 0;
        else
                cached = isatty(STDOUT_FILENO) || pager_pid > 0;
        return cached;
}

const char *ansi(const char *code) {
        return colors_enabled() ? code : "";
}

void pager_open(void) {
        const char *pager;
        int fds[2];
        pid_t pid;

        if (arg_no_pager || pager_pid > 0 || !isatty(STDOUT_FILENO))
                return;
        pager = getenv("SYSTEMD_PAGER");
        if (!pager)
                pager = getenv("PAGER");
        if (pager && (isempty(pager) || streq(pager, "cat")))
                return;
        /* Decide about colour now, while stdout still is the terminal. */
        (void) colors_enabled();
        fflush(stdout);
        pid = fork_with_pipe(fds);
        if (pid < 0)
                return;
        if (pid == 0) {
                if (dup2(fds[0], STDIN_FILENO) < 0)
                        _exit(127);
                if (!getenv("LESS"))
                        setenv("LESS", "FRSXMK", 1);
                if (!getenv("LESSCHARSET"))
                        setenv("LESSCHARSET", "utf-8", 1);
                if (pager) {
                        execl("/bin/sh", "sh", "-c", pager, NULL);
                        _exit(127);
                }
                execlp("less", "less", NULL);
                execlp("more", "more", NULL);
                /* No pager at all: copy through, so output is not lost. */
                execlp("cat", "cat", NULL);
                _exit(127);
        }
        saved_stdout = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        if (dup2(fds[1], STDOUT_FILENO) < 0) {
                saved_stdout = safe_close(saved_stdout);
                (void) kill(pid, SIGTERM);
        }
        safe_close(fds[0]);
        safe_close(fds[1]);
        pager_pid = pid;
        /* The pager may quit early (q); writes then fail with EPIPE instead of killing us. */
        (void) signal(SIGPIPE, SIG_IGN);
}

void pager_close(void) {
        if (pager_pid <= 0)
                return;
        fflush(stdout);
        if (saved_stdout >= 0) {
                (void) dup2(saved_stdout, STDOUT_FILENO);
                saved_stdout = safe_close(saved_stdout);
        } else
                (void) close(STDOUT_FILENO);
        (void) wait_for_pid(pager_pid, NULL);
        pager_pid = 0;
}
