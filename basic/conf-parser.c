/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "conf-parser.h"
#include "log.h"
#include "fs-util.h"
#include "string-util.h"

static bool section_name_is_valid(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (*s == '[' || *s == ']' || (unsigned char) *s < ' ' || *s == 0x7f)
                        return false;
        return true;
}

static int parse_line(const char *label, unsigned line, char *l, char **section, conf_assign_t assign,
                      void *userdata) {
        char *eq, *key, *value;

        if (!utf8_is_valid(l))
                return log_syntax(label, line, LOG_ERR, EINVAL, "Line is not valid UTF-8.");

        if (l[0] == '[') {
                size_t n = strlen(l);
                char *name;

                if (l[n - 1] != ']')
                        return log_syntax(label, line, LOG_ERR, EINVAL, "Invalid section header '%s'.", l);
                l[n - 1] = 0;
                name = l + 1;
                if (!section_name_is_valid(name))
                        return log_syntax(label, line, LOG_ERR, EINVAL, "Invalid section name '%s'.", name);
                free(*section);
                *section = strdup(name);
                return *section ? 0 : log_oom();
        }

        eq = strchr(l, '=');
        if (!eq)
                return log_syntax(label, line, LOG_ERR, EINVAL, "Missing '=' in line '%s'.", l);
        *eq = 0;
        key = strstrip(l);
        value = strstrip(eq + 1);
        if (isempty(key))
                return log_syntax(label, line, LOG_ERR, EINVAL, "Assignment without a key.");
        if (!*section)
                return log_syntax(label, line, LOG_ERR, EINVAL,
                                  "Assignment '%s=' outside of any section.", key);
        if (string_has_cc(key) || strpbrk(key, " []"))
                return log_syntax(label, line, LOG_ERR, EINVAL, "Invalid key name.");

        return assign(label, line, *section, key, value, userdata);
}

int conf_parse_string(const char *label, const char *text, size_t size, conf_assign_t assign,
                      void *userdata) {
        _cleanup_free_ char *section = NULL, *logical = NULL;
        size_t logical_len = 0;
        unsigned line = 0, logical_line = 0;
        const char *p = text, *end = text + size;
        int ret = 0, r;

        const char *nul = memchr(text, 0, size);
        if (nul) {
                unsigned at = 1;
                for (const char *c = text; c < nul; c++)
                        at += *c == '\n';
                return log_syntax(label, at, LOG_ERR, EBADMSG, "File contains a NUL byte; not a text file.");
        }

        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p));
                size_t n = eol ? (size_t) (eol - p) : (size_t) (end - p);
                bool continues;
                char *l;

                line++;
                if (logical_len + n + 2 > CONF_LINE_MAX) {
                        r = log_syntax(label, logical ? logical_line : line, LOG_ERR, E2BIG,
                                       "Line too long (more than %u bytes).", CONF_LINE_MAX);
                        return ret ?: r; /* nothing sensible can follow */
                }

                _cleanup_free_ char *raw = strndup(p, n);
                if (!raw)
                        return log_oom();
                p = eol ? eol + 1 : end;
                l = strstrip(raw);

                /* Comments inside a continued line are skipped, as systemd does. */
                if (l[0] == '#' || l[0] == ';')
                        continue;
                if (!logical && l[0] == 0)
                        continue;

                continues = l[0] && l[strlen(l) - 1] == '\\';
                if (continues)
                        l[strlen(l) - 1] = ' ';

                if (!logical) {
                        logical = malloc(CONF_LINE_MAX);
                        if (!logical)
                                return log_oom();
                        logical_len = 0;
                        logical_line = line;
                }
                memcpy(logical + logical_len, l, strlen(l) + 1);
                logical_len += strlen(l);

                if (continues && p < end)
                        continue;

                r = parse_line(label, logical_line, strstrip(logical), &section, assign, userdata);
                if (r < 0 && ret == 0)
                        ret = r;
                logical = mfree(logical);
                logical_len = 0;
        }
        if (logical) {
                r = parse_line(label, logical_line, strstrip(logical), &section, assign, userdata);
                if (r < 0 && ret == 0)
                        ret = r;
        }

        return ret;
}

/* ---- reading files only trusted users can have written -------------------------------------------- */

/* Symlinks followed in one lookup, as the kernel's limit. */
#define TRUST_MAX_SYMLINKS 40
#define TRUST_MAX_DEPTH 256

static bool uid_is_trusted(uid_t uid, uid_t also) {
        /* The user running us: a file of our own gives us nothing we do not have. For the root programs
         * that read declarations that is root alone. */
        return uid == 0 || uid == geteuid() || (also != UID_INVALID && uid == also);
}

static int problem(char **ret, const char *fmt, ...) _printf_(2, 3);
static int problem(char **ret, const char *fmt, ...) {
        va_list ap;

        if (ret) {
                free(*ret);
                va_start(ap, fmt);
                if (vasprintf(ret, fmt, ap) < 0)
                        *ret = NULL;
                va_end(ap);
        }
        return -EPERM;
}

/* May an entry met on the way be trusted: its owner, and for directories and files who may change it. */
static int check_entry(const char *path, const struct stat *st, uid_t also, char **ret_problem) {
        const char *who = geteuid() == 0 ? "root" : "root or you";

        if (!uid_is_trusted(st->st_uid, also))
                return problem(ret_problem, "%s %s is owned by UID %u, not by %s",
                               S_ISDIR(st->st_mode) ? "directory" : S_ISLNK(st->st_mode) ? "symlink" : "file", path,
                               (unsigned) st->st_uid, who);
        if (S_ISLNK(st->st_mode))
                return 0; /* the mode of a symlink means nothing; its directory decides who may replace it */
        if (S_ISDIR(st->st_mode)) {
                /* A sticky directory (/tmp) lets others add entries, but not rename or replace ours; every
                 * entry taken from it is checked in turn. */
                if ((st->st_mode & 0022) && !(st->st_mode & S_ISVTX))
                        return problem(ret_problem, "directory %s is writable by %s (mode %04o)", path,
                                       (st->st_mode & 0002) ? "others" : "its group", st->st_mode & 07777);
                return 0;
        }
        if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3))
                return 0; /* /dev/null, a mask: nothing to read */
        if (!S_ISREG(st->st_mode))
                return problem(ret_problem, "%s is not a regular file", path);
        if (st->st_mode & 0022)
                return problem(ret_problem, "%s is writable by %s (mode %04o)", path,
                               (st->st_mode & 0002) ? "others" : "its group", st->st_mode & 07777);
        return 0;
}

int check_trusted_stat(const char *path, const struct stat *st, uid_t also_trusted, char **ret_problem) {
        if (ret_problem)
                *ret_problem = NULL;
        if (S_ISLNK(st->st_mode))
                return problem(ret_problem, "symlink %s is on the way, and no symlink is followed here",
                               path);
        return check_entry(path, st, also_trusted, ret_problem);
}

int open_trusted(const char *path, int flags, uid_t also_trusted, int *ret_fd, char **ret_problem) {
        _cleanup_free_ char *todo = NULL, *walked = NULL;
        int stack[TRUST_MAX_DEPTH];
        size_t depth = 0;
        unsigned links = 0;
        int cur = -EBADF, fd = -EBADF, r;
        struct stat st;
        const char *p;

        if (ret_problem)
                *ret_problem = NULL;
        if (isempty(path))
                return -EINVAL;
        if (path[0] == '/')
                todo = strdup(path);
        else {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
                if (xasprintf(&todo, "%s/%s", cwd, path) < 0)
                        return -ENOMEM;
        }
        walked = strdup("");
        if (!todo || !walked)
                return -ENOMEM;

        /* Walk from / one component at a time, never letting the kernel follow a symlink: each entry is
         * checked on the fd that then leads on, so nothing can be swapped between check and use. Symlinks
         * are followed by hand, their targets walked the same way. */
        cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return -errno;
        if (fstat(cur, &st) < 0) {
                r = -errno;
                goto finish;
        }
        r = check_entry("/", &st, also_trusted, ret_problem);
        if (r < 0)
                goto finish;

        p = todo;
        for (;;) {
                char comp[NAME_MAX + 1];
                size_t n;
                bool last;

                p += strspn(p, "/");
                if (!*p)
                        break; /* ends at the directory cur */
                n = strcspn(p, "/");
                if (n > NAME_MAX) {
                        r = -ENAMETOOLONG;
                        goto finish;
                }
                memcpy(comp, p, n);
                comp[n] = 0;
                p += n;
                last = p[strspn(p, "/")] == 0;

                if (streq(comp, "."))
                        continue;
                if (streq(comp, "..")) {
                        if (depth > 0) {
                                safe_close(cur);
                                cur = stack[--depth];
                                *(strrchr(walked, '/') ?: walked) = 0;
                        }
                        continue;
                }
                fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0) {
                        r = -errno;
                        goto finish;
                }
                _cleanup_free_ char *here = NULL;
                if (xasprintf(&here, "%s/%s", walked, comp) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = check_entry(here, &st, also_trusted, ret_problem);
                if (r < 0)
                        goto finish;

                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        char *next;

                        if ((flags & O_NOFOLLOW) && st.st_uid != 0) {
                                r = problem(ret_problem,
                                            "symlink %s of UID %u is on the way, and only root's symlinks are "
                                            "followed here",
                                            here, (unsigned) st.st_uid);
                                goto finish;
                        }
                        if (++links > TRUST_MAX_SYMLINKS) {
                                r = -ELOOP;
                                goto finish;
                        }
                        r = readlinkat_buf(fd, "", target, sizeof target);
                        if (r < 0)
                                goto finish;
                        fd = safe_close(fd);
                        if (xasprintf(&next, "%s/%s", target, p) < 0) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        if (target[0] == '/') {
                                while (depth > 0) {
                                        safe_close(cur);
                                        cur = stack[--depth];
                                }
                                walked[0] = 0;
                        }
                        free(todo);
                        todo = next;
                        p = todo;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (depth >= TRUST_MAX_DEPTH) {
                                r = -ENAMETOOLONG;
                                goto finish;
                        }
                        stack[depth++] = cur;
                        cur = TAKE_FD(fd);
                        free(walked);
                        walked = TAKE_PTR(here);
                        continue;
                }
                if (!last) {
                        r = -ENOTDIR;
                        goto finish;
                }
                if (flags & O_DIRECTORY) {
                        r = -ENOTDIR;
                        goto finish;
                }
                /* The file itself, opened for reading from the checked directory; the same inode, or someone
                 * trusted changed it meanwhile. */
                _cleanup_close_ int rfd = openat(cur, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
                struct stat rst;
                if (rfd < 0 || fstat(rfd, &rst) < 0) {
                        r = -errno;
                        goto finish;
                }
                if (rst.st_dev != st.st_dev || rst.st_ino != st.st_ino) {
                        r = -EAGAIN;
                        goto finish;
                }
                *ret_fd = TAKE_FD(rfd);
                r = 0;
                goto finish;
        }
        /* The path named a directory. */
        if (!(flags & O_DIRECTORY)) {
                r = -EISDIR;
                goto finish;
        }
        *ret_fd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = *ret_fd < 0 ? -errno : 0;
finish:
        safe_close(fd);
        safe_close(cur);
        while (depth > 0)
                safe_close(stack[--depth]);
        if (r != -EPERM && ret_problem)
                *ret_problem = mfree(*ret_problem);
        return r;
}

int conf_read_file(const char *path, char **ret, size_t *ret_size) {
        _cleanup_free_ char *why = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = open_trusted(path, 0, UID_INVALID, &fd, &why);
        if (r == -EPERM && why)
                return log_syntax(path, 0, LOG_ERR, r,
                                  "Refusing to read this file: %s. Like sudoers, it and every directory and symlink "
                                  "on the way to it must belong to root and be writable by root only.",
                                  why);
        if (r < 0)
                return log_syntax(path, 0, LOG_ERR, r, "Failed to read: %m");
        r = read_full_fd(fd, CONF_FILE_MAX, ret, ret_size);
        if (r == -EFBIG)
                return log_syntax(path, 0, LOG_ERR, r, "File is larger than %u bytes.", CONF_FILE_MAX);
        if (r < 0)
                return log_syntax(path, 0, LOG_ERR, r, "Failed to read: %m");
        return 0;
}

int conf_parse_file(const char *path, conf_assign_t assign, void *userdata) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = conf_read_file(path, &text, &size);
        if (r < 0)
                return r;
        return conf_parse_string(path, text, size, assign, userdata);
}

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static size_t min3(size_t a, size_t b, size_t c) {
        return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* The Levenshtein distance of a and b, ignoring case; SIZE_MAX for names too long to be typos of ours. */
static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

        if (la > 64 || lb > 64)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
                                      prev[j - 1] + (ascii_lower(a[i - 1]) != ascii_lower(b[j - 1])));
                }
                memcpy(prev, cur, sizeof(size_t) * (lb + 1));
        }
        return prev[lb];
}

/* Close enough to be a typo: one or two edits, and fewer than half the name (so "Us" does not become
 * "User"). */
static bool is_typo_of(const char *typed, const char *known) {
        size_t d = edit_distance(typed, known);
        return d <= 2 && d * 2 < strlen(typed);
}

/* A known section that section is a typo of, or NULL. */
static const char *similar_section(const ConfTable *t, const char *section) {
        for (size_t i = 0; i < t->n_keys; i++)
                if (is_typo_of(section, t->keys[i].section))
                        return t->keys[i].section;
        return NULL;
}

int conf_table_assign(const char *file, unsigned line, const char *section, const char *key, const char *value,
                      void *userdata) {
        const ConfTable *t = userdata;
        const ConfKey *elsewhere = NULL, *similar = NULL;
        bool section_known = false;
        const char *s;

        if (startswith(section, "X-") || startswith(key, "X-"))
                return 0;
        for (size_t i = 0; i < t->n_keys; i++) {
                const ConfKey *k = &t->keys[i];

                if (streq(section, k->section)) {
                        section_known = true;
                        if (streq(key, k->key))
                                return k->parse(file, line, key, value, (uint8_t *) t->object + k->offset,
                                                t->object);
                }
                if (!elsewhere && streq(key, k->key))
                        elsewhere = k;
                /* A typo in the right section is likelier than one in another. */
                if (is_typo_of(key, k->key) && (!similar || (streq(section, k->section) &&
                                                             !streq(section, similar->section))))
                        similar = k;
        }

        /* Never ignore what was meant to restrict the sandbox (Mode=strict in [Sandbox] would leave it
         * lenient): whatever is not understood is an error, and nothing is generated. Other tools' keys and
         * sections start with "X-". */
        if (!section_known) {
                s = similar_section(t, section);
                if (s)
                        return log_syntax(file, line, LOG_ERR, EINVAL,
                                          "%s= is in an unknown section [%s]; did you mean [%s]?", key,
                                          section, s);
                return log_syntax(file, line, LOG_ERR, EINVAL,
                                  "%s= is in an unknown section [%s] (sections for other tools start with "
                                  "\"X-\").",
                                  key, section);
        }
        if (elsewhere)
                return log_syntax(file, line, LOG_ERR, EINVAL, "%s= belongs in [%s], not [%s].", key,
                                  elsewhere->section, section);
        if (similar && streq(similar->section, section))
                return log_syntax(file, line, LOG_ERR, EINVAL, "Unknown key %s= in [%s]; did you mean %s=?",
                                  key, section, similar->key);
        if (similar)
                return log_syntax(file, line, LOG_ERR, EINVAL,
                                  "Unknown key %s= in [%s]; did you mean [%s] %s=?", key, section,
                                  similar->section, similar->key);
        return log_syntax(file, line, LOG_ERR, EINVAL,
                          "Unknown key %s= in [%s] (keys for other tools start with \"X-\").", key, section);
}
