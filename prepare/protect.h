/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to protect.c and protect-git.c: the set of paths in the workspace whose identity and content
 * a session must not change, and how it is found. */
#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"

/* Caps, so that a workspace full of tricks cannot make start or stop unbounded. */
#define PROTECT_ENTRIES_MAX 8192U
#define PROTECT_DEPTH_MAX 16U

typedef enum EntryState {
        ENTRY_ABSENT,
        ENTRY_FILE,
        ENTRY_DIR,
        ENTRY_LINK,
        ENTRY_OTHER,
        ENTRY_BEHIND, /* a parent is a symlink or not a directory: judged at that parent */
} EntryState;

typedef struct Entry {
        char *path;   /* relative to the workspace, normalised, never "" */
        bool leaf;    /* a protected path: content counts; otherwise a parent of one: identity only */
        EntryState state;
        dev_t dev;
        ino_t ino;
        mode_t mode;
        uid_t uid;
        gid_t gid;
        nlink_t nlink;
        struct timespec ctime;
        char *extra;  /* leaf file/dir: content hash; link: its target */
} Entry;

typedef struct ProtectSet {
        Entry *e;
        size_t n;
        int wsfd;             /* the workspace (original mount), O_PATH */
        const char *workspace; /* its host path */
        uid_t owner;
        char *home;           /* the owner's home, for ~/ in git configs */
        bool overflow;
} ProtectSet;

void protect_set_done(ProtectSet *set);
/* Add path (relative; normalised here; NULL or outside the workspace: ignored) with its current state.
 * Parents are added as non-leaf entries; a symlink's target inside the workspace is added too. */
int protect_set_add(ProtectSet *set, const char *path, bool leaf);
Entry *protect_set_find(ProtectSet *set, const char *path);
/* The first max bytes of a regular file of the workspace (no symlinks), NUL-terminated; -ENOENT etc. */
int protect_read_file(ProtectSet *set, const char *path, size_t max, char **ret);
/* "a/b/../c" relative to base ("" for the workspace root); absolute paths are taken relative to the
 * workspace when below it, "~/" from the owner's home. NULL when it leaves the workspace. */
char *protect_resolve(const ProtectSet *set, const char *base, const char *value);

/* protect-git.c: every file git reads as configuration or runs from the repository at `worktree` (""
 * for the workspace itself): .git as a file and what it points to, config and config.worktree, hooks,
 * info, commondir, worktrees/, submodules at any depth, and what those configs name by core.hooksPath,
 * core.fsmonitor and include.path / includeIf.*.path, including through the owner's global and the
 * system's git config. */
int protect_git(ProtectSet *set, const char *worktree);
/* The parts of one git directory (not .git itself) that run code: for nested repositories found at stop. */
int protect_gitdir(ProtectSet *set, const char *gitdir, unsigned depth);
