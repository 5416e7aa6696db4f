/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/* Syntax checks for .sandbox values. Each returns true/false, or 0/-errno where it also normalises. */
bool user_name_is_valid(const char *s);
bool env_name_is_valid(const char *s);
bool credential_id_is_valid(const char *s);
bool package_name_is_valid(const char *s);
bool suite_name_is_valid(const char *s);
bool container_ref_is_valid(const char *s);
/* Lower-cases in place; a leading "*." is dropped (a domain always includes its subdomains). */
int domain_normalize(char *s);
/* "ADDR[/PREFIX][:PORT]" or "[V6ADDR[/PREFIX]]:PORT" -> canonical text. */
int address_normalize(const char *s, char **ret);
/* Size with K/M/G/T suffix (base 1024), a percentage, or "infinity". */
bool memory_value_is_valid(const char *s);
bool cpu_quota_is_valid(const char *s);
bool tasks_value_is_valid(const char *s);
/* Workspace: absolute, normalised, not "/" and not a system directory. Returns NULL or the reason. */
const char *workspace_path_problem(const char *p);
/* Characters that no path we pass to nspawn may contain (its Bind= syntax uses ':' and '\'). */
bool path_is_safe_for_nspawn(const char *p);

/* Word splitting with quotes, as in unit files: '…' is literal, "…" knows \" and \\, elsewhere \X is X.
 * Returns 1 and a word, 0 at the end, -EINVAL on an unterminated quote or trailing backslash. */
int extract_word(const char **p, char **ret);
/* Whether a word survives nspawn's settings parser unchanged once quoted by nspawn_quote_word(). */
bool word_is_nspawn_safe(const char *w);
