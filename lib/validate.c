/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"
#include "validate.h"

static bool all_chars_in(const char *s, const char *extra) {
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr(extra, *s))
                        return false;
        return true;
}

bool user_name_is_valid(const char *s) {
        /* The portable subset useradd accepts; root is refused: the agent must not be root inside. */
        if (isempty(s) || strlen(s) > 31 || streq(s, "root"))
                return false;
        if (!(islower((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (const char *c = s; *c; c++)
                if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '_' && *c != '-')
                        return false;
        return true;
}

bool env_name_is_valid(const char *s) {
        if (isempty(s) || strlen(s) > 255 || isdigit((unsigned char) s[0]))
                return false;
        return all_chars_in(s, "_");
}

bool credential_id_is_valid(const char *s) {
        if (isempty(s) || strlen(s) > 255 || s[0] == '.')
                return false;
        return all_chars_in(s, "_.-@");
}

bool package_name_is_valid(const char *s) {
        const char *eq;

        /* name[:arch][=version], Debian policy 5.6.1 for the name. */
        if (isempty(s) || strlen(s) > 255 || !(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return false;
        eq = strchr(s, '=');
        for (const char *c = s; *c && c != eq; c++)
                if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && !strchr("+.-:", *c))
                        return false;
        return !eq || (eq[1] && all_chars_in(eq + 1, ".+~:-"));
}

bool suite_name_is_valid(const char *s) {
        if (isempty(s) || strlen(s) > 64 || !isalpha((unsigned char) s[0]))
                return false;
        for (const char *c = s; *c; c++)
                if (!islower((unsigned char) *c) && !isdigit((unsigned char) *c) && *c != '-')
                        return false;
        return true;
}

bool container_ref_is_valid(const char *s) {
        /* registry/path[:tag][@sha256:hex]; the full grammar is checked when the image is pulled
         * (image/registry.c, registry_ref_parse()); here we only keep out
         * anything that could be read as an option, a path escape or a second word. */
        if (isempty(s) || strlen(s) > 1024 || !isalnum((unsigned char) s[0]) || strstr(s, ".."))
                return false;
        return all_chars_in(s, "._/:@-");
}

int domain_normalize(char *s) {
        size_t n, label = 0;
        unsigned labels = 1;

        if (startswith(s, "*."))
                memmove(s, s + 2, strlen(s + 2) + 1);
        n = strlen(s);
        if (n > 0 && s[n - 1] == '.') /* fully qualified form */
                s[--n] = 0;
        if (n == 0 || n > 253)
                return -EINVAL;

        for (size_t i = 0; i < n; i++) {
                char c = (char) tolower((unsigned char) s[i]);
                s[i] = c;
                if (c == '.') {
                        if (label == 0 || s[i - 1] == '-')
                                return -EINVAL;
                        label = 0;
                        labels++;
                        continue;
                }
                if (!isalnum((unsigned char) c) && c != '-' && c != '_')
                        return -EINVAL;
                if (c == '-' && label == 0)
                        return -EINVAL;
                if (++label > 63)
                        return -EINVAL;
        }
        if (label == 0 || s[n - 1] == '-')
                return -EINVAL;
        /* A bare top-level domain would allow a whole TLD; nobody means that. */
        if (labels < 2)
                return -EDOM;
        return 0;
}

static int parse_prefix(const char *s, unsigned max, unsigned *ret) {
        uint64_t v;

        if (safe_atou64(s, &v) < 0 || v > max || strlen(s) > 3)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* One port or range: "N" or "FIRST-LAST", 1..65535, FIRST < LAST. */
static int parse_port_item(const char *s, uint16_t *ret_first, uint16_t *ret_last) {
        _cleanup_free_ char *a = NULL;
        const char *dash = strchr(s, '-');
        uint16_t first, last;

        a = dash ? strndup(s, (size_t) (dash - s)) : strdup(s);
        if (!a)
                return -ENOMEM;
        if (strlen(a) > 5 || safe_atou16(a, &first) < 0 || first == 0)
                return -ERANGE;
        last = first;
        if (dash && (strlen(dash + 1) > 5 || safe_atou16(dash + 1, &last) < 0 || last <= first))
                return -ERANGE;
        *ret_first = first;
        *ret_last = last;
        return 0;
}

int port_list_normalize(const char *s, char **ret) {
        _cleanup_free_ char *out = NULL;
        const char *p = s;

        if (isempty(s))
                return -ERANGE;
        for (;;) {
                size_t n = strcspn(p, ",");
                _cleanup_free_ char *item = strndup(p, n);
                uint16_t first, last;
                int r;

                if (!item)
                        return -ENOMEM;
                r = parse_port_item(item, &first, &last);
                if (r < 0)
                        return r;
                r = first == last ? strextendf(&out, "%s%u", out ? "," : "", first)
                                  : strextendf(&out, "%s%u-%u", out ? "," : "", first, last);
                if (r < 0)
                        return -ENOMEM;
                if (!p[n])
                        break;
                p += n + 1;
        }
        *ret = TAKE_PTR(out);
        return 0;
}

int port_list_parse(const char *s, uint16_t (**ret)[2], size_t *ret_n) {
        _cleanup_free_ uint16_t (*l)[2] = NULL;
        size_t n = 0;

        for (const char *p = s;;) {
                size_t k = strcspn(p, ",");
                _cleanup_free_ char *item = strndup(p, k);
                if (!item)
                        return -ENOMEM;
                uint16_t(*m)[2] = realloc(l, sizeof(*l) * (n + 1));
                if (!m)
                        return -ENOMEM;
                l = m;
                int r = parse_port_item(item, &l[n][0], &l[n][1]);
                if (r < 0)
                        return r;
                n++;
                if (!p[k])
                        break;
                p += k + 1;
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

/* "HOST" and "PORTS" of "HOST:PORTS", where HOST has no ':' (IPv4, domain), or "[V6]:PORTS"/"[V6]"/"V6". */
static int split_host_ports(const char *s, char **ret_host, const char **ret_ports, bool *ret_bracketed) {
        const char *ports = NULL;
        char *host;
        bool bracketed = false;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close)
                        return -EINVAL;
                if (close[1] == ':')
                        ports = close + 2;
                else if (close[1])
                        return -EINVAL;
                host = strndup(s + 1, (size_t) (close - s - 1));
                bracketed = true;
        } else if (strchr(s, ':') && strchr(s, ':') != strrchr(s, ':'))
                host = strdup(s); /* bare IPv6: no ports possible */
        else {
                const char *colon = strchr(s, ':');
                host = colon ? strndup(s, (size_t) (colon - s)) : strdup(s);
                ports = colon ? colon + 1 : NULL;
        }
        if (!host)
                return -ENOMEM;
        *ret_host = host;
        *ret_ports = ports;
        if (ret_bracketed)
                *ret_bracketed = bracketed;
        return 0;
}

int address_parse(const char *s, int *ret_family, unsigned char ret_addr[static 16], unsigned *ret_prefix,
                  char **ret_ports) {
        _cleanup_free_ char *host = NULL, *ports = NULL;
        const char *port_s;
        unsigned char bin[16] = {};
        unsigned prefix;
        bool bracketed;
        char *slash;
        int family, r;

        r = split_host_ports(s, &host, &port_s, &bracketed);
        if (r < 0)
                return r;
        family = bracketed || strchr(host, ':') ? AF_INET6 : AF_INET;

        slash = strchr(host, '/');
        if (slash) {
                *slash = 0;
                if (parse_prefix(slash + 1, family == AF_INET ? 32 : 128, &prefix) < 0)
                        return -EINVAL;
        } else
                prefix = family == AF_INET ? 32 : 128;

        if (inet_pton(family, host, bin) != 1)
                return -EINVAL;
        if (port_s) {
                r = port_list_normalize(port_s, &ports);
                if (r < 0)
                        return r;
        }

        /* Host bits set under the prefix are almost always a typo; refuse rather than guess. */
        unsigned len = family == AF_INET ? 4 : 16;
        for (unsigned bit = prefix; bit < len * 8; bit++)
                if (bin[bit / 8] & (0x80 >> (bit % 8)))
                        return -EADDRNOTAVAIL;

        *ret_family = family;
        memcpy(ret_addr, bin, 16);
        *ret_prefix = prefix;
        if (ret_ports)
                *ret_ports = TAKE_PTR(ports);
        return 0;
}

int address_format(int family, const unsigned char addr[static 16], unsigned prefix, bool always_prefix,
                   char **ret) {
        char buf[INET6_ADDRSTRLEN];

        if (!inet_ntop(family, addr, buf, sizeof(buf)))
                return -errno;
        if (!always_prefix && prefix == (family == AF_INET ? 32u : 128u))
                return xasprintf(ret, "%s", buf);
        return xasprintf(ret, "%s/%u", buf, prefix);
}

bool address_in_range(int family, const unsigned char addr[static 16], unsigned prefix, const char *range) {
        unsigned char r[16];
        unsigned rlen;
        int rfamily;

        if (address_parse(range, &rfamily, r, &rlen, NULL) < 0 || rfamily != family || prefix < rlen)
                return false;
        for (unsigned bit = 0; bit < rlen; bit++)
                if ((addr[bit / 8] ^ r[bit / 8]) & (0x80 >> (bit % 8)))
                        return false;
        return true;
}

int address_normalize(const char *s, char **ret) {
        _cleanup_free_ char *ports = NULL, *a = NULL;
        unsigned char bin[16];
        unsigned prefix;
        int family, r;

        r = address_parse(s, &family, bin, &prefix, &ports);
        if (r >= 0)
                r = address_format(family, bin, prefix, false, &a);
        if (r < 0)
                return r;
        if (!ports) {
                *ret = TAKE_PTR(a);
                return 0;
        }
        return xasprintf(ret, family == AF_INET6 ? "[%s]:%s" : "%s:%s", a, ports);
}

int allow_domain_normalize(char **s) {
        _cleanup_free_ char *host = NULL, *ports = NULL;
        const char *port_s;
        int r;

        if (strchr(*s, '[') || strchr(*s, ']'))
                return -EINVAL;
        r = split_host_ports(*s, &host, &port_s, NULL);
        if (r < 0)
                return r;
        r = domain_normalize(host);
        if (r < 0)
                return r;
        if (port_s) {
                r = port_list_normalize(port_s, &ports);
                if (r < 0)
                        return r;
        }
        char *n = NULL;
        if (ports ? xasprintf(&n, "%s:%s", host, ports) < 0 : !(n = strdup(host)))
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

int allow_domain_split(const char *entry, char **ret_domain, char **ret_ports) {
        const char *colon = strchr(entry, ':');
        char *d = colon ? strndup(entry, (size_t) (colon - entry)) : strdup(entry);
        char *p = colon ? strdup(colon + 1) : NULL;

        if (!d || (colon && !p)) {
                free(d);
                free(p);
                return -ENOMEM;
        }
        *ret_domain = d;
        *ret_ports = p;
        return 0;
}

static bool percent_is_valid(const char *s, uint64_t max) {
        size_t n = strlen(s);
        uint64_t v;

        if (n < 2 || n > 8 || s[n - 1] != '%')
                return false;
        _cleanup_free_ char *num = strndup(s, n - 1);
        return num && safe_atou64(num, &v) >= 0 && v > 0 && v <= max;
}

bool memory_value_is_valid(const char *s) {
        size_t n = strlen(s);
        uint64_t v;

        if (streq(s, "infinity"))
                return true;
        if (n > 0 && s[n - 1] == '%')
                return percent_is_valid(s, 100);
        if (n == 0 || n > 20)
                return false;
        const char *suffix = strchr("KMGT", s[n - 1]);
        _cleanup_free_ char *num = strndup(s, suffix ? n - 1 : n);
        if (!num || safe_atou64(num, &v) < 0 || v == 0)
                return false;
        unsigned shift = suffix ? 10 * (unsigned) (suffix - "KMGT" + 1) : 0;
        return v <= (UINT64_MAX >> shift) && (v << shift) != UINT64_MAX;
}

bool cpu_quota_is_valid(const char *s) {
        /* systemd takes more than 100% to mean several CPUs. */
        return percent_is_valid(s, 100000);
}

bool tasks_value_is_valid(const char *s) {
        uint64_t v;

        if (streq(s, "infinity"))
                return true;
        if (s[0] && s[strlen(s) - 1] == '%')
                return percent_is_valid(s, 100);
        /* systemd reserves UINT64_MAX for "infinity" and refuses it spelled as a number. */
        return safe_atou64(s, &v) >= 0 && v > 0 && v < UINT64_MAX;
}

bool path_is_safe_for_nspawn(const char *p) {
        return !string_has_cc(p) && !strpbrk(p, ":\\\"'");
}

const char *workspace_path_problem(const char *p) {
        /* Directories that are never a project: mounting one would hand the agent the system. */
        static const char *const exact[] = {"/", "/home", "/root", "/var", "/var/lib", "/srv", "/opt", "/tmp",
                                            "/var/tmp", "/mnt", "/media"};
        static const char *const under[] = {"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64",
                                            "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr",
                                            "/var/lib/sandy", "/var/lib/machines", "/var/log", "/var/cache"};

        if (!path_is_absolute(p))
                return "must be an absolute path";
        if (!path_is_normalized(p))
                return "must be normalised (no \"//\", \".\" or \"..\" components, no trailing \"/\")";
        if (!path_is_safe_for_nspawn(p))
                return "must not contain ':', '\\', quotes or control characters";
        for (size_t i = 0; i < ELEMENTSOF(exact); i++)
                if (streq(p, exact[i]))
                        return "must not be the root directory or a top-level system directory";
        for (size_t i = 0; i < ELEMENTSOF(under); i++)
                if (path_startswith(p, under[i]))
                        return "must not be inside a system directory";
        return NULL;
}

int extract_word(const char **p, char **ret) {
        _cleanup_free_ char *w = NULL;
        const char *s = *p;
        size_t n = 0;
        char quote = 0;

        while (*s && isspace((unsigned char) *s))
                s++;
        if (!*s) {
                *p = s;
                *ret = NULL;
                return 0;
        }
        w = malloc(strlen(s) + 1);
        if (!w)
                return -ENOMEM;

        for (; *s; s++) {
                if (quote == '\'') {
                        if (*s == '\'')
                                quote = 0;
                        else
                                w[n++] = *s;
                } else if (quote == '"') {
                        if (*s == '"')
                                quote = 0;
                        else if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                                w[n++] = *++s;
                        else
                                w[n++] = *s;
                } else if (isspace((unsigned char) *s))
                        break;
                else if (*s == '\'' || *s == '"')
                        quote = *s;
                else if (*s == '\\') {
                        if (!s[1])
                                return -EINVAL;
                        w[n++] = *++s;
                } else
                        w[n++] = *s;
        }
        if (quote)
                return -EINVAL;
        w[n] = 0;
        *p = s;
        *ret = TAKE_PTR(w);
        return 1;
}

bool word_is_nspawn_safe(const char *w) {
        /* nspawn reads settings lists with EXTRACT_UNQUOTE|EXTRACT_RETAIN_ESCAPE: backslashes are literal and
         * quoted segments join, so any word can be written (see nspawn_quote_word()) except one that needs
         * a line break or another control character. */
        return !string_has_cc(w);
}
