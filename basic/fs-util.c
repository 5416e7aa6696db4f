/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "string-util.h"

DIR *opendir_dup(int dfd) {
        int fd, saved;
        DIR *d;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d) {
                saved = errno;
                safe_close(fd);
                errno = saved;
        }
        return d;
}

int read_full_fd_full(int fd, size_t max_size, ReadFullFlags flags, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        bool truncate = flags & READ_FULL_TRUNCATE;
        size_t n = 0;
        struct stat st;

        if (!(flags & READ_FULL_ANY_TYPE)) {
                if (fstat(fd, &st) < 0)
                        return -errno;
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                if (!S_ISREG(st.st_mode))
                        return -EBADFD;
        }

        buf = malloc(max_size + 1);
        if (!buf)
                return -ENOMEM;
        /* One byte more than allowed tells a file that is too long from one that just fits. */
        while (n < max_size + !truncate) {
                ssize_t k = read(fd, buf + n, max_size + !truncate - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t)k;
        }
        if (n > max_size)
                return -EFBIG;
        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        return read_full_fd(fd, max_size, ret, ret_size);
}

int readlinkat_buf(int dfd, const char *name, char *buf, size_t size) {
        ssize_t n;

        if (size == 0)
                return -EINVAL;
        n = readlinkat(dfd, name, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

int copy_bytes(int fdf, int fdt) {
        char buf[65536];
        int r = 0;

        for (;;) {
                ssize_t n = read(fdf, buf, sizeof buf);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : 0;
                        break;
                }
                for (ssize_t done = 0; done < n;) {
                        ssize_t k = write(fdt, buf + done, (size_t)(n - done));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0) {
                                r = -errno;
                                goto finish;
                        }
                        done += k;
                }
        }
finish:
        /* What passed through may have been a secret (a credential). */
        explicit_bzero(buf, sizeof buf);
        return r;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        char *slash;
        int r;

        /* Usually the directory or its parent exists already: try that before walking up. */
        if (mkdir(path, mode) >= 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return -errno;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        slash = strrchr(p, '/');
        if (!slash || slash == p)
                return -ENOENT;
        *slash = 0;
        r = mkdir_p(p, mode);
        if (r < 0)
                return r;
        return mkdir(path, mode) >= 0 || errno == EEXIST ? 0 : -errno;
}

static int tempfile_name(const char *path, char **ret) {
        const char *slash = strrchr(path, '/');
        size_t dirlen = slash ? (size_t) (slash - path + 1) : 0;

        /* ".#name" is the prefix systemd and editors use for in-progress files; nothing loads it. */
        return xasprintf(ret, "%.*s.#%sXXXXXX", (int) dirlen, path, path + dirlen);
}

int write_file_atomic(const char *path, const char *content, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = tempfile_name(path, &tmp);
        if (r < 0)
                return r;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;

        for (size_t done = 0; done < size;) {
                ssize_t k = write(fd, content + done, size - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                done += (size_t) k;
        }
        if (fchmod(fd, mode) < 0 || rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

int symlink_atomic(const char *target, const char *path) {
        _cleanup_free_ char *tmp = NULL;
        int r;

        r = tempfile_name(path, &tmp);
        if (r < 0)
                return r;
        /* mkostemp() only makes regular files; reuse its name pattern by hand. */
        for (unsigned attempt = 0;; attempt++) {
                char *x = tmp + strlen(tmp) - 6;
                for (int i = 0; i < 6; i++)
                        x[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[random() % 36];
                if (symlink(target, tmp) >= 0)
                        break;
                if (errno != EEXIST || attempt >= 100)
                        return -errno;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}
