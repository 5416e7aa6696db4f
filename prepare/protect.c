/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Protected paths: files in the workspace that the host later reads or runs, read-only for the agent, and
 * what changed among them reported at stop. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "log.h"
#include "paths.h"
#include "prepare.h"
#include "string-util.h"
#include "strv.h"

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
 * write what was found to SANDY_RUNTIME_DIR/NAME/protected: "W workspace", "P pattern" and "E existing" lines,
 * for the report at stop. */
int protect_paths_apply(const Sandbox *s, const char *ws_mount) {
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
        if (!(list = sandbox_runtime_path(s->name, "protected")))
                return log_oom();
        r = write_file_atomic(list, text, size, 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", list);
        return 0;
}

/* At stop: protected paths that exist now but did not at start. They are what the agent may have planted
 * for a person or tool on the host to pick up later. Logged, and kept in state/NAME/protected-created for
 * sandyctl status. */
int protect_paths_report(const char *name) {
        _cleanup_free_ char *list = NULL, *text = NULL, *out = NULL, *report = NULL, *workspace = NULL;
        _cleanup_strv_free_ char **patterns = NULL, **existed = NULL;
        _cleanup_close_ int wsfd = -EBADF;
        Matches ms = {};
        size_t size, osize = 0;
        FILE *f;
        int r;

        if (!(list = sandbox_runtime_path(name, "protected")) ||
            !(report = sandbox_state_path(name, "protected-created")))
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

