/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        STRV_FOREACH(s, l)
                free(*s);
        return mfree(l);
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        for (; l && *l; l++)
                n++;
        return n;
}

int strv_consume(char ***l, char *value) {
        size_t n;
        char **c;

        if (!value)
                return -ENOMEM;

        n = strv_length(*l);
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

bool strv_contains(char *const *l, const char *s) {
        for (; l && *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

char **strv_copy(char *const *l) {
        _cleanup_strv_free_ char **c = new0(char *, strv_length(l) + 1);

        if (!c)
                return NULL;
        for (size_t i = 0; l && l[i]; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return NULL;
        }
        return TAKE_PTR(c);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **l) {
        if (strv_length(l) > 1)
                qsort(l, strv_length(l), sizeof(char *), cmp_str);
}

char *strv_join(char *const *l, const char *separator) {
        size_t n = 1, k = strlen(separator);
        char *s, *p;

        STRV_FOREACH(i, l)
                n += strlen(*i) + k;
        s = p = malloc(n);
        if (!s)
                return NULL;
        *p = 0;
        STRV_FOREACH(i, l)
                p = stpcpy(stpcpy(p, i == l ? "" : separator), *i);
        return s;
}
