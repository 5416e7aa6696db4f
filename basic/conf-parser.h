/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Reader for systemd's unit-file syntax: "[Section]" headers, "Key=value" assignments, "#" and ";"
 * comments, a trailing backslash continues a line. Every assignment is handed to the callback with the
 * file and the line it started on; the callback validates and stores it. */

#define CONF_FILE_MAX (1024U * 1024U)
#define CONF_LINE_MAX (64U * 1024U)

typedef int (*conf_assign_t)(const char *file, unsigned line, const char *section, const char *key,
                             const char *value, void *userdata);

/* Both return 0 when the file was well-formed and every callback succeeded; otherwise the first
 * negative error, after going on to report every problem in the file (each logged as file:line). */
int conf_parse_file(const char *path, conf_assign_t assign, void *userdata);
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
