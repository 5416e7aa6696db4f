/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-parser.h"
#include "fs-util.h"
#include "log.h"
#include "strv.h"
#include "systemd-syntax.h"
#include "tests.h"
#include "path-util.h"
#include "string-util.h"
#include "validate.h"

/* Every assignment as "LINE [SECTION] KEY=VALUE". */
typedef struct Collected {
        char **items;
        int fail_key_r; /* returned for key "Fail" */
} Collected;

static int collect(const char *file, unsigned line, const char *section, const char *key, const char *value,
                   void *userdata) {
        Collected *c = userdata;
        char *s;

        if (xasprintf(&s, "%u [%s] %s=%s", line, section, key, value) < 0 || strv_consume(&c->items, s) < 0)
                abort();
        if (streq(key, "Fail"))
                return log_syntax(file, line, LOG_ERR, -c->fail_key_r, "Fail requested.");
        return 0;
}

typedef struct Result {
        int r;
        char **items;
        char *log;
} Result;

static void result_done(Result *res) {
        strv_free(res->items);
        free(res->log);
}

static Result parse_n(const char *text, size_t size) {
        Collected c = {.fail_key_r = -EINVAL};
        Capture cap;
        Result res;

        capture_begin(&cap);
        res.r = conf_parse_string("test.conf", text, size, collect, &c);
        res.log = capture_end(&cap);
        res.items = c.items;
        return res;
}

static Result parse(const char *text) {
        return parse_n(text, strlen(text));
}

/* Compare the collected assignments with a NULL-terminated list. */
static void check_items_at(const char *file, int line, char **items, const char *const *expected) {
        size_t n = strv_length(items), m = 0;

        while (expected[m])
                m++;
        for (size_t i = 0; i < n || i < m; i++)
                if (i >= n || i >= m || !streq(items[i], expected[i])) {
                        test_fail(file, line, "assignment %zu differs", i);
                        fputs("#   actual:   ", stdout);
                        test_print_escaped(stdout, i < n ? items[i] : NULL);
                        fputs("\n#   expected: ", stdout);
                        test_print_escaped(stdout, i < m ? expected[i] : NULL);
                        putchar('\n');
                        return;
                }
}
#define ITEMS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define check_items(items, ...) check_items_at(__FILE__, __LINE__, items, ITEMS(__VA_ARGS__))

TEST(basic) {
        Result res = parse("# comment\n"
                           "; also a comment\n"
                           "\n"
                           "[Sandbox]\n"
                           "Description=hello world\n"
                           "  User = agent  \n"
                           "\tBoot=yes\t\n"
                           "Empty=\n"
                           "Eq=a=b=c\n"
                           "   # indented comment\n"
                           "[Image]\n"
                           "From=docker://debian:12\n");

        check_int(res.r, 0);
        check_items(res.items, "5 [Sandbox] Description=hello world", "6 [Sandbox] User=agent",
                    "7 [Sandbox] Boot=yes", "8 [Sandbox] Empty=", "9 [Sandbox] Eq=a=b=c",
                    "12 [Image] From=docker://debian:12");
        check_streq(res.log, "");
        result_done(&res);
}

TEST(no_trailing_newline_and_crlf) {
        Result res = parse("[Sandbox]\r\nA=1\r\nB=two words\r\n\r\nC=3");

        check_int(res.r, 0);
        check_items(res.items, "2 [Sandbox] A=1", "3 [Sandbox] B=two words", "5 [Sandbox] C=3");
        result_done(&res);
}

TEST(size_is_respected) {
        /* The buffer need not be NUL-terminated: nothing past size may be read. */
        const char text[] = "[S]\nA=1XYZ";
        Result res = parse_n(text, strlen("[S]\nA=1"));

        check_int(res.r, 0);
        check_items(res.items, "2 [S] A=1");
        result_done(&res);
}

TEST(empty_input) {
        Result res = parse_n("", 0);

        check_int(res.r, 0);
        check(!res.items);
        result_done(&res);

        res = parse("\n\n  \n# only comments\n");
        check_int(res.r, 0);
        check(!res.items);
        result_done(&res);
}

TEST(continuation) {
        /* The backslash becomes a space and the next line is appended; the assignment is reported at the
         * line where it starts. */
        Result res = parse("[Sandbox]\n"
                           "Command=/bin/sh\\\n"
                           "-c\\\n"
                           "true\n"
                           "After=x\n");

        check_int(res.r, 0);
        check_items(res.items, "2 [Sandbox] Command=/bin/sh -c true", "5 [Sandbox] After=x");
        result_done(&res);
}

TEST(continuation_with_comments) {
        /* As in systemd: comment lines inside a continued line are dropped, the line goes on. */
        Result res = parse("[Sandbox]\n"
                           "Command=/bin/echo a\\\n"
                           "# a comment\n"
                           "; another\n"
                           "b\\\n"
                           "  # indented comment\n"
                           "c\n"
                           "Next=1\n");

        check_int(res.r, 0);
        check_items(res.items, "2 [Sandbox] Command=/bin/echo a b c", "8 [Sandbox] Next=1");
        result_done(&res);
}

TEST(continuation_words_match_systemd) {
        /* Whitespace at the joints may differ from systemd's reader, the words may not. */
        static const char text[] = "[Exec]\n"
                                   "Parameters=/bin/echo   \"a b\"\\\n"
                                   "    'c d'  \\\n"
                                   "# comment\n"
                                   "\te\n";
        Result res = parse(text);
        _cleanup_strv_free_ char **sandy_words = NULL;
        char **sd_words = NULL;
        SdConf conf;

        require(res.r == 0 && strv_length(res.items) == 1);
        const char *value = strchr(res.items[0], '=') + 1;
        for (const char *p = value;;) {
                char *w;
                int r = extract_word(&p, &w);
                require(r >= 0);
                if (r == 0)
                        break;
                require(strv_consume(&sandy_words, w) >= 0);
        }
        require(sd_conf_parse(text, &conf) == 0);
        require(conf.n == 1);
        require(sd_split_words(conf.items[0].value, &sd_words) >= 0);
        check_int(strv_length(sandy_words), strv_length(sd_words));
        for (size_t i = 0; sandy_words && sd_words && sandy_words[i] && sd_words[i]; i++)
                check_streq(sandy_words[i], sd_words[i]);
        check_streq(sd_words[1], "a b");
        sd_strv_free(sd_words);
        sd_conf_free(&conf);
        result_done(&res);
}

TEST(continuation_at_end_of_file) {
        Result res = parse("[Sandbox]\nA=x\\");

        check_int(res.r, 0);
        check_items(res.items, "2 [Sandbox] A=x");
        result_done(&res);

        res = parse("[Sandbox]\nA=x\\\n");
        check_int(res.r, 0);
        check_items(res.items, "2 [Sandbox] A=x");
        result_done(&res);
}

/* systemd parses a pending continuation when the file ends, also when only comment lines follow it.
 * sandy drops the assignment silently. */
TEST(continuation_then_comment_at_end_of_file) {
        Result res = parse("[Resources]\n"
                           "MemoryMax=4G \\\n"
                           "# trailing comment\n");

        check_int(res.r, 0);
        check_items(res.items, "2 [Resources] MemoryMax=4G");
        result_done(&res);
}

TEST(continuation_then_empty_line) {
        Result res = parse("[S]\nA=x\\\n\nB=y\n");

        check_int(res.r, 0);
        check_items(res.items, "2 [S] A=x", "4 [S] B=y");
        result_done(&res);
}

TEST(continuation_cannot_inject_sections) {
        /* A continued value swallows what looks like a section header on the next line. */
        Result res = parse("[Sandbox]\nDescription=a\\\n[Service]\nB=1\n");

        check_int(res.r, 0);
        check_items(res.items, "2 [Sandbox] Description=a [Service]", "4 [Sandbox] B=1");
        result_done(&res);
}

TEST(line_numbers_of_errors) {
        Result res = parse("[Sandbox]\n"      /* 1 */
                           "Fail=1\n"         /* 2 */
                           "no equals sign\n" /* 3 */
                           "Long=a\\\n"       /* 4 */
                           "b\\\n"            /* 5 */
                           "c\n"              /* 6 */
                           "Fail=\\\n"        /* 7 */
                           "# c\n"            /* 8 */
                           "x\n"              /* 9 */
                           "=novalue\n");     /* 10 */

        check_int(res.r, -EINVAL);
        check_contains(res.log, "test.conf:2: Fail requested.");
        check_contains(res.log, "test.conf:3: Missing '='");
        check_contains(res.log, "test.conf:7: Fail requested.");
        check_contains(res.log, "test.conf:10: Assignment without a key.");
        check_items(res.items, "2 [Sandbox] Fail=1", "4 [Sandbox] Long=a b c", "7 [Sandbox] Fail=x");
        result_done(&res);
}

TEST(first_error_is_returned) {
        Collected c = {.fail_key_r = -EPERM};
        Capture cap;
        int r;

        capture_begin(&cap);
        r = conf_parse_string("t", "[S]\nFail=1\nbad\n", strlen("[S]\nFail=1\nbad\n"), collect, &c);
        free(capture_end(&cap));
        check_int(r, -EPERM);
        strv_free(c.items);
}

TEST(assignment_outside_section) {
        Result res = parse("Description=x\n[Sandbox]\nUser=agent\n");

        check_int(res.r, -EINVAL);
        check_contains(res.log, "test.conf:1: Assignment 'Description=' outside of any section.");
        /* The rest of the file is still read. */
        check_items(res.items, "3 [Sandbox] User=agent");
        result_done(&res);
}

TEST(bad_section_headers) {
        Result res = parse("[Sandbox\n" /* 1 */
                           "[]\n"       /* 2 */
                           "[a]b\n"     /* 3 */
                           "[a[b]\n"    /* 4 */
                           "[a]]\n"     /* 5 */
                           "[\n"        /* 6 */
                           "[ok]\n"     /* 7 */
                           "K=v\n"      /* 8 */
                           "[tab\there]\n" /* 9 */);

        check_int(res.r, -EINVAL);
        check_contains(res.log, "test.conf:1: Invalid section header '[Sandbox'.");
        check_contains(res.log, "test.conf:2: Invalid section name ''.");
        check_contains(res.log, "test.conf:3: Invalid section header");
        check_contains(res.log, "test.conf:4: Invalid section name");
        check_contains(res.log, "test.conf:5: Invalid section name");
        check_contains(res.log, "test.conf:6: Invalid section header");
        check_contains(res.log, "test.conf:9: Invalid section name");
        check_items(res.items, "8 [ok] K=v");
        result_done(&res);
}

TEST(duplicate_sections_merge) {
        Result res = parse("[A]\nk=1\n[B]\nk=2\n[A]\nk=3\n");

        check_int(res.r, 0);
        check_items(res.items, "2 [A] k=1", "4 [B] k=2", "6 [A] k=3");
        result_done(&res);
}

TEST(bad_keys) {
        Result res = parse("[S]\nkey with space=1\nk[1]=2\n\x01k=3\n");

        check_int(res.r, -EINVAL);
        check_contains(res.log, "test.conf:2: Invalid key name.");
        check_contains(res.log, "test.conf:3: Invalid key name.");
        check_contains(res.log, "test.conf:4: Invalid key name.");
        check(!res.items);
        result_done(&res);
}

TEST(nul_byte) {
        static const char text[] = "[Sandbox]\nA=1\nDescription=a\0b\nB=2\n";
        Result res = parse_n(text, sizeof(text) - 1);

        check_int(res.r, -EBADMSG);
        check_contains(res.log, "test.conf:3: File contains a NUL byte");
        /* A binary file is refused as a whole: nothing is assigned. */
        check(!res.items);
        result_done(&res);

        res = parse_n("\0", 1);
        check_int(res.r, -EBADMSG);
        check_contains(res.log, "test.conf:1: File contains a NUL byte");
        result_done(&res);
}

TEST(invalid_utf8) {
        Result res = parse("[Sandbox]\n"
                           "Description=caf\xc3\xa9\n" /* 2: fine */
                           "A=\xc3\x28\n"              /* 3: broken sequence */
                           "B=ok\n"                    /* 4 */
                           "C=\xc0\xaf\n"              /* 5: overlong */
                           "D=\xed\xa0\x80\n"          /* 6: surrogate */
                           "E=x\\\n"                   /* 7: continued... */
                           "\xff\n"                    /* 8: ...into a bad byte */
                           "[\xfe]\n");                /* 9 */

        check_int(res.r, -EINVAL);
        check_contains(res.log, "test.conf:3: Line is not valid UTF-8.");
        check_contains(res.log, "test.conf:5: Line is not valid UTF-8.");
        check_contains(res.log, "test.conf:6: Line is not valid UTF-8.");
        check_contains(res.log, "test.conf:7: Line is not valid UTF-8.");
        check_contains(res.log, "test.conf:9: Line is not valid UTF-8.");
        check_items(res.items, "2 [Sandbox] Description=caf\xc3\xa9", "4 [Sandbox] B=ok");
        result_done(&res);
}

static char *make_text(const char *prefix, size_t n_fill, const char *suffix) {
        size_t a = strlen(prefix), b = strlen(suffix);
        char *t = malloc(a + n_fill + b + 1);

        if (!t)
                abort();
        memcpy(t, prefix, a);
        memset(t + a, 'x', n_fill);
        memcpy(t + a + n_fill, suffix, b + 1);
        return t;
}

TEST(long_lines) {
        /* A line just below the limit is fine. */
        _cleanup_free_ char *ok = make_text("[S]\nA=", CONF_LINE_MAX - 10, "\nB=1\n");
        Result res = parse(ok);

        check_int(res.r, 0);
        check_int(strv_length(res.items), 2);
        result_done(&res);

        /* Over the limit on the first logical line. */
        _cleanup_free_ char *first = make_text("A=", CONF_LINE_MAX, "\n");
        res = parse(first);
        check_int(res.r, -E2BIG);
        check_contains(res.log, "test.conf:1: Line too long");
        result_done(&res);
}

/* The error names the line where the overlong logical line starts, not an earlier one. */
TEST(long_line_number) {
        _cleanup_free_ char *text = make_text("[S]\n" /* 1 */
                                              "A=1\n" /* 2 */
                                              "\n"    /* 3 */
                                              "B=",   /* 4: too long */
                                              CONF_LINE_MAX + 10, "\nC=1\n");
        Result res = parse(text);

        check_int(res.r, -E2BIG);
        check_contains(res.log, "test.conf:4: Line too long");
        check_not_contains(res.log, "test.conf:2:");
        result_done(&res);
}

TEST(long_line_by_continuation) {
        /* Many short lines joined into one logical line over the limit: reported where it starts. */
        size_t n_lines = CONF_LINE_MAX / 100 + 10;
        char *text = malloc(n_lines * 102 + 64), *p = text;

        require(text);
        p = stpcpy(p, "[S]\nA=1\nB=");
        for (size_t i = 0; i < n_lines; i++) {
                memset(p, 'y', 100);
                p += 100;
                p = stpcpy(p, "\\\n");
        }
        strcpy(p, "end\n");
        Result res = parse(text);
        free(text);

        check_int(res.r, -E2BIG);
        check_contains(res.log, "test.conf:3: Line too long");
        result_done(&res);
}

TEST(parse_file) {
        _cleanup_free_ char *dir = test_mkdtemp(), *good = NULL, *big = NULL, *missing = NULL;
        Collected c = {};
        Capture cap;
        char *log;
        int r;

        good = path_join(dir, "good.conf");
        big = path_join(dir, "big.conf");
        missing = path_join(dir, "missing.conf");
        test_write_file(good, "[S]\nA=1\n");
        r = conf_parse_file(good, collect, &c);
        check_int(r, 0);
        check_items(c.items, "2 [S] A=1");
        c.items = strv_free(c.items);

        /* CONF_FILE_MAX is allowed, one byte more is not. */
        FILE *f = fopen(big, "we");
        require(f);
        fputs("[S]\n", f);
        for (size_t i = 4; i < CONF_FILE_MAX; i++)
                fputc(i % 64 == 63 ? '\n' : '#', f);
        fclose(f);
        capture_begin(&cap);
        r = conf_parse_file(big, collect, &c);
        free(capture_end(&cap));
        check_int(r, 0);

        f = fopen(big, "ae");
        require(f);
        fputc('\n', f);
        fclose(f);
        capture_begin(&cap);
        r = conf_parse_file(big, collect, &c);
        log = capture_end(&cap);
        check_int(r, -EFBIG);
        check_contains(log, "big.conf: File is larger than 1048576 bytes.");
        free(log);

        capture_begin(&cap);
        r = conf_parse_file(missing, collect, &c);
        log = capture_end(&cap);
        check_int(r, -ENOENT);
        check_contains(log, "missing.conf: Failed to read: No such file or directory");
        free(log);

        capture_begin(&cap);
        r = conf_parse_file(dir, collect, &c);
        free(capture_end(&cap));
        check_int(r, -EISDIR);

        strv_free(c.items);
        test_rm_rf(dir);
}

/* open_trusted(): what sudo and sshd's StrictModes refuse, on the fd actually opened. */
static int trusted(const char *path, int flags, char **why) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        free(*why);
        *why = NULL;
        r = open_trusted(path, flags, UID_INVALID, &fd, why);
        if (r >= 0)
                check(fd >= 0);
        return r;
}

TEST(open_trusted) {
        _cleanup_free_ char *dir = test_mkdtemp(), *why = NULL;
        char p[4096];
        struct stat st;

        snprintf(p, sizeof p, "%s/ok.conf", dir);
        test_write_file(p, "[S]\nA=1\n");
        check_int(chmod(p, 0644), 0);
        check_int(trusted(p, 0, &why), 0);
        check(!why);

        /* Group- or world-writable: anyone in the group decides what is read. */
        check_int(chmod(p, 0664), 0);
        check_int(trusted(p, 0, &why), -EPERM);
        check_contains(why, "is writable by its group (mode 0664)");
        check_int(chmod(p, 0646), 0);
        check_int(trusted(p, 0, &why), -EPERM);
        check_contains(why, "is writable by others (mode 0646)");
        check_int(chmod(p, 0644), 0);

        /* A directory on the way that others may write to, unless it is sticky. */
        snprintf(p, sizeof p, "%s/open", dir);
        check_int(mkdir(p, 0777), 0);
        check_int(chmod(p, 0777), 0);
        snprintf(p, sizeof p, "%s/open/x.conf", dir);
        test_write_file(p, "[S]\n");
        check_int(chmod(p, 0644), 0);
        check_int(trusted(p, 0, &why), -EPERM);
        check_contains(why, "/open is writable by others (mode 0777)");
        snprintf(p, sizeof p, "%s/open", dir);
        check_int(chmod(p, 01777), 0);
        snprintf(p, sizeof p, "%s/open/x.conf", dir);
        check_int(trusted(p, 0, &why), 0);
        /* ... and a symlink taken from a sticky directory counts as its owner's. */

        /* Symlinks are followed by hand: the target's directories count, not the link's. */
        snprintf(p, sizeof p, "%s/open", dir);
        check_int(chmod(p, 0777), 0);
        snprintf(p, sizeof p, "%s/link.conf", dir);
        check_int(symlink("open/x.conf", p), 0);
        check_int(trusted(p, 0, &why), -EPERM);
        check_contains(why, "/open is writable by others");
        snprintf(p, sizeof p, "%s/link2.conf", dir);
        check_int(symlink("./sub/../ok.conf", p), 0);
        snprintf(p, sizeof p, "%s/sub", dir);
        check_int(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/link2.conf", dir);
        check_int(trusted(p, 0, &why), 0);
        snprintf(p, sizeof p, "%s/loop.conf", dir);
        check_int(symlink("loop.conf", p), 0);
        check_int(trusted(p, 0, &why), -ELOOP);
        snprintf(p, sizeof p, "%s/dangling.conf", dir);
        check_int(symlink("nothing-here", p), 0);
        check_int(trusted(p, 0, &why), -ENOENT);
        check_int(trusted("/dev/null", 0, &why), 0); /* a mask */

        /* Kinds. */
        check_int(trusted(dir, 0, &why), -EISDIR);
        check_int(trusted(dir, O_DIRECTORY, &why), 0);
        snprintf(p, sizeof p, "%s/ok.conf", dir);
        check_int(trusted(p, O_DIRECTORY, &why), -ENOTDIR);
        snprintf(p, sizeof p, "%s/ok.conf/x", dir);
        check_int(trusted(p, 0, &why), -ENOTDIR);
        snprintf(p, sizeof p, "%s/fifo", dir);
        check_int(mkfifo(p, 0600), 0);
        check_int(trusted(p, 0, &why), -EPERM);
        check_contains(why, "is not a regular file");

        /* Owned by somebody else (only root can make that here). */
        if (geteuid() == 0) {
                snprintf(p, sizeof p, "%s/ok.conf", dir);
                check_int(chown(p, 1001, 1001), 0);
                check_int(trusted(p, 0, &why), -EPERM);
                check_contains(why, "ok.conf is owned by UID 1001, not by root");
                {
                        _cleanup_close_ int fd = -EBADF;
                        /* ... unless that user is named as trusted too. */
                        check_int(open_trusted(p, 0, 1001, &fd, NULL), 0);
                }
                check_int(chown(p, 0, 0), 0);
                snprintf(p, sizeof p, "%s/sub", dir);
                check_int(chown(p, 1001, 1001), 0);
                snprintf(p, sizeof p, "%s/link2.conf", dir);
                check_int(trusted(p, 0, &why), -EPERM);
                check_contains(why, "directory ");
                check_contains(why, "/sub is owned by UID 1001");
                /* A symlink of another user's in a sticky directory is not followed. */
                snprintf(p, sizeof p, "%s/open", dir);
                check_int(chmod(p, 01777), 0);
                snprintf(p, sizeof p, "%s/open/evil.conf", dir);
                check_int(symlink("../ok.conf", p), 0);
                check_int(lchown(p, 1001, 1001), 0);
                check_int(trusted(p, 0, &why), -EPERM);
                check_contains(why, "symlink ");
        }
        check_int(lstat(dir, &st), 0);
        test_rm_rf(dir);
}

/* issue 11: the one read loop of basic/ (fs-util.c), for files and for pipes. */
static int read_pipe(const char *data, size_t max, ReadFullFlags flags, char **ret, size_t *ret_size) {
        int p[2], r;

        if (pipe(p) < 0)
                return -errno;
        if (write(p[1], data, strlen(data)) != (ssize_t) strlen(data))
                abort();
        close(p[1]);
        r = read_full_fd_full(p[0], max, flags, ret, ret_size);
        close(p[0]);
        return r;
}

TEST(read_full_fd_full) {
        _cleanup_free_ char *dir = test_mkdtemp(), *path = NULL, *t = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        size_t n = 0;

        require(dir);
        require(xasprintf(&path, "%s/f", dir) >= 0);
        require(write_file_atomic(path, "hello", 5, 0600) >= 0);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        require(fd >= 0);
        check_int(read_full_fd_full(fd, 5, 0, &t, &n), 0);
        check_streq(t, "hello");
        check_int((int) n, 5);
        t = mfree(t);
        check_int(lseek(fd, 0, SEEK_SET), 0);
        check_int(read_full_fd_full(fd, 4, 0, &t, NULL), -EFBIG);
        check_int(lseek(fd, 0, SEEK_SET), 0);
        check_int(read_full_fd_full(fd, 4, READ_FULL_TRUNCATE, &t, &n), 0);
        check_streq(t, "hell");
        check_int((int) n, 4);
        t = mfree(t);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        check_int(read_full_fd_full(dfd, 4, 0, &t, NULL), -EISDIR);

        /* A pipe: refused as a file, read whole as a stream. */
        check_int(read_pipe("abc", 3, 0, &t, NULL), -EBADFD);
        check_int(read_pipe("abc", 3, READ_FULL_ANY_TYPE, &t, &n), 0);
        check_streq(t, "abc");
        t = mfree(t);
        check_int(read_pipe("abcd", 3, READ_FULL_ANY_TYPE, &t, NULL), -EFBIG);
        check_int(read_pipe("abcd", 3, READ_FULL_ANY_TYPE | READ_FULL_TRUNCATE, &t, NULL), 0);
        check_streq(t, "abc");
        t = mfree(t);
        check_int(read_pipe("", 3, READ_FULL_ANY_TYPE, &t, &n), 0);
        check_streq(t, "");
        check_int((int) n, 0);
        test_rm_rf(dir);
}

int main(void) {
        test_init();
        RUN(basic);
        RUN(no_trailing_newline_and_crlf);
        RUN(size_is_respected);
        RUN(empty_input);
        RUN(continuation);
        RUN(continuation_with_comments);
        RUN(continuation_words_match_systemd);
        RUN(continuation_at_end_of_file);
        RUN(continuation_then_comment_at_end_of_file);
        RUN(continuation_then_empty_line);
        RUN(continuation_cannot_inject_sections);
        RUN(line_numbers_of_errors);
        RUN(first_error_is_returned);
        RUN(assignment_outside_section);
        RUN(bad_section_headers);
        RUN(duplicate_sections_merge);
        RUN(bad_keys);
        RUN(nul_byte);
        RUN(invalid_utf8);
        RUN(long_lines);
        RUN(long_line_number);
        RUN(long_line_by_continuation);
        RUN(parse_file);
        RUN(open_trusted);
        RUN(read_full_fd_full);
        return test_finish();
}
