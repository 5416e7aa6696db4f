/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-generator: turns /etc/sandy.d/NAME.sandbox into sandy@NAME.service drop-ins, the .nspawn settings,
 * the systemd-nspawn@NAME.service alias and, for AutoStart=yes, a machines.target.wants link.
 * See systemd.generator(7): it runs early at boot and at every daemon-reload, may only write into the
 * directories it is given, and must not stop at the first bad file. */
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "render-net.h"
#include "render.h"
#include "sandbox.h"
#include "strv.h"
#include "fs-util.h"
#include "path-util.h"
#include "string-util.h"

static bool arg_dry_run = false;
static const char *arg_dest = NULL;

typedef struct Output {
        char **paths; /* written so far for the current sandbox, to undo on failure */
} Output;

/* The absolute path for rel below the output directory, its parent directory created. */
static int output_path(const char *rel, char **ret) {
        _cleanup_free_ char *path = path_join(arg_dest, rel), *dir = NULL;
        int r;

        if (!path)
                return log_oom();
        if (!arg_dry_run) {
                dir = strndup(path, (size_t) (strrchr(path, '/') - path));
                if (!dir)
                        return log_oom();
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return log_error_errno(r, "Failed to create %s: %m", dir);
        }
        *ret = TAKE_PTR(path);
        return 0;
}

/* rel as a file with content, or (content NULL) as a symlink to target; written atomically and recorded. */
static int output_entry(Output *o, const char *rel, const char *content, const char *target) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = output_path(rel, &path);
        if (r < 0)
                return r;
        if (arg_dry_run) {
                if (content)
                        printf("---- %s ----\n%s", path, content);
                else
                        printf("---- %s -> %s ----\n", path, target);
                return 0;
        }
        r = content ? write_file_atomic(path, content, strlen(content), 0644) : symlink_atomic(target, path);
        if (r < 0)
                return log_error_errno(r, content ? "Failed to write %s: %m" : "Failed to create symlink %s: %m",
                                       path);
        return strv_consume(&o->paths, TAKE_PTR(path));
}

static int output_file(Output *o, const char *rel, const char *content) {
        return output_entry(o, rel, content, NULL);
}

static int output_symlink(Output *o, const char *rel, const char *target) {
        return output_entry(o, rel, NULL, target);
}

static int generate_one(Sandbox *s) {
        _cleanup_free_ char *settings_rel = NULL, *settings_abs = NULL, *dropin_rel = NULL, *alias_rel = NULL,
                            *wants_rel = NULL, *nspawn = NULL, *dropin = NULL;
        _cleanup_strv_free_ char **written = NULL;
        Output o = {};
        int r;

        if (xasprintf(&settings_rel, "sandy/%s.nspawn", s->name) < 0 ||
            xasprintf(&dropin_rel, SANDBOX_UNIT_FMT ".d/10-sandy.conf", s->name) < 0 ||
            xasprintf(&alias_rel, "systemd-nspawn@%s.service", s->name) < 0 ||
            xasprintf(&wants_rel, "machines.target.wants/" SANDBOX_UNIT_FMT, s->name) < 0)
                return log_oom();
        settings_abs = path_join(arg_dest, settings_rel);
        if (!settings_abs)
                return log_oom();

        r = sandbox_render_nspawn(s, &nspawn);
        if (r >= 0)
                r = sandbox_render_service_dropin(s, settings_abs, &dropin);
        if (r < 0)
                return log_syntax(s->files[0], 0, LOG_ERR, r, "Cannot write settings for sandbox %s: %m",
                                  s->name);

        r = output_file(&o, settings_rel, nspawn);
        if (r >= 0)
                r = output_file(&o, dropin_rel, dropin);
        if (r >= 0) {
                _cleanup_free_ char *net = NULL, *net_rel = NULL;
                if (sandbox_render_network_dropin(s, &net) < 0 ||
                    xasprintf(&net_rel, SANDBOX_UNIT_FMT ".d/20-network.conf", s->name) < 0)
                        r = log_oom();
                else if (net)
                        r = output_file(&o, net_rel, net);
        }
        /* Port=: a socket unit on the host's loopback and a proxy in the sandbox's network namespace. */
        for (size_t i = 0; r >= 0 && i < s->n_ports; i++) {
                _cleanup_free_ char *sock = NULL, *svc = NULL, *sock_text = NULL, *svc_text = NULL;
                if (sandbox_port_unit_name(s, i, "socket", &sock) < 0 ||
                    sandbox_port_unit_name(s, i, "service", &svc) < 0 ||
                    sandbox_render_port_socket(s, i, &sock_text) < 0 ||
                    sandbox_render_port_service(s, i, &svc_text) < 0)
                        r = log_oom();
                else {
                        r = output_file(&o, sock, sock_text);
                        if (r >= 0)
                                r = output_file(&o, svc, svc_text);
                }
        }
        /* machinectl start NAME starts systemd-nspawn@NAME.service: make that name an alias of ours. */
        if (r >= 0)
                r = output_symlink(&o, alias_rel, SANDY_UNIT_DIR "/" SANDBOX_UNIT_TEMPLATE);
        if (r >= 0 && s->autostart)
                r = output_symlink(&o, wants_rel, SANDY_UNIT_DIR "/" SANDBOX_UNIT_TEMPLATE);

        written = o.paths;
        if (r < 0)
                /* Half a sandbox is worse than none: take back what was written for it. */
                STRV_FOREACH(p, written)
                        (void) unlink(*p);
        return r;
}

static int help(void) {
        printf("%s [OPTIONS...] NORMAL-DIR [EARLY-DIR LATE-DIR]\n\n"
               "Generate sandy@NAME.service drop-ins and settings from sandbox declarations.\n\n"
               "  -h --help       Show this help\n"
               "     --version    Show package version\n"
               "     --dry-run    Print what would be written instead of writing it\n\n"
               "Declarations are read from %s\n"
               "(override with $SANDY_SEARCH_PATH). See sandy.sandbox(5).\n",
               program_invocation_short_name, SANDY_SEARCH_PATH_DEFAULT);
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_DRY_RUN };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"dry-run", no_argument, NULL, ARG_DRY_RUN},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        puts(PACKAGE_STRING);
                        return 0;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        break;
                default:
                        return -EINVAL;
                }

        int n = argc - optind;
        if (!(n == 1 || n == 3 || (arg_dry_run && n == 0)))
                return log_error_errno(EINVAL, "Expected one or three output directories, got %d.", n);
        /* Everything goes into the normal directory: sandboxes neither override /etc nor need to run early. */
        arg_dest = n > 0 ? argv[optind] : "/run/systemd/generator";
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_strv_free_ char **dirs = NULL, **names = NULL;
        unsigned failed = 0;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 1 : 0;

        /* systemd sets $SYSTEMD_SCOPE for generators; only then is the kernel log where messages belong. */
        if (!arg_dry_run && getenv("SYSTEMD_SCOPE"))
                log_open_system("sandy-generator");
        umask(0022);

        dirs = sandbox_search_path(NULL);
        if (!dirs)
                return log_oom(), 1;
        r = sandbox_list_names(dirs, &names);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate sandboxes: %m"), 1;
        failed = log_error_count(); /* badly named files were reported while listing */

        STRV_FOREACH(name, names) {
                _cleanup_sandbox_free_ Sandbox *s = NULL;

                r = sandbox_load(dirs, *name, &s);
                if (r == -ENXIO) {
                        log_debug("Sandbox %s is masked, skipping.", *name);
                        continue;
                }
                if (r < 0) {
                        log_error_errno(r, "Sandbox %s has errors and was not generated.", *name);
                        failed++;
                        continue;
                }
                if (generate_one(s) < 0)
                        failed++;
        }

        log_close();
        return failed > 0 ? 1 : 0;
}
