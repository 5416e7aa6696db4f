/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "paths.h"
#include "string-util.h"

char *sandbox_unit_name(const char *fmt, const char *name) {
        char *r;

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        if (xasprintf(&r, fmt, name) < 0)
                return NULL;
#pragma GCC diagnostic pop
        return r;
}

static char *join(const char *dir, const char *name, const char *sub) {
        char *r;

        if (xasprintf(&r, "%s/%s%s%s", dir, name, sub ? "/" : "", sub ?: "") < 0)
                return NULL;
        return r;
}

char *sandbox_runtime_path(const char *name, const char *sub) {
        return join(SANDY_RUNTIME_DIR, name, sub);
}

char *sandbox_state_path(const char *name, const char *sub) {
        return join(SANDY_SANDBOX_STATE_DIR, name, sub);
}

char *sandbox_net_path(const char *name, const char *sub) {
        return join(SANDY_NET_DIR, name, sub);
}
