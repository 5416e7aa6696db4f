/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "path-util.h"
#include "string-util.h"

bool path_is_absolute(const char *p) {
        return p && p[0] == '/';
}

bool path_is_normalized(const char *p) {
        if (!path_is_absolute(p))
                return false;
        if (streq(p, "/"))
                return true;
        if (endswith(p, "/"))
                return false;
        for (const char *c = p; *c;) {
                const char *e;
                size_t n;

                c++; /* skip '/' */
                e = strchrnul(c, '/');
                n = (size_t) (e - c);
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c = e;
        }
        return true;
}

const char *path_startswith(const char *path, const char *prefix) {
        size_t n = strlen(prefix);

        while (n > 0 && prefix[n - 1] == '/')
                n--;
        if (strncmp(path, prefix, n) != 0)
                return NULL;
        if (path[n] == 0)
                return path + n;
        if (path[n] != '/')
                return NULL;
        return path + n + 1;
}

char *path_join(const char *a, const char *b) {
        char *r;

        if (xasprintf(&r, "%s%s%s", a, endswith(a, "/") ? "" : "/", b[0] == '/' ? b + 1 : b) < 0)
                return NULL;
        return r;
}
