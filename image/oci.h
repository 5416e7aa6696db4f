/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "confine.h"
#include "sandbox.h"

/* Native unpacking of OCI images: an OCI layout directory (oci:PATH[:REF]), an OCI archive
 * (oci-archive:PATH[:REF]) or `docker save` output (docker-archive:PATH[:REF]).
 *
 * Every blob is checked against the sha256 of its descriptor, every layer's uncompressed stream against
 * the config's rootfs.diff_ids. Layers (gzip, zstd or plain tar) are applied in order with OCI whiteouts
 * and opaque directories. Extraction runs in a confined child (confine.h, CONFINE_VIEW_BARE) whose root
 * is the tree, as root of the build's user namespace with only the capabilities extraction needs, so no
 * entry can land outside it; device nodes are dropped, usrmerge symlinks are kept. */

/* Called now and then with the fraction done (0..1) and what is being done, e.g. "layer 2/5". */
typedef void (*oci_progress_t)(double fraction, const char *what, void *userdata);

/* location: what follows "oci:", "oci-archive:" or "docker-archive:" in From=, i.e. "PATH[:REF]", for
 * messages; source_fd: its PATH as oci_source_open() opened it; owner: who besides root may own each file
 * read from a layout (checked as it is opened). c: the build's confinement; c->tree_fd is the target, an existing, empty directory. On failure it may
 * hold a partial tree; the caller
 * builds in a temporary directory and removes it. ret_config_json (optional): the image config blob
 * (Entrypoint, Cmd, Env, User, WorkingDir), NUL-terminated. ret_blobs (optional): the digests of the
 * config and the layers as they were checked, each once. Returns 0 or a negative errno, after logging why
 * with file or digest named. */
int oci_unpack(ImageSourceType type, const char *location, int source_fd, uid_t owner, const Confine *c,
               oci_progress_t progress, void *userdata, char **ret_config_json, char ***ret_blobs);

/* The PATH of location, opened for oci_unpack() (source_fd) under the rule of a Setup= script
 * (open_trusted()): it and every directory on the way root's or owner's (UID_INVALID: root's alone) and
 * writable by nobody else, no symlink followed; for a layout also the entries it has (oci-layout,
 * index.json, blobs/sha256/ and every blob), which oci_unpack() checks again as it opens them. The archive
 * or layout is then read through that fd only. -EPERM with *ret_problem saying what is wrong. */
int oci_source_open(ImageSourceType type, const char *location, uid_t owner, int *ret_fd, char **ret_problem);

/* docker://REFERENCE (oci-pull.c, registry.h): skopeo copies the image from its registry (by tag or
 * digest; from an image index the entry for linux and the helper's architecture) into an OCI layout in
 * tmpdir/pull, confined (confine.h, CONFINE_VIEW_FETCH: an unprivileged UID of the build's range, the
 * helper's network, nothing writable but that directory). The layout's blobs directory holds the blob
 * cache's blobs beforehand (hard links), which skopeo uses instead of fetching them again. The login it
 * gets is the one RegistryAuthFile= has for the registry, read here and handed over in a memfd; the CAs
 * are those of /etc/containers/certs.d/DOMAIN, checked here and read by skopeo. The layout is then
 * unpacked as oci_unpack() does, every digest and diff_id checked again; only then do its new blobs enter
 * SANDY_BLOB_CACHE_DIR. */
typedef struct OciPullOptions {
        const char *auth_file;   /* RegistryAuthFile=, or NULL */
        char **plain_http;       /* PlainHTTPRegistry= */
        const char *tmpdir;      /* the pull works in tmpdir/pull (the caller removes tmpdir on failure) */
        const char *cache_dir;   /* NULL: SANDY_BLOB_CACHE_DIR (it holds sha256/HEX) */
        const char *skopeo;      /* NULL: SKOPEO_BINARY */
        oci_progress_t progress; /* fraction 0..1 of the pull, and what it does ("pulling layer 2: ...",
                                  * "unpacking layer 1/3") */
        void (*output)(const char *line, void *userdata); /* each line skopeo prints; NULL: logged */
        void *userdata;
} OciPullOptions;

typedef struct OciPullResult {
        char *config_json; /* the image config */
        char **blobs;      /* the digests of the config and the layers, for the image's record */
        char *error;       /* why it failed, one line naming the image */
} OciPullResult;

void oci_pull_result_done(OciPullResult *r);
int oci_pull(const char *reference, const Confine *c, const OciPullOptions *o, OciPullResult *ret);
