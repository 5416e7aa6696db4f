/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A command in a running sandbox, started from outside the way the sandbox's own payload was started.
 *
 *   caller (sandyctl as root; for members, sandy-exec, which sandy-helper starts as a transient unit of
 *   PID 1's so that none of the helper's own seccomp filters reach the command)
 *     └─ supervisor: a new session, every other fd closed; enters the sandbox's user, mount, PID, IPC, UTS
 *        and network namespaces (one setns() on a pidfd of the leader), forks the command directly into
 *        the sandbox's cgroup (clone3 CLONE_INTO_CGROUP), relays signals from the control socket to it,
 *        and reports its exit status there. It never runs anything of the sandbox's and is in none of its
 *        PID namespace (invisible inside).
 *          └─ command: the cgroup namespace too; a new session; the leader's capability bounding set and
 *             resource limits; the sandbox user's IDs; a fresh session keyring; no_new_privs; a pty of its
 *             own (opened inside, the master sent to the caller) or the caller's pipes; umask 022; a clean
 *             environment; every fd above 2 closed; the leader's seccomp filters, copied (seccomp-copy.c;
 *             with NestedUserNamespaces=no they include sandy-nouserns' own); then execve.
 *
 * Nothing of the caller reaches the command: not its fds (a root shell's terminal, files, sockets), not
 * its session, terminal, keyring, environment, cgroup or capabilities. */
#include <assert.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "exec-run.h"
#include "fs-util.h"
#include "log.h"
#include "parse-util.h"
#include "paths.h"
#include "process-util.h"
#include "seccomp-copy.h"
#include "string-util.h"
#include "strv.h"

#define MACHINES_STATE_DIR "/run/systemd/machines"

static int read_small(const char *path, char **ret) {
        size_t size;
        return read_full_file(path, 256 * 1024, ret, &size);
}

/* The cgroup path of pid (cgroup2 "0::" line), relative to the host's /sys/fs/cgroup. */
static int pid_cgroup(pid_t pid, char **ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (xasprintf(&path, "/proc/%d/cgroup", (int) pid) < 0)
                return -ENOMEM;
        r = read_small(path, &text);
        if (r < 0)
                return r;
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state))
                if (startswith(l, "0::/"))
                        return (*ret = strdup(l + 3)) ? 0 : -ENOMEM;
        return -ENOENT;
}

int sandbox_leader_pidfd(const char *name, pid_t *ret_pid) {
        _cleanup_free_ char *path = NULL, *text = NULL, *cg = NULL, *unit = NULL, *needle = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        pid_t leader = 0;
        int r;

        /* machined's own record; much faster than asking it over the bus. */
        if (xasprintf(&path, MACHINES_STATE_DIR "/%s", name) < 0 || !(unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name)))
                return -ENOMEM;
        r = read_small(path, &text);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state)) {
                uint64_t pid;
                if (startswith(l, "LEADER=") && safe_atou64(l + 7, &pid) >= 0 && pid > 1 && pid < INT32_MAX)
                        leader = (pid_t) pid;
        }
        if (leader == 0)
                return -ESRCH;
        pidfd = (int) syscall(SYS_pidfd_open, leader, 0);
        if (pidfd < 0)
                return errno == ESRCH ? -ESRCH : -errno;
        /* Now that the process is pinned: a machine of that name could be anybody's container; this one must
         * run in the sandbox's unit, which only systemd puts processes into. */
        r = pid_cgroup(leader, &cg);
        if (r < 0)
                return r;
        if (xasprintf(&needle, "/%s/", unit) < 0)
                return -ENOMEM;
        if (!strstr(cg, needle) && !endswith(cg, needle + strlen(needle) - 1))
                return log_debug_errno(ESRCH, "Machine %s (PID %d) does not run in %s.", name, (int) leader, unit),
                       -ESRCH;
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
                return -ESRCH;
        *ret_pid = leader;
        return TAKE_FD(pidfd);
}

/* Has the leader exec'd the payload yet? machined knows the leader from the moment nspawn forks it, while
 * nspawn still sets the container up in it (mounts, cgroup namespace, its own seccomp filter), and with
 * NestedUserNamespaces=no sandy-nouserns runs first: a command entered then would miss what the payload
 * gets (the filters above all). Until the payload runs, the leader runs the program of its parent (nspawn)
 * or sandy-nouserns. 1 if started, 0 if not yet, negative on error. */
static int payload_started(pid_t leader) {
        _cleanup_free_ char *stat_path = NULL, *text = NULL, *exe = NULL, *pexe = NULL;
        struct stat st, pst, nst;
        const char *p;
        int r, ppid;

        if (xasprintf(&stat_path, "/proc/%d/stat", (int) leader) < 0 || xasprintf(&exe, "/proc/%d/exe", (int) leader) < 0)
                return -ENOMEM;
        r = read_small(stat_path, &text);
        if (r < 0)
                return r;
        /* "PID (COMM) STATE PPID ...": COMM may hold anything, so from the last ')'. */
        p = strrchr(text, ')');
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
                return -EBADMSG;
        if (stat(exe, &st) < 0)
                return -errno;
        if (stat(SANDY_LIBEXEC_DIR "/" SANDY_NOUSERNS_BINARY, &nst) >= 0 && st.st_dev == nst.st_dev &&
            st.st_ino == nst.st_ino)
                return 0;
        if (ppid > 1 && xasprintf(&pexe, "/proc/%d/exe", ppid) >= 0 && stat(pexe, &pst) >= 0 &&
            st.st_dev == pst.st_dev && st.st_ino == pst.st_ino)
                return 0;
        return 1;
}

/* The process that runs the payload. A Boot=no sandbox runs its command under nspawn's stub init
 * (ProcessTwo=yes, issue 17): then the leader is a fork of nspawn that never execs, and the payload is its
 * first child, PID 2 inside, from which every other process in the sandbox descends; only it has what
 * the payload's start adds (sandy-nouserns' filter). The leader until that child exists. */
static pid_t payload_of(pid_t leader) {
        _cleanup_free_ char *path = NULL, *text = NULL, *exe = NULL, *pexe = NULL;
        struct stat st, pst;
        int ppid;

        /* Only while the leader still runs nspawn's program: a booted sandbox's leader is its init, whose
         * children (its first service may well be PID 2) are not the payload. */
        if (xasprintf(&path, "/proc/%d/stat", (int) leader) < 0 || read_small(path, &text) < 0)
                return leader;
        const char *p = strrchr(text, ')');
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid <= 1 ||
            xasprintf(&exe, "/proc/%d/exe", (int) leader) < 0 || xasprintf(&pexe, "/proc/%d/exe", ppid) < 0 ||
            stat(exe, &st) < 0 || stat(pexe, &pst) < 0 || st.st_dev != pst.st_dev || st.st_ino != pst.st_ino)
                return leader;

        path = mfree(path);
        text = mfree(text);
        if (xasprintf(&path, "/proc/%d/task/%d/children", (int) leader, (int) leader) < 0 ||
            read_small(path, &text) < 0)
                return leader;
        for (char *state = NULL, *w = strtok_r(text, " \n", &state); w; w = strtok_r(NULL, " \n", &state)) {
                _cleanup_free_ char *status = NULL, *info = NULL;
                const char *l;
                uint64_t child;

                if (safe_atou64(w, &child) < 0 || child < 2 || child >= INT32_MAX ||
                    xasprintf(&status, "/proc/%d/status", (int) child) < 0 ||
                    read_small(status, &info) < 0 || !(l = strstr(info, "\nNSpid:")))
                        continue;
                /* NSpid: the PID in each namespace, the sandbox's last. */
                l = strchrnul(l + 1, '\n');
                if (l - info >= 2 && l[-1] == '2' && IN_SET(l[-2], ' ', '\t'))
                        return (pid_t) child;
        }
        return leader;
}

/* Waits until the payload runs; *ret_payload: its process (payload_of()). */
static int wait_payload_started(const char *name, pid_t leader, pid_t *ret_payload) {
        for (unsigned i = 0; i < 2000; i++) {
                pid_t payload = payload_of(leader);
                int r = payload_started(payload);
                if (r != 0) {
                        *ret_payload = payload;
                        return r < 0 ? log_error_errno(r, "Failed to look at the leader of sandbox %s: %m", name) : 0;
                }
                (void) usleep(5000);
        }
        return log_error_errno(EBUSY, "Sandbox %s is still starting (its payload has not started in 10s).", name);
}

int exec_save_seccomp(const char *name) {
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_free_ char *path = NULL;
        SeccompFilters f = {};
        pid_t leader, payload;
        int r;

        pidfd = sandbox_leader_pidfd(name, &leader);
        if (pidfd < 0)
                return pidfd;
        r = wait_payload_started(name, leader, &payload);
        if (r < 0)
                return r;
        if (!(path = sandbox_runtime_path(name, "seccomp")))
                return -ENOMEM;
        r = seccomp_filters_read(payload, &f);
        if (r < 0)
                return r;
        r = seccomp_filters_save(&f, path);
        seccomp_filters_done(&f);
        return r;
}

bool exec_signal_forwardable(int sig) {
        return IN_SET(sig, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGCONT, SIGTSTP, SIGWINCH, SIGALRM);
}

typedef struct Prepared {
        SeccompFilters filters;
        uint64_t capbnd;
        struct rlimit rl[RLIM_NLIMITS];
        bool rl_set[RLIM_NLIMITS];
        char *cgroup; /* host path of the leader's cgroup */
} Prepared;

static void prepared_done(Prepared *p) {
        seccomp_filters_done(&p->filters);
        p->cgroup = mfree(p->cgroup);
}

static int leader_capbnd(pid_t leader, uint64_t *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (xasprintf(&path, "/proc/%d/status", (int) leader) < 0)
                return -ENOMEM;
        r = read_small(path, &text);
        if (r < 0)
                return r;
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state))
                if (startswith(l, "CapBnd:")) {
                        char *end;
                        errno = 0;
                        unsigned long long v = strtoull(l + 7, &end, 16);
                        if (errno || *end)
                                return -EINVAL;
                        *ret = v;
                        return 0;
                }
        return -ENOENT;
}

/* The sandbox user's entry in the sandbox's own /etc/passwd (in its mount namespace by now; the host's
 * NSS must not answer). */
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
                if (safe_atou64(fields[2], &u) < 0 || safe_atou64(fields[3], &g) < 0 || u == 0 || g == 0 ||
                    u >= 65536 || g >= 65536)
                        return -EINVAL;
                *uid = (uid_t) u;
                *gid = (gid_t) g;
                *home = strdup(fields[5]);
                *shell = strdup(fields[6]);
                return *home && *shell ? 0 : -ENOMEM;
        }
        return -ESRCH;
}

int exec_send_msg(int sock, char type, int32_t value, const int *fds, size_t n_fds) {
        char buf[1 + sizeof(int32_t)];
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int) * 3)];
        } c = {};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        assert(n_fds <= 3);
        buf[0] = type;
        memcpy(buf + 1, &value, sizeof value);
        if (n_fds > 0) {
                mh.msg_control = c.b;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int exec_recv_msg(int sock, char *type, int32_t *value, int *fds, size_t *n_fds) {
        char buf[1 + sizeof(int32_t)];
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int) * 3)];
        } c;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof c.b};
        size_t room = *n_fds, got = 0;
        bool bad = false;
        ssize_t n;

        *n_fds = 0;
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ECONNRESET;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (got < room)
                                fds[got++] = fd;
                        else {
                                safe_close(fd);
                                bad = true;
                        }
                }
        }
        if (bad || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || n != (ssize_t) sizeof buf) {
                for (size_t i = 0; i < got; i++)
                        safe_close(fds[i]);
                return -EBADMSG;
        }
        *type = buf[0];
        memcpy(value, buf + 1, sizeof *value);
        *n_fds = got;
        return 0;
}

/* Close everything but keep[]. */
static void close_all_but(const int *keep, size_t n) {
        int prev = -1;

        for (;;) {
                int next = INT32_MAX;
                for (size_t i = 0; i < n; i++)
                        if (keep[i] > prev && keep[i] < next)
                                next = keep[i];
                if (next == INT32_MAX) {
                        (void) syscall(SYS_close_range, (unsigned) (prev + 1), ~0U, 0);
                        return;
                }
                if (next > prev + 1)
                        (void) syscall(SYS_close_range, (unsigned) (prev + 1), (unsigned) (next - 1), 0);
                prev = next;
        }
}

static void reset_signals(void) {
        sigset_t ss;
        struct sigaction sa = {.sa_handler = SIG_DFL};

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        sigemptyset(&ss);
        (void) sigprocmask(SIG_SETMASK, &ss, NULL);
}

typedef struct Child {
        const ExecParams *p;
        const Prepared *prep;
        int pidfd;
        uid_t uid;
        gid_t gid;
        const char *home, *shell;
} Child;

/* Set KEY=VALUE in *env, replacing an earlier KEY. */
static int env_set(char ***env, const char *kv) {
        size_t klen = strcspn(kv, "=") + 1;

        STRV_FOREACH(e, *env)
                if (strncmp(*e, kv, klen) == 0) {
                        char *n = strdup(kv);
                        if (!n)
                                return -ENOMEM;
                        free(*e);
                        *e = n;
                        return 0;
                }
        return strv_extend(env, kv);
}

_noreturn_ static void command_child(const Child *c) {
        const ExecParams *p = c->p;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *cwd = NULL;
        char *e;

        /* The cgroup namespace last: the cgroup itself was entered by clone3(), from outside. */
        if (setns(c->pidfd, CLONE_NEWCGROUP) < 0) {
                log_error_errno(errno, "Failed to enter the cgroup namespace of sandbox %s: %m", p->s->name);
                _exit(125);
        }
        if (setsid() < 0)
                _exit(125);
        /* The payload's limits and bounding set, while we still have capabilities in the namespace. */
        for (int i = 0; i < RLIM_NLIMITS; i++)
                if (c->prep->rl_set[i])
                        (void) setrlimit(i, &c->prep->rl[i]);
        for (unsigned cap = 0; cap < 64; cap++)
                if (!(c->prep->capbnd & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
                        log_error_errno(errno, "Failed to drop capability %u: %m", cap);
                        _exit(125);
                }
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
        if (setgroups(1, &c->gid) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0) {
                log_error_errno(errno, "Failed to become %s in sandbox %s: %m", p->s->user, p->s->name);
                _exit(125);
        }
        if (p->pty) {
                _cleanup_close_ int master = -EBADF, slave = -EBADF;
                int unlock = 0;

                /* The sandbox's own devpts (we are in its mount namespace), opened as the sandbox user, so that
                 * the pty is theirs (devpts gives it the opener's IDs); the master goes to the caller, the
                 * slave becomes our controlling terminal. */
                master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
                if (master < 0 || ioctl(master, TIOCSPTLCK, &unlock) < 0) {
                        log_error_errno(errno, "Failed to open a pty in sandbox %s: %m", p->s->name);
                        _exit(125);
                }
                slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
                        log_error_errno(errno, "Failed to set up the pty in sandbox %s: %m", p->s->name);
                        _exit(125);
                }
                /* As login and machinectl shell make it. */
                (void) fchmod(slave, 0620);
                if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
                        _exit(125);
                if (exec_send_msg(p->control, EXEC_MSG_PTY, 0, &master, 1) < 0)
                        _exit(125);
        } else {
                for (int i = 0; i < 3; i++)
                        if (p->stdio[i] != i && dup2(p->stdio[i], i) < 0)
                                _exit(125);
                for (int i = 0; i < 3; i++)
                        (void) fcntl(i, F_SETFD, 0);
        }
        /* A fresh, empty session keyring of our own: none of the caller's keys. */
        if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0)
                log_debug_errno(errno, "Could not join a new session keyring: %m");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                _exit(125);
        umask(0022);
        if (xasprintf(&cwd, "%s/workspace", c->home) < 0)
                _exit(125);
        if ((!p->s->workspace || chdir(cwd) < 0) && chdir(c->home) < 0 && chdir("/") < 0)
                _exit(125);
        /* A login-like, clean environment: nothing of the caller's leaks in but TERM. */
        if (xasprintf(&e, "HOME=%s", c->home) < 0 || strv_consume(&env, e) < 0 ||
            xasprintf(&e, "USER=%s", p->s->user) < 0 || strv_consume(&env, e) < 0 ||
            xasprintf(&e, "LOGNAME=%s", p->s->user) < 0 || strv_consume(&env, e) < 0 ||
            xasprintf(&e, "SHELL=%s", c->shell) < 0 || strv_consume(&env, e) < 0 ||
            strv_extend(&env, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin") < 0 ||
            (p->term && !string_has_cc(p->term) && strlen(p->term) < 128 &&
             (xasprintf(&e, "TERM=%s", p->term) < 0 || strv_consume(&env, e) < 0)))
                _exit(125);
        /* What the declaration gives every session of the agent: Environment=, and CredentialEnvironment=
         * read from the sandbox's own copy of the credential (as the sandbox user, inside), so that the key
         * is never in a unit, a settings file or the journal. */
        STRV_FOREACH(kv, p->s->environment)
                if (env_set(&env, *kv) < 0)
                        _exit(125);
        STRV_FOREACH(ce, p->s->credential_environment) {
                _cleanup_free_ char *path = NULL, *data = NULL, *kv = NULL;
                const char *eq = strchr(*ce, '=');
                size_t n = 0;

                if (xasprintf(&path, SANDY_CREDENTIALS_INSIDE "/%s", eq + 1) < 0)
                        _exit(125);
                if (read_full_file(path, 1024 * 1024, &data, &n) < 0) {
                        log_warning("Credential %s of sandbox %s is not there; %.*s is left unset.", eq + 1,
                                    p->s->name, (int) (eq - *ce), *ce);
                        continue;
                }
                while (n > 0 && data[n - 1] == '\n')
                        data[--n] = 0;
                if (xasprintf(&kv, "%.*s=%s", (int) (eq - *ce), *ce, data) < 0 || env_set(&env, kv) < 0)
                        _exit(125);
                explicit_bzero(data, n);
        }
        /* Nothing above 2 survives: not the control socket, not the pidfd, nothing of the caller's. */
        (void) syscall(SYS_close_range, 3U, ~0U, 0);
        if (seccomp_filters_apply(&c->prep->filters) < 0) {
                log_error_errno(errno, "Failed to install the seccomp filter of sandbox %s: %m", p->s->name);
                _exit(125);
        }
        execvpe(p->argv[0], p->argv, env);
        int err = errno;
        log_error_errno(err, "Failed to execute %s in sandbox %s: %m", p->argv[0], p->s->name);
        _exit(err == ENOENT ? 127 : 126);
}

static int clone_into_cgroup(int cgroupfd) {
        struct clone_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t) cgroupfd};
        return (int) syscall(SYS_clone3, &args, sizeof args);
}

_noreturn_ static void supervisor(const ExecParams *p, const Prepared *prep, int pidfd, int cgroupfd) {
        _cleanup_free_ char *home = NULL, *shell = NULL;
        /* stderr stays for messages until the command replaces it; it is the caller's own, and nothing of
         * the sandbox's ever runs in this process. */
        int keep[] = {pidfd, cgroupfd, p->control, STDERR_FILENO, p->stdio[0], p->stdio[1], p->stdio[2]};
        int cpidfd, status, r;
        bool hung_up = false;
        Child c = {.p = p, .prep = prep, .pidfd = pidfd};
        pid_t pid;

        reset_signals();
        (void) setsid();
        close_all_but(keep, p->pty ? 4 : ELEMENTSOF(keep));
        /* 0 and 1 (and 2) must stay taken, or the command's pty would land there and be overwritten when it
         * becomes the command's stdio. */
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
                        goto fail;
        /* One atomic setns() with the pidfd: all namespaces of the same, still living, process. The cgroup
         * namespace is the command's alone (see above). */
        if (setns(pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0) {
                log_error_errno(errno, "Failed to enter sandbox %s: %m", p->s->name);
                goto fail;
        }
        r = container_user(p->s->user, &c.uid, &c.gid, &home, &shell);
        if (r < 0) {
                log_error_errno(r, "User %s not found in sandbox %s: %m", p->s->user, p->s->name);
                goto fail;
        }
        c.home = home;
        c.shell = shell;
        pid = clone_into_cgroup(cgroupfd);
        if (pid < 0) {
                log_error_errno(errno, "Failed to start the command in the cgroup of sandbox %s: %m", p->s->name);
                goto fail;
        }
        if (pid == 0)
                command_child(&c);
        safe_close(cgroupfd);
        cpidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (cpidfd < 0)
                goto wait;
        for (;;) {
                struct pollfd pfd[2] = {{.fd = cpidfd, .events = POLLIN}, {.fd = p->control, .events = POLLIN}};
                if (poll(pfd, hung_up ? 1 : 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pfd[0].revents)
                        break;
                if (pfd[1].revents & POLLIN) {
                        char buf[1 + sizeof(int32_t)];
                        ssize_t n = recv(p->control, buf, sizeof buf, MSG_DONTWAIT);
                        int32_t sig;
                        if (n == (ssize_t) sizeof buf && buf[0] == EXEC_MSG_SIGNAL) {
                                memcpy(&sig, buf + 1, sizeof sig);
                                /* To the command's process group, as a terminal sends it to a job. */
                                if (exec_signal_forwardable(sig))
                                        (void) kill(-pid, sig);
                                continue;
                        }
                        if (n > 0 || (n < 0 && errno == EAGAIN))
                                continue;
                }
                /* The caller is gone: hang up, as a closed terminal would. */
                (void) kill(-pid, SIGHUP);
                (void) kill(-pid, SIGCONT);
                hung_up = true;
        }
wait:
        if (wait_for_pid(pid, &status) < 0)
                goto fail;
        (void) exec_send_msg(p->control, EXEC_MSG_EXIT, exit_status_from_wait(status), NULL, 0);
        _exit(exit_status_from_wait(status));
fail:
        (void) exec_send_msg(p->control, EXEC_MSG_EXIT, 125, NULL, 0);
        _exit(125);
}

int exec_spawn(const ExecParams *p, pid_t *ret_pid) {
        _cleanup_close_ int pidfd = -EBADF, cgroupfd = -EBADF;
        _cleanup_free_ char *cgpath = NULL, *seccomp = NULL;
        Prepared prep = {};
        pid_t leader, payload, pid;
        int r;

        pidfd = sandbox_leader_pidfd(p->s->name, &leader);
        if (pidfd == -ESRCH)
                return log_error_errno(pidfd, "Sandbox %s is not running.", p->s->name);
        if (pidfd < 0)
                return log_error_errno(pidfd, "Failed to find the leader of sandbox %s: %m", p->s->name);
        r = wait_payload_started(p->s->name, leader, &payload);
        if (r < 0)
                return r;
        if (payload != leader) {
                /* Under the stub init, enter the namespaces through the payload: the stub never exec'd, so
                 * its memory belongs to the host's user namespace and, as it changed its IDs, it is not
                 * dumpable; setns() through its pidfd needs ptrace access, which the command, already in
                 * the sandbox's user namespace, lacks for its cgroup namespace (EPERM). The same
                 * namespaces, cgroup, bounding set and limits. */
                int fd = (int) syscall(SYS_pidfd_open, payload, 0);
                if (fd < 0)
                        return log_error_errno(errno == ESRCH ? ESRCH : errno, "Sandbox %s stopped meanwhile: %m",
                                               p->s->name);
                safe_close(pidfd);
                pidfd = fd;
                leader = payload;
        }
        /* The filters nspawn installed in the payload: saved at start (sandy-prepare --started), or read now
         * when that has not happened yet and we may (root, not under seccomp ourselves). */
        if (!(seccomp = sandbox_runtime_path(p->s->name, "seccomp")))
                return log_oom();
        r = seccomp_filters_load(seccomp, &prep.filters);
        if (r == -ENOENT && p->seccomp_live) {
                r = seccomp_filters_read(payload, &prep.filters);
                /* Kept for members' calls, when sandy-prepare --started could not read it (it runs under
                 * PID 1's seccomp filter where the host's systemd has one, e.g. inside a container). */
                if (r >= 0)
                        (void) seccomp_filters_save(&prep.filters, seccomp);
        }
        if (r < 0) {
                log_error_errno(r, "Failed to get the seccomp filter of sandbox %s (%s): %m", p->s->name,
                                r == -ENOENT ? "still starting?" : seccomp);
                goto finish;
        }
        r = leader_capbnd(leader, &prep.capbnd);
        if (r < 0) {
                log_error_errno(r, "Failed to read the capabilities of the leader of %s: %m", p->s->name);
                goto finish;
        }
        for (int i = 0; i < RLIM_NLIMITS; i++)
                prep.rl_set[i] = prlimit(leader, i, NULL, &prep.rl[i]) >= 0;
        r = pid_cgroup(leader, &prep.cgroup);
        if (r >= 0 && xasprintf(&cgpath, "/sys/fs/cgroup%s", prep.cgroup) < 0)
                r = -ENOMEM;
        if (r >= 0 && (cgroupfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = -errno;
        if (r < 0) {
                log_error_errno(r, "Failed to open the cgroup of sandbox %s: %m", p->s->name);
                goto finish;
        }
        /* The leader may have gone (and its PID been reused) since: the pidfd says. */
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
                r = log_error_errno(ESRCH, "Sandbox %s stopped meanwhile.", p->s->name);
                goto finish;
        }
        /* Straight into the sandbox's cgroup: it ends with the sandbox, not with the caller's unit. Nobody
         * waits for it: it reports on the control socket, and whoever inherits it when the caller exits
         * (PID 1, sandyctl's subreaper) reaps it. */
        pid = clone_into_cgroup(cgroupfd);
        if (pid < 0) {
                r = log_error_errno(errno, "Failed to start the command's supervisor in the cgroup of sandbox %s: %m",
                                    p->s->name);
                goto finish;
        }
        if (pid == 0)
                supervisor(p, &prep, pidfd, cgroupfd);
        *ret_pid = pid;
        r = 0;
finish:
        prepared_done(&prep);
        return r;
}
