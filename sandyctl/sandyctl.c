/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl: the command-line front end, in the manner of systemctl and machinectl. */
#include <getopt.h>
#include <string.h>

#include "log.h"
#include "output.h"
#include "sandyctl.h"

bool arg_json = false;
bool arg_json_pretty = false;
bool arg_no_pager = false;
const char *arg_host = NULL;
bool arg_ask_password = true;
bool arg_no_progress = false;
bool arg_legend = true;
bool arg_quiet = false;

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* counting the verb itself; -1 = any */
        VerbFunction *run;
} Verb;

static const Verb verbs[] = {
        {"verify", 1, -1, verb_verify},
        {"cat", 2, -1, verb_cat},
        {"images", 1, -1, verb_images},
        {"list", 1, 1, verb_list},
        {"status", 2, -1, verb_status},
        {"build", 2, -1, verb_build},
        {"start", 2, -1, verb_start},
        {"stop", 2, -1, verb_start},
        {"restart", 2, -1, verb_start},
        {"shell", 2, -1, verb_shell},
        {"logs", 2, -1, verb_logs},
        {"doctor", 1, 1, verb_doctor},
        {"exec", 3, -1, verb_exec},
        {"reset", 2, -1, verb_reset},
        {"egress", 2, -1, verb_egress},
};

bool verb_take_option(int *argc, char ***argv, const char *option) {
        if (*argc < 2 || !streq((*argv)[1], option))
                return false;
        (*argc)--;
        (*argv)++;
        return true;
}

static int help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Control sandy sandboxes.\n\n"
               "Commands:\n"
               "  verify [--dropin] [FILE|NAME...]\n"
               "                          Check sandbox files (all declared ones if none given)\n"
               "  cat NAME...             Show the effective declaration after drop-ins\n"
               "  images                  List the images declared sandboxes use, built or not\n"
               "  images rm ID|NAME...    Remove images (by ID or ID prefix, or a sandbox's image)\n"
               "  images prune            Remove the images no declaration names\n"
               "  list                    List sandboxes: state, image, mode, address, workspace\n"
               "  status NAME...          Show unit, resources, image, declaration, errors and egress\n"
               "  build [--force] NAME... Build the images of sandboxes, with progress\n"
               "  start NAME...           Start sandboxes (sandy@NAME.service), building missing images\n"
               "  stop NAME...            Stop sandboxes\n"
               "  restart NAME...         Restart sandboxes\n"
               "  shell NAME [-- CMD...]  Shell (or CMD) as the sandbox user, in the workspace\n"
               "  logs [-f] [-n N] NAME...\n"
               "                          Journal of the sandboxes and their network units\n"
               "  exec NAME [--] CMD...   Run CMD (argv as given) as the sandbox user, in the workspace;\n"
               "                          exits with its status\n"
               "  reset NAME...           Discard what stopped sandboxes kept (Ephemeral=no, PersistHome=)\n"
               "  egress NAME...          Show what sandboxes may reach: mode, rules, learned addresses\n"
               "  doctor                  Check that this host can run sandboxes\n\n"
               "Options:\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "     --json=pretty|short  Print JSON (list, status, images, doctor)\n"
               "     --no-legend          Do not print the column headers and the footer of listings\n"
               "  -q --quiet              Listings: only the first column (names, image IDs); otherwise\n"
               "                          only warnings and errors\n"
               "     --no-pager           Do not pipe output into a pager\n"
               "     --no-ask-password    Do not ask for a password to authorize\n"
               "     --no-progress        Do not show a progress bar (build)\n"
               "  -H --host=[USER@]HOST   Operate on a remote host over ssh (every verb; see "
               "sandyctl(1))\n\n"
               "See sandyctl(1) and sandy.sandbox(5).\n",
               program_invocation_short_name);
        return 0;
}

static int version(void) {
        puts(PACKAGE_STRING);
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_PAGER,
                ARG_NO_ASK_PASSWORD,
                ARG_NO_PROGRESS,
                ARG_NO_LEGEND
        };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"json", required_argument, NULL, ARG_JSON},
                {"no-pager", no_argument, NULL, ARG_NO_PAGER},
                {"no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD},
                {"no-progress", no_argument, NULL, ARG_NO_PROGRESS},
                {"host", required_argument, NULL, 'H'},
                {"no-legend", no_argument, NULL, ARG_NO_LEGEND},
                {"quiet", no_argument, NULL, 'q'},
                {},
        };
        int c, r;

        /* "+" stops at the first non-option, so "exec NAME -- cmd -x" keeps its own options. */
        while ((c = getopt_long(argc, argv, "+hH:q", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        return version();
                case ARG_JSON:
                        r = output_parse_json_mode(optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_NO_PAGER:
                        arg_no_pager = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_NO_PROGRESS:
                        arg_no_progress = true;
                        break;
                case 'H':
                        arg_host = optarg;
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                default:
                        return -EINVAL;
                }
        return 1;
}

int main(int argc, char *argv[]) {
        int r, n;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 1 : 0;

        /* --quiet: what succeeded goes unsaid; warnings and errors are still shown. */
        if (arg_quiet)
                log_set_max_level(LOG_WARNING);
        n = argc - optind;
        if (n == 0)
                return log_error_errno(EINVAL, "Missing command. See '%s --help'.", program_invocation_short_name),
                       1;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                const Verb *v = &verbs[i];
                if (!streq(argv[optind], v->name))
                        continue;
                if (n < v->min_args)
                        return log_error_errno(EINVAL, "Too few arguments for '%s'.", v->name), 1;
                if (v->max_args >= 0 && n > v->max_args)
                        return log_error_errno(EINVAL, "Too many arguments for '%s'.", v->name), 1;
                r = v->run(n, argv + optind);
                return r < 0 ? 1 : r; /* verbs may return an exit status such as EXIT_NO_SUCH_SANDBOX */
        }
        return log_error_errno(EINVAL, "Unknown command '%s'. See '%s --help'.", argv[optind],
                               program_invocation_short_name),
               1;
}
