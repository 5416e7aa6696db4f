/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running a command in a running sandbox, as its payload runs: shared by sandyctl exec (as root) and
 * sandy-helper's Exec method (for members of group sandy). See exec-run.c. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

/* Messages on the control socket (SOCK_SEQPACKET) between the caller and the command's supervisor. */
#define EXEC_MSG_PTY 'P'    /* to the caller, with the pty master as SCM_RIGHTS */
#define EXEC_MSG_EXIT 'X'   /* to the caller, followed by the exit status as int32 */
#define EXEC_MSG_ERROR 'E'  /* to the caller before EXIT 125: why the command could not start, as errno */
#define EXEC_MSG_SIGNAL 'S' /* from the caller, followed by a signal number as int32 */
#define EXEC_MSG_STDIO 'I'  /* from the caller to sandy-exec (members, without pty): stdin, stdout, stderr of
                             * the command as SCM_RIGHTS, before anything else */

typedef struct ExecParams {
        const Sandbox *s;
        char **argv;
        const char *term; /* the caller's TERM, or NULL */
        bool pty;         /* give the command a pty of its own (sent to the caller), not stdio[] */
        int stdio[3];     /* the command's stdin, stdout, stderr without pty (pipes of the caller) */
        int control;
        bool seccomp_live; /* may read the filter from the leader when sandy-prepare --started did not */
} ExecParams;

/* One message on the control socket: type, int32 value, and up to n_fds descriptors (SCM_RIGHTS). */
int exec_send_msg(int sock, char type, int32_t value, const int *fds, size_t n_fds);
/* Receives without blocking; *n_fds is in: room in fds[], out: how many came (O_CLOEXEC). -EAGAIN: none
 * waiting; -ECONNRESET: the other end is closed; -EBADMSG: not a message of ours (its fds are closed). */
int exec_recv_msg(int sock, char *type, int32_t *value, int *fds, size_t *n_fds);

/* Start the command's supervisor; it reports on params->control. The caller keeps its fds (they are
 * duplicated into the child). Errors are logged; -ESRCH: the sandbox is not running. */
int exec_spawn(const ExecParams *params, pid_t *ret_pid);

/* The leader of the running sandbox NAME, as machined records it, checked to run in sandy@NAME.service.
 * Returns a pidfd. */
int sandbox_leader_pidfd(const char *name, pid_t *ret_pid);

/* sandy-prepare --started: the leader's seccomp filters to SANDY_RUNTIME_DIR/NAME/seccomp. */
int exec_save_seccomp(const char *name);

bool exec_signal_forwardable(int sig);
