/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include "macro.h"

/* A DIR for reading the directory dfd refers to, on a descriptor of its own: dfd stays open and its
 * position untouched. NULL with errno set on failure. */
DIR *opendir_dup(int dfd);
typedef enum ReadFullFlags {
        READ_FULL_ANY_TYPE = 1 << 0, /* any readable fd (a pipe, a socket), not only a regular file */
        READ_FULL_TRUNCATE = 1 << 1, /* more than max_size: its first max_size bytes, not -EFBIG */
} ReadFullFlags;
/* What fd gives until EOF (a file from its current offset), NUL-terminated; -EFBIG above max_size. Unless
 * READ_FULL_ANY_TYPE, fd must be a regular file (-EISDIR, -EBADFD). */
int read_full_fd_full(int fd, size_t max_size, ReadFullFlags flags, char **ret, size_t *ret_size);
static inline int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size) {
        return read_full_fd_full(fd, max_size, 0, ret, ret_size);
}
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);
/* The target of the symlink name below dfd (name "": dfd itself, an O_PATH fd), NUL-terminated in buf; a
 * longer one is cut at size - 1 bytes. */
int readlinkat_buf(int dfd, const char *name, char *buf, size_t size);
/* Everything fdf gives until EOF written to fdt. */
int copy_bytes(int fdf, int fdt);
int mkdir_p(const char *path, mode_t mode);
/* Write into a temporary file beside path and rename it over path, so readers see old or new. */
int write_file_atomic(const char *path, const char *content, size_t size, mode_t mode);
int symlink_atomic(const char *target, const char *path);
