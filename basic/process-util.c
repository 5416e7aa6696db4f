/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "process-util.h"

pid_t fork_with_pipe(int fds[2]) {
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                pid = -errno;
                fds[0] = safe_close(fds[0]);
                fds[1] = safe_close(fds[1]);
        }
        return pid;
}

int wait_for_pid(pid_t pid, int *ret_wstatus) {
        int st;

        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (ret_wstatus)
                *ret_wstatus = st;
        return 0;
}

int exit_status_from_wait(int wstatus) {
        if (WIFEXITED(wstatus))
                return WEXITSTATUS(wstatus);
        if (WIFSIGNALED(wstatus))
                return 128 + WTERMSIG(wstatus);
        return 255;
}

const char *wait_status_to_string(int wstatus, char *buf, size_t size) {
        if (WIFEXITED(wstatus))
                snprintf(buf, size, "exited with status %d", WEXITSTATUS(wstatus));
        else if (WIFSIGNALED(wstatus)) {
                const char *sig = sigabbrev_np(WTERMSIG(wstatus));
                if (sig)
                        snprintf(buf, size, "was killed by signal %s", sig);
                else
                        snprintf(buf, size, "was killed by signal %d", WTERMSIG(wstatus));
        } else
                snprintf(buf, size, "ended with wait status 0x%x", (unsigned) wstatus);
        return buf;
}

int wait_for_terminate_and_check(const char *name, pid_t pid) {
        char buf[64];
        int st, r;

        r = wait_for_pid(pid, &st);
        if (r < 0)
                return name ? log_error_errno(r, "Failed to wait for %s: %m", name) : r;
        r = exit_status_from_wait(st);
        if (r != 0 && name)
                log_error("%s %s.", name, wait_status_to_string(st, buf, sizeof buf));
        return r;
}
