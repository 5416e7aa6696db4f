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
