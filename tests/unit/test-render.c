/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "render.h"
#include "sandbox.h"
#include "strv.h"
#include "systemd-syntax.h"
#include "tests.h"
#include "string-util.h"
#include "validate.h"

/* Words no quoting scheme likes: quotes of both kinds, backslashes everywhere (nspawn keeps them),
 * specifier and variable syntax (nspawn expands neither), comment and option look-alikes. */
static const char *const hostile_words[] = {
                "",
                " ",
                "  lead",
                "trail  ",
                "a b",
                "a  b",
                "\"",
                "'",
                "\"\"",
                "''",
                "\"'\"",
                "'\"'",
                "it's",
                "x\"y'z",
                "say \"hi\"",
                "\\",
                "\\\\",
                "back\\slash",
                "trail\\",
                "\\\"",
                "\\'",
                "'\\''",
                "\"\\\"\"",
                "%",
                "%%",
                "%n",
                "%i %I",
                "100%",
                "$HOME",
                "${HOME}",
                "$$",
                "`id`",
                "$(id)",
                "#comment",
                ";semicolon",
                "-x",
                "--option=value with spaces",
                "=",
                "A=",
                "A==B",
                "[Exec]",
                "Boot=yes",
                "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                "*?[]{}~!&|<>()",
                "a\\ b",
                "\\n",
                "\\x00",
};

static int quote_and_split(const char *const *words, size_t n, char **ret_line, char ***ret_words) {
        _cleanup_free_ char *line = strdup("");
        int r;

        if (!line)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *q = nspawn_quote_word(words[i]);
                char *nl;

                if (!q)
                        return -errno;
                if (xasprintf(&nl, "%s%s%s", line, i > 0 ? " " : "", q) < 0)
                        return -ENOMEM;
                free(line);
                line = nl;
        }
        r = sd_split_words(line, ret_words);
        if (r < 0)
                return r;
        *ret_line = TAKE_PTR(line);
        return 0;
}

TEST(extract_word_reimplementation) {
        /* Pin down the oracle itself on cases whose result is known from systemd's behaviour. */
        const struct {
                const char *in;
                const char *const *out;
        } cases[] = {
                        {"a b", (const char *const[]){"a", "b", NULL}},
                        {"  a\t\tb  ", (const char *const[]){"a", "b", NULL}},
                        {"\"a b\"", (const char *const[]){"a b", NULL}},
                        {"'a b'", (const char *const[]){"a b", NULL}},
                        {"a\\ b", (const char *const[]){"a\\", "b", NULL}}, /* backslash is literal */
                        {"\"a\\\"b", (const char *const[]){"a\\b", NULL}},  /* …so \" does not escape */
                        {"\"x\"'\"'\"y\"", (const char *const[]){"x\"y", NULL}},
                        {"\"\"", (const char *const[]){"", NULL}},
                        {"a\"\"b", (const char *const[]){"ab", NULL}},
                        {"\"it's\"", (const char *const[]){"it's", NULL}},
                        {"'\\'", (const char *const[]){"\\", NULL}},
                        {"back\\slash", (const char *const[]){"back\\slash", NULL}},
                        {"", (const char *const[]){NULL}},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char **w = NULL;
                int r = sd_split_words(cases[i].in, &w);
                size_t n = 0;

                require(r >= 0);
                while (cases[i].out[n])
                        n++;
                if ((size_t)r != n)
                        test_fail(__FILE__, __LINE__, "\"%s\": %d words, expected %zu", cases[i].in, r, n);
                for (size_t j = 0; j < n && j < (size_t)r; j++)
                        check_streq(w[j], cases[i].out[j]);
                sd_strv_free(w);
        }

        char **w = NULL;
        check_int(sd_split_words("\"abc", &w), -EINVAL);
        check_int(sd_split_words("'abc", &w), -EINVAL);
        check_int(sd_split_words("a\"'", &w), -EINVAL);
}

TEST(nspawn_quote_word_round_trip) {
        for (size_t i = 0; i < ELEMENTSOF(hostile_words); i++) {
                _cleanup_free_ char *line = NULL;
                char **words = NULL;
                int r = quote_and_split(&hostile_words[i], 1, &line, &words);

                if (r < 0) {
                        test_fail(__FILE__, __LINE__, "quoting \"%s\" failed: %s", hostile_words[i],
                                  strerror(-r));
                        continue;
                }
                if (!words[0] || words[1] || !streq(words[0], hostile_words[i])) {
                        test_fail(__FILE__, __LINE__, "word does not survive nspawn's parser");
                        fputs("#   word:   ", stdout);
                        test_print_escaped(stdout, hostile_words[i]);
                        fputs("\n#   quoted: ", stdout);
                        test_print_escaped(stdout, line);
                        fputs("\n#   read:   ", stdout);
                        test_print_escaped(stdout, words[0]);
                        putchar('\n');
                }
                sd_strv_free(words);
        }
}

TEST(nspawn_quote_word_list_round_trip) {
        _cleanup_free_ char *line = NULL;
        char **words = NULL;
        int r = quote_and_split(hostile_words, ELEMENTSOF(hostile_words), &line, &words);

        require(r >= 0);
        for (size_t i = 0; i < ELEMENTSOF(hostile_words); i++) {
                require(words[i]);
                check_streq(words[i], hostile_words[i]);
        }
        check(!words[ELEMENTSOF(hostile_words)]);
        sd_strv_free(words);

        /* And through the whole settings-file reader: the line must not be continued, stripped or cut. */
        _cleanup_free_ char *file = NULL;
        SdConf conf;
        require(xasprintf(&file, "[Exec]\nParameters=%s\nBoot=no\n", line) >= 0);
        require(sd_conf_parse(file, &conf) == 0);
        check_int(conf.n, 2);
        check_int(conf.n_bad_lines, 0);
        require(sd_conf_get(&conf, "Exec", "Parameters"));
        require(sd_split_words(sd_conf_get(&conf, "Exec", "Parameters"), &words) >= 0);
        for (size_t i = 0; i < ELEMENTSOF(hostile_words); i++) {
                require(words[i]);
                check_streq(words[i], hostile_words[i]);
        }
        sd_strv_free(words);
        sd_conf_free(&conf);
}

TEST(nspawn_quote_word_random) {
        static const char alphabet[] = "a b\"'\\%$#;=:x";
        unsigned seed = 12345;

        for (unsigned iter = 0; iter < 20000; iter++) {
                char word[24];
                size_t n;

                seed = seed * 1103515245u + 12345u;
                n = (seed >> 16) % (sizeof(word) - 1);
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        word[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
                }
                word[n] = 0;

                const char *const w[] = {word};
                _cleanup_free_ char *line = NULL;
                char **words = NULL;
                if (quote_and_split(w, 1, &line, &words) < 0 || !words[0] || words[1] ||
                    !streq(words[0], word)) {
                        test_fail(__FILE__, __LINE__, "random word does not survive: ");
                        test_print_escaped(stdout, word);
                        putchar('\n');
                        sd_strv_free(words);
                        return;
                }
                sd_strv_free(words);
        }
}

TEST(nspawn_quote_word_refuses_control_characters) {
        static const char *const bad[] = {"a\nb", "a\rb", "\t", "x\x01", "\x7f", "\x1b[31m"};

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                errno = 0;
                char *q = nspawn_quote_word(bad[i]);
                check(!q);
                check_int(errno, EINVAL);
                free(q);
                check(!word_is_nspawn_safe(bad[i]));
        }
        for (size_t i = 0; i < ELEMENTSOF(hostile_words); i++)
                check(word_is_nspawn_safe(hostile_words[i]));
}

static void check_escape(const char *in, const char *expected) {
        _cleanup_free_ char *e = NULL;

        errno = 0;
        e = unit_escape_value(in);
        if (!expected) {
                if (e || errno != EINVAL)
                        test_fail(__FILE__, __LINE__, "unit_escape_value(\"%s\") should fail with EINVAL",
                                  in);
                return;
        }
        if (!e || !streq(e, expected))
                test_fail(__FILE__, __LINE__, "unit_escape_value(\"%s\") = \"%s\", expected \"%s\"", in,
                          e ?: "(null)", expected);
}

TEST(unit_escape_value) {
        check_escape("", "");
        check_escape("plain", "plain");
        check_escape("100%", "100%%");
        check_escape("%", "%%");
        check_escape("%%", "%%%%");
        check_escape("%n %i %h", "%%n %%i %%h");
        check_escape("a\\b", "a\\b");
        check_escape("\"quoted\" 'too'", "\"quoted\" 'too'");
        check_escape("caf\xc3\xa9", "caf\xc3\xa9");

        /* A trailing backslash would continue the line into the next key. */
        check_escape("a\\", NULL);
        check_escape("\\", NULL);
        check_escape("100%\\", NULL);
        /* Line breaks and other control characters would start new lines or corrupt them. */
        check_escape("a\nb", NULL);
        check_escape("a\n[Service]\nExecStart=/bin/evil", NULL);
        check_escape("a\rb", NULL);
        check_escape("a\tb", NULL);
        check_escape("\x7f", NULL);
}

/* The header promises text "that systemd would read back exactly": check that with systemd's reader for
 * everything the function accepts. */
TEST(unit_escape_value_reads_back) {
        static const char *const values[] = {
                        "plain",          "100%",      "%%n",       "a\\b",      "\\\\x",
                        "#not a comment", ";nor this", "[Section]", "Key=Value", "\"q\"",
                        "caf\xc3\xa9",    " leading",  "trailing ", "a\\ ",      "  ",
        };

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                _cleanup_free_ char *e = unit_escape_value(values[i]), *file = NULL, *back = NULL;
                SdConf conf;

                if (!e)
                        continue; /* refusing is always allowed */
                require(xasprintf(&file, "[Unit]\nDescription=%s\nAfter=x\n", e) >= 0);
                require(sd_conf_parse(file, &conf) == 0);
                const char *v = sd_conf_get(&conf, "Unit", "Description");
                if (!v || sd_unescape_specifiers(v, &back) < 0 || !streq(back, values[i])) {
                        test_fail(__FILE__, __LINE__, "accepted value is not read back exactly");
                        fputs("#   value:   ", stdout);
                        test_print_escaped(stdout, values[i]);
                        fputs("\n#   read:    ", stdout);
                        test_print_escaped(stdout, back ?: v);
                        putchar('\n');
                }
                check_streq(sd_conf_get(&conf, "Unit", "After"), "x");
                sd_conf_free(&conf);
        }
}

static Sandbox *load(const char *text) {
        Sandbox *s = NULL;
        Capture cap;
        int r;

        capture_begin(&cap);
        r = sandbox_load_string("demo", "/etc/sandy.d/demo.sandbox", text, strlen(text), &s);
        free(capture_end(&cap));
        return r < 0 ? NULL : s;
}

TEST(render_nspawn_defaults) {
        _cleanup_sandbox_free_ Sandbox *s = load("[Image]\nFrom=docker://debian:12\n");
        _cleanup_free_ char *out = NULL;
        SdConf conf;

        require(s);
        require(sandbox_render_nspawn(s, &out) >= 0);
        check_contains(out,
                       "# Automatically generated by sandy-generator from /etc/sandy.d/demo.sandbox.\n");
        require(sd_conf_parse(out, &conf) == 0);
        check_int(conf.n_bad_lines, 0);
        check_streq(sd_conf_get(&conf, "Exec", "Boot"), "yes");
        check(!sd_conf_get(&conf, "Exec", "Parameters"));
        /* BootTarget=lean (issue 17): sandy's unit directory first, no generators, bound read-only. */
        check_streq(sd_conf_get(&conf, "Exec", "Environment"),
                    "\"SYSTEMD_UNIT_PATH=/run/sandy/boot/units:\" \"SYSTEMD_GENERATOR_PATH=/run/sandy/boot/generators\"");
        check_streq(sd_conf_get(&conf, "Files", "BindReadOnly"), SANDY_LIBEXEC_DIR "/boot:/run/sandy/boot");
        /* sandy-prepare mounts the overlay root itself and adds PrivateUsers= at start. */
        check_streq(sd_conf_get(&conf, "Files", "Volatile"), "no");
        check(!sd_conf_get(&conf, "Files", "Bind"));
        check(!sd_conf_get(&conf, "Exec", "PrivateUsers"));
        check_streq(sd_conf_get(&conf, "Exec", "NoNewPrivileges"), "yes");
        check_streq(sd_conf_get(&conf, "Exec", "SystemCallFilter"),
                    "landlock_create_ruleset landlock_add_rule landlock_restrict_self");
        check_contains(sd_conf_get(&conf, "Exec", "DropCapability"), "CAP_SYS_MODULE");
        check_contains(sd_conf_get(&conf, "Exec", "DropCapability"), "CAP_NET_ADMIN");
        /* What a booted systemd needs stays. */
        check(!strstr(sd_conf_get(&conf, "Exec", "DropCapability"), "CAP_SYS_ADMIN"));
        check(!strstr(sd_conf_get(&conf, "Exec", "DropCapability"), "CAP_SYS_BOOT"));
        check(!strstr(sd_conf_get(&conf, "Exec", "DropCapability"), "CAP_SETUID"));
        /* The default Mode=lenient: nspawn runs in sandy-net@'s namespace and leaves resolv.conf alone. */
        check_streq(sd_conf_get(&conf, "Network", "Private"), "no");
        check(!sd_conf_get(&conf, "Network", "VirtualEthernet"));
        check_streq(sd_conf_get(&conf, "Exec", "ResolvConf"), "off");
        sd_conf_free(&conf);
}

TEST(render_nspawn_full) {
        _cleanup_sandbox_free_ Sandbox *s = load("[Sandbox]\n"
                                                 "User=dev\n"
                                                 "Workspace=/home/dev/my project\n"
                                                 "Ephemeral=no\n"
                                                 "Boot=no\n"
                                                 "Command=/bin/sh -c 'echo \"$1\"' argv0 \"it's 100%\"\n"
                                                 "Environment=A=\"x y\" 'B=q\"r' C=back\\\\slash\n"
                                                 "[Image]\n"
                                                 "From=docker://debian:12\n"
                                                 "[Network]\n"
                                                 "Mode=host\n");
        _cleanup_free_ char *out = NULL;
        char **words = NULL;
        SdConf conf;

        require(s);
        require(sandbox_render_nspawn(s, &out) >= 0);
        require(sd_conf_parse(out, &conf) == 0);
        check_int(conf.n_bad_lines, 0);
        check_streq(sd_conf_get(&conf, "Exec", "Boot"), "no");
        check_streq(sd_conf_get(&conf, "Files", "Volatile"), "no");
        /* The workspace is bound at start from its idmapped mount (sandy-prepare), not from here. */
        check(!sd_conf_get(&conf, "Files", "Bind"));
        check_streq(sd_conf_get(&conf, "Network", "Private"), "no");
        /* Mode=host: the host's network, and nspawn's usual resolv.conf handling. */
        check(!sd_conf_get(&conf, "Exec", "ResolvConf"));

        require(sd_conf_get(&conf, "Exec", "Parameters"));
        require(sd_split_words(sd_conf_get(&conf, "Exec", "Parameters"), &words) == 5);
        check_streq(words[0], "/bin/sh");
        check_streq(words[1], "-c");
        check_streq(words[2], "echo \"$1\"");
        check_streq(words[3], "argv0");
        check_streq(words[4], "it's 100%");
        sd_strv_free(words);

        require(sd_conf_get(&conf, "Exec", "Environment"));
        require(sd_split_words(sd_conf_get(&conf, "Exec", "Environment"), &words) == 3);
        check_streq(words[0], "A=x y");
        check_streq(words[1], "B=q\"r");
        check_streq(words[2], "C=back\\slash");
        sd_strv_free(words);
        sd_conf_free(&conf);
}

/* Keys systemd-nspawn reads from .nspawn files (systemd 252, src/nspawn/nspawn-gperf.gperf; unchanged
 * in current releases for these sections). Anything else is "Unknown key ..., ignoring". */
static const char *const nspawn_known_keys[] = {
                "Exec.Boot",
                "Exec.Ephemeral",
                "Exec.ProcessTwo",
                "Exec.Parameters",
                "Exec.Environment",
                "Exec.User",
                "Exec.Capability",
                "Exec.AmbientCapability",
                "Exec.DropCapability",
                "Exec.KillSignal",
                "Exec.Personality",
                "Exec.MachineID",
                "Exec.WorkingDirectory",
                "Exec.PivotRoot",
                "Exec.PrivateUsers",
                "Exec.NotifyReady",
                "Exec.SystemCallFilter",
                "Exec.Hostname",
                "Exec.NoNewPrivileges",
                "Exec.OOMScoreAdjust",
                "Exec.CPUAffinity",
                "Exec.ResolvConf",
                "Exec.LinkJournal",
                "Exec.Timezone",
                "Exec.SuppressSync",
                "Files.ReadOnly",
                "Files.Volatile",
                "Files.Bind",
                "Files.BindReadOnly",
                "Files.TemporaryFileSystem",
                "Files.Inaccessible",
                "Files.Overlay",
                "Files.OverlayReadOnly",
                "Files.PrivateUsersChown",
                "Files.PrivateUsersOwnership",
                "Files.BindUser",
                "Network.Private",
                "Network.Interface",
                "Network.MACVLAN",
                "Network.IPVLAN",
                "Network.VirtualEthernet",
                "Network.VirtualEthernetExtra",
                "Network.Bridge",
                "Network.Zone",
                "Network.Port",
};

static bool nspawn_key_known(const char *section, const char *key) {
        char buf[256];

        snprintf(buf, sizeof(buf), "%s.%s", section, key);
        if (startswith(key, "Limit") && streq(section, "Exec"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(nspawn_known_keys); i++)
                if (streq(buf, nspawn_known_keys[i]))
                        return true;
        return false;
}

/* Credential= is rendered as LoadCredential= in [Exec], which systemd-nspawn does not know: it logs
 * "Unknown key 'LoadCredential' in section [Exec], ignoring." and the credential never arrives. */
TEST(render_nspawn_only_known_keys) {
        _cleanup_sandbox_free_ Sandbox *s = load("[Sandbox]\n"
                                                 "Workspace=/home/u/p\n"
                                                 "Boot=no\n"
                                                 "Command=/bin/true\n"
                                                 "Environment=A=1\n"
                                                 "Credential=token:/etc/sandy/token\n"
                                                 "[Image]\n"
                                                 "From=docker://debian:12\n");
        _cleanup_free_ char *out = NULL;
        SdConf conf;

        require(s);
        require(sandbox_render_nspawn(s, &out) >= 0);
        require(sd_conf_parse(out, &conf) == 0);
        for (size_t i = 0; i < conf.n; i++)
                if (!nspawn_key_known(conf.items[i].section, conf.items[i].key))
                        test_fail(__FILE__, __LINE__,
                                  "rendered .nspawn has %s= in [%s], which systemd-nspawn ignores",
                                  conf.items[i].key, conf.items[i].section);
        sd_conf_free(&conf);
}

TEST(render_service_dropin) {
        _cleanup_sandbox_free_ Sandbox *s = load("[Sandbox]\n"
                                                 "Description=100% \"real\" %n\n"
                                                 "[Image]\n"
                                                 "From=docker://debian:12\n"
                                                 "[Resources]\n"
                                                 "MemoryMax=50%\n"
                                                 "CPUQuota=200%\n"
                                                 "TasksMax=512\n");
        _cleanup_free_ char *out = NULL, *desc = NULL;
        SdConf conf;

        require(s);
        require(sandbox_render_service_dropin(s, "/run/systemd/generator/sandy/demo.nspawn", &out) >= 0);
        require(sd_conf_parse(out, &conf) == 0);
        check_int(conf.n_bad_lines, 0);
        require(sd_conf_get(&conf, "Unit", "Description"));
        require(sd_unescape_specifiers(sd_conf_get(&conf, "Unit", "Description"), &desc) == 0);
        check_streq(desc, "Sandbox demo: 100% \"real\" %n");
        check_streq(sd_conf_get(&conf, "Unit", "SourcePath"), "/etc/sandy.d/demo.sandbox");
        /* The settings path, then the digest of the declaration the unit was generated from. */
        {
                _cleanup_free_ char *digest = NULL;
                const char *env[2];
                size_t n = 0;

                require(xasprintf(&digest, "\"" SANDY_DIGEST_ENV "=%s\"", s->digest) >= 0);
                check_int(strlen(s->digest), 64);
                for (size_t i = 0; i < conf.n; i++)
                        if (streq(conf.items[i].section, "Service") && streq(conf.items[i].key, "Environment") &&
                            n < ELEMENTSOF(env))
                                env[n++] = conf.items[i].value;
                require(n == 2);
                check_streq(env[0], "\"SANDY_SETTINGS=/run/systemd/generator/sandy/demo.nspawn\"");
                check_streq(env[1], digest);
        }
        /* systemd expands no specifiers in resource-control settings: "CPUQuota=200%%" is refused with
         * "Invalid CPU quota '200%%', ignoring" and the limit is lost. The values are written as they are.
         */
        check_streq(sd_conf_get(&conf, "Service", "MemoryMax"), "50%");
        check_streq(sd_conf_get(&conf, "Service", "CPUQuota"), "200%");
        check_streq(sd_conf_get(&conf, "Service", "TasksMax"), "512");
        sd_conf_free(&conf);
}

TEST(render_service_dropin_minimal) {
        _cleanup_sandbox_free_ Sandbox *s = load("[Image]\nFrom=debootstrap:bookworm\n");
        _cleanup_free_ char *out = NULL;
        SdConf conf;

        require(s);
        require(sandbox_render_service_dropin(s, "/x/sandy/demo.nspawn", &out) >= 0);
        require(sd_conf_parse(out, &conf) == 0);
        check_streq(sd_conf_get(&conf, "Unit", "Description"), "Sandbox demo");
        /* MemoryMax= and TasksMax= defaults are in the template; CPUQuota= is sized from the host here. */
        check(!sd_conf_get(&conf, "Service", "MemoryMax"));
        check(!sd_conf_get(&conf, "Service", "TasksMax"));
        {
                _cleanup_free_ char *q = NULL;
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                require(xasprintf(&q, "%ld%%", (n > 0 ? n : 1) * 90) >= 0);
                check_streq(sd_conf_get(&conf, "Service", "CPUQuota"), q);
        }
        check_int(conf.n, 5);
        sd_conf_free(&conf);
}

/* File names of drop-ins come from readdir() and may contain anything but '/' and NUL; they are written
 * into the unit as comments and must not be able to add lines to it. */
TEST(render_service_dropin_hostile_dropin_name) {
        _cleanup_sandbox_free_ Sandbox *s = load("[Image]\nFrom=docker://debian:12\n");
        _cleanup_free_ char *out = NULL;
        SdConf conf;

        require(s);
        require(strv_extend(&s->files, "/etc/sandy.d/demo.sandbox.d/50-x\n[Service]\nExecStartPre=touch "
                                       "pwned\n#.conf") >= 0);
        int r = sandbox_render_service_dropin(s, "/run/systemd/generator/sandy/demo.nspawn", &out);
        if (r < 0)
                return; /* refusing is fine */
        require(sd_conf_parse(out, &conf) == 0);
        check(!sd_conf_get(&conf, "Service", "ExecStartPre"));
        for (size_t i = 0; i < conf.n; i++)
                if (!streq(conf.items[i].key, "Description") && !streq(conf.items[i].key, "SourcePath") &&
                    !streq(conf.items[i].key, "Environment") && !streq(conf.items[i].key, "CPUQuota"))
                        test_fail(__FILE__, __LINE__, "unexpected %s= in [%s]", conf.items[i].key,
                                  conf.items[i].section);
        sd_conf_free(&conf);
}

TEST(render_percent_in_settings_path) {
        _cleanup_sandbox_free_ Sandbox *s = load("[Image]\nFrom=docker://debian:12\n");
        _cleanup_free_ char *out = NULL;

        require(s);
        require(sandbox_render_service_dropin(s, "/run/odd%dir/sandy/demo.nspawn", &out) >= 0);
        check_contains(out, "Environment=\"SANDY_SETTINGS=/run/odd%%dir/sandy/demo.nspawn\"\n");
}

int main(void) {
        test_init();
        RUN(extract_word_reimplementation);
        RUN(nspawn_quote_word_round_trip);
        RUN(nspawn_quote_word_list_round_trip);
        RUN(nspawn_quote_word_random);
        RUN(nspawn_quote_word_refuses_control_characters);
        RUN(unit_escape_value);
        RUN(unit_escape_value_reads_back);
        RUN(render_nspawn_defaults);
        RUN(render_nspawn_full);
        RUN(render_nspawn_only_known_keys);
        RUN(render_service_dropin);
        RUN(render_service_dropin_minimal);
        RUN(render_service_dropin_hostile_dropin_name);
        RUN(render_percent_in_settings_path);
        return test_finish();
}
