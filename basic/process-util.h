/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* pipe2(fds, O_CLOEXEC), then fork(): the child's PID in the parent, 0 in the child, -errno (and no
 * descriptor left open) on failure. Each side then closes the end it does not use. */
pid_t fork_with_pipe(int fds[2]);

/* waitpid() that retries on EINTR. Returns 0 or -errno; *ret_wstatus (optional) is the raw status. */
int wait_for_pid(pid_t pid, int *ret_wstatus);

/* The one decoder of a wait status, as a shell reports it: the exit code, or 128+N for signal N. */
int exit_status_from_wait(int wstatus);
/* "exited with status 3", "was killed by signal KILL". */
const char *wait_status_to_string(int wstatus, char *buf, size_t size);

/* Wait for pid and decode its status as above. A non-zero result is logged as "NAME exited with status
 * N" (or "was killed by ...") at LOG_ERR when name is given. Returns the decoded status (>= 0), or -errno
 * when waiting failed. */
int wait_for_terminate_and_check(const char *name, pid_t pid);
