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
