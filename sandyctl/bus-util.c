/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* D-Bus plumbing shared by the verbs that talk to systemd, machined and sandy-helper. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "process-util.h"
#include "bus-util.h"
#include "log.h"
#include "sandyctl.h"
#include "string-util.h"

int bus_connect_system(sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        if (arg_host)
                r = sd_bus_open_system_remote(&bus, arg_host);
        else
                r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus%s%s: %m", arg_host ? " of " : "",
                                       arg_host ?: "");
        (void) sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        *ret = bus;
        return 0;
}

sd_bus *bus_connect_system_optional(void) {
        sd_bus *bus = NULL;

        if ((arg_host ? sd_bus_open_system_remote(&bus, arg_host) : sd_bus_open_system(&bus)) < 0)
                return NULL;
        (void) sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        return bus;
}

int bus_process_until(sd_bus *bus, bool (*done)(void *userdata), void (*each_round)(void *userdata),
                      void *userdata) {
        int r;

        while (!done(userdata)) {
                if (each_round)
                        each_round(userdata);
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        return 0;
}

int bus_log_call_error(int r, const sd_bus_error *error, const char *what) {
        if (error && sd_bus_error_is_set(error)) {
                if (sd_bus_error_has_names(error, SD_BUS_ERROR_ACCESS_DENIED,
                                           SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED)) {
                        log_error("Failed to %s: %s", what, error->message ?: "Access denied");
                        log_error("Not authorized. Members of group 'sandy' may build, start, stop and enter "
                                  "the sandboxes they are allowed on (\"sandyctl list\", column ACCESS); ask "
                                  "an administrator (usermod -aG sandy USER, Owner= or AllowUsers=), or run "
                                  "this as root.");
                        return -EACCES;
                }
                if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        return log_error_errno(ENOENT, "Failed to %s: %s (is sandy-helper installed?)", what,
                                               error->message);
                log_error("Failed to %s: %s", what, error->message ?: error->name);
                return r < 0 ? r : -EIO;
        }
        return log_error_errno(r, "Failed to %s: %m", what);
}

static pid_t agent_pid = 0;

void polkit_agent_open_if_enabled(void) {
        int pipefd[2];
        char buf[16];
        pid_t pid;

        /* Like systemctl: only when a human can answer, and never for a remote bus. */
        if (!arg_ask_password || arg_host || agent_pid > 0 || !isatty(STDIN_FILENO))
                return;
        if (access("/usr/bin/pkttyagent", X_OK) < 0)
                return;
        pid = fork_with_pipe(pipefd);
        if (pid < 0)
                return;
        if (pid == 0) {
                char fd[16], ppid[16];
                int nfd = fcntl(pipefd[1], F_DUPFD, 3); /* without O_CLOEXEC: the agent writes to it */

                snprintf(fd, sizeof(fd), "%d", nfd);
                snprintf(ppid, sizeof(ppid), "%d", (int) getppid());
                execl("/usr/bin/pkttyagent", "pkttyagent", "--notify-fd", fd, "--fallback", "--process", ppid,
                      NULL);
                _exit(127);
        }
        safe_close(pipefd[1]);
        /* The agent closes (or writes to) the fd once it is registered; wait for that, as systemctl does. */
        (void) !read(pipefd[0], buf, sizeof(buf));
        safe_close(pipefd[0]);
        agent_pid = pid;
}

void polkit_agent_close(void) {
        if (agent_pid <= 0)
                return;
        (void) kill(agent_pid, SIGTERM);
        (void) wait_for_pid(agent_pid, NULL);
        agent_pid = 0;
}

char *unit_bus_path(const char *unit) {
        char *path = NULL;

        return sd_bus_path_encode(SYSTEMD_UNIT_PATH_PREFIX, unit, &path) < 0 ? NULL : path;
}

int unit_active_state(sd_bus *bus, const char *unit, char **ret) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = unit_bus_path(unit);
        char *state = NULL;
        int r;

        if (!path)
                return log_oom();
        /* systemd loads the unit on demand for a property read, so this also works for inactive units. */
        r = sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_UNIT_IFACE, "ActiveState", &error,
                                       &state);
        if (r < 0) {
                if (sd_bus_error_has_names(&error, SYSTEMD_ERROR_NO_SUCH_UNIT, SD_BUS_ERROR_UNKNOWN_OBJECT)) {
                        state = strdup("inactive");
                        if (!state)
                                return log_oom();
                } else
                        return bus_log_call_error(r, &error, "get the state of the unit");
        }
        *ret = state;
        return 0;
}

int helper_describe_egress(sd_bus *bus, const char *sandbox, char **ret) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        const char *json;
        int r;

        *ret = NULL;
        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_NETWORK_IFACE, "DescribeEgress",
                               &error, &reply, "s", sandbox);
        if (r < 0)
                return 0; /* no helper, no network interface, not set up: nothing to say */
        r = sd_bus_message_read(reply, "s", &json);
        if (r < 0)
                return 0;
        *ret = strdup(json);
        return *ret ? 1 : log_oom();
}
