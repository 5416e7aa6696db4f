/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-helper: the system-bus service org.sandy.Helper1, started by D-Bus activation through
 * sandy-helper.service. See sandy-helper(8). */
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "build-cgroup.h"
#include "bus-exec.h"
#include "bus-polkit.h"
#include "bus-state.h"
#include "confine.h"
#include "image-build.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "parse-util.h"
#include "string-util.h"

#define DEFAULT_EXIT_IDLE_USEC (30ULL * 1000000)
#define DEFAULT_BUILD_TIMEOUT_USEC (3600ULL * 1000000)

static uint64_t arg_exit_idle_usec = DEFAULT_EXIT_IDLE_USEC;
static uint64_t arg_build_timeout_usec = DEFAULT_BUILD_TIMEOUT_USEC;

/* Seconds, 0 = never. */
static int parse_sec(const char *value, const char *what, uint64_t *ret) {
        uint64_t sec;
        if (safe_atou64(value, &sec) < 0 || sec > 7 * 24 * 3600)
                return log_error_errno(EINVAL, "Invalid %s \"%s\" (seconds, 0 = never).", what, value);
        *ret = sec == 0 ? UINT64_MAX : sec * 1000000;
        return 0;
}

static int parse_idle(const char *value) {
        return parse_sec(value, "idle timeout", &arg_exit_idle_usec);
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"exit-idle-sec", required_argument, NULL, 'i'},
                {"build-timeout-sec", required_argument, NULL, 't'},
                {},
        };
        const char *e = getenv("SANDY_HELPER_EXIT_IDLE_SEC");
        int c, r;

        if (e) {
                r = parse_idle(e);
                if (r < 0)
                        return r;
        }
        e = getenv("SANDY_HELPER_BUILD_TIMEOUT_SEC");
        if (e) {
                r = parse_sec(e, "build timeout", &arg_build_timeout_usec);
                if (r < 0)
                        return r;
        }
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%s [--exit-idle-sec=SEC] [--build-timeout-sec=SEC]\n\nThe sandy image and network service "
                               "(org.sandy.Helper1); started by D-Bus activation. See sandy-helper(8).\n",
                               program_invocation_short_name);
                        return 0;
                case 'i':
                        r = parse_idle(optarg);
                        if (r < 0)
                                return r;
                        break;
                case 't':
                        r = parse_sec(optarg, "build timeout", &arg_build_timeout_usec);
                        if (r < 0)
                                return r;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "No arguments expected.");
        return 1;
}

static int on_name_released(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        /* Everything queued for the name before it was released has been dispatched by now (the bus orders
         * messages); newer calls make dbus-daemon activate a new instance. */
        m->released = true;
        return 0;
}

static int release_name(Manager *m) {
        _cleanup_free_ char *match = NULL;
        const char *unique;
        int r;

        r = sd_bus_get_unique_name(m->bus, &unique);
        if (r < 0)
                return r;
        if (xasprintf(&match,
                      "sender='org.freedesktop.DBus',type='signal',interface='org.freedesktop.DBus',"
                      "member='NameOwnerChanged',path='/org/freedesktop/DBus',arg0='%s',arg1='%s',arg2=''",
                      HELPER_BUS_NAME, unique) < 0)
                return -ENOMEM;
        r = sd_bus_add_match_async(m->bus, NULL, match, on_name_released, NULL, m);
        if (r < 0)
                return r;
        return sd_bus_release_name_async(m->bus, NULL, HELPER_BUS_NAME, NULL, NULL);
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        (void) sd_notify(false, "STOPPING=1");
        manager_abort_jobs(m);
        (void) sd_event_exit(m->event, 0);
        return 0;
}

/* No build, no call waiting for polkit, no removed image being deleted; while sandboxes run, the helper
 * guards their egress rules (network_guarding()); while callers of Logs are connected, it watches for them
 * to go (bus_state_busy()). */
static bool manager_has_nothing_to_do(Manager *m) {
        return !m->jobs && bus_verify_polkit_pending() == 0 && m->deleting == 0 && !network_guarding() &&
               !bus_state_busy();
}

/* systemd's bus_event_loop_with_idle(): after the idle time with no job and no call, tell the service
 * manager we are going (so new start requests are queued), give the name back, and go on processing until
 * the bus confirms the release, so no call queued for the name is dropped. */
static int run_loop(Manager *m) {
        for (;;) {
                bool idle;
                int r;

                r = sd_event_get_state(m->event);
                if (r < 0)
                        return r;
                if (r == SD_EVENT_FINISHED)
                        return 0;
                /* Given back the name: go once the builds and the calls waiting for polkit are done. */
                if (m->released && !m->jobs && bus_verify_polkit_pending() == 0 && m->deleting == 0)
                        return 0;
                idle = !m->releasing && manager_has_nothing_to_do(m) && arg_exit_idle_usec != UINT64_MAX;
                r = sd_event_run(m->event, idle ? arg_exit_idle_usec : UINT64_MAX);
                if (r < 0)
                        return log_error_errno(r, "Event loop failed: %m");
                if (r == 0 && idle && manager_has_nothing_to_do(m)) {
                        log_info("Idle for %llu s, exiting.", (unsigned long long) (arg_exit_idle_usec / 1000000));
                        (void) sd_notify(false, "STOPPING=1");
                        r = release_name(m);
                        if (r < 0)
                                return log_error_errno(r, "Failed to release %s: %m", HELPER_BUS_NAME);
                        m->releasing = true;
                }
        }
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Manager m = {};
        sigset_t ss;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 1 : 0;

        umask(0022);
        /* sd-event child sources need SIGCHLD blocked; SIGTERM is handled through the loop. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGCHLD);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m"), 1;

        /* A previous instance killed mid-build left its temporary trees; nothing can be using them now:
         * systemd ended the whole cgroup before starting us again, and any build cgroup still below ours
         * is killed and waited for first. Then the UID ranges of those builds are free again. */
        build_cgroup_clean_stale();
        confine_range_clean();
        manager_clean_build_networks();
        r = image_store_ensure();
        if (r >= 0)
                (void) image_store_clean_temp();

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m"), 1;
        (void) sd_event_add_signal(event, NULL, SIGTERM, on_sigterm, &m);
        (void) sd_event_add_signal(event, NULL, SIGINT, on_sigterm, &m);

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m"), 1;
        m.event = event;
        m.bus = bus;
        m.build_timeout_usec = arg_build_timeout_usec;

        r = manager_register(&m);
        if (r < 0)
                return 1;
        r = bus_exec_register(bus) < 0 ? -EIO : bus_network_register(bus);
        if (r < 0)
                return log_error_errno(r, "Failed to register the network interface: %m"), 1;
        r = bus_access_register(bus);
        if (r < 0)
                return log_error_errno(r, "Failed to register the access interface: %m"), 1;
        r = bus_state_register(bus);
        if (r < 0)
                return log_error_errno(r, "Failed to register the state interface: %m"), 1;

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m"), 1;
        /* Names last, so the first call (the one that activated us) finds every object in place. */
        r = sd_bus_request_name(bus, HELPER_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire %s: %m", HELPER_BUS_NAME), 1;

        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests...");
        r = run_loop(&m);
        manager_abort_jobs(&m);
        (void) sd_notify(false, "STOPPING=1");
        return r < 0 ? 1 : 0;
}
