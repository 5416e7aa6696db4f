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
 * Both are checked with polkit, with the detail "sandbox". The name must be valid, not declared: the state
 * of a sandbox whose declaration is gone can still be looked at and discarded. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "bus-names.h"
#include "bus-polkit.h"
#include "bus-state.h"
#include "fs-util.h"
#include "log.h"
#include "paths.h"
#include "rm-rf.h"
#include "sandbox.h"
#include "string-util.h"
#include "strv.h"

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

static const sd_bus_vtable state_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("DescribeState", SD_BUS_ARGS("s", sandbox), SD_BUS_RESULT("a(ss)", reports, "as", errors),
                                method_describe_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResetState", SD_BUS_ARGS("s", sandbox), SD_BUS_RESULT("b", discarded),
                                method_reset_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_state_register(sd_bus *bus) {
        return sd_bus_add_object_vtable(bus, NULL, HELPER_OBJECT_PATH, HELPER_STATE_IFACE, state_vtable, NULL);
}
