/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mounts sandy-prepare sets up before nspawn starts, and removes after it stopped.
 *
 * Why not nspawn's own Volatile=overlay with PrivateUsers=pick: systemd 252 cannot idmap an overlayfs
 * root ("ID mapped mounts are apparently not available"), and without idmapping the shared, root-owned
 * image would have to be chowned (copied). So the overlay is built here from idmapped layers: the image
 * is idmapped read-only into the sandbox's own UID range, the upper layer is a tmpfs (ephemeral) or a
 * state directory (persistent), both holding host IDs of that range, and nspawn runs the result with
 * PrivateUsers=BASE:65536 and no ownership fix-up. With the range known here, the workspace gets an idmapped mount that shows its
 * host owner as the sandbox user, so what the agent writes belongs to that owner on the host, while
 * everybody else's files (root's included) are unmapped inside. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pwd.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "log.h"
#include "net-internal.h"
#include "prepare-mounts.h"
#include "strv.h"
#include "util.h"

#define UIDMAP_DIR SANDY_STATE_DIR "/uidmap"

static uint32_t fnv1a(const char *s) {
        uint32_t h = 2166136261U;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619U;
        return h;
}

int sandbox_uid_base(const char *name, bool allocate, uid_t *ret) {
        _cleanup_close_ int dfd = -EBADF;
        char slotname[32], target[SANDBOX_NAME_MAX + 2];
        uint32_t h;
        int r;

        r = mkdir_p(UIDMAP_DIR, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", UIDMAP_DIR);
        dfd = open(UIDMAP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", UIDMAP_DIR);

        /* slot-XXXX -> NAME, created with symlinkat(), which fails if the slot is taken: the allocation is
         * atomic without a lock. Probing starts at a hash of the name, so the range is usually the same
         * even if the directory is lost. */
        h = fnv1a(name) % SANDY_UID_SLOTS;
        for (uint32_t i = 0; i < SANDY_UID_SLOTS; i++) {
                uint32_t slot = (h + i) % SANDY_UID_SLOTS;
                ssize_t n;

                snprintf(slotname, sizeof slotname, "slot-%04x", slot);
                n = readlinkat(dfd, slotname, target, sizeof target - 1);
                if (n >= 0) {
                        target[n] = 0;
                        if (streq(target, name)) {
                                *ret = SANDY_UID_BASE_MIN + slot * SANDY_UID_RANGE;
                                return 0;
                        }
                        continue;
                }
                if (errno != ENOENT)
                        return log_error_errno(errno, "Failed to read %s/%s: %m", UIDMAP_DIR, slotname);
                if (!allocate)
                        continue;
                if (symlinkat(name, dfd, slotname) < 0) {
                        if (errno == EEXIST) {
                                i--; /* raced: look at it again */
                                continue;
                        }
                        return log_error_errno(errno, "Failed to allocate %s/%s: %m", UIDMAP_DIR, slotname);
                }
                *ret = SANDY_UID_BASE_MIN + slot * SANDY_UID_RANGE;
                return 0;
        }
        return allocate ? log_error_errno(ENOSPC, "No free UID range for sandbox %s.", name) : -ENOENT;
}

/* A user namespace with the given maps ("INSIDE OUTSIDE COUNT\n"...), as an fd for MOUNT_ATTR_IDMAP. */
static int userns_fd(const char *uid_map, const char *gid_map) {
        int sync_pipe[2], hold_pipe[2];
        _cleanup_free_ char *p = NULL;
        _cleanup_close_ int fd = -EBADF;
        pid_t pid;
        char c;
        int r = 0;

        if (pipe2(sync_pipe, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(hold_pipe, O_CLOEXEC) < 0) {
                r = -errno;
                safe_close(sync_pipe[0]);
                safe_close(sync_pipe[1]);
                return r;
        }
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto finish;
        }
        if (pid == 0) {
                /* The child only holds the namespace open until the parent has an fd for it. */
                close(sync_pipe[0]);
                close(hold_pipe[1]);
                c = unshare(CLONE_NEWUSER) < 0 ? 'e' : 'k';
                (void) !write(sync_pipe[1], &c, 1);
                (void) !read(hold_pipe[0], &c, 1);
                _exit(0);
        }
        close(sync_pipe[1]);
        sync_pipe[1] = -EBADF;
        close(hold_pipe[0]);
        hold_pipe[0] = -EBADF;
        if (read(sync_pipe[0], &c, 1) != 1 || c != 'k') {
                r = -EPERM;
                goto kill;
        }
        const char *files[] = {"uid_map", gid_map ? "gid_map" : NULL};
        const char *maps[] = {uid_map, gid_map};
        for (size_t i = 0; i < ELEMENTSOF(files) && files[i]; i++) {
                _cleanup_close_ int mfd = -EBADF;
                p = mfree(p);
                if (xasprintf(&p, "/proc/%d/%s", (int) pid, files[i]) < 0) {
                        r = -ENOMEM;
                        goto kill;
                }
                mfd = open(p, O_WRONLY | O_CLOEXEC);
                if (mfd < 0 || write(mfd, maps[i], strlen(maps[i])) != (ssize_t) strlen(maps[i])) {
                        r = -errno;
                        goto kill;
                }
        }
        p = mfree(p);
        if (xasprintf(&p, "/proc/%d/ns/user", (int) pid) < 0) {
                r = -ENOMEM;
                goto kill;
        }
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                r = -errno;
kill:
        close(hold_pipe[1]);
        hold_pipe[1] = -EBADF;
        (void) waitpid(pid, NULL, 0);
finish:
        safe_close(sync_pipe[0]);
        safe_close(sync_pipe[1]);
        safe_close(hold_pipe[0]);
        safe_close(hold_pipe[1]);
        return r < 0 ? r : TAKE_FD(fd);
}

/* Clone the mount at (dfd, path) (AT_EMPTY_PATH with path ""), set attributes, attach it at target. */
static int clone_mount(int dfd, const char *path, unsigned open_flags, uint64_t attr_set, int ns_fd,
                       const char *target) {
        _cleanup_close_ int fd = -EBADF;
        struct mount_attr a = {.attr_set = attr_set, .userns_fd = (uint64_t) (ns_fd >= 0 ? ns_fd : 0)};

        fd = open_tree(dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | open_flags);
        if (fd < 0)
                return -errno;
        if (attr_set && mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof a) < 0)
                return -errno;
        if (move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return -errno;
        /* A clone of a shared mount joins its peer group: the read-only mounts put on the workspace copy
         * would show up on the host's own workspace too. */
        if (mount(NULL, target, NULL, MS_PRIVATE, NULL) < 0)
                return -errno;
        return 0;
}

static int runtime_path(const char *name, const char *sub, char **ret) {
        return xasprintf(ret, SANDY_RUNTIME_DIR "/%s%s%s", name, sub ? "/" : "", sub ?: "") < 0 ? -ENOMEM : 0;
}

static int make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid) {
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", path);
        if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
                return log_error_errno(errno, "Failed to set ownership of %s: %m", path);
        return 0;
}

/* UID and GID of USER in the image's /etc/passwd, read without following symlinks out of the image (the
 * image comes from an untrusted OCI source, and this runs as host root). */
static int image_user(const char *rootfs, const char *user, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_close_ int rfd = -EBADF, fd = -EBADF;
        _cleanup_fclose_ FILE *f = NULL;
        struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
        char line[4096];

        rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        fd = (int) syscall(SYS_openat2, rfd, "etc/passwd", &how, sizeof how);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "r");
        if (!f)
                return -errno;
        TAKE_FD(fd);
        while (fgets(line, sizeof line, f)) {
                char *fields[4] = {}, *p = line;
                uint64_t u, g;
                size_t n = 0;

                for (char *w; n < 4 && (w = strsep(&p, ":")); n++)
                        fields[n] = w;
                if (n < 4 || !streq(fields[0], user))
                        continue;
                if (safe_atou64(fields[2], &u) < 0 || safe_atou64(fields[3], &g) < 0 || u >= SANDY_UID_RANGE ||
                    g >= SANDY_UID_RANGE)
                        return -ERANGE;
                *ret_uid = (uid_t) u;
                *ret_gid = (gid_t) g;
                return 0;
        }
        return -ESRCH;
}

/* Copy the image's /home/USER to `to`. The image is untrusted: its /home may be a symlink to a host
 * path, so the directory is looked up with no symlinks at all, below the image root, and cp gets it
 * through /proc/self/fd. Returns -ENOENT if there is no such directory. */
static int copy_image_home(const char *rootfs, const char *user, const char *to) {
        _cleanup_free_ char *rel = NULL, *from = NULL;
        _cleanup_close_ int rfd = -EBADF, hfd = -EBADF;
        struct open_how how = {.flags = O_PATH | O_DIRECTORY,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
        int status;
        pid_t pid;

        if (xasprintf(&rel, "home/%s", user) < 0)
                return -ENOMEM;
        rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        /* Deliberately without O_CLOEXEC: cp reads it as /proc/self/fd/N. */
        hfd = (int) syscall(SYS_openat2, rfd, rel, &how, sizeof how);
        if (hfd < 0)
                return errno == ENOTDIR || errno == ELOOP || errno == EXDEV ? -ENOENT : -errno;
        if (xasprintf(&from, "/proc/self/fd/%d/.", hfd) < 0)
                return -ENOMEM;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* -a keeps the container-relative owners and copies symlinks inside as symlinks. */
                execl("/bin/cp", "cp", "-a", "--no-target-directory", "--", from, to, (char *) NULL);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- protected paths ---------------------------------------------------------------------------- */

typedef struct Match {
        char *path;  /* relative to the workspace */
        int fd;      /* O_PATH|O_NOFOLLOW of the entry, or -1 */
        bool symlink;
} Match;

typedef struct Matches {
        Match *m;
        size_t n;
} Matches;

static void matches_done(Matches *ms) {
        for (size_t i = 0; i < ms->n; i++) {
                free(ms->m[i].path);
                safe_close(ms->m[i].fd);
        }
        ms->m = mfree(ms->m);
        ms->n = 0;
}

static int matches_add(Matches *ms, const char *path, int fd, bool symlink) {
        Match *n = realloc(ms->m, sizeof(Match) * (ms->n + 1));
        if (!n)
                return -ENOMEM;
        ms->m = n;
        ms->m[ms->n] = (Match){strdup(path), fd, symlink};
        if (!ms->m[ms->n].path)
                return -ENOMEM;
        ms->n++;
        return 0;
}

/* Walk comps[i..] below dirfd without ever following a symlink; existing entries that match are added
 * (a symlink as the last component is added but marked, a symlink in the middle stops the walk with a
 * warning: what it points to is not the protected path). */
static int expand(int dirfd, const char *prefix, char **comps, size_t i, bool want_fds, Matches *out) {
        const char *comp = comps[i];
        bool last = !comps[i + 1];
        _cleanup_strv_free_ char **names = NULL;
        int r;

        if (strchr(comp, '*')) {
                int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                DIR *d;
                struct dirent *de;

                if (dfd < 0)
                        return -errno;
                d = fdopendir(dfd);
                if (!d) {
                        safe_close(dfd);
                        return -errno;
                }
                while ((de = readdir(d)))
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && !string_has_cc(de->d_name) &&
                            fnmatch(comp, de->d_name, 0) == 0 && strv_extend(&names, de->d_name) < 0) {
                                closedir(d);
                                return -ENOMEM;
                        }
                closedir(d);
                strv_sort(names);
        } else if (strv_extend(&names, comp) < 0)
                return -ENOMEM;

        STRV_FOREACH(n, names) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -EBADF;
                struct stat st;

                if (xasprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", *n) < 0)
                        return -ENOMEM;
                fd = openat(dirfd, *n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue;
                        return -errno;
                }
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (last) {
                        r = matches_add(out, path, want_fds ? TAKE_FD(fd) : -1, S_ISLNK(st.st_mode));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (S_ISLNK(st.st_mode)) {
                        if (want_fds)
                                log_warning("Workspace path %s is a symlink; protected paths below it are not "
                                            "protected.",
                                            path);
                        continue;
                }
                if (!S_ISDIR(st.st_mode))
                        continue;
                r = expand(fd, path, comps, i + 1, want_fds, out);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int expand_patterns(int wsfd, char *const *patterns, bool want_fds, Matches *out) {
        STRV_FOREACH(p, patterns) {
                _cleanup_strv_free_ char **comps = NULL;
                _cleanup_free_ char *copy = strdup(*p);
                char *state = NULL;
                int r;

                if (!copy)
                        return -ENOMEM;
                for (char *c = strtok_r(copy, "/", &state); c; c = strtok_r(NULL, "/", &state))
                        if (strv_extend(&comps, c) < 0)
                                return -ENOMEM;
                if (!comps)
                        continue;
                r = expand(wsfd, "", comps, 0, want_fds, out);
                if (r < 0)
                        return r;
        }
        return 0;
}

static char **protect_patterns(const Sandbox *s) {
        _cleanup_strv_free_ char **l = NULL;

        if (s->protect_default_paths)
                for (const char *const *p = sandbox_default_protect_paths; *p; p++)
                        if (strv_extend(&l, *p) < 0)
                                return NULL;
        STRV_FOREACH(p, s->protect_paths)
                if (!strv_contains(l, *p) && strv_extend(&l, *p) < 0)
                        return NULL;
        if (!l)
                l = new0(char *, 1);
        return TAKE_PTR(l);
}

/* Make every existing protected path below the mounted workspace read-only (a bind mount of itself), and
 * write what was found to /run/sandy/NAME/protected: "W workspace", "P pattern" and "E existing" lines,
 * for the report at stop. */
static int protect_paths(const Sandbox *s, const char *ws_mount) {
        _cleanup_strv_free_ char **patterns = protect_patterns(s);
        _cleanup_free_ char *list = NULL, *text = NULL;
        _cleanup_close_ int wsfd = -EBADF;
        Matches ms = {};
        size_t size = 0;
        FILE *f;
        int r;

        if (!patterns)
                return log_oom();
        wsfd = open(ws_mount, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wsfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", ws_mount);
        r = expand_patterns(wsfd, patterns, true, &ms);
        if (r < 0) {
                matches_done(&ms);
                return log_error_errno(r, "Failed to look up the protected paths of %s: %m", s->workspace);
        }

        f = open_memstream(&text, &size);
        if (!f) {
                matches_done(&ms);
                return log_oom();
        }
        fprintf(f, "W %s\n", s->workspace);
        STRV_FOREACH(p, patterns)
                fprintf(f, "P %s\n", *p);
        for (size_t i = 0; i < ms.n && r >= 0; i++) {
                Match *m = &ms.m[i];
                fprintf(f, "E %s\n", m->path);
                if (m->symlink) {
                        /* Mounting over it would follow it, possibly out of the workspace. The agent may
                         * replace it; the stop report then names it. */
                        log_warning("Protected path %s/%s is a symlink and stays as it is.", s->workspace,
                                    m->path);
                        continue;
                }
                {
                        /* A bind mount of the entry itself, read-only, on top of it. The O_PATH fd pins
                         * exactly the entry found without following symlinks. */
                        _cleanup_close_ int fd = open_tree(m->fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                                              AT_EMPTY_PATH | AT_RECURSIVE);
                        struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                           MOUNT_ATTR_NODEV};
                        if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0 ||
                            move_mount(fd, "", m->fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                                r = log_error_errno(errno, "Failed to make %s/%s read-only: %m", s->workspace,
                                                    m->path);
                }
        }
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        matches_done(&ms);
        if (r < 0)
                return r;
        if (runtime_path(s->name, "protected", &list) < 0)
                return log_oom();
        r = write_file_atomic(list, text, size, 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", list);
        return 0;
}

/* At stop: protected paths that exist now but did not at start. They are what the agent may have planted
 * for a person or tool on the host to pick up later. Logged, and kept in state/NAME/protected-created for
 * sandyctl status. */
static int report_protected(const char *name) {
        _cleanup_free_ char *list = NULL, *text = NULL, *out = NULL, *report = NULL, *workspace = NULL;
        _cleanup_strv_free_ char **patterns = NULL, **existed = NULL;
        _cleanup_close_ int wsfd = -EBADF;
        Matches ms = {};
        size_t size, osize = 0;
        FILE *f;
        int r;

        if (runtime_path(name, "protected", &list) < 0 ||
            xasprintf(&report, SANDY_STATE_ROOT "/%s/protected-created", name) < 0)
                return log_oom();
        r = read_full_file(list, 16 * 1024 * 1024, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", list);
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state)) {
                if (startswith(l, "W ") && !workspace)
                        workspace = strdup(l + 2);
                else if (startswith(l, "P ") && strv_extend(&patterns, l + 2) < 0)
                        return log_oom();
                else if (startswith(l, "E ") && strv_extend(&existed, l + 2) < 0)
                        return log_oom();
        }
        if (!workspace)
                return 0;
        wsfd = open(workspace, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wsfd < 0)
                return log_warning_errno(errno, "Cannot check the protected paths in %s: %m", workspace);
        r = expand_patterns(wsfd, patterns, false, &ms);
        if (r < 0) {
                matches_done(&ms);
                return log_warning_errno(r, "Cannot check the protected paths in %s: %m", workspace);
        }
        f = open_memstream(&out, &osize);
        if (!f) {
                matches_done(&ms);
                return log_oom();
        }
        for (size_t i = 0; i < ms.n; i++) {
                if (strv_contains(existed, ms.m[i].path))
                        continue;
                log_warning("Sandbox %s created the protected path %s/%s during its session; check it before "
                            "anything on the host uses it.",
                            name, workspace, ms.m[i].path);
                fprintf(f, "%s\n", ms.m[i].path);
        }
        matches_done(&ms);
        if (fclose(f) != 0)
                return log_oom();
        if (osize == 0) {
                if (unlink(report) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Failed to remove %s: %m", report);
                return 0;
        }
        _cleanup_free_ char *dir = strndup(report, strrchr(report, '/') - report);
        if (!dir || mkdir_p(dir, 0700) < 0)
                return log_error_errno(ENOMEM, "Failed to create the state directory of %s.", name);
        r = write_file_atomic(report, out, osize, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", report);
        return 0;
}

/* ---- credentials -------------------------------------------------------------------------------- */

#define CREDENTIALS_INSIDE "/run/sandy/credentials"

/* nspawn's --load-credential makes them system credentials, which only the sandbox's root can read. The
 * agent runs as the sandbox user, so each one is also copied into /run/sandy/NAME/credentials (host /run
 * is a tmpfs: never on disk), owned by that user with mode 0400 in a 0500 directory, and bound read-only
 * at /run/sandy/credentials/ID. Other users inside cannot read them; nothing lands in the environment. */
static int install_credentials(const Sandbox *s, uid_t uid, gid_t gid, char **settings) {
        _cleanup_free_ char *dir = NULL, *line = NULL, *n = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (s->n_credentials == 0)
                return 0;
        if (runtime_path(s->name, "credentials", &dir) < 0)
                return log_oom();
        r = make_dir(dir, 0700, 0, 0);
        if (r < 0)
                return r;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", dir);
        for (size_t i = 0; i < s->n_credentials; i++) {
                _cleanup_free_ char *data = NULL;
                _cleanup_close_ int fd = -EBADF;
                size_t size;

                /* systemd's own limit for a credential. */
                r = read_full_file(s->credentials[i].path, 1024 * 1024, &data, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read credential %s from %s: %m", s->credentials[i].id,
                                               s->credentials[i].path);
                (void) unlinkat(dfd, s->credentials[i].id, 0);
                fd = openat(dfd, s->credentials[i].id, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
                if (fd < 0 || write(fd, data, size) != (ssize_t) size || fchown(fd, uid, gid) < 0)
                        return log_error_errno(errno, "Failed to write credential %s: %m", s->credentials[i].id);
                explicit_bzero(data, size);
        }
        if (fchown(dfd, uid, gid) < 0 || fchmod(dfd, 0500) < 0)
                return log_error_errno(errno, "Failed to set ownership of %s: %m", dir);
        if (xasprintf(&line, "BindReadOnly=%s:" CREDENTIALS_INSIDE "\n", dir) < 0 ||
            xasprintf(&n, "%s%s", *settings, line) < 0)
                return log_oom();
        free(*settings);
        *settings = TAKE_PTR(n);
        return 0;
}

static int remove_credentials(const char *name) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF;
        DIR *d;
        struct dirent *de;

        if (runtime_path(name, "credentials", &dir) < 0)
                return -ENOMEM;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        d = fdopendir(TAKE_FD(dfd));
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        return rmdir(dir) < 0 ? -errno : 0;
}

/* ---- resolver ----------------------------------------------------------------------------------- */

/* Mode=lenient and strict: nspawn binds sandy-net@'s resolv.conf (the sandbox's own resolver) read-only
 * onto /etc/resolv.conf. nspawn follows a symlink there inside the root, and the image's is often one
 * (to a stub resolver's file in /run, which that resolver would then find mounted over, or anywhere the
 * image likes); with none nspawn makes the mount point as host root. So the mount point becomes a plain
 * file of the sandbox's root in the overlay's upper layer, looked up inside the root (the image is
 * untrusted); the image itself is never written. */
static int setup_resolv_conf(const Sandbox *s, const char *root, uid_t base, char **settings) {
        _cleanup_free_ char *line = NULL, *n = NULL;
        _cleanup_close_ int rfd = -EBADF, etcfd = -EBADF, fd = -EBADF;
        struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
        struct stat st;
        int r;

        if (!IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT))
                return 0;
        rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", root);
        etcfd = (int) syscall(SYS_openat2, rfd, "etc", &how, sizeof how);
        if (etcfd < 0)
                return log_error_errno(errno, "Failed to open /etc in the root of %s: %m", s->name);
        r = fstatat(etcfd, "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to look at /etc/resolv.conf of %s: %m", s->name);
        if (r < 0 || !S_ISREG(st.st_mode)) {
                if (r == 0 && S_ISDIR(st.st_mode))
                        return log_error_errno(EISDIR, "/etc/resolv.conf in the image of %s is a directory.",
                                               s->name);
                if (r == 0 && unlinkat(etcfd, "resolv.conf", 0) < 0)
                        return log_error_errno(errno, "Failed to remove /etc/resolv.conf of %s: %m", s->name);
                fd = openat(etcfd, "resolv.conf", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0 || fchown(fd, base, base) < 0)
                        return log_error_errno(errno, "Failed to create /etc/resolv.conf of %s: %m", s->name);
        }
        if (xasprintf(&line, "BindReadOnly=" SANDY_NET_DIR "/%s/resolv.conf:/etc/resolv.conf\n", s->name) < 0 ||
            xasprintf(&n, "%s%s", *settings, line) < 0)
                return log_oom();
        free(*settings);
        *settings = TAKE_PTR(n);
        return 0;
}

/* ---- the whole set ------------------------------------------------------------------------------ */

/* On-disk GID -> host GID seen by the sandbox: 0..65535 to base+0..65535, but on-disk `owner` shows as the
 * sandbox user's group `user` and (if below 65536) on-disk `user` takes `owner`'s place. */
static char *workspace_gid_map(gid_t owner, gid_t user, uid_t base) {
        _cleanup_free_ char *m = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&m, &size);
        gid_t lo, hi;

        if (!f)
                return NULL;
        if (owner == user)
                fprintf(f, "0 %u %u\n", base, SANDY_UID_RANGE);
        else {
                fprintf(f, "%u %u 1\n", owner, base + user);
                if (owner < SANDY_UID_RANGE)
                        fprintf(f, "%u %u 1\n", user, base + owner);
                lo = owner < SANDY_UID_RANGE && owner < user ? owner : user;
                hi = owner < SANDY_UID_RANGE && owner > user ? owner : user;
                if (lo == hi) /* owner is above the range: only `user` is left out of the identity */
                        hi = SANDY_UID_RANGE;
                /* Identity everywhere else: [0, lo), (lo, hi), (hi, 65536). */
                if (lo > 0)
                        fprintf(f, "0 %u %u\n", base, lo);
                if (hi > lo + 1)
                        fprintf(f, "%u %u %u\n", lo + 1, base + lo + 1, hi - lo - 1);
                if (hi + 1 < SANDY_UID_RANGE)
                        fprintf(f, "%u %u %u\n", hi + 1, base + hi + 1, SANDY_UID_RANGE - hi - 1);
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(m);
}

int sandbox_mount_all(const Sandbox *s, const char *image_rootfs, char **ret_root, char **ret_settings) {
        _cleanup_free_ char *dir = NULL, *lower = NULL, *tmp = NULL, *upper = NULL, *work = NULL, *root = NULL,
                            *opts = NULL, *settings = NULL, *map = NULL, *ws = NULL, *home = NULL,
                            *state = NULL, *layer = NULL, *homesrc = NULL, *umap = NULL, *gmap = NULL;
        _cleanup_close_ int ns = -EBADF, wsns = -EBADF, wsfd = -EBADF;
        uid_t base, user_uid = 1000;
        gid_t user_gid = 1000;
        int r;

        /* Leftovers of a start whose ExecStopPost= never ran would be stacked under the new mounts. */
        (void) sandbox_unmount_all(s->name);

        r = sandbox_uid_base(s->name, true, &base);
        if (r < 0)
                return r;
        r = image_user(image_rootfs, s->user, &user_uid, &user_gid);
        if (r < 0)
                log_warning_errno(r, "User %s not found in the image of %s (%m); assuming UID/GID 1000.", s->user,
                                  s->name);

        if (runtime_path(s->name, NULL, &dir) < 0 || runtime_path(s->name, "lower", &lower) < 0 ||
            runtime_path(s->name, "root", &root) < 0 || xasprintf(&map, "0 %u %u\n", base, SANDY_UID_RANGE) < 0)
                return log_oom();
        r = mkdir_p(SANDY_RUNTIME_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_RUNTIME_DIR);
        /* Only root walks into it: the agent's root and workspace mounts live here. */
        r = make_dir(dir, 0700, 0, 0);
        if (r < 0)
                return r;

        ns = userns_fd(map, map);
        if (ns < 0)
                return log_error_errno(ns, "Failed to create a user namespace for the idmapped mounts: %m");

        /* The image, read-only, shown in the sandbox's range. */
        r = make_dir(lower, 0755, 0, 0);
        if (r >= 0) {
                r = clone_mount(AT_FDCWD, image_rootfs, 0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY, ns, lower);
                if (r < 0)
                        return log_error_errno(r, "Failed to mount the image %s idmapped at %s: %m", image_rootfs,
                                               lower);
        } else
                return r;

        if (s->ephemeral) {
                /* Writes land in a tmpfs that is gone at stop; its root is the container's root dir. */
                if (runtime_path(s->name, "tmp", &tmp) < 0 || xasprintf(&upper, "%s/upper", tmp) < 0 ||
                    xasprintf(&work, "%s/work", tmp) < 0)
                        return log_oom();
                r = make_dir(tmp, 0700, 0, 0);
                if (r < 0)
                        return r;
                if (mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0 ||
                    mount(NULL, tmp, NULL, MS_PRIVATE, NULL) < 0)
                        return log_error_errno(errno, "Failed to mount a tmpfs at %s: %m", tmp);
                r = make_dir(upper, 0755, base, base);
                if (r >= 0)
                        r = make_dir(work, 0700, 0, 0);
                if (r < 0)
                        return r;
        } else {
                /* The upper layer persists in the state directory. Not idmapped: overlayfs creates its work
                 * directory as the mounter (host root), which an idmapped upper layer cannot represent
                 * (EOVERFLOW, and the overlay falls back to read-only). So the upper layer holds host IDs
                 * of the sandbox's range, which is why that range is allocated once and kept. */
                if (xasprintf(&state, SANDY_STATE_ROOT "/%s", s->name) < 0 ||
                    xasprintf(&layer, "%s/overlay", state) < 0 || xasprintf(&upper, "%s/upper", layer) < 0 ||
                    xasprintf(&work, "%s/work", layer) < 0)
                        return log_oom();
                r = mkdir_p(SANDY_STATE_ROOT, 0700);
                if (r >= 0)
                        r = make_dir(state, 0700, 0, 0);
                if (r >= 0)
                        r = make_dir(layer, 0700, 0, 0);
                if (r < 0)
                        return r;
                if (access(upper, F_OK) < 0) {
                        r = make_dir(upper, 0755, base, base);
                        if (r < 0)
                                return r;
                }
                r = make_dir(work, 0700, 0, 0);
                if (r < 0)
                        return r;
        }

        r = make_dir(root, 0755, 0, 0);
        if (r < 0)
                return r;
        if (xasprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work) < 0)
                return log_oom();
        if (mount("overlay", root, "overlay", 0, opts) < 0 || mount(NULL, root, NULL, MS_PRIVATE, NULL) < 0)
                return log_error_errno(errno, "Failed to mount the overlay root of %s at %s: %m", s->name, root);

        if (xasprintf(&settings,
                      "\n# Added by sandy-prepare at start.\n[Exec]\nPrivateUsers=%u:%u\n\n[Files]\n"
                      "PrivateUsersOwnership=off\n",
                      base, SANDY_UID_RANGE) < 0)
                return log_oom();

        if (s->persist_home && s->ephemeral) {
                _cleanup_free_ char *line = NULL, *n = NULL;
                if (xasprintf(&homesrc, SANDY_STATE_ROOT "/%s/home", s->name) < 0 ||
                    runtime_path(s->name, "home", &home) < 0)
                        return log_oom();
                r = mkdir_p(SANDY_STATE_ROOT, 0700);
                if (r >= 0) {
                        _cleanup_free_ char *sd = strndup(homesrc, strrchr(homesrc, '/') - homesrc);
                        r = sd ? make_dir(sd, 0700, 0, 0) : -ENOMEM;
                }
                if (r < 0)
                        return r;
                if (access(homesrc, F_OK) < 0) {
                        /* First start: the image's home (its skeleton files) becomes the persistent one. */
                        _cleanup_free_ char *t = NULL;
                        if (xasprintf(&t, "%s.tmp", homesrc) < 0)
                                return log_oom();
                        if (access(t, F_OK) == 0)
                                return log_error_errno(EEXIST, "%s is left from an interrupted start; remove it "
                                                               "(or run \"sandyctl reset %s\").",
                                                       t, s->name);
                        r = copy_image_home(image_rootfs, s->user, t);
                        if (r == -ENOENT)
                                r = make_dir(t, 0755, user_uid, user_gid);
                        if (r >= 0 && rename(t, homesrc) < 0)
                                r = -errno;
                        if (r < 0)
                                return log_error_errno(r, "Failed to create %s: %m", homesrc);
                }
                if (s->workspace) {
                        /* nspawn would create the workspace mount point as host root through the
                         * idmapped home, where host root has no ID (EOVERFLOW). The home is the agent's:
                         * never follow what it left there. */
                        _cleanup_close_ int hfd = open(homesrc, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        struct stat st;
                        if (hfd < 0)
                                return log_error_errno(errno, "Failed to open %s: %m", homesrc);
                        if (fstatat(hfd, "workspace", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
                            unlinkat(hfd, "workspace", 0) < 0)
                                return log_error_errno(errno, "Failed to remove %s/workspace: %m", homesrc);
                        if (mkdirat(hfd, "workspace", 0755) == 0) {
                                if (fchownat(hfd, "workspace", user_uid, user_gid, AT_SYMLINK_NOFOLLOW) < 0)
                                        return log_error_errno(errno, "Failed to chown %s/workspace: %m", homesrc);
                        } else if (errno != EEXIST)
                                return log_error_errno(errno, "Failed to create %s/workspace: %m", homesrc);
                }
                r = make_dir(home, 0755, 0, 0);
                if (r < 0)
                        return r;
                r = clone_mount(AT_FDCWD, homesrc, 0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, ns,
                                home);
                if (r < 0)
                        return log_error_errno(r, "Failed to mount %s idmapped at %s: %m", homesrc, home);
                if (xasprintf(&line, "Bind=%s:/home/%s\n", home, s->user) < 0 ||
                    xasprintf(&n, "%s%s", settings, line) < 0)
                        return log_oom();
                free(settings);
                settings = TAKE_PTR(n);
        }

        if (s->workspace) {
                _cleanup_free_ char *line = NULL, *n = NULL;
                struct stat st;

                if (runtime_path(s->name, "workspace", &ws) < 0)
                        return log_oom();
                wsfd = open(s->workspace, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (wsfd < 0 || fstat(wsfd, &st) < 0)
                        return log_error_errno(errno, "Failed to open workspace %s: %m", s->workspace);
                if (st.st_uid == 0)
                        return log_error_errno(EPERM, "Workspace %s of sandbox %s is owned by root: what the agent "
                                                      "writes there would belong to root on the host. Give it "
                                                      "to the user the agent works for.",
                                               s->workspace, s->name);
                /* Only the owner's UID is mapped: on-disk owner -> the sandbox user (base + its UID). Files
                 * of anybody else show up as nobody inside, and the sandbox's root cannot create files
                 * there at all. GIDs are mapped one to one, except that the owner's group and the sandbox
                 * user's group trade places: the kernel refuses writes to inodes with an unmapped GID, and
                 * a project often has files of other groups. The group is the directory's, unless that
                 * is root's (a directory made by root and only chowned): then the owner's primary group,
                 * so that nothing the agent makes belongs to group root on the host. */
                gid_t g = st.st_gid;
                if (g == 0) {
                        struct passwd *pw = getpwuid(st.st_uid);
                        g = pw ? pw->pw_gid : 0;
                }
                if (g == 0)
                        return log_error_errno(EPERM, "Workspace %s of sandbox %s belongs to group root, and its "
                                                      "owner has no other group.",
                                               s->workspace, s->name);
                if (xasprintf(&umap, "%u %u 1\n", st.st_uid, base + user_uid) < 0)
                        return log_oom();
                gmap = workspace_gid_map(g, user_gid, base);
                if (!gmap)
                        return log_oom();
                wsns = userns_fd(umap, gmap);
                if (wsns < 0)
                        return log_error_errno(wsns, "Failed to create a user namespace for the workspace: %m");
                r = make_dir(ws, 0755, 0, 0);
                if (r < 0)
                        return r;
                r = clone_mount(wsfd, "", AT_EMPTY_PATH, MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                                wsns, ws);
                if (r < 0)
                        return log_error_errno(r, "Failed to mount workspace %s idmapped at %s: %m", s->workspace,
                                               ws);
                r = protect_paths(s, ws);
                if (r < 0)
                        return r;
                if (xasprintf(&line, "Bind=%s:/home/%s/workspace\n", ws, s->user) < 0 ||
                    xasprintf(&n, "%s%s", settings, line) < 0)
                        return log_oom();
                free(settings);
                settings = TAKE_PTR(n);
        }

        r = setup_resolv_conf(s, root, base, &settings);
        if (r < 0)
                return r;

        r = install_credentials(s, base + user_uid, base + user_gid, &settings);
        if (r < 0)
                return r;

        *ret_root = TAKE_PTR(root);
        *ret_settings = TAKE_PTR(settings);
        return 0;
}

int sandbox_unmount_all(const char *name) {
        /* Innermost first; MNT_DETACH takes submounts (the protected paths) along. */
        static const char *const subs[] = {"root", "workspace", "home", "lower", "tmp"};
        _cleanup_free_ char *dir = NULL, *list = NULL;
        int r = 0;

        (void) report_protected(name);
        r = remove_credentials(name);
        if (r < 0)
                r = log_error_errno(r, "Failed to remove the credentials of %s: %m", name);
        if (runtime_path(name, NULL, &dir) < 0 || runtime_path(name, "protected", &list) < 0)
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(subs); i++) {
                _cleanup_free_ char *p = NULL;
                if (runtime_path(name, subs[i], &p) < 0)
                        return log_oom();
                /* Mounted more than once only after a crash between mount and record: unmount until the
                 * directory is plain. */
                while (umount2(p, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                        ;
                if (errno != EINVAL && errno != ENOENT && r == 0)
                        r = log_error_errno(errno, "Failed to unmount %s: %m", p);
                if (rmdir(p) < 0 && errno != ENOENT && r == 0)
                        r = log_error_errno(errno, "Failed to remove %s: %m", p);
        }
        if (unlink(list) < 0 && errno != ENOENT && r == 0)
                r = log_error_errno(errno, "Failed to remove %s: %m", list);
        return r;
}
