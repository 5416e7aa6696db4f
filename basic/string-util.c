/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "string-util.h"

bool string_has_cc(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < ' ' || *s == 0x7f)
                        return true;
        return false;
}

bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned n;
                uint32_t cp;

                if (*p < 0x80) {
                        p++;
                        continue;
                } else if ((*p & 0xe0) == 0xc0) {
                        n = 1;
                        cp = *p & 0x1f;
                } else if ((*p & 0xf0) == 0xe0) {
                        n = 2;
                        cp = *p & 0x0f;
                } else if ((*p & 0xf8) == 0xf0) {
                        n = 3;
                        cp = *p & 0x07;
                } else
                        return false;
                p++;
                for (unsigned i = 0; i < n; i++, p++) {
                        if ((*p & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (*p & 0x3f);
                }
                /* Overlong forms, surrogates and out-of-range code points are not UTF-8. */
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                        return false;
        }
        return true;
}

char *strstrip(char *s) {
        char *e;

        while (*s && isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                e--;
        *e = 0;
        return s;
}

bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

int xasprintf(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

char *strdupf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

int strextendf(char **s, const char *fmt, ...) {
        _cleanup_free_ char *add = NULL;
        size_t a, b;
        va_list ap;
        char *n;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&add, fmt, ap);
        va_end(ap);
        if (r < 0) {
                add = NULL;
                return -ENOMEM;
        }
        a = *s ? strlen(*s) : 0;
        b = (size_t) r;
        n = realloc(*s, a + b + 1);
        if (!n)
                return -ENOMEM;
        memcpy(n + a, add, b + 1);
        *s = n;
        return 0;
}
