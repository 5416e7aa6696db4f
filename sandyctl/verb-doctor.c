/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl doctor: is this host able to run sandboxes, and what to apt install when not. A check is
 * required when sandy cannot work without it at all, or when a declared sandbox needs it (docker:// needs
 * skopeo, lenient/strict need dnsmasq and nftables, Port= needs systemd-socket-proxyd). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <signal.h>
#include <string.h>
#include <sys/statfs.h>

#include "process-util.h"
#include "log.h"
#include "sandbox.h"
#include "sandyctl.h"
#include "strv.h"
#include "fs-util.h"
#include "parse-util.h"
#include "string-util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

typedef enum Verdict { CHECK_OK, CHECK_WARN, CHECK_MISSING } Verdict;

typedef struct Check {
        const char *name;
        Verdict verdict;
        bool required;
        char *detail;
        const char *fix; /* what to do, e.g. "apt install skopeo" */
} Check;

typedef struct Needs {
        bool skopeo, debootstrap, dnsmasq, nft, proxyd;
        char **why_skopeo, **why_debootstrap, **why_net, **why_proxyd;
} Needs;

static const char *find_exe(const char *const *candidates) {
        for (size_t i = 0; candidates[i]; i++)
                if (access(candidates[i], X_OK) >= 0)
                        return candidates[i];
        return NULL;
}

/* First line of `argv[0] --version`, or NULL. */
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

static int add(Check **checks, size_t *n, const char *name, Verdict v, bool required, const char *fix,
               char *detail) {
        Check *c = realloc(*checks, sizeof(Check) * (*n + 1));
        if (!c) {
                free(detail);
                return log_oom();
        }
        *checks = c;
        c[(*n)++] = (Check){.name = name, .verdict = v, .required = required, .detail = detail, .fix = fix};
        return 0;
}

static char *dupf(const char *fmt, ...) _printf_(1, 2);
static char *dupf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
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

static void collect_needs(Needs *n) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL), **names = NULL;
        int level = log_get_max_level();

        if (!dirs || sandbox_list_names(dirs, &names) < 0)
                return;
        /* Declaration errors are verify's business, not the doctor's. */
        log_set_max_level(LOG_CRIT);
        STRV_FOREACH(name, names) {
                _cleanup_sandbox_free_ Sandbox *s = NULL;
                if (sandbox_load(dirs, *name, &s) < 0)
                        continue;
                if (s->from_type == IMAGE_SOURCE_DOCKER) {
                        n->skopeo = true;
                        (void) strv_extend(&n->why_skopeo, *name);
                }
                if (s->from_type == IMAGE_SOURCE_DEBOOTSTRAP) {
                        n->debootstrap = true;
                        (void) strv_extend(&n->why_debootstrap, *name);
                }
                if (IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT)) {
                        n->dnsmasq = n->nft = true;
                        (void) strv_extend(&n->why_net, *name);
                }
                if (s->n_ports > 0) {
                        n->proxyd = true;
                        (void) strv_extend(&n->why_proxyd, *name);
                }
        }
        log_set_max_level(level);
}

static char *needed_by(char **names, const char *what) {
        _cleanup_free_ char *list = NULL;
        size_t len = 0;

        STRV_FOREACH(n, names)
                len += strlen(*n) + 1;
        list = calloc(len + 1, 1);
        if (!list)
                return NULL;
        STRV_FOREACH(n, names) {
                if (n != names)
                        strcat(list, " ");
                strcat(list, *n);
        }
        return names ? dupf("%s; needed by %s", what, list) : strdup(what);
}

/* Issue 14: are the egress tables in force what sandy put there (the host's table inet sandy and each
 * sandbox's own), and which forwarding settings did sandy change? sandy-netctl check compares them with the
 * record; listing nftables needs root. */
static int check_egress(Check **checks, size_t *n, const Needs *needs) {
        _cleanup_free_ char *problems = NULL, *fwd = NULL;
        unsigned tables = 0;
        char line[1024];
        FILE *p;
        int r, st;

        if (geteuid() != 0)
                return add(checks, n, "egress tables", CHECK_WARN, false, "sudo sandyctl doctor",
                           strdup("run as root to compare the egress tables with what sandy set up"));
        p = popen(SANDY_LIBEXEC_DIR "/sandy-netctl check 2>&1", "re");
        if (!p)
                return add(checks, n, "egress tables", CHECK_MISSING, needs->nft, "install sandy (meson install)",
                           strdup("cannot run sandy-netctl check"));
        while (fgets(line, sizeof line, p)) {
                char *l = strstrip(line);
                if (startswith(l, "forwarding ")) {
                        r = strextendf(&fwd, "%s%s", fwd ? "; " : "", l + strlen("forwarding "));
                } else if (startswith(l, "host ") || startswith(l, "sandbox ")) {
                        tables++;
                        /* "WHAT ok ...", "sandbox NAME ok ..." */
                        r = strstr(l, " ok ") || strstr(l, " unchecked ")
                                    ? 0
                                    : strextendf(&problems, "%s%s", problems ? "; " : "", l);
                } else
                        r = strextendf(&problems, "%s%s", problems ? "; " : "", l);
                if (r < 0) {
                        pclose(p);
                        return log_oom();
                }
        }
        st = pclose(p);
        if (!problems && (st == -1 || exit_status_from_wait(st) != 0))
                problems = strdup("sandy-netctl check failed");
        Verdict v = problems ? CHECK_MISSING : CHECK_OK;
        char *detail = problems ? TAKE_PTR(problems) : dupf("%u table%s as sandy set them up", tables, tables == 1 ? "" : "s");
        r = add(checks, n, "egress tables", v, needs->nft,
                "sandy-helper restores them within a second; if not: systemctl restart sandy-helper", detail);
        if (r >= 0 && fwd)
                /* Announced, not a fault: put back when the last sandbox stops. */
                r = add(checks, n, "forwarding", CHECK_WARN, false, "put back when no sandbox runs",
                        dupf("changed by sandy for its sandboxes: %s", fwd));
        return r;
}

int verb_doctor(int argc, char *argv[]) {
        static const char *const nspawn_paths[] = {"/usr/bin/systemd-nspawn", "/bin/systemd-nspawn", NULL},
                                 *machined_paths[] = {"/usr/lib/systemd/systemd-machined",
                                                      "/lib/systemd/systemd-machined", NULL},
                                 *skopeo_paths[] = {"/usr/bin/skopeo", NULL},
                                 *debootstrap_paths[] = {"/usr/sbin/debootstrap", "/sbin/debootstrap", NULL},
                                 *dnsmasq_paths[] = {"/usr/sbin/dnsmasq", "/sbin/dnsmasq", NULL},
                                 *proxyd_paths[] = {"/usr/lib/systemd/systemd-socket-proxyd",
                                                    "/lib/systemd/systemd-socket-proxyd", NULL},
                                 *nft_paths[] = {"/usr/sbin/nft", "/sbin/nft", NULL},
                                 *polkitd_paths[] = {"/usr/lib/polkit-1/polkitd", "/usr/libexec/polkitd", NULL},
                                 *helper_paths[] = {SANDY_LIBEXEC_DIR "/sandy-helper", NULL};
        Needs needs = {};
        Check *checks = NULL;
        size_t n = 0;
        const char *exe;
        struct statfs sfs;
        bool failed = false;
        int r = 0;

        collect_needs(&needs);

        /* systemd-nspawn, version >= 252 (Debian 12) */
        exe = find_exe(nspawn_paths);
        if (!exe)
                r = add(&checks, &n, "systemd-nspawn", CHECK_MISSING, true, "apt install systemd-container",
                        strdup("not installed"));
        else {
                _cleanup_free_ char *v = version_line(exe);
                unsigned ver = 0;
                if (v)
                        (void) sscanf(v, "systemd %u", &ver);
                r = add(&checks, &n, "systemd-nspawn", ver >= 252 ? CHECK_OK : CHECK_MISSING, true,
                        "systemd 252 or newer (Debian 12)", dupf("%s, %s", exe, v ?: "unknown version"));
        }
        if (r >= 0) {
                exe = find_exe(machined_paths);
                r = add(&checks, &n, "systemd-machined", exe ? CHECK_OK : CHECK_MISSING, true,
                        "apt install systemd-container", strdup(exe ?: "not installed"));
        }

        /* User namespaces: nspawn's PrivateUsers= needs them. */
        if (r >= 0) {
                _cleanup_free_ char *t = NULL;
                uint64_t max = 0;
                if (read_full_file("/proc/sys/user/max_user_namespaces", 64, &t, NULL) >= 0)
                        (void) safe_atou64(strstrip(t), &max);
                r = add(&checks, &n, "user namespaces", max > 0 ? CHECK_OK : CHECK_MISSING, true,
                        "sysctl user.max_user_namespaces=15000 (a kernel with CONFIG_USER_NS)",
                        dupf("user.max_user_namespaces=%" PRIu64, max));
        }
        if (r >= 0) {
                _cleanup_free_ char *t = NULL;
                /* Debian's knob; root's nspawn does not need it, so this is information only. */
                if (read_full_file("/proc/sys/kernel/unprivileged_userns_clone", 64, &t, NULL) >= 0)
                        r = add(&checks, &n, "unprivileged userns", CHECK_OK, false, "",
                                dupf("kernel.unprivileged_userns_clone=%s (not needed: nspawn runs as root)",
                                     strstrip(t)));
        }
        if (r >= 0) {
                bool ov = file_has_word("/proc/filesystems", "overlay");
                r = add(&checks, &n, "overlayfs", ov ? CHECK_OK : CHECK_WARN, true,
                        "modprobe overlay (every sandbox root is an overlay)",
                        strdup(ov ? "in /proc/filesystems" : "not in /proc/filesystems (may load on demand)"));
        }
        if (r >= 0) {
                bool v2 = statfs("/sys/fs/cgroup", &sfs) >= 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
                r = add(&checks, &n, "cgroup v2", v2 ? CHECK_OK : CHECK_MISSING, true,
                        "boot with systemd.unified_cgroup_hierarchy=1",
                        strdup(v2 ? "/sys/fs/cgroup is cgroup2" : "/sys/fs/cgroup is not a cgroup2 mount"));
        }
        if (r >= 0) {
                /* The helper uses libnftables; the kernel side is what can be missing. As root, ask it. */
                bool kernel = access("/sys/module/nf_tables", F_OK) >= 0;
                const char *nft = find_exe(nft_paths);
                char *detail;
                Verdict v;

                if (geteuid() == 0 && nft) {
                        _cleanup_free_ char *cmd = NULL;
                        int st;
                        if (xasprintf(&cmd, "'%s' list tables >/dev/null 2>&1", nft) < 0)
                                return log_oom();
                        st = system(cmd);
                        kernel = st != -1 && exit_status_from_wait(st) == 0;
                        detail = strdup(kernel ? "nft list tables works" : "nft list tables failed");
                } else
                        detail = strdup(kernel ? "nf_tables module loaded" :
                                                 "nf_tables not loaded (run as root to ask nft)");
                v = kernel ? CHECK_OK : (geteuid() == 0 || needs.nft ? CHECK_MISSING : CHECK_WARN);
                r = add(&checks, &n, "nftables", v, needs.nft, "apt install nftables (kernel nf_tables)",
                        needed_by(needs.why_net, detail ?: ""));
                free(detail);
        }
        if (r >= 0)
                r = check_egress(&checks, &n, &needs);
        if (r >= 0) {
                exe = find_exe(skopeo_paths);
                r = add(&checks, &n, "skopeo", exe ? CHECK_OK : CHECK_MISSING, needs.skopeo, "apt install skopeo",
                        needed_by(needs.why_skopeo, exe ?: "not installed (From=docker://)"));
        }
        if (r >= 0) {
                exe = find_exe(debootstrap_paths);
                r = add(&checks, &n, "debootstrap", exe ? CHECK_OK : CHECK_MISSING, needs.debootstrap,
                        "apt install debootstrap",
                        needed_by(needs.why_debootstrap, exe ?: "not installed (From=debootstrap:)"));
        }
        if (r >= 0) {
                exe = find_exe(dnsmasq_paths);
                r = add(&checks, &n, "dnsmasq", exe ? CHECK_OK : CHECK_MISSING, needs.dnsmasq,
                        "apt install dnsmasq-base",
                        needed_by(needs.why_net, exe ?: "not installed (Mode=lenient, Mode=strict)"));
        }
        if (r >= 0) {
                exe = find_exe(proxyd_paths);
                r = add(&checks, &n, "systemd-socket-proxyd", exe ? CHECK_OK : CHECK_MISSING, needs.proxyd,
                        "apt install systemd", needed_by(needs.why_proxyd, exe ?: "not installed (Port=)"));
        }
        if (r >= 0) {
                exe = find_exe(polkitd_paths);
                r = add(&checks, &n, "polkitd", exe ? CHECK_OK : CHECK_MISSING, false, "apt install polkitd",
                        strdup(exe ?: "not installed (group sandy gets no rights; root only)"));
        }
        if (r >= 0) {
                exe = find_exe(helper_paths);
                r = add(&checks, &n, "sandy-helper", exe ? CHECK_OK : CHECK_MISSING, true,
                        "install sandy (meson install)", strdup(exe ?: "not installed (image builds)"));
        }

        for (size_t i = 0; i < n; i++)
                if (checks[i].required && checks[i].verdict == CHECK_MISSING)
                        failed = true;

        if (r >= 0 && arg_json) {
                cJSON *a = cJSON_CreateArray();
                for (size_t i = 0; a && i < n; i++) {
                        cJSON *o = cJSON_CreateObject();
                        cJSON_AddItemToArray(a, o);
                        cJSON_AddStringToObject(o, "check", checks[i].name);
                        cJSON_AddStringToObject(o, "status", checks[i].verdict == CHECK_OK     ? "ok" :
                                                             checks[i].verdict == CHECK_WARN   ? "warning" :
                                                                                                 "missing");
                        cJSON_AddBoolToObject(o, "required", checks[i].required);
                        cJSON_AddStringToObject(o, "detail", checks[i].detail ?: "");
                        if (checks[i].verdict != CHECK_OK)
                                cJSON_AddStringToObject(o, "fix", checks[i].fix);
                }
                r = json_print_and_free(a);
        } else if (r >= 0) {
                pager_open();
                printf("%s%-22s %-8s %-9s %s%s\n", ansi(ANSI_BOLD), "CHECK", "STATUS", "REQUIRED", "DETAIL",
                       ansi(ANSI_NORMAL));
                for (size_t i = 0; i < n; i++) {
                        const Check *c = &checks[i];
                        const char *col = c->verdict == CHECK_OK ? ansi(ANSI_GREEN) :
                                          c->verdict == CHECK_WARN || !c->required ? ansi(ANSI_YELLOW) :
                                                                                     ansi(ANSI_RED);
                        const char *word = c->verdict == CHECK_OK ? "ok" : c->verdict == CHECK_WARN ? "warning" :
                                                                                                     "missing";
                        printf("%-22s %s%-8s%s %-9s %s\n", c->name, col, word, ansi(ANSI_NORMAL),
                               c->required ? "yes" : "no", c->detail ?: "");
                        if (c->verdict != CHECK_OK && !isempty(c->fix))
                                printf("%-22s %-8s %-9s -> %s\n", "", "", "", c->fix);
                }
                printf("\n%s\n", failed ? "Something sandy needs is missing; see the lines marked missing." :
                                          "This host can run sandboxes.");
                pager_close();
        }
        for (size_t i = 0; i < n; i++)
                free(checks[i].detail);
        free(checks);
        strv_free(needs.why_skopeo);
        strv_free(needs.why_debootstrap);
        strv_free(needs.why_net);
        strv_free(needs.why_proxyd);
        if (r < 0)
                return r;
        return failed ? -ENOPKG : 0;
}
