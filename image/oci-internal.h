/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared between oci-image.c (sources, manifests, verification) and oci-layer.c (applying a layer). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci.h"

struct archive;

#define OCI_DIGEST_SHA256_LEN (7 + 64) /* "sha256:" + hex */

/* A blob being read: a file of a layout directory, or a member of an archive positioned at its data. */
typedef struct OciBlob {
        int fd;
        struct archive *archive;
        uint8_t *buf;
        size_t buf_size;
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

/* Lower-case hex of a sha256, "sha256:" prefixed, into out[OCI_DIGEST_SHA256_LEN + 1]. */
void oci_digest_format(const unsigned char md[32], char *out);
bool oci_digest_is_valid(const char *s);
