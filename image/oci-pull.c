/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * docker:// pulls (oci_pull(), see oci.h): skopeo speaks to the registry, sandy decides what it may use and
 * checks what it brought.
 *
 * The build process (root, in the build's cgroup) first reads what only root may have written: the login
 * RegistryAuthFile= has for the registry and the registry's directory of SANDY_REGISTRY_CERTS_DIR, both
 * through open_trusted(). It then makes the pull's directory, tmpdir/pull, owned by the build range's
 * "nobody" (CONFINE_FETCH_UID, which nothing else uses until the image's own programs run, after the pull):
 *   layout/  the OCI layout skopeo writes; its blobs/sha256/ starts with a hard link to every blob of the
 *            cache (root's, mode 0644: skopeo may read them, not change them), which skopeo's OCI
 *            destination takes instead of fetching them again;
 *   home/    HOME: skopeo's own state, and none of a user's configuration or logins;
 *   tmp/     TMPDIR;
 *   certs/   the --src-cert-dir of a registry that has no directory of its own in certs.d (so that skopeo
 *            looks nowhere else).
 * skopeo runs confined (confine.h, CONFINE_VIEW_FETCH) with that directory as the only one it may write,
 * the login (if any) in a memfd it reads as /dev/fd/N, and its output read line by line: "Copying blob"
 * and "Copying config" become the job's progress, its error line one sentence naming the image. Then the
 * layout is unpacked as an oci: source is, which checks every digest and diff_id again, and only then do
 * the blobs skopeo fetched enter the cache (owned by root, a rename in the same file system). A failed pull
 * leaves them in the build's temporary directory, which goes with the build.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "conf-parser.h"
#include "fs-util.h"
#include "log.h"
#include "oci-internal.h"
#include "paths.h"
#include "process-util.h"
#include "registry.h"
#include "rm-rf.h"
#include "string-util.h"
#include "strv.h"

/* In the build's temporary directory, while the pull runs. */
#define PULL_DIR "pull"
/* The image's name in the layout skopeo writes. */
#define PULL_LAYOUT_REF "img"
/* The share of the pull's progress that skopeo's part gets; unpacking has the rest. */
#define PULL_FETCH_SHARE 0.4

typedef struct Pull {
        const OciPullOptions *o;
        RegistryRef ref;
        char *label;          /* DOMAIN/REPOSITORY[:TAG][@DIGEST], for messages */
        bool plain;           /* a PlainHTTPRegistry= */
        bool login;           /* skopeo got a login */
        bool login_withheld;  /* RegistryAuthFile= has one, not sent to a PlainHTTPRegistry= */
        bool login_missing;   /* RegistryAuthFile= has none for the registry */
        char *cert_dir;       /* SANDY_REGISTRY_CERTS_DIR/DOMAIN, checked, or NULL */
        char *dir;            /* tmpdir/PULL_DIR */
        int dir_fd, blobs_fd, cache_fd;
        char **cached;        /* hex digests linked from the cache */
        char **copied;        /* the blobs skopeo said it copied, in order, the config last */
        char status[128];     /* the last progress text, and its fraction */
        double fraction;
        char *skopeo_error;   /* the message of skopeo's error line */
        char *last_line;      /* its last line, for a message when it has no error line */
        char *error;
} Pull;

void oci_pull_result_done(OciPullResult *r) {
        r->config_json = mfree(r->config_json);
        r->blobs = strv_free(r->blobs);
        r->error = mfree(r->error);
}

/* The first failure, as the one line the build reports; also logged. */
static int pull_fail(Pull *p, int error, const char *fmt, ...) _printf_(3, 4);
static int pull_fail(Pull *p, int error, const char *fmt, ...) {
        _cleanup_free_ char *why = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&why, fmt, ap) < 0)
                why = NULL;
        va_end(ap);
        if (!p->error)
                p->error = strdupf("Failed to pull %s: %s", p->label ?: "the image", why ?: "out of memory");
        log_error("%s", p->error ?: "Failed to pull the image.");
        return error < 0 ? error : -error;
}

static void pull_progress(Pull *p, double fraction, const char *text) {
        snprintf(p->status, sizeof p->status, "%s", text);
        p->fraction = fraction;
        if (p->o->progress)
                p->o->progress(fraction > 1 ? 1 : fraction, text, p->o->userdata);
}

/* ---- what only root may have written: the login and the CAs ---- */

static int read_trusted(Pull *p, const char *path, const char *what, bool secret, char **ret,
                        size_t *ret_size) {
        _cleanup_free_ char *problem = NULL;
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        r = open_trusted(path, 0, UID_INVALID, &fd, &problem);
        if (r == -EPERM && problem)
                return pull_fail(p, r, "refusing to read %s %s: %s", what, path, problem);
        if (r < 0)
                return pull_fail(p, r, "cannot read %s %s: %s", what, path, strerror(-r));
        if (fstat(fd, &st) < 0)
                return pull_fail(p, errno, "cannot read %s %s: %s", what, path, strerror(errno));
        if (secret && (st.st_mode & S_IROTH))
                return pull_fail(p, EPERM, "refusing to use %s %s: others may read it (chmod 0600 it)", what,
                                 path);
        if (!ret)
                return 0;
        r = read_full_fd(fd, 1U << 20, ret, ret_size);
        if (r < 0)
                return pull_fail(p, r, "cannot read %s %s: %s", what, path, strerror(-r));
        return 0;
}

/* The login of RegistryAuthFile= for the registry, or none. */
static int pull_credentials(Pull *p, char **ret_user, char **ret_password) {
        _cleanup_free_ char *text = NULL;
        const char *why = NULL;
        size_t size;
        int r;

        *ret_user = *ret_password = NULL;
        if (!p->o->auth_file)
                return 0;
        r = read_trusted(p, p->o->auth_file, "RegistryAuthFile=", true, &text, &size);
        if (r < 0)
                return r;
        r = registry_auth_lookup(text, &p->ref, ret_user, ret_password, &why);
        explicit_bzero(text, size);
        if (r == -ENOENT) {
                log_info("%s: %s has no credentials for %s; pulling anonymously.", p->label, p->o->auth_file,
                         p->ref.domain);
                p->login_missing = true;
                return 0;
        }
        if (r < 0)
                return pull_fail(p, r, "RegistryAuthFile= %s: %s", p->o->auth_file, why ?: strerror(-r));
        if (p->plain) {
                /* Plain HTTP (or TLS that checks nothing): nothing protects a login on the way. */
                log_warning("%s: not sending the login for %s from %s: it is a PlainHTTPRegistry=.", p->label,
                            p->ref.domain, p->o->auth_file);
                explicit_bzero(*ret_password, strlen(*ret_password));
                *ret_user = mfree(*ret_user);
                *ret_password = mfree(*ret_password);
                p->login_withheld = true;
                return 0;
        }
        log_info("%s: using the credentials for %s from %s.", p->label, p->ref.domain, p->o->auth_file);
        p->login = true;
        return 0;
}

/* SANDY_REGISTRY_CERTS_DIR/DOMAIN, when it exists and everything skopeo reads in it (*.crt CAs, *.cert and
 * *.key client certificates, as containers-certs.d(5) says) is root's alone. */
static int pull_certificates(Pull *p) {
        _cleanup_free_ char *dir = NULL, *problem = NULL;
        _cleanup_close_ int dfd = -EBADF;
        DIR *d;
        int r;

        if (xasprintf(&dir, SANDY_REGISTRY_CERTS_DIR "/%s", p->ref.domain) < 0)
                return pull_fail(p, ENOMEM, "out of memory");
        r = open_trusted(dir, O_DIRECTORY, UID_INVALID, &dfd, &problem);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -EPERM && problem)
                return pull_fail(p, r, "refusing to trust the CAs in %s: %s", dir, problem);
        if (r < 0)
                return pull_fail(p, r, "cannot read %s: %s", dir, strerror(-r));
        d = opendir_dup(dfd);
        if (!d)
                return pull_fail(p, errno, "cannot read %s: %s", dir, strerror(errno));
        r = 0;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                _cleanup_free_ char *path = NULL;
                bool ca = endswith(de->d_name, ".crt");
                if (de->d_name[0] == '.' || !(ca || endswith(de->d_name, ".cert") || endswith(de->d_name, ".key")))
                        continue;
                if (xasprintf(&path, "%s/%s", dir, de->d_name) < 0)
                        r = pull_fail(p, ENOMEM, "out of memory");
                else
                        r = read_trusted(p, path, ca ? "the CA file" : "the client certificate file", false, NULL,
                                         NULL);
        }
        closedir(d);
        if (r < 0)
                return r;
        log_info("%s: skopeo trusts the CAs in %s besides the system's.", p->label, dir);
        p->cert_dir = TAKE_PTR(dir);
        return 0;
}

/* A memfd holding a containers-auth.json(5) with the one login, for --src-authfile /dev/fd/N: skopeo gets
 * no other login of the file, and it never touches a disk. domain is a valid HOST[:PORT] (registry.h), the
 * base64 needs no escaping either. */
static int auth_memfd(const char *domain, const char *user, const char *password) {
        _cleanup_free_ char *plain = NULL, *text = NULL;
        _cleanup_free_ unsigned char *b64 = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t n = 0;
        int r = 0;

        if (xasprintf(&plain, "%s:%s", user, password) < 0)
                return -ENOMEM;
        n = strlen(plain);
        b64 = malloc(4 * ((n + 2) / 3) + 1);
        if (!b64) {
                r = -ENOMEM;
                goto finish;
        }
        EVP_EncodeBlock(b64, (const unsigned char *)plain, (int)n);
        if (xasprintf(&text, "{\"auths\": {\"%s\": {\"auth\": \"%s\"}}}\n", domain, (const char *)b64) < 0) {
                r = -ENOMEM;
                goto finish;
        }
        fd = memfd_create("sandy-registry-login", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0) {
                r = -errno;
                goto finish;
        }
        for (size_t done = 0, len = strlen(text); done < len;) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        goto finish;
                }
                done += (size_t)k;
        }
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
                r = -errno;
finish:
        explicit_bzero(plain, n);
        if (b64)
                explicit_bzero(b64, 4 * ((n + 2) / 3) + 1);
        if (text)
                explicit_bzero(text, strlen(text));
        return r < 0 ? r : TAKE_FD(fd);
}

/* ---- the pull's directory and the blob cache ---- */

static int open_cache(const char *cache_dir) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (xasprintf(&dir, "%s/sha256", cache_dir ?: SANDY_BLOB_CACHE_DIR) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* A directory of dfd's for the fetcher, or the fd of an existing one. */
static int make_dir(int dfd, const char *name, uid_t uid) {
        if (mkdirat(dfd, name, 0700) < 0)
                return -errno;
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fchown(fd, uid, uid) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        return fd;
}

static bool hex_name(const char *s) {
        if (strlen(s) != 64)
                return false;
        for (const char *c = s; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

static int pull_prepare(Pull *p, uid_t uid) {
        _cleanup_close_ int layout = -EBADF, blobs = -EBADF;
        int r;

        if (xasprintf(&p->dir, "%s/" PULL_DIR, p->o->tmpdir) < 0)
                return pull_fail(p, ENOMEM, "out of memory");
        if (mkdir(p->dir, 0700) < 0 || (p->dir_fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
            fchown(p->dir_fd, uid, uid) < 0)
                return pull_fail(p, errno, "cannot create %s: %s", p->dir, strerror(errno));
        static const char *const dirs[] = {"home", "tmp", "certs"};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                int fd = make_dir(p->dir_fd, dirs[i], uid);
                if (fd < 0)
                        return pull_fail(p, fd, "cannot create %s/%s: %s", p->dir, dirs[i], strerror(-fd));
                safe_close(fd);
        }
        if ((layout = make_dir(p->dir_fd, "layout", uid)) < 0 || (blobs = make_dir(layout, "blobs", uid)) < 0 ||
            (p->blobs_fd = make_dir(blobs, "sha256", uid)) < 0)
                return pull_fail(p, layout < 0 ? layout : blobs < 0 ? blobs : p->blobs_fd,
                                 "cannot create the layout in %s", p->dir);

        p->cache_fd = open_cache(p->o->cache_dir);
        if (p->cache_fd < 0)
                return pull_fail(p, p->cache_fd, "cannot open the blob cache %s: %s",
                                 p->o->cache_dir ?: SANDY_BLOB_CACHE_DIR, strerror(-p->cache_fd));
        DIR *d = opendir_dup(p->cache_fd);
        if (!d)
                return pull_fail(p, errno, "cannot read the blob cache: %s", strerror(errno));
        r = 0;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                struct stat st;
                if (!hex_name(de->d_name) || fstatat(p->cache_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                if (linkat(p->cache_fd, de->d_name, p->blobs_fd, de->d_name, 0) < 0) {
                        /* Another file system: skopeo fetches what the image needs. */
                        log_warning_errno(errno, "%s: cannot link blob %s of the cache into the pull: %m",
                                          p->label, de->d_name);
                        break;
                }
                r = strv_extend(&p->cached, de->d_name);
        }
        closedir(d);
        if (r < 0)
                return pull_fail(p, r, "out of memory");
        return 0;
}

/* ---- skopeo ---- */

/* The environment skopeo gets: a PATH, its own HOME and TMPDIR, the proxy settings it honours. */
static char **fetch_environment(void) {
        static const char *const keep[] = {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
                                           "all_proxy",   "ALL_PROXY",   "no_proxy",   "NO_PROXY"};
        char **env = NULL;

        if (strv_extend(&env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin") < 0 ||
            strv_extend(&env, "HOME=" CONFINE_FETCH_DIR "/home") < 0 ||
            strv_extend(&env, "TMPDIR=" CONFINE_FETCH_DIR "/tmp") < 0 || strv_extend(&env, "LANG=C.UTF-8") < 0)
                return strv_free(env);
        for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
                const char *v = getenv(keep[i]);
                _cleanup_free_ char *kv = v ? strdupf("%s=%s", keep[i], v) : NULL;
                if (v && (!kv || strv_extend(&env, kv) < 0))
                        return strv_free(env);
        }
        return env;
}

/* The message of a logrus line: time="..." level=fatal msg="..." (Go's quoting undone). */
static char *logrus_message(const char *line) {
        const char *m = strstr(line, " msg=");
        char *out, *o;

        if (!m)
                return NULL;
        m += 5;
        if (*m != '"')
                return strdup(m);
        out = o = malloc(strlen(m) + 1);
        if (!out)
                return NULL;
        for (m++; *m && *m != '"'; m++) {
                if (*m == '\\' && m[1]) {
                        m++;
                        *o++ = *m == 'n' || *m == 't' ? ' ' : *m;
                } else
                        *o++ = *m;
        }
        *o = 0;
        return out;
}

/* What follows prefix in s, or NULL. */
static const char *after(const char *s, const char *prefix) {
        return startswith(s, prefix) ? s + strlen(prefix) : NULL;
}

/* "Copying blob sha256:HEX" and "Copying config sha256:HEX" (skopeo prints them when output is not a
 * terminal, one per blob as its copy starts, whether it is fetched or found in the layout). */
static void handle_progress(Pull *p, const char *line) {
        const char *d;
        char text[128];

        if ((d = after(line, "Copying blob ")) && oci_digest_is_valid(d)) {
                if (!strv_contains(p->copied, d) && strv_extend(&p->copied, d) < 0)
                        return;
                unsigned i = (unsigned)strv_length(p->copied);
                snprintf(text, sizeof text, "pulling layer %u: %.19s%s", i, d,
                         strv_contains(p->cached, d + 7) ? " (in the blob cache)" : "");
                /* How many layers there are skopeo does not say before it is done: each new one moves
                 * the bar half the rest of the way. */
                pull_progress(p, PULL_FETCH_SHARE * (1.0 - 1.0 / (double)(i + 1)), text);
        } else if ((d = after(line, "Copying config ")) && oci_digest_is_valid(d)) {
                /* After the layers (skopeo copies them first), so their numbers stay; listed for
                 * remove_damaged_cached() like them. */
                if (!strv_contains(p->copied, d) && strv_extend(&p->copied, d) < 0)
                        return;
                snprintf(text, sizeof text, "pulling the config: %.19s", d);
                pull_progress(p, PULL_FETCH_SHARE, text);
        }
}

static void handle_line(Pull *p, const char *line) {
        const char *rest;

        if (p->o->output)
                p->o->output(line, p->o->userdata);
        else
                log_info("%s: skopeo: %s", p->label, line);
        handle_progress(p, line);
        free(p->last_line);
        p->last_line = strdup(line);
        if (strstr(line, " level=fatal ") || strstr(line, " level=error ")) {
                free(p->skopeo_error);
                p->skopeo_error = logrus_message(line);
        } else if ((rest = after(line, "Error: "))) {
                free(p->skopeo_error);
                p->skopeo_error = strdup(rest);
        }
}

/* skopeo's reason, after its "initializing source docker://...: " and the like, as one sentence that says
 * what to do where sandy knows. */
static int map_error(Pull *p, int status) {
        const char *m = p->skopeo_error ?: p->last_line ?: "", *x;
        _cleanup_free_ char *tail = NULL;

        /* Its own prefixes name the image again: the message does already. */
        for (bool again = true; again;) {
                static const char *const prefixes[] = {"initializing source ", "choosing an image from manifest list ",
                                                       "copying system image from manifest list: "};
                const char *colon;
                again = false;
                for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                        if (startswith(m, prefixes[i]) && (colon = strstr(m + strlen(prefixes[i]) - 2, ": "))) {
                                m = colon + 2;
                                again = true;
                        }
        }

        if ((x = strstr(m, "Digest did not match, expected "))) {
                char want[OCI_DIGEST_SHA256_LEN + 1] = "", got[OCI_DIGEST_SHA256_LEN + 1] = "";
                if (sscanf(x, "Digest did not match, expected %71[^,], got %71s", want, got) == 2)
                        return pull_fail(p, EBADMSG, "blob %s does not match its digest: its content is %s", want,
                                         got);
        }
        if (strstr(m, "manifest unknown")) {
                if (p->ref.digest)
                        return pull_fail(p, ENOENT, "no manifest has the digest %s (manifest unknown)",
                                         p->ref.digest);
                return pull_fail(p, ENOENT, "no such tag: %s (manifest unknown)", p->ref.tag);
        }
        if (strstr(m, "name unknown"))
                return pull_fail(p, ENOENT, "no such repository: %s (name unknown)", p->ref.repository);
        if (strstr(m, "no image found in"))
                return pull_fail(p, ENOENT, "the image index has no image for linux/%s", oci_host_architecture());
        if (strstr(m, "unauthorized") || strstr(m, "authentication required")) {
                if (p->login_withheld)
                        return pull_fail(p, EACCES,
                                         "the registry requires a login, which sandy does not send to a "
                                         "PlainHTTPRegistry= (401 Unauthorized)");
                if (!p->o->auth_file)
                        return pull_fail(p, EACCES,
                                         "the registry requires a login, and sandy.conf names no "
                                         "RegistryAuthFile= (401 Unauthorized)");
                if (p->login_missing)
                        return pull_fail(p, EACCES, "RegistryAuthFile= %s has no credentials for %s (401 Unauthorized)",
                                         p->o->auth_file, p->ref.domain);
                return pull_fail(p, EACCES, "the registry rejected the credentials for %s from %s (401 Unauthorized)",
                                 p->ref.domain, p->o->auth_file);
        }
        if (strstr(m, "denied"))
                return pull_fail(p, EACCES, "the registry refuses access: %s", m);
        if (strstr(m, "server gave HTTP response to HTTPS client") ||
            strstr(m, "first record does not look like a TLS handshake"))
                return pull_fail(p, EPROTO,
                                 "TLS failed: the registry answered in plain HTTP (a registry that speaks plain "
                                 "HTTP must be listed in PlainHTTPRegistry= of sandy.conf)");
        if ((x = strstr(m, "x509: ")) || (x = strstr(m, "tls: "))) {
                if (strstr(x, "unknown authority") || strstr(x, "failed to verify certificate"))
                        return pull_fail(p, EPROTO,
                                         "TLS: the registry's certificate is not trusted: %s (a registry with a CA of "
                                         "its own needs it in " SANDY_REGISTRY_CERTS_DIR "/%s/ca.crt)",
                                         x, p->ref.domain);
                return pull_fail(p, EPROTO, "TLS failed: %s", x);
        }
        if ((x = strstr(m, "lookup ")) && (strstr(x, "no such host") || strstr(x, "server misbehaving") ||
                                           strstr(x, "Temporary failure") || strstr(x, "i/o timeout")))
                return pull_fail(p, EHOSTUNREACH, "cannot resolve the registry's name (%s)", x);
        if ((x = strstr(m, "dial tcp")))
                return pull_fail(p, ECONNREFUSED, "cannot connect to the registry (%s)", x);
        if ((x = strstr(m, "connection reset")) || (x = strstr(m, "unexpected EOF")) || (x = strstr(m, ": EOF")))
                return pull_fail(p, ECONNRESET, "the connection to the registry broke (%s)", x);
        if (strstr(m, "Source image rejected") || strstr(m, "trust policy"))
                return pull_fail(p, EPERM, "the signature policy of skopeo (containers-policy.json(5)) refuses it: %s",
                                 m);
        if (status == 127 && !p->skopeo_error)
                return pull_fail(p, ENOEXEC, "skopeo could not be started: %s", m);
        return pull_fail(p, EIO, "skopeo failed: %s", isempty(m) ? "(no message; see the journal)" : m);
}

/* The bytes skopeo has written so far that were not in the cache: its layout and its TMPDIR. */
static uint64_t bytes_written(Pull *p) {
        static const char *const dirs[] = {"layout", "layout/blobs/sha256", "tmp"};
        uint64_t sum = 0;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_close_ int dfd = openat(p->dir_fd, dirs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
                if (!d)
                        continue;
                TAKE_FD(dfd);
                for (struct dirent *de; (de = readdir(d));) {
                        struct stat st;
                        if (de->d_name[0] != '.' && !strv_contains(p->cached, de->d_name) &&
                            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISREG(st.st_mode))
                                sum += (uint64_t)st.st_size;
                }
                closedir(d);
        }
        return sum;
}

/* skopeo's lines as they come; while it prints nothing (a large blob downloading), the bytes it wrote
 * join the status every half second, since it says neither how large a blob is nor how far it got. */
static void read_output(Pull *p, int fd) {
        char buf[8192];
        size_t len = 0;

        for (;;) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                int k = poll(&pfd, 1, 500);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k == 0) {
                        char text[160];
                        if (!startswith(p->status, "pulling layer "))
                                continue;
                        snprintf(text, sizeof text, "%s, %.1f MB fetched", p->status, (double)bytes_written(p) / 1e6);
                        if (p->o->progress)
                                p->o->progress(p->fraction, text, p->o->userdata);
                        continue;
                }
                ssize_t n = k < 0 ? -1 : read(fd, buf + len, sizeof buf - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                buf[len] = 0;
                char *start = buf, *nl;
                while ((nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
                        *nl = 0;
                        if (nl > start && nl[-1] == '\r')
                                nl[-1] = 0;
                        if (*start)
                                handle_line(p, start);
                        start = nl + 1;
                }
                len -= (size_t)(start - buf);
                memmove(buf, start, len);
                if (len == sizeof buf - 1) {
                        /* An overlong line: handled in pieces rather than stalling. */
                        buf[len] = 0;
                        handle_line(p, buf);
                        len = 0;
                }
        }
        if (len > 0) {
                buf[len] = 0;
                handle_line(p, buf);
        }
}

/* skopeo copy docker://REFERENCE oci:LAYOUT:img, confined; its lines handled as they come. */
static int pull_run_skopeo(Pull *p, const Confine *c, int auth_fd) {
        _cleanup_strv_free_ char **env = fetch_environment(), **argv = NULL;
        _cleanup_free_ char *src = NULL, *certs = NULL, *authfile = NULL, *tls = NULL;
        const char *skopeo = p->o->skopeo ?: SKOPEO_BINARY;
        int pipefd[2], r;
        pid_t pid;

        if (!env)
                return pull_fail(p, ENOMEM, "out of memory");
        if (access(skopeo, X_OK) < 0)
                return pull_fail(p, errno, "%s is not installed (apt install skopeo): docker:// images are pulled with it",
                                 skopeo);
        _cleanup_free_ char *ref = registry_ref_to_pull(&p->ref);
        if (!ref || xasprintf(&src, "docker://%s", ref) < 0 ||
            xasprintf(&certs, "--src-cert-dir=%s", p->cert_dir ?: CONFINE_FETCH_DIR "/certs") < 0 ||
            xasprintf(&tls, "--src-tls-verify=%s", p->plain ? "false" : "true") < 0 ||
            (auth_fd >= 0 && xasprintf(&authfile, "--src-authfile=/dev/fd/%d", auth_fd) < 0))
                return pull_fail(p, ENOMEM, "out of memory");
        /* The platform is the helper's, whatever skopeo was built for; uncompressed layers stay as the
         * registry has them (otherwise skopeo compresses them, and their digests change). */
        const char *args[] = {skopeo, "--override-os", "linux", "--override-arch", oci_host_architecture(),
                              "copy", tls, certs, authfile ?: "--src-no-creds",
                              "--dest-oci-accept-uncompressed-layers", src,
                              "oci:" CONFINE_FETCH_DIR "/layout:" PULL_LAYOUT_REF};
        for (size_t i = 0; i < ELEMENTSOF(args); i++)
                if (strv_extend(&argv, args[i]) < 0)
                        return pull_fail(p, ENOMEM, "out of memory");
        log_info("%s: skopeo copy %s (%s).", p->label, src,
                 p->plain ? "PlainHTTPRegistry=: HTTPS without checks, or plain HTTP" : "HTTPS");

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return pull_fail(p, errno, "cannot make a pipe: %s", strerror(errno));
        const int keep[] = {auth_fd};
        ConfineExec e = {
                .view = CONFINE_VIEW_FETCH,
                .argv = argv,
                .env = env,
                .stdin_fd = -EBADF,
                .stdout_fd = pipefd[1],
                .keep_fds = auth_fd >= 0 ? keep : NULL,
                .n_keep_fds = auth_fd >= 0 ? 1 : 0,
                .rw_fd = p->dir_fd,
        };
        r = confine_spawn(c, &e, &pid);
        safe_close(pipefd[1]);
        if (r < 0) {
                safe_close(pipefd[0]);
                return pull_fail(p, r, "cannot start skopeo: %s", strerror(-r));
        }
        read_output(p, pipefd[0]);
        safe_close(pipefd[0]);
        /* EOF comes when the last process of the run is gone (confine.h). */
        r = wait_for_terminate_and_check(NULL, pid);
        if (r < 0)
                return pull_fail(p, r, "cannot wait for skopeo: %s", strerror(-r));
        if (r > 0)
                return map_error(p, r);
        return 0;
}

/* ---- after skopeo ---- */

static int sha256_fd(int fd, char ret[static OCI_DIGEST_SHA256_LEN + 1]) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char md[32], buf[65536];
        ssize_t k;
        int r = 0;

        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                return -ENOMEM;
        }
        while ((k = read(fd, buf, sizeof buf)) != 0) {
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = -errno;
                        break;
                }
                EVP_DigestUpdate(ctx, buf, (size_t)k);
        }
        if (r >= 0 && EVP_DigestFinal_ex(ctx, md, NULL) != 1)
                r = -EIO;
        EVP_MD_CTX_free(ctx);
        if (r >= 0)
                oci_digest_format(md, ret);
        return r;
}

/* Whether the layout's HEX is the cache's own file (a link skopeo kept). */
static bool from_cache(Pull *p, const char *hex) {
        struct stat a, b;
        return fstatat(p->blobs_fd, hex, &a, AT_SYMLINK_NOFOLLOW) >= 0 &&
               fstatat(p->cache_fd, hex, &b, AT_SYMLINK_NOFOLLOW) >= 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

/* The unpack failed: a blob of the image that skopeo took from the cache and that is not what its name
 * says is removed from it (a disk error, a hand-edit); said so, since building again then fetches it. NULL
 * when every one is sound. */
static char *remove_damaged_cached(Pull *p) {
        char *damaged = NULL;

        STRV_FOREACH(d, p->copied) {
                const char *h = *d + 7;
                char got[OCI_DIGEST_SHA256_LEN + 1];
                if (!from_cache(p, h))
                        continue;
                _cleanup_close_ int fd = openat(p->cache_fd, h, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || sha256_fd(fd, got) < 0 || streq(got, *d))
                        continue;
                log_error("%s: blob %s of the blob cache is damaged (its content is %s): removed.", p->label, *d,
                          got);
                (void)unlinkat(p->cache_fd, h, 0);
                if (!damaged)
                        damaged = strdup(*d);
        }
        return damaged;
}

/* Fetched blobs into the cache, once the image they belong to is verified: root's, read-only, without what
 * their writer could have added (extended attributes, ACLs). One that is there already is left. */
static void pull_commit(Pull *p, char **blobs, uid_t uid) {
        STRV_FOREACH(b, blobs) {
                const char *hex = *b + 7;
                struct stat st;
                if (from_cache(p, hex) || fstatat(p->cache_fd, hex, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                        continue;
                _cleanup_close_ int fd = openat(p->blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != uid || st.st_nlink != 1)
                        continue;
                char names[4096];
                ssize_t n = flistxattr(fd, names, sizeof names);
                for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
                        (void)fremovexattr(fd, names + i);
                if (n < 0 && errno != ENOTSUP && errno != EOPNOTSUPP)
                        continue;
                if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0644) < 0) {
                        log_warning_errno(errno, "%s: cannot take blob %s: %m", p->label, *b);
                        continue;
                }
                if (renameat2(p->blobs_fd, hex, p->cache_fd, hex, RENAME_NOREPLACE) < 0 && errno != EEXIST)
                        log_warning_errno(errno, "%s: cannot add blob %s to the cache %s: %m", p->label, *b,
                                          p->o->cache_dir ?: SANDY_BLOB_CACHE_DIR);
        }
}

/* The manifest skopeo wrote, for the journal: the digest the image is now known by. */
static void log_manifest(Pull *p) {
        _cleanup_close_ int fd = openat(p->dir_fd, "layout/index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *text = NULL;
        cJSON *j, *m;

        if (fd < 0 || read_full_fd(fd, 1U << 20, &text, NULL) < 0 || !(j = cJSON_Parse(text)))
                return;
        m = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "manifests"), 0);
        const char *d = oci_json_str(m, "digest");
        if (d && oci_digest_is_valid(d))
                log_info("%s: skopeo copied the image manifest %s for linux/%s.", p->label, d, oci_host_architecture());
        cJSON_Delete(j);
}

static void unpack_progress(double fraction, const char *what, void *userdata) {
        Pull *p = userdata;
        _cleanup_free_ char *text = strdupf("unpacking %s", what);
        pull_progress(p, PULL_FETCH_SHARE + (1 - PULL_FETCH_SHARE) * fraction, text ?: what);
}

/* The config's platform must be this machine's: skopeo checks it only when it picks from an index. */
static int check_platform(Pull *p, const char *config) {
        cJSON *j = cJSON_Parse(config);
        int r = 0;

        if (!j)
                return pull_fail(p, EBADMSG, "its config is not JSON");
        const char *os = oci_json_str(j, "os"), *arch = oci_json_str(j, "architecture");
        if ((os && !streq(os, "linux")) || (arch && !streq(arch, oci_host_architecture())))
                r = pull_fail(p, ENOEXEC, "the image is for %s/%s, this machine is linux/%s", os ?: "?", arch ?: "?",
                              oci_host_architecture());
        cJSON_Delete(j);
        return r;
}

static void pull_done(Pull *p) {
        safe_close(p->dir_fd);
        safe_close(p->blobs_fd);
        safe_close(p->cache_fd);
        free(p->label);
        free(p->cert_dir);
        free(p->dir);
        strv_free(p->cached);
        strv_free(p->copied);
        free(p->skopeo_error);
        free(p->last_line);
        registry_ref_done(&p->ref);
        free(p->error);
}

int oci_pull(const char *reference, const Confine *c, const OciPullOptions *o, OciPullResult *ret) {
        _cleanup_free_ char *user = NULL, *password = NULL, *config = NULL, *layout = NULL, *damaged = NULL,
                            *problem = NULL;
        _cleanup_strv_free_ char **blobs = NULL;
        _cleanup_close_ int auth_fd = -EBADF, layout_fd = -EBADF;
        const char *why = NULL;
        Pull p = {.o = o, .dir_fd = -EBADF, .blobs_fd = -EBADF, .cache_fd = -EBADF};
        uid_t uid = CONFINE_FETCH_UID(c);
        int r;

        *ret = (OciPullResult){};
        r = registry_ref_parse(reference, &p.ref, &why);
        if (r < 0) {
                p.label = strdup(reference);
                r = pull_fail(&p, r, "not a valid image reference: %s", why ?: "invalid");
                goto finish;
        }
        p.label = registry_ref_to_string(&p.ref);
        if (!p.label) {
                r = pull_fail(&p, ENOMEM, "out of memory");
                goto finish;
        }
        p.plain = strv_contains(o->plain_http, p.ref.domain);

        if ((r = pull_credentials(&p, &user, &password)) < 0 || (r = pull_certificates(&p)) < 0 ||
            (r = pull_prepare(&p, uid)) < 0)
                goto finish;
        if (user) {
                auth_fd = auth_memfd(p.ref.domain, user, password);
                explicit_bzero(password, strlen(password));
                if (auth_fd < 0) {
                        r = pull_fail(&p, auth_fd, "cannot hand the login over: %s", strerror(-auth_fd));
                        goto finish;
                }
        }
        pull_progress(&p, 0, "pulling the manifest");
        r = pull_run_skopeo(&p, c, auth_fd);
        auth_fd = safe_close(auth_fd);
        if (r < 0)
                goto finish;
        log_manifest(&p);

        /* What skopeo wrote, checked again as any oci: layout is. */
        if (xasprintf(&layout, "%s/layout:" PULL_LAYOUT_REF, p.dir) < 0) {
                r = pull_fail(&p, ENOMEM, "out of memory");
                goto finish;
        }
        /* The same rule as for a layout From= names, with the build range's nobody as its owner. */
        r = oci_source_open(IMAGE_SOURCE_OCI, layout, uid, &layout_fd, &problem);
        if (r < 0) {
                r = pull_fail(&p, r, "cannot read what skopeo wrote: %s", problem ?: strerror(-r));
                goto finish;
        }
        r = oci_unpack(IMAGE_SOURCE_OCI, layout, layout_fd, uid, c, unpack_progress, &p, &config, &blobs);
        if (r < 0) {
                damaged = remove_damaged_cached(&p);
                if (damaged)
                        r = pull_fail(&p, r, "blob %s of the blob cache was damaged; it is removed: build again",
                                      damaged);
                else
                        r = pull_fail(&p, r, "the image does not unpack: %s (details in the journal)", strerror(-r));
                goto finish;
        }
        r = check_platform(&p, config);
        if (r < 0)
                goto finish;
        pull_commit(&p, blobs, uid);
        /* Whatever did not move into the cache goes: the image needs none of it. */
        p.dir_fd = safe_close(p.dir_fd);
        p.blobs_fd = safe_close(p.blobs_fd);
        (void)rm_rf(p.dir);

        log_info("%s: pulled and unpacked, %zu blobs (%zu were in the cache before).", p.label, strv_length(blobs),
                 strv_length(p.cached));
        pull_progress(&p, 1.0, "pulled");
        ret->config_json = TAKE_PTR(config);
        ret->blobs = TAKE_PTR(blobs);
        r = 0;
finish:
        if (r < 0)
                ret->error = TAKE_PTR(p.error);
        if (password)
                explicit_bzero(password, strlen(password));
        pull_done(&p);
        return r;
}
