/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image builds, run in a forked child of sandy-helper (see image-build.h): fetch or unpack the source,
 * provision (Packages=, Setup=, User=, the Boot=yes check), write the metadata, rename into the store. */
#include <dirent.h>
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
#include "image-build.h"
#include "log.h"
#include "oci.h"
#include "strv.h"
#include "fs-util.h"
#include "parse-util.h"
#include "path-util.h"
#include "rm-rf.h"
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

typedef int (*chroot_fn_t)(void *userdata);

/* A directory of the new root that we mount over or write into must be a real directory, not a symlink
 * the image could point at the host (mounts follow symlinks, and we are not chrooted here). */
static int root_subdir(const char *root, const char *sub, char **ret) {
        _cleanup_free_ char *p = path_join(root, sub);
        struct stat st;

        if (!p)
                return -ENOMEM;
        if (lstat(p, &st) < 0) {
                if (errno != ENOENT)
                        return -errno;
                if (mkdir(p, 0755) < 0)
                        return -errno;
        } else if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        *ret = TAKE_PTR(p);
        return 0;
}

/* Capabilities the image's own programs (apt, dpkg scripts, useradd, Setup=) keep while they run as root
 * in the new root: enough to install packages and chown files, none that leads out of a chroot (chroot,
 * mount, open_by_handle_at, ptrace, mknod, modules, raw I/O) or into the host's kernel settings. */
static const int kept_caps[] = {
        CAP_CHOWN,  CAP_DAC_OVERRIDE,     CAP_FOWNER,   CAP_FSETID,  CAP_KILL,
        CAP_SETGID, CAP_SETUID,           CAP_SETFCAP,  CAP_NET_RAW, CAP_NET_BIND_SERVICE,
        CAP_AUDIT_WRITE,
};

static bool cap_is_kept(int c) {
        for (size_t i = 0; i < ELEMENTSOF(kept_caps); i++)
                if (kept_caps[i] == c)
                        return true;
        return false;
}

/* The image's /dev: a tmpfs with the few harmless nodes bound from the host, never the host's /dev. */
static int mount_dev(const char *root) {
        static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
        _cleanup_free_ char *dev = NULL;
        int r;

        r = root_subdir(root, "dev", &dev);
        if (r < 0)
                return r;
        if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4m") < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                _cleanup_free_ char *host = path_join("/dev", nodes[i]), *p = path_join(dev, nodes[i]);
                int fd;

                if (!host || !p)
                        return -ENOMEM;
                fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (fd < 0)
                        return -errno;
                safe_close(fd);
                if (mount(host, p, NULL, MS_BIND, NULL) < 0)
                        return -errno;
        }
        static const char *const links[][2] = {
                {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},
        };
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                _cleanup_free_ char *p = path_join(dev, links[i][0]);
                if (!p)
                        return -ENOMEM;
                if (symlink(links[i][1], p) < 0)
                        return -errno;
        }
        _cleanup_free_ char *shm = path_join(dev, "shm"), *pts = path_join(dev, "pts");
        if (!shm || !pts)
                return -ENOMEM;
        if (mkdir(shm, 01777) < 0 || mkdir(pts, 0755) < 0)
                return -errno;
        if (mount("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") < 0)
                return -errno;
        return 0;
}

/* In the child that runs image code: PID 1 of new PID, IPC, UTS and mount namespaces, with its own /proc
 * and a minimal /dev, chrooted, with a reduced capability bounding set and no_new_privs. Returns only on
 * failure. The network is shared: Packages= and Setup= scripts download. */
static void enter_confined_root(const char *root) {
        _cleanup_free_ char *proc = NULL;
        int r;

        if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
                fprintf(stderr, "unshare: %m\n");
                _exit(127);
        }
        pid_t pid = fork();
        if (pid < 0) {
                fprintf(stderr, "fork: %m\n");
                _exit(127);
        }
        if (pid > 0) {
                /* Relay the exit status; when this process dies, PID 1 below is killed with everything in
                 * its namespace. */
                int status;
                if (wait_for_pid(pid, &status) < 0)
                        _exit(127);
                _exit(exit_status_from_wait(status));
        }
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "Failed to make mounts private: %m\n");
                _exit(127);
        }
        r = root_subdir(root, "proc", &proc);
        if (r < 0 || mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                fprintf(stderr, "Failed to mount /proc in the new root: %s\n", strerror(r < 0 ? -r : errno));
                _exit(127);
        }
        r = mount_dev(root);
        if (r < 0) {
                fprintf(stderr, "Failed to set up /dev in the new root: %s\n", strerror(-r));
                _exit(127);
        }
        if (chroot(root) < 0 || chdir("/") < 0) {
                fprintf(stderr, "chroot %s: %m\n", root);
                _exit(127);
        }
        (void) sethostname("sandy-build", strlen("sandy-build"));
        for (int c = 0; c <= CAP_LAST_CAP; c++)
                if (!cap_is_kept(c) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) {
                        fprintf(stderr, "Failed to drop capability %d: %m\n", c);
                        _exit(127);
                }
        /* The bounding set alone is not enough: root's inheritable set passes through exec unchanged
         * (a root exec treats the file's inheritable set as full), and ambient capabilities too. */
        cap_t caps = cap_get_proc();
        if (!caps || cap_clear_flag(caps, CAP_INHERITABLE) < 0) {
                fprintf(stderr, "Failed to read capabilities: %m\n");
                _exit(127);
        }
        for (int c = 0; c <= CAP_LAST_CAP; c++) {
                cap_value_t v = c;
                if (!cap_is_kept(c) && (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_CLEAR) < 0 ||
                                        cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) < 0)) {
                        fprintf(stderr, "Failed to drop capability %d: %m\n", c);
                        _exit(127);
                }
        }
        if (cap_set_proc(caps) < 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
                fprintf(stderr, "Failed to set capabilities: %m\n");
                _exit(127);
        }
        cap_free(caps);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                fprintf(stderr, "Failed to set no_new_privs: %m\n");
                _exit(127);
        }
}

/* Run argv (or fn) in a child; with root set, confined in the new root (enter_confined_root()). Its output
 * goes to the journal line by line. Returns the exit status (>= 0) or a negative errno. */
static int run(const char *root, char *const *argv, chroot_fn_t fn, void *userdata) {
        static char *const env[] = {CHROOT_PATH, "HOME=/root", "LANG=C", "DEBIAN_FRONTEND=noninteractive",
                                    "DEBCONF_NONINTERACTIVE_SEEN=true", NULL};
        _cleanup_fclose_ FILE *f = NULL;
        char *line = NULL;
        size_t n = 0;
        int pipefd[2];
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return -errno;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 || dup2(pipefd[1], 2) < 0)
                        _exit(127);
                if (root)
                        enter_confined_root(root);
                if (fn)
                        _exit(fn(userdata));
                if (root)
                        execve(argv[0], argv, env);
                else {
                        environ = (char **) env;
                        execvp(argv[0], argv);
                }
                fprintf(stderr, "Failed to run %s: %m\n", argv[0]);
                _exit(127);
        }
        safe_close(pipefd[1]);
        f = fdopen(pipefd[0], "r");
        if (!f) {
                safe_close(pipefd[0]);
                (void) wait_for_pid(pid, NULL);
                return -ENOMEM;
        }
        last_output[0] = 0;
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
        return wait_for_terminate_and_check(NULL, pid);
}

static int run_checked(const char *root, char *const *argv, const char *what) {
        int r = run(root, argv, NULL, NULL);
        if (r < 0)
                return fail(r, "%s: %m", what);
        if (r > 0)
                return fail(EPROTO, "%s failed (exit status %d)%s%s", what, r, last_output[0] ? ": " : "",
                            last_output);
        return 0;
}

static int build_debootstrap(const Sandbox *s, const char *rootfs) {
        _cleanup_(sandy_config_done) SandyConfig c = {};
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *include = NULL, *keyring = NULL;
        const char *suite = s->from + strlen("debootstrap:");
        int r;

        r = sandy_config_load(NULL, &c);
        if (r < 0)
                return fail(r, "%s has errors (see the journal)", SANDY_CONFIG_FILE);
        if (strv_extend(&argv, "debootstrap") < 0 || strv_extend(&argv, "--variant=minbase") < 0)
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
            strv_extend(&argv, suite) < 0 || strv_extend(&argv, rootfs) < 0 ||
            strv_extend(&argv, c.debootstrap_mirror) < 0)
                return fail(ENOMEM, "Out of memory");
        report(0.05, "debootstrap %s from %s", suite, c.debootstrap_mirror);
        r = run_checked(NULL, argv, "debootstrap");
        if (r < 0)
                return r;
        /* debootstrap copies the build host's /etc/hostname into the new root: without it nspawn names
         * the sandbox after its machine name, and the image says nothing about the host. */
        _cleanup_free_ char *hostname = path_join(rootfs, "etc/hostname");
        if (!hostname)
                return fail(ENOMEM, "Out of memory");
        if (unlink(hostname) < 0 && errno != ENOENT)
                return fail(errno, "Failed to remove %s: %m", hostname);
        return 0;
}

static void oci_progress(double fraction, const char *what, void *userdata) {
        double base = *(double *) userdata;
        report(base + (0.7 - base) * fraction, "unpacking %s", what);
}

static int build_oci(ImageSourceType type, const char *location, const char *tmpdir, const char *rootfs,
                     double base) {
        _cleanup_free_ char *config = NULL, *config_path = NULL;
        int r;

        r = oci_unpack(type, location, rootfs, oci_progress, &base, &config);
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

static int build_docker(const Sandbox *s, const char *tmpdir, const char *rootfs) {
        _cleanup_free_ char *dest = NULL, *location = NULL;
        int r;

        /* skopeo fetches (and checks) into an OCI layout; unpacking is ours, like for oci:. */
        if (xasprintf(&location, "%s/layout:img", tmpdir) < 0 || xasprintf(&dest, "oci:%s", location) < 0)
                return fail(ENOMEM, "Out of memory");
        report(0.02, "skopeo copy %s", s->from);
        char *argv[] = {"skopeo", "copy", "--quiet", s->from, dest, NULL};
        r = run_checked(NULL, argv, "skopeo copy");
        if (r < 0)
                return r;
        return build_oci(IMAGE_SOURCE_OCI, location, tmpdir, rootfs, 0.4);
}

static int build_packages(const Sandbox *s, const char *rootfs) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *apt = path_join(rootfs, "usr/bin/apt-get");
        int r;

        if (strv_isempty(s->packages))
                return 0;
        if (!apt || access(apt, X_OK) < 0)
                return fail(ENOENT, "Packages= needs apt-get in the image, and %s has none", s->from);
        report(0.72, "apt-get update");
        char *update[] = {"/usr/bin/apt-get", "-q", "update", NULL};
        r = run_checked(rootfs, update, "apt-get update");
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
        r = run_checked(rootfs, argv, "apt-get install");
        if (r < 0)
                return r;
        char *clean[] = {"/usr/bin/apt-get", "clean", NULL};
        (void) run(rootfs, clean, NULL, NULL);
        return 0;
}

static int build_setup(const Sandbox *s, const char *rootfs) {
        _cleanup_free_ char *script = NULL, *dest = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        int r;

        if (!s->setup)
                return 0;
        r = read_full_file(s->setup, 1024 * 1024, &script, &size);
        if (r < 0)
                return fail(r, "Failed to read Setup= script %s: %m", s->setup);
        dest = path_join(rootfs, SETUP_IN_ROOT + 1);
        if (!dest)
                return fail(ENOMEM, "Out of memory");
        fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0700);
        if (fd < 0)
                return fail(errno, "Failed to create %s: %m", dest);
        for (size_t done = 0; done < size;) {
                ssize_t k = write(fd, script + done, size - done);
                if (k < 0)
                        return fail(errno, "Failed to write %s: %m", dest);
                done += (size_t) k;
        }
        fd = safe_close(fd);
        report(0.85, "running Setup= script %s", s->setup);
        char *argv[] = {SETUP_IN_ROOT, NULL};
        r = run(rootfs, argv, NULL, NULL);
        (void) unlink(dest);
        if (r < 0)
                return fail(r, "Setup= script %s: %m", s->setup);
        if (r > 0)
                return fail(EPROTO, "Setup= script %s failed (exit status %d)%s%s", s->setup, r,
                            last_output[0] ? ": " : "", last_output);
        return 0;
}

/* Runs chrooted into the new root: only its own files are read and written. Exit status 0, or 1 with
 * the reason printed. */
static int create_user_in_root(void *userdata) {
        const char *user = userdata;
        const char *shell = access("/bin/bash", X_OK) >= 0 ? "/bin/bash" : "/bin/sh";
        _cleanup_free_ char *home = NULL;
        struct passwd *pw;
        struct group *gr;
        uid_t uid = 1000;
        FILE *f;
        bool taken;

        if (xasprintf(&home, "/home/%s", user) < 0)
                return 1;
        f = fopen("/etc/passwd", "re");
        if (f) {
                while ((pw = fgetpwent(f)))
                        if (streq(pw->pw_name, user)) {
                                printf("User %s exists in the image (uid %u).\n", user, (unsigned) pw->pw_uid);
                                fclose(f);
                                return 0;
                        }
                fclose(f);
        }
        /* uid 1000, or the next one free as both a uid and a gid. */
        do {
                taken = false;
                f = fopen("/etc/passwd", "re");
                if (f) {
                        while ((pw = fgetpwent(f)))
                                taken = taken || pw->pw_uid == uid;
                        fclose(f);
                }
                f = fopen("/etc/group", "re");
                if (f) {
                        while ((gr = fgetgrent(f)))
                                taken = taken || gr->gr_gid == uid;
                        fclose(f);
                }
                if (taken)
                        uid++;
        } while (taken && uid < 60000);

        if (access("/usr/sbin/useradd", X_OK) >= 0) {
                char uidstr[16];
                snprintf(uidstr, sizeof uidstr, "%u", (unsigned) uid);
                char *argv[] = {"/usr/sbin/useradd", "--create-home", "--uid", uidstr, "--user-group",
                                "--shell", (char *) shell, "--home-dir", home, (char *) user, NULL};
                char *env[] = {CHROOT_PATH, NULL};
                printf("useradd %s (uid %s)\n", user, uidstr);
                fflush(stdout);
                execve(argv[0], argv, env);
                printf("Failed to run useradd: %m\n");
                return 1;
        }

        /* No shadow tools (e.g. busybox images): write the entries directly. */
        printf("Adding %s (uid %u) to /etc/passwd and /etc/group\n", user, (unsigned) uid);
        f = fopen("/etc/passwd", "ae");
        if (!f || fprintf(f, "%s:x:%u:%u::%s:%s\n", user, (unsigned) uid, (unsigned) uid, home, shell) < 0 ||
            fclose(f) != 0) {
                printf("Failed to write /etc/passwd: %m\n");
                return 1;
        }
        f = fopen("/etc/group", "ae");
        if (!f || fprintf(f, "%s:x:%u:\n", user, (unsigned) uid) < 0 || fclose(f) != 0) {
                printf("Failed to write /etc/group: %m\n");
                return 1;
        }
        if (access("/etc/shadow", F_OK) >= 0) {
                f = fopen("/etc/shadow", "ae");
                if (!f || fprintf(f, "%s:!:19000:0:99999:7:::\n", user) < 0 || fclose(f) != 0) {
                        printf("Failed to write /etc/shadow: %m\n");
                        return 1;
                }
        }
        (void) mkdir("/home", 0755);
        if ((mkdir(home, 0700) < 0 && errno != EEXIST) || chown(home, uid, uid) < 0) {
                printf("Failed to create %s: %m\n", home);
                return 1;
        }
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
        if (chmod(tmpdir, 0755) < 0)
                return fail(errno, "Failed to chmod %s: %m", tmpdir);

        if (rename(tmpdir, dest) >= 0)
                return 0;
        if (errno != EEXIST && errno != ENOTEMPTY)
                return fail(errno, "Failed to rename %s to %s: %m", tmpdir, dest);
        if (!force)
                /* Built meanwhile by someone else (the same recipe gives the same tree): keep theirs. */
                return rm_rf(tmpdir);
        /* A forced rebuild swaps in the new tree in one step; the old one is left at tmpdir and removed. */
        if (renameat2(AT_FDCWD, tmpdir, AT_FDCWD, dest, RENAME_EXCHANGE) < 0)
                return fail(errno, "Failed to replace %s: %m", dest);
        (void) rm_rf(tmpdir);
        return 0;
}

int image_build(const Sandbox *s, const char *id, const char *tmpdir, bool force, int fd) {
        _cleanup_free_ char *rootfs = NULL;
        int r;

        progress_fd = fd;
        build_sandbox = s->name;
        build_id = id;

        /* Mounts made during the build (debootstrap mounts /proc and /sys in the new root) stay in this
         * process's namespace and vanish with it, even when it is killed. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return fail(errno, "Failed to set up a private mount namespace: %m");

        rootfs = path_join(tmpdir, "rootfs");
        if (!rootfs)
                return fail(ENOMEM, "Out of memory");
        if (mkdir(rootfs, 0755) < 0)
                return fail(errno, "Failed to create %s: %m", rootfs);

        report(0.0, "building image %.12s from %s", id, s->from);
        switch (s->from_type) {
        case IMAGE_SOURCE_DEBOOTSTRAP:
                r = build_debootstrap(s, rootfs);
                break;
        case IMAGE_SOURCE_DOCKER:
                r = build_docker(s, tmpdir, rootfs);
                break;
        case IMAGE_SOURCE_OCI:
        case IMAGE_SOURCE_OCI_ARCHIVE:
        case IMAGE_SOURCE_DOCKER_ARCHIVE:
                report(0.02, "unpacking %s", s->from);
                r = build_oci(s->from_type, s->from + strlen(image_source_type_to_string(s->from_type)), tmpdir,
                              rootfs, 0.02);
                break;
        default:
                r = fail(EINVAL, "Unknown image source %s", s->from);
        }
        if (r < 0)
                return r;

        if (!strv_isempty(s->packages) && s->from_type != IMAGE_SOURCE_DEBOOTSTRAP) {
                r = build_packages(s, rootfs);
                if (r < 0)
                        return r;
        }
        if (s->setup) {
                r = build_setup(s, rootfs);
                if (r < 0)
                        return r;
        }

        report(0.92, "creating user %s", s->user);
        r = run(rootfs, NULL, create_user_in_root, s->user);
        if (r < 0)
                return fail(r, "Failed to create user %s: %m", s->user);
        if (r > 0)
                return fail(EPROTO, "Failed to create user %s in the image: %s", s->user, last_output);

        if (s->boot) {
                report(0.95, "checking that the image can boot");
                r = run(rootfs, NULL, check_boot_in_root, NULL);
                if (r < 0)
                        return fail(r, "Failed to check the image: %m");
                if (r == 2)
                        return fail(ENOEXEC, "Boot=yes needs systemd in the image; add Packages=systemd dbus or "
                                             "use Boot=no");
                if (r == 3)
                        return fail(ENOEXEC, "Boot=yes needs D-Bus in the image (dbus-daemon or dbus-broker); add "
                                             "Packages=dbus or use Boot=no");
                if (r > 0)
                        return fail(EPROTO, "Checking the image failed: %s", last_output);
        }

        report(0.98, "saving image %.12s", id);
        r = finish(s, id, tmpdir, rootfs, force);
        if (r < 0)
                return r;
        report(1.0, "image %.12s built", id);
        return 0;
}
