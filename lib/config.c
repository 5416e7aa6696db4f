/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf-parser.h"
#include "config.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"

void sandy_config_done(SandyConfig *c) {
        c->debootstrap_mirror = mfree(c->debootstrap_mirror);
        c->debootstrap_keyring = mfree(c->debootstrap_keyring);
}

/* "A/P" with no host bits set; family AF_INET or AF_INET6. */
static int parse_prefix(int family, const char *s, void *addr, unsigned *ret_prefix) {
        _cleanup_free_ char *a = strdup(s);
        unsigned max = family == AF_INET ? 32 : 128;
        uint64_t p;
        char *slash;

        if (!a)
                return -ENOMEM;
        slash = strchr(a, '/');
        if (!slash)
                return -EINVAL;
        *slash = 0;
        if (safe_atou64(slash + 1, &p) < 0 || p > max)
                return -EINVAL;
        if (inet_pton(family, a, addr) != 1)
                return -EINVAL;
        const uint8_t *b = addr;
        for (unsigned bit = p; bit < max; bit++)
                if (b[bit / 8] & (0x80 >> (bit % 8)))
                        return -EADDRNOTAVAIL;
        *ret_prefix = p;
        return 0;
}

#define FIELD(f) offsetof(SandyConfig, f)

static int parse_bool(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        int r = parse_boolean(value);

        if (r < 0)
                return log_syntax(file, line, LOG_ERR, EINVAL, "%s= takes a boolean, not \"%s\".", key, value);
        *(bool *) data = r;
        return 0;
}

/* AddressPool= and AddressPool6=: a network ADDRESS/PREFIX with no host bits set. Each sandbox gets a /30
 * and a /126 of them; the IPv6 slot arithmetic works on the low 64 bits. */
static int parse_pool(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        SandyConfig *c = object;
        bool v4 = data == &c->pool4;
        unsigned min = v4 ? 8 : 64, max = v4 ? 30 : 126, p;
        uint8_t a[sizeof(struct in6_addr)];
        int r;

        r = parse_prefix(v4 ? AF_INET : AF_INET6, value, a, &p);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0 || p > max || p < min)
                return log_syntax(file, line, LOG_ERR, EINVAL,
                                  "%s= takes an IPv%c network ADDRESS/PREFIX (prefix %u-%u, no host bits set), "
                                  "not \"%s\".",
                                  key, v4 ? '4' : '6', min, max, value);
        memcpy(data, a, v4 ? sizeof(c->pool4) : sizeof(c->pool6));
        *(v4 ? &c->pool4_prefix : &c->pool6_prefix) = p;
        return 0;
}

static int set_string(char **p, const char *value) {
        char *n = strdup(value);

        if (!n)
                return log_oom();
        free(*p);
        *p = n;
        return 0;
}

static int parse_mirror(const char *file, unsigned line, const char *key, const char *value, void *data,
                        void *object) {
        if (isempty(value)) /* back to the default */
                return set_string(data, SANDY_DEBOOTSTRAP_MIRROR_DEFAULT);
        if (!(startswith(value, "http://") || startswith(value, "https://") || startswith(value, "file:///")) ||
            string_has_cc(value) || strpbrk(value, " \t'\"\\"))
                return log_syntax(file, line, LOG_ERR, EINVAL,
                                  "%s= takes an http://, https:// or file:/// URL, not \"%s\".", key, value);
        return set_string(data, value);
}

static int parse_path(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        if (isempty(value)) {
                *(char **) data = mfree(*(char **) data);
                return 0;
        }
        if (!path_is_normalized(value))
                return log_syntax(file, line, LOG_ERR, EINVAL, "%s= takes an absolute, normalized path, not \"%s\".",
                                  key, value);
        return set_string(data, value);
}

static const ConfKey key_table[] = {
        {"Network", "AddressPool", parse_pool, FIELD(pool4)},
        {"Network", "AddressPool6", parse_pool, FIELD(pool6)},
        {"Network", "IPv6", parse_bool, FIELD(ipv6)},
        {"Network", "StopDNSRebind", parse_bool, FIELD(stop_dns_rebind)},
        {"Image", "DebootstrapMirror", parse_mirror, FIELD(debootstrap_mirror)},
        {"Image", "DebootstrapKeyring", parse_path, FIELD(debootstrap_keyring)},
        {"Image", "DebootstrapNoCheckGPG", parse_bool, FIELD(debootstrap_no_check_gpg)},
};

static int set_defaults(SandyConfig *c) {
        *c = (SandyConfig){.ipv6 = true, .stop_dns_rebind = true};
        if (parse_prefix(AF_INET, SANDY_POOL4_DEFAULT, &c->pool4, &c->pool4_prefix) < 0 ||
            parse_prefix(AF_INET6, SANDY_POOL6_DEFAULT, &c->pool6, &c->pool6_prefix) < 0)
                return -EINVAL;
        c->debootstrap_mirror = strdup(SANDY_DEBOOTSTRAP_MIRROR_DEFAULT);
        return c->debootstrap_mirror ? 0 : -ENOMEM;
}

int sandy_config_load_string(const char *label, const char *text, SandyConfig *c) {
        int r = set_defaults(c);
        if (r < 0)
                return r;
        ConfTable t = {key_table, ELEMENTSOF(key_table), c};
        return conf_parse_string(label, text, strlen(text), conf_table_assign, &t);
}

/* PATH.d/ *.conf in lexical order, as systemd's drop-ins: later assignments override earlier ones. */
static int load_dropins(const char *path, const ConfTable *t) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **names = NULL;
        int n, r = 0;

        if (xasprintf(&dir, "%s.d", path) < 0)
                return log_oom();
        n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Cannot read %s: %m", dir);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;
                if (names[i]->d_name[0] != '.' && endswith(names[i]->d_name, ".conf")) {
                        p = path_join(dir, names[i]->d_name);
                        int k = p ? conf_parse_file(p, conf_table_assign, (void *) t) : log_oom();
                        if (k < 0 && r == 0)
                                r = k;
                }
                free(names[i]);
        }
        free(names);
        return r;
}

int sandy_config_load(const char *path, SandyConfig *c) {
        int r = set_defaults(c), k;
        if (r < 0)
                return r;
        if (!path)
                path = getenv("SANDY_CONFIG") ?: SANDY_CONFIG_FILE;
        ConfTable t = {key_table, ELEMENTSOF(key_table), c};
        if (access(path, F_OK) >= 0)
                r = conf_parse_file(path, conf_table_assign, &t);
        else if (errno != ENOENT)
                r = log_error_errno(errno, "Cannot access %s: %m", path);
        k = load_dropins(path, &t);
        return r < 0 ? r : k;
}

unsigned sandy_config_slots(const SandyConfig *c) {
        unsigned bits4 = 30 - c->pool4_prefix, bits6 = 126 - c->pool6_prefix;
        unsigned bits = bits4 < bits6 ? bits4 : bits6;
        /* Beyond 2^20 sandboxes nothing else scales either. */
        return 1U << (bits > 20 ? 20 : bits);
}
