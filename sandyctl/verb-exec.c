/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl exec NAME [--] ARGV...: run ARGV in the running sandbox as its user, in the workspace, argv kept
 * exactly (no shell anywhere), returning the command's exit status.
 *
 * The command is started as the sandbox's own payload is (exec-run.c): its namespaces and cgroup, its
 * capability bounding set and seccomp filter, a new session, a fresh keyring, no_new_privs, nothing of
 * ours. As root, sandyctl starts it itself; anybody else asks sandy-helper (org.sandy.Helper1.Exec, polkit
 * action org.sandy.helper.exec, for the sandboxes the caller is allowed on), passing a control socket that
 * already holds the ends of our pipes; the helper has PID 1 start sandy-exec with it. Either way this
 * process only relays: with a terminal on stdin, the command gets a pty of its own (as machinectl
 * shell and sudo's use_pty do) whose master comes back to us over the control socket and our terminal is
 * put in raw mode; otherwise three pipes. The command never sees our terminal, so it cannot push input
 * into it (TIOCSTI) or read anything else of ours. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "bus-util.h"
#include "exec-run.h"
#include "log.h"
#include "process-util.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

typedef struct Relay {
        int control;
        int in_fd;            /* where our stdin goes: the pty master or the command's stdin pipe */
        int out_fd, err_fd;   /* what we copy to our stdout/stderr: the master (out only) or pipes */
        int master;
        bool pty;
        bool stdin_eof;
        int status;           /* the command's, once known */
        bool have_status;
        int start_error;      /* errno sandy-exec reported when the command could not start */
        const char *name;
} Relay;

static int send_signal_msg(int sock, int sig) {
        char buf[1 + sizeof(int32_t)] = {EXEC_MSG_SIGNAL};
        int32_t v = sig;
        memcpy(buf + 1, &v, sizeof v);
        return send(sock, buf, sizeof buf, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Copy what is readable from `from` to `to`; false at end of file or error (EIO: the pty's other end is
 * closed). */
static bool pump(int from, int to) {
        char buf[65536];
        ssize_t n = read(from, buf, sizeof buf);

        if (n < 0)
                return errno == EAGAIN || errno == EINTR;
        if (n == 0)
                return false;
        for (ssize_t done = 0; done < n;) {
                ssize_t k = write(to, buf + done, (size_t) (n - done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                struct pollfd p = {.fd = to, .events = POLLOUT};
                                (void) poll(&p, 1, -1);
                                continue;
                        }
                        return false;
                }
                done += k;
        }
        return true;
}

static struct termios saved_termios;
static bool termios_saved = false;

static void restore_terminal(void) {
        if (termios_saved)
                (void) tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_termios);
}

static void set_winsize(int master) {
        struct winsize ws;
        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(master, TIOCSWINSZ, &ws);
}

static int relay_loop(Relay *r, int sigfd) {
        bool out_open = r->out_fd >= 0, err_open = r->err_fd >= 0;

        for (;;) {
                struct pollfd p[5] = {
                        {.fd = r->control, .events = POLLIN},
                        {.fd = sigfd, .events = POLLIN},
                        {.fd = r->stdin_eof || r->in_fd < 0 ? -1 : STDIN_FILENO, .events = POLLIN},
                        {.fd = out_open ? r->out_fd : -1, .events = POLLIN},
                        {.fd = err_open ? r->err_fd : -1, .events = POLLIN},
                };
                if (r->have_status) {
                        /* The command is done: take what it wrote, without waiting for others that may
                         * hold the same pipe or pty open. */
                        while (out_open && pump(r->out_fd, STDOUT_FILENO)) {
                                struct pollfd q = {.fd = r->out_fd, .events = POLLIN};
                                if (poll(&q, 1, 0) <= 0 || !(q.revents & POLLIN))
                                        break;
                        }
                        while (err_open && pump(r->err_fd, STDERR_FILENO)) {
                                struct pollfd q = {.fd = r->err_fd, .events = POLLIN};
                                if (poll(&q, 1, 0) <= 0 || !(q.revents & POLLIN))
                                        break;
                        }
                        return r->status;
                }
                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "poll() failed: %m");
                }
                if (p[0].revents) {
                        char type;
                        int32_t v;
                        int fd = -EBADF;
                        size_t n_fds = 1;
                        int k = exec_recv_msg(r->control, &type, &v, &fd, &n_fds);
                        if (k == -EAGAIN)
                                ;
                        else if (k < 0) {
                                log_error("The command's supervisor went away without an exit status.");
                                r->status = 255;
                                r->have_status = true;
                        } else if (type == EXEC_MSG_ERROR) {
                                r->start_error = v;
                        } else if (type == EXEC_MSG_EXIT) {
                                r->status = v >= 0 && v <= 255 ? v : 255;
                                r->have_status = true;
                                if (r->start_error > 0 && r->status == 125)
                                        log_error_errno(r->start_error, "The command could not be started in sandbox %s: %m%s",
                                                        r->name,
                                                        IN_SET(r->start_error, EACCES, EPERM)
                                                                ? ". (Where systemd itself runs under a seccomp filter, as in a "
                                                                  "container, the sandbox's filter can only be kept by root: "
                                                                  "\"sandyctl exec NAME -- true\" as root once after each start.)"
                                                                : "");
                        } else if (type == EXEC_MSG_PTY && r->pty && fd >= 0 && r->master < 0) {
                                r->master = r->in_fd = r->out_fd = fd;
                                out_open = true;
                                /* The pty behaves like our terminal did; ours passes everything through. */
                                if (termios_saved) {
                                        struct termios raw = saved_termios;
                                        (void) tcsetattr(r->master, TCSANOW, &saved_termios);
                                        /* Fully raw, as ssh -t and machinectl shell: the pty
                                         * inside does the output processing already. */
                                        cfmakeraw(&raw);
                                        (void) tcsetattr(STDIN_FILENO, TCSANOW, &raw);
                                }
                                set_winsize(r->master);
                                continue;
                        } else
                                safe_close(fd);
                }
                if (p[1].revents) {
                        struct signalfd_siginfo si;
                        if (read(sigfd, &si, sizeof si) == (ssize_t) sizeof si) {
                                if (si.ssi_signo == SIGWINCH) {
                                        if (r->master >= 0)
                                                set_winsize(r->master);
                                } else
                                        (void) send_signal_msg(r->control, (int) si.ssi_signo);
                        }
                }
                if (p[2].revents && !pump(STDIN_FILENO, r->in_fd)) {
                        r->stdin_eof = true;
                        if (r->pty) {
                                /* End of input on a terminal: the command sees ^D. */
                                char eof = termios_saved ? (char) saved_termios.c_cc[VEOF] : 4;
                                (void) !write(r->in_fd, &eof, 1);
                        } else
                                r->in_fd = safe_close(r->in_fd);
                }
                if (p[3].revents && !pump(r->out_fd, STDOUT_FILENO))
                        out_open = false;
                if (p[4].revents && !pump(r->err_fd, STDERR_FILENO))
                        err_open = false;
        }
}

static int exec_via_helper(const Sandbox *s, char **argv, const char *term, bool pty, int control) {
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        _cleanup_bus_message_unref_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = bus_connect_system(&bus);
        if (r < 0)
                return r;
        polkit_agent_open_if_enabled();
        r = sd_bus_message_new_method_call(bus, &m, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_EXEC_IFACE, "Exec");
        if (r >= 0)
                r = sd_bus_message_set_allow_interactive_authorization(m, arg_ask_password);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", s->name);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "sbh", term ?: "", pty, control);
        if (r < 0)
                return log_error_errno(r, "Failed to build the Exec call: %m");
        r = sd_bus_call(bus, m, 0, &error, &reply);
        polkit_agent_close();
        if (r < 0)
                return bus_log_call_error(r, &error, "run a command in the sandbox");
        return 0;
}

/* TERM goes into the sandbox only when it looks like a terminal name. */
static const char *term_name(void) {
        const char *t = getenv("TERM");

        if (isempty(t) || strlen(t) > 127 || string_has_cc(t) || strpbrk(t, "= /"))
                return NULL;
        return t;
}

static int exec_run(const Sandbox *s, char **argv) {
        _cleanup_close_ int sigfd = -EBADF, ctl_mine = -EBADF, ctl_theirs = -EBADF;
        int pipes[3][2] = {{-EBADF, -EBADF}, {-EBADF, -EBADF}, {-EBADF, -EBADF}};
        int theirs[3] = {-EBADF, -EBADF, -EBADF}, sv[2], r;
        const char *term = term_name();
        bool pty = isatty(STDIN_FILENO);
        Relay relay = {.master = -EBADF, .in_fd = -EBADF, .out_fd = -EBADF, .err_fd = -EBADF, .pty = pty,
                       .name = s->name};
        sigset_t ss;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return log_error_errno(errno, "Failed to create a socket pair: %m");
        ctl_mine = sv[0];
        ctl_theirs = sv[1];
        if (!pty) {
                for (int i = 0; i < 3; i++)
                        if (pipe2(pipes[i], O_CLOEXEC) < 0)
                                return log_error_errno(errno, "Failed to create pipes: %m");
                theirs[0] = pipes[0][0];
                theirs[1] = pipes[1][1];
                theirs[2] = pipes[2][1];
                relay.in_fd = pipes[0][1];
                relay.out_fd = pipes[1][0];
                relay.err_fd = pipes[2][0];
        } else if (tcgetattr(STDIN_FILENO, &saved_termios) >= 0) {
                termios_saved = true;
                atexit(restore_terminal);
        }
        relay.control = ctl_mine;

        /* Signals come through the loop: terminal signals (pipes) and termination are forwarded. */
        sigemptyset(&ss);
        for (int sig = 1; sig < _NSIG; sig++)
                if (exec_signal_forwardable(sig) && sig != SIGCONT && sig != SIGTSTP)
                        sigaddset(&ss, sig);
        sigaddset(&ss, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        sigdelset(&ss, SIGPIPE);
        sigfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
        if (sigfd < 0)
                return log_error_errno(errno, "Failed to create a signalfd: %m");

        if (geteuid() == 0) {
                ExecParams p = {.s = s, .argv = argv, .term = term, .pty = pty, .control = ctl_theirs,
                                .seccomp_live = true, .stdio = {theirs[0], theirs[1], theirs[2]}};
                r = exec_spawn(&p, &pid);
        } else {
                /* sandy-exec takes our pipe ends from the control socket, where they wait for it. */
                r = pty ? 0 : exec_send_msg(ctl_mine, EXEC_MSG_STDIO, 0, theirs, 3);
                if (r < 0)
                        log_error_errno(r, "Failed to pass the pipes on: %m");
                else
                        r = exec_via_helper(s, argv, term, pty, ctl_theirs);
        }
        /* Only the other side holds these now: EOF and hangups propagate. */
        ctl_theirs = safe_close(ctl_theirs);
        for (int i = 0; i < 3; i++)
                safe_close(theirs[i]);
        if (r < 0) {
                for (int i = 0; i < 3; i++)
                        safe_close(i == 0 ? relay.in_fd : i == 1 ? relay.out_fd : relay.err_fd);
                return r;
        }
        {
                int fds[] = {relay.in_fd, relay.out_fd, relay.err_fd};
                for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                        if (fds[i] >= 0)
                                (void) fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
        }
        r = relay_loop(&relay, sigfd);
        restore_terminal();
        termios_saved = false;
        safe_close(relay.master >= 0 ? relay.master : relay.out_fd);
        if (!pty) {
                safe_close(relay.in_fd);
                safe_close(relay.err_fd);
        }
        return r;
}

int verb_exec(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        const char *name = argv[1];
        int first = 2, r;

        if (!dirs)
                return log_oom();
        if (arg_host)
                return log_error_errno(EOPNOTSUPP, "exec runs on this host; for another one: ssh -t HOST sandyctl exec ...");
        if (argc > first && streq(argv[first], "--"))
                first++;
        if (argc <= first)
                return log_error_errno(EINVAL, "Usage: sandyctl exec NAME [--] COMMAND [ARGUMENT...]");
        if (!sandbox_name_is_valid(name))
                return log_error_errno(EINVAL, "\"%s\" is not a valid sandbox name.", name);
        r = sandbox_load(dirs, name, &s);
        if (r == -ENOENT)
                return log_error("Sandbox %s is not declared.", name), EXIT_NO_SUCH_SANDBOX;
        if (r < 0)
                return log_error_errno(r, "Sandbox %s cannot be loaded (see above).", name);
        /* The command's own exit status (or a negative errno); main() passes it on. */
        return exec_run(s, argv + first);
}
