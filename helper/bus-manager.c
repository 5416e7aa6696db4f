/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sandy.Helper1.Manager on /org/sandy/Helper1: image builds and the image store.
 * Every method asks polkit first; callers name declared sandboxes (or image IDs), nothing else. */
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-polkit.h"
#include "conf-parser.h"
#include "image-build.h"
#include "log.h"
#include "manager.h"
#include "strv.h"
#include "fs-util.h"
#include "path-util.h"
#include "process-util.h"
#include "rm-rf.h"
#include "string-util.h"


/* Load a declared sandbox by name, with an error that names it. */
static int load_declared(sd_bus_message *msg, const char *name, Sandbox **ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        int r;

        if (!dirs)
                return -ENOMEM;
        if (!sandbox_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "\"%s\" is not a valid sandbox name.",
                                         name);
        r = sandbox_load(dirs, name, ret);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, HELPER_ERROR_NO_SUCH_SANDBOX,
                                         "Sandbox %s is not declared (no %s.sandbox in %s).", name, name,
                                         SANDY_SEARCH_PATH_DEFAULT);
        if (r == -ENXIO)
                return sd_bus_error_setf(error, HELPER_ERROR_NO_SUCH_SANDBOX, "Sandbox %s is masked.", name);
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_NO_SUCH_SANDBOX,
                                         "Sandbox %s has errors in its declaration (\"sandyctl verify %s\" shows "
                                         "them).",
                                         name, name);
        /* The text the units were generated from, or none. */
        return bus_sandbox_check_current(sd_bus_message_get_bus(msg), ret, error);
}

static int sandbox_id(const Sandbox *s, char id[static IMAGE_ID_HEX_LEN + 1], sd_bus_error *error) {
        int r = sandbox_image_id(s, id);
        if (r == -EPERM && s->setup)
                /* open_trusted() refused the script: a problem of the declaration, not of the caller's rights. */
                return sd_bus_error_setf(error, HELPER_ERROR_INVALID_DECLARATION,
                                         "Refusing the Setup= script %s of sandbox %s: it or a directory above it "
                                         "belongs to someone other than root and the sandbox's owner, or others "
                                         "may write it.",
                                         s->setup, s->name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to compute the image recipe of sandbox %s: %m",
                                               s->name);
        return 0;
}

static bool image_exists(const char *id) {
        _cleanup_free_ char *rootfs = image_rootfs(id);
        struct stat st;

        /* Only a finished build is renamed into the store, so the root alone says it is complete. */
        return rootfs && stat(rootfs, &st) >= 0 && S_ISDIR(st.st_mode);
}

/* 1: authorized; 0: polkit is asked, the call comes back later (return 1 without a reply); < 0: refused. */
static int check(sd_bus_message *msg, const char *action, const char *sandbox, sd_bus_error *error) {
        const char *details[] = {"sandbox", sandbox, NULL};
        return bus_verify_polkit_async(msg, action, sandbox ? details : NULL, error);
}

static int image_in_use(const char *id, char **ret_user);

/* BuildImage and EnsureImage: after polkit said yes, the declaration of name and its image ID. 0 while
 * polkit is still asked (the handler returns 1 without replying), 1 when done. */
static int build_target(sd_bus_message *msg, const char *name, Sandbox **s, char id[static IMAGE_ID_HEX_LEN + 1],
                        sd_bus_error *error) {
        int r;

        r = check(msg, POLKIT_ACTION_BUILD, name, error);
        if (r <= 0)
                return r;
        r = load_declared(msg, name, s, error);
        if (r < 0)
                return r;
        r = sandbox_id(*s, id, error);
        return r < 0 ? r : 1;
}

static int method_build_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        char id[IMAGE_ID_HEX_LEN + 1];
        const char *name;
        int force, r;
        Job *j;

        r = sd_bus_message_read(msg, "sb", &name, &force);
        if (r < 0)
                return r;
        r = build_target(msg, name, &s, id, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        j = manager_find_job(m, id);
        if (!j) {
                if (!force && image_exists(id))
                        /* Nothing to do: no job. */
                        return sd_bus_reply_method_return(msg, "o", "/");
                if (force) {
                        _cleanup_free_ char *user = NULL;
                        /* The old tree is deleted after the swap; a running sandbox would lose its files. */
                        r = image_in_use(id, &user);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                return sd_bus_error_setf(error, HELPER_ERROR_BUSY,
                                                         "Image %s is in use by the running sandbox %s; stop it "
                                                         "before rebuilding.",
                                                         id, user);
                }
                r = job_start(m, s, id, force, &j);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to start the image build of %s: %m", name);
        }
        return sd_bus_reply_method_return(msg, "o", j->path);
}

static int method_ensure_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *rootfs = NULL;
        char id[IMAGE_ID_HEX_LEN + 1];
        const char *name;
        Job *j;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = build_target(msg, name, &s, id, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        rootfs = image_rootfs(id);
        if (!rootfs)
                return -ENOMEM;

        j = manager_find_job(m, id);
        if (!j && image_exists(id))
                return sd_bus_reply_method_return(msg, "s", rootfs);
        if (!j) {
                r = job_start(m, s, id, false, &j);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to start the image build of %s: %m", name);
        }
        /* The reply comes when the job ends. */
        r = job_add_waiter(j, msg);
        if (r < 0)
                return r;
        return 1;
}

typedef struct Declared {
        char **names;
        char **ids;   /* parallel to names; "" when the declaration does not load */
        char **froms; /* the From= values of the declarations whose image ID cannot be computed */
} Declared;

static void declared_done(Declared *d) {
        strv_free(d->names);
        strv_free(d->ids);
        strv_free(d->froms);
}

static int collect_from(const char *file, unsigned line, const char *section, const char *key, const char *value,
                        void *userdata) {
        char **from = userdata;

        /* As the parser would: a later assignment replaces an earlier one, an empty one resets. */
        if (streq(section, "Image") && streq(key, "From")) {
                free(*from);
                *from = isempty(value) ? NULL : strdup(value);
        }
        return 0;
}

/* A declaration with an error (a typo in any key, a Setup= script gone) names an image all the same: the
 * From= its files end up with, read from them as they are, so that Prune never takes a user's image for a
 * typo. */
static int declared_froms(char *const *dirs, const char *name, char ***froms) {
        _cleanup_free_ char *main_file = NULL, *from = NULL;
        _cleanup_strv_free_ char **dropins = NULL;

        if (sandbox_find(dirs, name, &main_file, &dropins) < 0)
                return 0;
        (void) conf_parse_file(main_file, collect_from, &from);
        STRV_FOREACH(f, dropins)
                (void) conf_parse_file(*f, collect_from, &from);
        if (!from || strv_contains(*froms, from))
                return 0;
        return strv_consume(froms, TAKE_PTR(from));
}

/* Every declared sandbox and its image ID; for those whose ID cannot be computed, the From= values their
 * files name (d.froms). Errors are not logged here (sandyctl verify reports them). */
static int declared_load(Declared *ret) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        Declared d = {};
        int level = log_get_max_level(), r;

        if (!dirs)
                return -ENOMEM;
        r = sandbox_list_names(dirs, &d.names);
        if (r < 0)
                return r;
        log_set_max_level(LOG_CRIT);
        STRV_FOREACH(n, d.names) {
                _cleanup_sandbox_free_ Sandbox *s = NULL;
                char id[IMAGE_ID_HEX_LEN + 1] = "";

                if (sandbox_load(dirs, *n, &s) < 0 || sandbox_image_id(s, id) < 0) {
                        id[0] = 0;
                        (void) declared_froms(dirs, *n, &d.froms);
                }
                if (strv_extend(&d.ids, id) < 0) {
                        log_set_max_level(level);
                        declared_done(&d);
                        return -ENOMEM;
                }
        }
        log_set_max_level(level);
        *ret = d;
        return 0;
}

static int list_image_ids(char ***ret) {
        _cleanup_strv_free_ char **ids = NULL;
        DIR *d = opendir(SANDY_IMAGE_STORE_DIR);
        struct dirent *de;

        if (!d) {
                *ret = NULL;
                return errno == ENOENT ? 0 : -errno;
        }
        while ((de = readdir(d)))
                if (image_id_is_valid(de->d_name) && strv_extend(&ids, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        closedir(d);
        strv_sort(ids);
        *ret = TAKE_PTR(ids);
        return 0;
}

/* After polkit said yes to action: what the declarations use and what the store holds. 0 while polkit is
 * still asked (the handler returns 1 without replying), 1 when done. */
static int store_survey(sd_bus_message *msg, const char *action, Declared *d, char ***ids, sd_bus_error *error) {
        int r;

        r = check(msg, action, NULL, error);
        if (r <= 0)
                return r;
        r = declared_load(d);
        if (r < 0)
                return r;
        r = list_image_ids(ids);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read %s: %m", SANDY_IMAGE_STORE_DIR);
        return 1;
}

static int method_list_images(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_(declared_done) Declared d = {};
        int r;

        r = store_survey(msg, POLKIT_ACTION_STATUS, &d, &ids, error);
        if (r <= 0)
                return r == 0 ? 1 : r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssttas)");
        if (r < 0)
                return r;
        STRV_FOREACH(id, ids) {
                _cleanup_free_ char *rootfs = image_rootfs(*id);
                ImageMeta meta = {};

                if (!rootfs)
                        return -ENOMEM;
                (void) image_read_meta(*id, &meta);
                r = sd_bus_message_open_container(reply, 'r', "sssttas");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "ssstt", *id, meta.from ?: "", rootfs, meta.size,
                                                  meta.built_usec);
                image_meta_done(&meta);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'a', "s");
                for (size_t i = 0; r >= 0 && d.names && d.names[i]; i++)
                        if (streq(d.ids[i], *id))
                                r = sd_bus_message_append(reply, "s", d.names[i]);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Is a running sandbox using image id? sandy-prepare mounts the image (a clone or an overlay lower
 * layer) below SANDY_RUNTIME_DIR/NAME, or, without overlays, names its root in SANDY_RUNTIME_DIR/NAME/SANDY_START_ENV. Any mount
 * of the image's tree counts, whoever made it. */
static int image_in_use(const char *id, char **ret_user) {
        _cleanup_free_ char *rootfs = image_rootfs(id), *want = NULL, *needle = NULL, *line = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        size_t n = 0;
        DIR *d;
        struct dirent *de;

        if (!rootfs || xasprintf(&want, "SANDY_ROOT=%s\n", rootfs) < 0 || xasprintf(&needle, "%s/rootfs", id) < 0)
                return -ENOMEM;

        f = fopen("/proc/self/mountinfo", "re");
        if (f)
                while (getline(&line, &n, f) >= 0) {
                        char mnt[PATH_MAX];
                        const char *name;

                        if (!strstr(line, needle))
                                continue;
                        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
                        if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
                                snprintf(mnt, sizeof mnt, "?");
                        name = path_startswith(mnt, SANDY_RUNTIME_DIR "/");
                        if (name) {
                                *ret_user = strndup(name, strcspn(name, "/"));
                                if (!*ret_user)
                                        return -ENOMEM;
                                return 1;
                        }
                        if (xasprintf(ret_user, "(mounted at %s)", mnt) < 0)
                                return -ENOMEM;
                        return 1;
                }

        d = opendir(SANDY_RUNTIME_DIR);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL, *text = NULL;
                size_t size;

                if (de->d_name[0] == '.' || !sandbox_name_is_valid(de->d_name))
                        continue;
                if (!(p = sandbox_runtime_path(de->d_name, SANDY_START_ENV)))
                        break;
                if (read_full_file(p, 64 * 1024, &text, &size) < 0)
                        continue;
                if (strstr(text, want)) {
                        *ret_user = strdup(de->d_name);
                        closedir(d);
                        return *ret_user ? 1 : -ENOMEM;
                }
        }
        closedir(d);
        return 0;
}

static int on_deleted(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Manager *m = userdata;

        if (si->si_code != CLD_EXITED || si->si_status != 0)
                log_warning("Deleting a removed image failed; it goes at the helper's next start.");
        m->deleting--;
        sd_event_source_unref(s);
        return 0;
}

/* A removed image (already out of the store) is deleted by a child, so that a large tree does not keep the
 * helper from answering anyone meanwhile; the helper does not exit before it ends. */
static void delete_later(Manager *m, const char *path) {
        sd_event_source *source;
        pid_t pid = fork();

        if (pid < 0) {
                log_warning_errno(errno, "Cannot fork to delete %s, deleting it now: %m", path);
                (void) rm_rf(path);
                return;
        }
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                _exit(rm_rf(path) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }
        if (sd_event_add_child(m->event, &source, pid, WEXITED, on_deleted, m) < 0) {
                /* Nothing will reap it: wait here. */
                (void) wait_for_pid(pid, NULL);
                return;
        }
        m->deleting++;
}

static int remove_one(Manager *m, const char *id, sd_bus_error *error) {
        _cleanup_free_ char *user = NULL, *retired = NULL;
        int r;

        if (manager_find_job(m, id))
                return sd_bus_error_setf(error, HELPER_ERROR_BUSY, "Image %s is being built.", id);
        r = image_in_use(id, &user);
        if (r < 0)
                return r;
        if (r > 0)
                return sd_bus_error_setf(error, HELPER_ERROR_BUSY, "Image %s is in use by the running sandbox %s.",
                                         id, user);
        r = image_retire(id, &retired);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, HELPER_ERROR_NO_SUCH_IMAGE, "No image %s.", id);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to remove image %s: %m", id);
        log_info("Removed image %s.", id);
        delete_later(m, retired);
        return 0;
}

/* Whose image is id, for RemoveImage? A member may remove the image of sandboxes she may use, or of none,
 * never one that another user's sandbox needs. *ret_name: the first declared sandbox using id that the
 * caller may not use (polkit is then asked for POLKIT_ACTION_OTHER_SANDBOX, as for any method naming
 * another's sandbox), else any sandbox using it, else NULL. *ret_admin: no valid declaration uses it but a
 * declaration with errors names its source (whose it is cannot be told): administrators only. */
static int remove_image_owner(sd_bus_message *msg, const char *id, char **ret_name, bool *ret_admin,
                              sd_bus_error *error) {
        _cleanup_(declared_done) Declared d = {};
        _cleanup_(image_meta_done) ImageMeta meta = {};
        const char *decide = NULL;
        uid_t uid;
        int r;

        *ret_name = NULL;
        *ret_admin = false;
        r = bus_sender_uid(msg, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot tell who is calling: %m");
        r = declared_load(&d);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the declarations: %m");
        for (size_t i = 0; d.names && d.names[i]; i++) {
                bool allowed = false;

                if (!streq(d.ids[i], id))
                        continue;
                if (bus_sandbox_access(d.names[i], uid, &allowed, NULL, NULL, NULL) < 0)
                        allowed = false;
                if (!allowed || !decide)
                        decide = d.names[i];
                if (!allowed)
                        break;
        }
        if (!decide && image_read_meta(id, &meta) >= 0 && strv_contains(d.froms, meta.from))
                *ret_admin = true;
        if (decide && !(*ret_name = strdup(decide)))
                return -ENOMEM;
        return 0;
}

static int method_remove_image(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *sandbox = NULL;
        const char *id;
        bool admin;
        int r;

        r = sd_bus_message_read(msg, "s", &id);
        if (r < 0)
                return r;
        if (!image_id_is_valid(id))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "\"%s\" is not an image ID (64 lowercase hex digits).", id);
        r = remove_image_owner(msg, id, &sandbox, &admin, error);
        if (r < 0)
                return r;
        r = check(msg, admin ? POLKIT_ACTION_OTHER_SANDBOX : POLKIT_ACTION_REMOVE_IMAGE, sandbox, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = remove_one(userdata, id, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_prune(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **ids = NULL, **removed = NULL;
        _cleanup_(declared_done) Declared d = {};
        int r;

        r = store_survey(msg, POLKIT_ACTION_REMOVE_IMAGE, &d, &ids, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        STRV_FOREACH(id, ids) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                _cleanup_(image_meta_done) ImageMeta meta = {};

                if (strv_contains(d.ids, *id))
                        continue;
                if (image_read_meta(*id, &meta) >= 0 && strv_contains(d.froms, meta.from)) {
                        log_info("Not pruning image %s: a declaration with errors names %s.", *id, meta.from);
                        continue;
                }
                if (remove_one(userdata, *id, &e) < 0) {
                        log_warning("Not pruning image %s: %s", *id, e.message ?: "error");
                        continue;
                }
                if (strv_extend(&removed, *id) < 0)
                        return -ENOMEM;
        }
        /* Then the blobs of docker:// pulls that no image left uses; never while a build may be about to
         * read one. */
        if (((Manager *) userdata)->jobs)
                log_info("Not pruning the blob cache while an image is being built.");
        else
                (void) image_blob_cache_gc(NULL);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(reply, removed);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("BuildImage", "sb", SD_BUS_PARAM(sandbox) SD_BUS_PARAM(force), "o",
                                 SD_BUS_PARAM(job), method_build_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("EnsureImage", "s", SD_BUS_PARAM(sandbox), "s", SD_BUS_PARAM(rootfs),
                                 method_ensure_image, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListImages", "", , "a(sssttas)", SD_BUS_PARAM(images), method_list_images,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RemoveImage", "s", SD_BUS_PARAM(id), "", , method_remove_image,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Prune", "", , "as", SD_BUS_PARAM(removed), method_prune,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("JobNew", "uos", SD_BUS_PARAM(id) SD_BUS_PARAM(job) SD_BUS_PARAM(sandbox), 0),
        SD_BUS_SIGNAL_WITH_NAMES("JobRemoved", "uosss",
                                 SD_BUS_PARAM(id) SD_BUS_PARAM(job) SD_BUS_PARAM(sandbox) SD_BUS_PARAM(result)
                                         SD_BUS_PARAM(message),
                                 0),
        SD_BUS_VTABLE_END,
};

static int job_enumerator(sd_bus *bus, const char *path, void *userdata, char ***ret, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_strv_free_ char **l = NULL;

        for (Job *j = m->jobs; j; j = j->next)
                if (strv_extend(&l, j->path) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int manager_register(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register %s: %m", HELPER_MANAGER_IFACE);
        r = sd_bus_add_node_enumerator(m->bus, NULL, HELPER_JOB_PATH_PREFIX, job_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the job enumerator: %m");
        return 0;
}
