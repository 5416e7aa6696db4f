/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdint.h>
#include <string.h>

#include "conf-parser.h"
#include "log.h"
#include "fs-util.h"
#include "string-util.h"

static bool section_name_is_valid(const char *s) {
        if (isempty(s))
                return false;
        for (; *s; s++)
                if (*s == '[' || *s == ']' || (unsigned char) *s < ' ' || *s == 0x7f)
                        return false;
        return true;
}

static int parse_line(const char *label, unsigned line, char *l, char **section, conf_assign_t assign,
                      void *userdata) {
        char *eq, *key, *value;

        if (!utf8_is_valid(l))
                return log_syntax(label, line, LOG_ERR, EINVAL, "Line is not valid UTF-8.");

        if (l[0] == '[') {
                size_t n = strlen(l);
                char *name;

                if (l[n - 1] != ']')
                        return log_syntax(label, line, LOG_ERR, EINVAL, "Invalid section header '%s'.", l);
                l[n - 1] = 0;
                name = l + 1;
                if (!section_name_is_valid(name))
                        return log_syntax(label, line, LOG_ERR, EINVAL, "Invalid section name '%s'.", name);
                free(*section);
                *section = strdup(name);
                return *section ? 0 : log_oom();
        }

        eq = strchr(l, '=');
        if (!eq)
                return log_syntax(label, line, LOG_ERR, EINVAL, "Missing '=' in line '%s'.", l);
        *eq = 0;
        key = strstrip(l);
        value = strstrip(eq + 1);
        if (isempty(key))
                return log_syntax(label, line, LOG_ERR, EINVAL, "Assignment without a key.");
        if (!*section)
                return log_syntax(label, line, LOG_ERR, EINVAL,
                                  "Assignment '%s=' outside of any section.", key);
        if (string_has_cc(key) || strpbrk(key, " []"))
                return log_syntax(label, line, LOG_ERR, EINVAL, "Invalid key name.");

        return assign(label, line, *section, key, value, userdata);
}

int conf_parse_string(const char *label, const char *text, size_t size, conf_assign_t assign,
                      void *userdata) {
        _cleanup_free_ char *section = NULL, *logical = NULL;
        size_t logical_len = 0;
        unsigned line = 0, logical_line = 0;
        const char *p = text, *end = text + size;
        int ret = 0, r;

        const char *nul = memchr(text, 0, size);
        if (nul) {
                unsigned at = 1;
                for (const char *c = text; c < nul; c++)
                        at += *c == '\n';
                return log_syntax(label, at, LOG_ERR, EBADMSG, "File contains a NUL byte; not a text file.");
        }

        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p));
                size_t n = eol ? (size_t) (eol - p) : (size_t) (end - p);
                bool continues;
                char *l;

                line++;
                if (logical_len + n + 2 > CONF_LINE_MAX) {
                        r = log_syntax(label, logical ? logical_line : line, LOG_ERR, E2BIG,
                                       "Line too long (more than %u bytes).", CONF_LINE_MAX);
                        return ret ?: r; /* nothing sensible can follow */
                }

                _cleanup_free_ char *raw = strndup(p, n);
                if (!raw)
                        return log_oom();
                p = eol ? eol + 1 : end;
                l = strstrip(raw);

                /* Comments inside a continued line are skipped, as systemd does. */
                if (l[0] == '#' || l[0] == ';')
                        continue;
                if (!logical && l[0] == 0)
                        continue;

                continues = l[0] && l[strlen(l) - 1] == '\\';
                if (continues)
                        l[strlen(l) - 1] = ' ';

                if (!logical) {
                        logical = malloc(CONF_LINE_MAX);
                        if (!logical)
                                return log_oom();
                        logical_len = 0;
                        logical_line = line;
                }
                memcpy(logical + logical_len, l, strlen(l) + 1);
                logical_len += strlen(l);

                if (continues && p < end)
                        continue;

                r = parse_line(label, logical_line, strstrip(logical), &section, assign, userdata);
                if (r < 0 && ret == 0)
                        ret = r;
                logical = mfree(logical);
                logical_len = 0;
        }
        if (logical) {
                r = parse_line(label, logical_line, strstrip(logical), &section, assign, userdata);
                if (r < 0 && ret == 0)
                        ret = r;
        }

        return ret;
}

int conf_parse_file(const char *path, conf_assign_t assign, void *userdata) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file(path, CONF_FILE_MAX, &text, &size);
        if (r == -EFBIG)
                return log_syntax(path, 0, LOG_ERR, r, "File is larger than %u bytes.", CONF_FILE_MAX);
        if (r < 0)
                return log_syntax(path, 0, LOG_ERR, r, "Failed to read: %m");

        return conf_parse_string(path, text, size, assign, userdata);
}

static char ascii_lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
}

static size_t min3(size_t a, size_t b, size_t c) {
        return a < b ? (a < c ? a : c) : (b < c ? b : c);
}

/* The Levenshtein distance of a and b, ignoring case; SIZE_MAX for names too long to be typos of ours. */
static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b), prev[65], cur[65];

        if (la > 64 || lb > 64)
                return SIZE_MAX;
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
                                      prev[j - 1] + (ascii_lower(a[i - 1]) != ascii_lower(b[j - 1])));
                }
                memcpy(prev, cur, sizeof(size_t) * (lb + 1));
        }
        return prev[lb];
}

/* Close enough to be a typo: one or two edits, and fewer than half the name (so "Us" does not become
 * "User"). */
static bool is_typo_of(const char *typed, const char *known) {
        size_t d = edit_distance(typed, known);
        return d <= 2 && d * 2 < strlen(typed);
}

/* A known section that section is a typo of, or NULL. */
static const char *similar_section(const ConfTable *t, const char *section) {
        for (size_t i = 0; i < t->n_keys; i++)
                if (is_typo_of(section, t->keys[i].section))
                        return t->keys[i].section;
        return NULL;
}

int conf_table_assign(const char *file, unsigned line, const char *section, const char *key, const char *value,
                      void *userdata) {
        const ConfTable *t = userdata;
        const ConfKey *elsewhere = NULL, *similar = NULL;
        bool section_known = false;
        const char *s;

        if (startswith(section, "X-") || startswith(key, "X-"))
                return 0;
        for (size_t i = 0; i < t->n_keys; i++) {
                const ConfKey *k = &t->keys[i];

                if (streq(section, k->section)) {
                        section_known = true;
                        if (streq(key, k->key))
                                return k->parse(file, line, key, value, (uint8_t *) t->object + k->offset,
                                                t->object);
                }
                if (!elsewhere && streq(key, k->key))
                        elsewhere = k;
                /* A typo in the right section is likelier than one in another. */
                if (is_typo_of(key, k->key) && (!similar || (streq(section, k->section) &&
                                                             !streq(section, similar->section))))
                        similar = k;
        }

        /* Never ignore what was meant to restrict the sandbox (Mode=strict in [Sandbox] would leave it
         * lenient): whatever is not understood is an error, and nothing is generated. Other tools' keys and
         * sections start with "X-". */
        if (!section_known) {
                s = similar_section(t, section);
                if (s)
                        return log_syntax(file, line, LOG_ERR, EINVAL,
                                          "%s= is in an unknown section [%s]; did you mean [%s]?", key,
                                          section, s);
                return log_syntax(file, line, LOG_ERR, EINVAL,
                                  "%s= is in an unknown section [%s] (sections for other tools start with "
                                  "\"X-\").",
                                  key, section);
        }
        if (elsewhere)
                return log_syntax(file, line, LOG_ERR, EINVAL, "%s= belongs in [%s], not [%s].", key,
                                  elsewhere->section, section);
        if (similar && streq(similar->section, section))
                return log_syntax(file, line, LOG_ERR, EINVAL, "Unknown key %s= in [%s]; did you mean %s=?",
                                  key, section, similar->key);
        if (similar)
                return log_syntax(file, line, LOG_ERR, EINVAL,
                                  "Unknown key %s= in [%s]; did you mean [%s] %s=?", key, section,
                                  similar->section, similar->key);
        return log_syntax(file, line, LOG_ERR, EINVAL,
                          "Unknown key %s= in [%s] (keys for other tools start with \"X-\").", key, section);
}
