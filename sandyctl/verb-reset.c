/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl reset NAME...: discard what a sandbox kept (the Ephemeral=no overlay, the PersistHome= home, the
 * report of created protected paths): /var/lib/sandy/state/NAME. Refused while the sandbox runs. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "util.h"

int verb_reset(int argc, char *argv[]) {
        int ret = 0;

        for (int i = 1; i < argc; i++) {
                _cleanup_free_ char *state = NULL, *running = NULL;
                const char *name = argv[i];
                struct stat st;
                pid_t pid;
                int status;

                if (!sandbox_name_is_valid(name)) {
                        ret = log_error_errno(EINVAL, "\"%s\" is not a valid sandbox name.", name);
                        continue;
                }
                if (xasprintf(&state, SANDY_STATE_DIR "/state/%s", name) < 0 ||
                    xasprintf(&running, "/run/sandy/%s/start.env", name) < 0)
                        return log_oom();
                /* start.env exists from sandy-prepare's start until its cleanup after the stop. */
                if (access(running, F_OK) == 0) {
                        ret = log_error_errno(EBUSY, "Sandbox %s is running; stop it first (systemctl stop "
                                                     "sandy@%s.service).",
                                              name, name);
                        continue;
                }
                if (lstat(state, &st) < 0) {
                        if (errno == ENOENT) {
                                log_info("Sandbox %s has no state to discard.", name);
                                continue;
                        }
                        ret = log_error_errno(errno, "Failed to access %s: %m", state);
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        ret = log_error_errno(ENOTDIR, "%s is not a directory; not touching it.", state);
                        continue;
                }
                /* rm stays on this file system and never follows symlinks (the tree holds what the
                 * sandbox wrote). */
                pid = fork();
                if (pid < 0)
                        return log_error_errno(errno, "Failed to fork: %m");
                if (pid == 0) {
                        execl("/bin/rm", "rm", "-rf", "--one-file-system", "--", state, (char *) NULL);
                        _exit(127);
                }
                if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        ret = log_error_errno(EIO, "Failed to remove %s.", state);
                        continue;
                }
                log_info("Discarded the state of sandbox %s (%s).", name, state);
        }
        return ret;
}
