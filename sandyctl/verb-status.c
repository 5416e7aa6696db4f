/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl status NAME...: a declaration joined with what systemd, machined and sandy-helper say about it
 * right now, in the manner of systemctl status. Collected once into a StatusInfo (NULL where nothing is
 * known), then shown as text or as JSON. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <time.h>

#include "bus-util.h"
#include "fs-util.h"
#include "image.h"
#include "log.h"
#include "output.h"
#include "path-util.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

typedef struct StatusInfo {
        Sandbox *sandbox;
        char *unit;
        char *active, *sub, *result;         /* the unit's; NULL when systemd does not say */
        uint64_t since_usec;                 /* ActiveEnterTimestamp, 0 if unknown */
        uint32_t leader;                     /* the machine's leader PID, 0 when machined does not know it */
        char image_id[IMAGE_ID_HEX_LEN + 1]; /* "" when it cannot be computed (the error is logged) */
        int built;                           /* image_is_built() */
        char *egress;                        /* the helper's DescribeEgress JSON, NULL without one */
        char *owner;                         /* as sandy-helper says, NULL when it does not */
        int access;                          /* the caller may use it: 1, 0, -1 unknown */
        bool stale;                          /* the declaration changed since daemon-reload */
        char **reports;                      /* paths of sandy-prepare's reports */
} StatusInfo;

static void status_info_done(StatusInfo *i) {
        sandbox_free(i->sandbox);
        free(i->unit);
        free(i->active);
        free(i->sub);
        free(i->result);
        free(i->egress);
        free(i->owner);
        strv_free(i->reports);
}

static int unit_props(sd_bus *bus, StatusInfo *i) {
        _cleanup_free_ char *path = unit_bus_path(i->unit);
        int r;

        if (!path)
                return -ENOMEM;
        r = sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_UNIT_IFACE, "ActiveState", NULL,
                                       &i->active);
        if (r < 0)
                return r;
        (void) sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_UNIT_IFACE, "SubState", NULL,
                                          &i->sub);
        (void) sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_SERVICE_IFACE, "Result", NULL,
                                          &i->result);
        (void) sd_bus_get_property_trivial(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_UNIT_IFACE,
                                           "ActiveEnterTimestamp", NULL, 't', &i->since_usec);
        return 0;
}

/* Leader PID of the registered machine, 0 if machined does not know it. */
static uint32_t machine_leader(sd_bus *bus, const char *name) {
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        const char *path;
        uint32_t leader = 0;

        if (sd_bus_call_method(bus, MACHINED_BUS_NAME, MACHINED_OBJECT_PATH, MACHINED_MANAGER_IFACE,
                               "GetMachine", NULL, &reply, "s", name) < 0 ||
            sd_bus_message_read(reply, "o", &path) < 0)
                return 0;
        (void) sd_bus_get_property_trivial(bus, MACHINED_BUS_NAME, path, MACHINED_MACHINE_IFACE, "Leader", NULL,
                                           'u', &leader);
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
                if (strv_consume(ret_paths, path_join(dir, de->d_name)) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        strv_sort(*ret_paths);
        return 0;
}

static int status_collect(sd_bus *bus, StatusInfo *i) {
        const char *name = i->sandbox->name;
        int r;

        if (!(i->unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name)))
                return log_oom();
        if (bus) {
                if (unit_props(bus, i) < 0)
                        i->active = mfree(i->active);
                i->leader = machine_leader(bus, name);
                r = sandbox_access(bus, name, &i->owner, &i->access);
                if (r == -ENOMEM)
                        return log_oom();
                i->stale = r == -ESTALE;
                /* sandy-helper refuses the egress state of sandboxes the caller may not use. */
                if (i->access > 0)
                        (void) helper_describe_egress(bus, name, &i->egress);
        }
        if (sandbox_image_id(i->sandbox, i->image_id) >= 0)
                i->built = image_is_built(i->image_id);
        else
                i->image_id[0] = 0;
        if (state_reports(name, &i->reports) < 0)
                return log_oom();
        return 0;
}

static cJSON *status_json(const StatusInfo *i) {
        const Sandbox *s = i->sandbox;
        cJSON *o = cJSON_CreateObject(), *egress = i->egress ? cJSON_Parse(i->egress) : NULL;
        bool ok;

        ok = o && cJSON_AddStringToObject(o, "name", s->name) &&
             cJSON_AddStringToObject(o, "unit", i->unit) &&
             json_add_string_or_null(o, "state", i->active) &&
             json_add_string_or_null(o, "substate", i->sub) &&
             (!i->result || cJSON_AddStringToObject(o, "result", i->result)) &&
             cJSON_AddNumberToObject(o, "since_usec", (double) i->since_usec) &&
             cJSON_AddNumberToObject(o, "leader", i->leader) &&
             cJSON_AddStringToObject(o, "description", s->description ?: "") &&
             cJSON_AddStringToObject(o, "user", s->user) &&
             json_add_string_or_null(o, "owner", i->owner) &&
             (i->access >= 0 ? !!cJSON_AddBoolToObject(o, "access", i->access > 0)
                             : !!cJSON_AddNullToObject(o, "access")) &&
             cJSON_AddBoolToObject(o, "stale", i->stale) &&
             json_add_string_or_null(o, "workspace", s->workspace) &&
             cJSON_AddStringToObject(o, "source", s->from) &&
             json_add_string_or_null(o, "image", i->image_id[0] ? i->image_id : NULL) &&
             cJSON_AddBoolToObject(o, "built", i->built > 0) &&
             cJSON_AddStringToObject(o, "mode", network_mode_to_string(s->network_mode)) &&
             (egress ? cJSON_AddItemToObject(o, "egress", egress) : !!cJSON_AddNullToObject(o, "egress")) &&
             cJSON_AddItemToObject(o, "reports", json_string_array(i->reports));
        if (!ok) {
                if (!cJSON_GetObjectItemCaseSensitive(o, "egress"))
                        cJSON_Delete(egress);
                cJSON_Delete(o);
                return NULL;
        }
        return o;
}

static void format_time(uint64_t usec, char *buf, size_t size) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "-");
}

static void print_image(const StatusInfo *i) {
        const char *from = i->sandbox->from;

        if (!i->image_id[0]) {
                printf("      Image: unknown, from %s (see the error above)\n", from);
                return;
        }
        printf("      Image: %.12s from %s (%s)\n", i->image_id, from,
               i->built > 0 ? "built" : i->built == -EACCES ? "not visible to this user" : "not built");
}

static void print_network(const StatusInfo *i) {
        const Sandbox *s = i->sandbox;

        printf("    Network: %s", network_mode_to_string(s->network_mode));
        if (s->network_mode == NETWORK_STRICT)
                printf(", %zu allowed domains, %zu allowed addresses", strv_length(s->allow_domains),
                       strv_length(s->allow_addresses));
        putchar('\n');
        if (i->egress)
                printf("     Egress: %s\n", i->egress);
}

static void print_reports(const StatusInfo *i) {
        STRV_FOREACH(p, i->reports) {
                _cleanup_free_ char *text = NULL;

                printf("     Report: %s\n", *p);
                if (read_full_file(*p, 64 * 1024, &text, NULL) >= 0)
                        printf("%s%s", text, endswith(text, "\n") ? "" : "\n");
        }
}

static void status_print(const StatusInfo *i) {
        const Sandbox *s = i->sandbox;
        const char *c = active_state_color(i->active);
        bool active = streq_ptr(i->active, "active");
        char since[64];

        format_time(i->since_usec, since, sizeof(since));
        printf("%s%s%s - %s\n", ansi(ANSI_BOLD), s->name, ansi(ANSI_NORMAL),
               s->description ?: "(no description)");
        printf("       Unit: %s\n", i->unit);
        printf("     Active: %s%s%s (%s)%s%s\n", c, i->active ?: "unknown", *c ? ansi(ANSI_NORMAL) : "",
               i->sub ?: "unknown", active ? " since " : "", active ? since : "");
        if (i->result && !streq(i->result, "success"))
                printf("     Result: %s%s%s\n", ansi(ANSI_RED), i->result, ansi(ANSI_NORMAL));
        if (i->leader > 0)
                printf("    Machine: %s (leader PID %u)\n", s->name, i->leader);
        else
                printf("    Machine: not running\n");
        printf("       User: %s\n", s->user);
        if (i->owner)
                printf("      Owner: %s%s\n", i->owner,
                       i->access > 0 ? " (you may use it)" : i->access == 0 ? " (you may not use it)" : "");
        if (i->stale)
                printf("%s   Declared: changed since daemon-reload; run \"systemctl daemon-reload\"%s\n",
                       ansi(ANSI_RED), ansi(ANSI_NORMAL));
        printf("  Workspace: %s\n", s->workspace ?: "-");
        print_image(i);
        print_network(i);
        print_reports(i);
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
                _cleanup_(status_info_done) StatusInfo info = {.access = -1};

                r = sandbox_load_named(dirs, argv[i], &info.sandbox);
                if (r != 0) {
                        if (ret == 0 || r == EXIT_NO_SUCH_SANDBOX)
                                ret = r;
                        continue;
                }
                r = status_collect(bus, &info);
                if (r < 0)
                        goto finish;
                if (!streq_ptr(info.active, "active") && ret == 0)
                        ret = EXIT_NOT_RUNNING;
                if (all) {
                        if (!cJSON_AddItemToArray(all, status_json(&info))) {
                                r = log_oom();
                                goto finish;
                        }
                        continue;
                }
                if (i > 1)
                        putchar('\n');
                status_print(&info);
        }
        r = all ? output_json(TAKE_PTR(all)) : 0;
finish:
        cJSON_Delete(all);
        pager_close();
        return r < 0 ? r : ret;
}
