/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sandy.Helper1.Exec on /org/sandy/Helper1: Exec(s sandbox, as argv, s term, b pty, h stdin, h stdout,
 * h stderr, h control): run argv in the running, declared sandbox as its user, for `sandyctl exec` of a
 * member of group sandy (root runs it directly). polkit action org.sandy.helper.exec with detail
 * "sandbox"=NAME decides who may, per sandbox.
 *
 * The command is started exactly as for root (sandyctl/exec-run.c) with the caller's pipes as its stdio
 * (or a pty of its own, whose master goes to the caller over the control socket, a SOCK_SEQPACKET unix
 * socket) and reports its exit status on the control socket; the method returns once it started. The
 * command's supervisor lives in the sandbox's cgroup, not ours: it does not keep the helper alive, and the
 * helper may exit while it runs. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "bus-exec.h"
#include "bus-names.h"
#include "bus-polkit.h"
#include "exec-run.h"
#include "log.h"
#include "sandbox.h"
#include "strv.h"
#include "string-util.h"

#define EXEC_ARGS_MAX 4096U
#define EXEC_ARGV_BYTES_MAX (1024U * 1024U)

static int check_fd(int fd, bool want_socket) {
        struct stat st;
        int type = 0;
        socklen_t len = sizeof type;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -EBADF;
        if (!want_socket)
                return 0;
        if (!S_ISSOCK(st.st_mode) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
                return -ENOTSOCK;
        return 0;
}

static int method_exec(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **argv = NULL;
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        const char *name, *term;
        int pty, fds[4], r;
        size_t bytes = 0;
        pid_t pid;

        if (!dirs)
                return -ENOMEM;
        /* Dispatched again after the polkit answer: read from the start each time. */
        r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (!sandbox_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid sandbox name.");
        r = bus_verify_polkit_async(m, POLKIT_ACTION_EXEC, (const char *const[]){"sandbox", name, NULL}, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* asked polkit; called again with the answer */

        r = sd_bus_message_read_strv(m, &argv);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "sbhhhh", &term, &pty, &fds[0], &fds[1], &fds[2], &fds[3]);
        if (r < 0)
                return r;
        if (strv_isempty(argv) || strv_length(argv) > EXEC_ARGS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Expected 1 to %u arguments.", EXEC_ARGS_MAX);
        STRV_FOREACH(a, argv)
                if ((bytes += strlen(*a) + 1) > EXEC_ARGV_BYTES_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The arguments are too long.");
        if (!isempty(term) && (string_has_cc(term) || strlen(term) > 127 || strchr(term, '=')))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid TERM.");
        for (int i = 0; i < 4; i++)
                if (check_fd(fds[i], i == 3) < 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 i == 3 ? "The control fd must be a SOCK_SEQPACKET socket."
                                                        : "Invalid file descriptor for stdio.");

        r = sandbox_load(dirs, name, &s);
        if (r == -ENOENT || r == -ENXIO)
                return sd_bus_error_setf(error, HELPER_ERROR_NO_SUCH_SANDBOX, "Sandbox %s is not declared.", name);
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_INVALID_DECLARATION,
                                         "The declaration of sandbox %s has errors.", name);
        /* The User= and workspace the running sandbox was started with, or none. */
        r = bus_sandbox_check_current(sd_bus_message_get_bus(m), &s, error);
        if (r < 0)
                return r;

        ExecParams p = {.s = s, .argv = argv, .term = isempty(term) ? NULL : term, .pty = pty, .control = fds[3],
                        .stdio = {fds[0], fds[1], fds[2]}};
        r = exec_spawn(&p, &pid);
        if (r == -ESRCH)
                return sd_bus_error_setf(error, HELPER_ERROR_NOT_RUNNING, "Sandbox %s is not running.", name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to run the command in sandbox %s: %m", name);
        log_info("Running %s in sandbox %s for %s.", argv[0], name, sd_bus_message_get_sender(m) ?: "?");
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable exec_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Exec",
                                SD_BUS_ARGS("s", sandbox, "as", argv, "s", term, "b", pty, "h", stdin, "h", stdout, "h",
                                            stderr, "h", control),
                                SD_BUS_NO_RESULT, method_exec, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_exec_register(sd_bus *bus) {
        return sd_bus_add_object_vtable(bus, NULL, HELPER_OBJECT_PATH, HELPER_EXEC_IFACE, exec_vtable, NULL);
}
