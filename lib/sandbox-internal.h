/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the parts of the declaration code (sandbox.c, sandbox-keys.c, sandbox-load.c); not for other
 * users, who go through sandbox.h. */
#include "log.h"
#include "sandbox.h"

#define SYNTAX_ERROR(file, line, ...) log_syntax(file, line, LOG_ERR, EINVAL, __VA_ARGS__)

/* A declaration with every default set, before any file is applied. */
Sandbox *sandbox_new(const char *name);
/* conf_assign_t for a Sandbox: the key table of sandbox-keys.c. */
int sandbox_assign(const char *file, unsigned line, const char *section, const char *key, const char *value,
                   void *userdata);
/* The checks that need the whole declaration; fills in defaults that depend on other keys. */
int sandbox_verify(Sandbox *s);
