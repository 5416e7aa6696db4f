/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl list: the declarations joined with what systemd and sandy-helper say about them right now. */
#include <cjson/cJSON.h>

#include "bus-util.h"
#include "helper-client.h"
#include "image.h"
#include "log.h"
#include "output.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

static const char *state_color(const cJSON *row) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, "state");

        return active_state_color(cJSON_IsString(v) ? v->valuestring : NULL);
}

/* A declaration changed since daemon-reload has no owner the helper will vouch for: say why. */
static const char *owner_null_text(const cJSON *row) {
        return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "stale")) ? "(reload)" : NULL;
}

/* The table shows these members of the rows row_fill() makes; --json shows all of them. */
static const TableColumn columns[] = {
        {.key = "name", .header = "NAME"},
        {.key = "state", .header = "STATE", .color = state_color},
        {.key = "image", .header = "IMAGE"},
        {.key = "mode", .header = "MODE"},
        {.key = "address", .header = "ADDRESS"},
        {.key = "owner", .header = "OWNER", .null_text_of = owner_null_text},
        {.key = "access", .header = "ACCESS"},
        {.key = "workspace", .header = "WORKSPACE"},
};
static const Table table = {.columns = columns, .n_columns = ELEMENTSOF(columns)};

/* The sandbox-side address from the helper's DescribeEgress JSON; NULL if it has none. */
static char *egress_address(const char *json) {
        static const char *const keys[] = {"address", "sandbox_address", "container_address", "inner_address"};
        cJSON *j = json ? cJSON_Parse(json) : NULL;
        char *a = NULL;

        for (size_t i = 0; j && !a && i < ELEMENTSOF(keys); i++) {
                cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
                if (cJSON_IsString(v) && !isempty(v->valuestring))
                        a = strdup(v->valuestring);
        }
        cJSON_Delete(j);
        return a;
}

/* The row of one sandbox: its unit's state (null without a bus), the first 12 characters of its image ID,
 * whether that is built (sandy-helper's ListImages in stored; null when it did not answer), its network
 * mode, address, owner, whether the caller may use it ("access", null when the helper does not say;
 * "stale" when the declaration changed since daemon-reload) and workspace. A declaration with errors is
 * listed with state "error" and nothing else known. Returns 1, 0 for a masked sandbox (not listed), or
 * -errno. */
static int row_fill(sd_bus *bus, const HelperImages *stored, bool answered, char *const *dirs,
                    const char *name, cJSON *row) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *unit = NULL, *state = NULL, *egress = NULL, *address = NULL, *owner = NULL;
        char id[IMAGE_ID_HEX_LEN + 1] = "";
        const HelperImage *image = NULL;
        bool stale = false;
        int r, access = -1;

        r = sandbox_load(dirs, name, &s);
        if (r == -ENXIO)
                return 0;
        if (s) {
                if (!(unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name)))
                        return log_oom();
                if (bus && unit_active_state(bus, unit, &state) < 0)
                        state = NULL;
                image = helper_images_of_sandbox(stored, name);
                /* Not built: the ID from the recipe, when this user can read all of it (Setup=). */
                if (image)
                        snprintf(id, sizeof(id), "%s", image->id);
                else
                        (void) sandbox_image_id_quietly(s, id);
                id[12] = 0;
                r = sandbox_access(bus, name, &owner, &access);
                if (r == -ENOMEM)
                        return log_oom();
                stale = r == -ESTALE;
                /* sandy-helper refuses the egress state of sandboxes the caller may not use. */
                if (access > 0 && helper_describe_egress(bus, name, &egress) > 0)
                        address = egress_address(egress);
        }
        if (!cJSON_AddStringToObject(row, "name", name) ||
            !json_add_string_or_null(row, "state", s ? state : "error") ||
            !json_add_string_or_null(row, "image", id[0] ? id : NULL) ||
            !(s && answered ? cJSON_AddBoolToObject(row, "built", !!image)
                            : cJSON_AddNullToObject(row, "built")) ||
            (s && !cJSON_AddStringToObject(row, "mode", network_mode_to_string(s->network_mode))) ||
            !json_add_string_or_null(row, "address", address) ||
            !json_add_string_or_null(row, "owner", owner) ||
            !(access >= 0 ? cJSON_AddBoolToObject(row, "access", access > 0) : cJSON_AddNullToObject(row, "access")) ||
            (stale && !cJSON_AddTrueToObject(row, "stale")) ||
            !json_add_string_or_null(row, "workspace", s ? s->workspace : NULL))
                return log_oom();
        return 1;
}

static int list_rows(sd_bus *bus, char *const *dirs, char *const *names, cJSON **ret) {
        _cleanup_(helper_images_done) HelperImages stored = {};
        cJSON *rows = cJSON_CreateArray();
        bool answered;

        if (!rows)
                return log_oom();
        answered = helper_list_images(bus, "whether images are built is unknown", &stored) >= 0;
        STRV_FOREACH(name, names) {
                cJSON *row = cJSON_CreateObject();
                int r = row ? row_fill(bus, &stored, answered, dirs, *name, row) : log_oom();

                if (r > 0 && cJSON_AddItemToArray(rows, row))
                        continue;
                cJSON_Delete(row);
                if (r == 0)
                        continue;
                cJSON_Delete(rows);
                return r < 0 ? r : log_oom();
        }
        *ret = rows;
        return 0;
}

int verb_list(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        cJSON *rows = NULL;
        int r, n, broken = 0;
        cJSON *row;

        /* The declarations are on the other host: sandyctl there lists them. */
        if (arg_host)
                return remote_sandyctl(argc, argv);
        if (!dirs)
                return log_oom();
        r = sandbox_list_names(dirs, &names);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate sandboxes: %m");
        /* Without a bus (e.g. a build chroot), the declarations are still worth listing. */
        bus = bus_connect_system_optional();
        r = list_rows(bus, dirs, names, &rows);
        if (r < 0)
                return r;
        n = cJSON_GetArraySize(rows);
        cJSON_ArrayForEach(row, rows) {
                const cJSON *state = cJSON_GetObjectItemCaseSensitive(row, "state");
                broken += cJSON_IsString(state) && streq(state->valuestring, "error");
        }
        r = output_rows(&table, rows);
        if (r >= 0)
                output_footer("%d sandboxes listed.", n);
        if (r >= 0 && !arg_json && broken > 0)
                log_warning("Some sandboxes have errors; see \"sandyctl verify\".");
        pager_close();
        return r;
}
