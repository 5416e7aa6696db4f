/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Test and bench driver: oci-unpack-test oci|oci-archive|docker-archive LOCATION TARGET [CONFIG_OUT]
 * Runs oci_unpack() once. Exit status 0 on success, 1 on failure (the reason is logged on stderr).
 *
 * oci-unpack-test docker REFERENCE TARGET [CONFIG_OUT] runs oci_pull() instead (what follows docker://),
 * with OCI_TEST_CACHE (the blob cache directory, required), OCI_TEST_TMPDIR (required), OCI_TEST_AUTH_FILE,
 * OCI_TEST_PLAIN_HTTP (one HOST:PORT) and OCI_TEST_SKOPEO (a program run in skopeo's place) as the options; skopeo's lines are printed as "skopeo: ...",
 * the blobs of the image as "blob DIGEST", its one-line error as "error: ...".
 * Progress calls go to stderr as "progress FRACTION WHAT" so tests can check they happen.
 *
 * With OCI_TEST_JAIL=DIR the driver first enters a private mount namespace and pivots into DIR, and
 * LOCATION, TARGET and CONFIG_OUT name paths inside it. The corpus runs every case that way: should the
 * unpacker's own chroot ever break, an evil layer can only reach the case's scratch directory (where the
 * sentinel check catches it), never the machine running the tests. A pivot, not a chroot: the unpacker's
 * confinement makes a user namespace, which the kernel refuses to a chrooted process.
 *
 * The unpacker runs as the build's UIDs: OCI_TEST_UID_BASE (default: the last build slot). */

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conf-parser.h"
#include "confine.h"
#include "log.h"
#include "oci.h"
#include "parse-util.h"
#include "uid-range.h"

static void on_progress(double fraction, const char *what, void *userdata) {
        unsigned *n = userdata;
        (*n)++;
        if (getenv("OCI_TEST_PROGRESS"))
                fprintf(stderr, "progress %.3f %s\n", fraction, what);
}

static void on_output(const char *line, void *userdata) {
        fprintf(stderr, "skopeo: %s\n", line);
}

int main(int argc, char *argv[]) {
        ImageSourceType t;
        char *config = NULL;
        unsigned n_progress = 0;

        if (argc < 4 || argc > 5) {
                fprintf(stderr, "usage: %s oci|oci-archive|docker-archive LOCATION TARGET [CONFIG_OUT]\n", argv[0]);
                return 2;
        }
        const char *jail = getenv("OCI_TEST_JAIL");
        if (jail) {
                char proc[4096];
                /* LeakSanitizer reads /proc at exit: the jail gets one, visible only in this namespace. */
                snprintf(proc, sizeof proc, "%s/proc", jail);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount(jail, jail, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
                    chdir(jail) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
                    chdir("/") < 0) {
                        fprintf(stderr, "cannot enter the jail %s: %m\n", jail);
                        return 2;
                }
        }
        if (strcmp(argv[1], "docker") == 0)
                t = IMAGE_SOURCE_DOCKER;
        else if (strcmp(argv[1], "oci") == 0)
                t = IMAGE_SOURCE_OCI;
        else if (strcmp(argv[1], "oci-archive") == 0)
                t = IMAGE_SOURCE_OCI_ARCHIVE;
        else if (strcmp(argv[1], "docker-archive") == 0)
                t = IMAGE_SOURCE_DOCKER_ARCHIVE;
        else {
                fprintf(stderr, "unknown source type %s\n", argv[1]);
                return 2;
        }
        uint64_t base = SANDY_UID_BASE_MIN + (SANDY_UID_SLOTS - 1) * SANDY_UID_RANGE;
        const char *b = getenv("OCI_TEST_UID_BASE");
        if (b && safe_atou64(b, &base) < 0) {
                fprintf(stderr, "bad OCI_TEST_UID_BASE %s\n", b);
                return 2;
        }
        int tree = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        Confine c;
        if (tree < 0 || confine_init(&c, tree, (uid_t) base) < 0) {
                fprintf(stderr, "cannot set up the confinement for %s: %m\n", argv[3]);
                return 2;
        }
        int r;
        if (t == IMAGE_SOURCE_DOCKER) {
                char *plain[] = {getenv("OCI_TEST_PLAIN_HTTP"), NULL};
                OciPullOptions o = {
                        .auth_file = getenv("OCI_TEST_AUTH_FILE"),
                        .plain_http = plain,
                        .tmpdir = getenv("OCI_TEST_TMPDIR"),
                        .cache_dir = getenv("OCI_TEST_CACHE"),
                        .skopeo = getenv("OCI_TEST_SKOPEO"),
                        .progress = on_progress,
                        .output = on_output,
                        .userdata = &n_progress,
                };
                OciPullResult res = {};
                if (!o.tmpdir || !o.cache_dir) {
                        fprintf(stderr, "OCI_TEST_TMPDIR and OCI_TEST_CACHE are required\n");
                        return 2;
                }
                r = oci_pull(argv[2], &c, &o, &res);
                if (r < 0)
                        fprintf(stderr, "error: %s\n", res.error);
                else {
                        config = TAKE_PTR(res.config_json);
                        for (char **bl = res.blobs; bl && *bl; bl++)
                                fprintf(stderr, "blob %s\n", *bl);
                }
                oci_pull_result_done(&res);
        } else {
                _cleanup_free_ char *problem = NULL;
                int fd = -EBADF;
                r = oci_source_open(t, argv[2], UID_INVALID, &fd, &problem);
                if (r < 0)
                        fprintf(stderr, "error: cannot open %s: %s\n", argv[2], problem ?: strerror(-r));
                else
                        r = oci_unpack(t, argv[2], fd, UID_INVALID, &c, on_progress, &n_progress,
                                       argc > 4 ? &config : NULL, NULL);
                safe_close(fd);
        }
        confine_done(&c);
        close(tree);
        if (r < 0)
                return 1;
        if (argc > 4) {
                FILE *f = fopen(argv[4], "we");
                if (!f || fputs(config, f) < 0 || fclose(f) != 0) {
                        perror(argv[4]);
                        return 1;
                }
        }
        free(config);
        return 0;
}
