/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The download process of docker:// pulls (sandy-fetch, see registry.h): HTTP(S) with libcurl, as an
 * unprivileged UID, into the files the build hands it. Only this program links libcurl. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "paths.h"
#include "registry.h"
#include "string-util.h"

static void cJSON_Deletep(cJSON **j) {
        cJSON_Delete(*j);
}

typedef struct Transfer {
        struct Transfer *next;
        unsigned id;
        bool manifest;
        char *target; /* tag or digest */
        uint64_t size;
        int fd;
        CURL *easy;
        struct curl_slist *headers;
        uint64_t written;
        EVP_MD_CTX *md;
        char *content_type, *docker_digest, *challenge;
        char errbody[4096];
        size_t errbody_len;
        const char *failure; /* set by the callbacks */
        bool auth_retried;
        char errbuf[CURL_ERROR_SIZE];
} Transfer;

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

typedef struct Fetcher {
        const RegistryFetcher *cfg;
        CURLM *multi;
        char *ca_bundle; /* the system's CAs and cfg->ca_pem, when there is one */
        size_t ca_bundle_size;
        char *authorization; /* a whole "Authorization: ..." header line, once known */
        Transfer *queue;     /* not started yet, in the order asked for */
        Transfer *active;
        unsigned n_active;
        int sock;
        bool sock_closed;
} Fetcher;

static void transfer_free(Transfer *t) {
        if (!t)
                return;
        if (t->easy)
                curl_easy_cleanup(t->easy);
        curl_slist_free_all(t->headers);
        EVP_MD_CTX_free(t->md);
        safe_close(t->fd);
        free(t->target);
        free(t->content_type);
        free(t->docker_digest);
        free(t->challenge);
        free(t);
}

/* One line of text for a message: control characters become '?'. */
static void one_line(char *s) {
        for (; *s; s++)
                if ((unsigned char)*s < ' ' || *s == 0x7f)
                        *s = '?';
}

static void reply(Fetcher *f, const char *fmt, ...) _printf_(2, 3);
static void reply(Fetcher *f, const char *fmt, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = NULL;
        va_end(ap);
        if (!text)
                return;
        one_line(text);
        while (send(f->sock, text, strlen(text), MSG_NOSIGNAL) < 0 && errno == EINTR)
                ;
}

static char *header_value(const char *line, size_t len, const char *name) {
        size_t n = strlen(name);
        if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return NULL;
        const char *v = line + n + 1;
        const char *end = line + len;
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
                end--;
        return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * n;
        char *v;

        /* A new response (after a redirect, or the next attempt): forget what the last one said. */
        if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
                t->content_type = mfree(t->content_type);
                t->docker_digest = mfree(t->docker_digest);
                t->challenge = mfree(t->challenge);
                t->errbody_len = 0;
                return len;
        }
        if ((v = header_value(p, len, "Content-Type"))) {
                free(t->content_type);
                t->content_type = v;
        } else if ((v = header_value(p, len, "Docker-Content-Digest"))) {
                free(t->docker_digest);
                t->docker_digest = v;
        } else if ((v = header_value(p, len, "WWW-Authenticate"))) {
                if (!t->challenge)
                        t->challenge = v;
                else
                        free(v);
        }
        return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *userdata) {
        Transfer *t = userdata;
        size_t len = size * n;
        long code = 0;

        (void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code != 200) {
                /* An error body, kept for its message. */
                size_t room = sizeof t->errbody - 1 - t->errbody_len, k = len < room ? len : room;
                memcpy(t->errbody + t->errbody_len, p, k);
                t->errbody_len += k;
                t->errbody[t->errbody_len] = 0;
                return len;
        }
        uint64_t limit = t->manifest ? REGISTRY_MANIFEST_MAX : t->size;
        if (t->written + len > limit) {
                t->failure = t->manifest ? "the manifest is larger than 4 MiB"
                                         : "the registry sent more bytes than the image's manifest says the "
                                           "blob has";
                return 0;
        }
        for (size_t done = 0; done < len;) {
                ssize_t k = write(t->fd, p + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        t->failure = "cannot write the download";
                        return 0;
                }
                done += (size_t)k;
        }
        if (t->md)
                EVP_DigestUpdate(t->md, p, len);
        t->written += len;
        return len;
}

static int transfer_start(Fetcher *f, Transfer *t) {
        const RegistryFetcher *c = f->cfg;
        _cleanup_free_ char *url = NULL;
        struct curl_slist *h;
        const char *scheme = c->plain_http ? "http" : "https";

        if (xasprintf(&url, "%s://%s/v2/%s/%s/%s", scheme, c->ref->endpoint, c->ref->repository,
                      t->manifest ? "manifests" : "blobs", t->target) < 0)
                return -ENOMEM;
        t->easy = curl_easy_init();
        if (!t->easy)
                return -ENOMEM;
        curl_slist_free_all(t->headers);
        t->headers = NULL;
        if (t->manifest) {
                h = curl_slist_append(NULL, "Accept: application/vnd.oci.image.index.v1+json, "
                                            "application/vnd.oci.image.manifest.v1+json, "
                                            "application/vnd.docker.distribution.manifest.list.v2+json, "
                                            "application/vnd.docker.distribution.manifest.v2+json");
                if (!h)
                        return -ENOMEM;
                t->headers = h;
        }
        if (f->authorization) {
                h = curl_slist_append(t->headers, f->authorization);
                if (!h)
                        return -ENOMEM;
                t->headers = h;
        }
        t->errbuf[0] = 0;
        (void)curl_easy_setopt(t->easy, CURLOPT_URL, url);
        (void)curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, scheme);
        /* Blobs are often served from a CDN the registry redirects to; never from HTTPS down to HTTP. */
        (void)curl_easy_setopt(t->easy, CURLOPT_REDIR_PROTOCOLS_STR, c->plain_http ? "http,https" : "https");
        (void)curl_easy_setopt(t->easy, CURLOPT_FOLLOWLOCATION, 1L);
        (void)curl_easy_setopt(t->easy, CURLOPT_MAXREDIRS, 5L);
        (void)curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
        (void)curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, on_header);
        (void)curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
        (void)curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_write);
        (void)curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
        (void)curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
        (void)curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        (void)curl_easy_setopt(t->easy, CURLOPT_USERAGENT, PACKAGE_STRING);
        (void)curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT, 30L);
        /* A transfer that stalls for a minute is given up (the build's own timeout is much longer). */
        (void)curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        (void)curl_easy_setopt(t->easy, CURLOPT_LOW_SPEED_TIME, 60L);
        if (f->ca_bundle) {
                struct curl_blob blob = {
                                .data = f->ca_bundle, .len = f->ca_bundle_size, .flags = CURL_BLOB_COPY};
                (void)curl_easy_setopt(t->easy, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (!t->manifest) {
                EVP_MD_CTX_free(t->md);
                t->md = EVP_MD_CTX_new();
                if (!t->md)
                        return -ENOMEM;
                EVP_DigestInit_ex(t->md, EVP_sha256(), NULL);
        }
        if (curl_multi_add_handle(f->multi, t->easy) != CURLM_OK)
                return -ENOMEM;
        return 0;
}

/* A curl failure as one clause of a sentence. */
static char *curl_failure(const RegistryFetcher *c, CURLcode res, const char *errbuf) {
        const char *detail = !isempty(errbuf) ? errbuf : curl_easy_strerror(res);

        switch (res) {
        case CURLE_COULDNT_RESOLVE_HOST:
                return strdupf("cannot resolve the registry's name (%s)", detail);
        case CURLE_COULDNT_CONNECT:
                return strdupf("cannot connect to the registry (%s)", detail);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
                return strdupf("TLS: the registry's certificate is not trusted: %s (a registry with a CA of "
                               "its own "
                               "needs it in %s/%s/ca.crt)",
                               detail, SANDY_REGISTRY_CERTS_DIR, c->ref->domain);
        case CURLE_SSL_CONNECT_ERROR:
                return strdupf("TLS failed: %s (a registry that speaks plain HTTP must be listed in "
                               "PlainHTTPRegistry= of sandy.conf)",
                               detail);
        case CURLE_OPERATION_TIMEDOUT:
                return strdupf("the registry does not answer (%s)", detail);
        default:
                return strdupf("%s", detail);
        }
}

/* The registry's own error code and message from an error body ({"errors":[{"code":..,"message":..}]}). */
static void registry_error(const char *body, char **ret_code, char **ret_message) {
        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_Parse(body);
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code"),
                    *msg = cJSON_GetObjectItemCaseSensitive(e, "message");

        *ret_code = cJSON_IsString(code) ? strndup(code->valuestring, 64) : NULL;
        *ret_message = cJSON_IsString(msg) ? strndup(msg->valuestring, 200) : NULL;
}

static char *http_failure(Fetcher *f, Transfer *t, long code) {
        const RegistryFetcher *c = f->cfg;
        _cleanup_free_ char *ecode = NULL, *emsg = NULL;

        registry_error(t->errbody, &ecode, &emsg);
        switch (code) {
        case 401:
                if (!c->username && c->auth_file)
                        return strdupf("the registry requires a login, and RegistryAuthFile= %s has no "
                                       "credentials "
                                       "for %s (401 Unauthorized)",
                                       c->auth_file, c->ref->domain);
                if (!c->username)
                        return strdupf("the registry requires a login, and sandy.conf names no "
                                       "RegistryAuthFile= "
                                       "(401 Unauthorized)");
                return strdupf("the registry rejected the credentials for %s from %s (401 Unauthorized)",
                               c->ref->domain, c->auth_file ?: "RegistryAuthFile=");
        case 403:
                return strdupf("access denied (403 Forbidden%s%s)", emsg ? ": " : "", emsg ?: "");
        case 404:
                if (streq_ptr(ecode, "NAME_UNKNOWN"))
                        return strdupf("there is no repository %s in %s (404 NAME_UNKNOWN)",
                                       c->ref->repository, c->ref->domain);
                if (t->manifest)
                        return strdupf("%s %s (404 %s)",
                                       startswith(t->target, "sha256:") ? "no manifest has the digest"
                                                                        : "no such tag:",
                                       t->target, ecode ?: "Not Found");
                return strdupf("the registry has no blob %s (404 %s)", t->target, ecode ?: "Not Found");
        case 429:
                return strdupf("the registry refuses: too many requests (429); try again later");
        default:
                return strdupf("the registry answered HTTP %ld%s%s%s%s", code, ecode ? " " : "", ecode ?: "",
                               emsg ? ": " : "", emsg ?: "");
        }
}

static void fetcher_drop_authorization(Fetcher *f) {
        if (f->authorization)
                explicit_bzero(f->authorization, strlen(f->authorization));
        f->authorization = mfree(f->authorization);
}

static char *basic_authorization(const char *user, const char *password) {
        _cleanup_free_ char *plain = NULL;
        _cleanup_free_ unsigned char *b64 = NULL;
        char *line;
        size_t n;

        if (xasprintf(&plain, "%s:%s", user, password) < 0)
                return NULL;
        n = strlen(plain);
        b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (!b64)
                return NULL;
        EVP_EncodeBlock(b64, (unsigned char *)plain, (int)n);
        line = strdupf("Authorization: Basic %s", b64);
        explicit_bzero(plain, n);
        explicit_bzero(b64, strlen((char *)b64));
        return line;
}

typedef struct Buffer {
        char data[65536];
        size_t len;
        bool overflow;
} Buffer;

static size_t on_token_write(char *p, size_t size, size_t n, void *userdata) {
        Buffer *b = userdata;
        size_t len = size * n;
        if (b->len + len >= sizeof b->data) {
                b->overflow = true;
                return 0;
        }
        memcpy(b->data + b->len, p, len);
        b->len += len;
        b->data[b->len] = 0;
        return len;
}

/* Answer the challenge of a 401: credentials for Basic, a token from the realm for Bearer. Sets
 * f->authorization and *ret_answered; NULL with *ret_answered false when there is nothing to answer with
 * (the 401 stands), or a message. */
static char *fetcher_authenticate(Fetcher *f, const char *header, bool *ret_answered) {
        const RegistryFetcher *c = f->cfg;
        _cleanup_(registry_challenge_done) RegistryChallenge ch = {};
        _cleanup_free_ char *url = NULL, *scope = NULL;
        _cleanup_free_ Buffer *buf = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *e;
        CURLcode res;
        long code = 0;

        *ret_answered = false;
        if (!header || registry_challenge_parse(header, &ch) < 0)
                return strdup("the registry answered 401 Unauthorized without a usable WWW-Authenticate "
                              "challenge");
        if (streq(ch.scheme, "basic")) {
                if (!c->username)
                        return NULL; /* the 401 stands, and says why */
                if (c->plain_http)
                        return strdupf("refusing to send the credentials for %s over plain HTTP",
                                       c->ref->domain);
                fetcher_drop_authorization(f);
                f->authorization = basic_authorization(c->username, c->password);
                *ret_answered = f->authorization;
                return f->authorization ? NULL : strdup("out of memory");
        }
        if (!streq(ch.scheme, "bearer") || isempty(ch.realm))
                return strdupf("the registry wants authentication of a kind sandy does not speak (%s)",
                               ch.scheme);
        if (!startswith(ch.realm, "https://") && !(c->plain_http && startswith(ch.realm, "http://")))
                return strdupf("the registry's token service is not an https:// URL (%s)", ch.realm);
        if (c->username && !startswith(ch.realm, "https://"))
                return strdupf("refusing to send the credentials for %s over plain HTTP", c->ref->domain);

        e = curl_easy_init();
        buf = new0(Buffer, 1);
        if (!e || !buf) {
                if (e)
                        curl_easy_cleanup(e);
                return strdup("out of memory");
        }
        char *esc_service = ch.service ? curl_easy_escape(e, ch.service, 0) : NULL;
        if (!ch.scope && xasprintf(&scope, "repository:%s:pull", c->ref->repository) < 0)
                scope = NULL;
        char *esc_scope = curl_easy_escape(e, ch.scope ?: scope ?: "", 0);
        if (xasprintf(&url, "%s%c%s%s%sscope=%s", ch.realm, strchr(ch.realm, '?') ? '&' : '?',
                      esc_service ? "service=" : "", esc_service ?: "", esc_service ? "&" : "",
                      esc_scope ?: "") < 0)
                url = NULL;
        curl_free(esc_service);
        curl_free(esc_scope);
        if (!url) {
                curl_easy_cleanup(e);
                return strdup("out of memory");
        }
        (void)curl_easy_setopt(e, CURLOPT_URL, url);
        (void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->plain_http ? "http,https" : "https");
        (void)curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        (void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
        (void)curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
        (void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_token_write);
        (void)curl_easy_setopt(e, CURLOPT_WRITEDATA, buf);
        (void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        (void)curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_STRING);
        (void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
        (void)curl_easy_setopt(e, CURLOPT_TIMEOUT, 120L);
        if (f->ca_bundle) {
                struct curl_blob blob = {
                                .data = f->ca_bundle, .len = f->ca_bundle_size, .flags = CURL_BLOB_COPY};
                (void)curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
        }
        if (c->username) {
                (void)curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
                (void)curl_easy_setopt(e, CURLOPT_USERNAME, c->username);
                (void)curl_easy_setopt(e, CURLOPT_PASSWORD, c->password);
        }
        res = curl_easy_perform(e);
        (void)curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(e);
        if (res != CURLE_OK) {
                _cleanup_free_ char *why = curl_failure(c, res, errbuf);
                return strdupf("the registry's token service %s failed: %s", ch.realm, why ?: "error");
        }
        if (code == 401 || code == 403)
                return c->username ? strdupf("the registry rejected the credentials for %s from %s (%ld "
                                             "from its "
                                             "token service)",
                                             c->ref->domain, c->auth_file ?: "RegistryAuthFile=", code)
                                   : strdupf("the registry's token service refuses anonymous access (%ld), "
                                             "and "
                                             "there are no credentials for %s",
                                             code, c->ref->domain);
        if (code != 200)
                return strdupf("the registry's token service answered HTTP %ld", code);

        _cleanup_(cJSON_Deletep) cJSON *j = cJSON_Parse(buf->data);
        const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "token");
        if (!cJSON_IsString(tok) || isempty(tok->valuestring))
                tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
        if (!cJSON_IsString(tok) || isempty(tok->valuestring) || string_has_cc(tok->valuestring))
                return strdup("the registry's token service sent no token");
        fetcher_drop_authorization(f);
        f->authorization = strdupf("Authorization: Bearer %s", tok->valuestring);
        explicit_bzero(buf->data, buf->len);
        *ret_answered = f->authorization;
        return f->authorization ? NULL : strdup("out of memory");
}

static void transfer_unlink(Transfer **list, Transfer *t) {
        for (Transfer **p = list; *p; p = &(*p)->next)
                if (*p == t) {
                        *p = t->next;
                        t->next = NULL;
                        return;
                }
}

static void transfer_stop(Fetcher *f, Transfer *t) {
        if (t->easy) {
                (void)curl_multi_remove_handle(f->multi, t->easy);
                curl_easy_cleanup(t->easy);
                t->easy = NULL;
        }
}

/* The start over after an authentication: whatever was written goes. */
static int transfer_restart(Fetcher *f, Transfer *t) {
        transfer_stop(f, t);
        if (ftruncate(t->fd, 0) < 0 || lseek(t->fd, 0, SEEK_SET) < 0)
                return -errno;
        t->written = 0;
        t->failure = NULL;
        return transfer_start(f, t);
}

static void transfer_finished(Fetcher *f, Transfer *t, CURLcode res) {
        _cleanup_free_ char *why = NULL;
        long code = 0;

        (void)curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
        if (res != CURLE_OK)
                why = t->failure ? strdup(t->failure) : curl_failure(f->cfg, res, t->errbuf);
        else if (code == 401 && !t->auth_retried) {
                bool answered;
                t->auth_retried = true;
                why = fetcher_authenticate(f, t->challenge, &answered);
                if (!why && !answered)
                        why = http_failure(f, t, code);
                else if (!why && transfer_restart(f, t) < 0)
                        why = strdup("cannot start the transfer again");
                else if (!why)
                        return; /* running again, with the answer */
        } else if (code != 200)
                why = http_failure(f, t, code);
        else if (!t->manifest) {
                unsigned char md[32];
                char got[7 + 64 + 1] = "sha256:";
                EVP_DigestFinal_ex(t->md, md, NULL);
                for (size_t i = 0; i < 32; i++)
                        snprintf(got + 7 + 2 * i, 3, "%02x", md[i]);
                if (t->written != t->size)
                        why = strdupf("blob %s is %" PRIu64 " bytes, the image's manifest says %" PRIu64,
                                      t->target, t->written, t->size);
                else if (!streq(got, t->target))
                        why = strdupf("blob %s does not match its digest: its content is %s", t->target,
                                      got);
        }

        if (why)
                reply(f, "E %u %s", t->id, why);
        else
                reply(f, "D %u %s %s", t->id, t->content_type ?: "-", t->docker_digest ?: "-");
        transfer_stop(f, t);
        transfer_unlink(&f->active, t);
        f->n_active--;
        transfer_free(t);
}

/* A request from the build: text and one fd. 1 when one was queued, 0 when there is none, -ECONNRESET when
 * the build is gone. */
static int fetcher_receive(Fetcher *f) {
        char text[2048], control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = text, .iov_len = sizeof text - 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control,
                            .msg_controllen = sizeof control};
        int fd = -EBADF;
        ssize_t n;

        n = recvmsg(f->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        text[n] = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(cm), sizeof(int));

        Transfer *t = new0(Transfer, 1);
        char kind = 0, target[200] = "";
        unsigned id = 0;
        uint64_t size = 0;
        if (!t) {
                safe_close(fd);
                return -ENOMEM;
        }
        t->fd = fd;
        int k = sscanf(text, "%c %u %199s %" SCNu64, &kind, &id, target, &size);
        t->id = id;
        if (fd < 0 || k < 3 || (kind == 'B' && k != 4) || (kind != 'B' && kind != 'M')) {
                reply(f, "E %u malformed request", id);
                transfer_free(t);
                return 1;
        }
        t->manifest = kind == 'M';
        t->size = size;
        t->target = strdup(target);
        if (!t->target) {
                transfer_free(t);
                return -ENOMEM;
        }
        Transfer **tail = &f->queue;
        while (*tail)
                tail = &(*tail)->next;
        *tail = t;
        return 1;
}

static int fetcher_loop(Fetcher *f) {
        for (;;) {
                int running = 0, r;
                CURLMsg *m;

                while (f->queue && f->n_active < REGISTRY_PARALLEL) {
                        Transfer *t = f->queue;
                        f->queue = t->next;
                        t->next = f->active;
                        f->active = t;
                        f->n_active++;
                        if (transfer_start(f, t) < 0) {
                                reply(f, "E %u cannot start the transfer", t->id);
                                transfer_stop(f, t);
                                transfer_unlink(&f->active, t);
                                f->n_active--;
                                transfer_free(t);
                        }
                }
                (void)curl_multi_perform(f->multi, &running);
                while ((m = curl_multi_info_read(f->multi, &running)))
                        if (m->msg == CURLMSG_DONE) {
                                Transfer *t = NULL;
                                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
                                transfer_finished(f, t, m->data.result);
                        }
                if (f->sock_closed)
                        return 0;

                struct curl_waitfd extra = {.fd = f->sock, .events = CURL_WAIT_POLLIN};
                (void)curl_multi_poll(f->multi, &extra, 1, 1000, NULL);
                if (extra.revents & CURL_WAIT_POLLIN) {
                        while ((r = fetcher_receive(f)) > 0)
                                ;
                        if (r == -ECONNRESET)
                                f->sock_closed = true; /* the build is done with us, or gone */
                        else if (r < 0)
                                return 1;
                }
        }
}

/* The first request: the configuration, JSON in a memfd; ref and f point into what *ret_json holds. */
static int fetcher_receive_config(int sock, cJSON **ret_json, RegistryRef *ref, RegistryFetcher *f) {
        char text[16], control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = text, .iov_len = sizeof text - 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control,
                            .msg_controllen = sizeof control};
        _cleanup_free_ char *json = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        ssize_t n;
        int r;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        text[n] = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        if (!streq(text, "C") || fd < 0)
                return -EBADMSG;
        r = read_full_fd(fd, 64U << 20, &json, &size);
        if (r < 0)
                return r;
        *ret_json = cJSON_Parse(json);
        explicit_bzero(json, size);
#define STR(k) cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(*ret_json, k))
        *ref = (RegistryRef){.domain = STR("domain"),
                             .endpoint = STR("endpoint"),
                             .repository = STR("repository")};
        *f = (RegistryFetcher){
                        .ref = ref,
                        .plain_http = cJSON_IsTrue(
                                        cJSON_GetObjectItemCaseSensitive(*ret_json, "plain_http")),
                        .username = STR("username"),
                        .password = STR("password"),
                        .auth_file = STR("auth_file"),
                        .ca_pem = STR("ca"),
        };
#undef STR
        if (!ref->domain || !ref->endpoint || !ref->repository || !!f->username != !!f->password)
                return -EBADMSG;
        return 0;
}

/* The system's CAs with the registry's own: CURLOPT_CAINFO_BLOB replaces curl's default, not adds to it. */
static int fetcher_ca_bundle(Fetcher *f) {
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        const char *bundle = v && v->cainfo ? v->cainfo : SYSTEM_CA_BUNDLE;
        _cleanup_free_ char *system = NULL;
        size_t size = 0, extra;
        char *n;

        if (!f->cfg->ca_pem)
                return 0;
        if (read_full_file(bundle, 16U << 20, &system, &size) < 0)
                log_warning("Cannot read the system's CAs %s; trusting only the registry's own.", bundle);
        extra = strlen(f->cfg->ca_pem);
        n = realloc(system, size + extra + 2);
        if (!n)
                return -ENOMEM;
        system = n;
        system[size++] = '\n';
        memcpy(system + size, f->cfg->ca_pem, extra + 1);
        f->ca_bundle = TAKE_PTR(system);
        f->ca_bundle_size = size + extra;
        return 0;
}

static void cJSON_Secret_Deletep(cJSON **j) {
        /* The login goes with the process, but not later than that. */
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(*j, "password");
        if (cJSON_IsString(p))
                explicit_bzero(p->valuestring, strlen(p->valuestring));
        cJSON_Delete(*j);
}

int registry_fetcher_main(int sock) {
        _cleanup_(cJSON_Secret_Deletep) cJSON *json = NULL;
        RegistryFetcher cfg;
        RegistryRef ref;
        Fetcher f = {.cfg = &cfg, .sock = sock};
        int r;

        /* sandy-helper starts it as a UID of a build's range, with no capability and no_new_privs. */
        if (getuid() == 0 || geteuid() == 0) {
                log_error("sandy-fetch does not run as root; sandy-helper runs it for docker:// pulls.");
                return 1;
        }
        /* Not even the build's other processes of this UID may look into it (the login). */
        (void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        r = fetcher_receive_config(sock, &json, &ref, &cfg);
        if (r < 0) {
                log_error_errno(r, "sandy-fetch: cannot read its configuration from fd %d: %m", sock);
                return 1;
        }
        if (fetcher_ca_bundle(&f) < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
            !(f.multi = curl_multi_init())) {
                log_error("sandy-fetch: cannot initialize libcurl.");
                return 1;
        }
        r = fetcher_loop(&f);
        while (f.active) {
                Transfer *t = f.active;
                f.active = t->next;
                transfer_stop(&f, t);
                transfer_free(t);
        }
        while (f.queue) {
                Transfer *t = f.queue;
                f.queue = t->next;
                transfer_free(t);
        }
        fetcher_drop_authorization(&f);
        curl_multi_cleanup(f.multi);
        free(f.ca_bundle);
        return r;
}
