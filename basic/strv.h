/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* NULL-terminated string arrays, as in systemd. NULL is a valid empty list. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char *const *l);
static inline bool strv_isempty(char *const *l) {
        return !l || !l[0];
}
/* Takes ownership of value, also on failure. */
int strv_consume(char ***l, char *value);
int strv_extend(char ***l, const char *value);
bool strv_contains(char *const *l, const char *s);
char **strv_copy(char *const *l);
void strv_sort(char **l);
/* The strings of l with separator between them ("" for an empty list); NULL on OOM. */
char *strv_join(char *const *l, const char *separator);

/* A literal list: STRV_MAKE("a", "b") is a NULL-terminated const char *const[]. */
#define STRV_MAKE(...) ((const char *const[]){__VA_ARGS__, NULL})
