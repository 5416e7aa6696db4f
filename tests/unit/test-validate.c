/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "strv.h"
#include "tests.h"
#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"
#include "validate.h"

static void check_domain(const char *in, int expected_r, const char *expected) {
        _cleanup_free_ char *s = strdup(in);
        int r;

        if (!s)
                abort();
        r = domain_normalize(s);
        if (r != expected_r) {
                test_fail(__FILE__, __LINE__, "domain_normalize(\"%s\") = %d, expected %d", in, r,
                          expected_r);
                return;
        }
        if (r == 0 && !streq_ptr(s, expected))
                test_fail(__FILE__, __LINE__, "domain_normalize(\"%s\") gave \"%s\", expected \"%s\"", in, s,
                          expected);
}

TEST(domain_normalize) {
        check_domain("example.com", 0, "example.com");
        check_domain("Example.COM", 0, "example.com");
        check_domain("*.example.com", 0, "example.com");
        check_domain("*.Sub.Example.com", 0, "sub.example.com");
        check_domain("example.com.", 0, "example.com");
        check_domain("_dmarc.example.com", 0, "_dmarc.example.com");
        check_domain("a-b.example.com", 0, "a-b.example.com");
        check_domain("xn--bcher-kva.example", 0, "xn--bcher-kva.example");
        check_domain("1.2.3.4", 0, "1.2.3.4");

        /* A bare TLD would allow all of it. */
        check_domain("com", -EDOM, NULL);
        check_domain("*.com", -EDOM, NULL);
        check_domain("com.", -EDOM, NULL);
        check_domain("localhost", -EDOM, NULL);

        check_domain("", -EINVAL, NULL);
        check_domain(".", -EINVAL, NULL);
        check_domain("*.", -EINVAL, NULL);
        check_domain("*", -EINVAL, NULL);
        check_domain("*.*.example.com", -EINVAL, NULL);
        check_domain("a*.example.com", -EINVAL, NULL);
        check_domain(".example.com", -EINVAL, NULL);
        check_domain("example..com", -EINVAL, NULL);
        check_domain("example.com..", -EINVAL, NULL);
        check_domain("-a.example.com", -EINVAL, NULL);
        check_domain("a-.example.com", -EINVAL, NULL);
        check_domain("example.com-", -EINVAL, NULL);
        check_domain("exa mple.com", -EINVAL, NULL);
        check_domain("exa/mple.com", -EINVAL, NULL);
        check_domain("exa:mple.com", -EINVAL, NULL);
        check_domain("ex\xc3\xa4mple.com", -EINVAL, NULL);
        check_domain("example.com\n", -EINVAL, NULL);

        /* Label and name lengths: 63 and 253. */
        char label63[64], label64[65], name[300];
        memset(label63, 'a', 63);
        label63[63] = 0;
        memset(label64, 'a', 64);
        label64[64] = 0;
        snprintf(name, sizeof(name), "%s.com", label63);
        check_domain(name, 0, name);
        snprintf(name, sizeof(name), "%s.com", label64);
        check_domain(name, -EINVAL, NULL);
        /* 4 * 63 + 3 dots = 255 characters: too long. */
        snprintf(name, sizeof(name), "%s.%s.%s.%s", label63, label63, label63, label63);
        check_domain(name, -EINVAL, NULL);
        snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label63, label63, label63, label63); /* 253 */
        check_int(strlen(name), 253);
        check_domain(name, 0, name);
        snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label63, label63, label63, label63); /* 254 */
        check_domain(name, -EINVAL, NULL);
}

static void check_address(const char *in, int expected_r, const char *expected) {
        _cleanup_free_ char *out = NULL;
        int r = address_normalize(in, &out);

        if (r != expected_r) {
                test_fail(__FILE__, __LINE__, "address_normalize(\"%s\") = %d (%s), expected %d", in, r,
                          r < 0 ? strerror(-r) : "ok", expected_r);
                return;
        }
        if (r >= 0 && !streq_ptr(out, expected))
                test_fail(__FILE__, __LINE__, "address_normalize(\"%s\") gave \"%s\", expected \"%s\"", in,
                          out, expected);
}

TEST(address_normalize_v4) {
        check_address("192.0.2.1", 0, "192.0.2.1");
        check_address("192.0.2.1/32", 0, "192.0.2.1");
        check_address("192.0.2.0/24", 0, "192.0.2.0/24");
        check_address("10.0.0.0/8", 0, "10.0.0.0/8");
        check_address("0.0.0.0/0", 0, "0.0.0.0/0");
        check_address("192.0.2.1:443", 0, "192.0.2.1:443");
        check_address("192.0.2.0/24:443", 0, "192.0.2.0/24:443");
        check_address("192.0.2.1:65535", 0, "192.0.2.1:65535");

        check_address("192.0.2.1/24", -EADDRNOTAVAIL, NULL); /* host bits */
        check_address("10.0.0.1/8", -EADDRNOTAVAIL, NULL);
        check_address("192.0.2.128/25", 0, "192.0.2.128/25");
        check_address("192.0.2.129/25", -EADDRNOTAVAIL, NULL);

        check_address("192.0.2.1/33", -EINVAL, NULL);
        check_address("192.0.2.1/", -EINVAL, NULL);
        check_address("192.0.2.1/-1", -EINVAL, NULL);
        check_address("192.0.2.1/ 8", -EINVAL, NULL);
        check_address("192.0.2.1/0008", -EINVAL, NULL);
        check_address("192.0.2.1:0", -ERANGE, NULL);
        check_address("192.0.2.1:65536", -ERANGE, NULL);
        check_address("192.0.2.1:", -ERANGE, NULL);
        check_address("192.0.2.1:http", -ERANGE, NULL);
        check_address("192.0.2", -EINVAL, NULL);
        check_address("192.0.2.256", -EINVAL, NULL);
        check_address("192.0.2.1.5", -EINVAL, NULL);
        check_address("0x7f.0.0.1", -EINVAL, NULL);
        check_address("example.com", -EINVAL, NULL);
        check_address("", -EINVAL, NULL);
        check_address(" 192.0.2.1", -EINVAL, NULL);
        check_address("[192.0.2.1]:80", -EINVAL, NULL); /* brackets are for IPv6 */
}

TEST(address_normalize_v6) {
        check_address("2001:db8::1", 0, "2001:db8::1");
        check_address("2001:DB8:0:0:0:0:0:1", 0, "2001:db8::1");
        check_address("2001:db8::/32", 0, "2001:db8::/32");
        check_address("2001:db8::1/128", 0, "2001:db8::1");
        check_address("::/0", 0, "::/0");
        check_address("::1", 0, "::1");
        check_address("::ffff:192.0.2.1", 0, "::ffff:192.0.2.1");

        /* Brackets: needed for a port, allowed without one. */
        check_address("[2001:db8::1]", 0, "2001:db8::1");
        check_address("[2001:db8::1]:443", 0, "[2001:db8::1]:443");
        check_address("[2001:DB8::]:443", 0, "[2001:db8::]:443");
        check_address("[2001:db8::/32]:443", 0, "[2001:db8::/32]:443");
        check_address("[2001:db8::/32]", 0, "2001:db8::/32");
        check_address("[::1]:22", 0, "[::1]:22");

        check_address("2001:db8::1/32", -EADDRNOTAVAIL, NULL);
        check_address("[2001:db8::1/64]:443", -EADDRNOTAVAIL, NULL);
        check_address("fe80::/10", 0, "fe80::/10");
        check_address("fe80::1/10", -EADDRNOTAVAIL, NULL);

        check_address("2001:db8::1/129", -EINVAL, NULL);
        check_address("[2001:db8::1", -EINVAL, NULL);
        check_address("[2001:db8::1]443", -EINVAL, NULL);
        check_address("[2001:db8::1]:", -ERANGE, NULL);
        check_address("[2001:db8::1]:0", -ERANGE, NULL);
        check_address("[2001:db8::1]:65536", -ERANGE, NULL);
        check_address("[]:80", -EINVAL, NULL);
        check_address("fe80::1%eth0", -EINVAL, NULL);
        check_address("2001:db8:::1", -EINVAL, NULL);
        check_address("2001:db8::g", -EINVAL, NULL);
}

TEST(address_normalize_idempotent) {
        static const char *const inputs[] = {
                        "192.0.2.1",   "192.0.2.0/24:443",
                        "2001:DB8::1", "[2001:db8::/32]:443",
                        "[::1]",       "::/0",
                        "0.0.0.0/0",   "[::ffff:192.0.2.1]:8080",
        };

        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                _cleanup_free_ char *a = NULL, *b = NULL;

                check_int(address_normalize(inputs[i], &a), 0);
                if (!a)
                        continue;
                check_int(address_normalize(a, &b), 0);
                check_streq(b, a);
        }
}

TEST(memory_value) {
        static const char *const good[] = {"1",    "4G", "512M", "1024K",    "2T",
                                           "100%", "1%", "50%",  "infinity", "18446744073709551614"};
        static const char *const bad[] = {
                        "",
                        "0",
                        "0G",
                        "G",
                        "4g",
                        "4GB",
                        "4 G",
                        " 4G",
                        "4G ",
                        "-1",
                        "+1",
                        "4.5G",
                        "0x10",
                        "101%",
                        "0%",
                        "%",
                        "1000%",
                        "50.5%",
                        "infinite",
                        "Infinity",
                        "4P",
                        "18446744073709551616",
                        "99999999999999999999",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!memory_value_is_valid(good[i]))
                        test_fail(__FILE__, __LINE__, "memory value \"%s\" refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (memory_value_is_valid(bad[i]))
                        test_fail(__FILE__, __LINE__, "memory value \"%s\" accepted", bad[i]);
}

/* systemd's parse_size() refuses a size whose value times its suffix overflows 64 bits, and
 * MemoryMax= refuses UINT64_MAX ("out of range"). A value sandy accepts must also be one systemd takes,
 * or the limit silently disappears from the unit. */
TEST(memory_value_systemd_range) {
        static const char *const bad[] = {
                        "16777216T",            /* 2^24 * 2^40 = 2^64 */
                        "17179869184G",         /* 2^34 * 2^30 = 2^64 */
                        "99999999999999999T",   /* far beyond */
                        "18446744073709551615", /* UINT64_MAX: "Memory limit ... out of range" */
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (memory_value_is_valid(bad[i]))
                        test_fail(__FILE__, __LINE__, "memory value \"%s\" accepted, systemd refuses it",
                                  bad[i]);
        check(memory_value_is_valid("16777215T"));
}

TEST(cpu_quota) {
        static const char *const good[] = {"1%", "50%", "100%", "200%", "100000%"};
        static const char *const bad[] = {"",        "0%",       "%",     "50",       "50 %", "-5%",
                                          "100001%", "1000000%", "12.5%", "infinity", "50%%", "0x10%"};

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!cpu_quota_is_valid(good[i]))
                        test_fail(__FILE__, __LINE__, "CPUQuota \"%s\" refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (cpu_quota_is_valid(bad[i]))
                        test_fail(__FILE__, __LINE__, "CPUQuota \"%s\" accepted", bad[i]);
}

TEST(tasks_value) {
        static const char *const good[] = {"1", "512", "16384", "10%", "100%", "infinity"};
        static const char *const bad[] = {"",        "0",   "-1", "0%", "101%",
                                          "5K",      "1e3", " 5", "5 ", "18446744073709551616",
                                          "infinite"};

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!tasks_value_is_valid(good[i]))
                        test_fail(__FILE__, __LINE__, "TasksMax \"%s\" refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (tasks_value_is_valid(bad[i]))
                        test_fail(__FILE__, __LINE__, "TasksMax \"%s\" accepted", bad[i]);
}

/* TasksMax=UINT64_MAX is "out of range" for systemd ("Maximum tasks value ... out of range, ignoring"). */
TEST(tasks_value_systemd_range) {
        check(tasks_value_is_valid("18446744073709551614"));
        check(!tasks_value_is_valid("18446744073709551615"));
}

TEST(workspace_path_problem) {
        static const char *const good[] = {
                        "/home/user/project",  "/home/user",     "/srv/git/repo",
                        "/opt/work",           "/tmp/x",         "/var/tmp/x",
                        "/var/lib/projects/a", "/data",          "/home/user/with space",
                        "/home/user/100%",     "/homework",      "/usrlocal",
                        "/etcetera/x",         "/mnt/disk/proj", "/home/u/...",
                        "/home/u/.hidden",     "/root/proj",
        };
        static const char *const bad[] = {
                        "",
                        "relative/path",
                        "./x",
                        "~/project",
                        "/",
                        "//",
                        "/home/",
                        "/home/user/",
                        "/home//user",
                        "/home/./user",
                        "/home/user/.",
                        "/home/user/..",
                        "/home/../etc",
                        "/home/user/../../etc",
                        "/home",
                        "/root",
                        "/var",
                        "/var/lib",
                        "/srv",
                        "/opt",
                        "/tmp",
                        "/var/tmp",
                        "/mnt",
                        "/media",
                        "/etc",
                        "/etc/sandy",
                        "/usr",
                        "/usr/local/src",
                        "/bin",
                        "/boot",
                        "/dev/shm",
                        "/proc/1",
                        "/run/user/1000",
                        "/sys/fs",
                        "/sbin",
                        "/lib",
                        "/lib64/x",
                        "/var/lib/sandy",
                        "/var/lib/sandy/images",
                        "/var/lib/machines/x",
                        "/var/log",
                        "/var/cache/apt",
                        "/home/user/a:b",
                        "/home/user/a\\b",
                        "/home/user/\"q\"",
                        "/home/user/'q'",
                        "/home/user/a\nb",
                        "/home/user/a\tb",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                const char *p = workspace_path_problem(good[i]);
                if (p)
                        test_fail(__FILE__, __LINE__, "workspace \"%s\" refused: %s", good[i], p);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (!workspace_path_problem(bad[i]))
                        test_fail(__FILE__, __LINE__, "workspace \"%s\" accepted", bad[i]);

        check_contains(workspace_path_problem("rel"), "absolute");
        check_contains(workspace_path_problem("/home/../x"), "normalised");
        check_contains(workspace_path_problem("/home/a:b"), "':'");
        check_contains(workspace_path_problem("/"), "root directory");
        check_contains(workspace_path_problem("/etc/x"), "inside a system directory");
}

TEST(user_name) {
        static const char *const good[] = {"agent", "a",         "_",  "_svc",
                                           "dev-1", "build_bot", "a0", "abcdefghijklmnopqrstuvwxyz01234"};
        static const char *const bad[] = {"",       "root",
                                          "Root",   "1user",
                                          "-user",  "us er",
                                          "us.er",  "us$er",
                                          "Agent",  "üser",
                                          "a:b",    "a/b",
                                          "user\n", "abcdefghijklmnopqrstuvwxyz012345"};

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!user_name_is_valid(good[i]))
                        test_fail(__FILE__, __LINE__, "user \"%s\" refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (user_name_is_valid(bad[i]))
                        test_fail(__FILE__, __LINE__, "user \"%s\" accepted", bad[i]);
}

TEST(package_name) {
        static const char *const good[] = {"git",
                                           "python3",
                                           "g++",
                                           "libc6:amd64",
                                           "python3.11",
                                           "0ad",
                                           "ca-certificates",
                                           "git=1:2.39.2-1.1",
                                           "foo=1.0~rc1+dfsg-2",
                                           "libfoo:i386=2.0"};
        static const char *const bad[] = {"",       "Git",     "-git",    "git=",   "git =1", "git/bookworm",
                                          "git;rm", "git\n",   "+git",    ".git",   "gi t",   "git=1 2",
                                          "$(id)",  "git=1;2", "git=1/2", "\"git\""};

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!package_name_is_valid(good[i]))
                        test_fail(__FILE__, __LINE__, "package \"%s\" refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (package_name_is_valid(bad[i]))
                        test_fail(__FILE__, __LINE__, "package \"%s\" accepted", bad[i]);
}

TEST(env_and_credential_names) {
        check(env_name_is_valid("PATH"));
        check(env_name_is_valid("_x1"));
        check(env_name_is_valid("lower"));
        check(!env_name_is_valid(""));
        check(!env_name_is_valid("1A"));
        check(!env_name_is_valid("A-B"));
        check(!env_name_is_valid("A B"));
        check(!env_name_is_valid("A=B"));

        check(credential_id_is_valid("token"));
        check(credential_id_is_valid("api.key-1@host_x"));
        check(!credential_id_is_valid(""));
        check(!credential_id_is_valid(".hidden"));
        check(!credential_id_is_valid("a/b"));
        check(!credential_id_is_valid("a:b"));
        check(!credential_id_is_valid("a b"));
}

TEST(image_sources) {
        check(container_ref_is_valid("debian:12"));
        check(container_ref_is_valid("docker.io/library/debian:bookworm-slim"));
        check(container_ref_is_valid("ghcr.io/o/r@sha256:0123abcd"));
        check(container_ref_is_valid("localhost:5000/x"));
        check(!container_ref_is_valid(""));
        check(!container_ref_is_valid("-debian"));
        check(!container_ref_is_valid("/debian"));
        check(!container_ref_is_valid("../x"));
        check(!container_ref_is_valid("a/../../x"));
        check(!container_ref_is_valid("debian 12"));
        check(!container_ref_is_valid("debian;id"));

        check(suite_name_is_valid("bookworm"));
        check(suite_name_is_valid("stable-backports"));
        check(!suite_name_is_valid("Bookworm"));
        check(!suite_name_is_valid("12"));
        check(!suite_name_is_valid("../sid"));
        check(!suite_name_is_valid(""));
}

static void check_words(const char *input, int expected_r, const char *const *expected) {
        _cleanup_strv_free_ char **words = NULL;
        const char *p = input;
        size_t n = 0;
        int r;

        for (;;) {
                char *w;

                r = extract_word(&p, &w);
                if (r <= 0)
                        break;
                char **nw = realloc(words, sizeof(char *) * (n + 2));
                if (!nw)
                        abort();
                words = nw;
                words[n++] = w;
                words[n] = NULL;
        }
        if (r != expected_r) {
                test_fail(__FILE__, __LINE__, "extract_word() on \"%s\" ended with %d, expected %d", input,
                          r, expected_r);
                return;
        }
        if (r < 0)
                return;
        for (size_t i = 0; i < n || expected[i]; i++)
                if (i >= n || !expected[i] || !streq(words[i], expected[i])) {
                        test_fail(__FILE__, __LINE__,
                                  "extract_word() on \"%s\": word %zu is \"%s\", expected \"%s\"", input, i,
                                  i < n ? words[i] : "(end)", expected[i] ?: "(end)");
                        return;
                }
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

TEST(extract_word) {
        check_words("", 0, WORDS(NULL));
        check_words("   \t ", 0, WORDS(NULL));
        check_words("a b  c", 0, WORDS("a", "b", "c"));
        check_words("  a\tb  ", 0, WORDS("a", "b"));
        check_words("'a b' \"c d\"", 0, WORDS("a b", "c d"));
        check_words("a'b c'd", 0, WORDS("ab cd"));
        check_words("\"a\"'b'c", 0, WORDS("abc"));
        check_words("''", 0, WORDS(""));
        check_words("\"\" x", 0, WORDS("", "x"));
        /* '…' is literal: no escapes inside. */
        check_words("'a\\b'", 0, WORDS("a\\b"));
        check_words("'a\\'", 0, WORDS("a\\"));
        check_words("'\"'", 0, WORDS("\""));
        /* "…" knows \" and \\, other backslashes stay. */
        check_words("\"a\\\"b\"", 0, WORDS("a\"b"));
        check_words("\"a\\\\b\"", 0, WORDS("a\\b"));
        check_words("\"a\\nb\"", 0, WORDS("a\\nb"));
        check_words("\"it's\"", 0, WORDS("it's"));
        /* Unquoted: \X is X. */
        check_words("a\\ b", 0, WORDS("a b"));
        check_words("a\\\\b", 0, WORDS("a\\b"));
        check_words("\\\"x\\'", 0, WORDS("\"x'"));
        check_words("A=\"x y\" B='q\"r'", 0, WORDS("A=x y", "B=q\"r"));
        /* Errors. */
        check_words("'abc", -EINVAL, NULL);
        check_words("\"abc", -EINVAL, NULL);
        check_words("\"abc\\\"", -EINVAL, NULL);
        check_words("abc\\", -EINVAL, NULL);
        check_words("a 'b", -EINVAL, NULL);
}

TEST(path_helpers) {
        check(path_is_normalized("/"));
        check(path_is_normalized("/a/b"));
        check(path_is_normalized("/a/.b/..c"));
        check(!path_is_normalized("a/b"));
        check(!path_is_normalized(""));
        check(!path_is_normalized("/a/"));
        check(!path_is_normalized("//a"));
        check(!path_is_normalized("/a/./b"));
        check(!path_is_normalized("/a/../b"));
        check(!path_is_normalized("/.."));
        check(!path_is_normalized("/."));

        check(path_is_safe_for_nspawn("/a b/c%"));
        check(!path_is_safe_for_nspawn("/a:b"));
        check(!path_is_safe_for_nspawn("/a\\b"));
        check(!path_is_safe_for_nspawn("/a\"b"));
        check(!path_is_safe_for_nspawn("/a'b"));
        check(!path_is_safe_for_nspawn("/a\x7f"));
}

TEST(utf8_and_cc) {
        check(utf8_is_valid(""));
        check(utf8_is_valid("plain"));
        check(utf8_is_valid("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"));
        check(!utf8_is_valid("\xc3"));
        check(!utf8_is_valid("\xc3\x28"));
        check(!utf8_is_valid("\x80"));
        check(!utf8_is_valid("\xff"));
        check(!utf8_is_valid("\xc0\xaf"));         /* overlong '/' */
        check(!utf8_is_valid("\xe0\x80\xaf"));     /* overlong '/' */
        check(!utf8_is_valid("\xed\xa0\x80"));     /* surrogate */
        check(!utf8_is_valid("\xf4\x90\x80\x80")); /* > U+10FFFF */
        check(!utf8_is_valid("\xf8\x88\x80\x80\x80"));

        check(!string_has_cc("a b"));
        check(string_has_cc("a\tb"));
        check(string_has_cc("a\nb"));
        check(string_has_cc("a\rb"));
        check(string_has_cc("\x1b[31m"));
        check(string_has_cc("\x7f"));
}

TEST(parse_numbers) {
        uint64_t v;
        uint16_t p;

        check_int(safe_atou64("0", &v), 0);
        check_int(safe_atou64("18446744073709551615", &v), 0);
        check(v == UINT64_MAX);
        check_int(safe_atou64("18446744073709551616", &v), -ERANGE);
        check(safe_atou64("", &v) < 0);
        check(safe_atou64(" 1", &v) < 0);
        check(safe_atou64("-1", &v) < 0);
        check(safe_atou64("+1", &v) < 0);
        check(safe_atou64("1x", &v) < 0);
        check_int(safe_atou16("65535", &p), 0);
        check_int(p, 65535);
        check_int(safe_atou16("65536", &p), -ERANGE);

        check_int(parse_boolean("yes"), 1);
        check_int(parse_boolean("TRUE"), 1);
        check_int(parse_boolean("on"), 1);
        check_int(parse_boolean("1"), 1);
        check_int(parse_boolean("No"), 0);
        check_int(parse_boolean("off"), 0);
        check_int(parse_boolean("0"), 0);
        check_int(parse_boolean(""), -EINVAL);
        check_int(parse_boolean("maybe"), -EINVAL);
        check_int(parse_boolean("yes "), -EINVAL);
}

/* ---- issue 14: port lists of AllowAddress= and AllowDomain= */
TEST(port_lists) {
        check_address("192.0.2.1:443,80", 0, "192.0.2.1:443,80");
        check_address("192.0.2.0/24:8000-8100,22", 0, "192.0.2.0/24:8000-8100,22");
        check_address("192.0.2.1:0443", 0, "192.0.2.1:443");
        check_address("[2001:db8::/32]:443,9000-9010", 0, "[2001:db8::/32]:443,9000-9010");
        check_address("192.0.2.1:443,", -ERANGE, NULL);
        check_address("192.0.2.1:,443", -ERANGE, NULL);
        check_address("192.0.2.1:80-80", -ERANGE, NULL);
        check_address("192.0.2.1:90-80", -ERANGE, NULL);
        check_address("192.0.2.1:1-65536", -ERANGE, NULL);
        check_address("192.0.2.1:443,https", -ERANGE, NULL);
        check_address("192.0.2.1:-443", -ERANGE, NULL);

        static const struct {
                const char *in, *out;
                int r;
        } domains[] = {
                {"Example.COM:443", "example.com:443", 0},
                {"*.example.com:80,443", "example.com:80,443", 0},
                {"example.com.:8000-8100", "example.com:8000-8100", 0},
                {"example.com", "example.com", 0},
                {"example.com:", NULL, -ERANGE},
                {"example.com:0", NULL, -ERANGE},
                {"example.com:443:80", NULL, -EINVAL},
                {"com:443", NULL, -EDOM},
                {"[example.com]:443", NULL, -EINVAL},
                {"exa mple.com:443", NULL, -EINVAL},
        };
        for (size_t i = 0; i < ELEMENTSOF(domains); i++) {
                _cleanup_free_ char *w = strdup(domains[i].in);
                int r = allow_domain_normalize(&w);
                if (r != domains[i].r)
                        test_fail(__FILE__, __LINE__, "allow_domain_normalize(\"%s\") = %d, expected %d", domains[i].in,
                                  r, domains[i].r);
                else if (r >= 0 && !streq(w, domains[i].out))
                        test_fail(__FILE__, __LINE__, "allow_domain_normalize(\"%s\") gave \"%s\"", domains[i].in, w);
        }

        _cleanup_free_ char *d = NULL, *p = NULL;
        check_int(allow_domain_split("example.com:80,443", &d, &p), 0);
        check_streq(d, "example.com");
        check_streq(p, "80,443");
        d = mfree(d);
        p = mfree(p);
        check_int(allow_domain_split("example.com", &d, &p), 0);
        check_streq(d, "example.com");
        check_int(p == NULL, 1);

        uint16_t(*l)[2] = NULL;
        size_t n = 0;
        check_int(port_list_parse("443,8000-8100", &l, &n), 0);
        check_int(n, 2);
        if (n == 2) {
                check_int(l[0][0], 443);
                check_int(l[0][1], 443);
                check_int(l[1][0], 8000);
                check_int(l[1][1], 8100);
        }
        free(l);

        unsigned char a[16];
        unsigned prefix;
        int family;
        _cleanup_free_ char *ports = NULL;
        check_int(address_parse("[fd00::/8]:443", &family, a, &prefix, &ports), 0);
        check_int(family, AF_INET6);
        check_int(prefix, 8);
        check_streq(ports, "443");
        check_int(address_parse("10.0.0.0/8", &family, a, &prefix, NULL), 0);
        check_int(family, AF_INET);
        check_int(a[0], 10);
        check_int(prefix, 8);
}

/* issue 11: one owner of an address's text and of "inside a range" (the network policy uses them). */
TEST(address_format_and_range) {
        unsigned char a[16];
        unsigned prefix;
        int family;

        check_int(address_parse("192.168.1.0/24", &family, a, &prefix, NULL), 0);
        {
                _cleanup_free_ char *t = NULL, *u = NULL;
                check_int(address_format(family, a, prefix, false, &t), 0);
                check_streq(t, "192.168.1.0/24");
                check_int(address_format(family, a, 32, false, &u), 0);
                check_streq(u, "192.168.1.0");
        }
        {
                _cleanup_free_ char *t = NULL;
                check_int(address_format(family, a, 32, true, &t), 0);
                check_streq(t, "192.168.1.0/32");
        }
        check(address_in_range(family, a, prefix, "192.168.0.0/16"));
        check(!address_in_range(family, a, 8, "192.168.0.0/16")); /* wider than the range */
        check(!address_in_range(family, a, prefix, "10.0.0.0/8"));
        check(!address_in_range(family, a, prefix, "fc00::/7"));
        check(!address_in_range(family, a, prefix, "not-an-address"));
        check_int(address_parse("fd12::1", &family, a, &prefix, NULL), 0);
        check(address_in_range(family, a, prefix, "fc00::/7"));
        check(!address_in_range(family, a, prefix, "fe80::/10"));
}

int main(void) {
        test_init();
        RUN(domain_normalize);
        RUN(address_format_and_range);
        RUN(address_normalize_v4);
        RUN(address_normalize_v6);
        RUN(address_normalize_idempotent);
        RUN(memory_value);
        RUN(memory_value_systemd_range);
        RUN(cpu_quota);
        RUN(tasks_value);
        RUN(tasks_value_systemd_range);
        RUN(workspace_path_problem);
        RUN(user_name);
        RUN(package_name);
        RUN(env_and_credential_names);
        RUN(image_sources);
        RUN(extract_word);
        RUN(path_helpers);
        RUN(utf8_and_cc);
        RUN(parse_numbers);
        RUN(port_lists);
        return test_finish();
}
