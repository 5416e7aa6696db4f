/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "macro.h"

/* The one output module of sandyctl. A listing is data first: a cJSON array of objects in which an unknown
 * or unset value is null (or absent), never a display string. --json prints that data as it is; the table
 * is drawn from it, and only the table shows "-" (or a column's own text) for a missing value. */

struct cJSON;

typedef struct TableColumn {
        const char *key;       /* member of each row object */
        const char *header;    /* also the column's minimum width */
        size_t min_width;      /* wider than the header, for a steady layout (0: the header's width) */
        size_t max_width;      /* longer values are cut, as image IDs to 12 characters (0: never) */
        const char *null_text; /* shown for a null or absent value (NULL: "-") */
        /* The same, decided per row (NULL, or returning NULL: null_text). */
        const char *(*null_text_of)(const struct cJSON *row);
        /* ANSI colour of the cell (from ansi(), so "" without colour), given its row; NULL: none. */
        const char *(*color)(const struct cJSON *row);
        /* The text of a number cell (a size in bytes as "1.2G"); NULL: the number as it is. */
        char *(*format)(double value);
} TableColumn;

typedef struct Table {
        const TableColumn *columns;
        size_t n_columns;
        /* A string member shown as "-> TEXT" on a line of its own below its row, under the last column,
         * when it is present and not empty (doctor's fix). NULL: none. */
        const char *note_key;
} Table;

/* --json=MODE: sets arg_json and arg_json_pretty; "pretty" (indented) or "short" (one line). */
int output_parse_json_mode(const char *mode);
/* Print j as JSON, indented or on one line per --json=; frees j. NULL (allocation failed) is logged. */
int output_json(struct cJSON *j);
/* Print rows (an array of objects) as a table: the header (not with --no-legend), then one line per row.
 * Cells: strings as they are, true/false as yes/no, numbers, arrays of strings joined with spaces. With
 * --quiet only the first column, uncut, of the rows that have one. */
int output_table(const Table *t, const struct cJSON *rows);
/* --json: output_json(rows); otherwise output_table() into the pager (the caller closes it after its
 * footer). Frees rows. */
int output_rows(const Table *t, struct cJSON *rows);

/* The line below a table ("3 sandboxes listed."), after an empty line; not with --json, --quiet or
 * --no-legend. */
void output_footer(const char *fmt, ...) _printf_(1, 2);
/* prefix, then text with control characters shown as \xNN, then a newline: for text from the journal or
 * a sandbox, which must not move the cursor or change the terminal. */
void print_untrusted(FILE *f, const char *prefix, const char *text);

/* A size in bytes for people: "512B", "1.5K", "2.0G" (powers of 1024, as systemd shows them). NULL on OOM. */
char *format_bytes(double bytes);

/* Colour for a unit's ActiveState (green active, red failed, yellow changing), "" otherwise. */
const char *active_state_color(const char *state);

/* cJSON_Add*ToObject for a string that may be NULL: null then. Returns the item, NULL on OOM. */
struct cJSON *json_add_string_or_null(struct cJSON *o, const char *key, const char *value);
/* An array of the strings of l (none: an empty array). */
struct cJSON *json_string_array(char *const *l);
/* A new empty object appended to the array a; NULL on OOM. */
struct cJSON *json_append_object(struct cJSON *a);
