/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "image.h"
#include "sandbox.h"

/* The image store: SANDY_IMAGE_STORE_DIR/ID/{rootfs,metadata,recipe,config.json,blobs}. Builds happen in
 * SANDY_IMAGE_STORE_DIR/.tmp-ID-XXXXXX and are renamed into place; any .tmp-* left over belongs to a
 * build or removal that was killed. */
#define IMAGE_TMP_PREFIX ".tmp-"
/* ID/blobs: the digests (one a line) of the blobs of SANDY_BLOB_CACHE_DIR a docker:// image was made of. */
#define IMAGE_BLOBS_FILE "blobs"

typedef struct ImageMeta {
        char *from;
        uint64_t built_usec;
        uint64_t size;
} ImageMeta;

void image_meta_done(ImageMeta *m);

/* At helper start: remove every .tmp-* left in the store. */
int image_store_clean_temp(void);
int image_store_ensure(void);
/* Read ID/metadata. -ENOENT when the image is not (completely) built. */
int image_read_meta(const char *id, ImageMeta *ret);
/* The blob cache of docker:// pulls: remove every blob that no image in the store lists in its
 * IMAGE_BLOBS_FILE. Only while no build runs (a build may be about to use one). Returns how many were
 * removed, and their size in *ret_bytes. */
int image_blob_cache_gc(uint64_t *ret_bytes);
/* Take ID out of the store atomically: rename it to a .tmp-rm-* path (returned) for deleting later; the
 * helper deletes it at its next start if nobody does before. */
int image_retire(const char *id, char **ret_path);

/* In the forked builder process (in its own cgroup, build-cgroup.h): build the image of s (recipe id) in
 * tmpdir (an empty directory in the store) and rename it to its place. Image and recipe code runs confined
 * (confine.h) as the host UIDs uid_base..uid_base+65535. network: the name of the build's network (see
 * image_build_needs_network()) or NULL; it is set up while the source is unpacked, and network_ready_fd
 * (a socket) then says "y" (ready, with the namespace's fd attached) or "n" (failed). Progress and the
 * final error go to progress_fd as lines:
 *   "P FRACTION TEXT"  progress (0..1) and what is being done
 *   "E TEXT"           why the build failed
 * Output of the tools it runs goes to the journal with SANDBOX=NAME. Returns 0 or a negative errno. */
int image_build(const Sandbox *s, const char *id, const char *tmpdir, bool force, uid_t uid_base,
                const char *network, int network_ready_fd, int progress_fd);
/* Whether building s downloads: Packages= (apt, or debootstrap's), a debootstrap: mirror that is not
 * file://. Such a build gets a lenient network (with a resolver shown on its resolv.conf) for apt,
 * Setup= and debootstrap's first stage; any other build, and every other step, has no network at all. */
bool image_build_needs_network(const Sandbox *s);
