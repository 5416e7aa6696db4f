/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Independent re-implementations of how systemd reads the files sandy writes, used as test oracles:
 *
 *  - sd_extract_word(): extract_first_word(&p, &w, NULL, EXTRACT_UNQUOTE|EXTRACT_RETAIN_ESCAPE), which is
 *    what config_parse_strv() uses for the .nspawn list settings Parameters= and Environment=. With these
 *    flags a backslash is always literal, '…' and "…" segments are unquoted and join with what is next
 *    to them, whitespace outside quotes separates words, and an unterminated quote is an error.
 *  - sd_conf_parse(): config_parse()'s line handling: leading-whitespace comments ('#', ';') are skipped
 *    even inside a continuation, a line ending in an odd number of backslashes continues (the backslash
 *    becomes a space, the next line is appended as is), "[Section]", "Key=value" with both sides stripped.
 *  - sd_unescape_specifiers(): unit files expand "%X" specifiers; sandy writes none, so only "%%" may occur.
 *
 * Written from systemd's documented and observed behaviour (src/basic/extract-word.c,
 * src/shared/conf-parser.c), deliberately not sharing code with lib/. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SD_WHITESPACE " \t\n\r"

/* Returns 1 and a word, 0 at the end of the string, -EINVAL on an unterminated quote. */
static inline int sd_extract_word(const char **p, char **ret) {
        const char *s = *p;
        char quote = 0, *w;
        size_t n = 0;

        s += strspn(s, SD_WHITESPACE);
        if (!*s) {
                *p = s;
                *ret = NULL;
                return 0;
        }
        w = malloc(strlen(s) + 1);
        if (!w)
                return -ENOMEM;
        for (;; s++) {
                char c = *s;

                if (quote) {
                        if (c == 0) {
                                free(w);
                                return -EINVAL;
                        }
                        if (c == quote)
                                quote = 0;
                        else
                                w[n++] = c; /* EXTRACT_RETAIN_ESCAPE: '\\' is an ordinary character */
                        continue;
                }
                if (c == 0)
                        break;
                if (c == '\'' || c == '"') {
                        quote = c;
                        continue;
                }
                if (strchr(SD_WHITESPACE, c)) {
                        s += strspn(s, SD_WHITESPACE);
                        break;
                }
                w[n++] = c;
        }
        w[n] = 0;
        *p = s;
        *ret = w;
        return 1;
}

/* Splits a whole value; returns the number of words or -errno. *ret is NULL-terminated. */
static inline int sd_split_words(const char *value, char ***ret) {
        char **l = calloc(1, sizeof(char *));
        size_t n = 0;
        int r;

        if (!l)
                return -ENOMEM;
        for (const char *p = value;;) {
                char *w, **nl;

                r = sd_extract_word(&p, &w);
                if (r == 0)
                        break;
                if (r < 0)
                        goto fail;
                nl = realloc(l, sizeof(char *) * (n + 2));
                if (!nl) {
                        free(w);
                        r = -ENOMEM;
                        goto fail;
                }
                l = nl;
                l[n++] = w;
                l[n] = NULL;
        }
        *ret = l;
        return (int)n;
fail:
        for (size_t i = 0; i < n; i++)
                free(l[i]);
        free(l);
        return r;
}

static inline void sd_strv_free(char **l) {
        for (char **k = l; k && *k; k++)
                free(*k);
        free(l);
}

/* "%%" -> "%"; any other specifier is an error, since sandy never means one. */
static inline int sd_unescape_specifiers(const char *s, char **ret) {
        char *r = malloc(strlen(s) + 1), *p = r;

        if (!r)
                return -ENOMEM;
        for (; *s; s++) {
                if (*s == '%') {
                        if (s[1] != '%') {
                                free(r);
                                return -EBADMSG;
                        }
                        s++;
                }
                *p++ = *s;
        }
        *p = 0;
        *ret = r;
        return 0;
}

typedef struct SdAssignment {
        char *section, *key, *value;
        unsigned line; /* where the logical line ends, as systemd reports it */
} SdAssignment;

typedef struct SdConf {
        SdAssignment *items;
        size_t n;
        unsigned n_bad_lines; /* lines systemd would warn about: no '=', bad header, outside a section */
} SdConf;

static inline void sd_conf_free(SdConf *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->items[i].section);
                free(c->items[i].key);
                free(c->items[i].value);
        }
        free(c->items);
        *c = (SdConf){};
}

static inline char *sd_strstrip(char *s) {
        char *e;

        s += strspn(s, SD_WHITESPACE);
        e = s + strlen(s);
        while (e > s && strchr(SD_WHITESPACE, e[-1]))
                e--;
        *e = 0;
        return s;
}

static inline int sd_conf_parse_line(SdConf *c, char **section, unsigned line, char *l) {
        char *eq;

        l = sd_strstrip(l);
        if (!*l)
                return 0;
        if (*l == '[') {
                size_t n = strlen(l);
                if (l[n - 1] != ']') {
                        c->n_bad_lines++;
                        return 0;
                }
                free(*section);
                *section = strndup(l + 1, n - 2);
                return *section ? 0 : -ENOMEM;
        }
        eq = strchr(l, '=');
        if (!eq || !*section) {
                c->n_bad_lines++;
                return 0;
        }
        *eq = 0;
        SdAssignment *n = realloc(c->items, sizeof(SdAssignment) * (c->n + 1));
        if (!n)
                return -ENOMEM;
        c->items = n;
        c->items[c->n] = (SdAssignment){
                        .section = strdup(*section),
                        .key = strdup(sd_strstrip(l)),
                        .value = strdup(sd_strstrip(eq + 1)),
                        .line = line,
        };
        c->n++;
        return 0;
}

static inline int sd_conf_parse(const char *text, SdConf *ret) {
        char *section = NULL, *continuation = NULL;
        unsigned line = 0;
        SdConf c = {};
        int r = 0;

        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                char *l = strndup(p, (size_t)(eol - p)), *cur;
                bool escaped = false;
                size_t n;

                p = *eol ? eol + 1 : eol;
                line++;
                if (!l) {
                        r = -ENOMEM;
                        break;
                }
                cur = l + strspn(l, SD_WHITESPACE);
                if (*cur && strchr("#;", *cur)) {
                        free(l);
                        continue;
                }
                if (continuation) {
                        char *j = malloc(strlen(continuation) + strlen(l) + 1);
                        if (!j) {
                                free(l);
                                r = -ENOMEM;
                                break;
                        }
                        strcpy(stpcpy(j, continuation), l);
                        free(continuation);
                        free(l);
                        continuation = NULL;
                        l = j;
                }
                n = strlen(l);
                for (size_t i = 0; i < n; i++)
                        escaped = escaped ? false : l[i] == '\\';
                if (escaped) {
                        l[n - 1] = ' ';
                        continuation = l;
                        continue;
                }
                r = sd_conf_parse_line(&c, &section, line, l);
                free(l);
                if (r < 0)
                        break;
        }
        if (r >= 0 && continuation)
                r = sd_conf_parse_line(&c, &section, line, continuation);
        free(continuation);
        free(section);
        if (r < 0) {
                sd_conf_free(&c);
                return r;
        }
        *ret = c;
        return 0;
}

/* The last value assigned to section.key (later assignments win for single-valued settings), or NULL. */
static inline const char *sd_conf_get(const SdConf *c, const char *section, const char *key) {
        const char *v = NULL;

        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->items[i].section, section) == 0 && strcmp(c->items[i].key, key) == 0)
                        v = c->items[i].value;
        return v;
}

static inline unsigned sd_conf_count(const SdConf *c, const char *section, const char *key) {
        unsigned k = 0;

        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->items[i].section, section) == 0 && strcmp(c->items[i].key, key) == 0)
                        k++;
        return k;
}
