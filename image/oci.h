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

/* location: what follows "oci:", "oci-archive:" or "docker-archive:" in From=, i.e. "PATH[:REF]".
 * c: the build's confinement; c->tree_fd is the target, an existing, empty directory. On failure it may
 * hold a partial tree; the caller
 * builds in a temporary directory and removes it. ret_config_json (optional): the image config blob
 * (Entrypoint, Cmd, Env, User, WorkingDir), NUL-terminated. Returns 0 or a negative errno, after
 * logging why with file or digest named. */
int oci_unpack(ImageSourceType type, const char *location, const Confine *c, oci_progress_t progress,
               void *userdata, char **ret_config_json);

/* docker://REFERENCE, pulled from its registry by sandy itself (oci-pull.c, registry.h): the manifest by tag
 * or digest (an image index resolved to linux and the helper's architecture), then the config and the
 * layers, downloaded REGISTRY_PARALLEL at a time by an unprivileged child while the layers are unpacked in
 * order as they arrive, each as oci_unpack() does. Every digest is checked: a manifest fetched by digest
 * against it (by tag against the registry's Docker-Content-Digest, when it sends one), the platform's
 * manifest against the index, the config and each layer against the manifest, each layer's content against
 * the config's diff_ids. Blobs already in SANDY_BLOB_CACHE_DIR are not downloaded again; new ones are
 * added to it once the whole image has been verified. */
typedef struct OciPullOptions {
        const char *auth_file; /* RegistryAuthFile=, or NULL */
        char **plain_http;     /* PlainHTTPRegistry= */
        uid_t fetcher_uid;     /* the download process runs as this UID and GID, with no capabilities */
        const char *fetcher;   /* NULL: SANDY_LIBEXEC_DIR/sandy-fetch */
        const char *tmpdir;    /* downloads go to tmpdir/downloads (the caller removes tmpdir on failure) */
        const char *cache_dir; /* NULL: SANDY_BLOB_CACHE_DIR (it holds sha256/HEX) */
        oci_progress_t progress; /* fraction 0..1 of the pull, and a sentence saying where it is */
        void *userdata;
} OciPullOptions;

typedef struct OciPullResult {
        char *config_json; /* the image config */
        char **blobs;      /* the digests of the config and the layers, for the image's record */
        char *error;       /* why it failed, one line naming the image */
} OciPullResult;

void oci_pull_result_done(OciPullResult *r);
int oci_pull(const char *reference, const Confine *c, const OciPullOptions *o, OciPullResult *ret);
