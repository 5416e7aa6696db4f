/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

bool string_has_cc(const char *s); /* any control character, including newline and tab */
bool utf8_is_valid(const char *s);
char *strstrip(char *s);         /* in place: drops leading and trailing whitespace */
bool startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);
int xasprintf(char **ret, const char *fmt, ...) _printf_(2, 3);
/* The formatted text in a new string, NULL on OOM: for an argument that takes a string or NULL. */
char *strdupf(const char *fmt, ...) _printf_(1, 2);
/* Append formatted text to *s (which may be NULL), as a string grows line by line. -ENOMEM leaves *s as
 * it was. */
int strextendf(char **s, const char *fmt, ...) _printf_(2, 3);
