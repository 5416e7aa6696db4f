/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include "macro.h"

/* A DIR for reading the directory dfd refers to, on a descriptor of its own: dfd stays open and its
 * position untouched. NULL with errno set on failure. */
DIR *opendir_dup(int dfd);
/* The whole regular file fd (from its current offset), NUL-terminated; -EFBIG above max_size. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);
int mkdir_p(const char *path, mode_t mode);
/* Write into a temporary file beside path and rename it over path, so readers see old or new. */
int write_file_atomic(const char *path, const char *content, size_t size, mode_t mode);
int symlink_atomic(const char *target, const char *path);
