/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of sandy-prepare, one file each: the UID range (uid-range.c), the root and the persistent home
 * (root.c), the workspace (workspace.c), its protected paths (protect.c), credentials (credentials.c), the
 * resolver (resolv.c), and mounts.c, which puts them together at start and takes them apart at stop.
 *
 * Everything one start mounts lives under SANDY_RUNTIME_DIR/NAME:
 *   lower/      the image, idmapped read-only into the sandbox's range
 *   tmp/        tmpfs with upper/ and work/ (Ephemeral=yes; else SANDY_SANDBOX_STATE_DIR/NAME/overlay/)
 *   root/       the overlay nspawn runs
 *   home/       SANDY_SANDBOX_STATE_DIR/NAME/home idmapped (PersistHome=yes)
 *   workspace/  the workspace, idmapped so its owner is the sandbox user, protected paths read-only on top
 *   credentials/ copies of the Credential= files for the sandbox user
 *   protected   the protected paths found at start with their identity and content, for the check at stop
 *   seccomp     the container's seccomp filter, for sandyctl exec (sandy-prepare --started) */
#include <sys/types.h>

#include "paths.h"
#include "sandbox.h"

/* Per sandbox, a UID/GID range of 65536 of its own, kept across restarts (a persistent upper layer holds
 * host IDs of it); the constants are in lib/uid-range.h, shared with image builds. */
#include "uid-range.h"

/* uid-range.c: the first host UID of the range of name; allocate: take one if it has none. */
int sandbox_uid_base(const char *name, bool allocate, uid_t *ret);

/* prepare-util.c: mkdir (EEXIST is fine), then chown and chmod; logs failures. */
int make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid);
/* /etc of the sandbox's root (the mounted overlay), looked up inside it; logs failures. */
int root_open_etc(const Sandbox *s, const char *root);
/* openat2() with RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS (and O_CLOEXEC | O_NOCTTY): no component of
 * path may be a symlink. Returns the fd or -errno (-ELOOP: a symlink was met). */
int openat_no_symlinks(int dirfd, const char *path, int flags, mode_t mode);
/* The same for an absolute path, walked from "/". */
int open_no_symlinks(const char *path, int flags);
/* The file at path as user uid reads it (a child with their UID, GID and groups opens it), at most max
 * bytes, NUL-terminated. */
int read_file_as_user(const char *path, uid_t uid, size_t max, char **ret);

/* root.c */
/* "mode=0700,size=...,nr_inodes=..." of the ephemeral root's tmpfs, from EphemeralSize=. */
int ephemeral_tmpfs_options(const Sandbox *s, char **ret);
/* UID and GID of user in the image's /etc/passwd (inside IDs, below SANDY_UID_RANGE). */
int image_user(const char *rootfs, const char *user, uid_t *ret_uid, gid_t *ret_gid);
/* lower/, the upper layer and root/ of s: *ret_root is the overlay nspawn runs. ns: a user namespace fd
 * mapping 0..65535 to the sandbox's range. */
int root_mount(const Sandbox *s, const char *image_rootfs, int ns, uid_t base, char **ret_root);
/* PersistHome=yes: home/ and its Bind= line appended to *settings. */
int home_mount(const Sandbox *s, const char *image_rootfs, int ns, uid_t user_uid, gid_t user_gid,
               char **settings);

/* workspace.c */
/* The declared workspace, opened once from "/" without following any symlink, checked on that fd (a
 * directory, not root's, not a kernel file system, not a home directory): an O_PATH fd, or -errno (logged).
 * Everything later (the mount, the protected paths) goes through this fd. */
int workspace_open(const Sandbox *s);
/* workspace/ idmapped from wsfd to the sandbox user, protected paths applied, Bind= line appended to
 * *settings. */
int workspace_mount(const Sandbox *s, int wsfd, uid_t base, uid_t user_uid, gid_t user_gid, char **settings);

/* protect.c (with protect-git.c): at start, make the protected paths of the workspace (wsfd, mounted
 * idmapped at ws_mount) and their parents mount points, and record their identity and content; at stop
 * (after the mounts are gone), compare, quarantine and restore what changed, and report it (journal,
 * SANDY_SANDBOX_STATE_DIR/NAME/protected.report). */
int protect_paths_apply(const Sandbox *s, int wsfd, const char *ws_mount);
int protect_paths_check(const char *name);

/* credentials.c */
int credentials_install(const Sandbox *s, uid_t uid, gid_t gid, char **settings);
int credentials_remove(const char *name);

/* session-env.c: /etc/profile.d/sandy-session.sh with Environment= and CredentialEnvironment=. */
int session_env_setup(const Sandbox *s, const char *root, uid_t base);

/* resolv.c */
int resolv_conf_setup(const Sandbox *s, const char *root, uid_t base, char **settings);

/* mounts.c: all of the above for one start, and the nspawn settings text to append to the installed
 * .nspawn file; undone by sandbox_unmount_all() (ExecStopPost), which is safe after a partial start. */
int sandbox_mount_all(const Sandbox *s, int wsfd, const char *image_rootfs, char **ret_root, char **ret_settings);
int sandbox_unmount_all(const char *name);
