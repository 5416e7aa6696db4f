/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Global options, parsed in sandyctl.c. */
extern bool arg_json;
extern bool arg_json_pretty;
extern bool arg_no_pager;
/* -H user@host (D-Bus verbs over ssh), --no-ask-password, --no-progress. */
extern const char *arg_host;
extern bool arg_ask_password;
extern bool arg_no_progress;
/* --no-legend (no column headers, no footer), --quiet/-q (listings: the first column only; other verbs: no
 * informational messages). */
extern bool arg_legend;
extern bool arg_quiet;

/* Exit statuses beyond 0/1, as systemctl and LSB use them: a verb may return one of these (> 0). */
#define EXIT_NOT_RUNNING 3
#define EXIT_NO_SUCH_SANDBOX 4

/* One file per verb, verb-NAME.c. Each gets the verb and its arguments (argv[0] is the verb) and returns
 * 0, a negative errno (already logged; exit status 1), or an exit status. verb_start() is start, stop and
 * restart. */
typedef int VerbFunction(int argc, char *argv[]);
VerbFunction verb_verify, verb_cat, verb_images, verb_list, verb_status, verb_build, verb_start, verb_shell,
        verb_logs, verb_doctor, verb_egress, verb_exec, verb_reset;
/* verb-build.c: have sandy-helper build the image of sandbox name (force: even when it exists) and follow
 * the job with a progress bar on a terminal. before_start: quiet when it is built, and a refusal or a
 * missing helper is only a notice (the start builds it then). 0 or -errno (logged). */
struct sd_bus;
int build_image(struct sd_bus *bus, const char *name, bool force, bool before_start);
/* -H for a verb that reads declarations: execute "ssh HOST sandyctl [global options] argv..." (remote.c).
 * Returns only on failure. */
int remote_sandyctl(int argc, char *argv[]);
/* Whether argv[1] is the verb's own OPTION (as in "build --force NAME"); if so, it is taken off. */
bool verb_take_option(int *argc, char ***argv, const char *option);

/* sandbox-util.c: lookup with uniform messages; 0, EXIT_NO_SUCH_SANDBOX, or -errno (declaration errors). */
struct Sandbox;
int sandbox_load_named(char *const *dirs, const char *name, struct Sandbox **ret);
/* The same, but with -H only the name is checked (the declarations are on the other host). */
int sandbox_require_declared(char *const *dirs, const char *name);
/* Every one of names, in the default search path, before a verb acts on any: a typo should not leave half
 * the list started. Stops at the first that is not declared. */
int sandbox_require_all_declared(char *const *names, size_t n);
/* sandbox_image_id() without its message: "" and -errno when this user cannot compute it (an unreadable
 * Setup= script). Whether that image is built is sandy-helper's to say (helper-client.h). */
int sandbox_image_id_quietly(const struct Sandbox *s, char id[static 65]);
/* Who owns sandbox NAME and whether the caller may use it, as sandy-helper says (CheckAccess): 1 and
 * *ret_owner, *ret_access (1/0); 0 and NULL/-1 when the helper does not say; -ESTALE when the declaration
 * changed since daemon-reload. */
struct sd_bus;
int sandbox_access(struct sd_bus *bus, const char *name, char **ret_owner, int *ret_access);

/* pager.c */
void pager_open(void);
void pager_close(void);
bool colors_enabled(void);
const char *ansi(const char *code); /* code, or "" without colour */
#define ANSI_RED "\x1B[0;1;31m"
#define ANSI_GREEN "\x1B[0;1;32m"
#define ANSI_YELLOW "\x1B[0;1;33m"
#define ANSI_BOLD "\x1B[0;1;39m"
#define ANSI_GREY "\x1B[0;38;5;245m"
#define ANSI_NORMAL "\x1B[0m"

/* output.c: tables and JSON (see output.h). */
struct cJSON;
int output_json(struct cJSON *j);
/* The name verb-egress.c knows output_json() by. */
#define json_print_and_free output_json
