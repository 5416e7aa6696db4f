/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl start|stop|restart NAME...: jobs for sandy@NAME.service through systemd over D-Bus, waited for
 * the way systemctl waits (JobRemoved), so the exit status says whether the sandbox came up. A start first
 * has sandy-helper build a missing image, with the progress bar of "sandyctl build"; a failed start says
 * why: the unit's result and the last error lines of its journal (sandy-helper's DescribeState). */
#include <string.h>

#include "bus-util.h"
#include "helper-client.h"
#include "log.h"
#include "output.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "string-util.h"

typedef struct JobWait {
        char **paths;   /* jobs still pending */
        char **units;   /* unit of each job, same index */
        char **failed;  /* "UNIT RESULT" of each job that did not end "done" */
        int ret;
} JobWait;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobWait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        for (size_t i = 0; w->paths && w->paths[i]; i++) {
                if (!streq(w->paths[i], path))
                        continue;
                /* Said after the wait (explain_failure()): asking more of the bus here would nest. */
                if (!streq(result, "done") && !streq(result, "skipped")) {
                        if (strv_consume(&w->failed, strdupf("%s %s", unit, result)) < 0)
                                log_oom();
                        if (w->ret == 0)
                                w->ret = -EIO;
                }
                /* Drop this entry: move the last one into its place. */
                size_t n = strv_length(w->paths);
                free(w->paths[i]);
                free(w->units[i]);
                w->paths[i] = w->paths[n - 1];
                w->units[i] = w->units[n - 1];
                w->paths[n - 1] = w->units[n - 1] = NULL;
                break;
        }
        return 0;
}

static bool jobs_done(void *userdata) {
        JobWait *w = userdata;

        return !w->paths || !w->paths[0];
}

/* Queue METHOD (StartUnit, StopUnit, RestartUnit) for each sandbox's unit and remember the jobs. A refused
 * call is logged and the others still go: the first error is returned once all are queued. */
static int queue_jobs(sd_bus *bus, const char *verb, const char *method, char **names, int n, JobWait *w) {
        int r, ret = 0;

        for (int i = 0; i < n; i++) {
                _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
                _cleanup_free_ char *unit = NULL, *what = NULL;
                const char *path;

                if (!(unit = sandbox_unit_name(SANDBOX_UNIT_FMT, names[i])) ||
                    xasprintf(&what, "%s %s", verb, unit) < 0)
                        return log_oom();
                r = sd_bus_call_method(bus, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE, method,
                                       &error, &reply, "ss", unit, "replace");
                if (r < 0) {
                        r = bus_log_call_error(r, &error, what);
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse the reply of %s: %m", method);
                if (strv_extend(&w->paths, path) < 0 || strv_extend(&w->units, unit) < 0)
                        return log_oom();
        }
        return ret;
}

/* Why the job for unit ended with result (not "done"): the unit's own Result and the last warning and
 * error lines of the sandbox's units, so "canceled" or "failed" on the terminal comes with its reason. */
static void explain_failure(sd_bus *bus, const char *unit, const char *result) {
        _cleanup_strv_free_ char **names = NULL, **texts = NULL, **errors = NULL;
        _cleanup_free_ char *path = unit_bus_path(unit), *name = NULL, *unit_result = NULL;
        const char *at = strchr(unit, '@');

        name = at ? strndup(at + 1, strlen(at + 1) - strlen(".service")) : strdup(unit);
        if (path)
                (void) sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_SERVICE_IFACE, "Result", NULL,
                                                  &unit_result);
        /* After "dependency" the unit did not run, and its Result is that of an earlier run. */
        if (streq(result, "dependency"))
                log_error("Job for %s failed: a unit it needs did not start.", unit);
        else if (unit_result && !streq(unit_result, "success"))
                log_error("Job for %s %s (result: %s).", unit,
                          streq(result, "canceled")  ? "was canceled"
                          : streq(result, "timeout") ? "timed out"
                                                     : "failed",
                          unit_result);
        else
                log_error("Job for %s ended with \"%s\".", unit, result);
        if (name && helper_describe_state(bus, name, &names, &texts, &errors) >= 0)
                STRV_FOREACH(e, errors)
                        print_untrusted(stderr, "  ", *e);
        log_error("See \"sandyctl status %s\" and \"sandyctl logs %s\" for details.", name ?: unit, name ?: unit);
}

/* Start and restart: build what is missing first, with the progress bar. The names whose build failed
 * are dropped from names (they would fail to start); returns the first build error. */
static int build_missing(sd_bus *bus, char **names, int *n) {
        int r, ret = 0, k = 0;

        for (int i = 0; i < *n; i++) {
                r = build_image(bus, names[i], false, true);
                if (r < 0) {
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                names[k++] = names[i];
        }
        *n = k;
        return ret;
}

int verb_start(int argc, char *argv[]) {
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        _cleanup_bus_slot_unref_ sd_bus_slot *slot = NULL;
        const char *method = streq(argv[0], "start") ? "StartUnit" :
                             streq(argv[0], "stop")  ? "StopUnit" :
                                                       "RestartUnit";
        JobWait w = {};
        int r, k, b = 0, n = argc - 1;

        r = sandbox_require_all_declared(argv + 1, argc - 1);
        if (r == 0)
                r = bus_connect_system(&bus);
        if (r != 0)
                return r;
        r = sd_bus_match_signal(bus, &slot, SYSTEMD_BUS_NAME, SYSTEMD_OBJECT_PATH, SYSTEMD_MANAGER_IFACE,
                                "JobRemoved", on_job_removed, &w);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to job signals: %m");

        polkit_agent_open_if_enabled();
        if (!streq(method, "StopUnit"))
                b = build_missing(bus, argv + 1, &n);
        r = queue_jobs(bus, argv[0], method, argv + 1, n, &w);
        /* Whatever could not be queued, wait for what was, as systemctl does. */
        k = bus_process_until(bus, jobs_done, NULL, &w);
        if (k < 0)
                r = log_error_errno(k, "Failed to wait for the jobs: %m");
        polkit_agent_close();
        STRV_FOREACH(f, w.failed) {
                char *sp = strchr(*f, ' ');
                *sp = 0;
                explain_failure(bus, *f, sp + 1);
        }
        strv_free(w.paths);
        strv_free(w.units);
        strv_free(w.failed);
        return b ?: r ?: w.ret;
}
