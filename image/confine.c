/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Confined runs of image and recipe code: see confine.h for the three processes and why. */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "confine.h"
#include "fs-util.h"
#include "hash.h"
#include "mount-util.h"
#include "path-util.h"
#include "paths.h"
#include "process-util.h"
#include "string-util.h"
#include "strv.h"
#include "uid-range.h"

/* ---- the build's user namespace and UID range */

int confine_init(Confine *c, int tree_fd, uid_t base) {
        char map[64];
        int fd;

        *c = (Confine){.base = base,
                       .userns_fd = -EBADF,
                       .tree_fd = tree_fd,
                       .netns_fd = -EBADF,
                       .resolv_fd = -EBADF};
        snprintf(map, sizeof map, "0 %u %u\n", (unsigned)base, SANDY_UID_RANGE);
        fd = userns_fd(map, map);
        if (fd < 0)
                return fd;
        c->userns_fd = fd;
        return 0;
}

void confine_done(Confine *c) {
        c->userns_fd = safe_close(c->userns_fd);
        c->netns_fd = safe_close(c->netns_fd);
        c->resolv_fd = safe_close(c->resolv_fd);
        c->host_binds = strv_free(c->host_binds);
}

static int range_slot_name(uid_t base, char buf[static 16]) {
        if (base < SANDY_UID_BASE_MIN || (base - SANDY_UID_BASE_MIN) % SANDY_UID_RANGE != 0 ||
            (base - SANDY_UID_BASE_MIN) / SANDY_UID_RANGE >= SANDY_UID_SLOTS)
                return -EINVAL;
        snprintf(buf, 16, "slot-%04x", (unsigned)((base - SANDY_UID_BASE_MIN) / SANDY_UID_RANGE));
        return 0;
}

/* Same directory and scheme as the sandboxes' ranges (prepare/uid-range.c): symlinkat() takes a slot
 * atomically, so a build never shares a range with a sandbox or another build. */
int confine_range_acquire(const char *tag, uid_t *ret_base) {
        _cleanup_free_ char *owner = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (xasprintf(&owner, SANDY_UID_BUILD_OWNER_PREFIX "%s", tag) < 0)
                return -ENOMEM;
        r = mkdir_p(SANDY_UIDMAP_DIR, 0700);
        if (r < 0)
                return r;
        dfd = open(SANDY_UIDMAP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        /* Builds probe from the top, sandboxes from a hash of their name: they rarely meet. */
        for (uint32_t i = 0; i < SANDY_UID_SLOTS; i++) {
                uint32_t slot = SANDY_UID_SLOTS - 1 - i;
                char name[16];

                snprintf(name, sizeof name, "slot-%04x", (unsigned)slot);
                if (symlinkat(owner, dfd, name) >= 0) {
                        *ret_base = SANDY_UID_BASE_MIN + slot * SANDY_UID_RANGE;
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -ENOSPC;
}

void confine_range_release(uid_t base, const char *tag) {
        _cleanup_free_ char *owner = NULL;
        char name[16], target[256];
        ssize_t n;

        if (range_slot_name(base, name) < 0 || xasprintf(&owner, SANDY_UID_BUILD_OWNER_PREFIX "%s", tag) < 0)
                return;
        _cleanup_close_ int dfd = open(SANDY_UIDMAP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return;
        n = readlinkat(dfd, name, target, sizeof target - 1);
        if (n < 0)
                return;
        target[n] = 0;
        if (streq(target, owner))
                (void)unlinkat(dfd, name, 0);
}

void confine_range_clean(void) {
        DIR *d = opendir(SANDY_UIDMAP_DIR);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                char target[256];
                ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
                if (n < 0 || !startswith(de->d_name, "slot-"))
                        continue;
                target[n] = 0;
                if (startswith(target, SANDY_UID_BUILD_OWNER_PREFIX))
                        (void)unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
}

/* ---- preparing the tree (in the builder, before any run) */

static int ensure_dir_at(int dfd, const char *name) {
        struct stat st;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (errno != ENOENT)
                return -errno;
        if (mkdirat(dfd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int confine_prepare_tree(int tree_fd) {
        static const char *const dirs[] = {"proc", "dev", "etc", "run"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                int r = ensure_dir_at(tree_fd, dirs[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- inside: helpers that print the reason and _exit(127) */

_noreturn_ _printf_(1, 2) static void die(const char *fmt, ...) {
        char buf[512];
        va_list ap;
        int saved = errno;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        errno = saved;
        dprintf(STDERR_FILENO, "sandy build confinement: %s: %m\n", buf);
        _exit(127);
}

static int pivot_root(const char *new_root, const char *put_old) {
        return (int)syscall(SYS_pivot_root, new_root, put_old);
}

/* A detached clone of a host device node, taken before the pivot. */
static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* Detached clones can be attached once each and only cloned from the namespace they came from: one per
 * place a node is shown (/dev, and the tree's /dev in CONFINE_VIEW_HOST; "console" is another null). */
#define N_DEV (ELEMENTSOF(dev_nodes) + 1)

typedef struct Mounts {
        int dev[2][N_DEV];
        int tree;   /* the idmapped clone of the tree */
        int host;   /* CONFINE_VIEW_HOST, CONFINE_VIEW_FETCH: the read-only clone of / */
        int resolv; /* bind of the resolv.conf to show */
        char *resolv_path; /* CONFINE_VIEW_FETCH: where the host's /etc/resolv.conf really is */
        int *binds; /* CONFINE_VIEW_HOST: clones of host_binds */
        size_t n_binds;
        int rw; /* CONFINE_VIEW_FETCH: the clone of rw_fd */
} Mounts;

/* A detached clone, made private: a clone of a shared mount is a peer of the original, and whatever is
 * mounted on it (the build's /proc, /dev, /run) would show up on the host's tree too. */
static int clone_detached(int dfd, const char *path, unsigned flags) {
        struct mount_attr priv = {.propagation = MS_PRIVATE};
        int fd = open_tree(dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags);

        if (fd < 0)
                return -1;
        if (mount_setattr(fd, "", AT_EMPTY_PATH | (flags & AT_RECURSIVE), &priv, sizeof priv) < 0) {
                safe_close(fd);
                return -1;
        }
        return fd;
}

static void take_mounts(const Confine *c, const ConfineExec *e, Mounts *m) {
        struct mount_attr idmap = {
                        .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
                        .userns_fd = (uint64_t)c->userns_fd,
        };

        for (size_t j = 0; j < (e->view == CONFINE_VIEW_HOST                                 ? 2U
                                : IN_SET(e->view, CONFINE_VIEW_TREE, CONFINE_VIEW_FETCH) ? 1U
                                                                                         : 0U);
             j++)
                for (size_t i = 0; i < N_DEV; i++) {
                        const char *n = dev_nodes[i < ELEMENTSOF(dev_nodes) ? i : 0];
                        _cleanup_free_ char *p = path_join("/dev", n);
                        m->dev[j][i] = p ? clone_detached(AT_FDCWD, p, 0) : -1;
                        if (m->dev[j][i] < 0)
                                die("clone /dev/%s", n);
                }
        m->tree = m->resolv = m->host = m->rw = -1;
        if (e->view == CONFINE_VIEW_FETCH) {
                struct mount_attr rw = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
                m->rw = clone_detached(e->rw_fd, "", AT_EMPTY_PATH);
                if (m->rw < 0 || mount_setattr(m->rw, "", AT_EMPTY_PATH, &rw, sizeof rw) < 0)
                        die("clone the fetch directory");
                /* The helper's own resolver configuration, wherever its symlink leads (often into /run,
                 * which is hidden). None: names do not resolve, and the tool says so. */
                m->resolv_path = realpath("/etc/resolv.conf", NULL);
                if (m->resolv_path && (m->resolv = clone_detached(AT_FDCWD, m->resolv_path, 0)) < 0)
                        die("clone %s", m->resolv_path);
        } else {
                m->tree = clone_detached(c->tree_fd, "", AT_EMPTY_PATH);
                if (m->tree < 0 || mount_setattr(m->tree, "", AT_EMPTY_PATH, &idmap, sizeof idmap) < 0)
                        die("idmapped mount of the tree");
                if (c->resolv_fd >= 0 && (m->resolv = clone_detached(c->resolv_fd, "", AT_EMPTY_PATH)) < 0)
                        die("clone resolv.conf");
        }
        if (IN_SET(e->view, CONFINE_VIEW_HOST, CONFINE_VIEW_FETCH)) {
                struct mount_attr ro = {
                                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                };
                m->host = clone_detached(AT_FDCWD, "/", AT_RECURSIVE);
                if (m->host < 0 ||
                    mount_setattr(m->host, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) < 0)
                        die("read-only clone of /");
                m->n_binds = e->view == CONFINE_VIEW_HOST ? strv_length(c->host_binds) : 0;
                m->binds = new0(int, m->n_binds);
                if (!m->binds)
                        die("out of memory");
                for (size_t i = 0; i < m->n_binds; i++) {
                        m->binds[i] = clone_detached(AT_FDCWD, c->host_binds[i], AT_RECURSIVE);
                        if (m->binds[i] < 0 ||
                            mount_setattr(m->binds[i], "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof ro) < 0)
                                die("read-only clone of %s", c->host_binds[i]);
                }
        }
}

static void attach(int fd, const char *target) {
        if (move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                die("attach %s", target);
}

static void mount_or_die(const char *src, const char *target, const char *type, unsigned long flags,
                         const char *data) {
        if (mount(src, target, type, flags, data) < 0)
                die("mount %s on %s", type ?: src, target);
}

/* A directory that is really one (after the pivot: resolved inside the tree, but never through a symlink
 * the image put there). */
static void check_dir(const char *path) {
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                die("%s is not a directory", path);
}

static void mount_proc(const char *where) {
        _cleanup_free_ char *sys = path_join(where, "sys"), *sysrq = path_join(where, "sysrq-trigger");

        check_dir(where);
        mount_or_die("proc", where, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        /* As nspawn does: the kernel's knobs are read-only. The mount namespace belongs to the initial user
         * namespace, so nothing inside can remount them. */
        if (!sys || !sysrq)
                die("out of memory");
        mount_or_die(sys, sys, NULL, MS_BIND | MS_REC, NULL);
        mount_or_die(NULL, sys, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     NULL);
        if (access(sysrq, F_OK) >= 0) {
                mount_or_die(sysrq, sysrq, NULL, MS_BIND, NULL);
                mount_or_die(NULL, sysrq, NULL,
                             MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        }
}

/* A tmpfs owned by the build's root with the harmless nodes bound from the host: never the host's /dev. */
static void mount_dev(const char *where, const int dev[static N_DEV], uid_t base) {
        static const char *const links[][2] = {
                        {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"},
                        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
                        {"ptmx", "pts/ptmx"},
        };
        char opts[96];

        check_dir(where);
        snprintf(opts, sizeof opts, "mode=0755,size=4m,uid=%u,gid=%u", (unsigned)base, (unsigned)base);
        mount_or_die("tmpfs", where, "tmpfs", MS_NOSUID | MS_NOEXEC, opts);
        _cleanup_close_ int dfd = open(where, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                die("open %s", where);
        for (size_t i = 0; i < N_DEV; i++) {
                /* console: debootstrap wants one; it is another /dev/null here. */
                const char *name = i < ELEMENTSOF(dev_nodes) ? dev_nodes[i] : "console";
                int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (fd < 0)
                        die("create %s/%s", where, name);
                safe_close(fd);
                if (move_mount(dev[i], "", dfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        die("bind %s/%s", where, name);
        }
        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i][1], dfd, links[i][0]) < 0)
                        die("symlink %s/%s", where, links[i][0]);
        if (mkdirat(dfd, "shm", 01777) < 0 || fchmodat(dfd, "shm", 01777, 0) < 0 ||
            mkdirat(dfd, "pts", 0755) < 0)
                die("mkdir in %s", where);
        _cleanup_free_ char *pts = path_join(where, "pts");
        if (!pts)
                die("out of memory");
        mount_or_die("devpts", pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
}

static void mount_tmpfs(const char *where, const char *mode) {
        char opts[64];
        snprintf(opts, sizeof opts, "mode=%s,size=64m", mode);
        mount_or_die("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

/* /run is a tmpfs of the build's own, as nspawn gives a container. It holds the "chroot" the build's
 * PATH finds first: the payload has no CAP_SYS_CHROOT, and debootstrap --second-stage runs everything
 * through "chroot /". */
static void mount_run(uid_t base) {
        static const char shim[] =
                        "#!/bin/sh\n"
                        "# sandy: the image build is confined to its tree; \"chroot / CMD\" runs CMD.\n"
                        "[ \"$1\" = / ] || { echo \"chroot: only / in an image build\" >&2; exit 125; }\n"
                        "shift\nexec \"$@\"\n";
        char opts[96];

        check_dir("/run");
        snprintf(opts, sizeof opts, "mode=0755,size=64m,uid=%u,gid=%u", (unsigned)base, (unsigned)base);
        mount_or_die("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, opts);
        if (mkdir_p(CONFINE_SHIM_DIR, 0755) < 0)
                die("mkdir %s", CONFINE_SHIM_DIR);
        _cleanup_close_ int fd =
                        open(CONFINE_SHIM_DIR "/chroot", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (fd < 0 || write(fd, shim, strlen(shim)) != (ssize_t)strlen(shim))
                die("write %s/chroot", CONFINE_SHIM_DIR);
}

/* The host's /etc/resolv.conf is often a symlink into /run, which is hidden here: the file it names is
 * made on the tmpfs, and the build's resolv.conf shown on it. */
/* An empty file at path (and its directories) in the new tmpfs, to mount a file of the host on. */
static void make_file_mount_point(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash = dir ? strrchr(dir, '/') : NULL;

        if (!slash)
                die("out of memory");
        *slash = 0;
        if (mkdir_p(dir, 0755) < 0)
                die("mkdir %s", dir);
        safe_close(open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
}

static void show_host_resolv_conf(int fd) {
        char target[PATH_MAX];
        ssize_t n = readlink("/etc/resolv.conf", target, sizeof target - 1);

        if (n > 0) {
                target[n] = 0;
                _cleanup_free_ char *abs = target[0] == '/' ? strdup(target) : path_join("/etc", target);
                if (!abs)
                        die("out of memory");
                if (startswith(abs, "/run/") && !strstr(abs, "/../"))
                        make_file_mount_point(abs);
        }
        attach(fd, "/etc/resolv.conf");
}

/* What CONFINE_VIEW_HOST and CONFINE_VIEW_FETCH hide of the host, each under an empty tmpfs. */
static const char *const hidden_dirs[] = {"/run", "/tmp", "/var/tmp", "/home",    "/root",
                                          "/srv", "/mnt", "/media",   "/var/log", "/sys"};

/* A file of the host (the clone fd) shown at its own canonical path when that is under a hidden directory;
 * elsewhere the read-only host shows it already. */
static void show_hidden_file(int fd, const char *path) {
        bool hidden = false;

        for (size_t i = 0; i < ELEMENTSOF(hidden_dirs); i++)
                hidden = hidden || path_startswith(path, hidden_dirs[i]);
        if (!hidden)
                return;
        make_file_mount_point(path);
        attach(fd, path);
}

/* The tree (or the host) becomes / of this mount namespace. Everything is mounted from fds taken before,
 * and after the pivot every path is resolved inside the new root. */
static void setup_root(const Confine *c, const ConfineExec *e, Mounts *m) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("make mounts private");
        /* The new root goes on top of the old one and becomes the root, as systemd's mount_switch_root()
         * does it: pivot_root(".", ".") stacks the old root over it, which is then detached; where the
         * current root is the namespace's absolute root (inside a container) pivot_root() refuses, and
         * the root is changed with chroot(). Either way the payload cannot leave it: it has no
         * CAP_SYS_CHROOT, no fd from outside, and cannot mount or make namespaces. */
        int root = IN_SET(e->view, CONFINE_VIEW_HOST, CONFINE_VIEW_FETCH) ? m->host : m->tree;
        attach(root, "/");
        if (fchdir(root) < 0)
                die("fchdir to the new root");
        if (pivot_root(".", ".") >= 0) {
                if (umount2(".", MNT_DETACH) < 0)
                        die("detach the old root");
        } else if (errno != EINVAL || chroot(".") < 0)
                die("switch to the new root");
        if (chdir("/") < 0)
                die("chdir /");

        if (IN_SET(e->view, CONFINE_VIEW_HOST, CONFINE_VIEW_FETCH)) {
                /* Hide what holds sockets and other users' files (the store is 0700 anyway); the tree goes
                 * to a tmpfs. */
                for (size_t i = 0; i < ELEMENTSOF(hidden_dirs); i++) {
                        struct stat st;
                        if (lstat(hidden_dirs[i], &st) < 0 || !S_ISDIR(st.st_mode))
                                continue;
                        mount_tmpfs(hidden_dirs[i],
                                    streq(hidden_dirs[i], "/tmp") || streq(hidden_dirs[i], "/var/tmp") ? "01777"
                                                                                                       : "0755");
                }
                if (e->view == CONFINE_VIEW_FETCH) {
                        if (mkdir_p(CONFINE_FETCH_DIR, 0755) < 0)
                                die("mkdir %s", CONFINE_FETCH_DIR);
                        attach(m->rw, CONFINE_FETCH_DIR);
                        mount_proc("/proc");
                        mount_dev("/dev", m->dev[0], c->base);
                        if (m->resolv >= 0)
                                show_hidden_file(m->resolv, m->resolv_path);
                        return;
                }
                for (size_t i = 0; i < m->n_binds; i++) {
                        struct stat st;
                        /* Not creatable on the read-only host: a bind under a hidden tmpfs only. */
                        if (lstat(c->host_binds[i], &st) < 0 && mkdir_p(c->host_binds[i], 0755) < 0)
                                continue;
                        attach(m->binds[i], c->host_binds[i]);
                }
                if (mkdir_p(CONFINE_HOST_TARGET, 0755) < 0)
                        die("mkdir %s", CONFINE_HOST_TARGET);
                attach(m->tree, CONFINE_HOST_TARGET);
                mount_proc("/proc");
                mount_dev("/dev", m->dev[0], c->base);
                mount_dev(CONFINE_HOST_TARGET "/dev", m->dev[1], c->base);
                if (m->resolv >= 0)
                        show_host_resolv_conf(m->resolv);
                return;
        }
        if (e->view == CONFINE_VIEW_BARE)
                return;
        mount_proc("/proc");
        mount_dev("/dev", m->dev[0], c->base);
        mount_run(c->base);
        if (m->resolv >= 0) {
                struct stat st;
                if (lstat("/etc/resolv.conf", &st) >= 0 && S_ISREG(st.st_mode))
                        attach(m->resolv, "/etc/resolv.conf");
        }
}

/* In the payload: the build's user namespace, root there, only the caps asked for, nothing ambient or
 * inheritable, no_new_privs, seccomp. */
static void enter_userns(const Confine *c, const ConfineExec *e) {
        uint64_t keep = e->caps ?: CONFINE_CAPS_DEFAULT;

        if (setns(c->userns_fd, CLONE_NEWUSER) < 0)
                die("join the build's user namespace");
        if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                die("become root of the build's user namespace");
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
                if (!(keep & CAPBIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        die("drop capability %d", cap);
        cap_t caps = cap_init();
        if (!caps)
                die("cap_init");
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
                cap_value_t v = cap;
                if ((keep & CAPBIT(cap)) && (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
                                             cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0))
                        die("capability %d", cap);
        }
        if (cap_set_proc(caps) < 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                die("set capabilities");
        cap_free(caps);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                die("no_new_privs");
        int r = confine_seccomp_apply(e->unpacker);
        if (r < 0) {
                errno = -r;
                die("seccomp");
        }
}

/* CONFINE_VIEW_FETCH: CONFINE_FETCH_UID, nothing to gain. The build's user namespace is joined first, as
 * for the other runs, only because there the bounding set can be emptied (the helper has no CAP_SETPCAP);
 * then the program becomes that namespace's 65534, which is CONFINE_FETCH_UID on the host: setresuid()
 * from root to another UID clears every capability, there are no supplementary groups, no ambient
 * capabilities, no_new_privs and the seccomp filter of the other runs. */
static void enter_fetch_identity(const Confine *c) {
        const uid_t id = CONFINE_FETCH_UID(c) - c->base;

        if (setns(c->userns_fd, CLONE_NEWUSER) < 0)
                die("join the build's user namespace");
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        die("drop capability %d", cap);
        if (setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 || setresuid(id, id, id) < 0)
                die("become UID %u", (unsigned) CONFINE_FETCH_UID(c));
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                die("clear ambient capabilities");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                die("no_new_privs");
        int r = confine_seccomp_apply(false);
        if (r < 0) {
                errno = -r;
                die("seccomp");
        }
}

static void close_all_but(const int *keep, size_t n) {
        /* fds 0..2 stay; close everything else that is not in keep (keep is small). */
        int max = 3;
        for (size_t i = 0; i < n; i++)
                if (keep[i] + 1 > max)
                        max = keep[i] + 1;
        for (int fd = 3; fd < max; fd++) {
                bool k = false;
                for (size_t i = 0; i < n; i++)
                        k = k || keep[i] == fd;
                if (!k)
                        (void)close(fd);
        }
        (void)close_range((unsigned)max, ~0U, 0);
}

_noreturn_ static void run_payload(const Confine *c, const ConfineExec *e) {
        int keep[16];
        size_t n = 0;

        keep[n++] = c->userns_fd;
        for (size_t i = 0; i < e->n_keep_fds && n < ELEMENTSOF(keep); i++)
                keep[n++] = e->keep_fds[i];
        close_all_but(keep, n);
        if (e->view == CONFINE_VIEW_FETCH)
                enter_fetch_identity(c);
        else
                enter_userns(c, e);
        (void)close(c->userns_fd);
        /* The fds handed on to a program (e.g. as /dev/fd/N) must survive its execve(). */
        for (size_t i = 0; !e->fn && i < e->n_keep_fds; i++)
                if (fcntl(e->keep_fds[i], F_SETFD, 0) < 0)
                        die("keep fd %d", e->keep_fds[i]);
        if (e->name)
                (void)prctl(PR_SET_NAME, e->name);
        /* A container's default, whatever the helper's is: the image's files are for all its users. */
        umask(0022);
        if (e->fn)
                _exit(e->fn(e->userdata));
        execve(e->argv[0], e->argv, e->env ?: (char *const[]){NULL});
        die("execute %s", e->argv[0]);
}

_noreturn_ static void run_init(const Confine *c, const ConfineExec *e, Mounts *m) {
        int status;
        pid_t pid;

        (void)prctl(PR_SET_NAME, "(sandy-init)");
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        setup_root(c, e, m);
        if (e->view != CONFINE_VIEW_BARE)
                (void)sethostname("sandy-build", strlen("sandy-build"));

        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0)
                run_payload(c, e);
        /* PID 1: reap what gets reparented here until the payload is done; then go, and the kernel takes
         * everything else of this PID namespace with us. */
        for (;;) {
                pid_t p = waitpid(-1, &status, 0);
                if (p < 0 && errno == EINTR)
                        continue;
                if (p < 0)
                        _exit(127);
                if (p == pid)
                        _exit(exit_status_from_wait(status));
        }
}

_noreturn_ static void run_stub(const Confine *c, const ConfineExec *e) {
        Mounts m = {};
        int status, null = -1;
        sigset_t ss;
        pid_t pid;

        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigemptyset(&ss);
        (void)sigprocmask(SIG_SETMASK, &ss, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)signal(sig, SIG_DFL);
        if (e->stdin_fd < 0 || e->stdout_fd < 0)
                null = open("/dev/null", O_RDWR | O_CLOEXEC);
        const int std[] = {e->stdin_fd >= 0 ? e->stdin_fd : null, e->stdout_fd >= 0 ? e->stdout_fd : null,
                           e->stdout_fd >= 0 ? e->stdout_fd : null};
        for (int i = 0; i < 3; i++)
                if (std[i] == i)
                        (void)fcntl(i, F_SETFD, 0);
                else if (std[i] < 0)
                        (void)close(i); /* no /dev/null (a test jail) */
                else if (dup2(std[i], i) < 0)
                        _exit(127);
        /* Nothing of the builder's stays open (its progress pipe, the other ends of the unpacker's pipes,
         * whose EOF must come when the payload closes its end). */
        int keep[32];
        size_t n = 0;
        const int mine[] = {c->userns_fd, c->tree_fd, c->netns_fd, c->resolv_fd,
                            e->view == CONFINE_VIEW_FETCH ? e->rw_fd : -1};
        for (size_t i = 0; i < ELEMENTSOF(mine); i++)
                if (mine[i] >= 0)
                        keep[n++] = mine[i];
        for (size_t i = 0; i < e->n_keep_fds && n < ELEMENTSOF(keep); i++)
                keep[n++] = e->keep_fds[i];
        close_all_but(keep, n);

        /* Clones are taken here, in the builder's mount namespace: open_tree() only clones mounts of the
         * caller's own namespace. */
        take_mounts(c, e, &m);
        /* CONFINE_VIEW_FETCH stays in the network namespace of the builder, which is the helper's. */
        bool own_net = e->view != CONFINE_VIEW_FETCH;
        if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
                    (own_net && c->netns_fd < 0 ? CLONE_NEWNET : 0)) < 0)
                die("unshare");
        if (own_net && c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) < 0)
                die("join the build's network namespace");
        pid = fork();
        if (pid < 0)
                die("fork");
        if (pid == 0)
                run_init(c, e, &m);
        if (wait_for_pid(pid, &status) < 0)
                _exit(127);
        _exit(exit_status_from_wait(status));
}

int confine_spawn(const Confine *c, const ConfineExec *e, pid_t *ret_pid) {
        pid_t pid;

        if (c->userns_fd < 0 || c->tree_fd < 0 ||
            (!e->fn && (!e->argv || !e->argv[0] || e->argv[0][0] != '/')) ||
            (e->view == CONFINE_VIEW_FETCH && e->rw_fd < 0))
                return -EINVAL;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                run_stub(c, e);
        *ret_pid = pid;
        return 0;
}
