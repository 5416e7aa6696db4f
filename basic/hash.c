/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <openssl/evp.h>
#include <stdio.h>

#include "hash.h"

uint32_t fnv1a32(const char *s) {
        uint32_t h = 2166136261U;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619U;
        return h;
}

uint64_t fnv1a64(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 0x100000001b3ULL;
        return h;
}

int sha256_hex(const void *data, size_t size, char ret[static SHA256_HEX_LEN + 1]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (EVP_Digest(data, size, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
                return -EIO;
        for (unsigned i = 0; i < n; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}
