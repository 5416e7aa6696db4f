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
/* Ports of AllowAddress= and AllowDomain=: "PORT[,PORT...]", each 1-65535 or a range FIRST-LAST
 * (FIRST < LAST). -ERANGE when not. port_list_parse() gives the [first, last] pairs. */
int port_list_normalize(const char *s, char **ret);
int port_list_parse(const char *s, uint16_t (**ret)[2], size_t *ret_n);
/* "ADDR[/PREFIX][:PORTS]" or "[V6ADDR[/PREFIX]]:PORTS" or "V6ADDR[/PREFIX]" -> canonical text. address_parse()
 * gives the parts (ret_ports NULL when none given). -EADDRNOTAVAIL: host bits set below the prefix. */
int address_normalize(const char *s, char **ret);
int address_parse(const char *s, int *ret_family, unsigned char ret_addr[static 16], unsigned *ret_prefix,
                  char **ret_ports);
/* The text of address_parse()'s parts: "ADDR/PREFIX", the prefix left out when it covers the whole address
 * unless always_prefix (nft wants it). */
int address_format(int family, const unsigned char addr[static 16], unsigned prefix, bool always_prefix,
                   char **ret);
/* Whether ADDR/PREFIX lies entirely inside range ("ADDR/PREFIX" text of the same family). */
bool address_in_range(int family, const unsigned char addr[static 16], unsigned prefix, const char *range);
/* AllowDomain=: "DOMAIN[:PORTS]", normalised in place (domain_normalize() and port_list_normalize()); and
 * its parts (ret_ports NULL when none given). */
int allow_domain_normalize(char **s);
int allow_domain_split(const char *entry, char **ret_domain, char **ret_ports);
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
