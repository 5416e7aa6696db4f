/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The root nspawn runs, and the persistent home.
 *
 * Why not nspawn's own Volatile=overlay with PrivateUsers=pick: systemd 252 cannot idmap an overlayfs
 * root ("ID mapped mounts are apparently not available"), and without idmapping the shared, root-owned
 * image would have to be chowned (copied). So the overlay is built here from idmapped layers: the image
 * is idmapped read-only into the sandbox's own UID range, the upper layer is a tmpfs (ephemeral) or a
 * state directory (persistent), both holding host IDs of that range, and nspawn runs the result with
 * PrivateUsers=BASE:65536 and no ownership fix-up. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "mount-util.h"
#include "parse-util.h"
#include "prepare.h"
#include "process-util.h"
#include "string-util.h"

/* UID and GID of USER in the image's /etc/passwd, read without following symlinks out of the image (the
 * image comes from an untrusted OCI source, and this runs as host root). */
int image_user(const char *rootfs, const char *user, uid_t *ret_uid, gid_t *ret_gid) {
        _cleanup_close_ int rfd = -EBADF, fd = -EBADF;
        _cleanup_fclose_ FILE *f = NULL;
        struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                               .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
        char line[4096];

        rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        fd = (int) syscall(SYS_openat2, rfd, "etc/passwd", &how, sizeof how);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "r");
        if (!f)
                return -errno;
        TAKE_FD(fd);
        while (fgets(line, sizeof line, f)) {
                char *fields[4] = {}, *p = line;
                uint64_t u, g;
                size_t n = 0;

                for (char *w; n < 4 && (w = strsep(&p, ":")); n++)
                        fields[n] = w;
                if (n < 4 || !streq(fields[0], user))
                        continue;
                if (safe_atou64(fields[2], &u) < 0 || safe_atou64(fields[3], &g) < 0 || u >= SANDY_UID_RANGE ||
                    g >= SANDY_UID_RANGE)
                        return -ERANGE;
                *ret_uid = (uid_t) u;
                *ret_gid = (gid_t) g;
                return 0;
        }
        return -ESRCH;
}

/* Copy the image's /home/USER to `to`. The image is untrusted: its /home may be a symlink to a host
 * path, so the directory is looked up with no symlinks at all, below the image root, and cp gets it
 * through /proc/self/fd. Returns -ENOENT if there is no such directory. */
static int copy_image_home(const char *rootfs, const char *user, const char *to) {
        _cleanup_free_ char *rel = NULL, *from = NULL;
        _cleanup_close_ int rfd = -EBADF, hfd = -EBADF;
        struct open_how how = {.flags = O_PATH | O_DIRECTORY,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};
        pid_t pid;
        int r;

        if (xasprintf(&rel, "home/%s", user) < 0)
                return -ENOMEM;
        rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;
        /* Deliberately without O_CLOEXEC: cp reads it as /proc/self/fd/N. */
        hfd = (int) syscall(SYS_openat2, rfd, rel, &how, sizeof how);
        if (hfd < 0)
                return errno == ENOTDIR || errno == ELOOP || errno == EXDEV ? -ENOENT : -errno;
        if (xasprintf(&from, "/proc/self/fd/%d/.", hfd) < 0)
                return -ENOMEM;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* -a keeps the container-relative owners and copies symlinks inside as symlinks. */
                execl("/bin/cp", "cp", "-a", "--no-target-directory", "--", from, to, (char *) NULL);
                _exit(127);
        }
        r = wait_for_terminate_and_check("cp", pid);
        return r < 0 ? r : r > 0 ? -EIO : 0;
}


/* "N%" of the host's memory, or bytes with an optional K, M, G or T (base 1024), as EphemeralSize= and
 * MemoryMax= take them. -ERANGE for "infinity" or a value out of range. */
static int memory_bytes(const char *v, uint64_t *ret) {
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        size_t n = strlen(v);
        uint64_t num;

        if (pages <= 0 || psize <= 0 || n == 0)
                return -EINVAL;
        if (v[n - 1] == '%') {
                _cleanup_free_ char *p = strndup(v, n - 1);
                if (!p)
                        return -ENOMEM;
                if (safe_atou64(p, &num) < 0 || num == 0 || num > 100)
                        return -ERANGE;
                *ret = (uint64_t) pages * (uint64_t) psize / 100 * num;
                return 0;
        }
        const char *suffix = strchr("KMGT", v[n - 1]);
        _cleanup_free_ char *p = strndup(v, suffix ? n - 1 : n);
        unsigned shift = suffix ? 10 * (unsigned) (suffix - "KMGT" + 1) : 0;
        if (!p)
                return -ENOMEM;
        if (safe_atou64(p, &num) < 0 || num == 0 || num > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = num << shift;
        return 0;
}

/* The tmpfs options of the ephemeral upper layer: size= from EphemeralSize=, and as many inodes as it has
 * pages, so that neither the data nor the inodes (which do not count towards size=) are bounded only by
 * the memory cgroup. Without EphemeralSize=: 25% of the host's memory, but at most half of MemoryMax=
 * (the sandbox's, or the unit's default 75%): the tmpfs is charged to the sandbox's memory, and one that
 * could fill MemoryMax= would get the whole sandbox OOM-killed rather than the writer an ENOSPC. */
int ephemeral_tmpfs_options(const Sandbox *s, char **ret) {
        long psize = sysconf(_SC_PAGESIZE);
        uint64_t bytes, limit;
        int r;

        if (psize <= 0)
                return -EINVAL;
        r = memory_bytes(s->ephemeral_size[0] ? s->ephemeral_size : SANDBOX_EPHEMERAL_SIZE_DEFAULT, &bytes);
        if (r < 0)
                return r;
        if (!s->ephemeral_size[0] && memory_bytes(s->memory_max ?: SANDBOX_MEMORY_MAX_DEFAULT, &limit) >= 0 &&
            limit / 2 < bytes)
                bytes = limit / 2;
        /* Rounded up to whole pages, at least 16 MiB: an overlay needs its work directory and some room. */
        bytes = (bytes + (uint64_t) psize - 1) / (uint64_t) psize * (uint64_t) psize;
        if (bytes < 16ULL << 20)
                bytes = 16ULL << 20;
        return xasprintf(ret, "mode=0700,size=%llu,nr_inodes=%llu", (unsigned long long) bytes,
                         (unsigned long long) (bytes / (uint64_t) psize)) < 0
                       ? -ENOMEM
                       : 0;
}

/* Ephemeral=yes: writes land in a tmpfs that is gone at stop. */
static int upper_tmpfs(const Sandbox *s, uid_t base, char **ret_upper, char **ret_work) {
        _cleanup_free_ char *tmp = NULL, *upper = NULL, *work = NULL, *opts = NULL;
        int r;

        tmp = sandbox_runtime_path(s->name, "tmp");
        if (!tmp || xasprintf(&upper, "%s/upper", tmp) < 0 || xasprintf(&work, "%s/work", tmp) < 0)
                return log_oom();
        r = ephemeral_tmpfs_options(s, &opts);
        if (r < 0)
                return log_error_errno(r, "EphemeralSize=%s of %s cannot be applied: %m", s->ephemeral_size, s->name);
        r = make_dir(tmp, 0700, 0, 0);
        if (r < 0)
                return r;
        if (mount("tmpfs", tmp, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0 ||
            mount(NULL, tmp, NULL, MS_PRIVATE, NULL) < 0)
                return log_error_errno(errno, "Failed to mount a tmpfs at %s: %m", tmp);
        /* Its root is the container's root directory. */
        r = make_dir(upper, 0755, base, base);
        if (r >= 0)
                r = make_dir(work, 0700, 0, 0);
        if (r < 0)
                return r;
        *ret_upper = TAKE_PTR(upper);
        *ret_work = TAKE_PTR(work);
        return 0;
}

/* Ephemeral=no: the upper layer persists in the state directory. Not idmapped: overlayfs creates its work
 * directory as the mounter (host root), which an idmapped upper layer cannot represent (EOVERFLOW, and the
 * overlay falls back to read-only). So the upper layer holds host IDs of the sandbox's range, which is why
 * that range is allocated once and kept. */
static int upper_state(const Sandbox *s, uid_t base, char **ret_upper, char **ret_work) {
        _cleanup_free_ char *state = NULL, *layer = NULL, *upper = NULL, *work = NULL;
        int r;

        state = sandbox_state_path(s->name, NULL);
        layer = sandbox_state_path(s->name, "overlay");
        if (!state || !layer || xasprintf(&upper, "%s/upper", layer) < 0 || xasprintf(&work, "%s/work", layer) < 0)
                return log_oom();
        r = mkdir_p(SANDY_SANDBOX_STATE_DIR, 0700);
        if (r >= 0)
                r = make_dir(state, 0700, 0, 0);
        if (r >= 0)
                r = make_dir(layer, 0700, 0, 0);
        if (r < 0)
                return r;
        if (access(upper, F_OK) < 0) {
                r = make_dir(upper, 0755, base, base);
                if (r < 0)
                        return r;
        }
        r = make_dir(work, 0700, 0, 0);
        if (r < 0)
                return r;
        *ret_upper = TAKE_PTR(upper);
        *ret_work = TAKE_PTR(work);
        return 0;
}

int root_mount(const Sandbox *s, const char *image_rootfs, int ns, uid_t base, char **ret_root) {
        _cleanup_free_ char *lower = NULL, *root = NULL, *upper = NULL, *work = NULL, *opts = NULL;
        int r;

        lower = sandbox_runtime_path(s->name, "lower");
        root = sandbox_runtime_path(s->name, "root");
        if (!lower || !root)
                return log_oom();

        /* The image, read-only, shown in the sandbox's range. */
        r = make_dir(lower, 0755, 0, 0);
        if (r < 0)
                return r;
        r = clone_mount(AT_FDCWD, image_rootfs, 0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY, ns, lower);
        if (r < 0)
                return log_error_errno(r, "Failed to mount the image %s idmapped at %s: %m", image_rootfs, lower);

        r = s->ephemeral ? upper_tmpfs(s, base, &upper, &work) : upper_state(s, base, &upper, &work);
        if (r < 0)
                return r;

        r = make_dir(root, 0755, 0, 0);
        if (r < 0)
                return r;
        if (xasprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work) < 0)
                return log_oom();
        if (mount("overlay", root, "overlay", 0, opts) < 0 || mount(NULL, root, NULL, MS_PRIVATE, NULL) < 0)
                return log_error_errno(errno, "Failed to mount the overlay root of %s at %s: %m", s->name, root);
        *ret_root = TAKE_PTR(root);
        return 0;
}

/* First start: the image's home (its skeleton files) becomes the persistent one. */
static int home_create(const Sandbox *s, const char *image_rootfs, const char *homesrc, uid_t user_uid,
                       gid_t user_gid) {
        _cleanup_free_ char *t = NULL;
        int r;

        if (xasprintf(&t, "%s.tmp", homesrc) < 0)
                return log_oom();
        if (access(t, F_OK) == 0)
                return log_error_errno(EEXIST, "%s is left from an interrupted start; remove it (or run \"sandyctl "
                                               "reset %s\").",
                                       t, s->name);
        r = copy_image_home(image_rootfs, s->user, t);
        if (r == -ENOENT)
                r = make_dir(t, 0755, user_uid, user_gid);
        if (r >= 0 && rename(t, homesrc) < 0)
                r = -errno;
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", homesrc);
        return 0;
}

/* nspawn would create the workspace mount point as host root through the idmapped home, where host root
 * has no ID (EOVERFLOW). The home is the agent's: never follow what it left there. */
static int home_workspace_mountpoint(const char *homesrc, uid_t user_uid, gid_t user_gid) {
        _cleanup_close_ int hfd = open(homesrc, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        if (hfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", homesrc);
        if (fstatat(hfd, "workspace", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
            unlinkat(hfd, "workspace", 0) < 0)
                return log_error_errno(errno, "Failed to remove %s/workspace: %m", homesrc);
        if (mkdirat(hfd, "workspace", 0755) == 0) {
                if (fchownat(hfd, "workspace", user_uid, user_gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return log_error_errno(errno, "Failed to chown %s/workspace: %m", homesrc);
        } else if (errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s/workspace: %m", homesrc);
        return 0;
}

int home_mount(const Sandbox *s, const char *image_rootfs, int ns, uid_t user_uid, gid_t user_gid,
               char **settings) {
        _cleanup_free_ char *homesrc = NULL, *state = NULL, *home = NULL;
        int r;

        homesrc = sandbox_state_path(s->name, "home");
        state = sandbox_state_path(s->name, NULL);
        home = sandbox_runtime_path(s->name, "home");
        if (!homesrc || !state || !home)
                return log_oom();
        r = mkdir_p(SANDY_SANDBOX_STATE_DIR, 0700);
        if (r >= 0)
                r = make_dir(state, 0700, 0, 0);
        if (r < 0)
                return r;
        if (access(homesrc, F_OK) < 0) {
                r = home_create(s, image_rootfs, homesrc, user_uid, user_gid);
                if (r < 0)
                        return r;
        }
        if (s->workspace) {
                r = home_workspace_mountpoint(homesrc, user_uid, user_gid);
                if (r < 0)
                        return r;
        }
        r = make_dir(home, 0755, 0, 0);
        if (r < 0)
                return r;
        r = clone_mount(AT_FDCWD, homesrc, 0, MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, ns, home);
        if (r < 0)
                return log_error_errno(r, "Failed to mount %s idmapped at %s: %m", homesrc, home);
        if (strextendf(settings, "Bind=%s:/home/%s\n", home, s->user) < 0)
                return log_oom();
        return 0;
}
