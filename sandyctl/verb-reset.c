/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl reset NAME...: discard what a sandbox kept (the Ephemeral=no overlay, the PersistHome= home, the
 * report of created protected paths): SANDY_SANDBOX_STATE_DIR/NAME. Refused while the sandbox runs. */
#include <fcntl.h>
#include <sys/stat.h>

#include "log.h"
#include "rm-rf.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"

int verb_reset(int argc, char *argv[]) {
        int ret = 0;

        for (int i = 1; i < argc; i++) {
                _cleanup_free_ char *state = NULL, *running = NULL;
                const char *name = argv[i];
                struct stat st;
                int r;

                if (!sandbox_name_is_valid(name)) {
                        ret = log_error_errno(EINVAL, "\"%s\" is not a valid sandbox name.", name);
                        continue;
                }
                state = sandbox_state_path(name, NULL);
                running = sandbox_runtime_path(name, SANDY_START_ENV);
                if (!state || !running)
                        return log_oom();
                /* SANDY_START_ENV exists from sandy-prepare's start until its cleanup after the stop. */
                if (access(running, F_OK) == 0) {
                        ret = log_error_errno(EBUSY, "Sandbox %s is running; stop it first (systemctl stop "
                                                     SANDBOX_UNIT_FMT ").",
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
                /* The tree holds what the sandbox wrote: never follow its symlinks, never leave the file
                 * system. */
                r = rm_rf(state);
                if (r < 0) {
                        ret = log_error_errno(r, "Failed to remove %s: %m", state);
                        continue;
                }
                log_info("Discarded the state of sandbox %s (%s).", name, state);
        }
        return ret;
}
