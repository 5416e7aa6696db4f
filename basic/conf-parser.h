/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>
#include <sys/stat.h>

#include "macro.h"

#ifndef UID_INVALID
#define UID_INVALID ((uid_t) -1)
#endif

/* Reader for systemd's unit-file syntax: "[Section]" headers, "Key=value" assignments, "#" and ";"
 * comments, a trailing backslash continues a line. Every assignment is handed to the callback with the
 * file and the line it started on; the callback validates and stores it. */

#define CONF_FILE_MAX (1024U * 1024U)
#define CONF_LINE_MAX (64U * 1024U)

typedef int (*conf_assign_t)(const char *file, unsigned line, const char *section, const char *key,
                             const char *value, void *userdata);

/* Open path the way sudo checks sudoers and sshd's StrictModes checks authorized_keys, for a program that
 * must not act on what an untrusted user wrote: the file, every directory on the way from / and every
 * symlink followed (and the directories on the way to its target) must belong to root, to the user running
 * us, or to also_trusted (UID_INVALID: nobody else), and no directory or file may be writable by group or
 * others; a sticky directory (/tmp) is fine, since what is taken from it is checked in turn. The walk holds
 * an fd at each step (openat with O_NOFOLLOW, symlinks resolved by hand), so nothing can be swapped between
 * the check and the open. flags: 0 for a regular file (or /dev/null, a mask), O_DIRECTORY for a directory;
 * with O_NOFOLLOW only root's symlinks are followed and any other on the way is refused (for paths whose
 * target could be what also_trusted may not read: root reads it for them; an administrator's own links, such
 * as a "current" link to a versioned directory, stay usable). Returns -EPERM with *ret_problem saying what is wrong; -ENOENT
 * etc. as the lookup fails. */
int open_trusted(const char *path, int flags, uid_t also_trusted, int *ret_fd, char **ret_problem);
/* The same rule for one entry already looked up (fstat(), or fstatat() with AT_SYMLINK_NOFOLLOW) below a
 * directory open_trusted() opened: a symlink is refused. path names it in *ret_problem. */
int check_trusted_stat(const char *path, const struct stat *st, uid_t also_trusted, char **ret_problem);
/* The whole file, opened with open_trusted(); every failure is logged as path:0. */
int conf_read_file(const char *path, char **ret, size_t *ret_size);

/* Both return 0 when the file was well-formed and every callback succeeded; otherwise the first
 * negative error, after going on to report every problem in the file (each logged as file:line). */
int conf_parse_file(const char *path, conf_assign_t assign, void *userdata); /* through conf_read_file() */
int conf_parse_string(const char *label, const char *text, size_t size, conf_assign_t assign,
                      void *userdata);

/* A table of the keys a file may hold, for conf_table_assign(). Each parser gets the field at
 * object + offset as data, and the object itself. */
typedef int (*conf_value_parser_t)(const char *file, unsigned line, const char *key, const char *value,
                                   void *data, void *object);
typedef struct ConfKey {
        const char *section;
        const char *key;
        conf_value_parser_t parse;
        size_t offset;
} ConfKey;
typedef struct ConfTable {
        const ConfKey *keys;
        size_t n_keys;
        void *object;
} ConfTable;

/* A conf_assign_t taking a ConfTable as userdata: looks the key up and calls its parser. Sections and keys
 * starting with "X-" are for other tools and ignored, as in unit files. Any other unknown section or key,
 * or a key in the wrong section, is an error (a misspelt or misplaced restriction must never leave a file
 * silently weaker), with a hint: the section the key belongs in, or the name it is a typo of. */
int conf_table_assign(const char *file, unsigned line, const char *section, const char *key, const char *value,
                      void *userdata);
