/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

/* FNV-1a: stable across builds and hosts (nothing seeded), for names that must come out the same on every
 * start (interface names, slot probing), never for anything an attacker could exploit by collision. */
uint32_t fnv1a32(const char *s);
uint64_t fnv1a64(const char *s);

#define SHA256_HEX_LEN 64
/* Lower-case hex of the SHA-256 of data. */
int sha256_hex(const void *data, size_t size, char ret[static SHA256_HEX_LEN + 1]);
