/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between oci-image.c (sources, manifests, verification) and oci-layer.c (applying a layer). */

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "oci.h"

struct archive;

#define OCI_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

static inline bool oci_media_type_is_index(const char *mt) {
        return streq_ptr(mt, OCI_MT_OCI_INDEX) || streq_ptr(mt, OCI_MT_DOCKER_LIST);
}
static inline bool oci_media_type_is_manifest(const char *mt) {
        return streq_ptr(mt, OCI_MT_OCI_MANIFEST) || streq_ptr(mt, OCI_MT_DOCKER_MANIFEST);
}

#define OCI_DIGEST_SHA256_LEN (7 + 64) /* "sha256:" + hex */

/* A blob being read: a file of a layout directory, or a member of an archive positioned at its data. */
typedef struct OciBlob {
        int fd;
        struct archive *archive;
        uint8_t *buf;
        size_t buf_size;
        /* For a file still being written (a download): called when read() finds nothing more yet; > 0 to
         * read again, 0 at the real end, or -errno. NULL: the end of the file is the end. */
        int (*wait)(void *userdata);
        void *wait_userdata;
} OciBlob;

void oci_blob_close(OciBlob *b);
/* The next chunk, without copying where the source allows: >0 bytes at *ret, 0 at the end, or -errno. */
ssize_t oci_blob_next(OciBlob *b, const void **ret);

typedef enum OciCompression {
        OCI_COMPRESSION_ANY, /* docker-archive: no media type, any of the three */
        OCI_COMPRESSION_NONE,
        OCI_COMPRESSION_GZIP,
        OCI_COMPRESSION_ZSTD,
} OciCompression;

typedef struct OciProgress {
        oci_progress_t cb;
        void *userdata;
        uint64_t done, total, last;
        char what[64];
} OciProgress;

void oci_progress_bytes(OciProgress *p, uint64_t n);

typedef struct OciLayer {
        char *name;    /* blob path in the layout or member of the archive, for messages and opening */
        char *digest;  /* "sha256:HEX" of the stored blob, NULL when the source gives none (docker-archive) */
        uint64_t size; /* of the stored blob, UINT64_MAX if not known */
        char *diff_id; /* "sha256:HEX" of the uncompressed tar, from the config */
        OciCompression compression;
        unsigned index, n; /* 1-based position, for messages */
} OciLayer;

/* Applies one layer to the tree of c (see the description at the top of oci-image.c). */
int oci_layer_apply(OciBlob *blob, const OciLayer *l, const Confine *c, OciProgress *p);

/* ---- manifests, indexes and configs (oci-image.c), for the local sources and docker:// pulls; label names
 * the source in messages, which are logged ---- */

typedef struct OciDescriptor {
        const char *media_type; /* pointers into the JSON it was parsed from */
        const char *digest;
        uint64_t size;
} OciDescriptor;

const char *oci_json_str(const cJSON *o, const char *key);
int oci_parse_json(const char *label, const char *name, const char *text, cJSON **ret);
int oci_parse_descriptor(const char *label, const cJSON *j, const char *what, OciDescriptor *ret);
/* The GOARCH name of the machine the helper runs on ("amd64"). */
const char *oci_host_architecture(void);
/* The entry of an image index for linux and oci_host_architecture(). */
int oci_pick_platform(const char *label, const cJSON *index, const char *index_digest, OciDescriptor *ret);
/* The config descriptor and the layers (digest, size, compression, index/n; name = digest) of an image
 * manifest. */
int oci_manifest_layers(const char *label, const cJSON *manifest, OciDescriptor *ret_config,
                        OciLayer **ret_layers, size_t *ret_n);
void oci_layers_free(OciLayer *layers, size_t n);
/* layers[].diff_id from the config's rootfs.diff_ids, one per layer. what names the config in messages. */
int oci_config_diff_ids(const char *label, const char *what, const char *config_text, OciLayer *layers,
                        size_t n_layers);

/* Lower-case hex of a sha256, "sha256:" prefixed, into out[OCI_DIGEST_SHA256_LEN + 1]. */
void oci_digest_format(const unsigned char md[32], char *out);
bool oci_digest_is_valid(const char *s);
