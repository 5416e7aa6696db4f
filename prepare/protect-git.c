/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What git on the host reads as configuration or runs, found from the repository's own files: so that a
 * protected path cannot be sidestepped by pointing git somewhere else (.git file, commondir, worktrees,
 * submodules, core.hooksPath, core.fsmonitor, include.path). */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "prepare.h"
#include "protect.h"
#include "string-util.h"
#include "strv.h"

#define GIT_CONFIG_MAX (1024 * 1024)

static char *join2(const char *a, const char *b) {
        char *p = NULL;
        if (xasprintf(&p, "%s%s%s", a, *a ? "/" : "", b) < 0)
                return NULL;
        return p;
}

/* dir/NAME for each name (NULL-terminated), each protected whole. */
static int add_leaves(ProtectSet *set, const char *dir, const char *const *names) {
        for (const char *const *n = names; *n; n++) {
                _cleanup_free_ char *p = join2(dir, *n);
                int r;

                if (!p)
                        return -ENOMEM;
                r = protect_set_add(set, p, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static char *dirname_rel(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? strndup(p, (size_t) (s - p)) : strdup("");
}

/* One value of a git config line, unquoted and unescaped; comments removed. */
static char *config_value(const char *v) {
        _cleanup_free_ char *out = malloc(strlen(v) + 1);
        bool quoted = false;
        size_t n = 0, keep = 0;

        if (!out)
                return NULL;
        while (*v == ' ' || *v == '\t')
                v++;
        for (; *v; v++) {
                if (*v == '"') {
                        quoted = !quoted;
                        continue;
                }
                if (!quoted && (*v == '#' || *v == ';'))
                        break;
                if (*v == '\\' && v[1]) {
                        v++;
                        out[n++] = *v == 'n' ? '\n' : *v == 't' ? '\t' : *v;
                        keep = n;
                        continue;
                }
                out[n++] = *v;
                if (quoted || !isspace((unsigned char) *v))
                        keep = n;
        }
        out[keep] = 0;
        return TAKE_PTR(out);
}

typedef struct ConfigRefs {
        char **hooks_path, **fsmonitor, **include;
} ConfigRefs;

static void config_refs_done(ConfigRefs *r) {
        r->hooks_path = strv_free(r->hooks_path);
        r->fsmonitor = strv_free(r->fsmonitor);
        r->include = strv_free(r->include);
}

/* The values of core.hooksPath, core.fsmonitor, include.path and includeIf.*.path in a git config text.
 * Deliberately generous: a value git would take is never missed (continuation lines are joined,
 * "[section.sub]" and "[section "sub"]" both count). */
static int config_scan(char *text, ConfigRefs *refs) {
        _cleanup_free_ char *section = NULL;
        char *state = NULL;

        /* Continuation lines: a backslash before the newline joins them. */
        for (char *p = text; (p = strstr(p, "\\\n"));)
                memmove(p, p + 2, strlen(p + 2) + 1);
        for (char *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state)) {
                char *eq, *key;

                while (isspace((unsigned char) *l))
                        l++;
                if (*l == '[') {
                        char *end = strchr(l, ']'), *rest;
                        if (!end)
                                continue;
                        free(section);
                        section = strndup(l + 1, (size_t) (end - l - 1));
                        if (!section)
                                return -ENOMEM;
                        for (char *c = section; *c && *c != ' ' && *c != '"'; c++)
                                *c = (char) tolower((unsigned char) *c);
                        /* "[core] hooksPath = x" on one line */
                        rest = end + 1;
                        while (isspace((unsigned char) *rest))
                                rest++;
                        if (!*rest || *rest == '#' || *rest == ';')
                                continue;
                        l = rest;
                }
                if (!section || !*l || *l == '#' || *l == ';')
                        continue;
                eq = strchr(l, '=');
                if (!eq)
                        continue;
                key = strndup(l, (size_t) (eq - l));
                if (!key)
                        return -ENOMEM;
                strstrip(key);
                for (char *c = key; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
                char ***list = NULL;
                if (startswith(section, "core") && (section[4] == 0 || isspace((unsigned char) section[4]))) {
                        if (streq(key, "hookspath"))
                                list = &refs->hooks_path;
                        else if (streq(key, "fsmonitor"))
                                list = &refs->fsmonitor;
                } else if (streq(key, "path") && (streq(section, "include") || startswith(section, "includeif")))
                        list = &refs->include;
                free(key);
                if (!list)
                        continue;
                char *v = config_value(eq + 1);
                if (!v || strv_consume(list, v) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int protect_config_refs(ProtectSet *set, const char *config_dir, const ConfigRefs *refs, unsigned depth);

/* A config file in the workspace: protected itself, and what it names. */
static int protect_config(ProtectSet *set, const char *path, unsigned depth) {
        _cleanup_free_ char *text = NULL, *dir = NULL;
        ConfigRefs refs = {};
        int r;

        r = protect_set_add(set, path, true);
        if (r < 0 || depth > PROTECT_DEPTH_MAX)
                return r;
        r = protect_read_file(set, path, GIT_CONFIG_MAX, &text);
        if (r < 0)
                return 0; /* absent, or behind a symlink: the entry itself is judged at stop */
        dir = dirname_rel(path);
        if (!dir)
                return -ENOMEM;
        r = config_scan(text, &refs);
        if (r >= 0)
                r = protect_config_refs(set, dir, &refs, depth);
        config_refs_done(&refs);
        return r;
}

static bool value_is_path(const char *v) {
        /* core.fsmonitor is a boolean (the built-in daemon) or a hook command */
        return !isempty(v) && !streq(v, "true") && !streq(v, "false") && !streq(v, "yes") && !streq(v, "no") &&
               !streq(v, "1") && !streq(v, "0") && !streq(v, "on") && !streq(v, "off");
}

static int protect_config_refs(ProtectSet *set, const char *config_dir, const ConfigRefs *refs, unsigned depth) {
        int r;

        /* core.hooksPath and a relative core.fsmonitor are taken relative to the top of the work tree
         * git runs in: the workspace (submodules' own configs are scanned for their own work trees by
         * protecting the same names from the workspace root, which covers the common case; the
         * value is also taken relative to the config's directory, to be safe). */
        STRV_FOREACH(h, refs->hooks_path) {
                _cleanup_free_ char *a = protect_resolve(set, "", *h), *b = protect_resolve(set, config_dir, *h);
                if ((a && (r = protect_set_add(set, a, true)) < 0) || (b && (r = protect_set_add(set, b, true)) < 0))
                        return r;
        }
        STRV_FOREACH(f, refs->fsmonitor) {
                _cleanup_free_ char *first = NULL, *a = NULL;
                if (!value_is_path(*f))
                        continue;
                first = strndup(*f, strcspn(*f, " \t"));
                if (!first)
                        return -ENOMEM;
                a = protect_resolve(set, "", first);
                if (a && (r = protect_set_add(set, a, true)) < 0)
                        return r;
        }
        STRV_FOREACH(i, refs->include) {
                _cleanup_free_ char *p = protect_resolve(set, config_dir, *i);
                if (p && (r = protect_config(set, p, depth + 1)) < 0)
                        return r;
        }
        return 0;
}

/* The owner's global and the system's config live outside the workspace, but may name files in it
 * (core.hooksPath=.githooks for every repository, an include of a project file). Read as the owner:
 * their view, never root's. */
static int protect_global_configs(ProtectSet *set) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        const char *files[3] = {"/etc/gitconfig", NULL, NULL};
        int r;

        if (set->home && (xasprintf(&a, "%s/.gitconfig", set->home) < 0 ||
                          xasprintf(&b, "%s/.config/git/config", set->home) < 0))
                return -ENOMEM;
        files[1] = a;
        files[2] = b;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = NULL;
                ConfigRefs refs = {};

                if (!files[i])
                        continue;
                r = set->owner != 0 ? read_file_as_user(files[i], set->owner, GIT_CONFIG_MAX, &text) : -ENOENT;
                if (r < 0 && i == 0) {
                        _cleanup_close_ int fd = open_no_symlinks(files[i], O_RDONLY | O_NONBLOCK);
                        r = fd < 0 ? fd
                                   : read_full_fd_full(fd, GIT_CONFIG_MAX, READ_FULL_TRUNCATE, &text, NULL);
                }
                if (r < 0)
                        continue;
                r = config_scan(text, &refs);
                /* Includes of a global config are relative to its own directory, outside the workspace;
                 * only absolute ones can land in it. */
                if (r >= 0)
                        r = protect_config_refs(set, "", &(ConfigRefs){refs.hooks_path, refs.fsmonitor, NULL}, 0);
                STRV_FOREACH(inc, refs.include) {
                        _cleanup_free_ char *p = NULL;
                        if (r < 0)
                                break;
                        if ((*inc)[0] == '/' || startswith(*inc, "~/"))
                                p = protect_resolve(set, "", *inc);
                        if (p)
                                r = protect_config(set, p, 1);
                }
                config_refs_done(&refs);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int list_subdirs(ProtectSet *set, const char *path, char ***ret) {
        _cleanup_close_ int fd = openat_no_symlinks(set->wsfd, path, O_RDONLY | O_DIRECTORY, 0);
        DIR *d;

        *ret = NULL;
        if (fd < 0)
                return 0;
        d = fdopendir(TAKE_FD(fd));
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || de->d_type != DT_DIR)
                        continue;
                if (strv_extend(ret, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        strv_sort(*ret);
        return 0;
}

static bool is_gitdir(ProtectSet *set, const char *path) {
        static const char *const marks[] = {"HEAD", "config", "objects", "commondir"};
        for (size_t i = 0; i < ELEMENTSOF(marks); i++) {
                _cleanup_free_ char *p = join2(path, marks[i]);
                _cleanup_close_ int fd = p ? openat_no_symlinks(set->wsfd, p, O_PATH | O_NOFOLLOW, 0) : -ENOMEM;
                if (fd >= 0)
                        return true;
        }
        return false;
}

/* modules/NAME: NAME may have slashes ("lib/foo"), so a directory that is not a git directory itself is
 * searched further down. */
static int protect_modules(ProtectSet *set, const char *dir, unsigned depth) {
        _cleanup_strv_free_ char **subs = NULL;
        int r;

        if (depth > PROTECT_DEPTH_MAX || set->overflow)
                return 0;
        r = list_subdirs(set, dir, &subs);
        if (r < 0)
                return r;
        STRV_FOREACH(s, subs) {
                _cleanup_free_ char *p = join2(dir, *s);
                if (!p)
                        return -ENOMEM;
                r = is_gitdir(set, p) ? protect_gitdir(set, p, depth + 1) : protect_modules(set, p, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int protect_gitdir(ProtectSet *set, const char *g, unsigned depth) {
        static const char *const leaves[] = {"hooks", "info", "commondir", NULL};
        static const char *const configs[] = {"config", "config.worktree"};
        _cleanup_strv_free_ char **wts = NULL;
        _cleanup_free_ char *cd = NULL, *commondir = NULL, *mods = NULL, *wtdir = NULL;
        int r;

        if (depth > PROTECT_DEPTH_MAX || set->overflow)
                return 0;
        r = add_leaves(set, g, leaves);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(configs); i++) {
                _cleanup_free_ char *p = join2(g, configs[i]);
                if (!p)
                        return -ENOMEM;
                r = protect_config(set, p, 0);
                if (r < 0)
                        return r;
        }
        /* commondir: the git directory this one shares config, hooks and refs with. */
        if (!(cd = join2(g, "commondir")))
                return -ENOMEM;
        if (protect_read_file(set, cd, 4096, &commondir) >= 0) {
                _cleanup_free_ char *target = NULL;
                commondir[strcspn(commondir, "\n")] = 0;
                target = protect_resolve(set, g, commondir);
                if (target && !protect_set_find(set, target)) {
                        r = protect_gitdir(set, target, depth + 1);
                        if (r < 0)
                                return r;
                }
        }
        /* Linked work trees: each has its own commondir, config.worktree and gitdir (the way back). */
        if (!(wtdir = join2(g, "worktrees")))
                return -ENOMEM;
        r = list_subdirs(set, wtdir, &wts);
        if (r < 0)
                return r;
        STRV_FOREACH(w, wts) {
                static const char *const wleaves[] = {"commondir", "gitdir", "hooks", "info", NULL};
                _cleanup_free_ char *wd = join2(wtdir, *w), *wc = NULL;
                if (!wd || !(wc = join2(wd, "config.worktree")))
                        return -ENOMEM;
                r = add_leaves(set, wd, wleaves);
                if (r < 0)
                        return r;
                r = protect_config(set, wc, 0);
                if (r < 0)
                        return r;
        }
        if (!(mods = join2(g, "modules")))
                return -ENOMEM;
        return protect_modules(set, mods, depth);
}

int protect_git(ProtectSet *set, const char *worktree) {
        _cleanup_free_ char *dotgit = join2(worktree, ".git"), *text = NULL;
        Entry *e;
        int r;

        if (!dotgit)
                return -ENOMEM;
        /* .git as a file: "gitdir: PATH" (linked work trees, submodules). The file is protected; where it
         * points, when inside the workspace, is a git directory like any other. */
        r = protect_set_add(set, dotgit, false);
        if (r < 0)
                return r;
        e = protect_set_find(set, dotgit);
        if (e && e->state == ENTRY_FILE) {
                e->leaf = true;
                if (protect_read_file(set, dotgit, 4096, &text) >= 0 && startswith(text, "gitdir:")) {
                        _cleanup_free_ char *v = config_value(text + 7), *target = NULL;
                        if (!v)
                                return -ENOMEM;
                        v[strcspn(v, "\n")] = 0;
                        target = protect_resolve(set, worktree, v);
                        if (target) {
                                r = protect_gitdir(set, target, 0);
                                if (r < 0)
                                        return r;
                        }
                }
        } else {
                r = protect_gitdir(set, dotgit, 0);
                if (r < 0)
                        return r;
        }
        if (isempty(worktree))
                return protect_global_configs(set);
        return 0;
}
