/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* Global options, parsed in sandyctl.c. */
extern bool arg_json;
extern bool arg_json_pretty;
extern bool arg_no_pager;

/* One file per verb; each returns 0 or a negative errno (already logged). */
int verb_verify(int argc, char *argv[]);
int verb_cat(int argc, char *argv[]);
int verb_images(int argc, char *argv[]);
