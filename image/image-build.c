/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image builds, run in a forked child of sandy-helper (see image-build.h): fetch or unpack the source,
 * provision (Packages=, Setup=, User=, the Boot=yes check), write the metadata, rename into the store. */
#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "process-util.h"
#include "config.h"
#include "conf-parser.h"
#include "confine.h"
#include "image-build.h"
#include "log.h"
#include "oci.h"
#include "strv.h"
#include "fs-util.h"
#include "parse-util.h"
#include "path-util.h"
#include "rm-rf.h"
#include "socket-util.h"
#include "string-util.h"

#define CHROOT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SETUP_IN_ROOT "/.sandy-setup"

/* ---- everything below runs in the builder child ---- */

static int progress_fd = -EBADF;
static const char *build_sandbox, *build_id;
/* The last lines a failed tool printed, for the error message. */
static char last_output[512];

static void report(double fraction, const char *fmt, ...) _printf_(2, 3);
static void report(double fraction, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL, *line = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (!text)
                return;
        (void) sd_journal_send("MESSAGE=%s: %s", build_sandbox, text, "PRIORITY=%d", LOG_INFO, "SANDBOX=%s",
                               build_sandbox, "SANDY_IMAGE_ID=%s", build_id, "SYSLOG_IDENTIFIER=sandy-helper", NULL);
        if (xasprintf(&line, "P %.4f %s\n", fraction, text) >= 0)
                (void) !write(progress_fd, line, strlen(line));
}

/* Log the error with the sandbox named and hand the message to the helper, which puts it in the reply. */
static int fail(int error, const char *fmt, ...) _printf_(2, 3);
static int fail(int error, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL, *line = NULL;
        va_list ap;

        errno = error < 0 ? -error : error;
        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (text) {
                for (char *c = text; *c; c++)
                        if (*c == '\n')
                                *c = ' ';
                (void) sd_journal_send("MESSAGE=%s: image build failed: %s", build_sandbox, text, "PRIORITY=%d",
                                       LOG_ERR, "SANDBOX=%s", build_sandbox, "SANDY_IMAGE_ID=%s", build_id,
                                       "SYSLOG_IDENTIFIER=sandy-helper", NULL);
                if (xasprintf(&line, "E %s\n", text) >= 0)
                        (void) !write(progress_fd, line, strlen(line));
        }
        return error < 0 ? error : -error;
}

/* The build's confinement (confine.h): its user namespace, the tree, its network. */
static Confine confine = {.userns_fd = -EBADF, .tree_fd = -EBADF, .netns_fd = -EBADF, .resolv_fd = -EBADF};
static int tree_fd = -EBADF;

static char *const build_env[] = {CHROOT_PATH, "HOME=/root", "LANG=C", "DEBIAN_FRONTEND=noninteractive",
                                  "DEBCONF_NONINTERACTIVE_SEEN=true", NULL};
/* debootstrap: "lxc" makes it skip its mknod test and use the /dev nodes the confinement provides. */
static char *const debootstrap_env[] = {CHROOT_PATH, "HOME=/root", "LANG=C", "container=lxc", NULL};
/* --second-stage finds CONFINE_SHIM_DIR's "chroot" first. */
static char *const debootstrap2_env[] = {"PATH=" CONFINE_SHIM_DIR ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                         "HOME=/root", "LANG=C", "container=lxc", NULL};

/* Log what a child prints, line by line, with the sandbox named; keep the last line for the error. */
static void journal_output(int fd) {
        _cleanup_fclose_ FILE *f = fdopen(fd, "r");
        char *line = NULL;
        size_t n = 0;

        last_output[0] = 0;
        if (!f) {
                safe_close(fd);
                return;
        }
        while (getline(&line, &n, f) >= 0) {
                size_t len = strlen(line);
                if (len > 0 && line[len - 1] == '\n')
                        line[--len] = 0;
                if (len == 0)
                        continue;
                (void) sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", LOG_INFO, "SANDBOX=%s", build_sandbox,
                                       "SANDY_IMAGE_ID=%s", build_id, "SYSLOG_IDENTIFIER=sandy-helper", NULL);
                snprintf(last_output, sizeof last_output, "%s", line);
        }
        free(line);
}

/* Run argv (or fn) confined in view (confine.h). Returns the exit status (>= 0) or a negative errno. */
static int run_confined(ConfineView view, char *const *argv, confine_fn_t fn, void *userdata, char *const *env) {
        int pipefd[2], r;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        ConfineExec e = {
                .view = view,
                .argv = argv,
                .fn = fn,
                .userdata = userdata,
                .env = env ?: build_env,
                .stdin_fd = -EBADF,
                .stdout_fd = pipefd[1],
        };
        r = confine_spawn(&confine, &e, &pid);
        safe_close(pipefd[1]);
        if (r < 0) {
                safe_close(pipefd[0]);
                return r;
        }
        /* EOF comes when the last process of the run is gone: init's exit takes all of them. */
        journal_output(pipefd[0]);
        return wait_for_terminate_and_check(NULL, pid);
}

static int run(char *const *argv, confine_fn_t fn, void *userdata) {
        return run_confined(CONFINE_VIEW_TREE, argv, fn, userdata, NULL);
}

static int check_status(int r, const char *what) {
        if (r < 0)
                return fail(r, "%s: %m", what);
        if (r > 0)
                return fail(EPROTO, "%s failed (exit status %d)%s%s", what, r, last_output[0] ? ": " : "",
                            last_output);
        return 0;
}

/* A path of the tree, resolved inside it as the image's own programs would (symlinks never lead out). */
static int tree_open(const char *path, int flags) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        int fd = (int) syscall(SYS_openat2, tree_fd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

static bool tree_is_executable(const char *path) {
        _cleanup_close_ int fd = tree_open(path, O_PATH);
        struct stat st;
        return fd >= 0 && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

/* The build's network for the steps that download; every other step gets an empty namespace. */
static int net_fd = -EBADF, net_resolv_fd = -EBADF, net_ready_fd = -EBADF;
static const char *net_name;
/* /etc/resolv.conf made empty for the resolver to be shown on; removed again at the end. */
static bool made_resolv_conf;

/* The helper sets the network up while the source is unpacked; wait for it the first time it is needed. */
static int network_wait(void) {
        _cleanup_free_ char *resolv = NULL;
        char c = 0;

        if (!net_name || net_fd >= 0)
                return 0;
        /* "y" and the namespace, or "n". */
        if (receive_byte_with_fd(net_ready_fd, &c, &net_fd) < 0)
                c = 'n';
        net_ready_fd = safe_close(net_ready_fd);
        if (c != 'y' || net_fd < 0)
                return fail(ENETDOWN, "The build's network could not be set up (see the journal)");
        if (!(resolv = sandbox_net_path(net_name, "resolv.conf")))
                return fail(ENOMEM, "Out of memory");
        net_resolv_fd = open(resolv, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (net_fd < 0 || net_resolv_fd < 0)
                return fail(errno, "Failed to open the build's network: %m");
        return 0;
}

static void network_on(void) {
        confine.netns_fd = net_fd;
        confine.resolv_fd = net_resolv_fd;
        if (net_fd < 0 || made_resolv_conf)
                return;
        /* Images made for containers often have no /etc/resolv.conf: the runtime provides one. */
        _cleanup_close_ int etc = tree_open("etc", O_PATH | O_DIRECTORY);
        struct stat st;
        if (etc >= 0 && fstatat(etc, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                int fd = openat(etc, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                made_resolv_conf = fd >= 0;
                safe_close(fd);
        }
}

static void network_off(void) {
        confine.netns_fd = -EBADF;
        confine.resolv_fd = -EBADF;
        if (!made_resolv_conf)
                return;
        _cleanup_close_ int etc = tree_open("etc", O_PATH | O_DIRECTORY);
        struct stat st;
        if (etc >= 0 && fstatat(etc, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode) &&
            st.st_size == 0)
                (void) unlinkat(etc, "resolv.conf", 0);
        made_resolv_conf = false;
}

static int run_checked(char *const *argv, const char *what) {
        return check_status(run(argv, NULL, NULL), what);
}

static int find_in_path(const char *name, char **ret) {
        const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (const char *p = path; *p;) {
                size_t len = strcspn(p, ":");
                _cleanup_free_ char *f = NULL;
                if (xasprintf(&f, "%.*s/%s", (int) len, p, name) < 0)
                        return -ENOMEM;
                if (access(f, X_OK) >= 0) {
                        *ret = TAKE_PTR(f);
                        return 0;
                }
                p += len + (p[len] == ':');
        }
        return -ENOENT;
}

/* debootstrap in two stages, both confined: --foreign (download, unpack: host tools on the read-only
 * host, the tree at CONFINE_HOST_TARGET), then the image's own copy of debootstrap --second-stage inside
 * the tree, which runs the packages' maintainer scripts. */
static int build_debootstrap(const Sandbox *s) {
        _cleanup_(sandy_config_done) SandyConfig c = {};
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *include = NULL, *keyring = NULL, *debootstrap = NULL;
        const char *suite = s->from + strlen("debootstrap:");
        int r;

        r = sandy_config_load(NULL, &c);
        if (r < 0)
                return fail(r, "%s has errors (see the journal)", SANDY_CONFIG_FILE);
        r = find_in_path("debootstrap", &debootstrap);
        if (r < 0)
                return fail(r, "debootstrap is not installed");
        if (strv_extend(&argv, debootstrap) < 0 || strv_extend(&argv, "--foreign") < 0 ||
            strv_extend(&argv, "--variant=minbase") < 0)
                return fail(ENOMEM, "Out of memory");
        /* Packages= come with debootstrap's own resolver, from the same mirror. minbase has no init:
         * a booted sandbox gets systemd and D-Bus as if it had asked for them. */
        _cleanup_strv_free_ char **packages = strv_copy(s->packages);
        if (s->packages && !packages)
                return fail(ENOMEM, "Out of memory");
        static const char *const boot_packages[] = {"systemd", "systemd-sysv", "dbus"};
        for (size_t i = 0; s->boot && i < ELEMENTSOF(boot_packages); i++)
                if (!strv_contains(packages, boot_packages[i]) && strv_extend(&packages, boot_packages[i]) < 0)
                        return fail(ENOMEM, "Out of memory");
        STRV_FOREACH(p, packages) {
                char *n = NULL;
                if (xasprintf(&n, "%s%s%s", include ?: "--include=", include ? "," : "", *p) < 0)
                        return fail(ENOMEM, "Out of memory");
                free(include);
                include = n;
        }
        if ((include && strv_extend(&argv, include) < 0) ||
            (c.debootstrap_no_check_gpg && strv_extend(&argv, "--no-check-gpg") < 0) ||
            (c.debootstrap_keyring && (xasprintf(&keyring, "--keyring=%s", c.debootstrap_keyring) < 0 ||
                                       strv_extend(&argv, keyring) < 0)) ||
            strv_extend(&argv, suite) < 0 || strv_extend(&argv, CONFINE_HOST_TARGET) < 0 ||
            strv_extend(&argv, c.debootstrap_mirror) < 0)
                return fail(ENOMEM, "Out of memory");
        /* A local mirror and the keyring may live where the confinement hides the host (/srv, /var/tmp). */
        const char *local = startswith(c.debootstrap_mirror, "file://") ? c.debootstrap_mirror + 7 : NULL;
        if ((local && strv_extend(&confine.host_binds, local) < 0) ||
            (c.debootstrap_keyring && strv_extend(&confine.host_binds, c.debootstrap_keyring) < 0))
                return fail(ENOMEM, "Out of memory");

        r = confine_prepare_tree(tree_fd);
        if (r < 0)
                return fail(r, "Failed to prepare the build directory: %m");
        report(0.05, "debootstrap %s from %s", suite, c.debootstrap_mirror);
        r = network_wait();
        if (r < 0)
                return r;
        network_on();
        r = check_status(run_confined(CONFINE_VIEW_HOST, argv, NULL, NULL, debootstrap_env), "debootstrap");
        network_off();
        if (r < 0)
                return r;
        report(0.4, "debootstrap --second-stage");
        char *second[] = {"/debootstrap/debootstrap", "--second-stage", NULL};
        r = check_status(run_confined(CONFINE_VIEW_TREE, second, NULL, NULL, debootstrap2_env),
                         "debootstrap --second-stage");
        if (r < 0)
                return r;
        /* debootstrap copies the build host's /etc/hostname into the new root: without it nspawn names
         * the sandbox after its machine name, and the image says nothing about the host. */
        _cleanup_close_ int etc = tree_open("etc", O_PATH | O_DIRECTORY);
        if (etc >= 0 && unlinkat(etc, "hostname", 0) < 0 && errno != ENOENT)
                return fail(errno, "Failed to remove /etc/hostname of the image: %m");
        return 0;
}

static void oci_progress(double fraction, const char *what, void *userdata) {
        double base = *(double *) userdata;
        report(base + (0.7 - base) * fraction, "unpacking %s", what);
}

static int build_oci(const Sandbox *s, const char *tmpdir, double base) {
        _cleanup_free_ char *config = NULL, *config_path = NULL, *problem = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *location = s->from + strlen(image_source_type_to_string(s->from_type));
        uid_t owner = 0;
        int r;

        /* Root reads it for the sandbox's agent: only what root or the owner could have put there, as for
         * Setup=, and nothing a symlink leads to (it could be what the owner may not read). */
        (void) sandbox_owner_uid(s, &owner);
        r = oci_source_open(s->from_type, location, owner == 0 ? UID_INVALID : owner, &fd, &problem);
        if (r == -EPERM && problem)
                return fail(r,
                            "Refusing From=%s: %s (it, every directory on the way and what a layout holds "
                            "must be root's or the owner's and writable by nobody else; only root's symlinks "
                            "are followed)",
                            s->from, problem);
        if (r < 0)
                return fail(r, "Failed to open From=%s: %m", s->from);
        r = oci_unpack(s->from_type, location, fd, owner == 0 ? UID_INVALID : owner, &confine, oci_progress,
                       &base, &config, NULL);
        if (r < 0)
                return fail(r, "Failed to unpack %s: %m (details in the journal)", location);
        config_path = path_join(tmpdir, "config.json");
        if (!config_path)
                return fail(ENOMEM, "Out of memory");
        if (config) {
                r = write_file_atomic(config_path, config, strlen(config), 0644);
                if (r < 0)
                        return fail(r, "Failed to write %s: %m", config_path);
        }
        return 0;
}

/* The blobs a docker:// image was made of, for its record in the store (image_blob_cache_gc()). */
static char **build_blobs;

/* Progress without a journal line each time: unpacking reports several times a second. */
static void progress_only(double fraction, const char *text) {
        _cleanup_free_ char *line = NULL;
        if (xasprintf(&line, "P %.4f %s\n", fraction, text) >= 0)
                (void) !write(progress_fd, line, strlen(line));
}

static void pull_progress(double fraction, const char *what, void *userdata) {
        progress_only(0.02 + 0.68 * fraction, what);
}

/* What skopeo prints, in the journal with the build's fields like every tool's output. */
static void pull_output(const char *line, void *userdata) {
        (void) sd_journal_send("MESSAGE=skopeo: %s", line, "PRIORITY=%d", LOG_INFO, "SANDBOX=%s", build_sandbox,
                               "SANDY_IMAGE_ID=%s", build_id, "SYSLOG_IDENTIFIER=sandy-helper", NULL);
}

static int build_docker(const Sandbox *s, const char *tmpdir) {
        _cleanup_(sandy_config_done) SandyConfig c = {};
        _cleanup_(oci_pull_result_done) OciPullResult res = {};
        _cleanup_free_ char *config_path = NULL;
        const char *reference = s->from + strlen("docker://");
        int r;

        r = sandy_config_load(NULL, &c);
        if (r < 0)
                return fail(r, "%s has errors (see the journal)", SANDY_CONFIG_FILE);
        report(0.02, "pulling %s", reference);
        OciPullOptions o = {
                .auth_file = c.registry_auth_file,
                .plain_http = c.plain_http_registries,
                .tmpdir = tmpdir,
                .progress = pull_progress,
                .output = pull_output,
        };
        r = oci_pull(reference, &confine, &o, &res);
        if (r < 0)
                return fail(r, "%s", res.error ?: "Failed to pull the image (details in the journal)");
        build_blobs = TAKE_PTR(res.blobs);
        config_path = path_join(tmpdir, "config.json");
        if (!config_path)
                return fail(ENOMEM, "Out of memory");
        r = write_file_atomic(config_path, res.config_json, strlen(res.config_json), 0644);
        if (r < 0)
                return fail(r, "Failed to write %s: %m", config_path);
        report(0.7, "pulled %s", reference);
        return 0;
}

static int build_packages(const Sandbox *s) {
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        if (strv_isempty(s->packages))
                return 0;
        if (!tree_is_executable("usr/bin/apt-get"))
                return fail(ENOENT, "Packages= needs apt-get in the image, and %s has none", s->from);
        report(0.72, "apt-get update");
        char *update[] = {"/usr/bin/apt-get", "-q", "update", NULL};
        r = run_checked(update, "apt-get update");
        if (r < 0)
                return r;
        if (strv_extend(&argv, "/usr/bin/apt-get") < 0 || strv_extend(&argv, "-q") < 0 ||
            strv_extend(&argv, "-y") < 0 || strv_extend(&argv, "--no-install-recommends") < 0 ||
            strv_extend(&argv, "install") < 0)
                return fail(ENOMEM, "Out of memory");
        STRV_FOREACH(p, s->packages)
                if (strv_extend(&argv, *p) < 0)
                        return fail(ENOMEM, "Out of memory");
        report(0.75, "apt-get install %zu packages", strv_length(s->packages));
        r = run_checked(argv, "apt-get install");
        if (r < 0)
                return r;
        char *clean[] = {"/usr/bin/apt-get", "clean", NULL};
        (void) run(clean, NULL, NULL);
        return 0;
}

static int build_setup(const Sandbox *s) {
        _cleanup_free_ char *script = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        int r;

        if (!s->setup)
                return 0;
        r = sandbox_read_setup(s, &script, &size);
        if (r < 0)
                return fail(r, "Failed to read Setup= script %s (see the journal): %m", s->setup);
        /* At the top of the tree, whose directory is ours: no symlink of the image is on the way. */
        fd = openat(tree_fd, SETUP_IN_ROOT + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
        if (fd < 0)
                return fail(errno, "Failed to create %s in the image: %m", SETUP_IN_ROOT);
        for (size_t done = 0; done < size;) {
                ssize_t k = write(fd, script + done, size - done);
                if (k < 0)
                        return fail(errno, "Failed to write %s: %m", SETUP_IN_ROOT);
                done += (size_t) k;
        }
        fd = safe_close(fd);
        report(0.85, "running Setup= script %s", s->setup);
        char *argv[] = {SETUP_IN_ROOT, NULL};
        r = run(argv, NULL, NULL);
        (void) unlinkat(tree_fd, SETUP_IN_ROOT + 1, 0);
        if (r < 0)
                return fail(r, "Setup= script %s: %m", s->setup);
        if (r > 0)
                return fail(EPROTO, "Setup= script %s failed (exit status %d)%s%s", s->setup, r,
                            last_output[0] ? ": " : "", last_output);
        return 0;
}

/* ---- the sandbox user: the image's files are edited, none of its tools run */

/* A copy of /etc/skel into the new home, as useradd --create-home makes: directories and regular files,
 * nothing else (a symlink in the image's skel is not followed). */
static int copy_skel(int from, int to, uid_t uid, gid_t gid, unsigned depth) {
        DIR *d;
        int dup_fd, r = 0;

        if (depth > 16)
                return 0;
        dup_fd = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
                safe_close(dup_fd);
                return -errno;
        }
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sf = -EBADF, tf = -EBADF;
                        if (mkdirat(to, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST)
                                continue;
                        sf = openat(from, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        tf = openat(to, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sf < 0 || tf < 0)
                                continue;
                        (void) fchown(tf, uid, gid);
                        r = copy_skel(sf, tf, uid, gid, depth + 1);
                } else if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int sf = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int tf = -EBADF;
                        char buf[16384];
                        ssize_t n;
                        if (sf < 0)
                                continue;
                        tf = openat(to, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                    st.st_mode & 0777);
                        if (tf < 0)
                                continue;
                        while ((n = read(sf, buf, sizeof buf)) > 0)
                                if (write(tf, buf, (size_t) n) != n) {
                                        r = -EIO;
                                        break;
                                }
                        (void) fchown(tf, uid, gid);
                }
        }
        closedir(d);
        return r;
}

static int append_line(const char *path, bool only_if_exists, const char *fmt, ...) _printf_(3, 4);
static int append_line(const char *path, bool only_if_exists, const char *fmt, ...) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *line = NULL;
        struct stat st;
        va_list ap;
        int k;

        fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | (only_if_exists ? 0 : O_CREAT), 0644);
        if (fd < 0)
                return only_if_exists && errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return -EBADF;
        va_start(ap, fmt);
        k = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        /* A file without a final newline must not have its last entry merged with ours. */
        if (st.st_size > 0) {
                char last = 0;
                _cleanup_close_ int rfd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (rfd >= 0 && pread(rfd, &last, 1, st.st_size - 1) == 1 && last != '\n' && write(fd, "\n", 1) != 1)
                        return -errno;
        }
        if (write(fd, line, strlen(line)) != (ssize_t) strlen(line))
                return -errno;
        return 0;
}

static bool id_taken(uid_t id) {
        struct passwd *pw;
        struct group *gr;
        FILE *f;
        bool taken = false;

        /* fgetpwent()/fgetgrent() read the files themselves: no NSS module of the image is loaded. */
        if ((f = fopen("/etc/passwd", "re"))) {
                while ((pw = fgetpwent(f)))
                        taken = taken || pw->pw_uid == id;
                fclose(f);
        }
        if ((f = fopen("/etc/group", "re"))) {
                while ((gr = fgetgrent(f)))
                        taken = taken || gr->gr_gid == id;
                fclose(f);
        }
        return taken;
}

/* Runs confined in the new root, as its root: only its own files are read and written, no program of the
 * image runs (its useradd could be anything). Exit status 0, or 1 with the reason printed. */
static int create_user_in_root(void *userdata) {
        const char *user = userdata;
        _cleanup_free_ char *home = NULL;
        struct passwd *pw;
        struct stat st;
        uid_t uid = 1000;
        FILE *f;
        int r;

        if (xasprintf(&home, "/home/%s", user) < 0)
                return 1;
        if ((f = fopen("/etc/passwd", "re"))) {
                while ((pw = fgetpwent(f)))
                        if (streq(pw->pw_name, user)) {
                                printf("User %s exists in the image (uid %u).\n", user, (unsigned) pw->pw_uid);
                                fclose(f);
                                return 0;
                        }
                fclose(f);
        }
        /* uid 1000, or the next one free as both a uid and a gid. */
        while (id_taken(uid) && uid < 60000)
                uid++;
        const char *shell = stat("/bin/bash", &st) >= 0 && S_ISREG(st.st_mode) ? "/bin/bash" : "/bin/sh";

        printf("Adding %s (uid %u) to /etc/passwd, /etc/group, /etc/shadow and /etc/gshadow\n", user,
               (unsigned) uid);
        fflush(stdout);
        r = append_line("/etc/passwd", false, "%s:x:%u:%u::%s:%s\n", user, (unsigned) uid, (unsigned) uid, home,
                        shell);
        if (r >= 0)
                r = append_line("/etc/group", false, "%s:x:%u:\n", user, (unsigned) uid);
        if (r >= 0)
                r = append_line("/etc/shadow", true, "%s:!:%ld:0:99999:7:::\n", user, (long) (time(NULL) / 86400));
        if (r >= 0)
                r = append_line("/etc/gshadow", true, "%s:!::\n", user);
        if (r < 0) {
                errno = -r;
                printf("Failed to add %s to the user database: %m\n", user);
                return 1;
        }
        (void) mkdir("/home", 0755);
        if ((mkdir(home, 0700) < 0 && errno != EEXIST) || lstat(home, &st) < 0 || !S_ISDIR(st.st_mode) ||
            lchown(home, uid, uid) < 0) {
                printf("Failed to create %s: %m\n", home);
                return 1;
        }
        _cleanup_close_ int skel = open("/etc/skel", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int hfd = open(home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (skel >= 0 && hfd >= 0)
                (void) copy_skel(skel, hfd, uid, uid, 0);
        return 0;
}

static int check_boot_in_root(void *userdata) {
        if (access("/usr/lib/systemd/systemd", X_OK) < 0 && access("/lib/systemd/systemd", X_OK) < 0)
                return 2;
        if (access("/usr/bin/dbus-daemon", X_OK) < 0 && access("/usr/bin/dbus-broker", X_OK) < 0)
                return 3;
        return 0;
}

static uint64_t dir_size;
static int add_size(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        dir_size += (uint64_t) st->st_blocks * 512;
        return 0;
}

/* No process of the build runs any more (each confined run ends with its PID namespace). */
static int finish(const Sandbox *s, const char *id, const char *tmpdir, const char *rootfs, bool force) {
        _cleanup_free_ char *recipe = NULL, *meta = NULL, *p = NULL, *dest = image_dir(id);
        struct timespec ts;
        int r;

        if (!dest)
                return fail(ENOMEM, "Out of memory");
        char check[IMAGE_ID_HEX_LEN + 1];

        r = sandbox_recipe(s, &recipe);
        if (r < 0)
                return fail(r, "Failed to compute the recipe: %m");
        /* The Setup= script is read again: if it changed during the build, the tree is not what id says. */
        r = sandbox_image_id(s, check);
        if (r < 0)
                return fail(r, "Failed to compute the recipe: %m");
        if (!streq(check, id))
                return fail(ESTALE, "The Setup= script %s changed during the build; build again", s->setup);
        dir_size = 0;
        (void) nftw(rootfs, add_size, 64, FTW_PHYS | FTW_MOUNT);
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        if (xasprintf(&meta, "from=%s\nbuilt=%llu\nsize=%llu\n", s->from,
                      (unsigned long long) ts.tv_sec * 1000000ULL + (unsigned long long) ts.tv_nsec / 1000,
                      (unsigned long long) dir_size) < 0)
                return fail(ENOMEM, "Out of memory");
        p = path_join(tmpdir, "recipe");
        if (!p || write_file_atomic(p, recipe, strlen(recipe), 0644) < 0)
                return fail(EIO, "Failed to write the recipe");
        free(p);
        p = path_join(tmpdir, "metadata");
        if (!p || write_file_atomic(p, meta, strlen(meta), 0644) < 0)
                return fail(EIO, "Failed to write the metadata");
        if (build_blobs) {
                _cleanup_free_ char *list = strv_join(build_blobs, "\n"), *text = NULL;
                free(p);
                p = path_join(tmpdir, IMAGE_BLOBS_FILE);
                if (!list || xasprintf(&text, "%s\n", list) < 0 || !p ||
                    write_file_atomic(p, text, strlen(text), 0644) < 0)
                        return fail(EIO, "Failed to write the list of blobs");
        }
        if (chmod(tmpdir, 0755) < 0)
                return fail(errno, "Failed to chmod %s: %m", tmpdir);

        if (rename(tmpdir, dest) >= 0)
                return 0;
        if (errno != EEXIST && errno != ENOTEMPTY)
                return fail(errno, "Failed to rename %s to %s: %m", tmpdir, dest);
        if (!force)
                /* Built meanwhile by someone else (the same recipe gives the same tree): keep theirs. The
                 * helper removes tmpdir once the build's cgroup is empty. */
                return 0;
        /* A forced rebuild swaps in the new tree in one step; the old one is left at tmpdir and removed
         * by the helper. */
        if (renameat2(AT_FDCWD, tmpdir, AT_FDCWD, dest, RENAME_EXCHANGE) < 0)
                return fail(errno, "Failed to replace %s: %m", dest);
        return 0;
}

static int build_source(const Sandbox *s, const char *tmpdir) {
        switch (s->from_type) {
        case IMAGE_SOURCE_DEBOOTSTRAP:
                return build_debootstrap(s);
        case IMAGE_SOURCE_DOCKER:
                return build_docker(s, tmpdir);
        case IMAGE_SOURCE_OCI:
        case IMAGE_SOURCE_OCI_ARCHIVE:
        case IMAGE_SOURCE_DOCKER_ARCHIVE:
                report(0.02, "unpacking %s", s->from);
                return build_oci(s, tmpdir, 0.02);
        default:
                return fail(EINVAL, "Unknown image source %s", s->from);
        }
}

static int build_user_and_check(const Sandbox *s) {
        int r;

        report(0.92, "creating user %s", s->user);
        r = run(NULL, create_user_in_root, s->user);
        if (r < 0)
                return fail(r, "Failed to create user %s: %m", s->user);
        if (r > 0)
                return fail(EPROTO, "Failed to create user %s in the image: %s", s->user, last_output);
        if (!s->boot)
                return 0;
        report(0.95, "checking that the image can boot");
        r = run(NULL, check_boot_in_root, NULL);
        if (r < 0)
                return fail(r, "Failed to check the image: %m");
        if (r == 2)
                return fail(ENOEXEC, "Boot=yes needs systemd in the image; add Packages=systemd dbus or use Boot=no");
        if (r == 3)
                return fail(ENOEXEC, "Boot=yes needs D-Bus in the image (dbus-daemon or dbus-broker); add "
                                     "Packages=dbus or use Boot=no");
        if (r > 0)
                return fail(EPROTO, "Checking the image failed: %s", last_output);
        return 0;
}

bool image_build_needs_network(const Sandbox *s) {
        _cleanup_(sandy_config_done) SandyConfig c = {};

        if (s->from_type != IMAGE_SOURCE_DEBOOTSTRAP)
                return !strv_isempty(s->packages);
        if (sandy_config_load(NULL, &c) < 0)
                return false; /* the build fails, naming the file */
        return !startswith(c.debootstrap_mirror, "file://");
}

int image_build(const Sandbox *s, const char *id, const char *tmpdir, bool force, uid_t uid_base,
                const char *network, int network_ready_fd, int fd) {
        _cleanup_free_ char *rootfs = NULL;
        int r;

        progress_fd = fd;
        build_sandbox = s->name;
        build_id = id;
        net_name = network;
        net_ready_fd = network_ready_fd;

        rootfs = path_join(tmpdir, "rootfs");
        if (!rootfs)
                return fail(ENOMEM, "Out of memory");
        if (mkdir(rootfs, 0755) < 0)
                return fail(errno, "Failed to create %s: %m", rootfs);
        tree_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tree_fd < 0)
                return fail(errno, "Failed to open %s: %m", rootfs);
        r = confine_init(&confine, tree_fd, uid_base);
        if (r < 0)
                return fail(r, "Failed to create the build's user namespace: %m");

        report(0.0, "building image %.12s from %s", id, s->from);
        r = build_source(s, tmpdir);
        if (r < 0)
                return r;
        r = confine_prepare_tree(tree_fd);
        if (r < 0)
                return fail(r, "The image's /proc, /dev or /etc is not a directory: %m");

        r = network_wait();
        if (r < 0)
                return r;
        network_on();
        if (!strv_isempty(s->packages) && s->from_type != IMAGE_SOURCE_DEBOOTSTRAP) {
                r = build_packages(s);
                if (r < 0)
                        return r;
        }
        r = build_setup(s);
        network_off();
        if (r < 0)
                return r;
        r = build_user_and_check(s);
        if (r < 0)
                return r;

        report(0.98, "saving image %.12s", id);
        r = finish(s, id, tmpdir, rootfs, force);
        if (r < 0)
                return r;
        report(1.0, "image %.12s built", id);
        return 0;
}
