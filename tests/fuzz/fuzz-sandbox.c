/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: any input must either be refused by sandbox_load_string() or load into a declaration
 * whose rendered files systemd reads back exactly as meant, and whose sandbox_format() text loads again to
 * the same text. Everything else aborts, which libFuzzer reports as a crash with the input saved.
 *
 * Built with libFuzzer by -Dfuzz=true (clang); with fuzz-main.c it replays files in any build. */
#include <stdint.h>
#include <string.h>

#include "conf-parser.h"
#include "log.h"
#include "render.h"
#include "sandbox.h"
#include "strv.h"
#include "systemd-syntax.h"
#include "string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SETTINGS_PATH "/run/systemd/generator/sandy/fuzz.nspawn"

static _noreturn_ void fail(const char *what, const char *detail) {
        fprintf(stderr, "fuzz-sandbox: %s\n", what);
        if (detail)
                fprintf(stderr, "---\n%s\n---\n", detail);
        abort();
}

#define must(expr, detail)                                                                                  \
        do {                                                                                                \
                if (!(expr))                                                                                \
                        fail("check failed: " #expr, detail);                                               \
        } while (0)

static void check_no_control_chars(const char *text) {
        for (const char *c = text; *c; c++)
                if (*c != '\n' && ((unsigned char)*c < ' ' || *c == 0x7f))
                        fail("rendered text contains a control character", text);
}

/* The words systemd-nspawn reads from a list setting must be exactly the declared ones. */
static void check_words(const SdConf *conf, const char *key, char *const *expected, const char *text) {
        const char *v = sd_conf_get(conf, "Exec", key);
        char **words = NULL;

        if (strv_length(expected) == 0) {
                must(!v, text);
                return;
        }
        must(v, text);
        must(sd_conf_count(conf, "Exec", key) == 1, text);
        must(sd_split_words(v, &words) >= 0, text);
        for (size_t i = 0;; i++) {
                if (!expected[i] || !words[i]) {
                        must(!expected[i] && !words[i], text);
                        break;
                }
                must(streq(expected[i], words[i]), text);
        }
        sd_strv_free(words);
}

static void check_nspawn(const Sandbox *s, const char *text) {
        SdConf conf;

        check_no_control_chars(text);
        must(sd_conf_parse(text, &conf) == 0, text);
        must(conf.n_bad_lines == 0, text);
        must(streq_ptr(sd_conf_get(&conf, "Exec", "Boot"), s->boot ? "yes" : "no"), text);
        check_words(&conf, "Parameters", s->boot ? NULL : s->command, text);
        /* BootTarget=lean (issue 17): the lean boot's two variables for the image's systemd come first. */
        {
                char **env = NULL;
                if (s->boot && s->lean_boot) {
                        must(strv_extend(&env, "SYSTEMD_UNIT_PATH=" SANDY_LEAN_UNIT_DIR ":") >= 0, NULL);
                        must(strv_extend(&env, "SYSTEMD_GENERATOR_PATH=" SANDY_LEAN_GENERATOR_DIR) >= 0, NULL);
                }
                STRV_FOREACH(e, s->environment)
                        must(strv_extend(&env, *e) >= 0, NULL);
                check_words(&conf, "Environment", env, text);
                strv_free(env);
        }
        /* sandy-prepare mounts the root (and the workspace) itself: nspawn must never add an overlay. */
        must(streq_ptr(sd_conf_get(&conf, "Files", "Volatile"), "no"), text);
        must(streq_ptr(sd_conf_get(&conf, "Exec", "NoNewPrivileges"), "yes"), text);
        must(sd_conf_get(&conf, "Exec", "DropCapability") != NULL, text);
        must(!sd_conf_get(&conf, "Exec", "PrivateUsers"), text);
        /* Only Mode=none lets nspawn make a namespace; lenient and strict run in sandy-net@'s, with its
         * resolv.conf (bound by sandy-prepare) instead of the host's. */
        must(streq_ptr(sd_conf_get(&conf, "Network", "Private"), s->network_mode == NETWORK_NONE ? "yes" : "no"),
             text);
        must(!!sd_conf_get(&conf, "Exec", "ResolvConf") ==
                     (s->network_mode == NETWORK_LENIENT || s->network_mode == NETWORK_STRICT),
             text);
        /* The workspace bind is added at start, from the idmapped mount: never in the generated text. */
        must(!sd_conf_get(&conf, "Files", "Bind"), text);
        sd_conf_free(&conf);
}

/* specifiers: whether systemd expands %-specifiers in this setting (Description=, SourcePath=,
 * Environment= do; the resource-control settings do not, and take the text as it is). */
static void check_unit_value(const SdConf *conf, const char *section, const char *key, bool specifiers,
                             const char *expected, const char *text) {
        _cleanup_free_ char *v = NULL;

        if (!expected) {
                must(!sd_conf_get(conf, section, key), text);
                return;
        }
        must(sd_conf_count(conf, section, key) == 1, text);
        if (specifiers)
                must(sd_unescape_specifiers(sd_conf_get(conf, section, key), &v) == 0, text);
        else
                must((v = strdup(sd_conf_get(conf, section, key))) != NULL, NULL);
        if (!streq(v, expected)) {
                fprintf(stderr, "[%s] %s= reads back as \"%s\", expected \"%s\"\n", section, key, v,
                        expected);
                fail("a unit setting does not read back as declared", text);
        }
}

/* Environment= is a list: the settings path, the declaration's digest, then (with Credential=) nspawn's --load-credential=
 * arguments, each value reading back exactly after specifier unescaping. */
static void check_environment(const SdConf *conf, const Sandbox *s, const char *text) {
        _cleanup_free_ char *creds = NULL, *digest = NULL;
        const char *expected[3] = {"\"SANDY_SETTINGS=" SETTINGS_PATH "\""};
        size_t n_expected = 1, seen = 0;

        /* Then the digest of the declaration the unit was generated from. */
        must(xasprintf(&digest, "\"" SANDY_DIGEST_ENV "=%s\"", s->digest) >= 0, NULL);
        expected[n_expected++] = digest;

        if (s->n_credentials > 0) {
                must((creds = strdup("\"SANDY_NSPAWN_ARGS=")) != NULL, NULL);
                for (size_t i = 0; i < s->n_credentials; i++) {
                        char *n;
                        must(xasprintf(&n, "%s%s--load-credential=%s:%s", creds, i > 0 ? " " : "",
                                       s->credentials[i].id, s->credentials[i].path) >= 0, NULL);
                        free(creds);
                        creds = n;
                }
                char *n;
                must(xasprintf(&n, "%s\"", creds) >= 0, NULL);
                free(creds);
                creds = n;
                expected[n_expected++] = creds;
        }
        must(sd_conf_count(conf, "Service", "Environment") == n_expected, text);
        for (size_t i = 0; i < conf->n; i++) {
                _cleanup_free_ char *v = NULL;
                if (!streq(conf->items[i].section, "Service") || !streq(conf->items[i].key, "Environment"))
                        continue;
                must(sd_unescape_specifiers(conf->items[i].value, &v) == 0, text);
                if (!streq(v, expected[seen])) {
                        fprintf(stderr, "[Service] Environment= reads back as \"%s\", expected \"%s\"\n", v,
                                expected[seen]);
                        fail("a unit setting does not read back as declared", text);
                }
                seen++;
        }
}

static void check_dropin(const Sandbox *s, const char *text) {
        _cleanup_free_ char *desc = NULL;
        SdConf conf;

        check_no_control_chars(text);
        must(sd_conf_parse(text, &conf) == 0, text);
        must(conf.n_bad_lines == 0, text);
        if (s->description)
                must(xasprintf(&desc, "Sandbox %s: %s", s->name, s->description) >= 0, NULL);
        else
                must(xasprintf(&desc, "Sandbox %s", s->name) >= 0, NULL);
        check_unit_value(&conf, "Unit", "Description", true, desc, text);
        check_unit_value(&conf, "Unit", "SourcePath", true, s->files[0], text);
        check_environment(&conf, s, text);
        check_unit_value(&conf, "Service", "MemoryMax", false, s->memory_max, text);
        if (s->cpu_quota)
                check_unit_value(&conf, "Service", "CPUQuota", false, s->cpu_quota, text);
        else {
                /* The default: 90% of the host's CPUs. */
                _cleanup_free_ char *q = NULL;
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                must(xasprintf(&q, "%ld%%", (n > 0 ? n : 1) * 90) >= 0, NULL);
                check_unit_value(&conf, "Service", "CPUQuota", false, q, text);
        }
        check_unit_value(&conf, "Service", "TasksMax", false, s->tasks_max, text);
        sd_conf_free(&conf);
}

static char *format(const Sandbox *s) {
        char *buf = NULL;
        size_t size;
        FILE *f = open_memstream(&buf, &size);

        must(f, NULL);
        must(sandbox_format(s, f) >= 0, NULL);
        must(fclose(f) == 0, NULL);
        return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_sandbox_free_ Sandbox *s = NULL, *s2 = NULL;
        _cleanup_free_ char *nspawn = NULL, *dropin = NULL, *f1 = NULL, *f2 = NULL;

        if (size > CONF_FILE_MAX)
                return 0;
        /* The library logs every problem; that is most of the time spent otherwise. */
        if (!getenv("SANDY_FUZZ_LOG"))
                log_set_max_level(LOG_EMERG - 1);

        if (sandbox_load_string("fuzz", "fuzz.sandbox", (const char *)data, size, &s) < 0)
                return 0;

        must(sandbox_render_nspawn(s, &nspawn) >= 0, NULL);
        check_nspawn(s, nspawn);
        must(sandbox_render_service_dropin(s, SETTINGS_PATH, &dropin) >= 0, NULL);
        check_dropin(s, dropin);

        f1 = format(s);
        if (sandbox_load_string("fuzz", "fuzz.sandbox", f1, strlen(f1), &s2) < 0)
                fail("sandbox_format() output does not load again", f1);
        f2 = format(s2);
        if (!streq(f1, f2)) {
                fprintf(stderr, "first:\n%s\nsecond:\n%s\n", f1, f2);
                fail("sandbox_format() output changes when loaded again", NULL);
        }
        return 0;
}
