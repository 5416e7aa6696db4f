/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Strings */
bool string_has_cc(const char *s); /* any control character, including newline and tab */
bool utf8_is_valid(const char *s);
char *strstrip(char *s);         /* in place: drops leading and trailing whitespace */
bool startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);
int parse_boolean(const char *s); /* 1, 0, or -EINVAL; systemd's spellings */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou16(const char *s, uint16_t *ret);
int xasprintf(char **ret, const char *fmt, ...) _printf_(2, 3);

/* Paths */
bool path_is_absolute(const char *p);
bool path_is_normalized(const char *p); /* absolute, no "//", "." or ".." components, no trailing "/" */
const char *path_startswith(const char *path, const char *prefix);
char *path_join(const char *a, const char *b);

/* Files */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);
int mkdir_p(const char *path, mode_t mode);
/* Write into a temporary file beside path and rename it over path, so readers see old or new. */
int write_file_atomic(const char *path, const char *content, size_t size, mode_t mode);
int symlink_atomic(const char *target, const char *path);
