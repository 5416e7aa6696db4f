/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl: the command-line front end, in the manner of systemctl and machinectl. */
#include <getopt.h>
#include <string.h>

#include "log.h"
#include "sandyctl.h"

bool arg_json = false;
bool arg_json_pretty = false;
bool arg_no_pager = false;

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* counting the verb itself; -1 = any */
        int (*run)(int argc, char *argv[]);
} Verb;

static const Verb verbs[] = {
        {"verify", 1, -1, verb_verify},
        {"cat", 2, -1, verb_cat},
        {"images", 1, 1, verb_images},
};

static int help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Control sandy sandboxes.\n\n"
               "Commands:\n"
               "  verify [--dropin] [FILE|NAME...]\n"
               "                          Check sandbox files (all declared ones if none given)\n"
               "  cat NAME...             Show the effective declaration after drop-ins\n"
               "  images                  List the images declared sandboxes use, built or not\n\n"
               "Options:\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "     --json=pretty|short  Print JSON (images)\n"
               "     --no-pager           Do not pipe output into a pager\n\n"
               "See sandyctl(1) and sandy.sandbox(5).\n",
               program_invocation_short_name);
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_NO_PAGER };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"json", required_argument, NULL, ARG_JSON},
                {"no-pager", no_argument, NULL, ARG_NO_PAGER},
                {},
        };
        int c;

        /* "+" stops at the first non-option, so "exec NAME -- cmd -x" keeps its own options. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        return help();
                case ARG_VERSION:
                        puts(PACKAGE_STRING);
                        return 0;
                case ARG_JSON:
                        if (!streq(optarg, "pretty") && !streq(optarg, "short"))
                                return log_error_errno(EINVAL, "--json= takes pretty or short, not \"%s\".", optarg);
                        arg_json = true;
                        arg_json_pretty = streq(optarg, "pretty");
                        break;
                case ARG_NO_PAGER:
                        arg_no_pager = true;
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
                return r < 0 ? 1 : 0;
        }
        return log_error_errno(EINVAL, "Unknown command '%s'. See '%s --help'.", argv[optind],
                               program_invocation_short_name),
               1;
}
