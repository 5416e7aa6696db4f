/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sandy.Helper1.State on /org/sandy/Helper1: what a sandbox left behind, for sandyctl status and reset,
 * so that a member of group sandy (and sandyctl -H) gets the same answer as root without reading root's
 * files:
 *   DescribeState(s sandbox) -> (a(ss) reports, as errors)
 *       the reports sandy-prepare keeps in SANDY_SANDBOX_STATE_DIR/NAME (*.report: protected paths the
 *       session touched), and the last warning and error lines of the journal of the sandbox's units since
 *       its last start ("IDENTIFIER: MESSAGE");
 *   ResetState(s sandbox) -> (b discarded)
 *       remove SANDY_SANDBOX_STATE_DIR/NAME (Ephemeral=no overlay, PersistHome= home, reports) while the
 *       sandbox is stopped; false when there was nothing.
 *   Logs(s sandbox, as options) -> (h journal, h machine_journal)   (issue 16: sandyctl logs of a member)
 *       the read ends of two pipes fed by journalctl: the journal of the sandbox's units, and the journal
 *       the running sandbox keeps itself (at EOF at once when there is none). See logs_* below.
 * All are checked with polkit, with the detail "sandbox" (Logs as POLKIT_ACTION_STATUS). The name must be
 * valid, not declared: the state of a sandbox whose declaration is gone can still be looked at and
 * discarded. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <systemd/sd-journal.h>

#include "bus-names.h"
#include "bus-polkit.h"
#include "transient-unit.h"
#include "bus-state.h"
#include "fs-util.h"
#include "log.h"
#include "parse-util.h"
#include "paths.h"
#include "rm-rf.h"
#include "sandbox.h"
#include "string-util.h"
#include "strv.h"
#include "uid-range.h"

/* Enough to say why a start failed; the rest is in "sandyctl logs". */
#define STATE_ERROR_LINES 10
#define STATE_REPORT_MAX (64U * 1024U)
#define STATE_LINE_MAX 1024U

static size_t min_size(size_t a, size_t b) {
        return a < b ? a : b;
}

/* 1: authorized; 0: polkit is asked, the call comes back later (return 1 without a reply); < 0: refused. */
static int check(sd_bus_message *m, const char *action, const char *name, sd_bus_error *error) {
        const char *details[] = {"sandbox", name, NULL};

        if (!sandbox_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "\"%s\" is not a valid sandbox name.",
                                         name);
        return bus_verify_polkit_async(m, action, details, error);
}

/* The sandbox's state directory, opened without following a symlink anywhere below SANDY_STATE_DIR, or
 * -ENOENT. */
static int open_state_parent(void) {
        int fd = open(SANDY_SANDBOX_STATE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int append_reports(sd_bus_message *reply, const char *name) {
        _cleanup_close_ int parent = -EBADF, dfd = -EBADF;
        _cleanup_strv_free_ char **files = NULL;
        DIR *d;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        parent = open_state_parent();
        if (parent >= 0)
                dfd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        d = dfd >= 0 ? opendir_dup(dfd) : NULL;
        for (struct dirent *de; d && (de = readdir(d));)
                if (de->d_name[0] != '.' &&
                    (endswith(de->d_name, ".report") || streq(de->d_name, "report")) &&
                    strv_extend(&files, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        if (d)
                closedir(d);
        strv_sort(files);
        STRV_FOREACH(f, files) {
                _cleanup_close_ int fd = openat(dfd, *f, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                _cleanup_free_ char *text = NULL;
                struct stat st;
                ssize_t k;

                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                text = malloc(STATE_REPORT_MAX + 1);
                if (!text)
                        return -ENOMEM;
                k = read(fd, text, STATE_REPORT_MAX);
                if (k < 0)
                        continue;
                text[k] = 0;
                if (!utf8_is_valid(text))
                        continue; /* not ours: sandy-prepare writes text */
                r = sd_bus_message_append(reply, "(ss)", *f, text);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* When the unit last began to start (realtime), 0 when systemd does not know it. */
static uint64_t unit_started_usec(sd_bus *bus, const char *name) {
        _cleanup_free_ char *unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name), *path = NULL;
        uint64_t t = 0;

        if (!unit || sd_bus_path_encode(SYSTEMD_UNIT_PATH_PREFIX, unit, &path) < 0)
                return 0;
        (void) sd_bus_get_property_trivial(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_UNIT_IFACE, "InactiveExitTimestamp",
                                           NULL, 't', &t);
        return t;
}

static int add_matches(sd_journal *j, const char *field, const char *name, bool from_pid1) {
        static const char *const formats[] = {SANDBOX_UNIT_FMT, SANDBOX_NET_UNIT_FMT, SANDBOX_DNS_UNIT_FMT};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                _cleanup_free_ char *unit = sandbox_unit_name(formats[i], name), *m = NULL;

                if (!unit || xasprintf(&m, "%s=%s", field, unit) < 0)
                        return -ENOMEM;
                r = sd_journal_add_match(j, m, 0);
                if (r < 0)
                        return r;
        }
        /* Warnings and worse only. */
        for (int p = LOG_EMERG; p <= LOG_WARNING; p++) {
                char m[16];

                snprintf(m, sizeof(m), "PRIORITY=%d", p);
                r = sd_journal_add_match(j, m, 0);
                if (r < 0)
                        return r;
        }
        /* systemd's own lines about a unit carry UNIT=, which any client may also set: only PID 1's count.
         */
        return from_pid1 ? sd_journal_add_match(j, "_PID=1", 0) : 0;
}

/* D-Bus strings are UTF-8, and a journal field may be any bytes (or cut in the middle of a character). */
static void make_utf8(char *s) {
        if (!s || utf8_is_valid(s))
                return;
        for (char *c = s; *c; c++)
                if ((unsigned char) *c >= 0x80)
                        *c = '?';
}

static char *entry_line(sd_journal *j) {
        const void *d;
        size_t n;
        _cleanup_free_ char *ident = NULL, *msg = NULL;

        if (sd_journal_get_data(j, "SYSLOG_IDENTIFIER", &d, &n) >= 0 ||
            sd_journal_get_data(j, "_COMM", &d, &n) >= 0) {
                const char *eq = memchr(d, '=', n);
                if (eq)
                        ident = strndup(eq + 1, min_size((size_t) ((const char *) d + n - eq - 1), 64));
        }
        if (sd_journal_get_data(j, "MESSAGE", &d, &n) < 0)
                return NULL;
        msg = strndup((const char *) d + strlen("MESSAGE="), min_size(n - strlen("MESSAGE="), STATE_LINE_MAX));
        if (!msg)
                return NULL;
        make_utf8(ident);
        make_utf8(msg);
        return strdupf("%s: %s", ident ?: "?", msg);
}

/* The last STATE_ERROR_LINES warning and error lines of the sandbox's units since its last start, oldest
 * first. The sandbox's console is part of its unit's output, so a line may be what the sandbox wrote: the
 * client shows them without control characters. */
static int journal_errors(sd_bus *bus, const char *name, char ***ret) {
        _cleanup_strv_free_ char **lines = NULL;
        sd_journal *j = NULL;
        uint64_t since = unit_started_usec(bus, name);
        int r;

        *ret = NULL;
        if (since == 0)
                return 0;
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        r = add_matches(j, "_SYSTEMD_UNIT", name, false);
        if (r >= 0)
                r = sd_journal_add_disjunction(j);
        if (r >= 0)
                r = add_matches(j, "UNIT", name, true);
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        for (size_t n = 0; r >= 0 && n < STATE_ERROR_LINES && sd_journal_previous(j) > 0;) {
                uint64_t t;
                char *line;

                if (sd_journal_get_realtime_usec(j, &t) < 0 || t < since)
                        break;
                line = entry_line(j);
                if (!line)
                        continue;
                r = strv_consume(&lines, line);
                n++;
        }
        sd_journal_close(j);
        if (r < 0)
                return r;
        /* Collected newest first. */
        for (size_t a = 0, b = strv_length(lines); b > a + 1; a++, b--) {
                char *x = lines[a];
                lines[a] = lines[b - 1];
                lines[b - 1] = x;
        }
        *ret = TAKE_PTR(lines);
        return 0;
}

static int method_describe_state(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = check(msg, POLKIT_ACTION_STATUS, name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = journal_errors(sd_bus_message_get_bus(msg), name, &errors);
        if (r < 0)
                log_warning_errno(r, "Failed to read the journal of sandbox %s, answering without it: %m", name);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_reports(reply, name);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, errors);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Refuse while the sandbox runs or is on its way up or down: its overlay and home are in use. */
static int check_stopped(sd_bus *bus, const char *name, sd_bus_error *error) {
        _cleanup_free_ char *unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name), *path = NULL, *state = NULL,
                            *env = sandbox_runtime_path(name, SANDY_START_ENV);
        int r;

        if (!unit || !env || sd_bus_path_encode(SYSTEMD_UNIT_PATH_PREFIX, unit, &path) < 0)
                return -ENOMEM;
        r = sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_UNIT_IFACE, "ActiveState", NULL,
                                       &state);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to ask systemd about %s: %m", unit);
        /* SANDY_START_ENV lives from sandy-prepare's start to its cleanup after the stop. */
        if (!streq(state, "inactive") && !streq(state, "failed"))
                return sd_bus_error_setf(error, HELPER_ERROR_BUSY,
                                         "Sandbox %s is %s; stop it first (systemctl stop %s).", name, state,
                                         unit);
        if (access(env, F_OK) >= 0)
                return sd_bus_error_setf(error, HELPER_ERROR_BUSY,
                                         "Sandbox %s is still being cleaned up after its stop; try again.", name);
        return 0;
}

static int method_reset_state(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_close_ int parent = -EBADF;
        const char *name;
        struct stat st;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = check(msg, POLKIT_ACTION_RESET, name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = check_stopped(sd_bus_message_get_bus(msg), name, error);
        if (r < 0)
                return r;
        parent = open_state_parent();
        if (parent == -ENOENT)
                return sd_bus_reply_method_return(msg, "b", false);
        if (parent < 0)
                return sd_bus_error_set_errnof(error, parent, "Failed to open %s: %m",
                                               SANDY_SANDBOX_STATE_DIR);
        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return sd_bus_reply_method_return(msg, "b", false);
                return sd_bus_error_set_errnof(error, errno, "Failed to look at the state of %s: %m", name);
        }
        if (!S_ISDIR(st.st_mode))
                return sd_bus_error_setf(error, SD_BUS_ERROR_FAILED,
                                         "%s/%s is not a directory; not touching it.", SANDY_SANDBOX_STATE_DIR, name);
        /* What the sandbox wrote: removed from the directory fd, never following a symlink, never leaving
         * the file system. */
        r = rm_rf_at(parent, name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to remove the state of %s: %m", name);
        log_info("Discarded the state of sandbox %s (%s/%s).", name, SANDY_SANDBOX_STATE_DIR, name);
        return sd_bus_reply_method_return(msg, "b", true);
}

/* ---- Logs (issue 16): "sandyctl logs" for members of group sandy, who cannot read the system journal.
 *
 * journalctl runs as transient units of PID 1's, never as children of this process: they do not end when
 * the helper exits while idle, and they get none of its privileges. Each writes into a pipe whose read end
 * is the caller's; journalctl ends when that end is closed (a write fails, and with --follow it watches its
 * stdout for the hang-up), so a reader that goes away takes them along, and the units are stopped when the
 * caller's bus connection goes (LogsReaders), whoever holds the read ends by then. Two of them:
 *   the sandbox's units (sandy@, sandy-net@, sandy-dns@, sandy-dns-inside@; journalctl -u only trusts what
 *       journald and PID 1 recorded), as a dynamic user whose only privilege is SYSTEMD_JOURNAL_GROUP;
 *   the journal the running sandbox keeps itself (Boot=yes: its journald writes SANDBOX_JOURNAL_DIR of its
 *       root, which nspawn links into the host's /var/log/journal): files the sandbox wrote, so read as the
 *       sandbox's own root UID (setpriv), which cannot read the host's journal whatever symlink the sandbox
 *       put there, from a directory opened here beneath the sandbox's root without following symlinks.
 * Options come as "--KEY[=VALUE]" strings from a small allowlist, each value checked, and journalctl's
 * argv is made here; what the sandbox wrote may hold control characters: sandyctl escapes them. */

/* Two readers per "sandyctl logs NAME": enough for a few terminals following at once. */
#define LOGS_UNITS_PER_USER_MAX 16U
#define LOGS_OPTIONS_MAX 16U
#define LOGS_TIME_MAX 64U

typedef struct LogsOptions {
        bool follow, boot;
        /* Values, pointing into the call's strings; NULL when not given. */
        const char *lines, *since, *until, *output, *priority, *boot_id, *only;
} LogsOptions;

static const char *after_prefix(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static bool logs_lines_valid(const char *v) {
        uint64_t n;
        return streq(v, "all") || (strlen(v) <= 7 && safe_atou64(v, &n) >= 0);
}

/* journalctl's time syntax ("2024-05-01 10:00", "yesterday", "-1h", "@1714550400"): its own parser
 * judges the value; here only its length and characters (nothing a shell or systemd would expand). */
static bool logs_time_valid(const char *v) {
        size_t n = strlen(v);
        return n > 0 && n <= LOGS_TIME_MAX && v[0] != ' ' &&
               strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 :.+-@") == n;
}

static bool logs_level_valid(const char *v, size_t n) {
        static const char *const names[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

        if (n == 1 && v[0] >= '0' && v[0] <= '7')
                return true;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i]) == n && strncmp(names[i], v, n) == 0)
                        return true;
        return false;
}

/* LEVEL or FROM..TO */
static bool logs_priority_valid(const char *v) {
        const char *dots = strstr(v, "..");

        if (!dots)
                return logs_level_valid(v, strlen(v));
        return logs_level_valid(v, (size_t) (dots - v)) && logs_level_valid(dots + 2, strlen(dots + 2));
}

/* A boot ID (32 hex digits) or an offset (0, -1, +2, ...). */
static bool logs_boot_valid(const char *v) {
        const char *d = v + (v[0] == '-' || v[0] == '+');

        if (strlen(v) == 32 && strspn(v, "0123456789abcdef") == 32)
                return true;
        return *d && strlen(d) <= 4 && strspn(d, "0123456789") == strlen(d);
}

static bool logs_output_valid(const char *v) {
        return streq(v, "short") || streq(v, "short-iso") || streq(v, "short-precise") || streq(v, "cat") ||
               streq(v, "json");
}

static bool logs_only_valid(const char *v) {
        return streq(v, "units") || streq(v, "machine");
}

static int logs_parse(char **options, LogsOptions *o, sd_bus_error *error) {
        static const struct {
                const char *prefix;
                size_t offset;
                bool (*valid)(const char *v);
        } table[] = {
                {"--lines=", offsetof(LogsOptions, lines), logs_lines_valid},
                {"--since=", offsetof(LogsOptions, since), logs_time_valid},
                {"--until=", offsetof(LogsOptions, until), logs_time_valid},
                {"--output=", offsetof(LogsOptions, output), logs_output_valid},
                {"--priority=", offsetof(LogsOptions, priority), logs_priority_valid},
                {"--boot=", offsetof(LogsOptions, boot_id), logs_boot_valid},
                {"--only=", offsetof(LogsOptions, only), logs_only_valid},
        };

        if (strv_length(options) > LOGS_OPTIONS_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Too many options (at most %u).",
                                         LOGS_OPTIONS_MAX);
        STRV_FOREACH(p, options) {
                const char *s = *p, *v = NULL;
                size_t i;

                if (streq(s, "--follow") || streq(s, "--boot")) {
                        bool *flag = streq(s, "--follow") ? &o->follow : &o->boot;
                        if (*flag)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s is given twice.", s);
                        *flag = true;
                        continue;
                }
                for (i = 0; i < ELEMENTSOF(table); i++)
                        if ((v = after_prefix(s, table[i].prefix)))
                                break;
                if (i == ELEMENTSOF(table))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unsupported option \"%.64s\" (supported: --lines=N|all, --follow, "
                                                 "--since=TIME, --until=TIME, "
                                                 "--output=short|short-iso|short-precise|cat|json, "
                                                 "--priority=LEVEL[..LEVEL], --boot[=ID|OFFSET], "
                                                 "--only=units|machine).",
                                                 s);
                const char **slot = (const char **) ((char *) o + table[i].offset);
                if (*slot || (slot == &o->boot_id && o->boot))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s is given twice.",
                                                 table[i].prefix);
                if (!table[i].valid(v))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid value in \"%.80s\".", s);
                *slot = v;
        }
        if (o->boot_id && o->boot)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "--boot is given twice.");
        return 0;
}

/* JOURNALCTL_BINARY and the options, as journalctl takes them. --all: what the sandbox wrote is shown
 * byte for byte (not "[N blob data]"), for sandyctl to escape. */
static int logs_journalctl_argv(const LogsOptions *o, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const struct {
                const char *key, *value;
        } values[] = {
                {"--lines", o->lines},   {"--since", o->since},       {"--until", o->until},
                {"--output", o->output}, {"--priority", o->priority}, {"--boot", o->boot_id},
        };

        if (strv_extend(&l, JOURNALCTL_BINARY) < 0 || strv_extend(&l, "--no-pager") < 0 ||
            strv_extend(&l, "--all") < 0 || (o->follow && strv_extend(&l, "--follow") < 0) ||
            (o->boot && strv_extend(&l, "--boot") < 0))
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                if (values[i].value && strv_consume(&l, strdupf("%s=%s", values[i].key, values[i].value)) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* The sandy-logs units of uid that PID 1 has loaded (running, or on their way). */
static int logs_list_units(sd_bus *bus, uid_t uid, char ***ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *pattern = NULL;
        _cleanup_strv_free_ char **l = NULL;
        const char *a, *b, *c, *d, *e, *f, *g, *h, *i;
        uint32_t j;
        int r;

        if (xasprintf(&pattern, SANDY_LOGS_UNIT_PREFIX "%u-*", (unsigned) uid) < 0)
                return -ENOMEM;
        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                           "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append(m, "asas", 0, 1, pattern);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, NULL, &reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssssssouso)", &a, &b, &c, &d, &e, &f, &g, &j, &h, &i)) > 0)
                if (strv_extend(&l, a) < 0)
                        return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* The readers started for each call, until the caller's bus connection is gone: then PID 1 is told to stop
 * them, whoever holds the read ends by then (a caller may pass them on, or keep them unread, and go). While
 * there are any the helper does not exit idle (bus_state_busy()). Records whose units have ended are
 * dropped at the next call of the same UID, so a caller that stays connected cannot pile them up. */
typedef struct LogsReaders LogsReaders;
struct LogsReaders {
        LogsReaders *next;
        sd_bus_track *track;
        uid_t uid;
        char *units[2]; /* NULL: none started */
};

static LogsReaders *logs_readers;

static void logs_readers_free(LogsReaders *l) {
        for (LogsReaders **p = &logs_readers; *p; p = &(*p)->next)
                if (*p == l) {
                        *p = l->next;
                        break;
                }
        sd_bus_track_unref(l->track);
        free(l->units[0]);
        free(l->units[1]);
        free(l);
}

static void logs_stop_unit(sd_bus *bus, const char *unit) {
        int r;

        if (!unit)
                return;
        /* NoSuchUnit when it has ended already: nothing to do, so no reply is waited for. */
        r = sd_bus_call_method_async(bus, NULL, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                     "StopUnit", NULL, NULL, "ss", unit, "replace");
        if (r < 0)
                log_warning_errno(r, "Failed to stop %s: %m", unit);
        else
                log_debug("Stopping %s: its caller is gone.", unit);
}

/* Have PID 1 stop l's units, and forget l. */
static void logs_readers_stop(sd_bus *bus, LogsReaders *l) {
        for (size_t i = 0; i < ELEMENTSOF(l->units); i++)
                logs_stop_unit(bus, l->units[i]);
        logs_readers_free(l);
}

static int on_logs_caller_gone(sd_bus_track *t, void *userdata) {
        logs_readers_stop(sd_bus_track_get_bus(t), userdata);
        return 0;
}

/* Forget uid's records none of whose units is in loaded. */
static void logs_readers_prune(uid_t uid, char **loaded) {
        for (LogsReaders *l = logs_readers, *next; l; l = next) {
                bool live = false;

                next = l->next;
                for (size_t i = 0; i < ELEMENTSOF(l->units); i++)
                        live = live || (l->units[i] && strv_contains(loaded, l->units[i]));
                if (l->uid == uid && !live)
                        logs_readers_free(l);
        }
}

/* Track the sender of msg for the units, taking their names; on failure they are stopped. */
static int logs_readers_add(sd_bus_message *msg, uid_t uid, char **units) {
        LogsReaders *l = new0(LogsReaders, 1);
        int r;

        if (!l) {
                for (size_t i = 0; i < 2; i++) {
                        logs_stop_unit(sd_bus_message_get_bus(msg), units[i]);
                        units[i] = mfree(units[i]);
                }
                return -ENOMEM;
        }
        l->uid = uid;
        l->units[0] = TAKE_PTR(units[0]);
        l->units[1] = TAKE_PTR(units[1]);
        l->next = logs_readers;
        logs_readers = l;
        /* The match for the sender's going is queued before the reply: a caller that has the reply has it. */
        r = sd_bus_track_new(sd_bus_message_get_bus(msg), &l->track, on_logs_caller_gone, l);
        if (r >= 0)
                r = sd_bus_track_add_sender(l->track, msg);
        if (r < 0)
                /* Not tracked: stop them now (the reply is not sent). */
                logs_readers_stop(sd_bus_message_get_bus(msg), l);
        return r;
}

bool bus_state_busy(void) {
        return logs_readers;
}

/* Start argv as a transient unit whose stdout and stderr are out (and stdin in, if any). sandbox_uid: run
 * as that UID and GID (setpriv; the unit itself may only change its IDs); otherwise as a dynamic user in
 * SYSTEMD_JOURNAL_GROUP. Either way no capability, and a read-only view of the system. */
static int logs_start_unit(sd_bus *bus, uid_t caller, const char *name, const char *what, char **argv, int in,
                           int out, uid_t sandbox_uid, char **ret_unit, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **cmd = NULL;
        _cleanup_free_ char *prefix = NULL, *unit = NULL, *desc = NULL;
        char *groups[] = {(char *) SYSTEMD_JOURNAL_GROUP, NULL}, *env[] = {(char *) "SYSTEMD_COLORS=0", NULL},
             *families[] = {(char *) "AF_UNIX", NULL}, *archs[] = {(char *) "native", NULL},
             *filter[] = {(char *) "@system-service", NULL};
        bool dynamic = sandbox_uid == 0;
        int r;

        if (xasprintf(&prefix, SANDY_LOGS_UNIT_PREFIX "%u-%s", (unsigned) caller, name) < 0 ||
            xasprintf(&desc, "sandyctl logs: %s of sandbox %s, for UID %u", what, name, (unsigned) caller) < 0)
                return -ENOMEM;
        r = transient_unit_name(prefix, &unit);
        if (r < 0)
                return r;
        if (!dynamic) {
                if (strv_extend(&cmd, SETPRIV_BINARY) < 0 ||
                    strv_consume(&cmd, strdupf("--reuid=%u", (unsigned) sandbox_uid)) < 0 ||
                    strv_consume(&cmd, strdupf("--regid=%u", (unsigned) sandbox_uid)) < 0 ||
                    strv_extend(&cmd, "--clear-groups") < 0 || strv_extend(&cmd, "--inh-caps=-all") < 0 ||
                    strv_extend(&cmd, "--") < 0)
                        return -ENOMEM;
        }
        STRV_FOREACH(a, argv)
                if (strv_extend(&cmd, *a) < 0)
                        return -ENOMEM;

        r = transient_unit_new(bus, unit, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s", desc,
                                          "StandardOutputFileDescriptor", "h", out, "StandardErrorFileDescriptor", "h",
                                          out, "CollectMode", "s", "inactive-or-failed", "IgnoreSIGPIPE", "b", false);
        if (r >= 0 && in >= 0)
                r = sd_bus_message_append(m, "(sv)", "StandardInputFileDescriptor", "h", in);
        if (r >= 0 && dynamic)
                r = sd_bus_message_append(m, "(sv)(sv)", "DynamicUser", "b", true, "CapabilityBoundingSet", "t",
                                          (uint64_t) 0);
        if (r >= 0 && dynamic)
                r = transient_unit_append_strv(m, "SupplementaryGroups", groups);
        if (r >= 0 && !dynamic)
                r = sd_bus_message_append(m, "(sv)", "CapabilityBoundingSet", "t",
                                          (uint64_t) ((1ULL << CAP_SETUID) | (1ULL << CAP_SETGID)));
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "AmbientCapabilities", "t",
                                          (uint64_t) 0, "NoNewPrivileges", "b", true, "ProtectSystem", "s", "strict",
                                          "ProtectHome", "s", "yes", "PrivateTmp", "b", true, "PrivateDevices", "b",
                                          true, "ProtectKernelModules", "b", true);
        /* Not for the dynamic user: with ProtectKernelTunables= or ProtectControlGroups=, its journalctl
         * --follow saw no new entries of the host's journal (systemd 252, the test host's overlayfs /var);
         * /proc/sys and the cgroup files are root's, which it cannot write anyway. setpriv starts as root. */
        if (r >= 0 && !dynamic)
                r = sd_bus_message_append(m, "(sv)(sv)", "ProtectKernelTunables", "b", true, "ProtectControlGroups",
                                          "b", true);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)", "ProtectKernelLogs", "b", true,
                                          "ProtectClock", "b", true, "ProtectHostname", "b", true, "LockPersonality",
                                          "b", true, "RestrictRealtime", "b", true, "RestrictSUIDSGID", "b", true,
                                          "MemoryDenyWriteExecute", "b", true);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)", "TasksMax", "t", (uint64_t) 8, "RestrictAddressFamilies",
                                          "(bas)", true, 1, families[0], "SystemCallFilter", "(bas)", true, 1,
                                          filter[0]);
        if (r >= 0)
                r = transient_unit_append_strv(m, "SystemCallArchitectures", archs);
        if (r >= 0)
                r = transient_unit_append_strv(m, "Environment", env);
        if (r >= 0)
                r = transient_unit_append_exec(m, cmd[0], cmd);
        if (r >= 0)
                r = transient_unit_start(bus, m, unit, error);
        if (r < 0)
                return r;
        *ret_unit = TAKE_PTR(unit);
        return 0;
}

/* The journal directory in the root of the running sandbox name, opened beneath that root without
 * following a symlink or leaving its file system, and the sandbox's root UID (the first of its range, the
 * owner of its root, as uid-range.c allocated it). -ENOENT when the sandbox does not run or keeps none. */
static int logs_open_machine_journal(const char *name, uid_t *ret_uid) {
        _cleanup_free_ char *root = sandbox_runtime_path(name, "root");
        _cleanup_close_ int rfd = -EBADF;
        char link[64], target[SANDBOX_NAME_MAX + 2];
        struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                          RESOLVE_NO_XDEV};
        struct stat st;
        uint32_t slot;
        ssize_t n;
        int fd;

        if (!root)
                return -ENOMEM;
        /* SANDY_RUNTIME_DIR and NAME/ are root's (0700); root/ is the sandbox's overlay while it runs. */
        rfd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (rfd < 0)
                return errno == ENOTDIR || errno == ELOOP ? -ENOENT : -errno;
        if (fstat(rfd, &st) < 0)
                return -errno;
        /* Not mounted (root's), or its root was chowned inside: not a root to read as its owner. */
        if (st.st_uid < SANDY_UID_BASE_MIN || (st.st_uid - SANDY_UID_BASE_MIN) % SANDY_UID_RANGE != 0 ||
            st.st_gid != st.st_uid)
                return -ENOENT;
        slot = (st.st_uid - SANDY_UID_BASE_MIN) / SANDY_UID_RANGE;
        if (slot >= SANDY_UID_SLOTS)
                return -ENOENT;
        snprintf(link, sizeof link, SANDY_UIDMAP_DIR "/slot-%04x", slot);
        n = readlink(link, target, sizeof target - 1);
        if (n < 0)
                return -ENOENT;
        target[n] = 0;
        if (!streq(target, name))
                return -ENOENT;
        fd = (int) syscall(SYS_openat2, rfd, SANDBOX_JOURNAL_DIR, &how, sizeof how);
        if (fd < 0)
                return errno == ELOOP || errno == EXDEV || errno == ENOTDIR ? -ENOENT : -errno;
        *ret_uid = st.st_uid;
        return fd;
}

/* A pipe with nothing in it: its read end, at EOF. */
static int empty_pipe(void) {
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        safe_close(p[1]);
        return p[0];
}

/* One reader: its pipe's read end and its unit in *ret_unit, or an empty pipe when argv is NULL. */
static int logs_reader(sd_bus *bus, uid_t caller, const char *name, const char *what, char **argv, int in,
                       uid_t sandbox_uid, char **ret_unit, sd_bus_error *error) {
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        int p[2], r;

        if (!argv)
                return empty_pipe();
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        rfd = p[0];
        wfd = p[1];
        r = logs_start_unit(bus, caller, name, what, argv, in, wfd, sandbox_uid, ret_unit, error);
        if (r < 0)
                return r;
        /* PID 1 has its own copy now; ours would keep the reader from seeing EOF. */
        return TAKE_FD(rfd);
}

static int method_logs(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **options = NULL, **argv = NULL, **units = NULL, **machine = NULL,
                                 **loaded = NULL;
        _cleanup_close_ int units_fd = -EBADF, machine_fd = -EBADF, jfd = -EBADF;
        sd_bus *bus = sd_bus_message_get_bus(msg);
        char *started[2] = {};
        LogsOptions o = {};
        const char *name;
        uid_t uid, sandbox_uid = 0;
        size_t n;
        int r;

        /* Dispatched again after the polkit answer: read from the start each time. */
        r = sd_bus_message_rewind(msg, true);
        if (r >= 0)
                r = sd_bus_message_read(msg, "s", &name);
        if (r >= 0)
                r = sd_bus_message_read_strv(msg, &options);
        if (r < 0)
                return r;
        r = logs_parse(options, &o, error);
        if (r < 0)
                return r;
        r = check(msg, POLKIT_ACTION_STATUS, name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = bus_sender_uid(msg, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to get the credentials of the caller: %m");
        r = logs_list_units(bus, uid, &loaded);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to ask systemd about running log readers: %m");
        logs_readers_prune(uid, loaded);
        n = strv_length(loaded);
        if (uid != 0 && n + 2 > LOGS_UNITS_PER_USER_MAX)
                return sd_bus_error_setf(error, HELPER_ERROR_BUSY,
                                         "%zu journal readers of yours are running (at most %u); end some "
                                         "\"sandyctl logs -f\" first.",
                                         n, LOGS_UNITS_PER_USER_MAX);

        r = logs_journalctl_argv(&o, &argv);
        if (r < 0)
                return r;
        if (!streq_ptr(o.only, "machine")) {
                static const char *const formats[] = {SANDBOX_UNIT_FMT, SANDBOX_NET_UNIT_FMT, SANDBOX_DNS_UNIT_FMT,
                                                      SANDBOX_DNS_INSIDE_UNIT_FMT};
                units = strv_copy(argv);
                if (!units)
                        return -ENOMEM;
                for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                        _cleanup_free_ char *unit = sandbox_unit_name(formats[i], name);
                        if (!unit || strv_consume(&units, strdupf("--unit=%s", unit)) < 0)
                                return -ENOMEM;
                }
        }
        if (!streq_ptr(o.only, "units")) {
                jfd = logs_open_machine_journal(name, &sandbox_uid);
                if (jfd >= 0) {
                        /* Its own journal, not the host's: no "-- No entries --" for a sandbox without one. */
                        machine = strv_copy(argv);
                        if (!machine || strv_extend(&machine, "--directory=/proc/self/fd/0") < 0 ||
                            strv_extend(&machine, "--quiet") < 0)
                                return -ENOMEM;
                } else if (jfd != -ENOENT)
                        log_warning_errno(jfd, "Failed to open the journal directory of sandbox %s: %m", name);
        }

        units_fd = logs_reader(bus, uid, name, "the journal of its units", units, -EBADF, 0, &started[0], error);
        if (units_fd < 0)
                return sd_bus_error_is_set(error) ? units_fd
                                                  : sd_bus_error_set_errnof(error, units_fd,
                                                                            "Failed to start journalctl: %m");
        machine_fd = logs_reader(bus, uid, name, "its own journal", machine, jfd, sandbox_uid, &started[1], error);
        if (machine_fd < 0) {
                logs_stop_unit(bus, started[0]);
                free(started[0]);
                return sd_bus_error_is_set(error) ? machine_fd
                                                  : sd_bus_error_set_errnof(error, machine_fd,
                                                                            "Failed to start journalctl: %m");
        }
        /* They end with the caller's connection, or earlier, when the caller closes the read ends. */
        r = started[0] || started[1] ? logs_readers_add(msg, uid, started) : 0;
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to watch the caller's connection: %m");
        log_info("UID %u reads the journal of sandbox %s%s%s.", (unsigned) uid, name,
                 units && machine ? " and its own journal" : !units ? " (its own journal only)" : "",
                 o.follow ? ", following" : "");
        return sd_bus_reply_method_return(msg, "hh", units_fd, machine_fd);
}

static const sd_bus_vtable state_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("DescribeState", SD_BUS_ARGS("s", sandbox), SD_BUS_RESULT("a(ss)", reports, "as", errors),
                                method_describe_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResetState", SD_BUS_ARGS("s", sandbox), SD_BUS_RESULT("b", discarded),
                                method_reset_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Logs", SD_BUS_ARGS("s", sandbox, "as", options),
                                SD_BUS_RESULT("h", journal, "h", machine_journal), method_logs,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_state_register(sd_bus *bus) {
        return sd_bus_add_object_vtable(bus, NULL, HELPER_OBJECT_PATH, HELPER_STATE_IFACE, state_vtable, NULL);
}
