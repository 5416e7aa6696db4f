/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* References and credentials of docker:// pulls (see registry.h). */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "parse-util.h"
#include "registry.h"
#include "string-util.h"

/* ---- references ---- */

bool registry_digest_is_valid(const char *s) {
        if (!s || !startswith(s, "sha256:") || strlen(s) != 7 + 64)
                return false;
        for (const char *c = s + 7; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

void registry_ref_done(RegistryRef *r) {
        r->domain = mfree(r->domain);
        r->repository = mfree(r->repository);
        r->tag = mfree(r->tag);
        r->digest = mfree(r->digest);
}

/* HOST[:PORT]: letters, digits, '-', '.', an optional port. */
static bool domain_is_valid(const char *s) {
        const char *colon = strrchr(s, ':');
        size_t n = colon ? (size_t)(colon - s) : strlen(s);

        if (n == 0 || n > 253 || !isalnum((unsigned char)s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
                        return false;
        if (colon) {
                size_t d = strspn(colon + 1, "0123456789");
                uint64_t port;
                if (d == 0 || d > 5 || colon[1 + d] || colon[1] == '0' || safe_atou64(colon + 1, &port) < 0 ||
                    port > 65535)
                        return false;
        }
        return true;
}

/* A path component: [a-z0-9]+ with single separators ('.', '_', "__", '-'s) between. */
static bool component_is_valid(const char *s, size_t n) {
        if (n == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                        continue;
                if (c != '.' && c != '_' && c != '-')
                        return false;
                if (c == '.' && (s[i + 1] == '.' || s[i + 1] == '_' || s[i + 1] == '-'))
                        return false;
        }
        return true;
}

static bool tag_is_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

int registry_ref_parse(const char *s, RegistryRef *ret, const char **ret_why) {
        _cleanup_free_ char *name = NULL;
        RegistryRef r = {};
        const char *at, *slash, *why = NULL;
        char *colon;

        *ret = (RegistryRef){};
        if (isempty(s) || strlen(s) > 1024) {
                why = "empty or too long";
                goto invalid;
        }
        at = strchr(s, '@');
        if (at) {
                if (!registry_digest_is_valid(at + 1)) {
                        why = "the digest after '@' is not sha256:<64 lower-case hex digits>";
                        goto invalid;
                }
                r.digest = strdup(at + 1);
                name = strndup(s, (size_t)(at - s));
        } else
                name = strdup(s);
        if (!name || (at && !r.digest))
                goto oom;

        slash = strchr(name, '/');
        if (slash &&
            (memchr(name, '.', (size_t)(slash - name)) || memchr(name, ':', (size_t)(slash - name)) ||
             ((size_t)(slash - name) == strlen("localhost") && startswith(name, "localhost")))) {
                r.domain = strndup(name, (size_t)(slash - name));
                if (!r.domain)
                        goto oom;
                for (char *c = r.domain; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                if (!domain_is_valid(r.domain)) {
                        why = "the registry is not HOST or HOST:PORT";
                        goto invalid;
                }
                if (streq(r.domain, "index.docker.io"))
                        free(r.domain), r.domain = strdup(REGISTRY_DOCKER_HUB);
                memmove(name, slash + 1, strlen(slash + 1) + 1);
        } else
                r.domain = strdup(REGISTRY_DOCKER_HUB);
        if (!r.domain)
                goto oom;

        /* What follows the last ':' (there is no domain left to hold one) is the tag. */
        colon = strrchr(name, ':');
        if (colon) {
                *colon = 0;
                if (!tag_is_valid(colon + 1)) {
                        why = "the tag is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
                        goto invalid;
                }
                r.tag = strdup(colon + 1);
                if (!r.tag)
                        goto oom;
        } else if (!r.digest && !(r.tag = strdup("latest")))
                goto oom;

        for (const char *p = name;;) {
                size_t n = strcspn(p, "/");
                if (!component_is_valid(p, n)) {
                        why = "the repository is not lower-case path components of [a-z0-9._-]";
                        goto invalid;
                }
                if (!p[n])
                        break;
                p += n + 1;
        }
        if (streq(r.domain, REGISTRY_DOCKER_HUB) && !strchr(name, '/')) {
                if (xasprintf(&r.repository, "library/%s", name) < 0)
                        goto oom;
        } else if (!(r.repository = strdup(name)))
                goto oom;
        if (strlen(r.repository) > 255) {
                why = "the repository name is longer than 255 characters";
                goto invalid;
        }
        *ret = r;
        return 0;

invalid:
        registry_ref_done(&r);
        if (ret_why)
                *ret_why = why;
        return -EINVAL;
oom:
        registry_ref_done(&r);
        if (ret_why)
                *ret_why = "out of memory";
        return -ENOMEM;
}

char *registry_ref_to_string(const RegistryRef *r) {
        return strdupf("%s/%s%s%s%s%s", r->domain, r->repository, r->tag ? ":" : "", r->tag ?: "",
                       r->digest ? "@" : "", r->digest ?: "");
}

char *registry_ref_to_pull(const RegistryRef *r) {
        return r->digest ? strdupf("%s/%s@%s", r->domain, r->repository, r->digest)
                         : strdupf("%s/%s:%s", r->domain, r->repository, r->tag);
}

/* ---- credentials ---- */

static void cJSON_Deletep(cJSON **j) {
        cJSON_Delete(*j);
}

/* An "auths" key as containers-auth.json(5) and Docker write it, reduced to DOMAIN[/PATH]. */
static char *auth_key_normalize(const char *key) {
        const char *k = key;
        char *n;

        if (startswith(k, "https://"))
                k += 8;
        else if (startswith(k, "http://"))
                k += 7;
        n = strdup(k);
        if (!n)
                return NULL;
        for (size_t len = strlen(n); len > 0 && n[len - 1] == '/'; len--)
                n[len - 1] = 0;
        char *slash = strchr(n, '/');
        for (char *c = n; *c && c != slash; c++)
                *c = (char)tolower((unsigned char)*c);
        /* Docker's own name for Docker Hub, with its API version. */
        if (streq(n, "index.docker.io/v1") || streq(n, "index.docker.io") ||
            streq(n, "registry-1.docker.io")) {
                free(n);
                return strdup(REGISTRY_DOCKER_HUB);
        }
        return n;
}

int registry_auth_lookup(const char *json, const RegistryRef *r, char **ret_user, char **ret_password,
                         const char **ret_why) {
        _cleanup_(cJSON_Deletep) cJSON *root = cJSON_Parse(json);
        _cleanup_free_ char *want = NULL;
        const cJSON *auths, *e, *best = NULL;
        size_t best_len = 0;

        *ret_user = *ret_password = NULL;
        if (!cJSON_IsObject(root) ||
            !cJSON_IsObject(auths = cJSON_GetObjectItemCaseSensitive(root, "auths"))) {
                if (ret_why)
                        *ret_why = "it is not a JSON object with an \"auths\" object";
                return -EBADMSG;
        }
        if (xasprintf(&want, "%s/%s", r->domain, r->repository) < 0)
                return -ENOMEM;
        cJSON_ArrayForEach(e, auths) {
                _cleanup_free_ char *k = e->string ? auth_key_normalize(e->string) : NULL;
                size_t n;
                if (!k)
                        continue;
                n = strlen(k);
                /* "domain" or "domain/namespace..." matching at a component boundary */
                if (strncmp(want, k, n) != 0 || (want[n] != '/' && want[n] != 0) || strlen(r->domain) > n)
                        continue;
                if (n >= best_len) {
                        best = e;
                        best_len = n;
                }
        }
        if (!best)
                return -ENOENT;

        const cJSON *a = cJSON_GetObjectItemCaseSensitive(best, "auth");
        if (!cJSON_IsString(a) || isempty(a->valuestring)) {
                if (ret_why)
                        *ret_why = "its entry for the registry has no \"auth\" string";
                return -EBADMSG;
        }
        size_t in = strlen(a->valuestring);
        _cleanup_free_ unsigned char *out = malloc(in / 4 * 3 + 4);
        if (!out)
                return -ENOMEM;
        int n = in % 4 == 0 ? EVP_DecodeBlock(out, (const unsigned char *)a->valuestring, (int)in) : -1;
        if (n < 0) {
                if (ret_why)
                        *ret_why = "its \"auth\" for the registry is not base64";
                return -EBADMSG;
        }
        /* EVP_DecodeBlock() counts the padding as zero bytes. */
        for (size_t i = in; i > 0 && a->valuestring[i - 1] == '='; i--)
                n--;
        out[n] = 0;
        char *colon = memchr(out, ':', (size_t)n);
        if (!colon || colon == (char *)out || strlen((char *)out) != (size_t)n) {
                if (ret_why)
                        *ret_why = "its \"auth\" for the registry is not USER:PASSWORD";
                return -EBADMSG;
        }
        *colon = 0;
        *ret_user = strdup((char *)out);
        *ret_password = strdup(colon + 1);
        explicit_bzero(out, (size_t)n);
        if (!*ret_user || !*ret_password) {
                *ret_user = mfree(*ret_user);
                *ret_password = mfree(*ret_password);
                return -ENOMEM;
        }
        return 0;
}
