/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* All mounts of one start, in order, and their removal after the stop. */
#include <sys/mount.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "mount-util.h"
#include "prepare.h"
#include "render.h"
#include "string-util.h"
#include "strv.h"

/* NestedUserNamespaces=no: sandy-nouserns becomes PID 1 and execs what nspawn would have run (the init, or
 * Command=), so that every process of the sandbox runs under its filter from the first instruction on. In
 * nspawn's terms that is Boot=no with sandy-nouserns as the command (install_settings() drops the generated
 * Boot= and Parameters=); Boot=yes's shutdown signal is kept. */
static int nouserns_settings(const Sandbox *s, char **settings) {
        int r;

        r = strextendf(settings,
                       "\n[Exec]\nBoot=no\n%s"
                       "Parameters=" SANDY_NOUSERNS_INSIDE " %s",
                       s->boot ? "KillSignal=SIGRTMIN+3\n" : "", s->boot ? "--boot" : "--");
        STRV_FOREACH(w, s->boot ? NULL : s->command) {
                _cleanup_free_ char *q = nspawn_quote_word(*w);
                if (!q)
                        return log_error_errno(errno, "Failed to quote the command of %s: %m", s->name);
                if (r >= 0)
                        r = strextendf(settings, " %s", q);
        }
        if (r >= 0)
                r = strextendf(settings,
                               "\n\n[Files]\nBindReadOnly=" SANDY_LIBEXEC_DIR "/" SANDY_NOUSERNS_BINARY
                               ":" SANDY_NOUSERNS_INSIDE "\n");
        return r < 0 ? log_oom() : 0;
}

int sandbox_mount_all(const Sandbox *s, int wsfd, const char *image_rootfs, char **ret_root, char **ret_settings) {
        _cleanup_free_ char *dir = NULL, *root = NULL, *settings = NULL, *map = NULL;
        _cleanup_close_ int ns = -EBADF;
        uid_t base, user_uid = 1000;
        gid_t user_gid = 1000;
        int r;

        /* Leftovers of a start whose ExecStopPost= never ran would be stacked under the new mounts. */
        (void) sandbox_unmount_all(s->name);

        r = sandbox_uid_base(s->name, true, &base);
        if (r < 0)
                return r;
        r = image_user(image_rootfs, s->user, &user_uid, &user_gid);
        if (r < 0)
                log_warning_errno(r, "User %s not found in the image of %s (%m); assuming UID/GID 1000.", s->user,
                                  s->name);

        dir = sandbox_runtime_path(s->name, NULL);
        if (!dir || xasprintf(&map, "0 %u %u\n", base, SANDY_UID_RANGE) < 0)
                return log_oom();
        r = mkdir_p(SANDY_RUNTIME_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_RUNTIME_DIR);
        /* Only root walks into it: the agent's root and workspace mounts live here. */
        r = make_dir(dir, 0700, 0, 0);
        if (r < 0)
                return r;

        ns = userns_fd(map, map);
        if (ns < 0)
                return log_error_errno(ns, "Failed to create a user namespace for the idmapped mounts: %m");

        r = root_mount(s, image_rootfs, ns, base, &root);
        if (r < 0)
                return r;

        if (xasprintf(&settings,
                      "\n# Added by sandy-prepare at start.\n[Exec]\nPrivateUsers=%u:%u\n\n[Files]\n"
                      "PrivateUsersOwnership=off\n",
                      base, SANDY_UID_RANGE) < 0)
                return log_oom();

        if (s->deny_nested_userns) {
                r = nouserns_settings(s, &settings);
                if (r < 0)
                        return r;
        }
        if (s->persist_home && s->ephemeral) {
                r = home_mount(s, image_rootfs, ns, user_uid, user_gid, &settings);
                if (r < 0)
                        return r;
        }
        if (s->workspace) {
                r = workspace_mount(s, wsfd, base, user_uid, user_gid, &settings);
                if (r < 0)
                        return r;
        }
        r = resolv_conf_setup(s, root, base, &settings);
        if (r < 0)
                return r;
        r = session_env_setup(s, root, base);
        if (r < 0)
                return r;
        r = credentials_install(s, base + user_uid, base + user_gid, &settings);
        if (r < 0)
                return r;

        *ret_root = TAKE_PTR(root);
        *ret_settings = TAKE_PTR(settings);
        return 0;
}

int sandbox_unmount_all(const char *name) {
        /* Innermost first; MNT_DETACH takes submounts (the protected paths) along. */
        static const char *const subs[] = {"root", "workspace", "home", "lower", "tmp"};
        _cleanup_free_ char *dir = NULL, *list = NULL;
        int r = 0;

        r = credentials_remove(name);
        if (r < 0)
                r = log_error_errno(r, "Failed to remove the credentials of %s: %m", name);
        if (!(dir = sandbox_runtime_path(name, NULL)) || !(list = sandbox_runtime_path(name, "protected")))
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                _cleanup_free_ char *p = NULL;
                if (!(p = sandbox_runtime_path(name, subs[i])))
                        return log_oom();
                /* Mounted more than once only after a crash between mount and record: unmount until the
                 * directory is plain. */
                while (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                        ;
                if (errno != EINVAL && errno != ENOENT && r == 0)
                        r = log_error_errno(errno, "Failed to unmount %s: %m", p);
                if (rmdir(p) < 0 && errno != ENOENT && r == 0)
                        r = log_error_errno(errno, "Failed to remove %s: %m", p);
        }
        /* Only now, with no mount point left in the workspace: restoring may need to rename or remove. */
        (void) protect_paths_check(name);
        if (unlink(list) < 0 && errno != ENOENT && r == 0)
                r = log_error_errno(errno, "Failed to remove %s: %m", list);
        return r;
}

