/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tables and JSON for every listing verb, drawn from the same data (see output.h). */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <string.h>

#include "log.h"
#include "output.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

int output_parse_json_mode(const char *mode) {
        if (!streq(mode, "pretty") && !streq(mode, "short"))
                return log_error_errno(EINVAL, "--json= takes pretty or short, not \"%s\".", mode);
        arg_json = true;
        arg_json_pretty = streq(mode, "pretty");
        return 0;
}

int output_json(cJSON *j) {
        _cleanup_free_ char *text = NULL;

        if (!j)
                return log_oom();
        text = arg_json_pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!text)
                return log_oom();
        puts(text);
        return 0;
}

/* The text of one cell, cut to the column's max_width; NULL on OOM. */
static char *cell_text(const TableColumn *c, const cJSON *row) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, c->key), *it;
        char *s = NULL;

        if (cJSON_IsString(v))
                s = strdup(v->valuestring);
        else if (cJSON_IsBool(v))
                s = strdup(cJSON_IsTrue(v) ? "yes" : "no");
        else if (cJSON_IsNumber(v) && c->format)
                s = c->format(v->valuedouble);
        else if (cJSON_IsNumber(v))
                (void) xasprintf(&s, "%.15g", v->valuedouble);
        else if (cJSON_IsArray(v)) {
                s = strdup("");
                cJSON_ArrayForEach(it, v)
                        if (s && cJSON_IsString(it) &&
                            strextendf(&s, "%s%s", *s ? " " : "", it->valuestring) < 0)
                                s = mfree(s);
        } else {
                const char *t = c->null_text_of ? c->null_text_of(row) : NULL;
                s = strdup(t ?: c->null_text ?: "-");
        }
        if (s && c->max_width > 0 && strlen(s) > c->max_width)
                s[c->max_width] = 0;
        return s;
}

/* One line: cells padded to their widths (but the last), each in its colour; trailing blanks dropped. The
 * whole line may be wrapped in a colour of its own (the bold header). */
static int print_line(const Table *t, const size_t *widths, char *const *cells, const char *const *colors,
                      const char *wrap) {
        _cleanup_free_ char *line = NULL;
        size_t len;

        for (size_t i = 0; i < t->n_columns; i++) {
                const char *col = colors ? colors[i] : "";
                int w = i + 1 < t->n_columns ? (int) widths[i] : 0;

                if (strextendf(&line, "%s%s%-*s%s", i > 0 ? " " : "", col, w, cells[i],
                               *col ? ansi(ANSI_NORMAL) : "") < 0)
                        return log_oom();
        }
        len = line ? strlen(line) : 0;
        while (len > 0 && line[len - 1] == ' ')
                line[--len] = 0;
        printf("%s%s%s\n", wrap, line ?: "", *wrap ? ansi(ANSI_NORMAL) : "");
        return 0;
}

static void print_note(const Table *t, const size_t *widths, const cJSON *row) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, t->note_key);

        if (!cJSON_IsString(v) || isempty(v->valuestring))
                return;
        for (size_t i = 0; i + 1 < t->n_columns; i++)
                printf("%-*s ", (int) widths[i], "");
        printf("-> %s\n", v->valuestring);
}

static void cells_free(char **cells, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(cells[i]);
        free(cells);
}

/* The texts of all cells, row by row, and the width of each column. */
static char **table_cells(const Table *t, const cJSON *rows, size_t n, size_t *widths) {
        char **cells = new0(char *, n * t->n_columns + 1);
        const cJSON *row;
        size_t k = 0;

        if (!cells)
                return NULL;
        for (size_t i = 0; i < t->n_columns; i++)
                widths[i] = MAX(strlen(t->columns[i].header), t->columns[i].min_width);
        cJSON_ArrayForEach(row, rows)
                for (size_t i = 0; i < t->n_columns; i++, k++) {
                        cells[k] = cell_text(&t->columns[i], row);
                        if (!cells[k]) {
                                cells_free(cells, k);
                                return NULL;
                        }
                        widths[i] = MAX(widths[i], strlen(cells[k]));
                }
        return cells;
}

/* --quiet: the first column of each row as it is (an image ID in full), one a line, for scripts. */
static int output_first_column(const Table *t, const cJSON *rows) {
        TableColumn c = t->columns[0];
        const cJSON *row;

        c.max_width = 0;
        cJSON_ArrayForEach(row, rows) {
                _cleanup_free_ char *text = NULL;
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, c.key);

                if (cJSON_IsNull(v) || !v)
                        continue; /* nothing to name it by */
                text = cell_text(&c, row);
                if (!text)
                        return log_oom();
                puts(text);
        }
        return 0;
}

int output_table(const Table *t, const cJSON *rows) {
        size_t n = (size_t) cJSON_GetArraySize(rows), nc = t->n_columns, widths[nc], k = 0;
        const char *colors[nc];
        char *headers[nc], **cells;
        const cJSON *row;
        int r;

        if (arg_quiet)
                return output_first_column(t, rows);
        /* Filled in below; set first so that -O3 sees it (a VLA takes no initializer). */
        for (size_t i = 0; i < nc; i++) {
                widths[i] = 0;
                headers[i] = (char *) t->columns[i].header;
        }
        cells = table_cells(t, rows, n, widths);
        if (!cells)
                return log_oom();
        r = arg_legend ? print_line(t, widths, headers, NULL, ansi(ANSI_BOLD)) : 0;
        cJSON_ArrayForEach(row, rows) {
                if (r < 0)
                        break;
                for (size_t i = 0; i < nc; i++)
                        colors[i] = t->columns[i].color ? t->columns[i].color(row) : "";
                r = print_line(t, widths, cells + k, colors, "");
                if (r >= 0 && t->note_key)
                        print_note(t, widths, row);
                k += nc;
        }
        cells_free(cells, n * nc);
        return r;
}

int output_rows(const Table *t, cJSON *rows) {
        int r;

        if (!rows)
                return log_oom();
        if (arg_json)
                return output_json(rows);
        pager_open();
        r = output_table(t, rows);
        cJSON_Delete(rows);
        return r;
}

char *format_bytes(double bytes) {
        static const char units[] = "BKMGTPE";
        size_t u = 0;

        while (bytes >= 1024 && u + 1 < sizeof(units) - 1) {
                bytes /= 1024;
                u++;
        }
        return u == 0 ? strdupf("%.0fB", bytes) : strdupf("%.1f%c", bytes, units[u]);
}

void output_footer(const char *fmt, ...) {
        va_list ap;

        if (arg_json || arg_quiet || !arg_legend)
                return;
        putchar('\n');
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

void print_untrusted(FILE *f, const char *prefix, const char *text) {
        fputs(prefix, f);
        /* Journal lines and reports may hold what a sandbox wrote: no escape sequences reach the terminal. */
        for (const unsigned char *c = (const unsigned char *) text; *c; c++)
                if (*c < ' ' || *c == 0x7f)
                        fprintf(f, "\\x%02x", *c);
                else
                        fputc(*c, f);
        fputc('\n', f);
}

const char *active_state_color(const char *state) {
        if (streq_ptr(state, "active"))
                return ansi(ANSI_GREEN);
        if (streq_ptr(state, "failed") || streq_ptr(state, "error"))
                return ansi(ANSI_RED);
        if (streq_ptr(state, "activating") || streq_ptr(state, "deactivating") ||
            streq_ptr(state, "reloading"))
                return ansi(ANSI_YELLOW);
        return "";
}

cJSON *json_add_string_or_null(cJSON *o, const char *key, const char *value) {
        return value ? cJSON_AddStringToObject(o, key, value) : cJSON_AddNullToObject(o, key);
}

cJSON *json_string_array(char *const *l) {
        cJSON *a = cJSON_CreateArray();

        STRV_FOREACH(s, l)
                if (!a || !cJSON_AddItemToArray(a, cJSON_CreateString(*s))) {
                        cJSON_Delete(a);
                        return NULL;
                }
        return a;
}

cJSON *json_append_object(cJSON *a) {
        cJSON *o = cJSON_CreateObject();

        if (!cJSON_AddItemToArray(a, o)) {
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}
