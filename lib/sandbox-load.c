/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where declarations are found (the search path, masking, drop-ins) and how they are read. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-parser.h"
#include "log.h"
#include "path-util.h"
#include "sandbox-internal.h"
#include "strv.h"
#include "string-util.h"

static int sandbox_apply_file(Sandbox *s, const char *path) {
        int r;

        /* File names end up in comments and messages of generated files; a newline there would be a line
         * of its own. */
        if (string_has_cc(path) || !utf8_is_valid(path))
                return log_error_errno(EINVAL, "Refusing file with control characters or invalid UTF-8 in its "
                                               "name (next to %s).",
                                       s->files && s->files[0] ? s->files[0] : "the declaration");

        r = strv_extend(&s->files, path);
        if (r < 0)
                return log_oom();
        /* Locations point at our own copy, which lives as long as the Sandbox. */
        return conf_parse_file(s->files[strv_length(s->files) - 1], sandbox_assign, s);
}

int sandbox_load_files(const char *name, const char *main_file, char *const *dropins, Sandbox **ret) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new(name);
        int r, ret_r = 0;

        if (!s)
                return log_oom();
        r = sandbox_apply_file(s, main_file);
        if (r < 0 && !s->files)
                /* The main file itself was refused: there is nothing to check as a whole. */
                return r == -ENOMEM ? r : -EINVAL;
        if (r < 0)
                ret_r = r;
        STRV_FOREACH(d, dropins) {
                r = sandbox_apply_file(s, *d);
                if (r < 0 && ret_r == 0)
                        ret_r = r;
        }
        r = sandbox_verify(s);
        if (r < 0 && ret_r == 0)
                ret_r = r;
        if (ret_r < 0)
                return ret_r == -ENOMEM ? ret_r : -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

int sandbox_load_string(const char *name, const char *label, const char *text, size_t size, Sandbox **ret) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new(name);
        int r, r2;

        if (!s || strv_extend(&s->files, label) < 0)
                return log_oom();
        r = conf_parse_string(s->files[0], text, size, sandbox_assign, s);
        r2 = sandbox_verify(s);
        if (r < 0 || r2 < 0)
                return (r ?: r2) == -ENOMEM ? -ENOMEM : -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- search path -------------------------------------------------------------------------------- */

char **sandbox_search_path(const char *search_path) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        char *state = NULL;

        if (!search_path)
                search_path = getenv("SANDY_SEARCH_PATH");
        if (isempty(search_path))
                search_path = SANDY_SEARCH_PATH_DEFAULT;
        copy = strdup(search_path);
        if (!copy)
                return NULL;
        for (char *d = strtok_r(copy, ":", &state); d; d = strtok_r(NULL, ":", &state))
                if (strv_extend(&l, d) < 0)
                        return NULL;
        if (!l)
                l = new0(char *, 1);
        return TAKE_PTR(l);
}

static bool file_is_mask(const char *path) {
        struct stat st;

        /* As with units: a symlink to /dev/null or an empty file masks the name. */
        if (stat(path, &st) < 0)
                return false;
        return S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0);
}

static int collect_dropins(char *const *dirs, const char *name, char ***ret) {
        _cleanup_strv_free_ char **basenames = NULL, **paths = NULL;

        /* A drop-in name in a higher-priority directory overrides the same name further down. */
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *dir = NULL;
                DIR *dp;
                struct dirent *de;

                if (xasprintf(&dir, "%s/%s%s.d", *d, name, SANDBOX_SUFFIX) < 0)
                        return -ENOMEM;
                dp = opendir(dir);
                if (!dp)
                        continue;
                while ((de = readdir(dp))) {
                        if (de->d_name[0] == '.' || !endswith(de->d_name, ".conf") ||
                            strv_contains(basenames, de->d_name))
                                continue;
                        _cleanup_free_ char *p = path_join(dir, de->d_name);
                        if (!p || strv_extend(&basenames, de->d_name) < 0) {
                                closedir(dp);
                                return -ENOMEM;
                        }
                        if (file_is_mask(p))
                                continue; /* masked drop-in: name reserved, nothing applied */
                        if (strv_consume(&paths, TAKE_PTR(p)) < 0) {
                                closedir(dp);
                                return -ENOMEM;
                        }
                }
                closedir(dp);
        }
        /* Applied in lexical order of their file names, whichever directory they came from. */
        size_t n = strv_length(paths);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0; j--) {
                        const char *a = strrchr(paths[j - 1], '/') + 1, *b = strrchr(paths[j], '/') + 1;
                        if (strcmp(a, b) <= 0)
                                break;
                        char *t = paths[j - 1];
                        paths[j - 1] = paths[j];
                        paths[j] = t;
                }
        *ret = TAKE_PTR(paths);
        return 0;
}

int sandbox_find(char *const *dirs, const char *name, char **ret_main, char ***ret_dropins) {
        int r;

        if (!sandbox_name_is_valid(name) || sandbox_name_is_reserved(name))
                return -EINVAL;
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *p = NULL;

                if (xasprintf(&p, "%s/%s%s", *d, name, SANDBOX_SUFFIX) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) < 0)
                        continue;
                if (file_is_mask(p))
                        return -ENXIO;
                if (ret_dropins) {
                        r = collect_dropins(dirs, name, ret_dropins);
                        if (r < 0)
                                return r;
                }
                if (ret_main)
                        *ret_main = TAKE_PTR(p);
                return 0;
        }
        return -ENOENT;
}

int sandbox_list_names(char *const *dirs, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;

        STRV_FOREACH(d, dirs) {
                DIR *dp = opendir(*d);
                struct dirent *de;

                if (!dp) {
                        if (errno != ENOENT)
                                log_warning_errno(errno, "Failed to open %s, ignoring: %m", *d);
                        continue;
                }
                while ((de = readdir(dp))) {
                        char *name;

                        if (de->d_name[0] == '.' || !endswith(de->d_name, SANDBOX_SUFFIX))
                                continue;
                        if (sandbox_name_from_path(de->d_name, &name) < 0) {
                                log_syntax(*d, 0, LOG_ERR, EINVAL,
                                           "\"%s\" does not make a valid sandbox name (letters, digits, '-', "
                                           "'_', '.', at most %d characters), ignoring.",
                                           de->d_name, SANDBOX_NAME_MAX);
                                continue;
                        }
                        if (strv_contains(names, name)) {
                                free(name);
                                continue;
                        }
                        if (strv_consume(&names, name) < 0) {
                                closedir(dp);
                                return -ENOMEM;
                        }
                }
                closedir(dp);
        }
        strv_sort(names);
        *ret = TAKE_PTR(names);
        return 0;
}

int sandbox_load(char *const *dirs, const char *name, Sandbox **ret) {
        _cleanup_free_ char *main_file = NULL;
        _cleanup_strv_free_ char **dropins = NULL;
        int r;

        r = sandbox_find(dirs, name, &main_file, &dropins);
        if (r < 0)
                return r;
        return sandbox_load_files(name, main_file, dropins, ret);
}

int sandbox_check_dropin(const char *path) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new("dropin");
        int r;

        if (!s || strv_extend(&s->files, path) < 0)
                return log_oom();
        r = conf_parse_file(s->files[0], sandbox_assign, s);
        return r < 0 ? (r == -ENOMEM ? r : -EINVAL) : 0;
}

/* Quote a word for our own list syntax (see extract_word()). */
