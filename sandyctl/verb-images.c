/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl images [list]: the images the declared sandboxes use and those in the store, built or not.
 * sandyctl images rm ID|NAME...: remove images. sandyctl images prune: remove what no declaration names.
 * Which images are built, and the removals, are sandy-helper's (ListImages, RemoveImage, Prune): the store
 * is root's alone. The declarations say which recipe each sandbox has now. */
#include <cjson/cJSON.h>
#include <string.h>

#include "bus-util.h"
#include "helper-client.h"
#include "image.h"
#include "log.h"
#include "output.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "string-util.h"

typedef struct ImageRow {
        char *id; /* NULL when the recipe cannot be computed by this user (an unreadable Setup= script) */
        char *source; /* NULL for an image no declaration uses */
        char **sandboxes;
        int built;    /* 1, 0, -1 unknown (no answer from sandy-helper) */
        const HelperImage *stored;
} ImageRow;

typedef struct ImageTable {
        ImageRow *rows;
        size_t n;
        bool incomplete; /* a declaration could not be read; listed without it */
} ImageTable;

static void image_table_done(ImageTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->rows[i].id);
                free(t->rows[i].source);
                strv_free(t->rows[i].sandboxes);
        }
        free(t->rows);
}

/* The row of image id (NULL: a new row of its own), added if missing. */
static ImageRow *image_table_get(ImageTable *t, const char *id) {
        ImageRow *n;

        for (size_t i = 0; id && i < t->n; i++)
                if (streq_ptr(t->rows[i].id, id))
                        return &t->rows[i];
        n = realloc(t->rows, sizeof(ImageRow) * (t->n + 1));
        if (!n)
                return NULL;
        t->rows = n;
        n = &t->rows[t->n];
        *n = (ImageRow){.built = -1};
        if (id && !(n->id = strdup(id)))
                return NULL;
        t->n++;
        return n;
}

/* Every image in the store, as sandy-helper says, with the sandboxes whose current recipe it is. */
static int collect_stored(ImageTable *t, const HelperImages *stored) {
        for (size_t i = 0; i < stored->n; i++) {
                const HelperImage *h = &stored->images[i];
                ImageRow *row = image_table_get(t, h->id);

                if (!row || (h->source && !(row->source = strdup(h->source))))
                        return log_oom();
                STRV_FOREACH(n, h->sandboxes)
                        if (strv_extend(&row->sandboxes, *n) < 0)
                                return log_oom();
                row->built = 1;
                row->stored = h;
        }
        return 0;
}

/* The declared sandboxes whose image is not among them (not built, or not known without the helper). */
static int collect_declared(ImageTable *t, const HelperImages *stored, bool helper_answered) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
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

                if (helper_images_of_sandbox(stored, *name))
                        continue;
                r = sandbox_load(dirs, *name, &s);
                if (r == -ENXIO)
                        continue; /* masked */
                if (r < 0) {
                        /* Already reported; list the rest and say so at the end. */
                        t->incomplete = true;
                        continue;
                }
                r = sandbox_image_id_quietly(s, id);
                if (r < 0)
                        log_warning_errno(r, "Cannot compute the image ID of %s as this user: %m", *name);
                row = image_table_get(t, r >= 0 ? id : NULL);
                if (!row || strv_extend(&row->sandboxes, *name) < 0 || (!row->source && !(row->source = strdup(s->from))))
                        return log_oom();
                row->built = helper_answered ? 0 : -1;
        }
        return 0;
}

static int add_number_or_null(cJSON *o, const char *key, uint64_t v, bool known) {
        return known ? !!cJSON_AddNumberToObject(o, key, (double) v) : !!cJSON_AddNullToObject(o, key);
}

/* The rows: the image's full ID (the table shows 12 characters; null when it cannot be computed), its
 * source (null for an image no declaration uses), the sandboxes using it, whether it is built (null: not
 * known), where its root file system is (null without an ID), its size and when it was built (null unless
 * built). */
static cJSON *image_rows(const ImageTable *t) {
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; a && i < t->n; i++) {
                const ImageRow *row = &t->rows[i];
                _cleanup_free_ char *rootfs = row->id ? image_rootfs(row->id) : NULL;
                cJSON *o = json_append_object(a);
                bool ok;

                ok = o && json_add_string_or_null(o, "id", row->id) &&
                     json_add_string_or_null(o, "source", row->source) &&
                     cJSON_AddItemToObject(o, "sandboxes", json_string_array(row->sandboxes)) &&
                     (row->built >= 0 ? !!cJSON_AddBoolToObject(o, "built", row->built > 0) :
                                        !!cJSON_AddNullToObject(o, "built")) &&
                     json_add_string_or_null(o, "rootfs", row->stored ? row->stored->rootfs : rootfs) &&
                     add_number_or_null(o, "size", row->stored ? row->stored->size : 0, row->stored) &&
                     add_number_or_null(o, "built_usec", row->stored ? row->stored->built_usec : 0,
                                        row->stored && row->stored->built_usec > 0);
                if (!ok) {
                        cJSON_Delete(a);
                        return NULL;
                }
        }
        return a;
}

static const TableColumn columns[] = {
        {.key = "id", .header = "IMAGE", .min_width = 12, .max_width = 12, .null_text = "?"},
        {.key = "built", .header = "BUILT"},
        {.key = "size", .header = "SIZE", .format = format_bytes},
        {.key = "source", .header = "SOURCE", .min_width = 40, .null_text = "(unused)"},
        {.key = "sandboxes", .header = "SANDBOXES"},
};
static const Table table = {.columns = columns, .n_columns = ELEMENTSOF(columns)};

static int images_list(void) {
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        _cleanup_(helper_images_done) HelperImages stored = {};
        ImageTable t = {};
        bool answered;
        int r;

        if (arg_host) {
                char *args[] = {(char *) "images", NULL};
                return remote_sandyctl(1, args);
        }
        bus = bus_connect_system_optional();
        answered = helper_list_images(bus, "whether images are built is unknown", &stored) >= 0;
        r = collect_stored(&t, &stored);
        if (r >= 0)
                r = collect_declared(&t, &stored, answered);
        if (r >= 0)
                r = output_rows(&table, image_rows(&t));
        if (r >= 0)
                output_footer("%zu images listed.", t.n);
        /* Like systemctl list-units with a broken unit: the listing still stands, the problem is said. */
        if (r >= 0 && t.incomplete)
                log_warning("Some sandboxes have errors and are not listed; see \"sandyctl verify\".");
        image_table_done(&t);
        pager_close();
        return r;
}

/* An argument of images rm: a full image ID; a sandbox whose current image is built; or a prefix of one
 * image ID in the store (at least 4 hex digits, as "sandyctl images" shows 12). */
static int resolve_image(const HelperImages *stored, const char *arg, const char **ret) {
        const HelperImage *h, *found = NULL;

        if (image_id_is_valid(arg)) {
                *ret = arg;
                return 0;
        }
        h = helper_images_of_sandbox(stored, arg);
        if (h) {
                *ret = h->id;
                return 0;
        }
        if (strlen(arg) >= 4 && strspn(arg, "0123456789abcdef") == strlen(arg))
                for (size_t i = 0; i < stored->n; i++) {
                        if (!startswith(stored->images[i].id, arg))
                                continue;
                        if (found)
                                return log_error_errno(EINVAL, "\"%s\" names more than one image; give more of the "
                                                               "ID.",
                                                       arg);
                        found = &stored->images[i];
                }
        if (!found)
                return log_error_errno(ENOENT, "\"%s\" is neither an image in the store nor a sandbox whose image "
                                               "is built (see \"sandyctl images\").",
                                       arg);
        *ret = found->id;
        return 0;
}

static int remove_image(sd_bus *bus, const char *id) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *what = NULL;
        int r;

        if (xasprintf(&what, "remove image %.12s", id) < 0)
                return log_oom();
        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, "RemoveImage", &error,
                               NULL, "s", id);
        if (r < 0)
                return bus_log_call_error(r, &error, what);
        log_info("Removed image %s.", id);
        return 0;
}

static int images_rm(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(helper_images_done) HelperImages stored = {};
        int r, ret = 0;

        r = helper_list_images(bus, "cannot look up what to remove", &stored);
        if (r < 0)
                return r;
        /* Resolve them all first: a typo should not leave half the list removed. */
        for (int i = 2; i < argc; i++) {
                const char *id;

                r = resolve_image(&stored, argv[i], &id);
                if (r < 0)
                        return r;
        }
        for (int i = 2; i < argc; i++) {
                const char *id;

                r = resolve_image(&stored, argv[i], &id);
                if (r >= 0)
                        r = remove_image(bus, id);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

static int images_prune(sd_bus *bus) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **removed = NULL;
        int r;

        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, "Prune", &error,
                               &reply, "");
        if (r < 0)
                return bus_log_call_error(r, &error, "prune images");
        r = sd_bus_message_read_strv(reply, &removed);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the reply of Prune: %m");
        STRV_FOREACH(id, removed)
                log_info("Removed image %s.", *id);
        log_info("%zu images removed.", strv_length(removed));
        return 0;
}

int verb_images(int argc, char *argv[]) {
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        int r;

        if (argc == 1 || (argc == 2 && streq(argv[1], "list")))
                return images_list();
        if (!streq(argv[1], "rm") && !streq(argv[1], "prune"))
                return log_error_errno(EINVAL, "Unknown images command \"%s\" (know list, rm, prune).", argv[1]);
        if (streq(argv[1], "rm") && argc < 3)
                return log_error_errno(EINVAL, "images rm needs an image ID or a sandbox NAME.");
        if (streq(argv[1], "prune") && argc > 2)
                return log_error_errno(EINVAL, "images prune takes no arguments.");
        if (arg_json)
                return log_error_errno(EOPNOTSUPP, "images %s has no JSON output.", argv[1]);

        r = bus_connect_system(&bus);
        if (r < 0)
                return r;
        polkit_agent_open_if_enabled();
        r = streq(argv[1], "rm") ? images_rm(bus, argc, argv) : images_prune(bus);
        polkit_agent_close();
        return r;
}
