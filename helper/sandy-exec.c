/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-exec [--pty] [--term=TERM] NAME -- COMMAND [ARG...]
 *
 * sandyctl exec of a member of group sandy, once sandy-helper has authorized it (helper/bus-exec.c): the
 * helper starts this as a transient unit of PID 1's, so that the command's supervisor descends from PID 1
 * and not from sandy-helper.service, whose own seccomp filters (SystemCallArchitectures=native, ...) would
 * otherwise be stacked on the command's. stdin is the caller's control socket (exec-run.h); without --pty
 * the caller has queued its three pipe ends there (EXEC_MSG_STDIO). Starts the command exactly as root's
 * sandyctl exec does (exec-run.c) and exits; the supervisor, in the sandbox's cgroup, reports the exit
 * status to the caller. On failure it reports 125 itself. Not meant to be run by hand. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec-run.h"
#include "log.h"
#include "sandbox.h"
#include "strv.h"
#include "string-util.h"

static int control_socket(void) {
        _cleanup_close_ int null = -EBADF;
        int type = 0, fd;
        socklen_t len = sizeof type;

        if (getsockopt(STDIN_FILENO, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
                return log_error_errno(ENOTSOCK, "stdin is not the caller's control socket.");
        /* Off fd 0: the supervisor keeps 0 to 2 taken by something harmless. */
        fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return log_error_errno(errno, "Failed to duplicate the control socket: %m");
        null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0) {
                safe_close(fd);
                return log_error_errno(errno, "Failed to set up stdin: %m");
        }
        return fd;
}

static int run(int argc, char *argv[], int control) {
        static const struct option options[] = {
                {"pty", no_argument, NULL, 'p'},
                {"term", required_argument, NULL, 't'},
                {},
        };
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        int fds[3] = {-EBADF, -EBADF, -EBADF}, c, r;
        const char *term = NULL;
        bool pty = false;
        pid_t pid;

        if (!dirs)
                return log_oom();
        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                switch (c) {
                case 'p':
                        pty = true;
                        break;
                case 't':
                        term = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (argc - optind < 3 || !streq(argv[optind + 1], "--") || !sandbox_name_is_valid(argv[optind]))
                return log_error_errno(EINVAL, "Usage: sandy-exec [--pty] [--term=TERM] NAME -- COMMAND [ARG...]");
        r = sandbox_load(dirs, argv[optind], &s);
        if (r < 0)
                return log_error_errno(r, "Sandbox %s cannot be loaded: %m", argv[optind]);
        if (!pty) {
                size_t n = 3;
                char type;
                int32_t v;

                /* Queued by the caller before it asked sandy-helper: nothing to wait for. */
                r = exec_recv_msg(control, &type, &v, fds, &n);
                if (r >= 0 && (type != EXEC_MSG_STDIO || n != 3)) {
                        for (size_t i = 0; i < n; i++)
                                safe_close(fds[i]);
                        r = -EBADMSG;
                }
                if (r < 0)
                        return log_error_errno(r, "The caller sent no stdin, stdout and stderr: %m");
        }

        ExecParams p = {.s = s, .argv = argv + optind + 2, .term = term, .pty = pty, .control = control,
                        .seccomp_live = true, .stdio = {fds[0], fds[1], fds[2]}};
        r = exec_spawn(&p, &pid);
        for (size_t i = 0; i < 3; i++)
                safe_close(fds[i]);
        return r;
}

int main(int argc, char *argv[]) {
        int control, r;

        control = control_socket();
        if (control < 0)
                return 125;
        r = run(argc, argv, control);
        if (r < 0) {
                /* The caller sees the journal of this unit only as root: say why, then 125. */
                (void) exec_send_msg(control, EXEC_MSG_ERROR, -r, NULL, 0);
                (void) exec_send_msg(control, EXEC_MSG_EXIT, 125, NULL, 0);
        }
        safe_close(control);
        return r < 0 ? 125 : 0;
}
