/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-prepare: the ExecStartPre= and ExecStopPost= of sandy@.service.
 *
 *   sandy-prepare NAME            refuse undeclared names, check the workspace, install the generated
 *                                 .nspawn settings, tell ExecStart which image root to run
 *   sandy-prepare --started NAME  (ExecStartPost=) keep the payload's seccomp filter for sandyctl exec
 *   sandy-prepare --cleanup NAME  check the protected paths, remove what the start left in /run
 *
 * It runs as root, started by systemd for a unit a sandy-group member may start, so it trusts nothing but
 * the generated drop-in (SANDY_SETTINGS) and the declaration files, never the instance name alone. */
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "bus-names.h"
#include "exec-run.h"
#include "image.h"
#include "log.h"
#include "prepare.h"
#include "sandbox.h"
#include "strv.h"
#include "fs-util.h"
#include "process-util.h"
#include "string-util.h"

/* machined looks for images here (among other places); "machinectl start NAME" needs one by that name. */
/* A build may take long; sandy@.service's TimeoutStartSec= (90 s) is for the sandbox itself. Its timeout is
 * extended to a minute past this for the build (EXTEND_TIMEOUT_USEC), so a slow build fails here with a message. */
#define ENSURE_IMAGE_TIMEOUT_USEC (29ULL * 60 * 1000000)

static bool arg_cleanup = false;
static bool arg_started = false;

/* NestedUserNamespaces=no makes sandy-nouserns the command (mounts.c): nspawn refuses a Boot=no after a
 * Boot=yes ("conflicting"), and Parameters= only append, so the generated Boot= and Parameters= lines go. */
static void drop_start_mode(char *text) {
        char *w = text;

        for (const char *l = text; *l;) {
                size_t n = strcspn(l, "\n");
                bool drop = startswith(l, "Boot=") || startswith(l, "Parameters=");
                if (l[n] == '\n')
                        n++;
                if (!drop) {
                        memmove(w, l, n);
                        w += n;
                }
                l += n;
        }
        *w = 0;
}

static int install_settings(const Sandbox *s, const char *generated, const char *extra) {
        _cleanup_free_ char *text = NULL, *dest = NULL, *all = NULL;
        size_t size;
        int r;

        r = read_full_file(generated, 1024 * 1024, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read generated settings %s: %m", generated);
        if (s->deny_nested_userns)
                drop_start_mode(text);
        /* What only the start knows (the UID range, the mounts) goes after the generated text. */
        if (xasprintf(&all, "%s%s", text, extra ?: "") < 0)
                return log_oom();
        size = strlen(all);
        r = mkdir_p(NSPAWN_SETTINGS_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", NSPAWN_SETTINGS_DIR);
        if (xasprintf(&dest, NSPAWN_SETTINGS_DIR "/%s.nspawn", s->name) < 0)
                return log_oom();
        r = write_file_atomic(dest, all, size, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", dest);
        return 0;
}

static int register_image(const char *name, const char *rootfs) {
        _cleanup_free_ char *link = NULL;
        int r;

        /* Kept after stop (it stays true while the image exists, and /run starts empty at boot), so that
         * machinectl start and list-images know the sandbox from its first start on. */
        r = mkdir_p(MACHINES_IMAGE_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", MACHINES_IMAGE_DIR);
        if (xasprintf(&link, MACHINES_IMAGE_DIR "/%s", name) < 0)
                return log_oom();
        r = symlink_atomic(rootfs, link);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", link);
        return 0;
}

static int write_start_env(const Sandbox *s, const char *rootfs) {
        _cleanup_free_ char *dir = NULL, *path = NULL, *text = NULL, *creds = NULL;
        int r;

        if (!(dir = sandbox_runtime_path(s->name, NULL)) || !(path = sandbox_runtime_path(s->name, SANDY_START_ENV)) ||
            !(creds = sandbox_runtime_path(s->name, "credentials")) || xasprintf(&text, "SANDY_ROOT=%s\n", rootfs) < 0)
                return log_oom();
        /* Replaces the drop-in's SANDY_NSPAWN_ARGS (an EnvironmentFile= wins over Environment=): nspawn loads
         * the credentials from the copies credentials_install() made (read once, safely, as their owner or
         * from root's directories), never from the declared paths, which a user may have swapped for a
         * symlink since (nspawn would follow it as root). IDs were checked to hold no spaces or ':'. */
        r = strextendf(&text, "SANDY_NSPAWN_ARGS=");
        for (size_t i = 0; r >= 0 && i < s->n_credentials; i++)
                r = strextendf(&text, "%s--load-credential=%s:%s/%s", i > 0 ? " " : "", s->credentials[i].id, creds,
                               s->credentials[i].id);
        if (r < 0 || strextendf(&text, "\n") < 0)
                return log_oom();
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);
        r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", path);
        return 0;
}

/* ensure_image()'s view of the build: the job whose ImageId is ours, once a change of it shows, and what
 * was last logged of it. */
typedef struct EnsureWait {
        const char *name, *id;
        char *job;            /* our job's object path */
        char **other_jobs;    /* jobs of other images */
        int bucket;           /* the tenth of the progress last logged */
        char *phase;          /* first word of the status last logged */
        bool done;
        int r;
        char *rootfs;
        char *message;
} EnsureWait;

static void ensure_wait_done(EnsureWait *w) {
        free(w->job);
        strv_free(w->other_jobs);
        free(w->phase);
        free(w->rootfs);
        free(w->message);
}

/* Whether path is the job of our image; asked of the job once, then remembered. */
static bool job_is_ours(sd_bus *bus, EnsureWait *w, const char *path) {
        _cleanup_free_ char *id = NULL;

        if (w->job)
                return streq(path, w->job);
        if (strv_contains(w->other_jobs, path))
                return false;
        if (sd_bus_get_property_string(bus, HELPER_BUS_NAME, path, HELPER_JOB_IFACE, "ImageId", NULL, &id) < 0)
                return false;
        if (!streq(id, w->id)) {
                (void) strv_extend(&w->other_jobs, path);
                return false;
        }
        w->job = strdup(path);
        return !!w->job;
}

/* A few lines in the unit's journal instead of silence: one per tenth of the way, and one per new phase
 * (the first word of the status: "debootstrap", "unpacking", "apt-get", ...). */
static int on_job_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        EnsureWait *w = userdata;
        const char *iface, *prop, *status = NULL;
        double progress = -1;
        size_t n;

        if (!startswith(sd_bus_message_get_path(m) ?: "", HELPER_JOB_PATH_PREFIX) ||
            !job_is_ours(sd_bus_message_get_bus(m), w, sd_bus_message_get_path(m)))
                return 0;
        if (sd_bus_message_read(m, "s", &iface) < 0 || !streq(iface, HELPER_JOB_IFACE) ||
            sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &prop) < 0)
                        return 0;
                if (streq(prop, "Progress"))
                        (void) sd_bus_message_read(m, "v", "d", &progress);
                else if (streq(prop, "Status"))
                        (void) sd_bus_message_read(m, "v", "s", &status);
                else
                        (void) sd_bus_message_skip(m, "v");
                (void) sd_bus_message_exit_container(m);
        }
        n = status ? strcspn(status, " ") : 0;
        if ((progress >= 0 && (int) (progress * 10) > w->bucket) ||
            (status && (!w->phase || strlen(w->phase) != n || strncmp(w->phase, status, n) != 0))) {
                if (progress >= 0)
                        w->bucket = (int) (progress * 10);
                if (status) {
                        free(w->phase);
                        w->phase = strndup(status, n);
                }
                log_info("Building the image of %s: %3d%% %s", w->name, progress >= 0 ? (int) (progress * 100 + 0.5) : w->bucket * 10,
                         status ?: "");
        }
        return 0;
}

static int on_ensure_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        EnsureWait *w = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *built;

        w->done = true;
        if (e) {
                w->r = -sd_bus_message_get_errno(reply) ?: -EIO;
                w->message = strdup(e->message ?: e->name);
                return 0;
        }
        w->r = sd_bus_message_read(reply, "s", &built);
        if (w->r >= 0 && !(w->rootfs = strdup(built)))
                w->r = -ENOMEM;
        return 0;
}

/* The image is missing: ask sandy-helper to build it (bus-activated; as root, no polkit prompt) and wait.
 * Shares the build with any other request for the same recipe. The job's progress goes to the journal of
 * the unit, so "systemctl start" and "journalctl -u" show a first start building instead of nothing. */
static int ensure_image(const char *name, const char *id, const char *rootfs) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *changed = NULL, *call = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(ensure_wait_done) EnsureWait w = {.name = name, .id = id, .bucket = 0};
        int r;

        log_info("The image of sandbox %s is not built yet; asking sandy-helper to build it.", name);
        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* Subscribe first: the job may report before the call returns. */
        r = sd_bus_match_signal(bus, &changed, HELPER_BUS_NAME, NULL, DBUS_PROPERTIES_IFACE,
                                "PropertiesChanged", on_job_changed, &w);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to the build's progress: %m");
        r = sd_bus_message_new_method_call(bus, &msg, HELPER_BUS_NAME, HELPER_OBJECT_PATH,
                                           HELPER_MANAGER_IFACE, "EnsureImage");
        if (r >= 0)
                r = sd_bus_message_append(msg, "s", name);
        /* The reply comes when the build is done: wait longer than the bus's default 25 s. */
        if (r >= 0)
                r = sd_bus_call_async(bus, &call, msg, on_ensure_reply, &w, ENSURE_IMAGE_TIMEOUT_USEC);
        if (r < 0)
                return log_error_errno(r, "Failed to ask sandy-helper for the image: %m");
        /* Only this ExecStartPre= gets the longer time: nspawn's own start gets a fresh TimeoutStartSec=. */
        (void) sd_notifyf(false, "EXTEND_TIMEOUT_USEC=%llu", ENSURE_IMAGE_TIMEOUT_USEC + 60ULL * 1000000);
        while (!w.done) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "Lost the connection to sandy-helper: %m");
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        return log_error_errno(r, "Lost the connection to sandy-helper: %m");
        }
        if (w.r < 0)
                return log_error_errno(w.r, "The image of sandbox %s could not be built: %s", name,
                                       w.message ?: strerror(-w.r));
        /* The helper computes the same content address; anything else means the declaration changed while
         * it built. */
        if (!streq(w.rootfs, rootfs))
                return log_error_errno(ESTALE, "sandy-helper built %s, expected %s; the declaration of %s changed "
                                               "meanwhile. Start it again.",
                                       w.rootfs, rootfs, name);
        log_info("The image of sandbox %s is built.", name);
        return 0;
}

static int prepare(const char *name) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *rootfs = NULL, *root = NULL, *extra = NULL;
        char id[IMAGE_ID_HEX_LEN + 1];
        const char *generated = getenv("SANDY_SETTINGS");
        _cleanup_close_ int wsfd = -EBADF;
        struct stat st;
        int r;

        if (!dirs)
                return log_oom();
        if (isempty(generated))
                return log_error_errno(ENOENT, "Sandbox %s is not declared: no %s.sandbox in %s, or "
                                               "\"systemctl daemon-reload\" has not run since it was added.",
                                       name, name, SANDY_SEARCH_PATH_DEFAULT);

        r = sandbox_load(dirs, name, &s);
        if (r == -ENOENT || r == -ENXIO)
                return log_error_errno(r, "Sandbox %s is %s; run \"systemctl daemon-reload\".", name,
                                       r == -ENXIO ? "masked" : "no longer declared");
        if (r < 0)
                return log_error_errno(r, "Sandbox %s has errors (see above); not starting it.", name);
        /* The units (network, egress, settings) were generated from the text systemd loaded at the last
         * daemon-reload; a different text now would start a mix of both. */
        r = sandbox_check_digest(s, getenv(SANDY_DIGEST_ENV));
        if (r < 0)
                return r;
        /* A filter kept from an earlier run that ended without its ExecStopPost= is not this run's. */
        {
                _cleanup_free_ char *seccomp = sandbox_runtime_path(name, "seccomp");
                if (!seccomp)
                        return log_oom();
                if (unlink(seccomp) < 0 && errno != ENOENT)
                        return log_error_errno(errno, "Failed to remove %s: %m", seccomp);
        }

        if (s->workspace) {
                wsfd = workspace_open(s);
                if (wsfd < 0)
                        return wsfd;
        }

        r = sandbox_image_id(s, id);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the image recipe of sandbox %s: %m", name);
        rootfs = image_rootfs(id);
        if (!rootfs)
                return log_oom();
        if (stat(rootfs, &st) < 0 || !S_ISDIR(st.st_mode)) {
                r = ensure_image(name, id, rootfs);
                if (r < 0)
                        return r;
        }

        /* The root nspawn runs is an overlay over the image built here (see mounts.c). */
        r = sandbox_mount_all(s, wsfd, rootfs, &root, &extra);
        if (r < 0)
                return r;
        r = install_settings(s, generated, extra);
        if (r < 0)
                return r;
        r = register_image(name, rootfs);
        if (r < 0)
                return r;
        return write_start_env(s, root);
}

static int started(const char *name) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        int r;

        if (!dirs)
                return log_oom();
        r = sandbox_load(dirs, name, &s);
        if (r < 0)
                return log_error_errno(r, "Sandbox %s cannot be loaded: %m", name);
        /* Not fatal: root's sandyctl exec reads it from the leader itself; members need it. */
        r = exec_save_seccomp(name);
        if (r < 0)
                log_warning_errno(r, "Failed to keep the seccomp filter of sandbox %s for sandyctl exec: %m", name);
        return 0;
}

static int cleanup(const char *name) {
        _cleanup_free_ char *settings = NULL, *env = NULL, *dir = NULL, *seccomp = NULL, *lock = NULL;
        int r = 0;

        if (xasprintf(&settings, NSPAWN_SETTINGS_DIR "/%s.nspawn", name) < 0 ||
            !(dir = sandbox_runtime_path(name, NULL)) || !(env = sandbox_runtime_path(name, SANDY_START_ENV)) ||
            !(seccomp = sandbox_runtime_path(name, "seccomp")) || !(lock = sandbox_runtime_path(name, ".#root.lck")))
                return log_oom();
        /* Go on after a failure, so as much as possible is gone, but do not report success. */
        r = sandbox_unmount_all(name);
        if (unlink(settings) < 0 && errno != ENOENT && r == 0)
                r = log_error_errno(errno, "Failed to remove %s: %m", settings);
        if (unlink(seccomp) < 0 && errno != ENOENT && r == 0)
                r = log_error_errno(errno, "Failed to remove %s: %m", seccomp);
        if (unlink(env) < 0 && errno != ENOENT && r == 0)
                r = log_error_errno(errno, "Failed to remove %s: %m", env);
        /* nspawn's lock of the root directory, left when it was killed (a start that timed out). */
        if (unlink(lock) < 0 && errno != ENOENT && r == 0)
                r = log_error_errno(errno, "Failed to remove %s: %m", lock);
        if (rmdir(dir) < 0 && errno != ENOENT && r == 0)
                r = log_error_errno(errno, "Failed to remove %s: %m", dir);
        return r;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"cleanup", no_argument, NULL, 'c'},
                {"started", no_argument, NULL, 's'},
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("%s [--started|--cleanup] NAME\n\nStart-time preparation of sandy@NAME.service; not meant to "
                               "be run by hand.\n",
                               program_invocation_short_name);
                        return 0;
                case 'c':
                        arg_cleanup = true;
                        break;
                case 's':
                        arg_started = true;
                        break;
                default:
                        return 1;
                }
        if (argc - optind != 1)
                return log_error_errno(EINVAL, "Expected exactly one sandbox name."), 1;
        /* systemd passes %i; it is the name that decides the paths below, so check it before any use. */
        if (!sandbox_name_is_valid(argv[optind]))
                return log_error_errno(EINVAL, "\"%s\" is not a valid sandbox name.", argv[optind]), 1;

        r = arg_cleanup ? cleanup(argv[optind]) : arg_started ? started(argv[optind]) : prepare(argv[optind]);
        return r < 0 ? 1 : 0;
}
