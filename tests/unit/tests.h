/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal test harness with TAP output: each TEST() is one "ok"/"not ok" line, every failed check
 * prints "# file:line: ..." first. check_*() go on after a failure, require() ends the test. */

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"

static unsigned tests_run = 0, tests_failed = 0;
static bool test_failed = false;

static inline void test_print_escaped(FILE *f, const char *s) {
        if (!s) {
                fputs("(null)", f);
                return;
        }
        fputc('"', f);
        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
                if (*c == '\\' || *c == '"')
                        fprintf(f, "\\%c", *c);
                else if (*c < ' ' || *c >= 0x7f)
                        fprintf(f, "\\x%02x", *c);
                else
                        fputc(*c, f);
        }
        fputc('"', f);
}

static inline void test_fail(const char *file, int line, const char *fmt, ...) _printf_(3, 4);
static inline void test_fail(const char *file, int line, const char *fmt, ...) {
        va_list ap;

        printf("# %s:%d: ", file, line);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        test_failed = true;
}

#define check(expr)                                                                                         \
        do {                                                                                                \
                if (!(expr))                                                                                \
                        test_fail(__FILE__, __LINE__, "check failed: %s", #expr);                           \
        } while (0)

#define require(expr)                                                                                       \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        test_fail(__FILE__, __LINE__, "requirement failed: %s", #expr);                     \
                        return;                                                                             \
                }                                                                                           \
        } while (0)

#define check_streq(actual, expected)                                                                       \
        do {                                                                                                \
                const char *_a = (actual), *_e = (expected);                                                \
                if (!streq_ptr(_a, _e)) {                                                                   \
                        test_fail(__FILE__, __LINE__, "%s: strings differ", #actual);                       \
                        fputs("#   actual:   ", stdout);                                                    \
                        test_print_escaped(stdout, _a);                                                     \
                        fputs("\n#   expected: ", stdout);                                                  \
                        test_print_escaped(stdout, _e);                                                     \
                        putchar('\n');                                                                      \
                }                                                                                           \
        } while (0)

#define check_int(actual, expected)                                                                         \
        do {                                                                                                \
                long long _a = (long long)(actual), _e = (long long)(expected);                             \
                if (_a != _e)                                                                               \
                        test_fail(__FILE__, __LINE__, "%s is %lld, expected %lld", #actual, _a, _e);        \
        } while (0)

#define check_contains(haystack, needle)                                                                    \
        do {                                                                                                \
                const char *_h = (haystack), *_n = (needle);                                                \
                if (!_h || !strstr(_h, _n)) {                                                               \
                        test_fail(__FILE__, __LINE__, "%s does not contain the expected text", #haystack);  \
                        fputs("#   text:     ", stdout);                                                    \
                        test_print_escaped(stdout, _h);                                                     \
                        fputs("\n#   expected: ", stdout);                                                  \
                        test_print_escaped(stdout, _n);                                                     \
                        putchar('\n');                                                                      \
                }                                                                                           \
        } while (0)

#define check_not_contains(haystack, needle)                                                                \
        do {                                                                                                \
                const char *_h = (haystack), *_n = (needle);                                                \
                if (_h && strstr(_h, _n)) {                                                                 \
                        test_fail(__FILE__, __LINE__, "%s contains unexpected text", #haystack);            \
                        fputs("#   text:       ", stdout);                                                  \
                        test_print_escaped(stdout, _h);                                                     \
                        fputs("\n#   unexpected: ", stdout);                                                \
                        test_print_escaped(stdout, _n);                                                     \
                        putchar('\n');                                                                      \
                }                                                                                           \
        } while (0)

#define TEST(name) static void test_##name(void)
#define RUN(name) test_run(#name, test_##name)

static inline void test_run(const char *name, void (*f)(void)) {
        test_failed = false;
        f();
        fflush(stderr);
        tests_run++;
        if (test_failed)
                tests_failed++;
        printf("%s %u - %s\n", test_failed ? "not ok" : "ok", tests_run, name);
        fflush(stdout);
}

/* A known problem that is documented as a limitation: reported as TAP "# TODO", so that it shows as an
 * expected failure while it lasts and as an unexpected pass once it is fixed. */
#define RUN_TODO(name, reason) test_run_todo(#name, test_##name, reason)

static inline void test_run_todo(const char *name, void (*f)(void), const char *reason) {
        test_failed = false;
        f();
        fflush(stderr);
        tests_run++;
        printf("%s %u - %s # TODO %s\n", test_failed ? "not ok" : "ok", tests_run, name, reason);
        fflush(stdout);
}

static inline void test_init(void) {
        setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline int test_finish(void) {
        printf("1..%u\n", tests_run);
        if (tests_failed > 0)
                printf("# %u of %u tests failed\n", tests_failed, tests_run);
        return tests_failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Library messages go to stderr; tests that check them capture fd 2 into a temporary file. */
typedef struct Capture {
        int saved_fd;
        FILE *file;
} Capture;

static inline void capture_begin(Capture *c) {
        fflush(stderr);
        c->file = tmpfile();
        c->saved_fd = dup(STDERR_FILENO);
        if (!c->file || c->saved_fd < 0 || dup2(fileno(c->file), STDERR_FILENO) < 0) {
                perror("capture_begin");
                abort();
        }
}

/* Returns what was written to stderr since capture_begin(); the caller frees it. */
static inline char *capture_end(Capture *c) {
        char *buf;
        long n;

        fflush(stderr);
        if (dup2(c->saved_fd, STDERR_FILENO) < 0)
                abort();
        close(c->saved_fd);
        n = ftell(c->file);
        buf = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
        if (!buf)
                abort();
        rewind(c->file);
        if (n > 0 && fread(buf, 1, (size_t)n, c->file) != (size_t)n)
                abort();
        fclose(c->file);
        /* Show captured messages in the test log too, as TAP comments would mix badly with stdout. */
        fputs(buf, stderr);
        return buf;
}

/* A scratch directory removed at exit by the test itself (rm -rf via nftw would be overkill here). */
static inline char *test_mkdtemp(void) {
        const char *tmp = getenv("TMPDIR");
        char *p;

        if (asprintf(&p, "%s/sandy-test-XXXXXX", tmp ?: "/tmp") < 0 || !mkdtemp(p))
                abort();
        return p;
}

static inline void test_write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(content, f) < 0 || fclose(f) != 0) {
                perror(path);
                abort();
        }
}

static inline int test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 ? -1 : 0;
}

static inline void test_rm_rf(const char *path) {
        if (path)
                (void)nftw(path, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
