/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The confinement of everything an image build runs that comes from the image or the recipe (apt, dpkg
 * maintainer scripts, Setup=, debootstrap, the OCI unpacker's child, our own code that edits the image's
 * files). See sandy-helper(8), "BUILD CONFINEMENT". Each run is:
 *
 *   stub     the forked child, still root: new mount, PID, IPC, UTS and cgroup namespaces, the build's
 *            network namespace (or a new empty one); relays the exit status of
 *   init     PID 1 of the new PID namespace, still root in the initial user namespace: makes the tree the
 *            root (an idmapped mount: IDs 0..65535 inside are the tree's own 0..65535 on disk), mounts /proc
 *            with /proc/sys read-only, a /dev of harmless nodes, and forks
 *   payload  which joins the build's user namespace (IDs 0..65535 are host IDs base..base+65535), keeps a
 *            few capabilities there and none outside, sets no_new_privs and a seccomp filter no looser than
 *            systemd-nspawn's, and runs the program.
 *
 * The mount namespace is owned by the initial user namespace: the payload cannot mount, unmount or remount
 * anything (the read-only /proc/sys stays read-only). When the payload exits, init exits, and the kernel
 * kills whatever else is left in the PID namespace before the stub sees init go: nothing of a run
 * outlives it. The whole build also runs in a cgroup of its own (build-cgroup.h). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/capability.h>
#include <sys/types.h>

#include "macro.h"

typedef enum ConfineView {
        CONFINE_VIEW_TREE, /* the tree is /, with /proc and /dev of its own */
        CONFINE_VIEW_BARE, /* the tree is /, nothing mounted in it (the OCI unpacker writes every path) */
        CONFINE_VIEW_HOST, /* the host's / read-only, the tree at CONFINE_HOST_TARGET (debootstrap --foreign)
                            */
        CONFINE_VIEW_FETCH, /* a host tool that downloads for the build (skopeo for docker://), see below */
} ConfineView;

/* Where the tree appears in CONFINE_VIEW_HOST. */
#define CONFINE_HOST_TARGET "/run/sandy-build/root"
/* CONFINE_VIEW_TREE: a directory on the build's own /run with a "chroot" for debootstrap --second-stage. */
#define CONFINE_SHIM_DIR "/run/sandy-build/bin"

/* CONFINE_VIEW_FETCH runs a program of the host that takes no code from the image and only downloads for
 * the build (skopeo): not as root of the build's user namespace but as its "nobody" (65534 there,
 * CONFINE_FETCH_UID on the host), with no capability at all; in the network namespace of the builder, i.e.
 * the helper's (a pull is the helper's, not the image's); the host's / read-only with the same directories
 * hidden as CONFINE_VIEW_HOST, the host's resolver configuration shown, no tree, and ConfineExec.rw_fd (a
 * directory of the build's, owned by CONFINE_FETCH_UID) read-write at CONFINE_FETCH_DIR: nothing else is
 * writable but the run's own /tmp, /var/tmp and /dev/shm. */
#define CONFINE_FETCH_DIR "/run/sandy-build/fetch"
#define CONFINE_FETCH_UID(c) ((c)->base + 65534U)

typedef struct Confine {
        uid_t base;        /* first host UID and GID of the build's range */
        int userns_fd;     /* 0..65535 -> base..base+65535 */
        int tree_fd;       /* the tree, O_DIRECTORY, IDs on disk as the image has them */
        int netns_fd;      /* the build's network namespace; -EBADF: each run gets a new empty one */
        int resolv_fd;     /* shown at /etc/resolv.conf of the tree when that is a regular file; or -EBADF */
        char **host_binds; /* CONFINE_VIEW_HOST: host paths shown read-only although under a hidden one */
} Confine;

typedef int (*confine_fn_t)(void *userdata);

typedef struct ConfineExec {
        ConfineView view;
        char *const *argv; /* argv[0] an absolute path in the view, or */
        confine_fn_t fn;   /* called in the payload; its return value is the exit status */
        void *userdata;
        char *const *env;
        uint64_t caps;       /* capabilities kept in the user namespace; 0: CONFINE_CAPS_DEFAULT */
        bool unpacker;       /* the filter also refuses execve and sockets */
        int stdin_fd;        /* -EBADF: /dev/null */
        int stdout_fd;       /* also stderr; -EBADF: /dev/null */
        const int *keep_fds; /* further fds the payload keeps (fn), or passes on to argv (FD_CLOEXEC cleared) */
        size_t n_keep_fds;
        const char *name; /* process name, e.g. "(sandy-unpack)" */
        int rw_fd;        /* CONFINE_VIEW_FETCH: the directory shown at CONFINE_FETCH_DIR */
} ConfineExec;

#define CAPBIT(c) (UINT64_C(1) << (c))
/* What apt, dpkg and maintainer scripts need as root of their tree, in the build's user namespace. Not
 * CAP_SYS_CHROOT: where the new root could only be entered with chroot() (inside a container), a second
 * chroot() would lead out of it. */
#define CONFINE_CAPS_DEFAULT                                                                                \
        (CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FOWNER) | CAPBIT(CAP_FSETID) |           \
         CAPBIT(CAP_KILL) | CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETPCAP) |                 \
         CAPBIT(CAP_SETFCAP) | CAPBIT(CAP_NET_BIND_SERVICE) | CAPBIT(CAP_AUDIT_WRITE))
/* What extracting a layer needs: owners, modes over read-only lower directories, setuid bits, file caps. */
#define CONFINE_CAPS_UNPACK                                                                                 \
        (CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | CAPBIT(CAP_FOWNER) | CAPBIT(CAP_FSETID) |           \
         CAPBIT(CAP_SETFCAP))

/* c gets its own user namespace for base (and keeps tree_fd, netns_fd: -EBADF for none). */
int confine_init(Confine *c, int tree_fd, uid_t base);
void confine_done(Confine *c);

/* Start e confined; *ret_pid is the stub, whose exit status is the program's (127 if it could not be
 * started, with the reason on stdout_fd). */
int confine_spawn(const Confine *c, const ConfineExec *e, pid_t *ret_pid);

/* Make sure the tree has real directories (not symlinks) where the confinement mounts: proc, dev, etc, run.
 */
int confine_prepare_tree(int tree_fd);

/* The seccomp filters of the payload (confine-seccomp.c). */
int confine_seccomp_apply(bool unpacker);

/* UID ranges of builds: a free slot of SANDY_UIDMAP_DIR, owned by SANDY_UID_BUILD_OWNER_PREFIX tag. */
int confine_range_acquire(const char *tag, uid_t *ret_base);
void confine_range_release(uid_t base, const char *tag);
/* At helper start: every build slot (no build runs before the helper does). */
void confine_range_clean(void);
