/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where declarations are found (the search path, masking, drop-ins) and how they are read. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "conf-parser.h"
#include "hash.h"
#include "log.h"
#include "path-util.h"
#include "sandbox-internal.h"
#include "strv.h"
#include "string-util.h"

/* The digest covers exactly the bytes parsed: one "SHA256  PATH" line per file (sha256sum's format), in the
 * order applied, and the SHA-256 of those lines. */
static int digest_add(Sandbox *s, const char *label, const char *text, size_t size) {
        char hex[SHA256_HEX_LEN + 1];
        int r;

        r = sha256_hex(text, size, hex);
        if (r < 0)
                return r;
        return strextendf(&s->digest_input, "%s  %s\n", hex, label);
}

static int digest_finish(Sandbox *s) {
        int r;

        r = sha256_hex(s->digest_input ?: "", strlen(s->digest_input ?: ""), s->digest);
        s->digest_input = mfree(s->digest_input);
        return r;
}

/* Returns < 0 on any problem; *ret_read says whether the file could be read at all. */
static int sandbox_apply_file(Sandbox *s, const char *path, bool *ret_read) {
        _cleanup_free_ char *text = NULL;
        const char *label;
        size_t size;
        int r;

        *ret_read = false;
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
        label = s->files[strv_length(s->files) - 1];
        /* Declarations are root's: read only through directories and symlinks nobody else controls. */
        r = conf_read_file(label, &text, &size);
        if (r < 0)
                return r;
        *ret_read = true;
        r = digest_add(s, label, text, size);
        if (r < 0)
                return log_oom();
        return conf_parse_string(label, text, size, sandbox_assign, s);
}

int sandbox_load_files(const char *name, const char *main_file, char *const *dropins, Sandbox **ret) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new(name);
        int r, ret_r = 0;
        bool read;

        if (!s)
                return log_oom();
        r = sandbox_apply_file(s, main_file, &read);
        if (r < 0 && !read)
                /* The main file itself was refused: there is nothing to check as a whole. */
                return r == -ENOMEM ? r : -EINVAL;
        if (r < 0)
                ret_r = r;
        STRV_FOREACH(d, dropins) {
                r = sandbox_apply_file(s, *d, &read);
                if (r < 0 && ret_r == 0)
                        ret_r = r;
        }
        r = sandbox_verify(s);
        if (r < 0 && ret_r == 0)
                ret_r = r;
        if (ret_r < 0)
                return ret_r == -ENOMEM ? ret_r : -EINVAL;
        if (digest_finish(s) < 0)
                return log_oom();
        *ret = TAKE_PTR(s);
        return 0;
}

int sandbox_load_string(const char *name, const char *label, const char *text, size_t size, Sandbox **ret) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new(name);
        int r, r2;

        if (!s || strv_extend(&s->files, label) < 0 || digest_add(s, label, text, size) < 0)
                return log_oom();
        r = conf_parse_string(s->files[0], text, size, sandbox_assign, s);
        r2 = sandbox_verify(s);
        if (r < 0 || r2 < 0)
                return (r ?: r2) == -ENOMEM ? -ENOMEM : -EINVAL;
        if (digest_finish(s) < 0)
                return log_oom();
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
        for (char *d = strtok_r(copy, ":", &state); d; d = strtok_r(NULL, ":", &state)) {
                _cleanup_free_ char *why = NULL;
                _cleanup_close_ int fd = -EBADF;

                /* A directory others can write to would let them declare, replace or mask sandboxes. */
                if (open_trusted(d, O_DIRECTORY, UID_INVALID, &fd, &why) == -EPERM) {
                        log_syntax(d, 0, LOG_ERR, EPERM, "Ignoring this search directory: %s. It and every "
                                                         "directory above it must belong to root and be writable "
                                                         "by root only.",
                                   why ?: "not trusted");
                        continue;
                }
                if (strv_extend(&l, d) < 0)
                        return NULL;
        }
        if (!l)
                l = new0(char *, 1);
        return TAKE_PTR(l);
}

/* A directory of the search path, or NULL (missing, or no longer trusted: sandbox_search_path() said why). */
static DIR *open_dir(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        DIR *d;

        if (open_trusted(path, O_DIRECTORY, UID_INVALID, &fd, NULL) < 0)
                return NULL;
        d = fdopendir(fd);
        if (d)
                TAKE_FD(fd);
        return d;
}

/* What an entry of the search path is: 1 a file to read, 0 a mask (as with units, a symlink to /dev/null or
 * an empty file), -ENOENT nothing (also a dangling symlink). A file that may not be read counts as one to
 * read: reading it reports why, and the declaration fails rather than being taken for absent or masked. */
static int entry_kind(const char *path) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = open_trusted(path, 0, UID_INVALID, &fd, NULL);
        if (r == -ENOENT)
                return r;
        if (r < 0 || fstat(fd, &st) < 0)
                return 1;
        return S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0) ? 0 : 1;
}

static int collect_dropins(char *const *dirs, const char *name, char ***ret) {
        _cleanup_strv_free_ char **basenames = NULL, **paths = NULL;

        /* A drop-in name in a higher-priority directory overrides the same name further down. */
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *dir = NULL, *why = NULL;
                _cleanup_close_ int fd = -EBADF;
                DIR *dp;
                struct dirent *de;
                int r;

                if (xasprintf(&dir, "%s/%s%s.d", *d, name, SANDBOX_SUFFIX) < 0)
                        return -ENOMEM;
                r = open_trusted(dir, O_DIRECTORY, UID_INVALID, &fd, &why);
                if (r == -EPERM)
                        /* Leaving its drop-ins out could drop a restriction: the declaration fails. */
                        return log_syntax(dir, 0, LOG_ERR, r, "Refusing this drop-in directory: %s. It and every "
                                                              "directory above it must belong to root and be "
                                                              "writable by root only.",
                                          why ?: "not trusted");
                if (r < 0)
                        continue;
                dp = fdopendir(fd);
                if (!dp)
                        return -errno;
                TAKE_FD(fd);
                while ((de = readdir(dp))) {
                        if (de->d_name[0] == '.' || !endswith(de->d_name, ".conf") ||
                            strv_contains(basenames, de->d_name))
                                continue;
                        _cleanup_free_ char *p = path_join(dir, de->d_name);
                        if (!p || strv_extend(&basenames, de->d_name) < 0) {
                                closedir(dp);
                                return -ENOMEM;
                        }
                        r = entry_kind(p);
                        if (r <= 0)
                                continue; /* masked drop-in (name reserved, nothing applied), or gone */
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
                _cleanup_close_ int fd = -EBADF;

                if (xasprintf(&p, "%s/%s%s", *d, name, SANDBOX_SUFFIX) < 0)
                        return -ENOMEM;
                /* A directory that became untrusted since sandbox_search_path() looked is skipped, too. */
                if (open_trusted(*d, O_DIRECTORY, UID_INVALID, &fd, NULL) < 0)
                        continue;
                r = entry_kind(p);
                if (r == -ENOENT)
                        continue;
                if (r == 0)
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
                DIR *dp = open_dir(*d);
                struct dirent *de;

                if (!dp)
                        continue;
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

int sandbox_unit_digest(sd_bus *bus, const char *name, char **ret) {
        _cleanup_free_ char *unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name), *path = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        char **env = NULL;
        int r;

        *ret = NULL;
        if (!unit)
                return -ENOMEM;
        r = sd_bus_path_encode(SYSTEMD_UNIT_PATH_PREFIX, unit, &path);
        if (r < 0)
                return r;
        /* systemd loads the unit for this if it has to: what it would start is what we compare with. */
        r = sd_bus_get_property_strv(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_SERVICE_IFACE, "Environment", &error,
                                     &env);
        sd_bus_error_free(&error);
        if (r < 0)
                return r;
        STRV_FOREACH(e, env) {
                const char *v = startswith(*e, SANDY_DIGEST_ENV "=") ? *e + strlen(SANDY_DIGEST_ENV "=") : NULL;
                if (v) {
                        *ret = strdup(v);
                        if (!*ret)
                                r = -ENOMEM;
                        break;
                }
        }
        strv_free(env);
        return r < 0 ? r : 0;
}
