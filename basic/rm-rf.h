/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* The one way sandy removes a tree it did not fully control (image builds, unpacked layers, state
 * directories): from a directory fd, entry by entry, never following a symlink (every directory is opened
 * with O_NOFOLLOW relative to its parent's fd) and never crossing into another file system (a mount point
 * below is left with its contents, and reported as -EXDEV). Whatever the tree's contents do meanwhile
 * (swap a directory for a symlink, rename things), nothing outside it is touched.
 *
 * rm_rf_at() removes the entry `name` of the directory dfd (and its contents); a missing entry is 0. Only
 * the last component of name is guaranteed not to be followed: pass a single file name, unless the caller
 * is confined to the tree (chrooted) anyway.
 * rm_rf_children() removes everything below the directory dfd, but not dfd itself.
 * rm_rf() is rm_rf_at() on the parent directory of an absolute path, opened without following symlinks
 * in its last component. */
int rm_rf_at(int dfd, const char *name);
int rm_rf_children(int dfd);
int rm_rf(const char *path);
