/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl logs [-f] [-n N] [-S TIME] [-U TIME] [-o FORMAT] [-p PRIORITY] [-b [ID]] NAME...: the journal of
 * the sandboxes' units (sandy@, sandy-net@, sandy-dns@, sandy-dns-inside@) and the journal each running
 * sandbox keeps itself.
 *
 * root runs journalctl for the units itself. Everyone else (members of group sandy, on the sandboxes they
 * may use) cannot read the system journal: sandy-helper's Logs runs journalctl for them, restricted to
 * those units, and hands back the read end of its output. The sandbox's own journal always comes through
 * Logs, for root too: those files are written by the sandbox, and the helper reads them as the sandbox's
 * own root UID, never as root. With -H, sandyctl logs runs on the other host (ssh).
 *
 * What a sandbox wrote (its console is part of sandy@NAME's output, its journal is its own) may hold
 * escape sequences meant for the reader's terminal: every line is printed with control characters and
 * invalid UTF-8 escaped (\xNN, and \u00NN for the C1 controls), whatever the output format. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "bus-util.h"
#include "log.h"
#include "parse-util.h"
#include "paths.h"
#include "process-util.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

/* A line longer than this is printed in pieces (escaped all the same). */
#define LOGS_LINE_MAX (64U * 1024U)

typedef struct LogsArgs {
        bool follow;
        char **options; /* "--KEY=VALUE" as sandy-helper's Logs takes them (and journalctl too) */
        char **names;
} LogsArgs;

static void logs_args_done(LogsArgs *a) {
        strv_free(a->options);
        strv_free(a->names);
}

/* -b's optional argument, when it is the next word: an offset (-1, +2, 0) or a boot ID. */
static bool looks_like_boot(const char *s) {
        const char *d = s + (s[0] == '-' || s[0] == '+');
        return (strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32) ||
               (*d && strspn(d, "0123456789") == strlen(d) && (s[0] == '-' || s[0] == '+'));
}

static int add_option(LogsArgs *a, const char *key, const char *value) {
        char *o = value ? strdupf("--%s=%s", key, value) : strdupf("--%s", key);
        return strv_consume(&a->options, o) < 0 ? log_oom() : 0;
}

static void logs_help(void) {
        printf("%s logs [OPTIONS...] NAME...\n\n"
               "Show the journal of sandboxes: of their units (sandy@NAME, sandy-net@NAME, sandy-dns@NAME,\n"
               "sandy-dns-inside@NAME), then the journal each running sandbox keeps itself. Members of group\n"
               "sandy read it through sandy-helper, for the sandboxes they may use. Control characters in\n"
               "what the sandboxes wrote are shown escaped (\\xNN, \\u00NN).\n\n"
               "Options (journalctl's):\n"
               "  -f --follow              Show new lines as they come, until interrupted\n"
               "  -n --lines=N|all         Show the last N lines of each journal\n"
               "  -S --since=TIME          Show lines from TIME on\n"
               "  -U --until=TIME          Show lines up to TIME\n"
               "  -o --output=FORMAT       short, short-iso, short-precise, cat or json\n"
               "  -p --priority=LEVEL[..LEVEL]\n"
               "                           Show lines of these priorities (emerg..debug, 0..7)\n"
               "  -b --boot[=ID|OFFSET]    Show lines of this boot (default: the current one)\n"
               "     --no-pager            Do not pipe output into a pager\n"
               "  -h --help                Show this help\n\n"
               "See sandyctl(1).\n",
               program_invocation_short_name);
}

/* 1: --help was shown. */
static int parse_logs_args(int argc, char *argv[], LogsArgs *a) {
        static const struct {
                char short_name;
                const char *long_name;
        } valued[] = {
                {'n', "lines"}, {'S', "since"}, {'U', "until"}, {'o', "output"}, {'p', "priority"},
        };
        uint64_t n;
        int r;

        for (int i = 1; i < argc; i++) {
                const char *s = argv[i], *value = NULL, *key = NULL;

                if (streq(s, "--")) {
                        for (i++; i < argc; i++)
                                if (strv_extend(&a->names, argv[i]) < 0)
                                        return log_oom();
                        break;
                }
                if (streq(s, "-f") || streq(s, "--follow")) {
                        a->follow = true;
                        continue;
                }
                if (streq(s, "--no-pager")) {
                        arg_no_pager = true;
                        continue;
                }
                if (streq(s, "-h") || streq(s, "--help")) {
                        logs_help();
                        return 1;
                }
                if (streq(s, "-b") || streq(s, "--boot")) {
                        /* journalctl's optional argument: taken when it cannot be a sandbox name */
                        if (i + 1 < argc && looks_like_boot(argv[i + 1]))
                                r = add_option(a, "boot", argv[++i]);
                        else
                                r = add_option(a, "boot", NULL);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (startswith(s, "--boot="))
                        key = "boot", value = s + strlen("--boot=");
                else if (startswith(s, "-b") && s[2])
                        key = "boot", value = s + 2;
                for (size_t k = 0; !key && k < ELEMENTSOF(valued); k++) {
                        size_t l = strlen(valued[k].long_name);

                        if (s[0] == '-' && s[1] == valued[k].short_name) {
                                key = valued[k].long_name;
                                value = s[2] ? s + 2 : NULL;
                        } else if (startswith(s, "--") && strncmp(s + 2, valued[k].long_name, l) == 0 &&
                                   (s[2 + l] == 0 || s[2 + l] == '=')) {
                                key = valued[k].long_name;
                                value = s[2 + l] == '=' ? s + 3 + l : NULL;
                        } else
                                continue;
                        if (!value) {
                                if (++i >= argc)
                                        return log_error_errno(EINVAL, "%s needs a value.", s);
                                value = argv[i];
                        }
                }
                if (key) {
                        if (streq(key, "lines") && !streq(value, "all") && safe_atou64(value, &n) < 0)
                                return log_error_errno(EINVAL, "-n takes a number or \"all\", not \"%s\".", value);
                        r = add_option(a, key, value);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (s[0] == '-')
                        return log_error_errno(EINVAL,
                                               "Unknown option %s for logs (know -f, -n N, -S TIME, -U TIME, "
                                               "-o short|short-iso|short-precise|cat|json, -p PRIORITY, -b [ID], "
                                               "--no-pager; see \"sandyctl logs --help\").",
                                               s);
                if (strv_extend(&a->names, s) < 0)
                        return log_oom();
        }
        if (a->follow && strv_extend(&a->options, "--follow") < 0)
                return log_oom();
        if (!a->names)
                return log_error_errno(EINVAL, "logs needs a sandbox NAME.");
        return 0;
}

/* ---- output */

typedef struct Stream {
        int fd;
        const char *header; /* printed before its first line, or NULL */
        char *buf;
        size_t len;
        bool eof;
} Stream;

/* The length of the valid UTF-8 sequence at s (at most n bytes), its code point in *cp; 0 if invalid. */
static size_t utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp) {
        size_t len;
        unsigned char lo = 0x80, hi = 0xBF;

        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                len = 2, *cp = s[0] & 0x1F;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                len = 3, *cp = s[0] & 0x0F;
                lo = s[0] == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
                hi = s[0] == 0xED ? 0x9F : 0xBF; /* no surrogates */
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                len = 4, *cp = s[0] & 0x07;
                lo = s[0] == 0xF0 ? 0x90 : 0x80;
                hi = s[0] == 0xF4 ? 0x8F : 0xBF;
        } else
                return 0;
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if (i > 1 && (s[i] & 0xC0) != 0x80)
                        return 0;
                *cp = (*cp << 6) | (s[i] & 0x3F);
        }
        return len;
}

/* One line (without its newline) as text that cannot drive the terminal: tab is kept, other C0 controls,
 * DEL and bytes that are not UTF-8 become \xNN, the C1 controls (U+0080..U+009F, which some terminals obey
 * like ESC [) \u00NN. */
static void print_escaped(FILE *f, const char *line, size_t n) {
        const unsigned char *s = (const unsigned char *) line;

        /* The console's line ends ("\r\n" from its pty): a carriage return just before the newline hides
         * nothing; one anywhere else could, and is escaped. */
        while (n > 0 && s[n - 1] == '\r')
                n--;
        for (size_t i = 0; i < n;) {
                uint32_t cp = 0;
                size_t k;

                if (s[i] == '\t' || (s[i] >= ' ' && s[i] < 0x7F)) {
                        fputc(s[i++], f);
                        continue;
                }
                if (s[i] < 0x80) {
                        fprintf(f, "\\x%02x", s[i++]);
                        continue;
                }
                k = utf8_sequence(s + i, n - i, &cp);
                if (k == 0) {
                        fprintf(f, "\\x%02x", s[i++]);
                        continue;
                }
                if (cp < 0xA0)
                        fprintf(f, "\\u%04x", (unsigned) cp);
                else
                        fwrite(s + i, 1, k, f);
                i += k;
        }
        fputc('\n', f);
}

/* Print the complete lines in st's buffer (all of it at EOF); false once stdout is gone. */
static bool stream_flush(Stream *st) {
        size_t start = 0;

        for (;;) {
                char *nl = memchr(st->buf + start, '\n', st->len - start);
                size_t end;

                if (nl)
                        end = (size_t) (nl - st->buf);
                else if (st->len - start >= LOGS_LINE_MAX || (st->eof && st->len > start))
                        end = st->len;
                else
                        break;
                if (st->header) {
                        printf("%s\n", st->header);
                        st->header = NULL;
                }
                print_escaped(stdout, st->buf + start, end - start);
                start = nl ? end + 1 : end;
        }
        memmove(st->buf, st->buf + start, st->len - start);
        st->len -= start;
        return fflush(stdout) == 0 && !ferror(stdout);
}

/* Read what is there (blocking: the fd was polled, or is drained in order). -errno, 0 at EOF, 1 otherwise. */
static int stream_read(Stream *st) {
        ssize_t k;

        if (!st->buf && !(st->buf = malloc(LOGS_LINE_MAX + 4096)))
                return -ENOMEM;
        k = read(st->fd, st->buf + st->len, LOGS_LINE_MAX + 4096 - st->len);
        if (k < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : -errno;
        if (k == 0)
                st->eof = true;
        st->len += (size_t) k;
        return k > 0;
}

/* Without --follow, one stream after the other (each is in time order; the units' first); with it, as the
 * lines come. Returns once every stream is at EOF, or stdout is gone (0). */
static int print_streams(Stream *streams, size_t n, bool follow) {
        int r;

        if (!follow) {
                for (size_t i = 0; i < n; i++)
                        while (!streams[i].eof) {
                                r = stream_read(&streams[i]);
                                if (r < 0)
                                        return log_error_errno(r, "Failed to read the journal: %m");
                                if (!stream_flush(&streams[i]))
                                        return 0;
                        }
                return 0;
        }
        for (;;) {
                struct pollfd p[n];
                size_t open = 0;

                for (size_t i = 0; i < n; i++) {
                        p[i] = (struct pollfd){.fd = streams[i].eof ? -1 : streams[i].fd, .events = POLLIN};
                        open += !streams[i].eof;
                }
                if (open == 0)
                        return 0;
                if (poll(p, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Failed to wait for the journal: %m");
                }
                for (size_t i = 0; i < n; i++) {
                        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        r = stream_read(&streams[i]);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read the journal: %m");
                        if (!stream_flush(&streams[i]))
                                return 0;
                }
        }
}

/* ---- the sources */

/* journalctl -u UNIT... OPTIONS, root's, with its stdout on a pipe: its PID, the pipe's read end in *ret_fd. */
static pid_t spawn_journalctl(const LogsArgs *a, int *ret_fd) {
        static const char *const formats[] = {SANDBOX_UNIT_FMT, SANDBOX_NET_UNIT_FMT, SANDBOX_DNS_UNIT_FMT,
                                              SANDBOX_DNS_INSIDE_UNIT_FMT};
        _cleanup_strv_free_ char **args = NULL;
        int fds[2];
        pid_t pid;

        if (strv_extend(&args, "journalctl") < 0 || strv_extend(&args, "--no-pager") < 0 ||
            strv_extend(&args, "--all") < 0)
                return log_oom();
        STRV_FOREACH(n, a->names)
                for (size_t u = 0; u < ELEMENTSOF(formats); u++)
                        if (strv_extend(&args, "-u") < 0 || strv_consume(&args, sandbox_unit_name(formats[u], *n)) < 0)
                                return log_oom();
        STRV_FOREACH(o, a->options)
                if (strv_extend(&args, *o) < 0)
                        return log_oom();
        fflush(stdout);
        pid = fork_with_pipe(fds);
        if (pid < 0)
                return log_error_errno((int) pid, "Failed to run journalctl: %m");
        if (pid == 0) {
                if (dup2(fds[1], STDOUT_FILENO) < 0)
                        _exit(127);
                (void) signal(SIGPIPE, SIG_DFL);
                execvp(args[0], args);
                log_error_errno(errno, "Failed to execute journalctl: %m");
                _exit(127);
        }
        safe_close(fds[1]);
        *ret_fd = fds[0];
        return pid;
}

/* sandy-helper's Logs for name: the units' and the sandbox's own journal (ret_units NULL: its own only). */
static int helper_logs(sd_bus *bus, const char *name, char **options, int *ret_units, int *ret_machine) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_unref_ sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *what = NULL;
        int u, j, r;

        if (xasprintf(&what, "read the journal of %s", name) < 0)
                return log_oom();
        r = sd_bus_message_new_method_call(bus, &m, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_STATE_IFACE, "Logs");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, options);
        if (r < 0)
                return log_error_errno(r, "Failed to ask sandy-helper: %m");
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                return ret_units ? bus_log_call_error(r, &error, what) : r;
        r = sd_bus_message_read(reply, "hh", &u, &j);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of Logs: %m");
        /* The reply owns them. */
        if (ret_units && (*ret_units = fcntl(u, F_DUPFD_CLOEXEC, 3)) < 0)
                return log_error_errno(errno, "Failed to take the journal's descriptor: %m");
        *ret_machine = fcntl(j, F_DUPFD_CLOEXEC, 3);
        if (*ret_machine < 0) {
                if (ret_units)
                        *ret_units = safe_close(*ret_units);
                return log_error_errno(errno, "Failed to take the journal's descriptor: %m");
        }
        return 0;
}

int verb_logs(int argc, char *argv[]) {
        _cleanup_(logs_args_done) LogsArgs a = {};
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        _cleanup_strv_free_ char **headers = NULL, **machine_options = NULL;
        Stream *streams = NULL;
        size_t n = 0, names;
        bool root = geteuid() == 0, plain;
        pid_t pid = 0;
        int r, ret = 0;

        /* The journal is on the other host, and so is the answer to "may this user read it". */
        if (arg_host)
                return remote_sandyctl(argc, argv);
        r = parse_logs_args(argc, argv, &a);
        if (r != 0)
                return r < 0 ? r : 0;
        names = strv_length(a.names);
        r = sandbox_require_all_declared(a.names, names);
        if (r != 0)
                return r;
        /* A line before the sandbox's own journal, except where the output is for programs. */
        plain = !strv_contains(a.options, "--output=cat") && !strv_contains(a.options, "--output=json");
        streams = new0(Stream, 2 * names + 1);
        if (!streams)
                return log_oom();
        for (size_t i = 0; i < 2 * names + 1; i++)
                streams[i].fd = -EBADF;

        if (root) {
                pid = spawn_journalctl(&a, &streams[n].fd);
                if (pid < 0) {
                        ret = (int) pid;
                        goto finish;
                }
                n++;
                machine_options = strv_copy(a.options);
                if (!machine_options || strv_extend(&machine_options, "--only=machine") < 0) {
                        ret = log_oom();
                        goto finish;
                }
        }
        r = bus_connect_system(&bus);
        if (r < 0 && !root) {
                ret = r;
                goto finish;
        }
        if (bus && !root)
                polkit_agent_open_if_enabled();
        for (size_t i = 0; bus && i < names; i++) {
                int *units = root ? NULL : &streams[n].fd, machine = -EBADF;

                r = helper_logs(bus, a.names[i], root ? machine_options : a.options, units, &machine);
                if (r < 0) {
                        /* root has the units' journal without the helper */
                        if (!root && ret == 0)
                                ret = r;
                        if (root)
                                log_debug_errno(r, "No journal of sandbox %s's own from sandy-helper: %m",
                                                a.names[i]);
                        continue;
                }
                if (units)
                        n++;
                streams[n].fd = machine;
                if (plain && strv_consume(&headers, strdupf("-- The journal sandbox %s keeps itself --",
                                                           a.names[i])) < 0) {
                        ret = log_oom();
                        goto finish;
                }
                streams[n++].header = plain ? headers[strv_length(headers) - 1] : NULL;
        }
        if (bus && !root)
                polkit_agent_close();

        if (!a.follow)
                pager_open();
        r = print_streams(streams, n, a.follow);
        if (r < 0 && ret == 0)
                ret = r;
finish:
        for (size_t i = 0; i < 2 * names + 1; i++) {
                safe_close(streams[i].fd);
                free(streams[i].buf);
        }
        free(streams);
        pager_close();
        if (pid > 0) {
                /* Its stdout is closed: it ends at its next write, or at once when following. */
                int st = wait_for_terminate_and_check(NULL, pid);
                if (st > 0 && ret == 0 && st != 128 + SIGPIPE)
                        ret = st;
        }
        return ret;
}
