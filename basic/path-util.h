/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

bool path_is_absolute(const char *p);
bool path_is_normalized(const char *p); /* absolute, no "//", "." or ".." components, no trailing "/" */
const char *path_startswith(const char *path, const char *prefix);
char *path_join(const char *a, const char *b);
