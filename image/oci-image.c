/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Native unpacking of OCI images (oci_unpack(), see oci.h).
 *
 * SOURCES
 *   oci:PATH[:REF]             an OCI image layout directory (oci-layout, index.json, blobs/sha256/...).
 *   oci-archive:PATH[:REF]     a tar of such a directory. Blobs are read straight out of the tar (one
 *                              pass over its headers to list members, then a seek to each blob); nothing
 *                              is extracted to a temporary directory.
 *   docker-archive:PATH[:REF]  `docker save` output: manifest.json with Config, RepoTags and Layers;
 *                              both the classic layout (ID/layer.tar, symlinks for repeated layers) and
 *                              the OCI-style one of Docker 25 (blobs/sha256/...) work.
 *   PATH has no ':' (From= forbids it), so the first ':' starts REF. For oci: and oci-archive:, REF is
 *   matched against the org.opencontainers.image.ref.name annotation of index.json's entries; without
 *   REF, index.json must have exactly one entry. For docker-archive:, REF is one of RepoTags ("name:tag";
 *   "name" means "name:latest"); without REF, manifest.json must have exactly one image. An image index
 *   (or Docker manifest list) is resolved to the manifest for os "linux" and the architecture of the
 *   helper itself (amd64 on x86-64).
 *
 * VERIFICATION
 *   Every blob read (index, manifest, config, layers) is hashed while it is read and compared with the
 *   sha256 digest and the size of the descriptor that named it; only sha256 digests are accepted. Each
 *   layer's uncompressed stream is hashed too and compared with the config's rootfs.diff_ids entry.
 *   docker-archive: has no descriptors: its config is checked against the digest in its file name, its
 *   layers against the diff_ids (and against the digest in their name when they are blobs/sha256/...).
 *   A mismatch fails the unpack with a message naming the blob and both digests. Layers may be gzip,
 *   zstd or plain tar; the compression found in the data must be the one the media type names. Since
 *   layers are streamed, a layer is extracted while it is being verified: on any failure the target
 *   holds a partial tree and the caller (which builds in a temporary directory) throws it away.
 *
 * LAYERS
 *   Layers are applied in order. In each, entries are handled as tar(1) would inside a chroot, with
 *   these rules:
 *   - Names are normalised ("./a//b/" is "a/b"; a leading "/" is dropped, which a chroot does anyway).
 *     A name or hardlink target with a ".." component fails the unpack: no honest tool writes one.
 *   - .wh.NAME removes NAME (and all below it) as left by lower layers; .wh..wh..opq makes its
 *     directory opaque: everything lower layers put in it goes, what this layer puts in it (before or
 *     after the marker) stays. Other .wh..wh.* entries (aufs metadata) are ignored. Whiteout files
 *     themselves never appear in the tree.
 *   - A later entry for the same path wins, in the same layer or a later one. A non-directory replaces
 *     whatever was there (it is unlinked first, so neither a symlink nor a hardlink shared with a lower
 *     file is written through); a directory over a directory merges; a directory over a symlink to a
 *     directory keeps the symlink, so usrmerge trees (bin -> usr/bin) stay merged and a later layer's
 *     bin/foo lands in usr/bin/foo.
 *   - Character and block devices (and sockets) are left out, as are hardlinks to them: the sandbox
 *     gets its /dev from systemd-nspawn. FIFOs are kept.
 *   - Owners are kept as numeric IDs (no name lookups), modes including setuid/setgid bits are kept
 *     (it is a root file system; under nspawn's user namespace they grant nothing outside), times kept.
 *     Extended attributes: only security.capability and user.* are kept; ACLs and file flags are not.
 *   - Symlinks are written as they are, whatever they point to: they are resolved inside the sandbox.
 * CONFINEMENT
 *   Each layer is extracted by a confined child process (confine.h) whose root is the target directory
 *   before it reads the first entry, so absolute names, symlinks (also in parent directories and under
 *   whiteouts) and hardlink targets all resolve inside the tree. It is root of the build's user namespace
 *   (owners outside 0..65535 cannot be set and are warned about), keeps CAP_CHOWN, CAP_DAC_OVERRIDE,
 *   CAP_FOWNER, CAP_FSETID and CAP_SETFCAP there and nothing outside, has no network, no_new_privs and a
 *   seccomp filter that also refuses execve() and sockets. The parent reads the blob, hashes the
 *   stored and the decompressed bytes and feeds the tar stream to the child through a pipe; the child
 *   reports errors as text over a second pipe and through its exit status. Whether a layer is good is
 *   decided by the parent from the digests it computed itself; the child can only add failures.
 *   Nothing is fsync()ed: the caller renames a finished tree into place and syncs once.
 */

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>

#include "conf-parser.h"
#include "fs-util.h"
#include "log.h"
#include "oci-internal.h"
#include "string-util.h"
#include "strv.h"

#define BLOB_BUF_SIZE (256U * 1024U)
#define JSON_MAX (16U << 20)

#define REF_ANNOTATION "org.opencontainers.image.ref.name"

/* ---- blobs ---- */

void oci_blob_close(OciBlob *b) {
        b->fd = safe_close(b->fd);
        if (b->archive)
                archive_read_free(b->archive);
        b->archive = NULL;
        b->buf = mfree(b->buf);
}

ssize_t oci_blob_next(OciBlob *b, const void **ret) {
        if (b->archive) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r = archive_read_data_block(b->archive, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return -(archive_errno(b->archive) > 0 ? archive_errno(b->archive) : EIO);
                *ret = buf;
                return (ssize_t) size;
        }
        if (!b->buf) {
                b->buf = malloc(BLOB_BUF_SIZE);
                if (!b->buf)
                        return -ENOMEM;
                b->buf_size = BLOB_BUF_SIZE;
        }
        for (;;) {
                ssize_t n = read(b->fd, b->buf, b->buf_size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0 && b->wait) {
                        int r = b->wait(b->wait_userdata);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                }
                *ret = b->buf;
                return n;
        }
}

/* ---- sources ---- */

typedef struct Member {
        char *name;
        char *link; /* symlink or hardlink target, already resolved to a member name */
        uint64_t size;
        bool regular;
} Member;

typedef struct Source {
        ImageSourceType type;
        char *path; /* as From= names it, for messages */
        char *ref;
        int dir_fd;      /* IMAGE_SOURCE_OCI: the layout oci_source_open() checked */
        char *open_path; /* archives: /proc/self/fd/N of the file it checked, reopened for each member */
        uid_t owner;     /* besides root, who may own what is read */
        Member *members;
        size_t n_members;
} Source;

static void source_done(Source *s) {
        free(s->path);
        free(s->open_path);
        free(s->ref);
        safe_close(s->dir_fd);
        for (size_t i = 0; i < s->n_members; i++) {
                free(s->members[i].name);
                free(s->members[i].link);
        }
        free(s->members);
}

/* Member names as the manifests use them: "./x/y" and "/x/y" are "x/y"; ".." is resolved lexically
 * (only ever used to look names up in the archive, never to open a file). */
static char *member_name(const char *dir, const char *name) {
        _cleanup_free_ char *joined = NULL;
        char **parts = NULL;
        size_t n = 0;
        char *out;

        if (xasprintf(&joined, "%s/%s", dir ?: "", name) < 0)
                return NULL;
        size_t len = strlen(joined); /* strtok_r() cuts joined up */
        parts = calloc(len + 1, sizeof(char *));
        if (!parts)
                return NULL;
        for (char *p = joined, *save = NULL, *t; (t = strtok_r(p, "/", &save)); p = NULL) {
                if (streq(t, "."))
                        continue;
                if (streq(t, "..")) {
                        if (n > 0)
                                n--;
                        continue;
                }
                parts[n++] = t;
        }
        out = calloc(len + 1, 1);
        if (out)
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                strcat(out, "/");
                        strcat(out, parts[i]);
                }
        free(parts);
        return out;
}

static int source_list_members(Source *s) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        int r;

        if (!a)
                return log_oom();
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, s->open_path, 1U << 20) != ARCHIVE_OK) {
                r = log_error_errno(archive_errno(a) > 0 ? archive_errno(a) : EIO, "Failed to open %s: %s", s->path,
                                    archive_error_string(a) ?: "not a tar archive");
                archive_read_free(a);
                return r;
        }
        for (;;) {
                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        r = log_error_errno(EBADMSG, "Failed to read %s: %s", s->path,
                                            archive_error_string(a) ?: "broken tar archive");
                        archive_read_free(a);
                        return r;
                }
                /* Every header gets a slot, so that source_open() can count its way to a member. */
                const char *name = archive_entry_pathname(e) ?: "";
                Member *m = realloc(s->members, sizeof(Member) * (s->n_members + 1));
                if (!m) {
                        archive_read_free(a);
                        return log_oom();
                }
                s->members = m;
                m = &s->members[s->n_members];
                *m = (Member){
                        .name = member_name(NULL, name),
                        .size = (uint64_t) archive_entry_size(e),
                        .regular = archive_entry_filetype(e) == AE_IFREG,
                };
                if (archive_entry_hardlink(e))
                        m->link = member_name(NULL, archive_entry_hardlink(e));
                else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e)) {
                        _cleanup_free_ char *dir = strdup(m->name ?: "");
                        char *slash = dir ? strrchr(dir, '/') : NULL;
                        if (slash)
                                *slash = 0;
                        else if (dir)
                                *dir = 0;
                        m->link = dir ? member_name(dir, archive_entry_symlink(e)) : NULL;
                        if (!m->link) {
                                free(m->name);
                                archive_read_free(a);
                                return log_oom();
                        }
                }
                if (!m->name) {
                        free(m->link);
                        archive_read_free(a);
                        return log_oom();
                }
                s->n_members++;
        }
        archive_read_free(a);
        return 0;
}

static const Member *source_find_member(Source *s, const char *name) {
        _cleanup_free_ char *n = member_name(NULL, name);

        for (unsigned hops = 0; n && hops < 8; hops++) {
                const Member *found = NULL;
                /* The last one wins, as it would when extracting. */
                for (size_t i = 0; i < s->n_members; i++)
                        if (streq(s->members[i].name, n))
                                found = &s->members[i];
                if (!found || !found->link)
                        return found && found->regular ? found : NULL;
                free(n);
                n = strdup(found->link);
        }
        return NULL;
}

/* Opens a blob by its path in the layout ("blobs/sha256/HEX") or in the archive. */
static int source_open(Source *s, const char *name, OciBlob *ret, uint64_t *ret_size) {
        *ret = (OciBlob){.fd = -EBADF};

        if (s->type == IMAGE_SOURCE_OCI) {
                _cleanup_free_ char *problem = NULL, *where = NULL;
                struct stat st;
                /* No symlink at all, inside the layout or out of it; a file (or directory, checked by
                 * oci_source_open()) that someone untrusted could have written is not part of the image. */
                struct open_how how = {
                        .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
                };
                int fd = (int) syscall(SYS_openat2, s->dir_fd, name, &how, sizeof(how));
                if (fd < 0 && errno == ENOSYS && !strchr(name, '/'))
                        fd = openat(s->dir_fd, name,
                                    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
                if (fd < 0 && IN_SET(errno, ELOOP, EXDEV)) {
                        log_error("%s: refusing %s: a symlink is on the way to it, and none is followed.", s->path,
                                  name);
                        return -EPERM;
                }
                if (fd < 0)
                        return -errno;
                if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                        safe_close(fd);
                        return -EBADFD;
                }
                if (xasprintf(&where, "%s/%s", s->path, name) < 0) {
                        safe_close(fd);
                        return -ENOMEM;
                }
                if (check_trusted_stat(where, &st, s->owner, &problem) < 0) {
                        log_error("%s: refusing %s: %s.", s->path, name, problem ?: "untrusted");
                        safe_close(fd);
                        return -EPERM;
                }
                ret->fd = fd;
                if (ret_size)
                        *ret_size = (uint64_t) st.st_size;
                return 0;
        }

        const Member *m = source_find_member(s, name);
        if (!m)
                return -ENOENT;
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        if (!a)
                return -ENOMEM;
        archive_read_support_format_tar(a);
        if (archive_read_open_filename(a, s->open_path, 1U << 20) != ARCHIVE_OK) {
                archive_read_free(a);
                return -EIO;
        }
        /* Skipping other members' data seeks, so this costs one header read per member before it. */
        size_t want = (size_t) (m - s->members), i = 0;
        for (;; i++) {
                int r = archive_read_next_header(a, &e);
                if (r < ARCHIVE_WARN || r == ARCHIVE_EOF) {
                        archive_read_free(a);
                        return -EIO;
                }
                if (i == want)
                        break;
        }
        ret->archive = a;
        if (ret_size)
                *ret_size = m->size;
        return 0;
}

static const char *blob_path(const char *digest, char buf[static 14 + 64 + 1]) {
        /* digest is validated: "sha256:" and 64 hex digits */
        snprintf(buf, 14 + 64 + 1, "blobs/sha256/%s", digest + 7);
        return buf;
}

/* Reads a whole (small) blob and checks it against digest and size, when given. */
static int source_read_json(Source *s, const char *name, const char *digest, uint64_t size, char **ret) {
        _cleanup_free_ char *buf = NULL;
        OciBlob b;
        size_t n = 0;
        unsigned char md[32];
        char got[OCI_DIGEST_SHA256_LEN + 1];
        int r;

        r = source_open(s, name, &b, NULL);
        if (r == -ENOENT)
                return log_error_errno(r, "%s: %s%s%s is missing.", s->path, name, digest ? " for " : "",
                                       digest ?: "");
        if (r < 0)
                return log_error_errno(r, "%s: cannot open %s: %m", s->path, name);

        size_t cap = 64 * 1024;
        buf = malloc(cap + 1);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!buf || !ctx) {
                EVP_MD_CTX_free(ctx);
                oci_blob_close(&b);
                return log_oom();
        }
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        for (;;) {
                const void *p = NULL;
                ssize_t k = oci_blob_next(&b, &p);
                if (k < 0) {
                        r = log_error_errno((int) k, "%s: reading %s: %m", s->path, name);
                        break;
                }
                if (k == 0)
                        break;
                if (n + (size_t) k > JSON_MAX) {
                        r = log_error_errno(EFBIG, "%s: %s is larger than %u bytes.", s->path, name, JSON_MAX);
                        break;
                }
                if (n + (size_t) k > cap) {
                        while (n + (size_t) k > cap)
                                cap *= 2;
                        char *nb = realloc(buf, cap + 1);
                        if (!nb) {
                                r = log_oom();
                                break;
                        }
                        buf = nb;
                }
                memcpy(buf + n, p, (size_t) k);
                EVP_DigestUpdate(ctx, p, (size_t) k);
                n += (size_t) k;
        }
        EVP_DigestFinal_ex(ctx, md, NULL);
        EVP_MD_CTX_free(ctx);
        oci_blob_close(&b);
        if (r < 0)
                return r;
        buf[n] = 0;
        oci_digest_format(md, got);
        if (size != UINT64_MAX && n != size)
                return log_error_errno(EBADMSG, "%s: blob %s is %zu bytes, its descriptor says %" PRIu64 ".",
                                       s->path, digest ?: name, n, size);
        if (digest && !streq(got, digest))
                return log_error_errno(EBADMSG, "%s: blob %s: digest mismatch, content is %s.", s->path, digest,
                                       got);
        *ret = TAKE_PTR(buf);
        return 0;
}

/* ---- JSON ---- */

const char *oci_json_str(const cJSON *o, const char *key) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(j) ? j->valuestring : NULL;
}
#define json_str oci_json_str

int oci_parse_descriptor(const char *label, const cJSON *j, const char *what, OciDescriptor *ret) {
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(j, "size");

        *ret = (OciDescriptor){
                .media_type = json_str(j, "mediaType"),
                .digest = json_str(j, "digest"),
        };
        if (!ret->digest)
                return log_error_errno(EBADMSG, "%s: %s has no digest.", label, what);
        if (!oci_digest_is_valid(ret->digest))
                return log_error_errno(EBADMSG, "%s: %s has digest \"%s\"; only sha256:<64 hex digits> is supported.",
                                       label, what, ret->digest);
        if (!cJSON_IsNumber(size) || size->valuedouble < 0 || size->valuedouble > 9007199254740992.0 ||
            (double) (uint64_t) size->valuedouble != size->valuedouble)
                return log_error_errno(EBADMSG, "%s: %s (%s) has no valid size.", label, what, ret->digest);
        ret->size = (uint64_t) size->valuedouble;
        return 0;
}

const char *oci_host_architecture(void) {
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#elif defined(__arm__)
        return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return "ppc64le";
#elif defined(__s390x__)
        return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
        return "riscv64";
#else
        return "unknown";
#endif
}

int oci_parse_json(const char *label, const char *name, const char *text, cJSON **ret) {
        *ret = cJSON_Parse(text);
        if (!*ret || !cJSON_IsObject(*ret)) {
                cJSON_Delete(*ret);
                *ret = NULL;
                return log_error_errno(EBADMSG, "%s: %s is not a JSON object.", label, name);
        }
        return 0;
}

/* index.json's entries: REF selects by annotation, no REF needs exactly one. */
static int pick_top(Source *s, const cJSON *index, OciDescriptor *ret) {
        const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *m;
        _cleanup_free_ char *names = NULL;
        const cJSON *found = NULL;
        size_t n = 0, n_found = 0;

        if (!cJSON_IsArray(manifests))
                return log_error_errno(EBADMSG, "%s: index.json has no manifests.", s->path);
        cJSON_ArrayForEach(m, manifests) {
                const cJSON *ann = cJSON_GetObjectItemCaseSensitive(m, "annotations");
                const char *ref = json_str(ann, REF_ANNOTATION);
                n++;
                if (ref) {
                        char *t = NULL;
                        if (xasprintf(&t, "%s%s\"%s\"", names ?: "", names ? ", " : "", ref) < 0)
                                return log_oom();
                        free(names);
                        names = t;
                }
                if (s->ref ? streq_ptr(ref, s->ref) : true) {
                        if (!found || !streq_ptr(json_str(found, "digest"), json_str(m, "digest")))
                                n_found++;
                        found = m;
                }
        }
        if (n_found == 0)
                return log_error_errno(ENOENT, "%s: %s (names: %s).", s->path,
                                       s->ref ? "no image with that name" : "index.json lists no image",
                                       names ?: "none");
        if (n_found > 1)
                return log_error_errno(ENOTUNIQ, "%s: %s lists %zu images; name one as PATH:REF (names: %s).",
                                       s->path, s->ref ? "the name" : "index.json", n_found, names ?: "none");
        return oci_parse_descriptor(s->path, found, "index.json entry", ret);
}

int oci_pick_platform(const char *label, const cJSON *index, const char *index_digest, OciDescriptor *ret) {
        const cJSON *manifests = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *m;
        const char *arch = oci_host_architecture();
        _cleanup_free_ char *offered = NULL;

        cJSON_ArrayForEach(m, manifests) {
                const cJSON *pl = cJSON_GetObjectItemCaseSensitive(m, "platform");
                const char *os = json_str(pl, "os"), *a = json_str(pl, "architecture");
                if (streq_ptr(os, "linux") && streq_ptr(a, arch))
                        return oci_parse_descriptor(label, m, "image index entry", ret);
                if (os && a && strextendf(&offered, "%s%s/%s", offered ? ", " : "", os, a) < 0)
                        return log_oom();
        }
        return log_error_errno(ENOENT, "%s: image index %s has no image for linux/%s (it has: %s).", label,
                               index_digest, arch, offered ?: "none");
}

typedef struct Image {
        char *config;
        char *config_digest; /* "sha256:HEX", as checked; NULL when the source names none */
        OciLayer *layers;
        size_t n_layers;
        uint64_t *progress_sizes;
} Image;

void oci_layers_free(OciLayer *layers, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(layers[i].name);
                free(layers[i].digest);
                free(layers[i].diff_id);
        }
        free(layers);
}

static void image_done(Image *im) {
        free(im->config);
        free(im->config_digest);
        oci_layers_free(im->layers, im->n_layers);
        free(im->progress_sizes);
}

static int layer_compression(const char *mt, OciCompression *ret) {
        static const struct {
                const char *mt;
                OciCompression c;
        } table[] = {
                {"application/vnd.oci.image.layer.v1.tar", OCI_COMPRESSION_NONE},
                {"application/vnd.oci.image.layer.v1.tar+gzip", OCI_COMPRESSION_GZIP},
                {"application/vnd.oci.image.layer.v1.tar+zstd", OCI_COMPRESSION_ZSTD},
                {"application/vnd.oci.image.layer.nondistributable.v1.tar", OCI_COMPRESSION_NONE},
                {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_COMPRESSION_GZIP},
                {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", OCI_COMPRESSION_ZSTD},
                {"application/vnd.docker.image.rootfs.diff.tar", OCI_COMPRESSION_NONE},
                {"application/vnd.docker.image.rootfs.diff.tar.gzip", OCI_COMPRESSION_GZIP},
                {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_COMPRESSION_GZIP},
        };
        for (size_t i = 0; mt && i < ELEMENTSOF(table); i++)
                if (streq(mt, table[i].mt)) {
                        *ret = table[i].c;
                        return 0;
                }
        return -EMEDIUMTYPE;
}

static void cJSON_Deletep(cJSON **j) {
        cJSON_Delete(*j);
}

int oci_config_diff_ids(const char *label, const char *what, const char *config_text, OciLayer *layers,
                        size_t n_layers) {
        _cleanup_(cJSON_Deletep) cJSON *config = NULL;
        const cJSON *rootfs, *ids, *id;
        size_t i = 0;
        int r;

        r = oci_parse_json(label, what, config_text, &config);
        if (r < 0)
                return r;
        rootfs = cJSON_GetObjectItemCaseSensitive(config, "rootfs");
        ids = cJSON_GetObjectItemCaseSensitive(rootfs, "diff_ids");
        if (!streq_ptr(json_str(rootfs, "type"), "layers") || !cJSON_IsArray(ids))
                return log_error_errno(EBADMSG, "%s: config %s has no rootfs.diff_ids.", label, what);
        if ((size_t) cJSON_GetArraySize(ids) != n_layers)
                return log_error_errno(EBADMSG, "%s: config %s lists %d diff_ids for %zu layers.", label,
                                       what, cJSON_GetArraySize(ids), n_layers);
        cJSON_ArrayForEach(id, ids) {
                if (!cJSON_IsString(id) || !oci_digest_is_valid(id->valuestring))
                        return log_error_errno(EBADMSG, "%s: config %s: diff_id %zu is not a sha256 digest.",
                                               label, what, i + 1);
                free(layers[i].diff_id);
                layers[i].diff_id = strdup(id->valuestring);
                if (!layers[i].diff_id)
                        return log_oom();
                i++;
        }
        return 0;
}

int oci_manifest_layers(const char *label, const cJSON *manifest, OciDescriptor *ret_config,
                        OciLayer **ret_layers, size_t *ret_n) {
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(manifest, "layers"), *l;
        OciLayer *ls = NULL;
        size_t n = 0;
        int r;

        r = oci_parse_descriptor(label, cJSON_GetObjectItemCaseSensitive(manifest, "config"),
                                 "manifest config", ret_config);
        if (r < 0)
                return r;
        if (!streq_ptr(ret_config->media_type, OCI_MT_OCI_CONFIG) &&
            !streq_ptr(ret_config->media_type, OCI_MT_DOCKER_CONFIG))
                return log_error_errno(EMEDIUMTYPE,
                                       "%s: config %s has media type %s, not a container image.", label,
                                       ret_config->digest, ret_config->media_type ?: "(none)");
        if (!cJSON_IsArray(layers))
                return log_error_errno(EBADMSG, "%s: manifest has no layers.", label);
        ls = new0(OciLayer, (size_t) cJSON_GetArraySize(layers));
        if (!ls)
                return log_oom();
        cJSON_ArrayForEach(l, layers) {
                OciLayer *ol = &ls[n];
                OciDescriptor d;
                r = oci_parse_descriptor(label, l, "layer", &d);
                if (r < 0)
                        goto fail;
                if (layer_compression(d.media_type, &ol->compression) < 0) {
                        r = log_error_errno(EMEDIUMTYPE, "%s: layer %s has unsupported media type %s.",
                                            label, d.digest, d.media_type ?: "(none)");
                        goto fail;
                }
                ol->digest = strdup(d.digest);
                ol->name = strdup(d.digest);
                if (!ol->name || !ol->digest) {
                        r = log_oom();
                        goto fail;
                }
                ol->size = d.size;
                ol->index = (unsigned) n + 1;
                n++;
        }
        for (size_t i = 0; i < n; i++)
                ls[i].n = (unsigned) n;
        *ret_layers = ls;
        *ret_n = n;
        return 0;
fail:
        oci_layers_free(ls, n + 1);
        return r;
}

static int load_oci(Source *s, Image *im) {
        _cleanup_(cJSON_Deletep) cJSON *index = NULL, *manifest = NULL;
        _cleanup_free_ char *index_text = NULL, *manifest_text = NULL;
        char path[14 + 64 + 1];
        OciDescriptor d, config;
        int r;

        r = source_read_json(s, "index.json", NULL, UINT64_MAX, &index_text);
        if (r < 0)
                return r;
        r = oci_parse_json(s->path, "index.json", index_text, &index);
        if (r < 0)
                return r;
        r = pick_top(s, index, &d);
        if (r < 0)
                return r;

        for (unsigned depth = 0;; depth++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(cJSON_Deletep) cJSON *j = NULL;

                if (depth >= 4)
                        return log_error_errno(ELOOP, "%s: image indexes nested too deep.", s->path);
                r = source_read_json(s, blob_path(d.digest, path), d.digest, d.size, &text);
                if (r < 0)
                        return r;
                r = oci_parse_json(s->path, d.digest, text, &j);
                if (r < 0)
                        return r;
                /* The blob's own mediaType, when it has one, must agree with the descriptor. */
                const char *own = json_str(j, "mediaType");
                const char *mt = d.media_type ?: own;
                if (own && d.media_type && !streq(own, d.media_type))
                        return log_error_errno(EBADMSG, "%s: blob %s says it is %s, its descriptor says %s.",
                                               s->path, d.digest, own, d.media_type);
                if (oci_media_type_is_index(mt)) {
                        _cleanup_free_ char *digest = strdup(d.digest);
                        if (!digest)
                                return log_oom();
                        r = oci_pick_platform(s->path, j, digest, &d);
                        if (r < 0)
                                return r;
                        /* d points into j: keep j alive by moving it into index. */
                        cJSON_Delete(index);
                        index = TAKE_PTR(j);
                        free(index_text);
                        index_text = TAKE_PTR(text);
                        continue;
                }
                if (!oci_media_type_is_manifest(mt))
                        return log_error_errno(EMEDIUMTYPE, "%s: blob %s has media type %s, not an image manifest.",
                                               s->path, d.digest, mt ?: "(none)");
                manifest = TAKE_PTR(j);
                manifest_text = TAKE_PTR(text);
                break;
        }

        r = oci_manifest_layers(s->path, manifest, &config, &im->layers, &im->n_layers);
        if (r < 0)
                return r;
        im->progress_sizes = new0(uint64_t, im->n_layers);
        if (!im->progress_sizes)
                return log_oom();
        for (size_t i = 0; i < im->n_layers; i++) {
                OciLayer *ol = &im->layers[i];
                free(ol->name);
                ol->name = strdup(blob_path(ol->digest, path));
                if (!ol->name)
                        return log_oom();
                im->progress_sizes[i] = ol->size;
        }

        r = source_read_json(s, blob_path(config.digest, path), config.digest, config.size, &im->config);
        if (r < 0)
                return r;
        im->config_digest = strdup(config.digest);
        if (!im->config_digest)
                return log_oom();
        return oci_config_diff_ids(s->path, config.digest, im->config, im->layers, im->n_layers);
}

/* "HEX.json", "HEX" or "blobs/sha256/HEX": the name is the digest. */
static char *digest_from_name(const char *name) {
        const char *b = strrchr(name, '/');
        char *d = NULL;
        b = b ? b + 1 : name;
        if (strlen(b) < 64 || (b[64] && !streq(b + 64, ".json")))
                return NULL;
        if (xasprintf(&d, "sha256:%.64s", b) < 0)
                return NULL;
        if (!oci_digest_is_valid(d))
                d = mfree(d);
        return d;
}

static int load_docker(Source *s, Image *im) {
        _cleanup_(cJSON_Deletep) cJSON *manifest = NULL;
        _cleanup_free_ char *text = NULL, *config_digest = NULL, *tags = NULL, *want = NULL;
        const cJSON *entry = NULL, *e, *layers, *l;
        size_t n_found = 0;
        int r;

        r = source_read_json(s, "manifest.json", NULL, UINT64_MAX, &text);
        if (r < 0)
                return r;
        manifest = cJSON_Parse(text);
        if (!cJSON_IsArray(manifest))
                return log_error_errno(EBADMSG, "%s: manifest.json is not a JSON array.", s->path);
        if (s->ref && !strchr(strrchr(s->ref, '/') ?: s->ref, ':') && xasprintf(&want, "%s:latest", s->ref) < 0)
                return log_oom();
        cJSON_ArrayForEach(e, manifest) {
                const cJSON *rt = cJSON_GetObjectItemCaseSensitive(e, "RepoTags"), *t;
                bool match = !s->ref;
                cJSON_ArrayForEach(t, rt) {
                        if (!cJSON_IsString(t))
                                continue;
                        char *x = NULL;
                        if (xasprintf(&x, "%s%s\"%s\"", tags ?: "", tags ? ", " : "", t->valuestring) < 0)
                                return log_oom();
                        free(tags);
                        tags = x;
                        if (s->ref && (streq(t->valuestring, s->ref) || streq_ptr(t->valuestring, want)))
                                match = true;
                }
                if (match) {
                        entry = e;
                        n_found++;
                }
        }
        if (n_found == 0)
                return log_error_errno(ENOENT, "%s: no image %s%s (tags: %s).", s->path, s->ref ? "tagged " : "",
                                       s->ref ?: "", tags ?: "none");
        if (n_found > 1)
                return log_error_errno(ENOTUNIQ, "%s: %zu images match; name one as PATH:NAME:TAG (tags: %s).", s->path,
                                       n_found, tags ?: "none");

        const char *config = json_str(entry, "Config");
        layers = cJSON_GetObjectItemCaseSensitive(entry, "Layers");
        if (!config || !cJSON_IsArray(layers))
                return log_error_errno(EBADMSG, "%s: manifest.json entry has no Config or Layers.", s->path);
        config_digest = digest_from_name(config);
        if (!config_digest)
                return log_error_errno(EBADMSG, "%s: config %s is not named by its digest; cannot verify it.",
                                       s->path, config);

        im->layers = new0(OciLayer, (size_t) cJSON_GetArraySize(layers));
        im->progress_sizes = new0(uint64_t, (size_t) cJSON_GetArraySize(layers));
        if (!im->layers || !im->progress_sizes)
                return log_oom();
        cJSON_ArrayForEach(l, layers) {
                OciLayer *ol = &im->layers[im->n_layers];
                if (!cJSON_IsString(l))
                        return log_error_errno(EBADMSG, "%s: manifest.json: a layer is not a file name.", s->path);
                const Member *m = source_find_member(s, l->valuestring);
                if (!m)
                        return log_error_errno(ENOENT, "%s: layer %s is missing.", s->path, l->valuestring);
                ol->name = strdup(l->valuestring);
                if (!ol->name)
                        return log_oom();
                if (startswith(l->valuestring, "blobs/sha256/"))
                        ol->digest = digest_from_name(l->valuestring);
                ol->size = UINT64_MAX;
                ol->compression = OCI_COMPRESSION_ANY;
                im->progress_sizes[im->n_layers] = m->size;
                im->n_layers++;
        }
        r = source_read_json(s, config, config_digest, UINT64_MAX, &im->config);
        if (r < 0)
                return r;
        im->config_digest = TAKE_PTR(config_digest);
        return oci_config_diff_ids(s->path, im->config_digest, im->config, im->layers, im->n_layers);
}

/* What of a layout is read besides the blobs named by digest. */
static const char *const layout_entries[] = {"oci-layout", "index.json", "blobs", "blobs/sha256"};

/* Every entry of the layout's blobs/sha256 and what layout_entries[] names, checked as open_trusted()
 * checks a path: no symlink, root's or owner's, writable by nobody else. The opens in source_open() check
 * each file again; this is for the one line that names what is wrong before anything is read. */
static int layout_check(int dir_fd, const char *path, uid_t owner, char **ret_problem) {
        _cleanup_close_ int blobs = -EBADF;
        struct stat st;
        DIR *d;
        int r = 0;

        for (size_t i = 0; i < ELEMENTSOF(layout_entries); i++) {
                _cleanup_free_ char *where = NULL;
                if (fstatat(dir_fd, layout_entries[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue; /* said by what reads it */
                        return -errno;
                }
                if (xasprintf(&where, "%s/%s", path, layout_entries[i]) < 0)
                        return -ENOMEM;
                r = check_trusted_stat(where, &st, owner, ret_problem);
                if (r < 0)
                        return r;
        }
        blobs = openat(dir_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (blobs < 0)
                return errno == ENOENT ? 0 : -errno;
        d = opendir_dup(blobs);
        if (!d)
                return -errno;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                _cleanup_free_ char *where = NULL;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(blobs, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue; /* gone: said by what reads it, if it is needed */
                if (xasprintf(&where, "%s/blobs/sha256/%s", path, de->d_name) < 0)
                        r = -ENOMEM;
                else
                        r = check_trusted_stat(where, &st, owner, ret_problem);
        }
        closedir(d);
        return r;
}

int oci_source_open(ImageSourceType type, const char *location, uid_t owner, int *ret_fd, char **ret_problem) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *colon = strchr(location, ':');
        int r;

        *ret_problem = NULL;
        if (!IN_SET(type, IMAGE_SOURCE_OCI, IMAGE_SOURCE_OCI_ARCHIVE, IMAGE_SOURCE_DOCKER_ARCHIVE))
                return -EINVAL;
        path = colon ? strndup(location, (size_t) (colon - location)) : strdup(location);
        if (!path)
                return -ENOMEM;
        r = open_trusted(path, (type == IMAGE_SOURCE_OCI ? O_DIRECTORY : 0) | O_NOFOLLOW, owner, &fd, ret_problem);
        if (r < 0)
                return r;
        if (type == IMAGE_SOURCE_OCI) {
                r = layout_check(fd, path, owner, ret_problem);
                if (r < 0)
                        return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int oci_unpack(ImageSourceType type, const char *location, int source_fd, uid_t owner, const Confine *c,
               oci_progress_t progress, void *userdata, char **ret_config_json, char ***ret_blobs) {
        _cleanup_(image_done) Image im = {};
        _cleanup_(source_done) Source s = {.type = type, .dir_fd = -EBADF, .owner = owner};
        OciProgress p = {.cb = progress, .userdata = userdata};
        const char *colon;
        struct stat st;
        int r;

        if (!IN_SET(type, IMAGE_SOURCE_OCI, IMAGE_SOURCE_OCI_ARCHIVE, IMAGE_SOURCE_DOCKER_ARCHIVE))
                return log_error_errno(EINVAL, "oci_unpack: not an OCI source type.");
        colon = strchr(location, ':');
        s.path = colon ? strndup(location, (size_t) (colon - location)) : strdup(location);
        if (!s.path || (colon && !(s.ref = strdup(colon + 1))))
                return log_oom();
        if (s.ref && isempty(s.ref))
                s.ref = mfree(s.ref);
        if (fstat(c->tree_fd, &st) < 0 || !S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "The target is not a directory.");

        if (type == IMAGE_SOURCE_OCI) {
                s.dir_fd = fcntl(source_fd, F_DUPFD_CLOEXEC, 3);
                if (s.dir_fd < 0)
                        return log_error_errno(errno, "Failed to open OCI layout %s: %m", s.path);
                if (faccessat(s.dir_fd, "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        return log_error_errno(ENOENT, "%s is not an OCI layout: it has no oci-layout file.", s.path);
        } else {
                /* The file checked, never its path again: each member is read through a new open file
                 * description of the same inode. */
                if (xasprintf(&s.open_path, "/proc/self/fd/%d", source_fd) < 0)
                        return log_oom();
                r = source_list_members(&s);
                if (r < 0)
                        return r;
                if (type == IMAGE_SOURCE_OCI_ARCHIVE && !source_find_member(&s, "oci-layout"))
                        return log_error_errno(ENOENT, "%s is not an OCI archive: it has no oci-layout file.", s.path);
        }

        r = type == IMAGE_SOURCE_DOCKER_ARCHIVE ? load_docker(&s, &im) : load_oci(&s, &im);
        if (r < 0)
                return r;

        for (size_t i = 0; i < im.n_layers; i++)
                p.total += im.progress_sizes[i];
        for (size_t i = 0; i < im.n_layers; i++) {
                OciLayer *l = &im.layers[i];
                OciBlob b;

                l->index = (unsigned) i + 1;
                l->n = (unsigned) im.n_layers;
                snprintf(p.what, sizeof(p.what), "layer %u/%u", l->index, l->n);
                if (progress)
                        progress(p.total > 0 ? (double) p.done / (double) p.total : 0, p.what, userdata);

                r = source_open(&s, l->name, &b, NULL);
                if (r == -ENOENT)
                        return log_error_errno(r, "%s: layer %u/%u %s is missing.", s.path, l->index, l->n,
                                               l->digest ?: l->name);
                if (r < 0)
                        return log_error_errno(r, "%s: cannot open layer %s: %m", s.path, l->name);
                r = oci_layer_apply(&b, l, c, &p);
                oci_blob_close(&b);
                if (r < 0)
                        return r;
        }
        if (progress)
                progress(1.0, "done", userdata);
        if (ret_blobs) {
                _cleanup_strv_free_ char **blobs = NULL;
                if (im.config_digest && strv_extend(&blobs, im.config_digest) < 0)
                        return log_oom();
                for (size_t i = 0; i < im.n_layers; i++)
                        if (im.layers[i].digest && !strv_contains(blobs, im.layers[i].digest) &&
                            strv_extend(&blobs, im.layers[i].digest) < 0)
                                return log_oom();
                *ret_blobs = TAKE_PTR(blobs);
        }
        if (ret_config_json)
                *ret_config_json = TAKE_PTR(im.config);
        return 0;
}
