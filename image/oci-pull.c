/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * docker:// pulls (oci_pull(), see oci.h).
 *
 * The build process (root, in the build's cgroup) reads the credentials and CAs, which only root may
 * have written (open_trusted()), and starts the download process, sandy-fetch (registry.h): a fork that
 * drops to an unprivileged UID of the build's own range, keeps nothing but a socket and executes the one
 * program that links libcurl. It asks for the manifest,
 * verifies and parses it, then asks for every blob not in the cache at once: each is written into a file of
 * the build's temporary directory, which this process reads while it grows, so a layer is unpacked while it
 * is still downloading and the next ones download meanwhile. Everything read is hashed here; what the
 * download process says only adds failures. Only when the whole image is verified do its new blobs move
 * into the cache (a rename in the same file system); a failed pull leaves them in the temporary directory,
 * which goes with the build.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf-parser.h"
#include "fs-util.h"
#include "hash.h"
#include "log.h"
#include "oci-internal.h"
#include "paths.h"
#include "process-util.h"
#include "registry.h"
#include "rm-rf.h"
#include "string-util.h"
#include "strv.h"

#define CONFIG_MAX (16U << 20)
/* In the build's temporary directory, while the pull runs. */
#define PULL_DOWNLOADS_DIR "downloads"

typedef struct PullBlob {
        char *digest;
        uint64_t size;
        unsigned id; /* of the request; 0 when it comes from the cache */
        bool cached, done, failed, verified;
        unsigned reads_after_done;
        char *error;
        struct Pull *pull;
} PullBlob;

typedef struct Pull {
        const OciPullOptions *o;
        RegistryRef ref;
        char *label;
        int sock;
        pid_t fetcher;
        bool fetcher_gone;
        unsigned next_id;
        int tmp_dfd, cache_dfd;
        PullBlob *blobs; /* unique digests: the config first, then the layers */
        size_t n_blobs;
        /* the manifest request being waited for */
        unsigned wait_id;
        bool wait_done;
        char *wait_error, *wait_type, *wait_digest;
        OciProgress unpack;
        uint64_t total;
        unsigned layer, n_layers;
        uint64_t last_report;
        char *error;
} Pull;

void oci_pull_result_done(OciPullResult *r) {
        r->config_json = mfree(r->config_json);
        r->blobs = strv_free(r->blobs);
        r->error = mfree(r->error);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000U + (uint64_t)ts.tv_nsec / 1000U;
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

static PullBlob *pull_find_id(Pull *p, unsigned id) {
        for (size_t i = 0; i < p->n_blobs; i++)
                if (p->blobs[i].id == id)
                        return &p->blobs[i];
        return NULL;
}

static void pull_handle(Pull *p, char *msg) {
        char *save = NULL, *kind = strtok_r(msg, " ", &save), *ids = strtok_r(NULL, " ", &save);
        unsigned id;

        if (!kind || !ids || sscanf(ids, "%u", &id) != 1)
                return;
        if (id == p->wait_id && !p->wait_done) {
                p->wait_done = true;
                if (streq(kind, "E"))
                        p->wait_error = strdup(save ?: "failed");
                else {
                        const char *t = strtok_r(NULL, " ", &save), *d = strtok_r(NULL, " ", &save);
                        p->wait_type = t && !streq(t, "-") ? strdup(t) : NULL;
                        p->wait_digest = d && !streq(d, "-") ? strdup(d) : NULL;
                }
                return;
        }
        PullBlob *b = id > 0 ? pull_find_id(p, id) : NULL;
        if (!b || b->done || b->failed)
                return;
        if (streq(kind, "E")) {
                b->failed = true;
                b->error = strdup(save ?: "failed");
        } else
                b->done = true;
}

static void pull_fetcher_gone(Pull *p) {
        int status = 0;
        char buf[64] = "";

        if (p->fetcher_gone)
                return;
        p->fetcher_gone = true;
        if (p->fetcher > 0 && waitpid(p->fetcher, &status, 0) == p->fetcher) {
                p->fetcher = 0;
                (void)wait_status_to_string(status, buf, sizeof buf);
        }
        for (size_t i = 0; i < p->n_blobs; i++)
                if (!p->blobs[i].cached && !p->blobs[i].done && !p->blobs[i].failed) {
                        p->blobs[i].failed = true;
                        p->blobs[i].error = strdupf("the download process ended (%s)",
                                                    buf[0] ? buf : "unexpectedly");
                }
        if (p->wait_id && !p->wait_done) {
                p->wait_done = true;
                p->wait_error = strdupf("the download process ended (%s)", buf[0] ? buf : "unexpectedly");
        }
}

/* Wait up to timeout_ms for messages of the download process and handle them all. */
static void pull_poll(Pull *p, int timeout_ms) {
        struct pollfd pfd = {.fd = p->sock, .events = POLLIN};

        if (p->fetcher_gone)
                return;
        if (poll(&pfd, 1, timeout_ms) <= 0)
                return;
        for (;;) {
                char msg[2048];
                ssize_t n = recv(p->sock, msg, sizeof msg - 1, MSG_DONTWAIT);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        pull_fetcher_gone(p);
                        return;
                }
                msg[n] = 0;
                pull_handle(p, msg);
        }
}

static void pull_report(Pull *p, bool force) {
        uint64_t now = now_usec(), got = 0, cached = 0;
        _cleanup_free_ char *text = NULL;

        if (!p->o->progress || (!force && now - p->last_report < 250000))
                return;
        p->last_report = now;
        for (size_t i = 0; i < p->n_blobs; i++) {
                PullBlob *b = &p->blobs[i];
                struct stat st;
                if (b->cached)
                        cached += b->size;
                else if (b->done)
                        got += b->size;
                else if (fstatat(p->tmp_dfd, b->digest + 7, &st, AT_SYMLINK_NOFOLLOW) >= 0)
                        got += (uint64_t)st.st_size < b->size ? (uint64_t)st.st_size : b->size;
        }
        double fraction =
                        p->total > 0 ? (double)(got + cached + p->unpack.done) / (double)(2 * p->total) : 0;
        /* Short enough for sandyctl build's bar; the journal has the reference. */
        if (xasprintf(&text, "%.1f/%.1f MB", (double)got / 1e6, (double)(p->total - cached) / 1e6) < 0 ||
            (p->layer > 0 && strextendf(&text, ", layer %u/%u", p->layer, p->n_layers) < 0) ||
            (cached && strextendf(&text, ", %.1f MB cached", (double)cached / 1e6) < 0))
                return;
        p->o->progress(fraction > 1 ? 1 : fraction, text, p->o->userdata);
}

static void unpack_progress(double fraction, const char *what, void *userdata) {
        pull_report(userdata, false);
}

static int blob_wait(void *userdata) {
        PullBlob *b = userdata;
        Pull *p = b->pull;

        if (b->failed)
                return -EIO;
        /* Done: whatever was written before the message is in the file; one more read finds the end. */
        if (b->done)
                return b->reads_after_done++ > 0 ? 0 : 1;
        /* Caught up with the download: the next bytes come within milliseconds (only done and failed
         * are messages). */
        pull_poll(p, 10);
        pull_report(p, false);
        return 1;
}

/* ---- the download process ---- */

/* The environment sandy-fetch gets: a PATH and the proxy settings libcurl honours, nothing else. */
static char **fetcher_environment(void) {
        static const char *const keep[] = {"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
                                           "all_proxy",   "ALL_PROXY",   "no_proxy",   "NO_PROXY"};
        char **env = NULL;

        if (strv_extend(&env, "PATH=/usr/sbin:/usr/bin:/sbin:/bin") < 0)
                return strv_free(env);
        for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
                const char *v = getenv(keep[i]);
                _cleanup_free_ char *kv = v ? strdupf("%s=%s", keep[i], v) : NULL;
                if (v && (!kv || strv_extend(&env, kv) < 0))
                        return strv_free(env);
        }
        return env;
}

static int pull_start_fetcher(Pull *p, const RegistryFetcher *f) {
        _cleanup_strv_free_ char **env = fetcher_environment();
        const char *exe = p->o->fetcher ?: SANDY_LIBEXEC_DIR "/sandy-fetch";
        uid_t uid = p->o->fetcher_uid;
        int sv[2], r;
        pid_t pid;

        if (!env)
                return -ENOMEM;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                safe_close(sv[0]);
                safe_close(sv[1]);
                return -errno;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                /* Nothing of the build but the socket (not the tree, not its user namespace), a UID that
                 * nothing else uses while the pull runs, no capability (setresuid() from root clears them
                 * all), no way to gain one, and gone with the build. */
                if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(sv[1], 3) < 0 ||
                    close_range(4, ~0U, 0) < 0 || setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
                    setresuid(uid, uid, uid) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
                        fprintf(stderr, "Cannot set up the download process: %m\n");
                        _exit(126);
                }
                execve(exe, (char *const[]){(char *)"sandy-fetch", NULL}, env);
                fprintf(stderr, "Cannot execute %s: %m\n", exe);
                _exit(127);
        }
        safe_close(sv[1]);
        p->sock = sv[0];
        p->fetcher = pid;
        r = registry_fetcher_send_config(p->sock, f);
        return r < 0 ? r : 0;
}

static void pull_stop_fetcher(Pull *p) {
        p->sock = safe_close(p->sock);
        if (p->fetcher > 0) {
                (void)kill(p->fetcher, SIGKILL);
                (void)wait_for_pid(p->fetcher, NULL);
                p->fetcher = 0;
        }
}

/* The manifest (or index) of target, a tag or a digest. */
static int pull_manifest(Pull *p, const char *target, char **ret_text, size_t *ret_size, char **ret_type,
                         char **ret_header_digest) {
        _cleanup_close_ int fd = memfd_create("sandy-manifest", MFD_CLOEXEC);
        _cleanup_free_ char *req = NULL;
        int r;

        if (fd < 0)
                return pull_fail(p, errno, "cannot create a memfd: %s", strerror(errno));
        p->wait_id = ++p->next_id;
        p->wait_done = false;
        p->wait_error = mfree(p->wait_error);
        p->wait_type = mfree(p->wait_type);
        p->wait_digest = mfree(p->wait_digest);
        if (xasprintf(&req, "M %u %s", p->wait_id, target) < 0)
                return pull_fail(p, ENOMEM, "out of memory");
        r = registry_request(p->sock, req, fd);
        if (r < 0)
                return pull_fail(p, r, "the download process does not take requests: %s", strerror(-r));
        while (!p->wait_done) {
                pull_poll(p, 1000);
                if (p->fetcher_gone)
                        break;
        }
        if (p->wait_error)
                return pull_fail(p, EIO, "%s", p->wait_error);
        if (!p->wait_done)
                return pull_fail(p, EIO, "the download process ended");
        if (lseek(fd, 0, SEEK_SET) < 0)
                return pull_fail(p, errno, "cannot read the manifest: %s", strerror(errno));
        r = read_full_fd(fd, REGISTRY_MANIFEST_MAX, ret_text, ret_size);
        if (r < 0)
                return pull_fail(p, r, "cannot read the manifest: %s", strerror(-r));
        *ret_type = TAKE_PTR(p->wait_type);
        *ret_header_digest = TAKE_PTR(p->wait_digest);
        return 0;
}

static void cJSON_Deletep(cJSON **j) {
        cJSON_Delete(*j);
}

/* The image manifest of the reference, every step checked; *ret_json owns what ret_config points into. */
static int pull_resolve(Pull *p, cJSON **ret_json, OciDescriptor *ret_config, OciLayer **ret_layers,
                        size_t *ret_n) {
        _cleanup_free_ char *target = strdup(p->ref.digest ?: p->ref.tag), *expect = NULL;
        uint64_t expect_size = UINT64_MAX;
        int r;

        if (!target)
                return pull_fail(p, ENOMEM, "out of memory");
        if (p->ref.digest && !(expect = strdup(p->ref.digest)))
                return pull_fail(p, ENOMEM, "out of memory");
        for (unsigned depth = 0;; depth++) {
                _cleanup_free_ char *text = NULL, *type = NULL, *header = NULL;
                _cleanup_(cJSON_Deletep) cJSON *j = NULL;
                char hex[SHA256_HEX_LEN + 1], got[OCI_DIGEST_SHA256_LEN + 1];
                size_t size;

                if (depth >= 3)
                        return pull_fail(p, ELOOP, "image indexes nested too deep");
                r = pull_manifest(p, target, &text, &size, &type, &header);
                if (r < 0)
                        return r;
                r = sha256_hex(text, size, hex);
                if (r < 0)
                        return pull_fail(p, r, "cannot hash the manifest");
                snprintf(got, sizeof got, "sha256:%s", hex);
                if (expect && !streq(got, expect))
                        return pull_fail(p, EBADMSG,
                                         "the manifest the registry sent for %s is %s: it does not match "
                                         "its digest",
                                         expect, got);
                if (expect_size != UINT64_MAX && size != expect_size)
                        return pull_fail(p, EBADMSG,
                                         "the manifest %s is %zu bytes, the image index says %" PRIu64,
                                         expect, size, expect_size);
                if (!expect && header && oci_digest_is_valid(header) && !streq(got, header))
                        return pull_fail(p, EBADMSG,
                                         "the manifest of tag %s is %s, but the registry says it is %s "
                                         "(Docker-Content-Digest)",
                                         target, got, header);
                log_info("%s: manifest %s (%s).", p->label, got, type ?: "no content type");

                if (oci_parse_json(p->label, got, text, &j) < 0)
                        return pull_fail(p, EBADMSG, "the manifest %s is not a JSON object", got);
                const char *mt = oci_json_str(j, "mediaType");
                if (!mt && type) {
                        char *semi = strchr(type, ';');
                        if (semi)
                                *semi = 0;
                        mt = strstrip(type);
                }
                if (streq_ptr(mt, "application/vnd.docker.distribution.manifest.v1+json") ||
                    streq_ptr(mt, "application/vnd.docker.distribution.manifest.v1+prettyjws"))
                        return pull_fail(p, EMEDIUMTYPE,
                                         "the registry has only a Docker schema 1 manifest of it, which "
                                         "sandy does not "
                                         "read (push the image again with a current tool)");
                if (oci_media_type_is_index(mt)) {
                        OciDescriptor d;
                        if (oci_pick_platform(p->label, j, got, &d) < 0)
                                return pull_fail(p, ENOENT, "the image index %s has no image for linux/%s",
                                                 got, oci_host_architecture());
                        if (d.media_type && !oci_media_type_is_manifest(d.media_type))
                                return pull_fail(p, EMEDIUMTYPE,
                                                 "the image index's entry for linux/%s is %s, not an image "
                                                 "manifest",
                                                 oci_host_architecture(), d.media_type);
                        log_info("%s: the image index %s names %s for linux/%s.", p->label, got, d.digest,
                                 oci_host_architecture());
                        free(target);
                        free(expect);
                        target = strdup(d.digest);
                        expect = strdup(d.digest);
                        expect_size = d.size;
                        if (!target || !expect)
                                return pull_fail(p, ENOMEM, "out of memory");
                        continue;
                }
                if (!oci_media_type_is_manifest(mt))
                        return pull_fail(p, EMEDIUMTYPE,
                                         "%s is of media type %s, not an image manifest or index", got,
                                         mt ?: "(none)");
                if (oci_manifest_layers(p->label, j, ret_config, ret_layers, ret_n) < 0)
                        return pull_fail(p, EBADMSG,
                                         "the manifest %s is not a valid image manifest (see the journal)",
                                         got);
                *ret_json = TAKE_PTR(j);
                return 0;
        }
}

/* ---- credentials and CAs: root's files only ---- */

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
        r = read_full_fd(fd, 1U << 20, ret, ret_size);
        if (r < 0)
                return pull_fail(p, r, "cannot read %s %s: %s", what, path, strerror(-r));
        return 0;
}

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
                return 0;
        }
        if (r < 0)
                return pull_fail(p, r, "RegistryAuthFile= %s: %s", p->o->auth_file, why ?: strerror(-r));
        log_info("%s: using the credentials for %s from %s.", p->label, p->ref.domain, p->o->auth_file);
        return 0;
}

/* The CAs of SANDY_REGISTRY_CERTS_DIR/DOMAIN/ *.crt, or NULL; sandy-fetch trusts them besides the
 * system's (a registry may redirect blobs to a CDN with a public certificate). */
static int pull_certificates(Pull *p, char **ret_pem, size_t *ret_size) {
        _cleanup_free_ char *dir = NULL, *problem = NULL, *pem = NULL;
        _cleanup_close_ int dfd = -EBADF;
        struct dirent **names = NULL;
        size_t size = 0;
        int n, r;

        *ret_pem = NULL;
        *ret_size = 0;
        if (xasprintf(&dir, SANDY_REGISTRY_CERTS_DIR "/%s", p->ref.domain) < 0)
                return pull_fail(p, ENOMEM, "out of memory");
        r = open_trusted(dir, O_DIRECTORY, UID_INVALID, &dfd, &problem);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r == -EPERM && problem)
                return pull_fail(p, r, "refusing to trust the CAs in %s: %s", dir, problem);
        if (r < 0)
                return pull_fail(p, r, "cannot read %s: %s", dir, strerror(-r));
        n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                return pull_fail(p, errno, "cannot read %s: %s", dir, strerror(errno));
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL, *text = NULL;
                size_t len;
                if (r >= 0 && endswith(names[i]->d_name, ".crt") && names[i]->d_name[0] != '.') {
                        if (xasprintf(&path, "%s/%s", dir, names[i]->d_name) < 0)
                                r = pull_fail(p, ENOMEM, "out of memory");
                        else if ((r = read_trusted(p, path, "the CA file", false, &text, &len)) >= 0) {
                                char *np = realloc(pem, size + len + 2);
                                if (!np)
                                        r = pull_fail(p, ENOMEM, "out of memory");
                                else {
                                        pem = np;
                                        memcpy(pem + size, text, len);
                                        size += len;
                                        pem[size++] = '\n';
                                        pem[size] = 0;
                                }
                        }
                }
                free(names[i]);
        }
        free(names);
        if (r < 0)
                return r;
        if (!pem)
                return 0;

        log_info("%s: trusting the CAs in %s.", p->label, dir);
        *ret_pem = TAKE_PTR(pem);
        *ret_size = size;
        return 0;
}

/* ---- blobs ---- */

static int pull_add_blob(Pull *p, const char *digest, uint64_t size) {
        for (size_t i = 0; i < p->n_blobs; i++)
                if (streq(p->blobs[i].digest, digest))
                        return p->blobs[i].size == size
                                               ? 0
                                               : pull_fail(p, EBADMSG,
                                                           "the manifest gives blob %s two sizes", digest);
        PullBlob *n = realloc(p->blobs, sizeof(PullBlob) * (p->n_blobs + 1));
        if (!n)
                return pull_fail(p, ENOMEM, "out of memory");
        p->blobs = n;
        p->blobs[p->n_blobs] = (PullBlob){.digest = strdup(digest), .size = size, .pull = p};
        if (!p->blobs[p->n_blobs].digest)
                return pull_fail(p, ENOMEM, "out of memory");
        p->n_blobs++;
        p->total += size;
        return 0;
}

static PullBlob *pull_blob(Pull *p, const char *digest) {
        for (size_t i = 0; i < p->n_blobs; i++)
                if (streq(p->blobs[i].digest, digest))
                        return &p->blobs[i];
        return NULL;
}

/* From the cache when it has a regular file of the right size, else asked for. */
static int pull_request_blob(Pull *p, PullBlob *b) {
        _cleanup_close_ int fd = openat(p->cache_dfd, b->digest + 7, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *req = NULL;
        struct stat st;
        int r;

        if (fd >= 0 && fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == b->size) {
                b->cached = b->done = true;
                log_info("%s: blob %s is in the cache.", p->label, b->digest);
                return 0;
        }
        fd = safe_close(fd);
        fd = openat(p->tmp_dfd, b->digest + 7, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return pull_fail(p, errno, "cannot create the download of %s: %s", b->digest,
                                 strerror(errno));
        b->id = ++p->next_id;
        if (xasprintf(&req, "B %u %s %" PRIu64, b->id, b->digest, b->size) < 0)
                return pull_fail(p, ENOMEM, "out of memory");
        r = registry_request(p->sock, req, fd);
        if (r < 0)
                return pull_fail(p, r, "the download process does not take requests: %s", strerror(-r));
        return 0;
}

static int pull_open_blob(Pull *p, const PullBlob *b) {
        int fd = openat(b->cached ? p->cache_dfd : p->tmp_dfd, b->digest + 7,
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static int pull_wait_blob(Pull *p, PullBlob *b) {
        while (!b->done && !b->failed) {
                pull_poll(p, 1000);
                pull_report(p, false);
        }
        if (b->failed)
                return pull_fail(p, EIO, "%s", b->error ?: "the download failed");
        return 0;
}

/* The config: downloaded whole, checked, its diff_ids given to the layers, its platform checked. */
static int pull_config(Pull *p, const OciDescriptor *d, OciLayer *layers, size_t n, char **ret) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        PullBlob *b = pull_blob(p, d->digest);
        char hex[SHA256_HEX_LEN + 1], got[OCI_DIGEST_SHA256_LEN + 1];
        size_t size;
        int r;

        if (d->size > CONFIG_MAX)
                return pull_fail(p, EFBIG, "the config %s is larger than 16 MiB", d->digest);
        r = pull_wait_blob(p, b);
        if (r < 0)
                return r;
        fd = pull_open_blob(p, b);
        if (fd < 0)
                return pull_fail(p, fd, "cannot open the config %s: %s", d->digest, strerror(-fd));
        r = read_full_fd(fd, CONFIG_MAX, &text, &size);
        if (r < 0)
                return pull_fail(p, r, "cannot read the config %s: %s", d->digest, strerror(-r));
        if (sha256_hex(text, size, hex) < 0)
                return pull_fail(p, ENOMEM, "out of memory");
        snprintf(got, sizeof got, "sha256:%s", hex);
        if (size != d->size || !streq(got, d->digest)) {
                if (b->cached)
                        (void)unlinkat(p->cache_dfd, b->digest + 7, 0);
                return pull_fail(p, EBADMSG, "the config %s%s does not match its digest (%zu bytes, %s)",
                                 d->digest, b->cached ? " in the blob cache (now removed; build again)" : "",
                                 size, got);
        }
        b->verified = true;
        if (oci_config_diff_ids(p->label, d->digest, text, layers, n) < 0)
                return pull_fail(p, EBADMSG,
                                 "the config %s does not describe the manifest's layers (see the journal)",
                                 d->digest);
        if (oci_parse_json(p->label, d->digest, text, &j) >= 0) {
                const char *os = oci_json_str(j, "os"), *arch = oci_json_str(j, "architecture");
                if ((os && !streq(os, "linux")) || (arch && !streq(arch, oci_host_architecture())))
                        return pull_fail(p, ENOEXEC, "the image is for %s/%s, this machine is linux/%s",
                                         os ?: "?", arch ?: "?", oci_host_architecture());
        }
        *ret = TAKE_PTR(text);
        return 0;
}

/* Verified blobs into the cache; one that is there already (another build was faster) is left. */
static void pull_commit(Pull *p) {
        for (size_t i = 0; i < p->n_blobs; i++) {
                PullBlob *b = &p->blobs[i];
                if (b->cached || !b->verified)
                        continue;
                if (renameat2(p->tmp_dfd, b->digest + 7, p->cache_dfd, b->digest + 7, RENAME_NOREPLACE) <
                                    0 &&
                    errno != EEXIST)
                        log_warning_errno(errno, "%s: cannot add blob %s to the cache %s: %m", p->label,
                                          b->digest, p->o->cache_dir ?: SANDY_BLOB_CACHE_DIR);
        }
}

static void pull_done(Pull *p) {
        pull_stop_fetcher(p);
        for (size_t i = 0; i < p->n_blobs; i++) {
                free(p->blobs[i].digest);
                free(p->blobs[i].error);
        }
        free(p->blobs);
        safe_close(p->tmp_dfd);
        safe_close(p->cache_dfd);
        free(p->wait_error);
        free(p->wait_type);
        free(p->wait_digest);
        free(p->label);
        registry_ref_done(&p->ref);
        free(p->error);
}

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

int oci_pull(const char *reference, const Confine *c, const OciPullOptions *o, OciPullResult *ret) {
        _cleanup_(cJSON_Deletep) cJSON *manifest = NULL;
        _cleanup_free_ char *user = NULL, *password = NULL, *ca = NULL, *config = NULL, *tmp = NULL;
        OciLayer *layers = NULL;
        size_t n_layers = 0, ca_size = 0;
        OciDescriptor config_desc;
        const char *why = NULL;
        Pull p = {.o = o, .sock = -EBADF, .tmp_dfd = -EBADF, .cache_dfd = -EBADF};
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
        bool plain = strv_contains(o->plain_http, p.ref.domain);
        log_info("Pulling %s from %s://%s/v2/%s/.", p.label, plain ? "http" : "https", p.ref.endpoint,
                 p.ref.repository);

        if ((r = pull_credentials(&p, &user, &password)) < 0 ||
            (r = pull_certificates(&p, &ca, &ca_size)) < 0)
                goto finish;
        if (xasprintf(&tmp, "%s/" PULL_DOWNLOADS_DIR, o->tmpdir) < 0 || mkdir(tmp, 0700) < 0 ||
            (p.tmp_dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                r = pull_fail(&p, errno ?: ENOMEM, "cannot create %s: %s", tmp ?: "the download directory",
                              strerror(errno ?: ENOMEM));
                goto finish;
        }
        p.cache_dfd = open_cache(o->cache_dir);
        if (p.cache_dfd < 0) {
                r = pull_fail(&p, p.cache_dfd, "cannot open the blob cache %s: %s",
                              o->cache_dir ?: SANDY_BLOB_CACHE_DIR, strerror(-p.cache_dfd));
                goto finish;
        }

        RegistryFetcher f = {
                        .ref = &p.ref,
                        .plain_http = plain,
                        .username = user,
                        .password = password,
                        .auth_file = o->auth_file,
                        .ca_pem = ca,
        };
        r = pull_start_fetcher(&p, &f);
        if (user)
                explicit_bzero(user, strlen(user));
        if (password)
                explicit_bzero(password, strlen(password));
        if (r < 0) {
                r = pull_fail(&p, r, "cannot start the download process: %s", strerror(-r));
                goto finish;
        }
        if (o->progress)
                o->progress(0, "manifest", o->userdata);

        r = pull_resolve(&p, &manifest, &config_desc, &layers, &n_layers);
        if (r < 0)
                goto finish;
        /* Everything that is not cached, asked for at once, in the order it is needed. */
        r = pull_add_blob(&p, config_desc.digest, config_desc.size);
        for (size_t i = 0; r >= 0 && i < n_layers; i++)
                r = pull_add_blob(&p, layers[i].digest, layers[i].size);
        for (size_t i = 0; r >= 0 && i < p.n_blobs; i++)
                r = pull_request_blob(&p, &p.blobs[i]);
        if (r < 0)
                goto finish;
        p.n_layers = (unsigned)n_layers;
        p.unpack = (OciProgress){.cb = unpack_progress, .userdata = &p};
        for (size_t i = 0; i < n_layers; i++)
                p.unpack.total += layers[i].size;
        pull_report(&p, true);

        r = pull_config(&p, &config_desc, layers, n_layers, &config);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < n_layers; i++) {
                PullBlob *b = pull_blob(&p, layers[i].digest);
                OciBlob blob = {.wait = b->cached ? NULL : blob_wait, .wait_userdata = b};

                p.layer = (unsigned)i + 1;
                b->reads_after_done = 0;
                pull_report(&p, true);
                blob.fd = pull_open_blob(&p, b);
                if (blob.fd < 0) {
                        r = pull_fail(&p, blob.fd, "cannot open layer %s: %s", b->digest,
                                      strerror(-blob.fd));
                        goto finish;
                }
                r = oci_layer_apply(&blob, &layers[i], c, &p.unpack);
                oci_blob_close(&blob);
                if (r < 0) {
                        if (b->failed)
                                r = pull_fail(&p, r, "%s", b->error ?: "the download failed");
                        else if (b->cached) {
                                (void)unlinkat(p.cache_dfd, b->digest + 7, 0);
                                r = pull_fail(&p, r,
                                              "layer %zu/%zu %s from the blob cache is damaged; it was "
                                              "removed, "
                                              "build again (details in the journal)",
                                              i + 1, n_layers, b->digest);
                        } else
                                r = pull_fail(&p, r,
                                              "layer %zu/%zu %s is not what its digests say (details in the "
                                              "journal)",
                                              i + 1, n_layers, b->digest);
                        goto finish;
                }
                b->verified = true;
        }
        pull_stop_fetcher(&p);
        pull_commit(&p);
        /* Whatever did not move into the cache (another file system) goes: the image needs none of it. */
        p.tmp_dfd = safe_close(p.tmp_dfd);
        (void)rm_rf(tmp);

        for (size_t i = 0; i < p.n_blobs; i++)
                if (strv_extend(&ret->blobs, p.blobs[i].digest) < 0) {
                        r = pull_fail(&p, ENOMEM, "out of memory");
                        goto finish;
                }
        if (o->progress)
                o->progress(1.0, "pulled", o->userdata);
        log_info("%s: pulled, %zu layers, %.1f MB.", p.label, n_layers, (double)p.total / 1e6);
        ret->config_json = TAKE_PTR(config);
        r = 0;
finish:
        if (r < 0) {
                ret->blobs = strv_free(ret->blobs);
                ret->error = TAKE_PTR(p.error);
        }
        if (ca)
                explicit_bzero(ca, ca_size);
        oci_layers_free(layers, n_layers);
        pull_done(&p);
        return r;
}
