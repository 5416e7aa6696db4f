/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl exec NAME [--] ARGV...: run ARGV in the running sandbox as its user, in the workspace, argv kept
 * exactly (no shell), returning the command's exit status.
 *
 * As root it enters the sandbox directly: the leader's namespaces through a pidfd, its cgroup (so the
 * command counts towards TasksMax= and stops with the sandbox), then the sandbox user's IDs with
 * no_new_privs. That takes a few milliseconds. Anybody else goes through machined's OpenMachineShell
 * (machinectl shell), which polkit authorizes (org.freedesktop.machine1.shell). */
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "process-util.h"
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "fs-util.h"
#include "parse-util.h"
#include "string-util.h"

#define MACHINES_STATE_DIR "/run/systemd/machines"

static int machine_leader(const char *name, pid_t *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t size;
        int r;

        /* machined's own record of the machine; reading it is much faster than asking over the bus. */
        if (xasprintf(&path, MACHINES_STATE_DIR "/%s", name) < 0)
                return -ENOMEM;
        r = read_full_file(path, 64 * 1024, &text, &size);
        if (r < 0)
                return r;
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state)) {
                uint64_t pid;
                if (startswith(l, "LEADER=") && safe_atou64(l + 7, &pid) >= 0 && pid > 1 && pid < INT32_MAX) {
                        *ret = (pid_t) pid;
                        return 0;
                }
        }
        return -ESRCH;
}

/* The sandbox user's entry from the sandbox's own /etc/passwd (we are in its mount namespace by now;
 * NSS of the host must not answer). */
static int container_user(const char *user, uid_t *uid, gid_t *gid, char **home, char **shell) {
        _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
        char line[4096];

        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                char *fields[7] = {}, *p = line;
                size_t n = 0;
                uint64_t u, g;

                line[strcspn(line, "\n")] = 0;
                for (char *w; n < 7 && (w = strsep(&p, ":")); n++)
                        fields[n] = w;
                if (n < 7 || !streq(fields[0], user))
                        continue;
                if (safe_atou64(fields[2], &u) < 0 || safe_atou64(fields[3], &g) < 0 || u == 0)
                        return -EINVAL;
                *uid = (uid_t) u;
                *gid = (gid_t) g;
                *home = strdup(fields[5]);
                *shell = strdup(fields[6]);
                return *home && *shell ? 0 : -ENOMEM;
        }
        return -ESRCH;
}

static int join_cgroup(pid_t leader) {
        _cleanup_free_ char *path = NULL, *text = NULL, *procs = NULL, *pid = NULL;
        size_t size;
        int r;

        if (xasprintf(&path, "/proc/%d/cgroup", (int) leader) < 0)
                return -ENOMEM;
        r = read_full_file(path, 64 * 1024, &text, &size);
        if (r < 0)
                return r;
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state)) {
                if (!startswith(l, "0::/"))
                        continue;
                if (xasprintf(&procs, "/sys/fs/cgroup%s/cgroup.procs", l + 3) < 0 ||
                    xasprintf(&pid, "%d", (int) getpid()) < 0)
                        return -ENOMEM;
                _cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
                        return -errno;
                return 0;
        }
        return -ENOENT;
}

static int exec_direct(const Sandbox *s, char **argv) {
        _cleanup_free_ char *home = NULL, *shell = NULL, *cwd = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        pid_t leader, child;
        uid_t uid;
        gid_t gid;
        int r, status;

        r = machine_leader(s->name, &leader);
        if (r < 0)
                return log_error_errno(r, "Sandbox %s is not running (no machine %s known to machined).",
                                       s->name, s->name);
        pidfd = (int) syscall(SYS_pidfd_open, leader, 0);
        if (pidfd < 0)
                return log_error_errno(errno, "Failed to open the leader of %s (PID %d): %m", s->name, (int) leader);
        /* Before entering its cgroup namespace, while the host's /sys/fs/cgroup is still ours. Not fatal:
         * without controllers (or on a hybrid host) the command just runs outside the limits. */
        r = join_cgroup(leader);
        if (r < 0)
                log_debug_errno(r, "Could not join the cgroup of %s: %m", s->name);
        /* One atomic setns() with the pidfd: all namespaces of the same, still living, process. */
        if (setns(pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET |
                                 CLONE_NEWCGROUP) < 0)
                return log_error_errno(errno, "Failed to enter sandbox %s: %m", s->name);
        r = container_user(s->user, &uid, &gid, &home, &shell);
        if (r < 0)
                return log_error_errno(r, "User %s not found in sandbox %s: %m", s->user, s->name);
        if (xasprintf(&cwd, "%s/workspace", home) < 0)
                return log_oom();

        child = fork();
        if (child < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (child == 0) {
                const char *term = getenv("TERM");
                _cleanup_strv_free_ char **env = NULL;
                char *e;

                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
                        log_error_errno(errno, "Failed to become %s in sandbox %s: %m", s->user, s->name);
                        _exit(127);
                }
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(127);
                if (chdir(s->workspace ? cwd : home) < 0 && chdir(home) < 0 && chdir("/") < 0)
                        _exit(127);
                /* A login-like, clean environment: nothing of the caller's leaks in but TERM. */
                if (xasprintf(&e, "HOME=%s", home) < 0 || strv_consume(&env, e) < 0 ||
                    xasprintf(&e, "USER=%s", s->user) < 0 || strv_consume(&env, e) < 0 ||
                    xasprintf(&e, "LOGNAME=%s", s->user) < 0 || strv_consume(&env, e) < 0 ||
                    xasprintf(&e, "SHELL=%s", shell) < 0 || strv_consume(&env, e) < 0 ||
                    strv_extend(&env, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin") < 0 ||
                    (term && !string_has_cc(term) && (xasprintf(&e, "TERM=%s", term) < 0 || strv_consume(&env, e) < 0)))
                        _exit(127);
                environ = env;
                execvp(argv[0], argv);
                log_error_errno(errno, "Failed to execute %s in sandbox %s: %m", argv[0], s->name);
                _exit(errno == ENOENT ? 127 : 126);
        }
        /* The parent only waits; signals meant for the command go to it. */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        r = wait_for_pid(child, &status);
        if (r < 0)
                return log_error_errno(r, "Failed to wait for the command: %m");
        return exit_status_from_wait(status);
}

static int exec_machined(const Sandbox *s, char **argv) {
        _cleanup_strv_free_ char **args = NULL;
        _cleanup_free_ char *uidarg = NULL;

        /* machinectl shell takes the argv as separate words (OpenMachineShell's args), so nothing is split
         * or expanded; sh only changes into the workspace first, "$@" keeps the words. */
        if (xasprintf(&uidarg, "--uid=%s", s->user) < 0 ||
            strv_extend(&args, "machinectl") < 0 || strv_extend(&args, "--quiet") < 0 ||
            (!arg_ask_password && strv_extend(&args, "--no-ask-password") < 0) ||
            strv_extend(&args, "shell") < 0 || strv_extend(&args, uidarg) < 0 || strv_extend(&args, s->name) < 0 ||
            strv_extend(&args, "/bin/sh") < 0 || strv_extend(&args, "-c") < 0 ||
            strv_extend(&args, "cd \"$HOME/workspace\" 2>/dev/null || cd; exec \"$@\"") < 0 ||
            strv_extend(&args, "sh") < 0)
                return log_oom();
        STRV_FOREACH(a, argv)
                if (strv_extend(&args, *a) < 0)
                        return log_oom();
        execvp("machinectl", args);
        return log_error_errno(errno, "Failed to execute machinectl: %m");
}

int verb_exec(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        const char *name = argv[1];
        int first = 2, r;

        if (!dirs)
                return log_oom();
        if (argc > first && streq(argv[first], "--"))
                first++;
        if (argc <= first)
                return log_error_errno(EINVAL, "Usage: sandyctl exec NAME [--] COMMAND [ARGUMENT...]");
        if (!sandbox_name_is_valid(name))
                return log_error_errno(EINVAL, "\"%s\" is not a valid sandbox name.", name);
        r = sandbox_load(dirs, name, &s);
        if (r == -ENOENT)
                return log_error_errno(r, "Sandbox %s is not declared.", name);
        if (r < 0)
                return log_error_errno(r, "Sandbox %s cannot be loaded (see above).", name);

        if (geteuid() == 0)
                r = exec_direct(s, argv + first);
        else
                r = exec_machined(s, argv + first);
        /* The command's own exit status (or a negative errno); main() passes it on. */
        return r;
}
