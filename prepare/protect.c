/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Protected paths: files in the workspace that the host later reads as configuration or runs (shell
 * start-up files, git config and hooks, editor and CI settings, agent settings).
 *
 * The guarantee is about the host after the session: the owner's git and a shell starting in the
 * workspace run no code the agent placed. So:
 *   at start  the protected set is computed (patterns, plus everything git on the host would read or run,
 *             protect-git.c, plus symlink targets inside the workspace), every existing protected path is
 *             a read-only mount point and every existing parent of one a mount point of itself: nothing
 *             can rename or replace them during the session (EBUSY). Their identity (device, inode, type)
 *             and content (SHA-256 of the file or tree, symlink target) are recorded.
 *   at stop   after the mounts are gone, the set is computed again and compared with the record by
 *             identity and content, never by name: whatever was created, replaced, renamed or re-pointed
 *             is moved to SANDY_SANDBOX_STATE_DIR/NAME/quarantine/TIME/ and the start state restored
 *             (symlinks are re-created; files and directories cannot have changed, they were read-only
 *             mount points). Git directories of nested repositories anywhere in the workspace whose
 *             code-bearing files changed during the session (ctime) are quarantined too. Everything is
 *             logged and written to NAME/protected.report, which sandyctl status shows. */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "paths.h"
#include "prepare.h"
#include "protect.h"
#include "rm-rf.h"
#include "string-util.h"
#include "strv.h"

#define TREE_HASH_BYTES_MAX (64ULL * 1024 * 1024)
#define TREE_HASH_ENTRIES_MAX 20000U

/* --- the set ----------------------------------------------------------------------------------------- */

void protect_set_done(ProtectSet *set) {
        for (size_t i = 0; i < set->n; i++) {
                free(set->e[i].path);
                free(set->e[i].extra);
        }
        set->e = mfree(set->e);
        set->n = 0;
        set->home = mfree(set->home);
}

Entry *protect_set_find(ProtectSet *set, const char *path) {
        for (size_t i = 0; i < set->n; i++)
                if (streq(set->e[i].path, path))
                        return &set->e[i];
        return NULL;
}

/* Normalise a relative path: "." and empty components dropped, ".." taken back; NULL when it leaves. */
static char *normalize_rel(const char *p) {
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *copy = strdup(p), *out = NULL;
        char *state = NULL;

        if (!copy)
                return NULL;
        for (char *c = strtok_r(copy, "/", &state); c; c = strtok_r(NULL, "/", &state)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        size_t n = strv_length(parts);
                        if (n == 0)
                                return NULL;
                        free(parts[n - 1]);
                        parts[n - 1] = NULL;
                        continue;
                }
                if (strv_extend(&parts, c) < 0)
                        return NULL;
        }
        if (!parts)
                return NULL;
        STRV_FOREACH(c, parts)
                if (strextendf(&out, "%s%s", out ? "/" : "", *c) < 0)
                        return NULL;
        return TAKE_PTR(out);
}

char *protect_resolve(const ProtectSet *set, const char *base, const char *value) {
        _cleanup_free_ char *j = NULL;
        const char *rest;

        if (isempty(value) || string_has_cc(value))
                return NULL;
        if (startswith(value, "~/")) {
                if (!set->home || xasprintf(&j, "%s/%s", set->home, value + 2) < 0)
                        return NULL;
                value = j;
        }
        if (value[0] == '/') {
                rest = startswith(value, set->workspace) ? value + strlen(set->workspace) : NULL;
                if (!rest || (rest[0] != '/' && rest[0] != 0))
                        return NULL;
                return normalize_rel(rest);
        }
        _cleanup_free_ char *k = NULL;
        if (xasprintf(&k, "%s%s%s", base, *base ? "/" : "", value) < 0)
                return NULL;
        return normalize_rel(k);
}

static void entry_stat(int wsfd, const char *path, Entry *e) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        e->state = ENTRY_ABSENT;
        fd = openat_no_symlinks(wsfd, path, O_PATH | O_NOFOLLOW, 0);
        if (fd == -ELOOP || fd == -ENOTDIR || fd == -EXDEV) {
                e->state = ENTRY_BEHIND;
                return;
        }
        if (fd < 0 || fstat(fd, &st) < 0)
                return;
        e->dev = st.st_dev;
        e->ino = st.st_ino;
        e->mode = st.st_mode;
        e->uid = st.st_uid;
        e->gid = st.st_gid;
        e->nlink = st.st_nlink;
        e->ctime = st.st_ctim;
        e->state = S_ISREG(st.st_mode) ? ENTRY_FILE
                   : S_ISDIR(st.st_mode) ? ENTRY_DIR
                   : S_ISLNK(st.st_mode) ? ENTRY_LINK
                                         : ENTRY_OTHER;
        if (e->state == ENTRY_LINK) {
                char buf[4096];
                if (readlinkat_buf(fd, "", buf, sizeof buf) >= 0)
                        e->extra = strdup(buf);
        }
}

/* A directory of the workspace ("" or ".": the workspace itself), no symlink on the way. */
static int ws_open_dir(const ProtectSet *set, const char *dir) {
        int fd;

        if (isempty(dir) || streq(dir, ".")) {
                fd = openat(set->wsfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                return fd < 0 ? -errno : fd;
        }
        return openat_no_symlinks(set->wsfd, dir, O_RDONLY | O_DIRECTORY, 0);
}

/* The directory of the workspace that path lies in, opened as above; *ret_base: path's last component (in
 * path), *ret_dir (optional): the directory's path ("" for the workspace). */
static int ws_open_parent(const ProtectSet *set, const char *path, const char **ret_base, char **ret_dir) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/');
        int fd;

        dir = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
        if (!dir)
                return -ENOMEM;
        fd = ws_open_dir(set, dir);
        if (fd < 0)
                return fd;
        *ret_base = slash ? slash + 1 : path;
        if (ret_dir)
                *ret_dir = TAKE_PTR(dir);
        return fd;
}

/* Where a symlink at path points, relative to the workspace, if it stays inside. */
static char *link_target_rel(const ProtectSet *set, const char *path, const char *target) {
        _cleanup_free_ char *dir = NULL;
        const char *s = strrchr(path, '/');

        dir = s ? strndup(path, (size_t) (s - path)) : strdup("");
        if (!dir)
                return NULL;
        return protect_resolve(set, dir, target);
}

static int set_add_one(ProtectSet *set, const char *path, bool leaf, Entry **ret) {
        Entry *e = protect_set_find(set, path), *n;

        if (e) {
                e->leaf = e->leaf || leaf;
                *ret = NULL;
                return 0;
        }
        if (set->n >= PROTECT_ENTRIES_MAX) {
                if (!set->overflow)
                        log_warning("More than %u protected paths in %s; the rest are not protected.",
                                    PROTECT_ENTRIES_MAX, set->workspace);
                set->overflow = true;
                *ret = NULL;
                return 0;
        }
        n = realloc(set->e, sizeof(Entry) * (set->n + 1));
        if (!n)
                return -ENOMEM;
        set->e = n;
        e = &set->e[set->n];
        *e = (Entry){.path = strdup(path), .leaf = leaf};
        if (!e->path)
                return -ENOMEM;
        entry_stat(set->wsfd, path, e);
        set->n++;
        *ret = e;
        return 1;
}

int protect_set_add(ProtectSet *set, const char *path_in, bool leaf) {
        _cleanup_free_ char *path = NULL;
        Entry *e;
        int r;

        if (!path_in)
                return 0;
        path = normalize_rel(path_in);
        if (!path)
                return 0;
        /* Parents first: each one a mount point of itself (or judged as a symlink) at stop. */
        for (char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
                *s = 0;
                r = set_add_one(set, path, false, &e);
                if (r > 0 && e->state == ENTRY_LINK && e->extra) {
                        /* The host follows it: what lies behind it inside the workspace is protected too. */
                        _cleanup_free_ char *t = link_target_rel(set, e->path, e->extra), *rest = NULL;
                        *s = '/';
                        if (t && xasprintf(&rest, "%s/%s", t, s + 1) >= 0) {
                                r = protect_set_add(set, rest, leaf);
                                if (r < 0)
                                        return r;
                        }
                        *s = 0;
                }
                *s = '/';
                if (r < 0)
                        return r;
        }
        r = set_add_one(set, path, leaf, &e);
        if (r > 0 && e->state == ENTRY_LINK && e->extra) {
                _cleanup_free_ char *t = link_target_rel(set, e->path, e->extra);
                if (t && !protect_set_find(set, t))
                        r = protect_set_add(set, t, leaf);
        }
        return r < 0 ? r : 0;
}

int protect_read_file(ProtectSet *set, const char *path, size_t max, char **ret) {
        _cleanup_close_ int fd = openat_no_symlinks(set->wsfd, path, O_RDONLY | O_NONBLOCK, 0);

        if (fd < 0)
                return fd;
        return read_full_fd_full(fd, max, READ_FULL_TRUNCATE, ret, NULL);
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

/* A pattern: components with '*' are matched against what exists; the others are taken literally, so
 * that an absent path is part of the set too (and its creation noticed). */
static int expand_pattern_depth(ProtectSet *set, const char *prefix, char **comps, unsigned depth);

static int expand_pattern(ProtectSet *set, const char *prefix, char **comps) {
        return expand_pattern_depth(set, prefix, comps, 0);
}

static int expand_pattern_depth(ProtectSet *set, const char *prefix, char **comps, unsigned depth) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        if (depth > PROTECT_DEPTH_MAX)
                return 0;

        if (!*comps)
                return protect_set_add(set, prefix, true);
        if (!strchr(*comps, '*')) {
                _cleanup_free_ char *p = NULL;
                if (xasprintf(&p, "%s%s%s", prefix, *prefix ? "/" : "", *comps) < 0)
                        return -ENOMEM;
                return expand_pattern_depth(set, p, comps + 1, depth);
        }
        {
                _cleanup_close_ int fd = ws_open_dir(set, prefix);
                DIR *d;
                if (fd < 0) {
                        /* Absent, or behind a symlink: the parent entry is what counts, and where a symlink
                         * inside the workspace leads, the pattern applies too (the host follows it). */
                        Entry *e;
                        if (!*prefix)
                                return 0;
                        r = protect_set_add(set, prefix, false);
                        e = r >= 0 ? protect_set_find(set, prefix) : NULL;
                        if (e && e->state == ENTRY_LINK && e->extra) {
                                _cleanup_free_ char *t = link_target_rel(set, e->path, e->extra);
                                if (t)
                                        r = expand_pattern_depth(set, t, comps, depth + 1);
                        }
                        return r;
                }
                d = fdopendir(TAKE_FD(fd));
                if (!d)
                        return -errno;
                for (struct dirent *de; (de = readdir(d));)
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && fnmatch(*comps, de->d_name, 0) == 0 &&
                            strv_extend(&names, de->d_name) < 0) {
                                closedir(d);
                                return -ENOMEM;
                        }
                closedir(d);
        }
        strv_sort(names);
        STRV_FOREACH(n, names) {
                _cleanup_free_ char *p = NULL;
                if (xasprintf(&p, "%s%s%s", prefix, *prefix ? "/" : "", *n) < 0)
                        return -ENOMEM;
                r = expand_pattern_depth(set, p, comps + 1, depth);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->path, ((const Entry *) b)->path);
}

/* The protected set of the workspace as it is now. */
static int protect_collect(ProtectSet *set, char *const *patterns) {
        int r;

        STRV_FOREACH(p, patterns) {
                _cleanup_strv_free_ char **comps = NULL;
                _cleanup_free_ char *copy = strdup(*p);
                char *state = NULL;

                if (!copy)
                        return -ENOMEM;
                for (char *c = strtok_r(copy, "/", &state); c; c = strtok_r(NULL, "/", &state))
                        if (strv_extend(&comps, c) < 0)
                                return -ENOMEM;
                /* ".git/..." patterns: git's own discovery below knows better where the git directory is;
                 * they are taken literally anyway, so a .git created during the session is noticed. */
                if (comps) {
                        r = expand_pattern(set, "", comps);
                        if (r < 0)
                                return r;
                }
        }
        r = protect_git(set, "");
        if (r < 0)
                return r;
        qsort(set->e, set->n, sizeof(Entry), entry_cmp);
        return 0;
}

/* --- content ----------------------------------------------------------------------------------------- */

/* A protected file that has other hard links could be written through one of them, which is no mount
 * point: it gets an inode of its own (same content, owner and mode) before the session. */
static int break_hardlink(int pdfd, const char *name, int fd, const struct stat *st) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int out = -EBADF;
        char buf[65536];
        ssize_t n;

        if (xasprintf(&tmp, ".%s.sandy-%d", name, (int) getpid()) < 0)
                return -ENOMEM;
        out = openat(pdfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
        if (out < 0)
                return -errno;
        if (lseek(fd, 0, SEEK_SET) < 0)
                goto fail;
        while ((n = read(fd, buf, sizeof buf)) > 0)
                if (write(out, buf, (size_t) n) != n)
                        goto fail;
        if (n < 0 || fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0 ||
            renameat(pdfd, tmp, pdfd, name) < 0)
                goto fail;
        return 0;
fail:;
        int r = -errno;
        (void) unlinkat(pdfd, tmp, 0);
        return r;
}

typedef struct TreeHash {
        EVP_MD_CTX *ctx;
        uint64_t bytes;
        unsigned entries;
        bool fix_links;
        bool truncated;
} TreeHash;

static void hash_str(TreeHash *h, const char *s) {
        EVP_DigestUpdate(h->ctx, s, strlen(s) + 1);
}

static int hash_fd_content(TreeHash *h, int fd) {
        char buf[65536];
        ssize_t n;

        while ((n = read(fd, buf, sizeof buf)) > 0) {
                if ((h->bytes += (uint64_t) n) > TREE_HASH_BYTES_MAX) {
                        h->truncated = true;
                        return 0;
                }
                EVP_DigestUpdate(h->ctx, buf, (size_t) n);
        }
        return n < 0 ? -errno : 0;
}

/* name below dirfd: type, mode, and content (files), target (links), entries in order (directories). */
static int hash_entry(TreeHash *h, int pdfd, const char *name, unsigned depth) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        char line[64];

        if (++h->entries > TREE_HASH_ENTRIES_MAX || depth > 64) {
                h->truncated = true;
                return 0;
        }
        if (fstatat(pdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        snprintf(line, sizeof line, "%o", (unsigned) st.st_mode);
        hash_str(h, name);
        hash_str(h, line);
        if (S_ISLNK(st.st_mode)) {
                char buf[4096];
                int r = readlinkat_buf(pdfd, name, buf, sizeof buf);
                if (r < 0)
                        return r;
                hash_str(h, buf);
        } else if (S_ISREG(st.st_mode)) {
                fd = openat(pdfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
                if (h->fix_links && st.st_nlink > 1) {
                        int r = break_hardlink(pdfd, name, fd, &st);
                        if (r < 0)
                                log_warning_errno(r, "Failed to give protected file %s its own inode (it has "
                                                     "other hard links): %m",
                                                  name);
                        else
                                log_notice("Protected file %s had other hard links; it now has its own inode.", name);
                        if (lseek(fd, 0, SEEK_SET) < 0)
                                return -errno;
                }
                return hash_fd_content(h, fd);
        } else if (S_ISDIR(st.st_mode)) {
                _cleanup_strv_free_ char **names = NULL;
                DIR *d;
                fd = openat(pdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                d = fdopendir(fd);
                if (!d)
                        return -errno;
                fd = -EBADF;
                for (struct dirent *de; (de = readdir(d));)
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..") && strv_extend(&names, de->d_name) < 0) {
                                closedir(d);
                                return -ENOMEM;
                        }
                strv_sort(names);
                STRV_FOREACH(n, names) {
                        int r = hash_entry(h, dirfd(d), *n, depth + 1);
                        if (r < 0 && r != -ENOENT) {
                                closedir(d);
                                return r;
                        }
                }
                closedir(d);
        }
        return 0;
}

/* The content hash of a leaf (file or directory tree), hex; "partial:" when a limit was hit. */
static int entry_hash(ProtectSet *set, Entry *e, bool fix_links) {
        _cleanup_close_ int pfd = -EBADF;
        const char *base;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        TreeHash h = {.fix_links = fix_links};
        int r;

        pfd = ws_open_parent(set, e->path, &base, NULL);
        if (pfd < 0)
                return pfd;
        h.ctx = EVP_MD_CTX_new();
        if (!h.ctx || EVP_DigestInit_ex(h.ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(h.ctx);
                return -ENOMEM;
        }
        r = hash_entry(&h, pfd, base, 0);
        if (r >= 0 && EVP_DigestFinal_ex(h.ctx, md, &mdlen) != 1)
                r = -EIO;
        EVP_MD_CTX_free(h.ctx);
        if (r < 0)
                return r;
        free(e->extra);
        e->extra = NULL;
        if (h.truncated && strextendf(&e->extra, "partial:") < 0)
                return -ENOMEM;
        for (unsigned i = 0; i < mdlen; i++)
                if (strextendf(&e->extra, "%02x", md[i]) < 0)
                        return -ENOMEM;
        /* Breaking a hard link replaced the inode: record the new one. */
        if (fix_links && e->state == ENTRY_FILE) {
                Entry fresh = {};
                entry_stat(set->wsfd, e->path, &fresh);
                free(fresh.extra);
                e->dev = fresh.dev;
                e->ino = fresh.ino;
                e->nlink = fresh.nlink;
        }
        return 0;
}

/* --- the record ------------------------------------------------------------------------------------------ */

static void put_escaped(FILE *f, const char *s) {
        if (!s || !*s) {
                fputc('-', f);
                return;
        }
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if (*c <= ' ' || *c == '%' || *c >= 0x7f || (c == (const unsigned char *) s && *c == '-'))
                        fprintf(f, "%%%02x", *c);
                else
                        fputc(*c, f);
}

static char *unescape(const char *s) {
        char *out = malloc(strlen(s) + 1), *o = out;

        if (!out || streq(s, "-")) {
                if (out)
                        *out = 0;
                return out;
        }
        for (; *s; s++) {
                unsigned v;
                if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1 && v > 0) {
                        *o++ = (char) v;
                        s += 2;
                } else
                        *o++ = *s;
        }
        *o = 0;
        return out;
}

static const char state_chars[] = "AFDLOB"; /* indexed by EntryState */

static int write_record(const Sandbox *s, const ProtectSet *set, char *const *patterns, const struct stat *wsst,
                        const struct timespec *start) {
        _cleanup_free_ char *list = NULL, *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        if (!f)
                return log_oom();
        fprintf(f, "W %llu %llu %u %lld.%09ld ", (unsigned long long) wsst->st_dev, (unsigned long long) wsst->st_ino,
                (unsigned) set->owner, (long long) start->tv_sec, start->tv_nsec);
        put_escaped(f, s->workspace);
        fputc('\n', f);
        STRV_FOREACH(p, patterns) {
                fputs("P ", f);
                put_escaped(f, *p);
                fputc('\n', f);
        }
        for (size_t i = 0; i < set->n; i++) {
                const Entry *e = &set->e[i];
                fprintf(f, "E %c %c %llu %llu %o %u %u ", e->leaf ? 'p' : 'a', state_chars[e->state],
                        (unsigned long long) e->dev, (unsigned long long) e->ino, (unsigned) e->mode, (unsigned) e->uid,
                        (unsigned) e->gid);
                put_escaped(f, e->extra);
                fputc(' ', f);
                put_escaped(f, e->path);
                fputc('\n', f);
        }
        if (fclose(f) != 0)
                return log_oom();
        if (!(list = sandbox_runtime_path(s->name, "protected")))
                return log_oom();
        int r = write_file_atomic(list, text, size, 0600);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", list);
        return 0;
}

/* --- start ----------------------------------------------------------------------------------------------- */

static int bind_self(int mntfd, const char *path, bool rdonly) {
        _cleanup_close_ int fd = -EBADF, tree = -EBADF;
        struct mount_attr a = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (rdonly ? MOUNT_ATTR_RDONLY : 0)};

        /* Looked up again below the idmapped mount, with no symlinks: the same entry the record describes. */
        fd = openat_no_symlinks(mntfd, path, O_PATH | O_NOFOLLOW, 0);
        if (fd < 0)
                return fd;
        tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (rdonly ? AT_RECURSIVE : 0));
        if (tree < 0)
                return -errno;
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (rdonly ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
                return -errno;
        if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

int protect_paths_apply(const Sandbox *s, int wsfd, const char *ws_mount) {
        _cleanup_strv_free_ char **patterns = protect_patterns(s);
        _cleanup_close_ int mntfd = -EBADF;
        ProtectSet set = {.wsfd = wsfd, .workspace = s->workspace};
        struct timespec start;
        struct passwd *pw;
        struct stat wsst;
        int r;

        /* Before anything is looked at: what changes later has a later ctime. */
        if (clock_gettime(CLOCK_REALTIME, &start) < 0)
                return -errno;
        if (!patterns)
                return log_oom();
        if (fstat(wsfd, &wsst) < 0)
                return log_error_errno(errno, "Failed to look at %s: %m", s->workspace);
        set.owner = wsst.st_uid;
        pw = getpwuid(set.owner);
        if (pw && pw->pw_dir && pw->pw_dir[0] == '/' && !(set.home = strdup(pw->pw_dir)))
                return log_oom();
        r = protect_collect(&set, patterns);
        if (r < 0)
                goto finish;
        for (size_t i = 0; i < set.n; i++) {
                Entry *e = &set.e[i];
                if (!e->leaf || !IN_SET(e->state, ENTRY_FILE, ENTRY_DIR))
                        continue;
                r = entry_hash(&set, e, true);
                if (r < 0) {
                        log_error_errno(r, "Failed to read protected path %s/%s: %m", s->workspace, e->path);
                        goto finish;
                }
        }

        mntfd = open(ws_mount, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (mntfd < 0) {
                r = log_error_errno(errno, "Failed to open %s: %m", ws_mount);
                goto finish;
        }
        /* Sorted, so parents come before what is below them: each parent becomes a mount point of itself
         * (still writable: the agent commits, so .git must be), then the protected path a read-only one on
         * top. Symlinks stay as they are (a mount would follow them); stop restores them if they change. */
        for (size_t i = 0; i < set.n; i++) {
                Entry *e = &set.e[i];
                bool ro = e->leaf && IN_SET(e->state, ENTRY_FILE, ENTRY_DIR);

                if (!IN_SET(e->state, ENTRY_FILE, ENTRY_DIR) || (!e->leaf && e->state != ENTRY_DIR))
                        continue;
                r = bind_self(mntfd, e->path, ro);
                if (r < 0) {
                        log_error_errno(r, "Failed to make %s/%s %s: %m", s->workspace, e->path,
                                        ro ? "read-only" : "a mount point");
                        goto finish;
                }
        }
        for (size_t i = 0; i < set.n; i++)
                if (set.e[i].leaf && set.e[i].state == ENTRY_LINK)
                        log_notice("Protected path %s/%s is a symlink to %s; it is restored at stop if the sandbox "
                                   "changes it.",
                                   s->workspace, set.e[i].path, set.e[i].extra ?: "?");
        r = write_record(s, &set, patterns, &wsst, &start);
finish:
        protect_set_done(&set);
        return r;
}

/* --- stop ------------------------------------------------------------------------------------------------ */

typedef struct Report {
        FILE *f;
        const char *name;
        const char *workspace;
        char *qdir;   /* state/NAME/quarantine/TIME */
        int qfd;
        unsigned count;
} Report;

static int copy_tree(int sfd, const char *name, int dfd, unsigned depth) {
        struct stat st;

        if (depth > 256)
                return -ELOOP;
        if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode)) {
                char buf[4096];
                int r = readlinkat_buf(sfd, name, buf, sizeof buf);
                if (r < 0)
                        return r;
                return symlinkat(buf, dfd, name) < 0 ? -errno : 0;
        }
        if (S_ISREG(st.st_mode)) {
                _cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
                _cleanup_close_ int out = -EBADF;
                if (in < 0)
                        return -errno;
                /* Kept for a person to look at, never to run: no execute or set-ID bits. */
                out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (out < 0)
                        return -errno;
                return copy_bytes(in, out);
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_close_ int out = -EBADF;
                DIR *d;
                int r = 0;
                if (in < 0)
                        return -errno;
                if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
                        return -errno;
                out = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (out < 0)
                        return -errno;
                d = fdopendir(TAKE_FD(in));
                if (!d)
                        return -errno;
                for (struct dirent *de; (de = readdir(d));)
                        if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                                int k = copy_tree(dirfd(d), de->d_name, out, depth + 1);
                                if (k < 0 && r == 0)
                                        r = k;
                        }
                closedir(d);
                return r;
        }
        return 0; /* devices, fifos, sockets: nothing to keep */
}

static int report_open_quarantine(Report *rep) {
        _cleanup_free_ char *q = NULL;
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        int r;

        if (rep->qfd >= 0)
                return 0;
        if (!gmtime_r(&t, &tm) || strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm) == 0)
                return -EINVAL;
        r = state_dir_make(rep->name, "quarantine", &q);
        if (r < 0)
                return r;
        if (xasprintf(&rep->qdir, "%s/%s", q, ts) < 0)
                return -ENOMEM;
        for (unsigned i = 1; mkdir(rep->qdir, 0700) < 0; i++) {
                if (errno != EEXIST || i > 100)
                        return -errno;
                rep->qdir = mfree(rep->qdir);
                if (xasprintf(&rep->qdir, "%s/%s-%u", q, ts, i) < 0)
                        return -ENOMEM;
        }
        rep->qfd = open(rep->qdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return rep->qfd < 0 ? -errno : 0;
}

/* Move the entry at path (as it is now) into the quarantine, keeping its place in the tree. */
static int quarantine(ProtectSet *set, Report *rep, const char *path) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int pfd = -EBADF, qd = -EBADF;
        const char *base;
        int r;

        r = report_open_quarantine(rep);
        if (r < 0)
                return r;
        pfd = ws_open_parent(set, path, &base, &dir);
        if (pfd < 0)
                return pfd;
        /* The same relative place below the quarantine directory. */
        qd = fcntl(rep->qfd, F_DUPFD_CLOEXEC, 3);
        if (qd < 0)
                return -errno;
        if (*dir) {
                _cleanup_free_ char *copy = strdup(dir);
                char *state = NULL;
                if (!copy)
                        return -ENOMEM;
                for (char *c = strtok_r(copy, "/", &state); c; c = strtok_r(NULL, "/", &state)) {
                        int n;
                        if (mkdirat(qd, c, 0700) < 0 && errno != EEXIST)
                                return -errno;
                        n = openat(qd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (n < 0)
                                return -errno;
                        safe_close(qd);
                        qd = n;
                }
        }
        r = copy_tree(pfd, base, qd, 0);
        if (r < 0)
                log_warning_errno(r, "Could not keep all of %s/%s in %s: %m", set->workspace, path, rep->qdir);
        return rm_rf_at(pfd, base);
}

static void report_line(Report *rep, const char *what, const char *path, const char *extra) {
        log_warning("Sandbox %s: protected path %s/%s %s%s%s", rep->name, rep->workspace, path, what,
                    extra ? "; " : ".", extra ?: "");
        if (rep->f) {
                fprintf(rep->f, "%s %s", path, what);
                if (extra)
                        fprintf(rep->f, "; %s", extra);
                fputc('\n', rep->f);
        }
        rep->count++;
}

static int restore_link(ProtectSet *set, const Entry *start) {
        _cleanup_close_ int pfd = -EBADF;
        const char *base;

        pfd = ws_open_parent(set, start->path, &base, NULL);
        if (pfd < 0)
                return pfd;
        if (symlinkat(start->extra, pfd, base) < 0)
                return -errno;
        return fchownat(pfd, base, start->uid, start->gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static bool under(const char *path, char *const *dirs) {
        STRV_FOREACH(d, dirs) {
                const char *rest = startswith(path, *d) ? path + strlen(*d) : NULL;
                if (rest && (*rest == '/' || *rest == 0))
                        return true;
        }
        return false;
}

static bool same_identity(const Entry *a, const Entry *b) {
        return a->state == b->state && a->dev == b->dev && a->ino == b->ino;
}

/* Compare one path with its start state; quarantine and restore what differs. *gone gets the path when
 * it was moved away (nothing below it needs looking at). */
static int judge(ProtectSet *now, Report *rep, const Entry *start, Entry *cur, char ***gone) {
        bool leaf = (start && start->leaf) || cur->leaf;
        EntryState was = start ? start->state : ENTRY_ABSENT;
        char buf[256];
        int r;

        if (cur->state == ENTRY_BEHIND || (cur->state == ENTRY_ABSENT && IN_SET(was, ENTRY_ABSENT, ENTRY_BEHIND)))
                return 0;
        if (was == ENTRY_BEHIND)
                was = ENTRY_ABSENT;
        if (cur->state == ENTRY_ABSENT) {
                /* Gone: only a symlink can be put back (files and directories were mount points). */
                if (was == ENTRY_LINK && start->extra) {
                        r = restore_link(now, start);
                        report_line(rep, "was removed and is restored", cur->path, NULL);
                        return r;
                }
                if (was == ENTRY_DIR || was == ENTRY_FILE)
                        report_line(rep, "is gone (it was removed on the host during the session)", cur->path, NULL);
                return 0;
        }
        if (was == ENTRY_ABSENT) {
                /* A new directory where a protected path's parent belongs is only a directory; whatever is
                 * protected below it is judged on its own. Anything else new is the agent's. */
                if (!leaf && cur->state == ENTRY_DIR)
                        return 0;
        } else if (was == ENTRY_LINK) {
                if (cur->state == ENTRY_LINK && streq_ptr(cur->extra, start->extra))
                        return 0;
        } else if (same_identity(start, cur)) {
                if (!leaf || (cur->state != ENTRY_FILE && cur->state != ENTRY_DIR))
                        return 0;
                r = entry_hash(now, cur, false);
                if (r < 0)
                        return r;
                if (!streq_ptr(cur->extra, start->extra))
                        /* A read-only mount point for the whole session, with a single link: nothing in the
                         * sandbox could write it. The owner did; keep it. */
                        report_line(rep, "was changed on the host during the session (read-only inside); kept",
                                    cur->path, NULL);
                return 0;
        }
        r = quarantine(now, rep, cur->path);
        snprintf(buf, sizeof buf, "the sandbox's version is in %s/%s", rep->qdir ?: "?", cur->path);
        if (r < 0)
                log_error_errno(r, "Failed to move %s/%s out of the way: %m", rep->workspace, cur->path);
        if (strv_extend(gone, cur->path) < 0)
                return -ENOMEM;
        if (r >= 0 && was == ENTRY_LINK && start->extra) {
                r = restore_link(now, start);
                report_line(rep, was == ENTRY_LINK ? "was re-pointed or replaced; the symlink is restored"
                                                   : "was replaced",
                            cur->path, buf);
                return r;
        }
        report_line(rep,
                    was == ENTRY_ABSENT                              ? "was created during the session and removed"
                    : (was == ENTRY_DIR || was == ENTRY_FILE)        ? "was replaced during the session and removed"
                                                                     : "was changed during the session and removed",
                    cur->path, buf);
        return r;
}

static bool ctime_after(const struct timespec *a, const struct timespec *start) {
        return a->tv_sec > start->tv_sec || (a->tv_sec == start->tv_sec && a->tv_nsec >= start->tv_nsec);
}

/* The newest ctime in the tree at path (ctime cannot be set by anybody, unlike mtime). */
static void tree_newest_ctime(int pdfd, const char *name, struct timespec *newest, unsigned depth) {
        struct stat st;

        if (depth > 32 || fstatat(pdfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return;
        if (ctime_after(&st.st_ctim, newest))
                *newest = st.st_ctim;
        if (S_ISDIR(st.st_mode)) {
                int fd = openat(pdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
                if (!d) {
                        safe_close(fd);
                        return;
                }
                for (struct dirent *de; (de = readdir(d));)
                        if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                                tree_newest_ctime(dirfd(d), de->d_name, newest, depth + 1);
                closedir(d);
        }
}

/* Nested repositories anywhere in the workspace (a vendored clone, or one the agent made and entered in
 * the index as a submodule, which the host's "git status" then runs git in): the code-bearing files of
 * their git directories that changed during the session are quarantined. */
/* A program that runs with its owner's rights (set-user-ID) or group's (set-group-ID with group execute) is
 * what the agent must never leave behind: the workspace's owner is the one host user it can write as, and
 * any other local user who runs such a file becomes that owner. Inside, the workspace is mounted nosuid, and
 * the bits are only stripped here, at stop, so they are reported. */
static bool file_is_setid(const struct stat *st) {
        return (st->st_mode & S_ISUID) || (st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP);
}

static int strip_setid(Report *rep, int dfd, const char *name, const char *path) {
        _cleanup_close_ int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        char proc[64];
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !file_is_setid(&st))
                return 0;
        /* chmod through the O_PATH descriptor: exactly the file looked at, whatever happens to the name. */
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (chmod(proc, st.st_mode & 07777 & ~(mode_t) (S_ISUID | S_ISGID)) < 0)
                return log_error_errno(errno, "Sandbox %s: failed to remove the set-ID bits of %s/%s: %m", rep->name,
                                       rep->workspace, path);
        log_warning("Sandbox %s: %s/%s was set-user-ID or set-group-ID (mode %04o); the bits were removed.",
                    rep->name, rep->workspace, path, (unsigned) (st.st_mode & 07777));
        if (rep->f)
                fprintf(rep->f, "%s was set-user-ID or set-group-ID; the bits were removed\n", path);
        rep->count++;
        return 0;
}

static int check_nested(ProtectSet *set, Report *rep, int pdfd, const char *prefix, const struct timespec *start,
                        unsigned depth, unsigned *budget, char ***gone) {
        DIR *d;
        int fd, r = 0;

        if (depth > 64 || *budget == 0)
                return 0;
        fd = openat(pdfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || !(d = fdopendir(fd))) {
                safe_close(fd);
                return 0;
        }
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, "..") || --*budget == 0)
                        continue;
                if (xasprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (streq(de->d_name, ".git")) {
                        ProtectSet sub = {.wsfd = set->wsfd, .workspace = set->workspace, .owner = set->owner};
                        /* The workspace's own is judged against the record; with nothing protected at all
                         * (ProtectDefaultPaths=no and no ProtectPath=), nested ones are not looked at. */
                        if (!*prefix || set->n == 0)
                                continue;
                        if (S_ISREG(st.st_mode))
                                r = protect_set_add(&sub, path, true);
                        else if (S_ISDIR(st.st_mode))
                                r = protect_gitdir(&sub, path, 0);
                        for (size_t i = 0; r >= 0 && i < sub.n; i++) {
                                Entry *e = &sub.e[i];
                                struct timespec newest = {};
                                const char *b;
                                int pfd;

                                if (!e->leaf || IN_SET(e->state, ENTRY_ABSENT, ENTRY_BEHIND) || under(e->path, *gone))
                                        continue;
                                if (!strchr(e->path, '/'))
                                        continue;
                                pfd = ws_open_parent(set, e->path, &b, NULL);
                                if (pfd < 0)
                                        continue;
                                tree_newest_ctime(pfd, b, &newest, 0);
                                safe_close(pfd);
                                if (!ctime_after(&newest, start))
                                        continue;
                                r = quarantine(set, rep, e->path);
                                if (r >= 0 && strv_extend(gone, e->path) < 0)
                                        r = -ENOMEM;
                                char buf[256];
                                snprintf(buf, sizeof buf, "the sandbox's version is in %s/%s", rep->qdir ?: "?",
                                         e->path);
                                report_line(rep, "(git in a nested repository) changed during the session and was "
                                                 "removed",
                                            e->path, buf);
                        }
                        protect_set_done(&sub);
                        continue;
                }
                if (S_ISREG(st.st_mode) && file_is_setid(&st)) {
                        r = strip_setid(rep, dirfd(d), de->d_name, path);
                        continue;
                }
                if (S_ISDIR(st.st_mode) && st.st_dev == set->e[0].dev) {
                        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0) {
                                r = check_nested(set, rep, sub, path, start, depth + 1, budget, gone);
                                safe_close(sub);
                        }
                }
        }
        closedir(d);
        return r;
}

int protect_paths_check(const char *name) {
        _cleanup_free_ char *list = NULL, *text = NULL, *workspace = NULL, *out = NULL, *report = NULL;
        _cleanup_strv_free_ char **patterns = NULL, **gone = NULL, **seen = NULL;
        _cleanup_close_ int wsfd = -EBADF;
        ProtectSet start = {.wsfd = -EBADF}, now = {.wsfd = -EBADF};
        Report rep = {.name = name, .qfd = -EBADF};
        unsigned long long wdev = 0, wino = 0;
        struct timespec t0 = {};
        unsigned owner = 0;
        size_t size, osize = 0;
        struct stat st;
        int r;

        if (!(list = sandbox_runtime_path(name, "protected")) || !(report = sandbox_state_path(name, "protected.report")))
                return log_oom();
        r = read_full_file(list, 64 * 1024 * 1024, &text, &size);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", list);
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state)) {
                if (startswith(l, "W ")) {
                        char ws[4096];
                        long long sec = 0;
                        long nsec = 0;
                        if (sscanf(l + 2, "%llu %llu %u %lld.%ld %4095s", &wdev, &wino, &owner, &sec, &nsec, ws) == 6) {
                                workspace = unescape(ws);
                                t0 = (struct timespec){.tv_sec = sec, .tv_nsec = nsec};
                        }
                } else if (startswith(l, "P ")) {
                        char *p = unescape(l + 2);
                        if (!p || strv_consume(&patterns, p) < 0)
                                return log_oom();
                } else if (startswith(l, "E ")) {
                        char leaf, st_c, extra[8192], path[8192];
                        unsigned long long dev, ino;
                        unsigned mode, uid, gid;
                        Entry *n;
                        if (sscanf(l + 2, "%c %c %llu %llu %o %u %u %8191s %8191s", &leaf, &st_c, &dev, &ino, &mode, &uid,
                                   &gid, extra, path) != 9)
                                continue;
                        n = realloc(start.e, sizeof(Entry) * (start.n + 1));
                        if (!n)
                                return log_oom();
                        start.e = n;
                        n = &start.e[start.n++];
                        *n = (Entry){.path = unescape(path), .leaf = leaf == 'p', .dev = dev, .ino = ino, .mode = mode,
                                     .uid = uid, .gid = gid, .extra = unescape(extra)};
                        const char *sc = strchr(state_chars, st_c);
                        n->state = sc && st_c ? (EntryState) (sc - state_chars) : ENTRY_ABSENT;
                        if (!n->path || !n->extra)
                                return log_oom();
                        if (!*n->extra)
                                n->extra = mfree(n->extra);
                }
        }
        if (!workspace)
                return 0;
        rep.workspace = workspace;
        wsfd = open_no_symlinks(workspace, O_PATH | O_DIRECTORY);
        if (wsfd < 0 || fstat(wsfd, &st) < 0 || st.st_dev != (dev_t) wdev || st.st_ino != (ino_t) wino) {
                log_error("Sandbox %s: workspace %s is gone or was replaced since the start; its protected paths "
                          "cannot be checked.",
                          name, workspace);
                protect_set_done(&start);
                return -ESTALE;
        }
        now = (ProtectSet){.wsfd = wsfd, .workspace = workspace, .owner = owner};
        struct passwd *pw = getpwuid(owner);
        if (pw && pw->pw_dir && pw->pw_dir[0] == '/')
                now.home = strdup(pw->pw_dir);
        /* Everything recorded at start is looked at again, and everything the set has now (new worktrees,
         * submodules, includes, matches of globs). */
        for (size_t i = 0; i < start.n; i++) {
                r = protect_set_add(&now, start.e[i].path, start.e[i].leaf);
                if (r < 0)
                        goto finish;
        }
        r = protect_collect(&now, patterns);
        if (r < 0)
                goto finish;

        rep.f = open_memstream(&out, &osize);
        if (!rep.f) {
                r = log_oom();
                goto finish;
        }
        for (size_t i = 0; i < now.n; i++) {
                Entry *cur = &now.e[i];
                if (strv_extend(&seen, cur->path) < 0) {
                        r = log_oom();
                        goto finish;
                }
                if (under(cur->path, gone))
                        continue;
                r = judge(&now, &rep, protect_set_find(&start, cur->path), cur, &gone);
                if (r < 0)
                        log_error_errno(r, "Sandbox %s: failed to restore %s/%s: %m", name, workspace, cur->path);
        }
        /* A symlink put back (a protected path's parent the agent had renamed or replaced) can bring paths
         * into the set that its absence hid (.claude -> cfg: cfg/settings.json): look again until nothing
         * new appears. */
        r = 0;
        for (unsigned pass = 0; pass < 4; pass++) {
                ProtectSet again = {.wsfd = wsfd, .workspace = workspace, .owner = owner};
                bool any = false;

                if (now.home && !(again.home = strdup(now.home))) {
                        r = log_oom();
                        goto finish;
                }
                for (size_t i = 0; r >= 0 && i < start.n; i++)
                        r = protect_set_add(&again, start.e[i].path, start.e[i].leaf);
                if (r >= 0)
                        r = protect_collect(&again, patterns);
                for (size_t i = 0; r >= 0 && i < again.n; i++) {
                        Entry *cur = &again.e[i];
                        if (strv_contains(seen, cur->path))
                                continue;
                        any = true;
                        if (strv_extend(&seen, cur->path) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        if (under(cur->path, gone))
                                continue;
                        int k = judge(&again, &rep, protect_set_find(&start, cur->path), cur, &gone);
                        if (k < 0)
                                log_error_errno(k, "Sandbox %s: failed to restore %s/%s: %m", name, workspace, cur->path);
                }
                protect_set_done(&again);
                if (r < 0)
                        goto finish;
                if (!any)
                        break;
        }
        {
                /* The whole workspace: nested repositories (when anything is protected) and set-ID files. */
                unsigned budget = 2000000;
                Entry root = {.dev = st.st_dev};
                ProtectSet walk = now;
                walk.e = &root;
                (void) check_nested(&walk, &rep, wsfd, "", &t0, 0, &budget, &gone);
        }
        r = 0;
finish:
        if (rep.f && fclose(rep.f) != 0 && r >= 0)
                r = log_oom();
        rep.f = NULL;
        safe_close(rep.qfd);
        free(rep.qdir);
        protect_set_done(&start);
        protect_set_done(&now);
        if (r < 0)
                return r;
        if (osize == 0) {
                if (unlink(report) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Failed to remove %s: %m", report);
                return 0;
        }
        r = state_dir_make(name, NULL, NULL);
        if (r < 0)
                return r;
        _cleanup_free_ char *full = NULL;
        if (xasprintf(&full, "Protected paths in %s after the last session (by sandy-prepare at stop):\n%s", workspace,
                      out) < 0)
                return log_oom();
        r = write_file_atomic(report, full, strlen(full), 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", report);
        return 0;
}
