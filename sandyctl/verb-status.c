/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl status NAME...: a declaration joined with what systemd, machined and sandy-helper say about it
 * right now, in the manner of systemctl status: the unit's state, resources and last error, the machine,
 * the image, whether the declaration on disk is what systemd has loaded, egress in a few lines, and the
 * reports sandy-prepare kept. Nothing is read from root's files: members of group sandy and -H get what
 * root gets. Collected once into a StatusInfo (NULL or "unknown" values where nothing is known), then shown
 * as text or as JSON. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <time.h>

#include "bus-util.h"
#include "fs-util.h"
#include "hash.h"
#include "helper-client.h"
#include "image.h"
#include "log.h"
#include "output.h"
#include "paths.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

#define UNKNOWN UINT64_MAX

typedef struct StatusInfo {
        Sandbox *sandbox;
        char *unit;
        char *active, *sub, *result;         /* the unit's; NULL when systemd does not say */
        uint64_t since_usec;                 /* ActiveEnterTimestamp, 0 if unknown */
        uint64_t memory, memory_max, cpu_nsec, cpu_quota_usec, tasks, tasks_max; /* UNKNOWN if not known */
        bool tasks_counted;                  /* tasks from cgroup.threads: systemd has no pids controller */
        bool need_reload;                    /* systemd: the declaration file changed since it was loaded */
        char *loaded_digest; /* SANDY_DIGEST_ENV as systemd has the unit loaded, NULL: none */
        uint32_t leader;                     /* the machine's leader PID, 0 when machined does not know it */
        char image_id[IMAGE_ID_HEX_LEN + 1]; /* "" when it cannot be computed (nor sandy-helper says) */
        int built;                           /* 1, 0, -1 unknown */
        char *egress;                        /* the helper's DescribeEgress JSON, NULL without one */
        char *owner;                         /* as sandy-helper says, NULL when it does not */
        int access;                          /* the caller may use it: 1, 0, -1 unknown */
        bool stale;                          /* sandy-helper: the declaration changed since daemon-reload */
        bool state_known;                    /* sandy-helper answered DescribeState */
        char **report_names, **report_texts; /* sandy-prepare's reports (same index) */
        char **errors;                       /* the last warning and error lines since the last start */
} StatusInfo;

static void status_info_done(StatusInfo *i) {
        sandbox_free(i->sandbox);
        free(i->unit);
        free(i->active);
        free(i->sub);
        free(i->result);
        free(i->loaded_digest);
        free(i->egress);
        free(i->owner);
        strv_free(i->report_names);
        strv_free(i->report_texts);
        strv_free(i->errors);
}

/* A uint64 property; UNKNOWN when systemd has none (it says UINT64_MAX itself for "not known"). */
static uint64_t unit_u64(sd_bus *bus, const char *path, const char *property) {
        uint64_t v = UNKNOWN;

        (void) sd_bus_get_property_trivial(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_SERVICE_IFACE, property, NULL, 't',
                                           &v);
        return v;
}

/* Threads in the cgroup tree at dfd, as the pids controller would count them; -errno when unreadable. */
static int64_t count_tasks(int dfd, unsigned depth) {
        _cleanup_close_ int fd = openat(dfd, "cgroup.threads", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char buf[4096];
        int64_t n = 0;
        ssize_t k;
        DIR *d;

        if (fd < 0)
                return -errno;
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                for (ssize_t c = 0; c < k; c++)
                        n += buf[c] == '\n';
        if (k < 0)
                return -errno;
        if (depth >= 32 || !(d = opendir_dup(dfd)))
                return n;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_close_ int sub = -EBADF;
                int64_t m;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                m = sub >= 0 ? count_tasks(sub, depth + 1) : 0;
                n += m > 0 ? m : 0;
        }
        closedir(d);
        return n;
}

/* TasksCurrent needs the pids controller; without it (a container that was not given it) the threads of
 * the unit's cgroup are counted instead, from cgroupfs, which everybody may read. */
static uint64_t tasks_from_cgroup(sd_bus *bus, const char *path) {
        _cleanup_free_ char *cg = NULL, *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        int64_t n;

        if (sd_bus_get_property_string(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_SERVICE_IFACE, "ControlGroup", NULL,
                                       &cg) < 0 ||
            isempty(cg) || strstr(cg, "..") || !(dir = strdupf("/sys/fs/cgroup%s", cg)))
                return UNKNOWN;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return UNKNOWN;
        n = count_tasks(fd, 0);
        return n >= 0 ? (uint64_t) n : UNKNOWN;
}

static int unit_props(sd_bus *bus, StatusInfo *i) {
        _cleanup_free_ char *path = unit_bus_path(i->unit);
        int need_reload = 0, r;

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
        /* The generator sets SourcePath= to the declaration, so systemd notices when it changes. */
        (void) sd_bus_get_property_trivial(bus, SYSTEMD_BUS_NAME, path, SYSTEMD_UNIT_IFACE,
                                           "NeedDaemonReload", NULL, 'b', &need_reload);
        i->need_reload = need_reload;
        i->memory = unit_u64(bus, path, "MemoryCurrent");
        i->memory_max = unit_u64(bus, path, "MemoryMax");
        i->cpu_nsec = unit_u64(bus, path, "CPUUsageNSec");
        i->cpu_quota_usec = unit_u64(bus, path, "CPUQuotaPerSecUSec");
        i->tasks = unit_u64(bus, path, "TasksCurrent");
        if (i->tasks == UNKNOWN && streq(i->active, "active")) {
                i->tasks = tasks_from_cgroup(bus, path);
                i->tasks_counted = i->tasks != UNKNOWN;
        }
        i->tasks_max = unit_u64(bus, path, "TasksMax");
        /* What the generator recorded in the unit (SANDY_DIGEST_ENV), as systemd has it loaded. */
        (void) sandbox_unit_digest(bus, i->sandbox->name, &i->loaded_digest);
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

static void image_status(sd_bus *bus, StatusInfo *i) {
        _cleanup_(helper_images_done) HelperImages stored = {};
        const HelperImage *h;

        i->built = -1;
        if (helper_list_images(bus, "whether the image is built is unknown", &stored) >= 0) {
                h = helper_images_of_sandbox(&stored, i->sandbox->name);
                i->built = !!h;
                if (h) {
                        snprintf(i->image_id, sizeof(i->image_id), "%s", h->id);
                        return;
                }
        }
        (void) sandbox_image_id_quietly(i->sandbox, i->image_id);
}

static int status_collect(sd_bus *bus, StatusInfo *i) {
        const char *name = i->sandbox->name;
        int r;

        if (!(i->unit = sandbox_unit_name(SANDBOX_UNIT_FMT, name)))
                return log_oom();
        i->memory = i->memory_max = i->cpu_nsec = i->cpu_quota_usec = i->tasks = i->tasks_max = UNKNOWN;
        i->built = -1;
        if (!bus) {
                (void) sandbox_image_id_quietly(i->sandbox, i->image_id);
                return 0;
        }
        if (unit_props(bus, i) < 0)
                i->active = mfree(i->active);
        i->leader = machine_leader(bus, name);
        image_status(bus, i);
        r = sandbox_access(bus, name, &i->owner, &i->access);
        if (r == -ENOMEM)
                return log_oom();
        i->stale = r == -ESTALE;
        /* sandy-helper refuses the egress state of sandboxes the caller may not use. */
        if (i->access > 0)
                (void) helper_describe_egress(bus, name, &i->egress);
        r = helper_describe_state(bus, name, &i->report_names, &i->report_texts, &i->errors);
        i->state_known = r >= 0;
        return 0;
}

/* Whether the declaration on disk is what systemd has loaded: 1 yes, 0 no, -1 not known. */
static int declaration_current(const StatusInfo *i) {
        if (i->stale)
                return 0;
        if (i->loaded_digest)
                return streq(i->loaded_digest, i->sandbox->digest);
        if (i->need_reload)
                return 0;
        return i->active ? 1 : -1;
}

static bool add_u64(cJSON *o, const char *key, uint64_t v) {
        return v == UNKNOWN ? !!cJSON_AddNullToObject(o, key) : !!cJSON_AddNumberToObject(o, key, (double) v);
}

static cJSON *reports_json(const StatusInfo *i) {
        cJSON *a = cJSON_CreateArray();

        for (size_t k = 0; a && i->report_names && i->report_names[k]; k++) {
                cJSON *o = json_append_object(a);
                if (!o || !cJSON_AddStringToObject(o, "name", i->report_names[k]) ||
                    !cJSON_AddStringToObject(o, "text", i->report_texts[k])) {
                        cJSON_Delete(a);
                        return NULL;
                }
        }
        return a;
}

static cJSON *status_json(const StatusInfo *i) {
        const Sandbox *s = i->sandbox;
        cJSON *o = cJSON_CreateObject(), *egress = i->egress ? cJSON_Parse(i->egress) : NULL;
        int current = declaration_current(i);
        bool ok;

        ok = o && cJSON_AddStringToObject(o, "name", s->name) &&
             cJSON_AddStringToObject(o, "unit", i->unit) && json_add_string_or_null(o, "state", i->active) &&
             json_add_string_or_null(o, "substate", i->sub) &&
             json_add_string_or_null(o, "result", i->result) &&
             cJSON_AddNumberToObject(o, "since_usec", (double) i->since_usec) &&
             cJSON_AddNumberToObject(o, "leader", i->leader) && add_u64(o, "memory_current", i->memory) &&
             add_u64(o, "memory_max", i->memory_max) && add_u64(o, "cpu_usage_nsec", i->cpu_nsec) &&
             add_u64(o, "cpu_quota_per_sec_usec", i->cpu_quota_usec) &&
             add_u64(o, "tasks_current", i->tasks) && add_u64(o, "tasks_max", i->tasks_max) &&
             cJSON_AddStringToObject(o, "description", s->description ?: "") &&
             cJSON_AddStringToObject(o, "user", s->user) && json_add_string_or_null(o, "owner", i->owner) &&
             (i->access >= 0 ? !!cJSON_AddBoolToObject(o, "access", i->access > 0)
                             : !!cJSON_AddNullToObject(o, "access")) &&
             cJSON_AddBoolToObject(o, "stale", i->stale) &&
             json_add_string_or_null(o, "workspace", s->workspace) &&
             cJSON_AddStringToObject(o, "source", s->from) &&
             json_add_string_or_null(o, "image", i->image_id[0] ? i->image_id : NULL) &&
             (i->built >= 0 ? !!cJSON_AddBoolToObject(o, "built", i->built > 0)
                            : !!cJSON_AddNullToObject(o, "built")) &&
             cJSON_AddStringToObject(o, "declaration_digest", s->digest) &&
             json_add_string_or_null(o, "loaded_declaration_digest", i->loaded_digest) &&
             (current >= 0 ? !!cJSON_AddBoolToObject(o, "declaration_current", current > 0)
                           : !!cJSON_AddNullToObject(o, "declaration_current")) &&
             cJSON_AddStringToObject(o, "mode", network_mode_to_string(s->network_mode)) &&
             (egress ? cJSON_AddItemToObject(o, "egress", egress) : !!cJSON_AddNullToObject(o, "egress")) &&
             (i->state_known ? cJSON_AddItemToObject(o, "last_errors", json_string_array(i->errors))
                             : !!cJSON_AddNullToObject(o, "last_errors")) &&
             cJSON_AddItemToObject(o, "reports", reports_json(i));
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

/* "Label: " with the labels' colons in one column, as systemctl status does; "" continues the one above. */
static void label(const char *l) {
        printf("%12s%s ", l, *l ? ":" : " ");
}

static void print_resources(const StatusInfo *i) {
        _cleanup_free_ char *mem = NULL, *max = NULL;

        if (!streq_ptr(i->active, "active") && !streq_ptr(i->active, "deactivating"))
                return;
        mem = i->memory != UNKNOWN ? format_bytes((double) i->memory) : NULL;
        max = i->memory_max != UNKNOWN ? format_bytes((double) i->memory_max) : NULL;
        label("Memory");
        if (mem)
                printf("%s%s%s%s\n", mem, max ? " (max " : "", max ?: "", max ? ")" : "");
        else
                printf("unknown (no memory controller here)%s%s\n", max ? "; max " : "", max ?: "");
        label("CPU");
        if (i->cpu_nsec != UNKNOWN)
                printf("%.3fs", (double) i->cpu_nsec / 1e9);
        else
                printf("unknown");
        if (i->cpu_quota_usec != UNKNOWN)
                printf(" (quota %" PRIu64 "%%)", i->cpu_quota_usec / 10000);
        putchar('\n');
        label("Tasks");
        if (i->tasks != UNKNOWN)
                printf("%" PRIu64, i->tasks);
        else
                printf("unknown");
        if (i->tasks_max != UNKNOWN)
                printf(" (max %" PRIu64 ")", i->tasks_max);
        if (i->tasks_counted)
                printf(", counted in the cgroup: no pids controller here");
        putchar('\n');
}

static void print_image(const StatusInfo *i) {
        const char *from = i->sandbox->from;

        label("Image");
        if (!i->image_id[0]) {
                printf("unknown, from %s (the recipe cannot be read as this user, or has an error)\n", from);
                return;
        }
        printf("%.12s from %s (%s)\n", i->image_id, from,
               i->built > 0    ? "built"
               : i->built == 0 ? "not built; built on start"
                               : "built or not: unknown");
}

static void print_declaration(const StatusInfo *i) {
        int current = declaration_current(i);
        bool active = streq_ptr(i->active, "active");

        label("Declaration");
        if (current > 0)
                printf("%.12s, as systemd has it loaded\n", i->sandbox->digest);
        else if (current == 0)
                printf("%schanged on disk since the last daemon-reload%s: "
                       "run \"systemctl daemon-reload\"%s; what "
                       "is shown here is the file, not what %s\n",
                       ansi(ANSI_YELLOW), ansi(ANSI_NORMAL), active ? ", then restart the sandbox" : "",
                       active ? "runs" : "would start");
        else
                printf("%.12s (not known whether systemd has it loaded)\n",
                       i->sandbox->digest);
}

/* DescribeEgress in a few lines; "sandyctl egress NAME" shows all of it. */
static void print_egress(const StatusInfo *i) {
        cJSON *o = i->egress ? cJSON_Parse(i->egress) : NULL, *v;
        const char *a4, *a6, *res;
        size_t rules = 0, learned = 0;

        if (!o)
                return;
        label("Egress");
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "active"))) {
                printf("not set up (the sandbox is not running)\n");
                cJSON_Delete(o);
                return;
        }
        v = cJSON_GetObjectItemCaseSensitive(o, "address4");
        a4 = cJSON_IsString(v) ? v->valuestring : NULL;
        v = cJSON_GetObjectItemCaseSensitive(o, "address6");
        a6 = cJSON_IsString(v) ? v->valuestring : NULL;
        v = cJSON_GetObjectItemCaseSensitive(o, "resolver4");
        res = cJSON_IsString(v) ? v->valuestring : NULL;
        printf("address %s%s%s, resolver %s\n", a4 ?: "-", a6 ? " " : "", a6 ?: "", res ?: "-");
        if (i->sandbox->network_mode == NETWORK_STRICT) {
                cJSON *d;
                cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(o, "learned"))
                        learned += (size_t) cJSON_GetArraySize(d);
                label("");
                printf("%zu allowed domains (%zu addresses resolved so far), %zu allowed addresses\n",
                       strv_length(i->sandbox->allow_domains), learned, strv_length(i->sandbox->allow_addresses));
        }
        v = cJSON_GetObjectItemCaseSensitive(o, "rules");
        if (cJSON_IsString(v))
                for (const char *l = v->valuestring; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                        size_t n = strcspn(l, "\n");
                        _cleanup_free_ char *line = strndup(l, n);
                        if (line && (strstr(line, " accept") || strstr(line, " drop") || strstr(line, " reject")))
                                rules++;
                }
        label("");
        printf("%zu nft rules in force; all of it: sandyctl egress %s\n", rules, i->sandbox->name);
        cJSON_Delete(o);
}

/* After a failure: the unit's result and the last warning and error lines. A sandbox that is down without
 * having failed itself (a unit it needs did not start) shows the lines alone, as warnings. */
static void print_last_error(const StatusInfo *i) {
        bool failed = streq_ptr(i->active, "failed") || (i->result && !streq(i->result, "success"));

        if (!failed) {
                if (streq_ptr(i->active, "active") || !i->errors || !i->errors[0])
                        return;
                label("Warnings");
                printf("since the last start:\n");
        } else {
                label("Last error");
                printf("%s%s%s\n", ansi(ANSI_RED), i->result ?: "unknown", ansi(ANSI_NORMAL));
        }
        if (!i->state_known) {
                label("");
                printf("(the journal lines need sandy-helper; see \"sandyctl logs %s\")\n", i->sandbox->name);
        }
        STRV_FOREACH(e, i->errors)
                print_untrusted(stdout, "              ", *e);
}

static void print_reports(const StatusInfo *i) {
        for (size_t k = 0; i->report_names && i->report_names[k]; k++) {
                label("Report");
                printf("%s\n", i->report_names[k]);
                for (const char *l = i->report_texts[k]; l && *l;) {
                        size_t n = strcspn(l, "\n");
                        _cleanup_free_ char *line = strndup(l, n);

                        if (line)
                                print_untrusted(stdout, "              ", line);
                        l += n + (l[n] == '\n');
                }
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
        label("Unit");
        printf("%s\n", i->unit);
        label("Active");
        printf("%s%s%s (%s)%s%s\n", c, i->active ?: "unknown", *c ? ansi(ANSI_NORMAL) : "",
               i->sub ?: "unknown", active ? " since " : "", active ? since : "");
        label("Machine");
        if (i->leader > 0)
                printf("%s (leader PID %u)\n", s->name, i->leader);
        else
                printf("not running\n");
        print_resources(i);
        label("User");
        printf("%s\n", s->user);
        if (i->owner) {
                label("Owner");
                printf("%s%s\n", i->owner,
                       i->access > 0 ? " (you may use it)" : i->access == 0 ? " (you may not use it)" : "");
        }
        label("Workspace");
        printf("%s\n", s->workspace ?: "-");
        print_image(i);
        print_declaration(i);
        label("Network");
        printf("%s", network_mode_to_string(s->network_mode));
        if (s->network_mode == NETWORK_STRICT)
                printf(", %zu allowed domains, %zu allowed addresses", strv_length(s->allow_domains),
                       strv_length(s->allow_addresses));
        putchar('\n');
        print_egress(i);
        print_last_error(i);
        print_reports(i);
}

int verb_status(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        cJSON *all = NULL;
        int r, ret = 0;

        /* The declaration is on the other host: sandyctl there shows it. */
        if (arg_host)
                return remote_sandyctl(argc, argv);
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
