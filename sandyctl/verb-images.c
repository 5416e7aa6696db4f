/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl images: the images the declared sandboxes use, and whether each is built. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "log.h"
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

        _cleanup_free_ char *rootfs = image_rootfs(id);
        struct stat st;
        n->built = rootfs && stat(rootfs, &st) >= 0 && S_ISDIR(st.st_mode);
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

static int print_json(const ImageTable *t) {
        cJSON *a = cJSON_CreateArray();
        char *text;

        for (size_t i = 0; a && i < t->n; i++) {
                const ImageRow *row = &t->rows[i];
                _cleanup_free_ char *rootfs = image_rootfs(row->id);
                cJSON *o = cJSON_CreateObject(), *names = cJSON_CreateArray();

                cJSON_AddItemToArray(a, o);
                cJSON_AddStringToObject(o, "id", row->id);
                if (row->source)
                        cJSON_AddStringToObject(o, "source", row->source);
                else
                        cJSON_AddNullToObject(o, "source");
                STRV_FOREACH(n, row->sandboxes)
                        cJSON_AddItemToArray(names, cJSON_CreateString(*n));
                cJSON_AddItemToObject(o, "sandboxes", names);
                cJSON_AddBoolToObject(o, "built", row->built);
                cJSON_AddStringToObject(o, "rootfs", rootfs ?: "");
        }
        text = a ? (arg_json_pretty ? cJSON_Print(a) : cJSON_PrintUnformatted(a)) : NULL;
        cJSON_Delete(a);
        if (!text)
                return log_oom();
        puts(text);
        free(text);
        return 0;
}

int verb_images(int argc, char *argv[]) {
        ImageTable t = {};
        int r;

        r = collect(&t);
        if (r >= 0 && arg_json)
                r = print_json(&t);
        else if (r >= 0) {
                printf("%-12s %-5s %-40s %s\n", "IMAGE", "BUILT", "SOURCE", "SANDBOXES");
                for (size_t i = 0; i < t.n; i++) {
                        printf("%-12.12s %-5s %-40s", t.rows[i].id, t.rows[i].built ? "yes" : "no",
                               t.rows[i].source ?: "(unused)");
                        STRV_FOREACH(n, t.rows[i].sandboxes)
                                printf(" %s", *n);
                        putchar('\n');
                }
                printf("\n%zu images listed.\n", t.n);
        }
        /* Like systemctl list-units with a broken unit: the listing still stands, the problem is said. */
        if (r >= 0 && t.incomplete)
                log_warning("Some sandboxes have errors and are not listed; see \"sandyctl verify\".");
        image_table_done(&t);
        return r;
}
