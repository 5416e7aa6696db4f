/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl build [--force] NAME...: ask sandy-helper to build each image (a job object on the bus) and show
 * its progress until JobRemoved says how it ended. */
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>

#include "bus-util.h"
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "string-util.h"

typedef struct BuildWait {
        const char *name;  /* the sandbox */
        char *job;         /* object path of our job, once known */
        bool done;
        char *result, *message;
        double progress;
        char *status;
        bool bar;          /* drawing a progress bar on stderr */
} BuildWait;

/* The progress bar of the build (a bus_process_until() round). */
static void draw_bar(void *userdata) {
        BuildWait *w = userdata;
        const char *name = w->name;
        struct winsize ws;
        int cols = 80, width, filled;
        double p = isnan(w->progress) ? 0 : w->progress;

        if (!w->bar)
                return;
        if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0)
                cols = ws.ws_col;
        if (p < 0)
                p = 0;
        if (p > 1)
                p = 1;
        width = cols - (int) strlen(name) - 40;
        if (width < 10)
                width = 10;
        if (width > 50)
                width = 50;
        filled = (int) (p * width + 0.5);
        fprintf(stderr, "\r%s [", name);
        for (int i = 0; i < width; i++)
                fputc(i < filled ? '#' : '-', stderr);
        fprintf(stderr, "] %3d%% %-.25s\x1B[K", (int) (p * 100 + 0.5), w->status ?: "");
        fflush(stderr);
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BuildWait *w = userdata;
        const char *path, *sandbox, *result, *message;
        uint32_t id;

        if (sd_bus_message_read(m, "uosss", &id, &path, &sandbox, &result, &message) < 0)
                return 0;
        if (!w->job || !streq(path, w->job))
                return 0;
        w->done = true;
        w->result = strdup(result);
        w->message = strdup(message);
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        BuildWait *w = userdata;
        const char *iface, *prop;

        if (!w->job || !streq_ptr(sd_bus_message_get_path(m), w->job))
                return 0;
        if (sd_bus_message_read(m, "s", &iface) < 0 || !streq(iface, HELPER_JOB_IFACE))
                return 0;
        if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &prop) < 0)
                        return 0;
                if (streq(prop, "Progress"))
                        (void) sd_bus_message_read(m, "v", "d", &w->progress);
                else if (streq(prop, "Status")) {
                        const char *st;
                        if (sd_bus_message_read(m, "v", "s", &st) >= 0) {
                                free(w->status);
                                w->status = strdup(st);
                        }
                } else
                        (void) sd_bus_message_skip(m, "v");
                (void) sd_bus_message_exit_container(m);
        }
        return 0;
}

/* Ask the helper for the build: the job's object path, or NULL when the image exists (no --force). A
 * refused call is left in error for the caller to report. */
static int build_request(sd_bus *bus, const char *name, bool force, char **ret_job, sd_bus_error *error) {
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, "BuildImage",
                               error, &reply, "sb", name, force);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of BuildImage: %m");
        /* "/" is the helper's "no job": the image exists already (and --force was not given). */
        *ret_job = streq(path, "/") ? NULL : strdup(path);
        return !streq(path, "/") && !*ret_job ? log_oom() : 0;
}

static bool build_done(void *userdata) {
        return ((BuildWait *) userdata)->done;
}

/* Follow the job until JobRemoved, with the bar; then say how it ended. */
static int build_follow(sd_bus *bus, BuildWait *w) {
        int r;

        (void) sd_bus_get_property_trivial(bus, HELPER_BUS_NAME, w->job, HELPER_JOB_IFACE, "Progress", NULL, 'd',
                                           &w->progress);
        if (!w->bar)
                log_info("Building the image of %s (job %s)...", w->name, w->job);
        r = bus_process_until(bus, build_done, draw_bar, w);
        if (r < 0)
                log_error_errno(r, "Lost the connection to the helper while waiting for the build: %m");
        if (w->bar) {
                if (w->done && streq_ptr(w->result, "done"))
                        w->progress = 1;
                draw_bar(w);
                fputc('\n', stderr);
        }
        if (r < 0)
                return r;
        if (!streq_ptr(w->result, "done"))
                return log_error_errno(EIO, "Building the image of %s %s: %s", w->name,
                                       streq_ptr(w->result, "canceled") ? "was canceled" : "failed",
                                       isempty(w->message) ? "(no message)" : w->message);
        log_info("Image of %s is ready.", w->name);
        return 0;
}

int build_image(sd_bus *bus, const char *name, bool force, bool before_start) {
        _cleanup_bus_slot_unref_ sd_bus_slot *s1 = NULL, *s2 = NULL;
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        BuildWait w = {.name = name, .bar = !arg_no_progress && !arg_quiet && isatty(STDERR_FILENO)};
        int r;

        /* Subscribe first: a short build may end before the reply is read. */
        r = sd_bus_match_signal(bus, &s1, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, "JobRemoved",
                                on_job_removed, &w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, &s2, HELPER_BUS_NAME, NULL, DBUS_PROPERTIES_IFACE,
                                        "PropertiesChanged", on_properties_changed, &w);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to the helper's signals: %m");

        r = build_request(bus, name, force, &w.job, &error);
        if (r < 0 && before_start &&
            sd_bus_error_has_names(&error, SD_BUS_ERROR_ACCESS_DENIED,
                                   SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                   SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                /* Whoever may start it may still: sandy-prepare builds it then, without a bar here. */
                log_notice("Not building the image of %s first (%s); the start builds it if needed.", name,
                           error.message ?: error.name);
                r = 0;
        } else if (r < 0) {
                _cleanup_free_ char *what = NULL;
                if (xasprintf(&what, "build the image of %s", name) < 0)
                        r = log_oom();
                else
                        r = bus_log_call_error(r, &error, what);
        } else if (!w.job) {
                if (!before_start)
                        log_info("Image of %s is already built (use --force to rebuild).", name);
        } else
                r = build_follow(bus, &w);
        free(w.job);
        free(w.result);
        free(w.message);
        free(w.status);
        return r;
}

int verb_build(int argc, char *argv[]) {
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        bool force;
        int r, ret = 0;

        force = verb_take_option(&argc, &argv, "--force");
        if (argc < 2)
                return log_error_errno(EINVAL, "build needs a sandbox NAME.");
        r = sandbox_require_all_declared(argv + 1, argc - 1);
        if (r == 0)
                r = bus_connect_system(&bus);
        if (r != 0)
                return r;
        polkit_agent_open_if_enabled();
        for (int i = 1; i < argc; i++) {
                r = build_image(bus, argv[i], force, false);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        polkit_agent_close();
        return ret;
}
