/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl list and sandyctl status NAME: declarations joined with what systemd, machined and sandy-helper
 * say about them right now. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bus-util.h"
#include "image.h"
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "fs-util.h"
#include "path-util.h"
#include "string-util.h"

int json_print_and_free(cJSON *j) {
        char *text;

        if (!j)
                return log_oom();
        text = arg_json_pretty ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!text)
                return log_oom();
        puts(text);
        free(text);
        return 0;
}

static const char *state_color(const char *state) {
        if (streq_ptr(state, "active"))
                return ansi(ANSI_GREEN);
        if (streq_ptr(state, "failed") || streq_ptr(state, "error"))
                return ansi(ANSI_RED);
        if (streq_ptr(state, "activating") || streq_ptr(state, "deactivating") || streq_ptr(state, "reloading"))
                return ansi(ANSI_YELLOW);
        return "";
}

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

typedef struct Row {
        char *name, *state, *image, *mode, *address, *workspace, *owner;
        bool built;
        int access; /* 1 may use it, 0 may not, -1 unknown (no sandy-helper, or it refused to say) */
} Row;

/* sandy-helper decides who may use a sandbox (it alone can look at every workspace); we only report. */
static void row_access(sd_bus *bus, const char *name, Row *row) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        const char *owner, *user;
        int allowed;

        row->access = -1;
        if (!bus || sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_ACCESS_IFACE, "CheckAccess",
                                       &error, &reply, "su", name, (uint32_t) getuid()) < 0) {
                if (sd_bus_error_has_name(&error, HELPER_ERROR_STALE_DECLARATION))
                        row->owner = strdup("(reload)");
                return;
        }
        if (sd_bus_message_read(reply, "bss", &allowed, &owner, &user) < 0)
                return;
        row->access = allowed;
        row->owner = strdup(owner);
}

static void row_done(Row *r) {
        free(r->name);
        free(r->state);
        free(r->image);
        free(r->mode);
        free(r->address);
        free(r->workspace);
        free(r->owner);
}

static const char *access_text(int access) {
        return access > 0 ? "yes" : access == 0 ? "no" : "-";
}

static int row_fill(sd_bus *bus, char *const *dirs, const char *name, Row *row) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *json = NULL, *unit = NULL;
        char id[IMAGE_ID_HEX_LEN + 1];
        int r;

        *row = (Row){.name = strdup(name)};
        if (!row->name || !(unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name)))
                return log_oom();
        r = sandbox_load(dirs, name, &s);
        if (r == -ENXIO)
                return 0; /* masked: not listed */
        if (r < 0) {
                row->state = strdup("error");
                return row->state ? 1 : log_oom();
        }
        if (bus && unit_active_state(bus, unit, &row->state) < 0)
                row->state = NULL;
        if (!row->state && !(row->state = strdup("-")))
                return log_oom();
        if (sandbox_image_id(s, id) >= 0) {
                _cleanup_free_ char *rootfs = image_rootfs(id);
                struct stat st;

                row->image = strndup(id, 12);
                row->built = rootfs && stat(rootfs, &st) >= 0 && S_ISDIR(st.st_mode);
        }
        row->mode = strdup(network_mode_to_string(s->network_mode));
        row->workspace = strdup(s->workspace ?: "-");
        row_access(bus, name, row);
        if (row->access > 0 && helper_describe_egress(bus, name, &json) > 0)
                row->address = egress_address(json);
        if (!row->address)
                row->address = strdup("-");
        if (!row->image)
                row->image = strdup("-");
        if (!row->owner)
                row->owner = strdup("-");
        if (!row->image || !row->mode || !row->workspace || !row->address || !row->owner)
                return log_oom();
        return 1;
}

int verb_list(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        Row *rows = NULL;
        size_t n = 0, w[7] = {4, 5, 5, 4, 7, 5, 6};
        int r, ret = 0;

        if (arg_host)
                return log_error_errno(EOPNOTSUPP, "list reads the declarations of this host; for another host "
                                                   "run: ssh HOST sandyctl list");
        if (!dirs)
                return log_oom();
        r = sandbox_list_names(dirs, &names);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate sandboxes: %m");
        /* Without a bus (e.g. a build chroot), the declarations are still worth listing. */
        bus = bus_connect_system_optional();

        rows = new0(Row, strv_length(names));
        if (!rows)
                return log_oom();
        STRV_FOREACH(name, names) {
                r = row_fill(bus, dirs, *name, &rows[n]);
                if (r < 0) {
                        ret = r;
                        break;
                }
                if (r == 0) {
                        row_done(&rows[n]);
                        continue;
                }
                n++;
        }
        if (ret < 0)
                goto finish;

        if (arg_json) {
                cJSON *a = cJSON_CreateArray();
                for (size_t i = 0; a && i < n; i++) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddItemToArray(a, o);
                        cJSON_AddStringToObject(o, "name", rows[i].name);
                        cJSON_AddStringToObject(o, "state", rows[i].state);
                        if (rows[i].image && !streq(rows[i].image, "-"))
                                cJSON_AddStringToObject(o, "image", rows[i].image);
                        else
                                cJSON_AddNullToObject(o, "image");
                        cJSON_AddBoolToObject(o, "built", rows[i].built);
                        if (rows[i].mode)
                                cJSON_AddStringToObject(o, "mode", rows[i].mode);
                        if (rows[i].address && !streq(rows[i].address, "-"))
                                cJSON_AddStringToObject(o, "address", rows[i].address);
                        else
                                cJSON_AddNullToObject(o, "address");
                        if (rows[i].workspace && !streq(rows[i].workspace, "-"))
                                cJSON_AddStringToObject(o, "workspace", rows[i].workspace);
                        else
                                cJSON_AddNullToObject(o, "workspace");
                        if (rows[i].owner && !streq(rows[i].owner, "-") && !streq(rows[i].owner, "(reload)"))
                                cJSON_AddStringToObject(o, "owner", rows[i].owner);
                        else
                                cJSON_AddNullToObject(o, "owner");
                        if (rows[i].access >= 0)
                                cJSON_AddBoolToObject(o, "access", rows[i].access > 0);
                        else
                                cJSON_AddNullToObject(o, "access");
                }
                ret = json_print_and_free(a);
                goto finish;
        }

        for (size_t i = 0; i < n; i++) {
                const char *cols[] = {rows[i].name,          rows[i].state,         rows[i].image ?: "-",
                                      rows[i].mode ?: "-",   rows[i].address ?: "-", rows[i].owner ?: "-",
                                      access_text(rows[i].access)};
                for (size_t c = 0; c < ELEMENTSOF(w); c++)
                        if (strlen(cols[c]) > w[c])
                                w[c] = strlen(cols[c]);
        }
        pager_open();
        printf("%s%-*s %-*s %-*s %-*s %-*s %-*s %-*s %s%s\n", ansi(ANSI_BOLD), (int) w[0], "NAME", (int) w[1],
               "STATE", (int) w[2], "IMAGE", (int) w[3], "MODE", (int) w[4], "ADDRESS", (int) w[5], "OWNER",
               (int) w[6], "ACCESS", "WORKSPACE", ansi(ANSI_NORMAL));
        for (size_t i = 0; i < n; i++) {
                const char *c = state_color(rows[i].state);
                printf("%-*s %s%-*s%s %-*s %-*s %-*s %-*s %-*s %s\n", (int) w[0], rows[i].name, c, (int) w[1],
                       rows[i].state, *c ? ansi(ANSI_NORMAL) : "", (int) w[2], rows[i].image ?: "-", (int) w[3],
                       rows[i].mode ?: "-", (int) w[4], rows[i].address ?: "-", (int) w[5], rows[i].owner ?: "-",
                       (int) w[6], access_text(rows[i].access), rows[i].workspace ?: "-");
        }
        printf("\n%zu sandboxes listed.\n", n);
        if (log_error_count() > 0)
                log_warning("Some sandboxes have errors; see \"sandyctl verify\".");
finish:
        for (size_t i = 0; i < n; i++)
                row_done(&rows[i]);
        free(rows);
        pager_close();
        return ret;
}

/* ---- status */

static int unit_props(sd_bus *bus, const char *unit, char **active, char **sub, char **result, uint64_t *since) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r < 0)
                return -ENOMEM;
        r = sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, "org.freedesktop.systemd1.Unit",
                                       "ActiveState", NULL, active);
        if (r < 0)
                return r;
        (void) sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, "org.freedesktop.systemd1.Unit",
                                          "SubState", NULL, sub);
        (void) sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path,
                                          "org.freedesktop.systemd1.Service", "Result", NULL, result);
        (void) sd_bus_get_property_trivial(bus, SYSTEMD_BUS_NAME, path, "org.freedesktop.systemd1.Unit",
                                           "ActiveEnterTimestamp", NULL, 't', since);
        return 0;
}

/* Leader PID of the registered machine, 0 if machined does not know it. */
static uint32_t machine_leader(sd_bus *bus, const char *name) {
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        const char *path;
        uint32_t leader = 0;

        if (sd_bus_call_method(bus, MACHINED_BUS_NAME, MACHINED_OBJECT_PATH,
                               MACHINED_MANAGER_IFACE, "GetMachine", NULL, &reply, "s", name) < 0 ||
            sd_bus_message_read(reply, "o", &path) < 0)
                return 0;
        (void) sd_bus_get_property_trivial(bus, MACHINED_BUS_NAME, path, MACHINED_MACHINE_IFACE,
                                           "Leader", NULL, 'u', &leader);
        return leader;
}

/* Reports sandy-prepare leaves in the state directory (e.g. protected paths touched), shown verbatim. */
static int state_reports(const char *name, char ***ret_paths) {
        _cleanup_free_ char *dir = NULL;
        DIR *d;

        if (!(dir = sandbox_state_path(name, NULL)))
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_name[0] == '.' || !(endswith(de->d_name, ".report") || streq(de->d_name, "report")))
                        continue;
                char *p = path_join(dir, de->d_name);
                if (!p || strv_consume(ret_paths, p) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        strv_sort(*ret_paths);
        return 0;
}

static void format_time(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "-");
}

int verb_status(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        cJSON *all = NULL;
        int r, ret = 0;

        if (arg_host)
                return log_error_errno(EOPNOTSUPP, "status reads the declaration of this host; for another host "
                                                   "run: ssh HOST sandyctl status NAME");
        if (!dirs)
                return log_oom();
        bus = bus_connect_system_optional();
        if (arg_json && !(all = cJSON_CreateArray()))
                return log_oom();
        if (!arg_json)
                pager_open();

        for (int i = 1; i < argc; i++) {
                _cleanup_sandbox_free_ Sandbox *s = NULL;
                _cleanup_free_ char *unit = NULL, *active = NULL, *sub = NULL, *result = NULL, *egress = NULL,
                                    *rootfs = NULL;
                _cleanup_strv_free_ char **reports = NULL;
                char id[IMAGE_ID_HEX_LEN + 1] = "", since[64];
                uint64_t since_usec = 0;
                uint32_t leader = 0;
                bool built = false;
                const char *built_text = "not built";
                struct stat st;

                r = sandbox_load_named(dirs, argv[i], &s);
                if (r != 0) {
                        if (ret == 0 || r == EXIT_NO_SUCH_SANDBOX)
                                ret = r;
                        continue;
                }
                if (!(unit = sandbox_unit_name(SANDBOX_UNIT_FMT, s->name)))
                        return log_oom();
                Row acc = {};
                if (bus) {
                        if (unit_props(bus, unit, &active, &sub, &result, &since_usec) < 0)
                                active = NULL;
                        leader = machine_leader(bus, s->name);
                        row_access(bus, s->name, &acc);
                        /* sandy-helper refuses the egress state of sandboxes the caller may not use. */
                        if (acc.access > 0)
                                (void) helper_describe_egress(bus, s->name, &egress);
                }
                if (sandbox_image_id(s, id) >= 0) {
                        rootfs = image_rootfs(id);
                        built = rootfs && stat(rootfs, &st) >= 0 && S_ISDIR(st.st_mode);
                        if (built)
                                built_text = "built";
                        else if (rootfs && errno == EACCES)
                                built_text = "not visible to this user";
                }
                if (state_reports(s->name, &reports) < 0)
                        return log_oom();
                format_time(since_usec, since, sizeof(since));
                if (!streq_ptr(active, "active") && ret == 0)
                        ret = EXIT_NOT_RUNNING;

                if (arg_json) {
                        cJSON *o = cJSON_CreateObject(), *rep = cJSON_CreateArray();
                        cJSON_AddItemToArray(all, o);
                        cJSON_AddStringToObject(o, "name", s->name);
                        cJSON_AddStringToObject(o, "unit", unit);
                        cJSON_AddStringToObject(o, "state", active ?: "unknown");
                        cJSON_AddStringToObject(o, "substate", sub ?: "unknown");
                        if (result)
                                cJSON_AddStringToObject(o, "result", result);
                        cJSON_AddNumberToObject(o, "since_usec", (double) since_usec);
                        cJSON_AddNumberToObject(o, "leader", leader);
                        cJSON_AddStringToObject(o, "description", s->description ?: "");
                        cJSON_AddStringToObject(o, "user", s->user);
                        if (acc.owner && !streq(acc.owner, "(reload)"))
                                cJSON_AddStringToObject(o, "owner", acc.owner);
                        else
                                cJSON_AddNullToObject(o, "owner");
                        if (acc.access >= 0)
                                cJSON_AddBoolToObject(o, "access", acc.access > 0);
                        else
                                cJSON_AddNullToObject(o, "access");
                        if (s->workspace)
                                cJSON_AddStringToObject(o, "workspace", s->workspace);
                        else
                                cJSON_AddNullToObject(o, "workspace");
                        cJSON_AddStringToObject(o, "source", s->from);
                        if (id[0])
                                cJSON_AddStringToObject(o, "image", id);
                        else
                                cJSON_AddNullToObject(o, "image");
                        cJSON_AddBoolToObject(o, "built", built);
                        cJSON_AddStringToObject(o, "mode", network_mode_to_string(s->network_mode));
                        cJSON *eg = egress ? cJSON_Parse(egress) : NULL;
                        if (eg)
                                cJSON_AddItemToObject(o, "egress", eg);
                        else
                                cJSON_AddNullToObject(o, "egress");
                        STRV_FOREACH(p, reports)
                                cJSON_AddItemToArray(rep, cJSON_CreateString(*p));
                        cJSON_AddItemToObject(o, "reports", rep);
                        free(acc.owner);
                        continue;
                }

                if (i > 1)
                        putchar('\n');
                const char *c = state_color(active);
                printf("%s%s%s - %s\n", ansi(ANSI_BOLD), s->name, ansi(ANSI_NORMAL),
                       s->description ?: "(no description)");
                printf("       Unit: %s\n", unit);
                printf("     Active: %s%s%s (%s)%s%s\n", c, active ?: "unknown", *c ? ansi(ANSI_NORMAL) : "",
                       sub ?: "unknown", streq_ptr(active, "active") ? " since " : "",
                       streq_ptr(active, "active") ? since : "");
                if (result && !streq(result, "success"))
                        printf("     Result: %s%s%s\n", ansi(ANSI_RED), result, ansi(ANSI_NORMAL));
                if (leader > 0)
                        printf("    Machine: %s (leader PID %u)\n", s->name, leader);
                else
                        printf("    Machine: not running\n");
                printf("       User: %s\n", s->user);
                if (acc.owner)
                        printf("      Owner: %s%s\n", acc.owner,
                               acc.access > 0 ? " (you may use it)" : acc.access == 0 ? " (you may not use it)" : "");
                printf("  Workspace: %s\n", s->workspace ?: "-");
                if (id[0])
                        printf("      Image: %.12s from %s (%s)\n", id, s->from, built_text);
                else
                        printf("      Image: unknown, from %s (see the error above)\n", s->from);
                printf("    Network: %s", network_mode_to_string(s->network_mode));
                if (s->network_mode == NETWORK_STRICT) {
                        printf(", %zu allowed domains, %zu allowed addresses", strv_length(s->allow_domains),
                               strv_length(s->allow_addresses));
                }
                putchar('\n');
                if (egress)
                        printf("     Egress: %s\n", egress);
                STRV_FOREACH(p, reports) {
                        _cleanup_free_ char *text = NULL;
                        printf("     Report: %s\n", *p);
                        if (read_full_file(*p, 64 * 1024, &text, NULL) >= 0)
                                printf("%s%s", text, endswith(text, "\n") ? "" : "\n");
                }
                free(acc.owner);
        }
        if (arg_json)
                r = json_print_and_free(all);
        else
                r = 0;
        pager_close();
        return r < 0 ? r : ret;
}
