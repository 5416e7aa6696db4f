/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl images: the images the declared sandboxes use, and whether each is built. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <string.h>

#include "image.h"
#include "log.h"
#include "output.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "string-util.h"

typedef struct ImageRow {
        char id[IMAGE_ID_HEX_LEN + 1];
        char *source; /* NULL for an image no declaration uses */
        char **sandboxes;
        bool built;
} ImageRow;

typedef struct ImageTable {
        ImageRow *rows;
        size_t n;
        bool incomplete; /* a declaration could not be read; listed without it */
} ImageTable;

static void image_table_done(ImageTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->rows[i].source);
                strv_free(t->rows[i].sandboxes);
        }
        free(t->rows);
}

static ImageRow *image_table_get(ImageTable *t, const char *id) {
        ImageRow *n;

        for (size_t i = 0; i < t->n; i++)
                if (streq(t->rows[i].id, id))
                        return &t->rows[i];
        n = realloc(t->rows, sizeof(ImageRow) * (t->n + 1));
        if (!n)
                return NULL;
        t->rows = n;
        n = &t->rows[t->n++];
        *n = (ImageRow){};
        memcpy(n->id, id, sizeof(n->id));

        n->built = image_is_built(id) > 0;
        return n;
}

static int collect(ImageTable *t) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        _cleanup_free_ char *store = NULL;
        DIR *d;
        int r;

        if (!dirs)
                return log_oom();
        r = sandbox_list_names(dirs, &names);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate sandboxes: %m");
        STRV_FOREACH(name, names) {
                _cleanup_sandbox_free_ Sandbox *s = NULL;
                char id[IMAGE_ID_HEX_LEN + 1];
                ImageRow *row;

                r = sandbox_load(dirs, *name, &s);
                if (r == -ENXIO)
                        continue; /* masked */
                if (r >= 0)
                        r = sandbox_image_id(s, id);
                if (r < 0) {
                        /* Already reported; list the rest and say so at the end. */
                        t->incomplete = true;
                        continue;
                }
                row = image_table_get(t, id);
                if (!row || strv_extend(&row->sandboxes, *name) < 0 || (!row->source && !(row->source = strdup(s->from))))
                        return log_oom();
        }

        /* Images in the store that no declaration uses any more: what prune would remove. */
        if (!(store = strdup(SANDY_IMAGE_STORE_DIR)))
                return log_oom();
        d = opendir(store);
        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", store);
        for (struct dirent *de; (de = readdir(d));)
                if (image_id_is_valid(de->d_name) && !image_table_get(t, de->d_name)) {
                        closedir(d);
                        return log_oom();
                }
        closedir(d);
        return 0;
}

/* The rows: the image's full ID (the table shows 12 characters), its source (null for an image no
 * declaration uses), the sandboxes using it, whether it is built, and where its root file system is. */
static cJSON *image_rows(const ImageTable *t) {
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; a && i < t->n; i++) {
                const ImageRow *row = &t->rows[i];
                _cleanup_free_ char *rootfs = image_rootfs(row->id);
                cJSON *o = json_append_object(a);

                if (!o || !cJSON_AddStringToObject(o, "id", row->id) ||
                    !json_add_string_or_null(o, "source", row->source) ||
                    !cJSON_AddItemToObject(o, "sandboxes", json_string_array(row->sandboxes)) ||
                    !cJSON_AddBoolToObject(o, "built", row->built) ||
                    !cJSON_AddStringToObject(o, "rootfs", rootfs ?: "")) {
                        cJSON_Delete(a);
                        return NULL;
                }
        }
        return a;
}

static const TableColumn columns[] = {
        {.key = "id", .header = "IMAGE", .min_width = 12, .max_width = 12},
        {.key = "built", .header = "BUILT"},
        {.key = "source", .header = "SOURCE", .min_width = 40, .null_text = "(unused)"},
        {.key = "sandboxes", .header = "SANDBOXES"},
};
static const Table table = {.columns = columns, .n_columns = ELEMENTSOF(columns)};

int verb_images(int argc, char *argv[]) {
        ImageTable t = {};
        int r;

        r = collect(&t);
        if (r >= 0)
                r = output_rows(&table, image_rows(&t));
        if (r >= 0 && !arg_json)
                printf("\n%zu images listed.\n", t.n);
        /* Like systemctl list-units with a broken unit: the listing still stands, the problem is said. */
        if (r >= 0 && t.incomplete)
                log_warning("Some sandboxes have errors and are not listed; see \"sandyctl verify\".");
        image_table_done(&t);
        pager_close();
        return r;
}
