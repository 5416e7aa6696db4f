/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Build jobs: D-Bus objects /org/sandy/Helper1/job/ID (org.sandy.Helper1.Job) backed by a forked builder
 * process in a cgroup of its own (build-cgroup.h). The builder reports through a pipe watched by sd-event,
 * so the bus stays responsive. A job ends when the builder has exited AND its cgroup is empty: only then
 * is its temporary tree removed and the callers answered. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/inotify.h>
#include <sys/prctl.h>

#include "build-cgroup.h"
#include "confine.h"
#include "process-util.h"
#include "bus-polkit.h"
#include "image-build.h"
#include "network.h"
#include "path-util.h"
#include "log.h"
#include "rm-rf.h"
#include "manager.h"
#include "socket-util.h"
#include "string-util.h"

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        sd_event_source_unref(j->io_source);
        sd_event_source_unref(j->child_source);
        sd_event_source_unref(j->timeout_source);
        sd_event_source_unref(j->cgroup_source);
        sd_event_source_unref(j->dns_source);
        sd_bus_slot_unref(j->slot);
        for (size_t i = 0; i < j->n_waiters; i++)
                sd_bus_message_unref(j->waiters[i]);
        free(j->waiters);
        safe_close(j->fd);
        free(j->path);
        free(j->sandbox);
        free(j->status);
        free(j->error);
        free(j->tmpdir);
        free(j->cgroup);
        free(j->tag);
        free(j->network);
        free(j);
        return NULL;
}

static void job_unlink(Job *j) {
        Manager *m = j->manager;
        for (Job **p = &m->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
}

Job *manager_find_job(Manager *m, const char *image_id) {
        for (Job *j = m->jobs; j; j = j->next)
                if (streq(j->image_id, image_id))
                        return j;
        return NULL;
}

static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        return sd_bus_message_append(reply, "d", j->progress);
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        if (streq(property, "Sandbox"))
                return sd_bus_message_append(reply, "s", j->sandbox);
        if (streq(property, "ImageId"))
                return sd_bus_message_append(reply, "s", j->image_id);
        return sd_bus_message_append(reply, "s", j->status ?: "");
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        return sd_bus_message_append(reply, "u", j->id);
}

/* Kill all of the build: the builder and whatever was started under it, wherever it moved in the process
 * tree. The job ends when the cgroup reports empty (on_cgroup_event()). */
static void job_kill(Job *j) {
        int r = build_cgroup_kill(j->cgroup, 0);
        if (r < 0 && r != -ETIMEDOUT)
                log_error_errno(r, "Failed to kill the build cgroup %s: %m", j->cgroup);
}

static int method_cancel(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Job *j = userdata;
        const char *details[] = {"sandbox", j->sandbox, NULL};
        int r;

        r = bus_verify_polkit_async(msg, POLKIT_ACTION_BUILD, details, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        if (!j->canceled && !j->timed_out) {
                log_info("Canceling the image build of sandbox %s (job %u).", j->sandbox, j->id);
                j->canceled = true;
                job_kill(j);
        }
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable job_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Sandbox", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ImageId", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Progress", "d", property_get_progress, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Status", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD("Cancel", "", "", method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static void job_handle_line(Job *j, char *line) {
        if (startswith(line, "P ")) {
                char *end = NULL, *text;
                double f = strtod(line + 2, &end);
                if (!end || *end != ' ')
                        return;
                text = strdup(end + 1);
                if (!text)
                        return;
                free(j->status);
                j->status = text;
                if (f >= 0 && f <= 1)
                        j->progress = f;
                (void) sd_bus_emit_properties_changed(j->manager->bus, j->path, HELPER_JOB_IFACE, "Progress",
                                                      "Status", NULL);
        } else if (startswith(line, "E ")) {
                char *text = strdup(line + 2);
                if (text) {
                        free(j->error);
                        j->error = text;
                }
        }
}

static void job_read(Job *j) {
        for (;;) {
                ssize_t k;
                char *nl;

                if (j->buf_len >= sizeof j->buf - 1)
                        j->buf_len = 0; /* an overlong line: drop it rather than stall */
                k = read(j->fd, j->buf + j->buf_len, sizeof j->buf - 1 - j->buf_len);
                if (k <= 0)
                        return;
                j->buf_len += (size_t) k;
                j->buf[j->buf_len] = 0;
                while ((nl = strchr(j->buf, '\n'))) {
                        *nl = 0;
                        job_handle_line(j, j->buf);
                        memmove(j->buf, nl + 1, j->buf_len - (size_t) (nl + 1 - j->buf) + 1);
                        j->buf_len -= (size_t) (nl + 1 - j->buf);
                }
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Job *j = userdata;
        job_read(j);
        if (revents & (EPOLLHUP | EPOLLERR))
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static void job_finish(Job *j, const char *result, const char *message) {
        Manager *m = j->manager;
        _cleanup_free_ char *rootfs = image_rootfs(j->image_id);
        int r;

        /* Only now, with the cgroup empty: nothing of the build can swap its tree under us, and rm_rf()
         * never follows a symlink anyway. */
        r = isempty(j->tmpdir) ? 0 : rm_rf(j->tmpdir);
        if (r < 0)
                log_error_errno(r, "Failed to remove %s: %m", j->tmpdir);
        j->cgroup_source = sd_event_source_unref(j->cgroup_source);
        r = build_cgroup_remove(j->cgroup);
        if (r < 0)
                log_warning_errno(r, "Failed to remove the build cgroup %s: %m", j->cgroup);
        confine_range_release(j->uid_base, j->tag);
        if (j->network) {
                r = network_teardown(j->network);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove the build network %s: %m", j->network);
        }

        for (size_t i = 0; i < j->n_waiters; i++) {
                if (streq(result, "done"))
                        r = sd_bus_reply_method_return(j->waiters[i], "s", rootfs);
                else
                        r = sd_bus_reply_method_errorf(j->waiters[i], HELPER_ERROR_BUILD_FAILED,
                                                       "The image of sandbox %s was not built: %s", j->sandbox,
                                                       message);
                if (r < 0)
                        log_debug_errno(r, "Failed to reply to a waiting EnsureImage call: %m");
        }
        (void) sd_bus_emit_signal(m->bus, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, "JobRemoved", "uosss", j->id, j->path,
                                  j->sandbox, result, message);
        job_unlink(j);
        job_free(j);
}

/* The builder is gone and the cgroup is empty: say how it went. */
static void job_conclude(Job *j) {
        _cleanup_free_ char *msg = NULL;

        if (j->canceled) {
                log_info("Image build of sandbox %s canceled.", j->sandbox);
                job_finish(j, "canceled", "canceled");
        } else if (j->timed_out) {
                (void) xasprintf(&msg, "the build took longer than %llu s and was stopped",
                                 (unsigned long long) (j->manager->build_timeout_usec / 1000000));
                log_error("Image build of sandbox %s failed: %s", j->sandbox, msg ?: "timeout");
                job_finish(j, "failed", msg ?: "timeout");
        } else if (j->builder_code == CLD_EXITED && j->builder_status == 0) {
                log_info("Image %s of sandbox %s built.", j->image_id, j->sandbox);
                job_finish(j, "done", "");
        } else {
                if (j->error)
                        msg = strdup(j->error);
                else if (j->builder_code == CLD_EXITED)
                        (void) xasprintf(&msg, "the builder exited with status %d", j->builder_status);
                else
                        (void) xasprintf(&msg, "the builder was killed by signal %d", j->builder_status);
                log_error("Image build of sandbox %s failed: %s", j->sandbox, msg ?: "unknown error");
                job_finish(j, "failed", msg ?: "unknown error");
        }
}

static void job_check_done(Job *j) {
        int r;

        if (!j->builder_done)
                return;
        r = build_cgroup_populated(j->cgroup);
        if (r < 0)
                log_warning_errno(r, "Cannot tell whether the build cgroup %s is empty, waiting: %m", j->cgroup);
        if (r != 0)
                return; /* on_cgroup_event() looks again */
        job_conclude(j);
}

static int on_cgroup_event(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        job_check_done(userdata);
        return 0;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Job *j = userdata;

        job_read(j); /* whatever the builder wrote before it exited */
        j->pid = 0;
        j->builder_done = true;
        j->builder_code = si->si_code;
        j->builder_status = si->si_status;
        /* Whatever the build started and left behind goes with it. */
        job_kill(j);
        job_check_done(j);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Job *j = userdata;

        if (j->canceled || j->timed_out)
                return 0;
        log_error("Image build of sandbox %s (job %u) takes longer than %llu s: stopping it.", j->sandbox, j->id,
                  (unsigned long long) (j->manager->build_timeout_usec / 1000000));
        j->timed_out = true;
        job_kill(j);
        return 0;
}

int job_add_waiter(Job *j, sd_bus_message *msg) {
        sd_bus_message **w = realloc(j->waiters, sizeof(*w) * (j->n_waiters + 1));
        if (!w)
                return -ENOMEM;
        j->waiters = w;
        j->waiters[j->n_waiters++] = sd_bus_message_ref(msg);
        return 0;
}

static int on_dns_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        return 0; /* reaped; it goes with the build's cgroup */
}

/* A lenient sandbox network for a build that downloads, with a resolver (dnsmasq, in the build's cgroup)
 * on its host side. Made while the builder unpacks the source. */
static int job_network_up(Job *j) {
        _cleanup_free_ char *conf = NULL, *arg = NULL;
        pid_t pid;
        int r;

        Sandbox n = {.name = j->network, .network_mode = NETWORK_LENIENT};
        r = network_setup(&n);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the network of the build: %m");
        if (!(conf = sandbox_net_path(j->network, SANDY_DNSMASQ_CONF)) || xasprintf(&arg, "--conf-file=%s", conf) < 0)
                return -ENOMEM;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t ss;
                if (build_cgroup_attach(j->cgroup, 0) < 0)
                        _exit(126);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                sigemptyset(&ss);
                (void) sigprocmask(SIG_SETMASK, &ss, NULL);
                execl(DNSMASQ_BINARY, "dnsmasq", "--keep-in-foreground", arg, (char *) NULL);
                _exit(127);
        }
        (void) build_cgroup_attach(j->cgroup, pid);
        r = sd_event_add_child(j->manager->event, &j->dns_source, pid, WEXITED, on_dns_exit, NULL);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                return r;
        }
        return 0;
}

void manager_clean_build_networks(void) {
        /* The namespaces died with the helper that held them; their files and rules remain. */
        DIR *d = opendir(SANDY_NET_DIR);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));)
                if (startswith(de->d_name, SANDY_BUILD_NETWORK_PREFIX) && sandbox_name_is_valid(de->d_name)) {
                        log_info("Removing the network %s of an interrupted build.", de->d_name);
                        (void) network_teardown(de->d_name);
                }
        closedir(d);
}

/* Undo what job_start() set up before the builder ran. */
static void job_start_undo(Job *j) {
        if (j->cgroup) {
                (void) build_cgroup_kill(j->cgroup, 10 * 1000000ULL);
                (void) build_cgroup_remove(j->cgroup);
        }
        if (j->pid > 0)
                (void) wait_for_pid(j->pid, NULL);
        if (j->tag)
                confine_range_release(j->uid_base, j->tag);
        if (j->network)
                (void) network_teardown(j->network);
        (void) rm_rf(j->tmpdir);
        job_free(j);
}

int job_start(Manager *m, const Sandbox *s, const char *image_id, bool force, Job **ret) {
        _cleanup_free_ char *cgname = NULL;
        int ready[2] = {-EBADF, -EBADF};
        Job *j;
        int pipefd[2], r;
        pid_t pid;

        r = image_store_ensure();
        if (r < 0)
                return r;
        j = new0(Job, 1);
        if (!j)
                return -ENOMEM;
        j->manager = m;
        j->fd = -EBADF;
        j->id = ++m->next_job_id;
        snprintf(j->image_id, sizeof j->image_id, "%s", image_id);
        j->sandbox = strdup(s->name);
        j->status = strdup("starting");
        if (!j->sandbox || !j->status || xasprintf(&j->path, HELPER_JOB_PATH_PREFIX "/%u", j->id) < 0 ||
            xasprintf(&j->tmpdir, SANDY_IMAGE_STORE_DIR "/" IMAGE_TMP_PREFIX "%s-XXXXXX", image_id) < 0) {
                job_free(j);
                return -ENOMEM;
        }
        if (!mkdtemp(j->tmpdir)) {
                r = -errno;
                job_free(j);
                return log_error_errno(r, "Failed to create a build directory in %s: %m", SANDY_IMAGE_STORE_DIR);
        }
        /* The random part of the temporary directory names the UID range and the cgroup. */
        if (xasprintf(&j->tag, "%u-%s", j->id, strrchr(j->tmpdir, '-') + 1) < 0 ||
            xasprintf(&cgname, BUILD_CGROUP_PREFIX "%s", j->tag) < 0) {
                j->tag = mfree(j->tag);
                job_start_undo(j);
                return -ENOMEM;
        }
        r = confine_range_acquire(j->tag, &j->uid_base);
        if (r < 0) {
                j->tag = mfree(j->tag);
                job_start_undo(j);
                return log_error_errno(r, "Failed to allocate a UID range for the build: %m");
        }
        r = build_cgroup_create(cgname, &j->cgroup);
        if (r < 0) {
                job_start_undo(j);
                return log_error_errno(r, "Failed to create a cgroup for the build (is %s running with Delegate=yes "
                                          "on cgroup v2?): %m", HELPER_UNIT);
        }
        if (image_build_needs_network(s) &&
            (xasprintf(&j->network, SANDY_BUILD_NETWORK_PREFIX "%s", j->tag) < 0 ||
             socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ready) < 0)) {
                j->network = mfree(j->network);
                job_start_undo(j);
                return -ENOMEM;
        }
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                r = -errno;
                job_start_undo(j);
                return r;
        }

        pid = fork();
        if (pid < 0) {
                r = -errno;
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                safe_close(ready[0]);
                safe_close(ready[1]);
                job_start_undo(j);
                return r;
        }
        if (pid == 0) {
                sigset_t ss;

                /* Into the build's cgroup before anything else (the parent does it too, whoever runs
                 * first); dies with the helper. */
                if (build_cgroup_attach(j->cgroup, 0) < 0)
                        _exit(1);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                sigemptyset(&ss);
                (void) sigprocmask(SIG_SETMASK, &ss, NULL);
                safe_close(pipefd[0]);
                safe_close(ready[1]);
                r = image_build(s, image_id, j->tmpdir, force, j->uid_base, j->network, ready[0], pipefd[1]);
                _exit(r < 0 ? 1 : 0);
        }
        j->pid = pid;
        safe_close(pipefd[1]);
        safe_close(ready[0]);
        j->fd = pipefd[0];
        if (j->network) {
                /* The builder unpacks meanwhile; it waits for this answer, with the namespace (the helper
                 * pins nothing where others could see it), before the first step that downloads. */
                _cleanup_close_ int nsfd = job_network_up(j) >= 0 ? network_netns_fd(j->network) : -EBADF;
                (void) send_byte_with_fd(ready[1], nsfd >= 0 ? 'y' : 'n', nsfd);
                safe_close(ready[1]);
        }
        r = build_cgroup_attach(j->cgroup, pid);
        if (r < 0 && r != -ESRCH) {
                safe_close(j->fd);
                j->fd = -EBADF;
                (void) kill(pid, SIGKILL);
                job_start_undo(j);
                return log_error_errno(r, "Failed to move the builder into %s: %m", j->cgroup);
        }
        (void) fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) | O_NONBLOCK);

        _cleanup_free_ char *events = path_join(j->cgroup, "cgroup.events");
        r = events ? 0 : -ENOMEM;
        if (r >= 0)
                r = sd_event_add_io(m->event, &j->io_source, j->fd, EPOLLIN, on_io, j);
        if (r >= 0)
                r = sd_event_add_child(m->event, &j->child_source, pid, WEXITED, on_child, j);
        if (r >= 0)
                r = sd_event_add_inotify(m->event, &j->cgroup_source, events, IN_MODIFY, on_cgroup_event, j);
        if (r >= 0 && m->build_timeout_usec != UINT64_MAX)
                r = sd_event_add_time_relative(m->event, &j->timeout_source, CLOCK_MONOTONIC,
                                               m->build_timeout_usec, 0, on_timeout, j);
        if (r >= 0)
                r = sd_bus_add_object_vtable(m->bus, &j->slot, j->path, HELPER_JOB_IFACE, job_vtable, j);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                job_start_undo(j);
                return log_error_errno(r, "Failed to set up build job: %m");
        }
        j->next = m->jobs;
        m->jobs = j;
        log_info("Building image %s for sandbox %s from %s (job %u, pid %d, UIDs %u+65536, cgroup %s).", image_id,
                 s->name, s->from, j->id, (int) pid, (unsigned) j->uid_base, j->cgroup);
        (void) sd_bus_emit_signal(m->bus, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, "JobNew", "uos", j->id, j->path,
                                  j->sandbox);
        *ret = j;
        return 0;
}

void manager_abort_jobs(Manager *m) {
        while (m->jobs) {
                Job *j = m->jobs;
                int r;

                j->canceled = true;
                r = build_cgroup_kill(j->cgroup, 20 * 1000000ULL);
                if (j->pid > 0) {
                        (void) wait_for_pid(j->pid, NULL);
                        j->pid = 0;
                }
                if (r < 0) {
                        /* Something of it may still run: its tree stays for the next start to remove. */
                        log_error_errno(r, "Build cgroup %s is not empty, leaving %s: %m", j->cgroup, j->tmpdir);
                        j->tmpdir[0] = 0;
                }
                job_finish(j, "canceled", "sandy-helper is stopping");
        }
}
