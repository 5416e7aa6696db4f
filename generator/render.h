/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sandbox.h"

/* Text that systemd would read back exactly: '%' doubled (specifiers), no control characters, no trailing
 * backslash (continuation). Returns NULL with errno EINVAL for a value that cannot be written. */
char *unit_escape_value(const char *s);
/* One word for a .nspawn list setting (Parameters=, Environment=): "…" segments, with '"' as '"'. */
char *nspawn_quote_word(const char *w);

/* The generated files. settings_path is where the .nspawn text is written, recorded in the drop-in. */
int sandbox_render_service_dropin(const Sandbox *s, const char *settings_path, char **ret);
int sandbox_render_nspawn(const Sandbox *s, char **ret);
