/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"

int parse_boolean(const char *s); /* 1, 0, or -EINVAL; systemd's spellings */
/* Plain decimal digits only: no sign, space or "0x". -EINVAL or -ERANGE otherwise. */
int safe_atou64(const char *s, uint64_t *ret);
int safe_atou16(const char *s, uint16_t *ret);
