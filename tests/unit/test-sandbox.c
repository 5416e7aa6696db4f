/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include "hash.h"
#include "log.h"
#include "render.h"
#include "sandbox.h"
#include "strv.h"
#include "tests.h"
#include "fs-util.h"
#include "path-util.h"
#include "string-util.h"

#define FROM "[Image]\nFrom=docker://debian:12\n"

typedef struct Loaded {
        int r;
        Sandbox *s;
        char *log;
} Loaded;

static Loaded load_named(const char *name, const char *text) {
        Loaded l = {};
        Capture cap;

        capture_begin(&cap);
        l.r = sandbox_load_string(name, "t.sandbox", text, strlen(text), &l.s);
        l.log = capture_end(&cap);
        return l;
}

static Loaded load(const char *text) {
        return load_named("t", text);
}

static void loaded_done(Loaded *l) {
        sandbox_free(l->s);
        free(l->log);
}

static char *format(const Sandbox *s) {
        char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        if (!f || sandbox_format(s, f) < 0)
                abort();
        fclose(f);
        return buf;
}

static void check_strv_at(const char *file, int line, char *const *l, const char *const *expected) {
        size_t n = strv_length(l), m = 0;

        while (expected[m])
                m++;
        if (n != m) {
                test_fail(file, line, "list has %zu entries, expected %zu", n, m);
                STRV_FOREACH (w, l) {
                        fputs("#   ", stdout);
                        test_print_escaped(stdout, *w);
                        putchar('\n');
                }
                return;
        }
        for (size_t i = 0; i < n; i++)
                if (!streq(l[i], expected[i])) {
                        test_fail(file, line, "entry %zu differs", i);
                        fputs("#   actual:   ", stdout);
                        test_print_escaped(stdout, l[i]);
                        fputs("\n#   expected: ", stdout);
                        test_print_escaped(stdout, expected[i]);
                        putchar('\n');
                }
}
#define STRV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define check_strv(l, ...) check_strv_at(__FILE__, __LINE__, l, STRV(__VA_ARGS__))
#define check_strv_empty(l) check_int(strv_length(l), 0)

TEST(defaults) {
        Loaded l = load(FROM);

        require(l.r == 0 && l.s);
        check_streq(l.s->name, "t");
        check_strv(l.s->files, "t.sandbox");
        check_streq(l.s->user, "agent");
        check(l.s->ephemeral);
        check(l.s->boot);
        check(!l.s->autostart);
        check(!l.s->persist_home);
        check(l.s->protect_default_paths);
        check(!l.s->protect_paths);
        check_int(l.s->network_mode, NETWORK_LENIENT);
        check_int(l.s->from_type, IMAGE_SOURCE_DOCKER);
        check_streq(l.s->from, "docker://debian:12");
        check(!l.s->description);
        check(!l.s->workspace);
        check(!l.s->command);
        check(!l.s->environment);
        check(!l.s->packages);
        check(!l.s->setup);
        check_int(l.s->n_credentials, 0);
        check_int(l.s->n_ports, 0);
        check_int(l.s->n_allow_host_ports, 0);
        check(!l.s->memory_max && !l.s->cpu_quota && !l.s->tasks_max);
        check_streq(l.log, "");
        loaded_done(&l);
}

TEST(scalars) {
        Loaded l = load("[Sandbox]\n"
                        "Description=first\n"
                        "Description=second 100%\n"
                        "User=dev\n"
                        "Workspace=/home/dev/p\n"
                        "Ephemeral=off\n"
                        "Boot=FALSE\n"
                        "AutoStart=1\n"
                        "PersistHome=y\n"
                        "[Image]\n"
                        "From=oci:/srv/images/base:latest\n"
                        "Setup=/etc/sandy/setup.sh\n"
                        "[Network]\n"
                        "Mode=strict\n"
                        "[Resources]\n"
                        "MemoryMax=4G\n"
                        "CPUQuota=150%\n"
                        "TasksMax=infinity\n");

        require(l.r == 0 && l.s);
        check_streq(l.s->description, "second 100%");
        check_streq(l.s->user, "dev");
        check_streq(l.s->workspace, "/home/dev/p");
        check(!l.s->ephemeral);
        check(!l.s->boot);
        check(l.s->autostart);
        check(l.s->persist_home);
        check_int(l.s->from_type, IMAGE_SOURCE_OCI);
        check_streq(l.s->setup, "/etc/sandy/setup.sh");
        check_int(l.s->network_mode, NETWORK_STRICT);
        check_streq(l.s->memory_max, "4G");
        check_streq(l.s->cpu_quota, "150%");
        check_streq(l.s->tasks_max, "infinity");
        loaded_done(&l);
}

TEST(empty_assignment_resets_scalars) {
        Loaded l = load("[Sandbox]\n"
                        "Description=x\n"
                        "Description=\n"
                        "Workspace=/home/u/p\n"
                        "Workspace=\n"
                        "[Image]\n"
                        "Setup=/x.sh\n"
                        "Setup=\n"
                        "From=docker://a\n"
                        "From=\n"
                        "From=debootstrap:bookworm\n"
                        "[Resources]\n"
                        "MemoryMax=1G\n"
                        "MemoryMax=\n"
                        "CPUQuota=10%\n"
                        "CPUQuota=\n"
                        "TasksMax=5\n"
                        "TasksMax=\n");

        require(l.r == 0 && l.s);
        check(!l.s->description);
        check(!l.s->workspace);
        check(!l.s->setup);
        check_streq(l.s->from, "debootstrap:bookworm");
        check_int(l.s->from_type, IMAGE_SOURCE_DEBOOTSTRAP);
        check(!l.s->memory_max && !l.s->cpu_quota && !l.s->tasks_max);
        loaded_done(&l);
}

TEST(empty_assignment_resets_lists) {
        Loaded l = load("[Sandbox]\n"
                        "Boot=no\n"
                        "Command=/bin/a b\n"
                        "Command=\n"
                        "Environment=A=1 B=2\n"
                        "Environment=\n"
                        "Credential=a:/etc/a\n"
                        "Credential=\n"
                        "[Image]\n"
                        "From=docker://debian:12\n"
                        "Packages=git curl\n"
                        "Packages=\n"
                        "[Network]\n"
                        "Mode=strict\n"
                        "AllowDomain=example.com\n"
                        "AllowDomain=\n"
                        "AllowAddress=192.0.2.1\n"
                        "AllowAddress=\n"
                        "AllowHostPort=22\n"
                        "AllowHostPort=\n"
                        "Port=8080:80\n"
                        "Port=\n");

        require(l.r == 0 && l.s);
        check(!l.s->command);
        check(!l.s->environment);
        check_int(l.s->n_credentials, 0);
        check(!l.s->packages);
        check(!l.s->allow_domains);
        check(!l.s->allow_addresses);
        check_int(l.s->n_allow_host_ports, 0);
        check_int(l.s->n_ports, 0);
        loaded_done(&l);

        /* After a reset, new values start a fresh list. */
        l = load("[Image]\nFrom=docker://x\nPackages=a1 b1\nPackages=\nPackages=c1\n"
                 "[Network]\nPort=1:1\nPort=\nPort=2:2\nAllowHostPort=1 "
                 "2\nAllowHostPort=\nAllowHostPort=3\n");
        require(l.r == 0 && l.s);
        check_strv(l.s->packages, "c1");
        require(l.s->n_ports == 1);
        check_int(l.s->ports[0].host, 2);
        require(l.s->n_allow_host_ports == 1);
        check_int(l.s->allow_host_ports[0], 3);
        loaded_done(&l);
}

TEST(repeated_keys_append) {
        Loaded l = load("[Image]\n"
                        "From=docker://debian:12\n"
                        "Packages=git curl\n"
                        "Packages=python3\n"
                        "[Network]\n"
                        "Mode=strict\n"
                        "AllowDomain=*.Example.COM\n"
                        "AllowDomain=github.com pypi.org.\n"
                        "AllowAddress=192.0.2.0/24:443\n"
                        "AllowAddress=[2001:DB8::1]:443 2001:db8::/32\n"
                        "AllowHostPort=tcp:22 80\n"
                        "AllowHostPort=443\n"
                        "Port=tcp:8080:80\n"
                        "Port=8443:443\n");

        require(l.r == 0 && l.s);
        check_strv(l.s->packages, "git", "curl", "python3");
        check_strv(l.s->allow_domains, "example.com", "github.com", "pypi.org");
        check_strv(l.s->allow_addresses, "192.0.2.0/24:443", "[2001:db8::1]:443", "2001:db8::/32");
        require(l.s->n_allow_host_ports == 3);
        check_int(l.s->allow_host_ports[0], 22);
        check_int(l.s->allow_host_ports[1], 80);
        check_int(l.s->allow_host_ports[2], 443);
        require(l.s->n_ports == 2);
        check_int(l.s->ports[0].host, 8080);
        check_int(l.s->ports[0].container, 80);
        check_int(l.s->ports[1].host, 8443);
        check_int(l.s->ports[1].container, 443);
        check_streq(l.log, "");
        loaded_done(&l);
}

TEST(environment) {
        Loaded l = load("[Sandbox]\n"
                        "Environment=A=1 B=\"two words\" C='it\"s'\n"
                        "Environment=B=replaced D=\n"
                        "Environment=A=last A=very-last\n" FROM);

        require(l.r == 0 && l.s);
        /* A later KEY replaces the earlier one in place, new keys are appended. */
        check_strv(l.s->environment, "A=very-last", "B=replaced", "C=it\"s", "D=");
        loaded_done(&l);

        /* KEY is matched exactly, not as a prefix. */
        l = load("[Sandbox]\nEnvironment=AB=1 A=2\nEnvironment=A=3\n" FROM);
        require(l.r == 0 && l.s);
        check_strv(l.s->environment, "AB=1", "A=3");
        loaded_done(&l);

        static const char *const bad[] = {"Environment=NOEQUALS",
                                          "Environment=1A=x",
                                          "Environment==x",
                                          "Environment=A-B=x",
                                          "Environment=\"A=unterminated",
                                          "Environment=\"A=x\ny\""};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, "[Sandbox]\n%s\n" FROM, bad[i]) >= 0);
                l = load(text);
                if (l.r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
                check_contains(l.log, "t.sandbox:2: ");
                loaded_done(&l);
        }
}

TEST(command) {
        Loaded l = load("[Sandbox]\n"
                        "Boot=no\n"
                        "Command=/bin/first\n"
                        "Command=/bin/sh -c \"echo \\\"hi\\\"\" 'single \\ quoted' back\\ slash ''\n" FROM);

        require(l.r == 0 && l.s);
        /* A second Command= replaces the first: a command line is one assignment. */
        check_strv(l.s->command, "/bin/sh", "-c", "echo \"hi\"", "single \\ quoted", "back slash", "");
        loaded_done(&l);

        l = load("[Sandbox]\nBoot=no\nCommand=/bin/a \"unterminated\n" FROM);
        check_int(l.r, -EINVAL);
        check_contains(l.log, "t.sandbox:3: Command= has an unterminated quote or a trailing backslash.");
        loaded_done(&l);
}

TEST(command_needs_boot_no) {
        Loaded l = load("[Sandbox]\nDescription=x\nCommand=/bin/sh\n" FROM);

        check_int(l.r, -EINVAL);
        check(!l.s);
        check_contains(l.log, "t.sandbox:3: Command= needs Boot=no; a booted sandbox runs its init.");
        loaded_done(&l);

        /* Order does not matter: Boot=no after Command= is fine, Boot=yes after it is not. */
        l = load("[Sandbox]\nCommand=/bin/sh\nBoot=no\n" FROM);
        check_int(l.r, 0);
        loaded_done(&l);
        l = load("[Sandbox]\nBoot=no\nCommand=/bin/sh\nBoot=yes\n" FROM);
        check_int(l.r, -EINVAL);
        loaded_done(&l);
}

TEST(credentials) {
        Loaded l = load("[Sandbox]\n"
                        "Credential=token:/etc/sandy/token\n"
                        "Credential=api.key@x:/etc/sandy/api\n"
                        "Credential=token:/etc/sandy/token2\n" FROM);

        require(l.r == 0 && l.s);
        require(l.s->n_credentials == 2);
        check_streq(l.s->credentials[0].id, "token");
        check_streq(l.s->credentials[0].path, "/etc/sandy/token2");
        check_streq(l.s->credentials[1].id, "api.key@x");
        check_streq(l.s->credentials[1].path, "/etc/sandy/api");
        loaded_done(&l);

        static const char *const bad[] = {"token",           "token:",           ":/etc/x",
                                          ".hidden:/etc/x",  "a b:/etc/x",       "token:relative",
                                          "token:/etc/../x", "token:/",          "token:/etc/a:b",
                                          "token:/etc/a\\b", "token:/etc/\"x\"", "token:/etc//x"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, "[Sandbox]\nCredential=%s\n" FROM, bad[i]) >= 0);
                l = load(text);
                if (l.r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "Credential=%s accepted", bad[i]);
                check_contains(l.log, "t.sandbox:2: Credential=");
                loaded_done(&l);
        }
}

TEST(credential_environment) {
        Loaded l = load("[Sandbox]\n"
                        "Credential=anthropic:/etc/sandy/a\n"
                        "CredentialEnvironment=ANTHROPIC_API_KEY=anthropic OTHER=anthropic\n"
                        "CredentialEnvironment=OTHER=anthropic\n" FROM);

        require(l.r == 0 && l.s);
        require(strv_length(l.s->credential_environment) == 2);
        check_streq(l.s->credential_environment[0], "ANTHROPIC_API_KEY=anthropic");
        check_streq(l.s->credential_environment[1], "OTHER=anthropic");
        loaded_done(&l);

        /* A credential no Credential= declares, and bad words, are errors with their line. */
        l = load("[Sandbox]\nCredentialEnvironment=KEY=nosuch\n" FROM);
        check_int(l.r, -EINVAL);
        check_contains(l.log, "t.sandbox:2: CredentialEnvironment= names credential nosuch");
        loaded_done(&l);
        static const char *const bad[] = {"KEY", "KEY=", "1KEY=x", "K-EY=x", "KEY=.hidden", "=x"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, "[Sandbox]\nCredentialEnvironment=%s\n" FROM, bad[i]) >= 0);
                l = load(text);
                if (l.r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "CredentialEnvironment=%s accepted", bad[i]);
                check_contains(l.log, "t.sandbox:2: CredentialEnvironment= takes VARIABLE=ID");
                loaded_done(&l);
        }
}

TEST(protect_paths) {
        Loaded l = load("[Sandbox]\n"
                        "ProtectPath=secrets/prod.env \"with space/x\"\n"
                        "ProtectPath=.claude/agents/*.md\n"
                        "ProtectDefaultPaths=no\n" FROM);

        require(l.r == 0 && l.s);
        check_strv(l.s->protect_paths, "secrets/prod.env", "with space/x", ".claude/agents/*.md");
        check(!l.s->protect_default_paths);
        loaded_done(&l);

        /* An empty assignment resets the list, and ProtectDefaultPaths= back to yes. */
        l = load("[Sandbox]\nProtectPath=a\nProtectPath=\nProtectPath=b\nProtectDefaultPaths=no\n"
                 "ProtectDefaultPaths=\n" FROM);
        require(l.r == 0 && l.s);
        check_strv(l.s->protect_paths, "b");
        check(l.s->protect_default_paths);
        loaded_done(&l);

        static const char *const bad[] = {"../x", "/etc/passwd", "a//b", "a/./b", "a/../b", "dir/", ".", "..",
                                          "a?b", "a[b]", "a\\\\b", "x/.."};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, "[Sandbox]\nProtectPath='%s'\n" FROM, bad[i]) >= 0);
                l = load(text);
                if (l.r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "ProtectPath=%s accepted", bad[i]);
                check_contains(l.log, "t.sandbox:2: ProtectPath=");
                loaded_done(&l);
        }

        /* The built-in list is valid by the same rules and covers what the issue names. */
        size_t n = 0;
        for (const char *const *p = sandbox_default_protect_paths; *p; p++, n++)
                if (!protect_path_is_valid(*p))
                        test_fail(__FILE__, __LINE__, "default protected path \"%s\" is invalid", *p);
        check(n >= 30);
        static const char *const must[] = {".bashrc", ".gitconfig", ".git/config", ".git/hooks", ".git/packed-refs",
                                           ".git/modules/*/config", ".claude/settings*.json", ".github/workflows",
                                           ".mcp.json", ".sandy"};
        for (size_t i = 0; i < ELEMENTSOF(must); i++) {
                bool found = false;
                for (const char *const *p = sandbox_default_protect_paths; *p; p++)
                        found = found || streq(*p, must[i]);
                if (!found)
                        test_fail(__FILE__, __LINE__, "%s missing from the default protected paths", must[i]);
        }
}

TEST(image_sources) {
        static const struct {
                const char *from;
                ImageSourceType type;
        } good[] = {
                        {"docker://debian:12", IMAGE_SOURCE_DOCKER},
                        {"docker://ghcr.io/org/img@sha256:0123abcd", IMAGE_SOURCE_DOCKER},
                        {"oci:/srv/oci", IMAGE_SOURCE_OCI},
                        {"oci:/srv/oci:v1", IMAGE_SOURCE_OCI},
                        {"oci-archive:/srv/img.tar", IMAGE_SOURCE_OCI_ARCHIVE},
                        {"docker-archive:/srv/img.tar:repo/x:tag", IMAGE_SOURCE_DOCKER_ARCHIVE},
                        {"debootstrap:bookworm", IMAGE_SOURCE_DEBOOTSTRAP},
        };
        static const char *const bad[] = {
                        "debian:12",       "docker://",          "docker://-x",
                        "docker://a/../b", "docker://a b",       "oci:relative",
                        "oci:/",           "oci:/srv/../x",      "oci:/srv/x:",
                        "oci:/srv/x:-bad", "oci-archive:",       "debootstrap:",
                        "debootstrap:Sid", "debootstrap:../sid", "http://example.com",
                        "file:///x",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, "[Image]\nFrom=%s\n", good[i].from) >= 0);
                Loaded l = load(text);
                if (l.r != 0)
                        test_fail(__FILE__, __LINE__, "From=%s refused", good[i].from);
                else
                        check_int(l.s->from_type, good[i].type);
                loaded_done(&l);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, "[Image]\nFrom=%s\n", bad[i]) >= 0);
                Loaded l = load(text);
                if (l.r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "From=%s accepted", bad[i]);
                check_contains(l.log, "t.sandbox:2: From=");
                loaded_done(&l);
        }
}

TEST(from_required) {
        Loaded l = load("[Sandbox]\nDescription=x\n");

        check_int(l.r, -EINVAL);
        check_contains(l.log, "t.sandbox: [Image] From= is required.");
        loaded_done(&l);
}

TEST(ports) {
        Loaded l = load(FROM "[Network]\nPort=8080:80\nPort=8080:81\n");
        check_int(l.r, -EINVAL);
        check_contains(l.log, "t.sandbox:5: Port= host port 8080 is forwarded twice.");
        loaded_done(&l);

        /* The same container port from two host ports is fine. */
        l = load(FROM "[Network]\nPort=8080:80\nPort=8081:80\n");
        check_int(l.r, 0);
        loaded_done(&l);

        static const char *const bad[] = {"udp:53:53",
                                          "80",
                                          "0:80",
                                          "80:0",
                                          "65536:80",
                                          "tcp:80",
                                          "a:b",
                                          "80:80:80",
                                          "-1:80",
                                          "80 :80",
                                          "tcp:8080:80 tcp:8081:81"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, FROM "[Network]\nPort=%s\n", bad[i]) >= 0);
                l = load(text);
                if (l.r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "Port=%s accepted", bad[i]);
                check_contains(l.log, "t.sandbox:4: Port=");
                loaded_done(&l);
        }

        static const char *const no_forward[] = {"none", "host"};
        for (size_t i = 0; i < ELEMENTSOF(no_forward); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, FROM "[Network]\nPort=8080:80\nMode=%s\n", no_forward[i]) >= 0);
                l = load(text);
                check_int(l.r, -EINVAL);
                check_contains(l.log, "t.sandbox:4: Port= needs Mode=lenient or Mode=strict");
                loaded_done(&l);
        }

        static const char *const bad_host_port[] = {"0", "65536", "udp:53", "tcp:", "ssh", "22,80"};
        for (size_t i = 0; i < ELEMENTSOF(bad_host_port); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, FROM "[Network]\nAllowHostPort=%s\n", bad_host_port[i]) >= 0);
                l = load(text);
                if (l.r != -EINVAL)
                        test_fail(__FILE__, __LINE__, "AllowHostPort=%s accepted", bad_host_port[i]);
                loaded_done(&l);
        }
}

TEST(network_modes) {
        static const char *const modes[] = {"lenient", "strict", "none", "host"};

        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                _cleanup_free_ char *text = NULL;
                require(xasprintf(&text, FROM "[Network]\nMode=%s\n", modes[i]) >= 0);
                Loaded l = load(text);
                require(l.r == 0);
                check_int(l.s->network_mode, (NetworkMode)i);
                check_streq(network_mode_to_string(l.s->network_mode), modes[i]);
                loaded_done(&l);
        }
        Loaded l = load(FROM "[Network]\nMode=Strict\n");
        check_int(l.r, -EINVAL);
        check_contains(l.log,
                       "t.sandbox:4: Mode= must be one of host, none, lenient, strict, not \"Strict\".");
        loaded_done(&l);
}

TEST(warnings_do_not_fail) {
        Loaded l = load("[Sandbox]\n"
                        "X-Local=note\n"            /* 2: X- key, silent */
                        "Ephemeral=no\n"            /* 3 */
                        "PersistHome=yes\n"         /* 4: no effect */
                        "[X-Ansible]\n"             /* 5 */
                        "Managed=yes\n"             /* 6: silent */
                        "[Network]\n"               /* 7 */
                        "AllowDomain=example.com\n" /* 8: only with Mode=strict */
                        FROM);

        check_int(l.r, 0);
        check(l.s);
        check_contains(l.log, "t.sandbox: PersistHome=yes has no effect with Ephemeral=no");
        check_contains(l.log, "t.sandbox:8: AllowDomain= and AllowAddress= only apply with Mode=strict; "
                              "ignored with Mode=lenient.");
        check_not_contains(l.log, "X-Local");
        check_not_contains(l.log, "Managed");
        check_not_contains(l.log, ":2:");
        check_not_contains(l.log, ":6:");
        loaded_done(&l);
}

/* A misspelt or misplaced key must never leave the sandbox weaker than declared: Mode=strict in [Sandbox]
 * would run it lenient. Every one is an error with a hint, and the declaration does not load. */
TEST(unknown_keys_are_errors) {
        Loaded l = load("[Sandbox]\n"
                        "Frobnicate=yes\n"          /* 2: unknown, nothing like it */
                        "Mode=strict\n"             /* 3: belongs in [Network] */
                        "Workspce=/srv/x\n"         /* 4: typo, same section */
                        "[Frobnication]\n"          /* 5 */
                        "Level=11\n"                /* 6: unknown section */
                        "[Netwrok]\n"               /* 7 */
                        "Mode=strict\n"             /* 8: section typo */
                        "[Network]\n"               /* 9 */
                        "mode=strict\n"             /* 10: case */
                        "AllowDomian=example.com\n" /* 11: typo */
                        "[Image]\n"                 /* 12 */
                        "MemoryMx=1G\n"             /* 13: typo of a key of another section */
                        "Us=x\n"                    /* 14: too short to guess */
                        FROM);

        check_int(l.r, -EINVAL);
        check(!l.s);
        check_contains(l.log, "t.sandbox:2: Unknown key Frobnicate= in [Sandbox] (keys for other tools start "
                              "with \"X-\").");
        check_contains(l.log, "t.sandbox:3: Mode= belongs in [Network], not [Sandbox].");
        check_contains(l.log, "t.sandbox:4: Unknown key Workspce= in [Sandbox]; did you mean Workspace=?");
        check_contains(l.log,
                       "t.sandbox:6: Level= is in an unknown section [Frobnication] (sections for other "
                       "tools start with \"X-\").");
        check_contains(l.log,
                       "t.sandbox:8: Mode= is in an unknown section [Netwrok]; did you mean [Network]?");
        check_contains(l.log, "t.sandbox:10: Unknown key mode= in [Network]; did you mean Mode=?");
        check_contains(l.log, "t.sandbox:11: Unknown key AllowDomian= in [Network]; did you mean AllowDomain=?");
        check_contains(l.log, "t.sandbox:13: Unknown key MemoryMx= in [Image]; did you mean [Resources] "
                              "MemoryMax=?");
        check_contains(l.log, "t.sandbox:14: Unknown key Us= in [Image] (keys for other tools start with");
        loaded_done(&l);
}

TEST(every_problem_is_reported) {
        Loaded l = load("[Sandbox]\n"                 /* 1 */
                        "User=root\n"                 /* 2 */
                        "Workspace=/etc\n"            /* 3 */
                        "Boot=maybe\n"                /* 4 */
                        "[Resources]\n"               /* 5 */
                        "MemoryMax=lots\n"            /* 6 */
                        "CPUQuota=50\n"               /* 7 */
                        "TasksMax=0\n"                /* 8 */
                        "[Network]\n"                 /* 9 */
                        "AllowDomain=com\n"           /* 10 */
                        "AllowAddress=192.0.2.1/24\n" /* 11 */
                        "[Image]\n"                   /* 12 */
                        "Packages=Git\n"              /* 13 */
                        "Setup=setup.sh\n");          /* 14, and no From= */

        check_int(l.r, -EINVAL);
        check(!l.s);
        check_contains(l.log, "t.sandbox:2: User= must be a user name");
        check_contains(l.log, "t.sandbox:3: Workspace= must not be inside a system directory: \"/etc\".");
        check_contains(l.log, "t.sandbox:4: Boot= takes a boolean (yes/no), not \"maybe\".");
        check_contains(l.log, "t.sandbox:6: MemoryMax= has an invalid value \"lots\"");
        check_contains(l.log, "t.sandbox:7: CPUQuota= has an invalid value \"50\"");
        check_contains(l.log, "t.sandbox:8: TasksMax= has an invalid value \"0\"");
        check_contains(l.log, "t.sandbox:10: AllowDomain= \"com\" is a top-level domain");
        check_contains(l.log, "t.sandbox:11: AllowAddress= \"192.0.2.1/24\" has host bits set");
        check_contains(l.log, "t.sandbox:13: Packages= has an invalid Debian package name: \"Git\".");
        check_contains(l.log, "t.sandbox:14: Setup= must be an absolute, normalised path");
        check_contains(l.log, "t.sandbox: [Image] From= is required.");
        loaded_done(&l);
}

TEST(description_limits) {
        char long_desc[1100];
        _cleanup_free_ char *text = NULL;

        memset(long_desc, 'd', 1024);
        long_desc[1024] = 0;
        require(xasprintf(&text, "[Sandbox]\nDescription=%s\n" FROM, long_desc) >= 0);
        Loaded l = load(text);
        check_int(l.r, 0);
        loaded_done(&l);

        text = mfree(text);
        long_desc[1024] = 'd';
        long_desc[1025] = 0;
        require(xasprintf(&text, "[Sandbox]\nDescription=%s\n" FROM, long_desc) >= 0);
        l = load(text);
        check_int(l.r, -EINVAL);
        check_contains(l.log, "t.sandbox:2: Description= is longer than 1024 characters.");
        loaded_done(&l);

        l = load("[Sandbox]\nDescription=tab\there\n" FROM);
        check_int(l.r, -EINVAL);
        check_contains(l.log, "t.sandbox:2: Description= must not contain control characters.");
        loaded_done(&l);
}

TEST(sandbox_name_is_valid) {
        static const char *const good[] = {
                        "a",
                        "web",
                        "my-box",
                        "box.example",
                        "Box1",
                        "1box",
                        "a.b.c",
                        "nets",
                        "netns2",
                        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234", /* 64 */
        };
        static const char *const bad[] = {
                        "",
                        "-box",
                        ".box",
                        "box.",
                        "box-",
                        "a..b",
                        "a b",
                        "a/b",
                        "a@b",
                        "a:b",
                        "a\\b",
                        "a%b",
                        "caf\xc3\xa9",
                        "box\n",
                        "net",   /* reserved: /run/sandy/net */
                        "netns", /* reserved: /run/sandy/netns */
                        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345", /* 65 */
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!sandbox_name_is_valid(good[i]))
                        test_fail(__FILE__, __LINE__, "name \"%s\" refused", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (sandbox_name_is_valid(bad[i]))
                        test_fail(__FILE__, __LINE__, "name \"%s\" accepted", bad[i]);

        /* Longer than any file name can be. */
        char huge[301];
        memset(huge, 'a', 300);
        huge[300] = 0;
        check(!sandbox_name_is_valid(huge));
        _cleanup_free_ char *path = NULL, *name = NULL;
        require(xasprintf(&path, "/etc/sandy.d/%s.sandbox", huge) >= 0);
        check_int(sandbox_name_from_path(path, &name), -EINVAL);
}

/* machined and systemd-nspawn take only hostnames as machine names: letters, digits, '-' and '.', no
 * label starting or ending with '-' (systemd's hostname_is_valid()). A name sandy accepts but nspawn
 * refuses is generated and then fails at every start with "Invalid machine name". */
TEST(sandbox_name_is_valid_for_nspawn) {
        static const char *const refused_by_nspawn[] = {"my_box", "_box", "a-.b", "a.-b"};

        for (size_t i = 0; i < ELEMENTSOF(refused_by_nspawn); i++)
                if (sandbox_name_is_valid(refused_by_nspawn[i]))
                        test_fail(__FILE__, __LINE__,
                                  "name \"%s\" accepted, but systemd-nspawn refuses it as a machine name",
                                  refused_by_nspawn[i]);
}

TEST(sandbox_name_from_path) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        check_int(sandbox_name_from_path("/etc/sandy.d/web.sandbox", &a), 0);
        check_streq(a, "web");
        check_int(sandbox_name_from_path("web.sandbox", &b), 0);
        check_streq(b, "web");
        check_int(sandbox_name_from_path("a.sandbox.sandbox", &c), 0);
        check_streq(c, "a.sandbox");
        char *x = NULL;
        check_int(sandbox_name_from_path("/etc/sandy.d/.sandbox", &x), -EINVAL);
        check_int(sandbox_name_from_path("/etc/sandy.d/web.conf", &x), -EINVAL);
        check_int(sandbox_name_from_path("/etc/sandy.d/-x.sandbox", &x), -EINVAL);
        check_int(sandbox_name_from_path("/etc/sandy.d/web.sandbox/", &x), -EINVAL);
        check(!x);
}

/* ---- round trip: sandbox_format() output parses back to the same declaration ---------------------- */

static void check_round_trip_at(const char *file, int line, const char *text, size_t size,
                                unsigned *n_loaded) {
        _cleanup_sandbox_free_ Sandbox *s = NULL, *s2 = NULL;
        _cleanup_free_ char *f1 = NULL, *f2 = NULL;
        Capture cap;
        int r;

        capture_begin(&cap);
        r = sandbox_load_string("rt", "rt.sandbox", text, size, &s);
        free(capture_end(&cap));
        if (r < 0)
                return;
        if (n_loaded)
                (*n_loaded)++;
        f1 = format(s);
        capture_begin(&cap);
        r = sandbox_load_string("rt", "rt.sandbox", f1, strlen(f1), &s2);
        free(capture_end(&cap));
        if (r < 0) {
                test_fail(file, line, "sandbox_format() output does not load again (%s)", strerror(-r));
                fputs("# input:\n", stdout);
                test_print_escaped(stdout, text);
                fputs("\n# formatted:\n", stdout);
                test_print_escaped(stdout, f1);
                putchar('\n');
                return;
        }
        f2 = format(s2);
        if (!streq(f1, f2)) {
                test_fail(file, line, "sandbox_format() output changes when parsed again");
                fputs("# first:\n", stdout);
                test_print_escaped(stdout, f1);
                fputs("\n# second:\n", stdout);
                test_print_escaped(stdout, f2);
                putchar('\n');
        }
}
#define check_round_trip(text) check_round_trip_at(__FILE__, __LINE__, text, strlen(text), NULL)

TEST(format_round_trip) {
        check_round_trip(FROM);
        check_round_trip("[Sandbox]\n"
                         "Description=100% \"quoted\" 'single' back\\slash #hash ;semi [x] =eq\n"
                         "User=dev\n"
                         "Workspace=/home/dev/with space\n"
                         "Ephemeral=no\n"
                         "Boot=no\n"
                         "Command=/bin/sh -c 'echo \"$@\"' '' \"a\\\\b\" \"it's\" x\\ y %n \\\\\n"
                         "Environment=A=\"x y\" B='q\"r' C=back\\\\slash D= E=\"\\\\\" F='\\'\n"
                         "Credential=token:/etc/sandy/token\n"
                         "Credential=b:/etc/with space\n"
                         "AutoStart=yes\n"
                         "PersistHome=yes\n"
                         "[Image]\n"
                         "From=oci-archive:/srv/images/x.tar:repo/name:tag\n"
                         "Packages=git g++ libc6:amd64 python3=3.11.2-1+b1\n"
                         "Setup=/etc/sandy/setup.sh\n"
                         "[Network]\n"
                         "Mode=strict\n"
                         "AllowDomain=*.Example.com github.com.\n"
                         "AllowAddress=192.0.2.0/24:443 [2001:db8::/32]:443 [::1] ::ffff:192.0.2.1\n"
                         "AllowHostPort=tcp:22 80\n"
                         "Port=8080:80\n"
                         "Port=tcp:8443:443\n"
                         "[Resources]\n"
                         "MemoryMax=50%\n"
                         "CPUQuota=200%\n"
                         "TasksMax=infinity\n");
}

TEST(format_round_trip_random) {
        static const char *const lines[] = {
                        "[Sandbox]\nDescription=plain text",
                        "[Sandbox]\nDescription=100% \"q\" 'q' \\ \\\\ %n",
                        "[Sandbox]\nDescription=",
                        "[Sandbox]\nUser=dev",
                        "[Sandbox]\nWorkspace=/home/u/p q",
                        "[Sandbox]\nWorkspace=",
                        "[Sandbox]\nEphemeral=no",
                        "[Sandbox]\nProtectPath=a/b \"c d/*.json\"",
                        "[Sandbox]\nProtectPath=",
                        "[Sandbox]\nProtectDefaultPaths=no",
                        "[Sandbox]\nBoot=no",
                        "[Sandbox]\nBoot=no",
                        "[Sandbox]\nCommand=/bin/sh -c \"echo \\\"$1\\\"\" 'a\\b' x\\ y ''",
                        "[Sandbox]\nCommand=\"\\\\\" \"'\" '\"' %h",
                        "[Sandbox]\nCommand=",
                        "[Sandbox]\nEnvironment=A=\"1 2\" B='\"' C=\\\\",
                        "[Sandbox]\nEnvironment=A=3 D=",
                        "[Sandbox]\nEnvironment=",
                        "[Sandbox]\nCredential=c1:/etc/c1",
                        "[Sandbox]\nCredential=c1:/etc/c2 x",
                        "[Sandbox]\nCredential=",
                        "[Sandbox]\nAutoStart=on",
                        "[Sandbox]\nPersistHome=1",
                        "[Image]\nFrom=docker://debian:12",
                        "[Image]\nFrom=debootstrap:bookworm",
                        "[Image]\nFrom=oci:/srv/oci:tag",
                        "[Image]\nPackages=git curl",
                        "[Image]\nPackages=",
                        "[Image]\nSetup=/s.sh",
                        "[Network]\nMode=strict",
                        "[Network]\nMode=lenient",
                        "[Network]\nMode=none",
                        "[Network]\nAllowDomain=*.A.example a.b.",
                        "[Network]\nAllowDomain=",
                        "[Network]\nAllowAddress=10.0.0.0/8 [fe80::]:22 2001:db8::1",
                        "[Network]\nAllowAddress=",
                        "[Network]\nAllowHostPort=22 tcp:443",
                        "[Network]\nAllowHostPort=",
                        "[Network]\nPort=1:2",
                        "[Network]\nPort=3:2",
                        "[Network]\nPort=",
                        "[Resources]\nMemoryMax=1G",
                        "[Resources]\nCPUQuota=5%",
                        "[Resources]\nTasksMax=10%",
                        "[Resources]\nTasksMax=",
                        "[X-Other]\nKey=value",
                        "[Sandbox]\nUnknown=1",
        };
        unsigned seed = 4242, n_loaded = 0;

        for (unsigned iter = 0; iter < 3000; iter++) {
                char text[4096] = "[Image]\nFrom=docker://x\n";
                size_t len = strlen(text);

                seed = seed * 1103515245u + 12345u;
                unsigned n = (seed >> 16) % 16;
                for (unsigned i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        const char *l = lines[(seed >> 16) % ELEMENTSOF(lines)];
                        size_t k = strlen(l);
                        if (len + k + 2 >= sizeof(text))
                                break;
                        memcpy(text + len, l, k);
                        len += k;
                        text[len++] = '\n';
                        text[len] = 0;
                }
                check_round_trip_at(__FILE__, __LINE__, text, len, &n_loaded);
                if (test_failed)
                        return;
        }
        /* Most combinations are valid; make sure the property was actually exercised. */
        if (n_loaded < 1000)
                test_fail(__FILE__, __LINE__, "only %u of 3000 random declarations loaded", n_loaded);
}

TEST(format_round_trip_golden_cases) {
        const char *srcdir = getenv("SANDY_TEST_SOURCE_DIR");
        _cleanup_free_ char *dir = NULL;
        unsigned n = 0, n_loaded = 0;
        DIR *d;
        struct dirent *de;

        if (!srcdir) {
                printf("# SANDY_TEST_SOURCE_DIR not set, skipping\n");
                return;
        }
        dir = path_join(srcdir, "golden/cases");
        d = opendir(dir);
        require(d);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL, *text = NULL;
                size_t size;

                if (!endswith(de->d_name, ".sandbox"))
                        continue;
                p = path_join(dir, de->d_name);
                if (read_full_file(p, 4 * 1024 * 1024, &text, &size) < 0)
                        continue;
                n++;
                check_round_trip_at(__FILE__, __LINE__, text, size, &n_loaded);
        }
        closedir(d);
        printf("# %u golden cases, %u loaded and round-tripped\n", n, n_loaded);
        check(n > 0);
}

/* ---- files: drop-ins, search path, masking ------------------------------------------------------ */

static char *mkpath(const char *a, const char *b) {
        char *p = path_join(a, b);
        if (!p)
                abort();
        return p;
}

static void put(const char *root, const char *rel, const char *content) {
        _cleanup_free_ char *p = mkpath(root, rel), *dir = strdup(p);

        *strrchr(dir, '/') = 0;
        if (mkdir_p(dir, 0755) < 0)
                abort();
        test_write_file(p, content);
}

static void put_symlink(const char *root, const char *rel, const char *target) {
        _cleanup_free_ char *p = mkpath(root, rel), *dir = strdup(p);

        *strrchr(dir, '/') = 0;
        if (mkdir_p(dir, 0755) < 0 || symlink(target, p) < 0)
                abort();
}

TEST(search_path) {
        _cleanup_strv_free_ char **a = sandbox_search_path("/a:/b::/c:"), **b = sandbox_search_path(NULL);

        check_strv(a, "/a", "/b", "/c");
        require(b);
        const char *env = getenv("SANDY_SEARCH_PATH");
        if (isempty(env))
                check_strv(b, "/etc/sandy.d", "/run/sandy.d", "/usr/lib/sandy.d");

        setenv("SANDY_SEARCH_PATH", "/x:/y", 1);
        _cleanup_strv_free_ char **c = sandbox_search_path(NULL);
        check_strv(c, "/x", "/y");
        setenv("SANDY_SEARCH_PATH", "", 1);
        _cleanup_strv_free_ char **d = sandbox_search_path(NULL);
        check_strv(d, "/etc/sandy.d", "/run/sandy.d", "/usr/lib/sandy.d");
        if (env)
                setenv("SANDY_SEARCH_PATH", env, 1);
        else
                unsetenv("SANDY_SEARCH_PATH");
}

TEST(load_with_dropins) {
        _cleanup_free_ char *root = test_mkdtemp(), *etc = mkpath(root, "etc"), *run = mkpath(root, "run"),
                            *usr = mkpath(root, "usr");
        char *dirs[] = {etc, run, usr, NULL};
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        Capture cap;
        char *log;
        int r;

        put(usr, "web.sandbox", "[Image]\nFrom=docker://usr\n");
        put(etc, "web.sandbox",
            "[Image]\nFrom=docker://etc\n[Image]\nPackages=a1\n[Resources]\nMemoryMax=1G\n");
        put(usr, "web.sandbox.d/10-usr.conf", "[Image]\nPackages=b1\n");
        put(run, "web.sandbox.d/20-run.conf", "[Image]\nPackages=c1\n[Resources]\nMemoryMax=2G\n");
        put(etc, "web.sandbox.d/30-etc.conf", "[Image]\nPackages=\nPackages=d1\n");
        /* Same name in a higher-priority directory replaces the lower one. */
        put(usr, "web.sandbox.d/40-over.conf", "[Resources]\nMemoryMax=9G\n");
        put(etc, "web.sandbox.d/40-over.conf", "[Resources]\nCPUQuota=50%\n");
        /* Masked drop-ins: symlink to /dev/null, or an empty file. */
        put(usr, "web.sandbox.d/50-masked.conf", "[Resources]\nTasksMax=1\n");
        put_symlink(etc, "web.sandbox.d/50-masked.conf", "/dev/null");
        put(usr, "web.sandbox.d/51-empty.conf", "[Resources]\nTasksMax=2\n");
        put(run, "web.sandbox.d/51-empty.conf", "");
        /* Not drop-ins. */
        put(etc, "web.sandbox.d/README", "[Resources]\nTasksMax=3\n");
        put(etc, "web.sandbox.d/60-x.conf~", "[Resources]\nTasksMax=4\n");
        put(etc, "web.sandbox.d/.70-hidden.conf", "[Resources]\nTasksMax=5\n");

        capture_begin(&cap);
        r = sandbox_load(dirs, "web", &s);
        log = capture_end(&cap);
        require(r == 0 && s);
        check_streq(log, "");
        free(log);

        _cleanup_free_ char *m = mkpath(etc, "web.sandbox"), *d10 = mkpath(usr, "web.sandbox.d/10-usr.conf"),
                            *d20 = mkpath(run, "web.sandbox.d/20-run.conf"),
                            *d30 = mkpath(etc, "web.sandbox.d/30-etc.conf"),
                            *d40 = mkpath(etc, "web.sandbox.d/40-over.conf");
        check_strv(s->files, m, d10, d20, d30, d40);
        check_streq(s->from, "docker://etc");
        check_strv(s->packages, "d1");
        check_streq(s->memory_max, "2G");
        check_streq(s->cpu_quota, "50%");
        check(!s->tasks_max);

        /* A problem in a drop-in is reported with the drop-in's name and line. */
        put(run, "web.sandbox.d/25-bad.conf", "\n[Resources]\nMemoryMax=lots\n");
        s = sandbox_free(s);
        capture_begin(&cap);
        r = sandbox_load(dirs, "web", &s);
        log = capture_end(&cap);
        check_int(r, -EINVAL);
        check_contains(log, "/run/web.sandbox.d/25-bad.conf:3: MemoryMax= has an invalid value \"lots\"");
        free(log);

        test_rm_rf(root);
}

TEST(find_and_mask) {
        _cleanup_free_ char *root = test_mkdtemp(), *etc = mkpath(root, "etc"), *usr = mkpath(root, "usr");
        char *dirs[] = {etc, usr, NULL};
        _cleanup_strv_free_ char **names = NULL;
        Capture cap;
        char *log;

        put(usr, "a.sandbox", FROM);
        put(usr, "b.sandbox", FROM);
        put_symlink(etc, "b.sandbox", "/dev/null");
        put(usr, "c.sandbox", FROM);
        put(etc, "c.sandbox", "");
        put(etc, "d.sandbox", FROM);
        put(etc, "d.sandbox.d/10.conf", FROM);
        put(usr, "e.sandbox", "");
        put(etc, "-bad.sandbox", FROM);
        put(etc, ".hidden.sandbox", FROM);
        put(etc, "notes.txt", "x");
        put(usr, "only-dropins.sandbox.d/10.conf", FROM);

        capture_begin(&cap);
        check_int(sandbox_list_names(dirs, &names), 0);
        log = capture_end(&cap);
        check_strv(names, "a", "b", "c", "d", "e");
        check_contains(log, "\"-bad.sandbox\" does not make a valid sandbox name");
        free(log);

        _cleanup_free_ char *main_file = NULL;
        _cleanup_strv_free_ char **dropins = NULL;
        check_int(sandbox_find(dirs, "a", &main_file, &dropins), 0);
        _cleanup_free_ char *expect_a = mkpath(usr, "a.sandbox");
        check_streq(main_file, expect_a);
        check_strv_empty(dropins);
        check_int(sandbox_find(dirs, "b", NULL, NULL), -ENXIO);
        check_int(sandbox_find(dirs, "c", NULL, NULL), -ENXIO);
        check_int(sandbox_find(dirs, "e", NULL, NULL), -ENXIO);
        check_int(sandbox_find(dirs, "nope", NULL, NULL), -ENOENT);
        check_int(sandbox_find(dirs, "only-dropins", NULL, NULL), -ENOENT);
        check_int(sandbox_find(dirs, "../etc/a", NULL, NULL), -EINVAL);
        check_int(sandbox_find(dirs, "-bad", NULL, NULL), -EINVAL);

        test_rm_rf(root);
}

TEST(list_names_empty) {
        _cleanup_free_ char *root = test_mkdtemp(), *missing = mkpath(root, "missing");
        char *dirs[] = {root, missing, NULL};
        _cleanup_strv_free_ char **names = NULL;

        /* No declarations at all is the normal case on a fresh system. */
        check_int(sandbox_list_names(dirs, &names), 0);
        check_int(strv_length(names), 0);
        test_rm_rf(root);
}

TEST(check_dropin) {
        _cleanup_free_ char *root = test_mkdtemp(), *good = mkpath(root, "good.conf"),
                            *bad = mkpath(root, "bad.conf");
        Capture cap;
        char *log;

        /* A drop-in alone needs no From=, and Command= without Boot= is a whole-declaration matter. */
        test_write_file(good, "[Sandbox]\nCommand=/bin/true\n[Resources]\nMemoryMax=1G\n");
        test_write_file(bad, "[Resources]\nMemoryMax=1X\n");
        capture_begin(&cap);
        check_int(sandbox_check_dropin(good), 0);
        check_int(sandbox_check_dropin(bad), -EINVAL);
        log = capture_end(&cap);
        check_contains(log, "bad.conf:2: MemoryMax= has an invalid value \"1X\"");
        free(log);
        test_rm_rf(root);
}

/* A declaration path with a control character or invalid UTF-8 is refused with a message, never parsed, and
 * loading it must not crash (it once dereferenced NULL: the file list stayed empty). Likewise the generator
 * and sandyctl verify, which load the same way. */
TEST(bad_file_name_is_refused) {
        static const char *const names[] = {"bad\nname.sandbox", "bad\tname.sandbox", "bad\xffname.sandbox",
                                            "bad\xc0\xafname.sandbox"};
        _cleanup_free_ char *root = test_mkdtemp();

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *path = mkpath(root, names[i]), *log = NULL;
                Sandbox *s = NULL;
                Capture cap;

                test_write_file(path, "[Image]\nFrom=oci:/x\n");
                capture_begin(&cap);
                check_int(sandbox_load_files("x", path, NULL, &s), -EINVAL);
                log = capture_end(&cap);
                check(!s);
                check_contains(log, "control characters or invalid UTF-8");
                /* The same as a drop-in of a good main file. */
                {
                        _cleanup_free_ char *good = mkpath(root, "good.sandbox"), *log2 = NULL;
                        char *dropins[] = {path, NULL};
                        test_write_file(good, "[Image]\nFrom=oci:/x\n");
                        capture_begin(&cap);
                        check_int(sandbox_load_files("good", good, dropins, &s), -EINVAL);
                        log2 = capture_end(&cap);
                        check(!s);
                        check_contains(log2, "control characters or invalid UTF-8");
                        (void) unlink(good);
                }
                (void) unlink(path);
        }
        test_rm_rf(root);
}

/* The digest: SHA-256 of sha256sum-style lines, one per file in the order applied. */
TEST(digest) {
        static const char text[] = "[Image]\nFrom=docker://debian:12\n";
        char h[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
        _cleanup_free_ char *lines = NULL, *root = test_mkdtemp(), *main_file = NULL, *d1 = NULL;
        Loaded l = load(text);

        require(l.s);
        require(sha256_hex(text, strlen(text), h) >= 0);
        require(xasprintf(&lines, "%s  t.sandbox\n", h) >= 0);
        require(sha256_hex(lines, strlen(lines), want) >= 0);
        check_streq(l.s->digest, want);
        check_int(sandbox_check_digest(l.s, want), 0);
        Capture cap;
        capture_begin(&cap);
        check_int(sandbox_check_digest(l.s, "0000"), -ESTALE);
        check_int(sandbox_check_digest(l.s, NULL), -ESTALE);
        free(capture_end(&cap));
        loaded_done(&l);

        /* From files: a drop-in counts, and so does any change of a byte. */
        main_file = mkpath(root, "d.sandbox");
        d1 = mkpath(root, "d.sandbox.d/10.conf");
        put(root, "d.sandbox", text);
        put(root, "d.sandbox.d/10.conf", "[Resources]\nMemoryMax=1G\n");
        char *dropins[] = {d1, NULL};
        Sandbox *a = NULL, *b = NULL, *c = NULL;
        require(sandbox_load_files("d", main_file, NULL, &a) == 0);
        require(sandbox_load_files("d", main_file, dropins, &b) == 0);
        put(root, "d.sandbox.d/10.conf", "[Resources]\nMemoryMax=2G\n");
        require(sandbox_load_files("d", main_file, dropins, &c) == 0);
        check(!streq(a->digest, b->digest));
        check(!streq(b->digest, c->digest));
        {
                char hm[SHA256_HEX_LEN + 1], hd[SHA256_HEX_LEN + 1], w[SHA256_HEX_LEN + 1];
                _cleanup_free_ char *ls = NULL;
                static const char dt[] = "[Resources]\nMemoryMax=2G\n";
                require(sha256_hex(text, strlen(text), hm) >= 0 && sha256_hex(dt, strlen(dt), hd) >= 0);
                require(xasprintf(&ls, "%s  %s\n%s  %s\n", hm, main_file, hd, d1) >= 0);
                require(sha256_hex(ls, strlen(ls), w) >= 0);
                check_streq(c->digest, w);
        }
        sandbox_free(a);
        sandbox_free(b);
        sandbox_free(c);
        test_rm_rf(root);
}

TEST(ownership_keys) {
        Loaded l = load("[Sandbox]\nOwner=alice\nAllowUsers=bob 1003\nAllowUsers=carol\nAllowGroups=devs 4242\n" FROM);
        uid_t o;

        require(l.s);
        check_streq(l.s->owner, "alice");
        check_strv(l.s->allow_users, "bob", "1003", "carol");
        check_strv(l.s->allow_groups, "devs", "4242");
        loaded_done(&l);

        l = load("[Sandbox]\nOwner=alice\nOwner=\nAllowUsers=bob\nAllowUsers=\n" FROM);
        require(l.s);
        check(!l.s->owner && !l.s->allow_users);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 0); /* no owner, no workspace: root's */
        loaded_done(&l);

        l = load("[Sandbox]\nOwner=-x\nAllowUsers=a:b\nAllowGroups=12345678901\n" FROM);
        check_int(l.r, -EINVAL);
        check_contains(l.log, "t.sandbox:2: Owner= takes user names");
        check_contains(l.log, "t.sandbox:3: AllowUsers= takes user names");
        check_contains(l.log, "t.sandbox:4: AllowGroups= takes group names");
        loaded_done(&l);

        l = load("[Sandbox]\nOwner=4321\n" FROM);
        require(l.s);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 4321);
        loaded_done(&l);
        l = load("[Sandbox]\nOwner=no-such-user-here\n" FROM);
        require(l.s);
        check_int(sandbox_owner_uid(l.s, &o), -ESRCH);
        check_int(o, 0);
        loaded_done(&l);
}

TEST(uid_allowed) {
        struct passwd *pw = getpwnam("nobody");
        _cleanup_free_ char *text = NULL;
        uid_t nobody;
        gid_t nogroup;
        Loaded l;

        require(pw);
        /* getpwnam()'s result is overwritten by the next lookup. */
        nobody = pw->pw_uid;
        nogroup = pw->pw_gid;
        l = load("[Sandbox]\nAllowUsers=1003 root\n" FROM);
        require(l.s);
        check(sandbox_uid_allowed(l.s, 1001, 0));     /* root, always */
        check(sandbox_uid_allowed(l.s, 1001, 1001));  /* the owner */
        check(sandbox_uid_allowed(l.s, 1001, 1003));  /* named */
        check(!sandbox_uid_allowed(l.s, 1001, 1002)); /* anybody else */
        check(!sandbox_uid_allowed(l.s, 0, 1002));
        loaded_done(&l);

        /* Groups: the user's groups in the group database; group root grants nothing. */
        require(xasprintf(&text, "[Sandbox]\nAllowGroups=%u\n" FROM, (unsigned) nogroup) >= 0);
        l = load(text);
        require(l.s);
        check(sandbox_uid_allowed(l.s, 0, nobody));
        loaded_done(&l);
        l = load("[Sandbox]\nAllowGroups=0 root\n" FROM);
        require(l.s);
        check(!sandbox_uid_allowed(l.s, 0, nobody));
        loaded_done(&l);
}

/* The default owner: the workspace's, only when nobody else could have put it there. */
TEST(workspace_owner) {
        _cleanup_free_ char *root = test_mkdtemp(), *text = NULL, *ws = NULL, *mid = NULL, *link = NULL;
        Loaded l;
        uid_t o;

        if (geteuid() != 0) {
                printf("# skipped: needs root to give directories away\n");
                test_rm_rf(root);
                return;
        }
        mid = mkpath(root, "mid");
        ws = mkpath(root, "mid/ws");
        require(mkdir(mid, 0755) == 0 && mkdir(ws, 0755) == 0 && chown(ws, 1001, 1001) == 0);
        require(chmod(root, 0755) == 0);
        require(xasprintf(&text, "[Sandbox]\nWorkspace=%s\n" FROM, ws) >= 0);
        l = load(text);
        require(l.s);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 1001);

        /* A directory above it that another user owns: they could swap in a directory of theirs. */
        require(chown(mid, 1002, 1002) == 0);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 0);
        /* The owner's own is fine. */
        require(chown(mid, 1001, 1001) == 0);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 1001);
        /* Writable by group or others: anybody could rename it away. Sticky is fine. */
        require(chown(mid, 0, 0) == 0 && chmod(mid, 0775) == 0);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 0);
        require(chmod(mid, 01777) == 0);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 1001);
        require(chmod(mid, 0755) == 0);
        loaded_done(&l);

        /* A symlink on the way: not followed, root's. */
        link = mkpath(root, "link");
        require(symlink("mid", link) == 0);
        free(text);
        require(xasprintf(&text, "[Sandbox]\nWorkspace=%s/ws\n" FROM, link) >= 0);
        l = load(text);
        require(l.s);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 0);
        loaded_done(&l);

        /* Owner= wins over the workspace. */
        free(text);
        require(xasprintf(&text, "[Sandbox]\nWorkspace=%s\nOwner=1005\n" FROM, ws) >= 0);
        l = load(text);
        require(l.s);
        check_int(sandbox_owner_uid(l.s, &o), 0);
        check_int(o, 1005);
        loaded_done(&l);
        test_rm_rf(root);
}

/* Declarations are root's: a file others may write is refused wherever it is read from. */
TEST(untrusted_declarations) {
        _cleanup_free_ char *root = test_mkdtemp(), *etc = mkpath(root, "etc"), *usr = mkpath(root, "usr"),
                            *search = NULL, *log = NULL;
        _cleanup_strv_free_ char **dirs = NULL, **names = NULL;
        Sandbox *s = NULL;
        Capture cap;

        put(etc, "good.sandbox", FROM);
        put(etc, "gw.sandbox", FROM);
        put(etc, "dd.sandbox", FROM);
        put(etc, "dd.sandbox.d/10.conf", "[Network]\nMode=strict\n");
        put(usr, "open/u.sandbox", FROM);
        put(usr, "u.sandbox", FROM);
        require(chmod(root, 0755) == 0);
        {
                _cleanup_free_ char *p = mkpath(etc, "gw.sandbox"), *d = mkpath(etc, "dd.sandbox.d"),
                                    *o = mkpath(usr, "open"), *l = mkpath(etc, "u.sandbox");
                require(chmod(p, 0620) == 0 && chmod(d, 0777) == 0 && chmod(o, 0777) == 0);
                require(symlink("../usr/open/u.sandbox", l) == 0);
        }
        require(xasprintf(&search, "%s:%s", etc, usr) >= 0);
        dirs = sandbox_search_path(search);
        require(dirs);
        capture_begin(&cap);
        check_int(sandbox_load(dirs, "good", &s), 0);
        s = sandbox_free(s);
        check_int(sandbox_load(dirs, "gw", &s), -EINVAL);
        check_int(sandbox_load(dirs, "dd", &s), -EPERM);
        check_int(sandbox_load(dirs, "u", &s), -EINVAL);
        log = capture_end(&cap);
        check(!s);
        check_contains(log, "gw.sandbox is writable by its group (mode 0620)");
        check_contains(log, "dd.sandbox.d: Refusing this drop-in directory");
        check_contains(log, "/usr/open is writable by others (mode 0777)");

        /* A search directory others may write to is left out, said once. */
        require(chmod(usr, 0757) == 0);
        capture_begin(&cap);
        dirs = strv_free(dirs);
        dirs = sandbox_search_path(search);
        free(log);
        log = capture_end(&cap);
        check_strv(dirs, etc);
        check_contains(log, "Ignoring this search directory");
        check_int(sandbox_list_names(dirs, &names), 0);
        check_strv(names, "dd", "good", "gw", "u");
        test_rm_rf(root);
}

int main(void) {
        test_init();
        RUN(digest);
        RUN(ownership_keys);
        RUN(uid_allowed);
        RUN(workspace_owner);
        RUN(untrusted_declarations);
        RUN(defaults);
        RUN(scalars);
        RUN(empty_assignment_resets_scalars);
        RUN(empty_assignment_resets_lists);
        RUN(repeated_keys_append);
        RUN(environment);
        RUN(command);
        RUN(command_needs_boot_no);
        RUN(credentials);
        RUN(credential_environment);
        RUN(protect_paths);
        RUN(image_sources);
        RUN(from_required);
        RUN(ports);
        RUN(network_modes);
        RUN(warnings_do_not_fail);
        RUN(unknown_keys_are_errors);
        RUN(every_problem_is_reported);
        RUN(description_limits);
        RUN(sandbox_name_is_valid);
        RUN(sandbox_name_is_valid_for_nspawn);
        RUN(sandbox_name_from_path);
        RUN(format_round_trip);
        RUN(format_round_trip_random);
        RUN(format_round_trip_golden_cases);
        RUN(search_path);
        RUN(load_with_dropins);
        RUN(find_and_mask);
        RUN(list_names_empty);
        RUN(check_dropin);
        RUN(bad_file_name_is_refused);
        return test_finish();
}
