/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sandy.Helper1.Exec on /org/sandy/Helper1: Exec(s sandbox, as argv, s term, b pty, h control): run argv
 * in the running, declared sandbox as its user, for `sandyctl exec` of a member of group sandy (root runs
 * it directly). polkit action org.sandy.helper.exec with detail "sandbox"=NAME; like every method naming a
 * sandbox, only callers allowed on it get that far (bus-polkit.c).
 *
 * The command is not started from here: this process runs under sandy-helper.service's seccomp filters,
 * which its children would inherit and could never shed. It asks PID 1 for a transient unit running
 * sandy-exec (helper/sandy-exec.c) with the caller's control socket (a SOCK_SEQPACKET unix socket) as stdin;
 * that starts the command exactly as root's sandyctl exec does (sandyctl/exec-run.c), in the sandbox's
 * cgroup, and the supervisor reports the exit status on the control socket. The caller's pipes (or, with a
 * pty, the pty's master) travel over that socket too. The method returns once PID 1 has the job. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "bus-exec.h"
#include "bus-names.h"
#include "bus-polkit.h"
#include "exec-run.h"
#include "log.h"
#include "paths.h"
#include "sandbox.h"
#include "strv.h"
#include "string-util.h"
#include "transient-unit.h"

#define EXEC_ARGS_MAX 4096U
#define EXEC_ARGV_BYTES_MAX (1024U * 1024U)

static int check_control(int fd) {
        struct stat st;
        int type = 0;
        socklen_t len = sizeof type;

        if (fd < 0 || fstat(fd, &st) < 0)
                return -EBADF;
        if (!S_ISSOCK(st.st_mode) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
                return -ENOTSOCK;
        return 0;
}

/* sandy-exec [--pty] [--term=TERM] NAME -- ARGV... */
static int exec_command_line(const char *name, char **argv, const char *term, bool pty, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *t = NULL;

        if (term && xasprintf(&t, "--term=%s", term) < 0)
                return -ENOMEM;
        if (strv_extend(&l, SANDY_EXEC_BINARY) < 0 || (pty && strv_extend(&l, "--pty") < 0) ||
            (t && strv_extend(&l, t) < 0) || strv_extend(&l, name) < 0 || strv_extend(&l, "--") < 0)
                return -ENOMEM;
        STRV_FOREACH(a, argv)
                if (strv_extend(&l, *a) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static int start_exec_unit(sd_bus *bus, const char *name, char **argv, const char *term, bool pty, int control,
                           sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **cmdline = NULL;
        _cleanup_free_ char *prefix = NULL, *unit = NULL, *desc = NULL;
        int r;

        if (xasprintf(&prefix, SANDY_EXEC_UNIT_PREFIX "%s", name) < 0 ||
            xasprintf(&desc, "sandyctl exec in sandbox %s", name) < 0)
                return -ENOMEM;
        r = transient_unit_name(prefix, &unit);
        if (r < 0)
                return r;
        r = exec_command_line(name, argv, term, pty, &cmdline);
        if (r < 0)
                return r;

        r = transient_unit_new(bus, unit, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s", desc,
                                          "StandardInputFileDescriptor", "h", control, "StandardOutput", "s",
                                          "journal", "StandardError", "s", "journal", "CollectMode", "s",
                                          "inactive-or-failed");
        if (r >= 0)
                r = transient_unit_append_exec(m, SANDY_LIBEXEC_DIR "/" SANDY_EXEC_BINARY, cmdline);
        if (r < 0)
                return r;
        return transient_unit_start(bus, m, unit, error);
}

static int method_exec(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **argv = NULL;
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        const char *name, *term;
        int pty, control, r;
        size_t bytes = 0;
        uid_t uid = 0;
        bool have_uid = false;

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
        r = sd_bus_message_read(m, "sbh", &term, &pty, &control);
        if (r < 0)
                return r;
        if (strv_isempty(argv) || strv_length(argv) > EXEC_ARGS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Expected 1 to %u arguments.", EXEC_ARGS_MAX);
        STRV_FOREACH(a, argv)
                if ((bytes += strlen(*a) + 1) > EXEC_ARGV_BYTES_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The arguments are too long.");
        if (!isempty(term) && (string_has_cc(term) || strlen(term) > 127 || strchr(term, '=') || strchr(term, ' ')))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid TERM.");
        if (check_control(control) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The control fd must be a SOCK_SEQPACKET socket.");

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
        {
                pid_t leader;
                int pidfd = sandbox_leader_pidfd(name, &leader);
                if (pidfd == -ESRCH)
                        return sd_bus_error_setf(error, HELPER_ERROR_NOT_RUNNING, "Sandbox %s is not running.", name);
                if (pidfd < 0)
                        return sd_bus_error_set_errnof(error, pidfd, "Failed to find the leader of sandbox %s: %m",
                                                       name);
                safe_close(pidfd);
        }

        r = start_exec_unit(sd_bus_message_get_bus(m), name, argv, isempty(term) ? NULL : term, pty, control, error);
        if (r < 0) {
                if (sd_bus_error_is_set(error))
                        return r;
                return sd_bus_error_set_errnof(error, r, "Failed to run the command in sandbox %s: %m", name);
        }
        {
                _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
                have_uid = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds) >= 0 &&
                           sd_bus_creds_get_euid(creds, &uid) >= 0;
        }
        log_info("Running %s in sandbox %s for UID %d (%s).", argv[0], name, have_uid ? (int) uid : -1,
                 sd_bus_message_get_sender(m) ?: "?");
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable exec_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Exec",
                                SD_BUS_ARGS("s", sandbox, "as", argv, "s", term, "b", pty, "h", control),
                                SD_BUS_NO_RESULT, method_exec, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_exec_register(sd_bus *bus) {
        return sd_bus_add_object_vtable(bus, NULL, HELPER_OBJECT_PATH, HELPER_EXEC_IFACE, exec_vtable, NULL);
}
