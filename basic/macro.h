/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MAX(a, b)                                                                                         \
        __extension__({                                                                                   \
                const __typeof__(a) _a = (a);                                                             \
                const __typeof__(b) _b = (b);                                                             \
                _a > _b ? _a : _b;                                                                        \
        })
#define STRV_FOREACH(s, l) for (__typeof__(*(l)) *s = (l); s && *s; s++)

/* Free *p and set it NULL; returns NULL so it can be used in expressions. */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                           \
        static inline void func##p(type *p) {                                                             \
                if (*p)                                                                                   \
                        *p = func(*p);                                                                    \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline FILE *safe_fclose(FILE *f) {
        if (f)
                (void) fclose(f);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, safe_fclose);
#define _cleanup_fclose_ _cleanup_(safe_fclosep)

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                                                                       \
        ({                                                                                                \
                __typeof__(p) _p = (p);                                                                   \
                (p) = NULL;                                                                               \
                _p;                                                                                       \
        })
#define TAKE_FD(fd)                                                                                       \
        ({                                                                                                \
                int _fd = (fd);                                                                           \
                (fd) = -EBADF;                                                                            \
                _fd;                                                                                      \
        })

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return __builtin_strcmp(a, b) == 0;
}
#define streq(a, b) (__builtin_strcmp((a), (b)) == 0)
#define isempty(s) (!(s) || !(s)[0])

#define new0(t, n) ((t *) calloc((n) ?: 1, sizeof(t)))
#define newa_n(t, n) ((t *) alloca(sizeof(t) * (n)))

#define IN_SET(x, ...)                                                                                    \
        ({                                                                                                \
                bool _found = false;                                                                      \
                const __typeof__(x) _set[] = {__VA_ARGS__};                                               \
                for (size_t _i = 0; _i < ELEMENTSOF(_set); _i++)                                          \
                        if (_set[_i] == (x)) {                                                            \
                                _found = true;                                                            \
                                break;                                                                    \
                        }                                                                                 \
                _found;                                                                                   \
        })

#define RET_NERRNO(expr)                                                                                  \
        ({                                                                                                \
                __typeof__(expr) _r = (expr);                                                             \
                _r < 0 ? -errno : _r;                                                                     \
        })
