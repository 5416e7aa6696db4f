/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Applying one layer: the parent reads and hashes, a chrooted child writes. See oci-image.c for the
 * behaviour as a whole. */

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "process-util.h"
#include "log.h"
#include "oci-internal.h"
#include "hash.h"
#include "rm-rf.h"
#include "string-util.h"

#define PIPE_SIZE (1U << 20)
#define CHILD_MSG_MAX 4096U
#define MAX_WARNINGS 8U

void oci_digest_format(const unsigned char md[32], char *out) {
        static const char hex[] = "0123456789abcdef";

        memcpy(out, "sha256:", 7);
        for (size_t i = 0; i < 32; i++) {
                out[7 + 2 * i] = hex[md[i] >> 4];
                out[7 + 2 * i + 1] = hex[md[i] & 15];
        }
        out[OCI_DIGEST_SHA256_LEN] = 0;
}

bool oci_digest_is_valid(const char *s) {
        if (!s || !startswith(s, "sha256:") || strlen(s) != OCI_DIGEST_SHA256_LEN)
                return false;
        for (const char *c = s + 7; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false;
        return true;
}

void oci_progress_bytes(OciProgress *p, uint64_t n) {
        p->done += n;
        if (!p->cb || p->done - p->last < (4U << 20))
                return;
        p->last = p->done;
        p->cb(p->total > 0 ? (double) (p->done < p->total ? p->done : p->total) / (double) p->total : 0,
              p->what, p->userdata);
}

/* ---- the child, confined in the tree ---- */

/* A set of strings: the paths (and their parents) this layer wrote, which its own whiteouts and opaque
 * markers must leave alone. */
typedef struct PathSet {
        char **slots;
        size_t n, cap;
} PathSet;

static bool pathset_contains(const PathSet *s, const char *p) {
        if (s->cap == 0)
                return false;
        for (size_t i = fnv1a64(p) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
                if (!s->slots[i])
                        return false;
                if (streq(s->slots[i], p))
                        return true;
        }
}

static int pathset_put(PathSet *s, const char *p) {
        if (pathset_contains(s, p))
                return 0;
        if ((s->n + 1) * 2 > s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 1024;
                char **slots = calloc(cap, sizeof(char *));
                if (!slots)
                        return -ENOMEM;
                for (size_t i = 0; i < s->cap; i++) {
                        if (!s->slots[i])
                                continue;
                        size_t j = fnv1a64(s->slots[i]) & (cap - 1);
                        while (slots[j])
                                j = (j + 1) & (cap - 1);
                        slots[j] = s->slots[i];
                }
                free(s->slots);
                s->slots = slots;
                s->cap = cap;
        }
        size_t i = fnv1a64(p) & (s->cap - 1);
        while (s->slots[i])
                i = (i + 1) & (s->cap - 1);
        s->slots[i] = strdup(p);
        if (!s->slots[i])
                return -ENOMEM;
        s->n++;
        return 1;
}

/* p and every parent of it; stops at the first parent already known, whose parents are known too. */
static int pathset_put_with_parents(PathSet *s, const char *p) {
        _cleanup_free_ char *c = strdup(p);
        if (!c)
                return -ENOMEM;
        for (;;) {
                int r = pathset_put(s, c);
                if (r <= 0)
                        return r;
                char *slash = strrchr(c, '/');
                if (!slash)
                        return 0;
                *slash = 0;
        }
}

typedef struct Child {
        int status_fd;
        PathSet written;
        PathSet dropped; /* device nodes left out, so hardlinks to them are left out too */
        unsigned n_devices;
        unsigned n_warnings;
} Child;

_printf_(3, 4) static void child_msg(Child *c, char kind, const char *fmt, ...) {
        char buf[CHILD_MSG_MAX];
        va_list ap;
        int n;

        buf[0] = kind;
        buf[1] = ' ';
        va_start(ap, fmt);
        n = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        /* Entry names are the layer's: one with a newline must not start a message of its own. */
        for (char *x = buf + 2; *x; x++)
                if ((unsigned char) *x < ' ')
                        *x = '?';
        n = strlen(buf);
        buf[n++] = '\n';
        (void) !write(c->status_fd, buf, n);
}

/* "./a//b/" -> "a/b", "/etc/x" -> "etc/x" (the chroot makes them the same), "./" -> "". A ".." component
 * is refused, not resolved: no tool writes one into a layer by accident. */
static int normalize_path(const char *in, char **ret) {
        _cleanup_free_ char *out = malloc(strlen(in) + 1);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (const char *p = in; *p;) {
                const char *e = strchrnul(p, '/');
                size_t len = (size_t) (e - p);

                if (len == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                if (len > 0 && !(len == 1 && p[0] == '.')) {
                        if (n > 0)
                                out[n++] = '/';
                        memcpy(out + n, p, len);
                        n += len;
                }
                p = *e ? e + 1 : e;
        }
        out[n] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

/* Opaque directory: remove what lower layers put below dir, keep what this layer wrote. */
static int clear_lower(Child *c, int dfd, const char *prefix) {
        _cleanup_free_ char **names = NULL;
        size_t n = 0, cap = 0;
        int r = 0;

        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        /* Collect first: the directory changes under readdir() otherwise. */
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 32;
                        char **nn = realloc(names, cap * sizeof(char *));
                        if (!nn) {
                                r = -ENOMEM;
                                break;
                        }
                        names = nn;
                }
                if (!(names[n] = strdup(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                int k = 0;

                if (r == 0 && xasprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", names[i]) < 0)
                        k = -ENOMEM;
                else if (r == 0 && !pathset_contains(&c->written, path))
                        k = rm_rf_at(dfd, names[i]);
                else if (r == 0) {
                        int sub = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub >= 0) {
                                k = clear_lower(c, sub, path);
                                safe_close(sub);
                        }
                }
                if (k < 0 && r == 0)
                        r = k;
                free(names[i]);
        }
        return r;
}

static int apply_whiteout(Child *c, const char *dir, const char *name, bool opaque) {
        _cleanup_free_ char *path = NULL;
        int dfd, r;

        if (opaque) {
                dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return errno == ENOENT ? 0 : -errno;
                r = clear_lower(c, dfd, dir);
                safe_close(dfd);
                if (r < 0)
                        return r;
                return *dir ? pathset_put_with_parents(&c->written, dir) : 0;
        }
        if (xasprintf(&path, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
                return -ENOMEM;
        /* Whiteouts only hide lower layers; what this layer wrote stays. */
        if (pathset_contains(&c->written, path))
                return 0;
        /* The parent is resolved like any path here: through symlinks, but inside the chroot. */
        dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return IN_SET(errno, ENOENT, ENOTDIR) ? 0 : -errno;
        r = rm_rf_at(dfd, name);
        safe_close(dfd);
        return r;
}

/* Only xattrs that mean the same in any tree: file capabilities and user.*. trusted.overlay.* would
 * change what overlayfs shows when the image is used as a lower dir, security.selinux is another
 * system's label. */
static void filter_xattrs(struct archive_entry *e) {
        const char *name;
        const void *value;
        size_t size;
        struct {
                char *name;
                void *value;
                size_t size;
        } keep[16];
        size_t n = 0;

        if (archive_entry_xattr_reset(e) == 0)
                return;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
                if (n < ELEMENTSOF(keep) && (streq(name, "security.capability") || startswith(name, "user."))) {
                        keep[n].name = strdup(name);
                        keep[n].value = malloc(size ?: 1);
                        if (!keep[n].name || !keep[n].value) {
                                free(keep[n].name);
                                free(keep[n].value);
                                continue;
                        }
                        memcpy(keep[n].value, value, size);
                        keep[n].size = size;
                        n++;
                }
        archive_entry_xattr_clear(e);
        for (size_t i = 0; i < n; i++) {
                archive_entry_xattr_add_entry(e, keep[i].name, keep[i].value, keep[i].size);
                free(keep[i].name);
                free(keep[i].value);
        }
}

/* Make room for the entry: a non-directory replaces whatever was there (never writing through a
 * symlink or into a file hardlinked from a lower layer); a directory merges with a directory, also
 * one reached through a symlink (usrmerge: bin -> usr/bin stays a symlink). */
static int make_room(const char *path, bool is_dir) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return IN_SET(errno, ENOENT, ENOTDIR) ? 0 : -errno;
        if (is_dir) {
                if (S_ISDIR(st.st_mode))
                        return 0;
                if (S_ISLNK(st.st_mode) && stat(path, &st) >= 0 && S_ISDIR(st.st_mode))
                        return 0;
                return unlink(path) < 0 ? -errno : 0;
        }
        if (S_ISDIR(st.st_mode))
                return rm_rf_at(AT_FDCWD, path);
        return unlink(path) < 0 ? -errno : 0;
}

/* libarchive's messages may end with a full stop, ours add one. */
static const char *no_dot(struct archive *a) {
        static char buf[1024];
        const char *m = archive_error_string(a);
        if (!m)
                return NULL;
        snprintf(buf, sizeof(buf), "%s", m);
        size_t n = strlen(buf);
        while (n > 0 && buf[n - 1] == '.')
                buf[--n] = 0;
        return buf;
}

static int copy_data(struct archive *in, struct archive *out) {
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r = archive_read_data_block(in, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return ARCHIVE_OK;
                if (r < ARCHIVE_WARN)
                        return r;
                r = archive_write_data_block(out, buf, size, offset);
                if (r < ARCHIVE_WARN)
                        return r;
        }
}

static int child_entry(Child *c, struct archive *in, struct archive *out, struct archive_entry *e) {
        _cleanup_free_ char *path = NULL, *link = NULL;
        const char *raw = archive_entry_pathname(e) ?: archive_entry_pathname_utf8(e);
        const char *raw_link = archive_entry_hardlink(e);
        mode_t type = archive_entry_filetype(e);
        int r;

        if (!raw) {
                child_msg(c, 'e', "entry with an unreadable name");
                return -EINVAL;
        }
        if (normalize_path(raw, &path) < 0) {
                child_msg(c, 'e', "entry \"%s\": \"..\" in a path is not allowed", raw);
                return -EINVAL;
        }
        if (isempty(path))
                return 0; /* "./": the caller owns the root directory */

        /* aufs keeps hardlink targets in .wh..wh.plnk/: metadata, not content. */
        if (startswith(path, ".wh..wh.") || strstr(path, "/.wh..wh.")) {
                const char *m = startswith(path, ".wh..wh.") ? path : strstr(path, "/.wh..wh.") + 1;
                if (strchr(m, '/'))
                        return 0;
        }

        char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        if (startswith(base, ".wh.")) {
                _cleanup_free_ char *dir = slash ? strndup(path, (size_t) (slash - path)) : strdup("");
                if (!dir)
                        return -ENOMEM;
                if (streq(base, ".wh..wh..opq"))
                        r = apply_whiteout(c, dir, NULL, true);
                else if (startswith(base, ".wh..wh."))
                        return 0; /* aufs metadata (.wh..wh.plnk etc.), nothing to apply */
                else if (!streq(base, ".wh."))
                        r = apply_whiteout(c, dir, base + 4, false);
                else
                        r = 0;
                if (r < 0)
                        child_msg(c, 'e', "whiteout \"%s\": %s", raw, strerror(-r));
                return r;
        }

        if (raw_link) {
                if (normalize_path(raw_link, &link) < 0 || isempty(link)) {
                        child_msg(c, 'e', "hardlink \"%s\" -> \"%s\": \"..\" in a link target is not allowed",
                                  raw, raw_link);
                        return -EINVAL;
                }
                if (pathset_contains(&c->dropped, link))
                        return 0;
                if (streq(link, path))
                        return 0;
                archive_entry_set_hardlink(e, link);
        } else if (IN_SET(type, (mode_t) AE_IFCHR, (mode_t) AE_IFBLK, (mode_t) AE_IFSOCK)) {
                c->n_devices++;
                return pathset_put(&c->dropped, path) < 0 ? -ENOMEM : 0;
        }

        r = pathset_put_with_parents(&c->written, path);
        if (r < 0)
                return r;
        r = make_room(path, !raw_link && type == AE_IFDIR);
        if (r < 0) {
                child_msg(c, 'e', "entry \"%s\": cannot replace what is there: %s", raw, strerror(-r));
                return r;
        }
        archive_entry_set_pathname(e, path);
        filter_xattrs(e);
        archive_entry_acl_clear(e);

        r = archive_write_header(out, e);
        if (r >= ARCHIVE_WARN && archive_entry_size(e) > 0)
                r = copy_data(in, out);
        if (r >= ARCHIVE_WARN)
                r = archive_write_finish_entry(out);
        if (r < ARCHIVE_WARN) {
                child_msg(c, 'e', "entry \"%s\": %s", raw, no_dot(out) ?: no_dot(in) ?: "failed");
                return -EIO;
        }
        /* A few warnings say enough; more could fill the status pipe while the parent is busy feeding
         * data, and neither side would move again. */
        if (r == ARCHIVE_WARN && ++c->n_warnings <= MAX_WARNINGS)
                child_msg(c, 'w', "entry \"%s\": %s", raw, no_dot(out) ?: "warning");
        return 0;
}

typedef struct ChildFds {
        int data_fd, status_fd;
} ChildFds;

/* The confined child (confine.h, CONFINE_VIEW_BARE): its root is the tree, and only the two pipes are
 * open. Returns its exit status. */
static int child_run(void *userdata) {
        const ChildFds *fds = userdata;
        Child c = {.status_fd = fds->status_fd};
        struct archive *in, *out;
        struct archive_entry *e;
        int r;

        (void) signal(SIGPIPE, SIG_DFL);
        in = archive_read_new();
        out = archive_write_disk_new();
        if (!in || !out)
                return EXIT_FAILURE;
        /* Only tar: the parent has decompressed and hashed the stream already. */
        archive_read_support_format_tar(in);
        /* Numeric owners only: name lookups would read the image's own /etc/passwd. No ACLs, no file
         * flags (chattr +i would stop later layers), no SECURE_* flags: the confinement does that job and
         * SECURE_SYMLINKS would refuse writes through usrmerge symlinks. */
        archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME |
                                                    ARCHIVE_EXTRACT_XATTR);
        /* Entries get their modes exactly (ARCHIVE_EXTRACT_PERM ignores the umask); parents a layer does
         * not list get 0755, as with tar and docker. */
        umask(022);

        if (archive_read_open_fd(in, fds->data_fd, 256 * 1024) != ARCHIVE_OK) {
                child_msg(&c, 'e', "tar: %s", archive_error_string(in) ?: "cannot open stream");
                return EXIT_FAILURE;
        }
        for (;;) {
                r = archive_read_next_header(in, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        child_msg(&c, 'e', "tar: %s", archive_error_string(in) ?: "broken archive");
                        return EXIT_FAILURE;
                }
                if (child_entry(&c, in, out, e) < 0)
                        return EXIT_FAILURE;
        }
        /* Directory modes and times are set last, so that read-only directories can be filled first. */
        if (archive_write_close(out) < ARCHIVE_WARN) {
                child_msg(&c, 'e', "finishing: %s", archive_error_string(out) ?: "failed");
                return EXIT_FAILURE;
        }
        if (c.n_devices > 0)
                child_msg(&c, 'd', "%u", c.n_devices);
        if (c.n_warnings > MAX_WARNINGS)
                child_msg(&c, 'w', "%u more warnings", c.n_warnings - MAX_WARNINGS);

        /* Read what follows the end of the archive, so the parent can hash it without EPIPE. */
        char buf[65536];
        while (read(fds->data_fd, buf, sizeof(buf)) > 0)
                ;
        return EXIT_SUCCESS;
}

/* ---- the parent: read, hash, decompress, hash, feed ---- */

typedef struct Feed {
        OciBlob *blob;
        OciProgress *progress;
        EVP_MD_CTX *blob_md;
        uint64_t n_read, limit;
        bool too_big;
        int error;
} Feed;

static la_ssize_t feed_read(struct archive *a, void *userdata, const void **ret) {
        Feed *f = userdata;
        ssize_t n;

        if (f->too_big)
                return 0;
        n = oci_blob_next(f->blob, ret);
        if (n < 0) {
                f->error = (int) n;
                archive_set_error(a, (int) -n, "read error: %s", strerror((int) -n));
                return -1;
        }
        if (n > 0) {
                EVP_DigestUpdate(f->blob_md, *ret, (size_t) n);
                f->n_read += (uint64_t) n;
                oci_progress_bytes(f->progress, (uint64_t) n);
                /* A blob larger than its descriptor says is wrong whatever follows: stop reading it. */
                if (f->n_read > f->limit) {
                        f->too_big = true;
                        return 0;
                }
        }
        return n;
}

static const char *compression_name(OciCompression c) {
        switch (c) {
        case OCI_COMPRESSION_NONE:
                return "uncompressed tar";
        case OCI_COMPRESSION_GZIP:
                return "gzip";
        case OCI_COMPRESSION_ZSTD:
                return "zstd";
        default:
                return "any";
        }
}

static int write_all(int fd, const void *buf, size_t n) {
        const uint8_t *p = buf;
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* The child's messages are text from a process that parsed untrusted input: shown escaped. */
static void sanitize(char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < ' ' || (unsigned char) *s == 0x7f)
                        *s = '?';
}

/* Start the confined child with a data pipe (we write the tar stream) and a status pipe (it writes). */
static int child_start(const Confine *c, int *ret_data, int *ret_status, pid_t *ret_pid) {
        int data[2] = {-EBADF, -EBADF}, status[2] = {-EBADF, -EBADF}, r;

        if (pipe2(data, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
                r = log_error_errno(errno, "Failed to create pipes: %m");
                goto fail;
        }
        (void) fcntl(data[1], F_SETPIPE_SZ, PIPE_SIZE);
        ChildFds fds = {.data_fd = data[0], .status_fd = status[1]};
        int keep[] = {data[0], status[1]};
        ConfineExec e = {
                .view = CONFINE_VIEW_BARE,
                .fn = child_run,
                .userdata = &fds,
                .caps = CONFINE_CAPS_UNPACK,
                .unpacker = true,
                .stdin_fd = -EBADF,
                .stdout_fd = STDERR_FILENO, /* why the confinement failed, if it does: to the journal */
                .keep_fds = keep,
                .n_keep_fds = ELEMENTSOF(keep),
                .name = "(sandy-unpack)",
        };
        r = confine_spawn(c, &e, ret_pid);
        if (r < 0) {
                log_error_errno(r, "Failed to start the confined extraction: %m");
                goto fail;
        }
        safe_close(data[0]);
        safe_close(status[1]);
        *ret_data = data[1];
        *ret_status = status[0];
        return 0;
fail:
        safe_close(data[0]);
        safe_close(data[1]);
        safe_close(status[0]);
        safe_close(status[1]);
        return r;
}

/* Decompress what feed_read() hands out, hash it for diff_id and pass it to the child. Sets
 * decompress_error (size 512) when the data is not what the layer says. */
static void feed_layer(Feed *f, const OciLayer *l, EVP_MD_CTX *diff_md, int data_fd, char decompress_error[static 512]) {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        bool child_gone = false;

        if (!a) {
                snprintf(decompress_error, 512, "out of memory");
                return;
        }
        /* Only the compressions OCI defines; format "raw" hands out the decompressed stream. */
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_format_raw(a);
        if (archive_read_open(a, f, NULL, feed_read, NULL) != ARCHIVE_OK ||
            archive_read_next_header(a, &e) != ARCHIVE_OK)
                snprintf(decompress_error, 512, "%s", archive_error_string(a) ?: "empty or unreadable");
        else {
                int code = archive_filter_code(a, 0);
                OciCompression found = code == ARCHIVE_FILTER_GZIP   ? OCI_COMPRESSION_GZIP
                                       : code == ARCHIVE_FILTER_ZSTD ? OCI_COMPRESSION_ZSTD
                                                                     : OCI_COMPRESSION_NONE;
                if (l->compression != OCI_COMPRESSION_ANY && found != l->compression)
                        snprintf(decompress_error, 512, "media type says %s, the data is %s",
                                 compression_name(l->compression), compression_name(found));
        }
        while (!decompress_error[0]) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r = archive_read_data_block(a, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        snprintf(decompress_error, 512, "%s", archive_error_string(a) ?: "decompression failed");
                        break;
                }
                EVP_DigestUpdate(diff_md, buf, size);
                if (!child_gone && write_all(data_fd, buf, size) < 0)
                        child_gone = true; /* its exit status says why */
        }
        archive_read_free(a);
}

/* The blob digest covers every byte, also those after the compressed stream or after an error. */
static void drain_blob(Feed *f, OciProgress *p) {
        while (!f->too_big && f->error == 0) {
                const void *buf;
                ssize_t n = oci_blob_next(f->blob, &buf);
                if (n < 0)
                        f->error = (int) n;
                if (n <= 0)
                        break;
                EVP_DigestUpdate(f->blob_md, buf, (size_t) n);
                f->n_read += (uint64_t) n;
                oci_progress_bytes(p, (uint64_t) n);
                if (f->n_read > f->limit)
                        f->too_big = true;
        }
}

static size_t read_all(int fd, char *buf, size_t size) {
        size_t len = 0;
        while (len < size - 1) {
                ssize_t n = read(fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = 0;
        return len;
}

/* The parent decides, from what it read itself; the child's word only adds failures. */
static int verify_layer(const OciLayer *l, const Feed *f, EVP_MD_CTX *blob_md, EVP_MD_CTX *diff_md,
                        char *decompress_error) {
        unsigned char md[32];
        char blob_digest[OCI_DIGEST_SHA256_LEN + 1], diff_digest[OCI_DIGEST_SHA256_LEN + 1];

        EVP_DigestFinal_ex(blob_md, md, NULL);
        oci_digest_format(md, blob_digest);
        EVP_DigestFinal_ex(diff_md, md, NULL);
        oci_digest_format(md, diff_digest);
        if (f->error < 0)
                return log_error_errno(f->error, "Layer %u/%u %s: read error: %m", l->index, l->n, l->name);
        if (l->size != UINT64_MAX && (f->too_big || f->n_read != l->size))
                return log_error_errno(EBADMSG,
                                       "Layer %u/%u blob %s: size is %s%" PRIu64 " bytes, descriptor says %" PRIu64 ".",
                                       l->index, l->n, l->digest ?: l->name, f->too_big ? "more than " : "",
                                       f->too_big ? l->size : f->n_read, l->size);
        if (l->digest && !streq(blob_digest, l->digest))
                return log_error_errno(EBADMSG, "Layer %u/%u blob %s: digest mismatch, content is %s.", l->index,
                                       l->n, l->digest, blob_digest);
        if (decompress_error[0]) {
                sanitize(decompress_error);
                return log_error_errno(EBADMSG, "Layer %u/%u blob %s: %s.", l->index, l->n, l->digest ?: l->name,
                                       decompress_error);
        }
        if (!streq(diff_digest, l->diff_id))
                return log_error_errno(EBADMSG,
                                       "Layer %u/%u blob %s: uncompressed content is %s, the config's diff_id says %s.",
                                       l->index, l->n, l->digest ?: l->name, diff_digest, l->diff_id);
        return 0;
}

static int report_child(const OciLayer *l, char *msg, int wstatus) {
        bool child_error = false;

        for (char *line = msg, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                sanitize(line);
                if (line[0] == 'e' && line[1] == ' ') {
                        log_error("Layer %u/%u blob %s: %s.", l->index, l->n, l->digest ?: l->name, line + 2);
                        child_error = true;
                } else if (line[0] == 'w' && line[1] == ' ')
                        log_warning("Layer %u/%u: %s", l->index, l->n, line + 2);
                else if (line[0] == 'd' && line[1] == ' ')
                        log_info("Layer %u/%u: %s device node(s) left out.", l->index, l->n, line + 2);
        }
        if (child_error || wstatus == -1 || exit_status_from_wait(wstatus) != 0) {
                char buf[64];
                if (!child_error)
                        log_error("Layer %u/%u blob %s: extraction %s.", l->index, l->n, l->digest ?: l->name,
                                  wstatus == -1 ? "could not be waited for"
                                                : wait_status_to_string(wstatus, buf, sizeof buf));
                return -EBADMSG;
        }
        return 0;
}

int oci_layer_apply(OciBlob *blob, const OciLayer *l, const Confine *c, OciProgress *p) {
        int data = -EBADF, status = -EBADF;
        EVP_MD_CTX *blob_md = NULL, *diff_md = NULL;
        char decompress_error[512] = "";
        char msg[(MAX_WARNINGS + 4) * CHILD_MSG_MAX]; /* all the child may say fits in the pipe, too */
        sigset_t pipe_set, old_set;
        pid_t pid = -1;
        int r, wstatus = 0;
        Feed f = {
                .blob = blob,
                .progress = p,
                .limit = l->size,
        };

        /* EPIPE when the child gave up is handled below; the signal would end the whole helper. */
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        sigprocmask(SIG_BLOCK, &pipe_set, &old_set);

        r = child_start(c, &data, &status, &pid);
        if (r < 0)
                goto finish;
        blob_md = EVP_MD_CTX_new();
        diff_md = EVP_MD_CTX_new();
        if (!blob_md || !diff_md) {
                r = log_oom();
                goto finish;
        }
        EVP_DigestInit_ex(blob_md, EVP_sha256(), NULL);
        EVP_DigestInit_ex(diff_md, EVP_sha256(), NULL);
        f.blob_md = blob_md;

        feed_layer(&f, l, diff_md, data, decompress_error);
        data = safe_close(data);
        drain_blob(&f, p);
        (void) read_all(status, msg, sizeof msg);
        if (wait_for_pid(pid, &wstatus) < 0)
                wstatus = -1;
        pid = -1;

        r = verify_layer(l, &f, blob_md, diff_md, decompress_error);
        if (r >= 0)
                r = report_child(l, msg, wstatus);

finish:
        if (pid > 0) {
                (void) kill(pid, SIGKILL);
                (void) wait_for_pid(pid, NULL);
        }
        EVP_MD_CTX_free(blob_md);
        EVP_MD_CTX_free(diff_md);
        safe_close(data);
        safe_close(status);
        if (!sigismember(&old_set, SIGPIPE)) {
                const struct timespec zero = {};
                while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
                        ;
        }
        sigprocmask(SIG_SETMASK, &old_set, NULL);
        return r;
}
