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

/* Exit statuses beyond 0/1, as systemctl and LSB use them: a verb may return one of these (> 0). */
#define EXIT_NOT_RUNNING 3
#define EXIT_NO_SUCH_SANDBOX 4

/* One file per verb; each returns 0, a negative errno (already logged; exit status 1), or an exit status. */
int verb_verify(int argc, char *argv[]);
int verb_cat(int argc, char *argv[]);
int verb_images(int argc, char *argv[]);
int verb_list(int argc, char *argv[]);
int verb_status(int argc, char *argv[]);
int verb_build(int argc, char *argv[]);
int verb_start(int argc, char *argv[]); /* start, stop, restart */
int verb_shell(int argc, char *argv[]);
int verb_logs(int argc, char *argv[]);
int verb_doctor(int argc, char *argv[]);
int verb_egress(int argc, char *argv[]);
int verb_exec(int argc, char *argv[]);
int verb_reset(int argc, char *argv[]);

/* sandbox-util.c: lookup with uniform messages; 0, EXIT_NO_SUCH_SANDBOX, or -errno (declaration errors). */
struct Sandbox;
int sandbox_load_named(char *const *dirs, const char *name, struct Sandbox **ret);
int sandbox_require_declared(char *const *dirs, const char *name);

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

/* json output helper (verb-list.c): prints per --json=pretty|short and frees. */
struct cJSON;
int json_print_and_free(struct cJSON *j);
