/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl doctor: is this host able to run sandboxes, and what to apt install when not. A check is
 * required when sandy cannot work without it at all, or when a declared sandbox needs it (docker:// needs
 * skopeo, debootstrap: needs debootstrap, lenient/strict need dnsmasq and nftables, Port= needs
 * systemd-socket-proxyd). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <string.h>
#include <sys/statfs.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "fs-util.h"
#include "host-checks.h"
#include "log.h"
#include "output.h"
#include "parse-util.h"
#include "process-util.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "string-util.h"
#include "strv.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

typedef enum Verdict { CHECK_OK, CHECK_WARN, CHECK_MISSING } Verdict;
static const char *const verdict_names[] = {"ok", "warning", "missing"};

/* What declared sandboxes need beyond the base system. */
typedef enum Need { NEED_NONE = -1, NEED_SKOPEO, NEED_DEBOOTSTRAP, NEED_NET, NEED_PROXYD, _NEED_MAX } Need;

typedef struct Doctor {
        cJSON *rows;                 /* one object per check: check, status, required, detail[, fix] */
        char **needed_by[_NEED_MAX]; /* the sandboxes that need each */
        char **workspaces;           /* sandbox, workspace, sandbox, workspace, ... */
        bool failed;                 /* a required check is missing */
} Doctor;

/* A program that is there or not. */
typedef struct Tool {
        const char *name;
        const char *paths[3];
        const char *fix;
        const char *missing; /* the detail when it is not installed */
        bool required;       /* always; otherwise when a sandbox needs it */
        Need need;
} Tool;

static const Tool machined = {"systemd-machined",
                              {"/usr/lib/systemd/systemd-machined", "/lib/systemd/systemd-machined"},
                              "apt install systemd-container", "not installed", true, NEED_NONE};
/* After the checks of the system itself (checks[] below), in this order. */
static const Tool tools[] = {
        {"skopeo", {SKOPEO_BINARY}, "apt install skopeo", "not installed (From=docker://)", false, NEED_SKOPEO},
        {"debootstrap", {"/usr/sbin/debootstrap", "/sbin/debootstrap"}, "apt install debootstrap",
         "not installed (From=debootstrap:)", false, NEED_DEBOOTSTRAP},
        {"dnsmasq", {"/usr/sbin/dnsmasq", "/sbin/dnsmasq"}, "apt install dnsmasq-base",
         "not installed (Mode=lenient, Mode=strict)", false, NEED_NET},
        {"systemd-socket-proxyd",
         {"/usr/lib/systemd/systemd-socket-proxyd", "/lib/systemd/systemd-socket-proxyd"},
         "apt install systemd", "not installed (Port=)", false, NEED_PROXYD},
        {"polkitd", {"/usr/lib/polkit-1/polkitd", "/usr/libexec/polkitd"}, "apt install polkitd",
         "not installed (group sandy gets no rights; root only)", false, NEED_NONE},
        {"sandy-helper", {SANDY_LIBEXEC_DIR "/sandy-helper"}, "install sandy (meson install)",
         "not installed (image builds)", true, NEED_NONE},
};

static const char *find_exe(const char *const *candidates, size_t n) {
        for (size_t i = 0; i < n && candidates[i]; i++)
                if (access(candidates[i], X_OK) >= 0)
                        return candidates[i];
        return NULL;
}

/* First line of `exe --version`, or NULL. */
static char *version_line(const char *exe) {
        _cleanup_free_ char *cmd = NULL;
        char buf[256];
        FILE *p;

        if (xasprintf(&cmd, "'%s' --version 2>/dev/null", exe) < 0)
                return NULL;
        p = popen(cmd, "re");
        if (!p)
                return NULL;
        if (!fgets(buf, sizeof(buf), p))
                buf[0] = 0;
        pclose(p);
        buf[strcspn(buf, "\n")] = 0;
        return buf[0] ? strdup(buf) : NULL;
}

static bool file_has_word(const char *path, const char *word) {
        _cleanup_free_ char *text = NULL;

        if (read_full_file(path, 1024 * 1024, &text, NULL) < 0)
                return false;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char *last = strrchr(line, '\t');
                last = last ? last + 1 : line;
                if (streq(strstrip(last), word))
                        return true;
        }
        return false;
}

/* Record one check; takes detail (NULL after a failed allocation). */
static int add(Doctor *d, const char *name, Verdict v, bool required, const char *fix, char *detail) {
        _cleanup_free_ char *text = detail;
        cJSON *o = json_append_object(d->rows);

        if (!o || !cJSON_AddStringToObject(o, "check", name) ||
            !cJSON_AddStringToObject(o, "status", verdict_names[v]) ||
            !cJSON_AddBoolToObject(o, "required", required) ||
            !cJSON_AddStringToObject(o, "detail", text ?: "") ||
            (v != CHECK_OK && !cJSON_AddStringToObject(o, "fix", fix)))
                return log_oom();
        if (required && v == CHECK_MISSING)
                d->failed = true;
        return 0;
}

/* "what; needed by a b" when sandboxes need it, else what. */
static char *needed_by(char *const *names, const char *what) {
        _cleanup_free_ char *list = NULL;
        char *s = NULL;

        if (!names)
                return strdup(what);
        list = strv_join(names, " ");
        if (!list || xasprintf(&s, "%s; needed by %s", what, list) < 0)
                return NULL;
        return s;
}

static int collect_needs(Doctor *d) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        int level = log_get_max_level(), r = 0;

        if (!dirs || sandbox_list_names(dirs, &names) < 0)
                return 0;
        /* Declaration errors are verify's business, not the doctor's. */
        log_set_max_level(LOG_CRIT);
        STRV_FOREACH(name, names) {
                _cleanup_sandbox_free_ Sandbox *s = NULL;
                bool needs[_NEED_MAX];

                if (sandbox_load(dirs, *name, &s) < 0)
                        continue;
                needs[NEED_SKOPEO] = s->from_type == IMAGE_SOURCE_DOCKER;
                needs[NEED_DEBOOTSTRAP] = s->from_type == IMAGE_SOURCE_DEBOOTSTRAP;
                needs[NEED_NET] = IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT);
                needs[NEED_PROXYD] = s->n_ports > 0;
                for (size_t n = 0; r >= 0 && n < _NEED_MAX; n++)
                        if (needs[n])
                                r = strv_extend(&d->needed_by[n], *name);
                if (r >= 0 && s->workspace && (r = strv_extend(&d->workspaces, *name)) >= 0)
                        r = strv_extend(&d->workspaces, s->workspace);
        }
        log_set_max_level(level);
        return r < 0 ? log_oom() : 0;
}

static int check_tool(Doctor *d, const Tool *t) {
        const char *exe = find_exe(t->paths, ELEMENTSOF(t->paths));
        char *const *users = t->need != NEED_NONE ? d->needed_by[t->need] : NULL;

        return add(d, t->name, exe ? CHECK_OK : CHECK_MISSING, t->required || users, t->fix,
                   needed_by(users, exe ?: t->missing));
}

/* systemd-nspawn, version >= 252 (Debian 12) */
static int check_nspawn(Doctor *d) {
        static const char *const paths[] = {"/usr/bin/systemd-nspawn", "/bin/systemd-nspawn"};
        const char *exe = find_exe(paths, ELEMENTSOF(paths));
        _cleanup_free_ char *v = NULL;
        unsigned ver = 0;

        if (!exe)
                return add(d, "systemd-nspawn", CHECK_MISSING, true, "apt install systemd-container",
                           strdup("not installed"));
        v = version_line(exe);
        if (v)
                (void) sscanf(v, "systemd %u", &ver);
        return add(d, "systemd-nspawn", ver >= 252 ? CHECK_OK : CHECK_MISSING, true,
                   "systemd 252 or newer (Debian 12)", strdupf("%s, %s", exe, v ?: "unknown version"));
}

static int check_machined(Doctor *d) {
        return check_tool(d, &machined);
}

/* User namespaces: nspawn's PrivateUsers= needs them. */
static int check_userns(Doctor *d) {
        _cleanup_free_ char *t = NULL;
        uint64_t max = 0;

        if (read_full_file("/proc/sys/user/max_user_namespaces", 64, &t, NULL) >= 0)
                (void) safe_atou64(strstrip(t), &max);
        return add(d, "user namespaces", max > 0 ? CHECK_OK : CHECK_MISSING, true,
                   "sysctl user.max_user_namespaces=15000 (a kernel with CONFIG_USER_NS)",
                   strdupf("user.max_user_namespaces=%" PRIu64, max));
}

/* Debian's knob; root's nspawn does not need it, so this is information only. */
static int check_unprivileged_userns(Doctor *d) {
        _cleanup_free_ char *t = NULL;

        if (read_full_file("/proc/sys/kernel/unprivileged_userns_clone", 64, &t, NULL) < 0)
                return 0;
        return add(d, "unprivileged userns", CHECK_OK, false, "",
                   strdupf("kernel.unprivileged_userns_clone=%s (not needed: nspawn runs as root)",
                                  strstrip(t)));
}

static int check_overlayfs(Doctor *d) {
        bool ov = file_has_word("/proc/filesystems", "overlay");

        return add(d, "overlayfs", ov ? CHECK_OK : CHECK_WARN, true,
                   "modprobe overlay (every sandbox root is an overlay)",
                   strdup(ov ? "in /proc/filesystems" : "not in /proc/filesystems (may load on demand)"));
}

/* Sandboxes are systemd services, machines and transient units: nothing works without systemd as PID 1. */
static int check_pid1(Doctor *d) {
        _cleanup_free_ char *comm = NULL;
        bool booted = sd_booted() > 0;

        (void) read_full_file("/proc/1/comm", 64, &comm, NULL);
        return add(d, "systemd as PID 1", booted ? CHECK_OK : CHECK_MISSING, true,
                   "boot the host with systemd (sandboxes are systemd services)",
                   strdupf("PID 1 is %s%s", comm ? strstrip(comm) : "unknown",
                           booted ? "; /run/systemd/system exists"
                                  : ", not systemd (no /run/systemd/system)"));
}

static int check_cgroup2(Doctor *d) {
        struct statfs sfs;
        bool v2 = statfs("/sys/fs/cgroup", &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;

        return add(d, "cgroup v2", v2 ? CHECK_OK : CHECK_MISSING, true,
                   "boot with systemd.unified_cgroup_hierarchy=1",
                   strdup(v2 ? "/sys/fs/cgroup is cgroup2" : "/sys/fs/cgroup is not a cgroup2 mount"));
}

/* The controllers the limits of every sandbox need (MemoryMax=, TasksMax=, CPUQuota=, with defaults even
 * when a declaration sets none), as this cgroup tree offers them to systemd. Without one, systemd starts
 * the sandbox anyway and that limit silently does nothing. */
static int check_controllers(Doctor *d) {
        static const char *const needed[][2] = {
                {"memory", "MemoryMax="},
                {"pids", "TasksMax="},
                {"cpu", "CPUQuota="},
        };
        _cleanup_free_ char *have = NULL, *missing = NULL;

        if (read_full_file("/sys/fs/cgroup/cgroup.controllers", 4096, &have, NULL) < 0)
                return add(d, "cgroup controllers", CHECK_WARN, false,
                           "a cgroup v2 host offers them in /sys/fs/cgroup/cgroup.controllers",
                           strdup("/sys/fs/cgroup/cgroup.controllers cannot be read"));
        for (size_t i = 0; i < ELEMENTSOF(needed); i++) {
                bool found = false;
                for (const char *w = have; *w;) {
                        size_t n = strcspn(w, " \n");
                        found = found || (n == strlen(needed[i][0]) && strncmp(w, needed[i][0], n) == 0);
                        w += n + strspn(w + n, " \n");
                }
                if (!found && strextendf(&missing, "%s%s (%s not enforced)", missing ? ", " : "", needed[i][0],
                                         needed[i][1]) < 0)
                        return log_oom();
        }
        return add(d, "cgroup controllers", missing ? CHECK_WARN : CHECK_OK, false,
                   "enable them for systemd (in a container: delegate them to it)",
                   missing ? strdupf("missing: %s", missing) : strdup("memory pids cpu"));
}

/* sandy.conf and its drop-ins: an unknown key or a bad value there fails every network setup and every
 * build, so it is reported here too (the messages, file:line, on stderr). */
static int check_config(Doctor *d) {
        _cleanup_(sandy_config_done) SandyConfig c = {};
        const char *path = getenv("SANDY_CONFIG") ?: SANDY_CONFIG_FILE;
        int r = sandy_config_load(NULL, &c);

        return add(d, "sandy.conf", r < 0 ? CHECK_MISSING : CHECK_OK, true,
                   "correct the lines named above (see sandy.conf(5))",
                   r < 0 ? strdupf("%s or %s.d/ has errors", path, path)
                         : strdupf("%s and %s.d/ read without errors", path, path));
}

/* Each declared workspace, as sandy-prepare will mount it: there, a directory reached without a symlink,
 * not root's, and on a file system that takes idmapped mounts (tried for real as root). */
static int check_workspaces(Doctor *d) {
        for (size_t i = 0; d->workspaces && d->workspaces[i] && d->workspaces[i + 1]; i += 2) {
                _cleanup_(workspace_info_done) WorkspaceInfo w = {};
                _cleanup_free_ char *check = strdupf("workspace of %s", d->workspaces[i]);
                const char *path = d->workspaces[i + 1];
                int r;

                if (!check || workspace_inspect(path, &w) < 0)
                        return log_oom();
                if (w.problem)
                        r = add(d, check, CHECK_MISSING, true,
                                w.idmap == IDMAP_NO ? "put the workspace on ext4, xfs or btrfs (tmpfs from Linux 6.3)" :
                                                      "see \"sandyctl verify\" and sandy.sandbox(5), Workspace=",
                                strdupf("%s %s", path, w.problem));
                else if (w.unchecked)
                        r = add(d, check, CHECK_WARN, true, "run sandyctl doctor as root",
                                strdupf("%s: not checked: %s", path, w.unchecked));
                else {
                        _cleanup_free_ char *summary = workspace_summary(&w);
                        r = add(d, check, CHECK_OK, true, "", summary ? strdupf("%s: %s", path, summary) : NULL);
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The helper uses libnftables; the kernel side is what can be missing. As root, ask it. */
static int check_nftables(Doctor *d) {
        static const char *const paths[] = {"/usr/sbin/nft", "/sbin/nft"};
        const char *nft = find_exe(paths, ELEMENTSOF(paths)), *detail;
        char *const *users = d->needed_by[NEED_NET];
        bool kernel = access("/sys/module/nf_tables", F_OK) >= 0;
        Verdict v;

        if (geteuid() == 0 && nft) {
                _cleanup_free_ char *cmd = NULL;
                int st;

                if (xasprintf(&cmd, "'%s' list tables >/dev/null 2>&1", nft) < 0)
                        return log_oom();
                st = system(cmd);
                kernel = st != -1 && exit_status_from_wait(st) == 0;
                detail = kernel ? "nft list tables works" : "nft list tables failed";
        } else
                detail = kernel ? "nf_tables module loaded" : "nf_tables not loaded (run as root to ask nft)";
        v = kernel ? CHECK_OK : (geteuid() == 0 || users ? CHECK_MISSING : CHECK_WARN);
        return add(d, "nftables", v, users, "apt install nftables (kernel nf_tables)",
                   needed_by(users, detail));
}

/* Are the egress tables in force what sandy put there (the host's table inet sandy and each sandbox's own),
 * and which forwarding settings did sandy change? sandy-netctl check compares them with the record; listing
 * nftables needs root. */
static int check_egress(Doctor *d) {
        _cleanup_free_ char *problems = NULL, *fwd = NULL;
        char *const *users = d->needed_by[NEED_NET];
        unsigned tables = 0;
        char line[1024];
        FILE *p;
        int r = 0, st;

        if (geteuid() != 0)
                return add(d, "egress tables", CHECK_WARN, false, "sudo sandyctl doctor",
                           strdup("run as root to compare the egress tables with what sandy set up"));
        p = popen(SANDY_LIBEXEC_DIR "/sandy-netctl check 2>&1", "re");
        if (!p)
                return add(d, "egress tables", CHECK_MISSING, users, "install sandy",
                           strdup("cannot run sandy-netctl check"));
        while (r >= 0 && fgets(line, sizeof line, p)) {
                char *l = strstrip(line);
                if (startswith(l, "forwarding "))
                        r = strextendf(&fwd, "%s%s", fwd ? "; " : "", l + strlen("forwarding "));
                else if (startswith(l, "host ") || startswith(l, "sandbox ")) {
                        tables++;
                        /* "WHAT ok ...", "sandbox NAME ok ..." */
                        if (!strstr(l, " ok ") && !strstr(l, " unchecked "))
                                r = strextendf(&problems, "%s%s", problems ? "; " : "", l);
                } else
                        r = strextendf(&problems, "%s%s", problems ? "; " : "", l);
        }
        st = pclose(p);
        if (r < 0)
                return log_oom();
        if (!problems && (st == -1 || exit_status_from_wait(st) != 0))
                problems = strdup("sandy-netctl check failed");
        Verdict v = problems ? CHECK_MISSING : CHECK_OK;
        char *detail = problems ? TAKE_PTR(problems)
                                : strdupf("%u table%s as sandy set them up", tables, tables == 1 ? "" : "s");
        r = add(d, "egress tables", v, users,
                "sandy-helper restores them within a second; if not: systemctl restart sandy-helper", detail);
        if (r >= 0 && fwd)
                /* Announced, not a fault: put back when the last sandbox stops. */
                r = add(d, "forwarding", CHECK_WARN, false, "put back when no sandbox runs",
                        strdupf("changed by sandy for its sandboxes: %s", fwd));
        return r;
}

/* issue 17: the kernel's per-user and per-namespace limits against what the declared sandboxes take, read
 * from /proc/sys only (sandy never writes them; its sysctl.d drop-in, 60-sandy.conf, raises them at boot).
 * Everything made inside any sandbox is charged to root of the initial user namespace (the owner of the
 * sandboxes' user namespaces), together with the host's own root daemons. Measured per booted sandbox
 * (bench/RESULTS.md): 5 inotify instances with the lean boot, 7-8 without (systemd, dbus-daemon, logind,
 * getty) and a few dozen watches; agents' file watchers take thousands more. Per sandbox: 1 user namespace
 * (agents' own sandboxes nest more), 1-2 network namespaces. No keys: keyctl is refused in sandboxes, so the
 * keyring quotas do not matter. */
#define LIMIT_INOTIFY_PER_BOOTED 8
#define LIMIT_INOTIFY_HOST 32
#define LIMIT_WATCHES_PER_SANDBOX 8192
#define LIMIT_USERNS_PER_SANDBOX 8
#define LIMIT_NETNS_PER_SANDBOX 2
static int check_limits(Doctor *d) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        static const char fix[] =
                        "/usr/lib/systemd/systemd-sysctl 60-sandy.conf (sandy's drop-in; or raise it in "
                        "/etc/sysctl.d; see KERNEL LIMITS in sandy-helper(8))";
        int level = log_get_max_level(), r = 0;
        uint64_t booted = 0, all = 0;

        if (dirs && sandbox_list_names(dirs, &names) >= 0) {
                log_set_max_level(LOG_CRIT);
                STRV_FOREACH(name, names) {
                        _cleanup_sandbox_free_ Sandbox *s = NULL;
                        if (sandbox_load(dirs, *name, &s) < 0)
                                continue;
                        all++;
                        booted += s->boot;
                }
                log_set_max_level(level);
        }

        const struct {
                const char *check, *sysctl, *what, *effect;
                uint64_t n, each, host;
        } limits[] = {
                {"inotify instances", "fs.inotify.max_user_instances", "booted sandboxes", "starts will fail",
                 booted, LIMIT_INOTIFY_PER_BOOTED, LIMIT_INOTIFY_HOST},
                {"inotify watches", "fs.inotify.max_user_watches", "sandboxes", "file watchers will fail", all,
                 LIMIT_WATCHES_PER_SANDBOX, 0},
                {"user namespace count", "user.max_user_namespaces", "sandboxes", "starts will fail", all,
                 LIMIT_USERNS_PER_SANDBOX, 0},
                {"netns count", "user.max_net_namespaces", "sandboxes", "starts will fail", all,
                 LIMIT_NETNS_PER_SANDBOX, 0},
        };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(limits); i++) {
                _cleanup_free_ char *path = NULL, *t = NULL, *host = NULL;
                uint64_t have = 0, need = limits[i].n * limits[i].each + limits[i].host;

                if (xasprintf(&path, "/proc/sys/%s", limits[i].sysctl) < 0)
                        return log_oom();
                for (char *c = path + strlen("/proc/sys/"); *c; c++)
                        if (*c == '.')
                                *c = '/';
                if (read_full_file(path, 64, &t, NULL) < 0 || safe_atou64(strstrip(t), &have) < 0) {
                        r = add(d, limits[i].check, CHECK_WARN, false, fix,
                                strdupf("%s cannot be read", path));
                        continue;
                }
                host = limits[i].host ? strdupf(", %" PRIu64 " for the host's own", limits[i].host) : strdup("");
                if (!host)
                        return log_oom();
                r = add(d, limits[i].check, have >= need ? CHECK_OK : CHECK_WARN, false, fix,
                        strdupf("%s=%" PRIu64 "%s%s; about %" PRIu64 " for %" PRIu64 " declared %s (%" PRIu64
                                " each%s)",
                                limits[i].sysctl, have, have >= need ? "" : ", too low: ",
                                have >= need ? "" : limits[i].effect, need, limits[i].n, limits[i].what,
                                limits[i].each, host));
        }
        return r;
}

/* The checks of the system itself, in the order shown; the tools follow. */
static int (*const checks[])(Doctor *d) = {
        check_pid1,      check_nspawn,  check_machined,    check_userns,   check_unprivileged_userns,
        check_overlayfs, check_cgroup2, check_controllers, check_nftables, check_egress,
        check_config,    check_workspaces,
        check_limits, /* issue 17 */
};

/* Green when ok; yellow for a warning or what is not required; red for what is required and missing. */
static const char *status_color(const cJSON *row) {
        const cJSON *status = cJSON_GetObjectItemCaseSensitive(row, "status");

        if (cJSON_IsString(status) && streq(status->valuestring, verdict_names[CHECK_OK]))
                return ansi(ANSI_GREEN);
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "required")) ||
            !cJSON_IsString(status) || !streq(status->valuestring, verdict_names[CHECK_MISSING]))
                return ansi(ANSI_YELLOW);
        return ansi(ANSI_RED);
}

static const TableColumn columns[] = {
        {.key = "check", .header = "CHECK", .min_width = 22},
        {.key = "status", .header = "STATUS", .min_width = 8, .color = status_color},
        {.key = "required", .header = "REQUIRED", .min_width = 9},
        {.key = "detail", .header = "DETAIL"},
};
static const Table table = {.columns = columns, .n_columns = ELEMENTSOF(columns), .note_key = "fix"};

int verb_doctor(int argc, char *argv[]) {
        Doctor d = {};
        int r;

        /* Whether the other host can run sandboxes is for sandyctl there to find out. */
        if (arg_host)
                return remote_sandyctl(argc, argv);
        d.rows = cJSON_CreateArray();
        r = d.rows ? 0 : log_oom();

        if (r >= 0)
                r = collect_needs(&d);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(checks); i++)
                r = checks[i](&d);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(tools); i++)
                r = check_tool(&d, &tools[i]);
        if (r >= 0)
                r = output_rows(&table, TAKE_PTR(d.rows));
        if (r >= 0 && !arg_json)
                printf("\n%s\n",
                       d.failed ? "Something sandy needs is missing; see the lines marked missing." :
                                  "This host can run sandboxes.");
        pager_close();
        cJSON_Delete(d.rows);
        for (size_t n = 0; n < _NEED_MAX; n++)
                strv_free(d.needed_by[n]);
        strv_free(d.workspaces);
        if (r < 0)
                return r;
        return d.failed ? -ENOPKG : 0;
}
