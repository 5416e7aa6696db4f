/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What sandy itself knows of a docker:// reference; the registry is spoken to by skopeo (oci-pull.c). The
 * reference is parsed here only for what sandy decides before skopeo runs: which registry it is (for
 * PlainHTTPRegistry=, its directory of /etc/containers/certs.d and its login in RegistryAuthFile=), and
 * the one form of it that skopeo is given and the messages name. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* Docker Hub: what an unqualified reference means. */
#define REGISTRY_DOCKER_HUB "docker.io"

typedef struct RegistryRef {
        char *domain;     /* "docker.io", "registry.test:5443", lower case: what certs.d, the auth file and
                           * PlainHTTPRegistry= name */
        char *repository; /* "library/debian" */
        char *tag;        /* NULL when only a digest is given */
        char *digest;     /* "sha256:HEX" or NULL */
} RegistryRef;

void registry_ref_done(RegistryRef *r);
/* "sha256:" and 64 lower-case hex digits: the only digests sandy accepts. */
bool registry_digest_is_valid(const char *s);
/* A docker reference as containers-transports(5) takes it after "docker://": [DOMAIN/]PATH[:TAG][@DIGEST].
 * The first component is the domain when it has a '.' or a ':' or is "localhost"; otherwise the image is on
 * Docker Hub, where a one-component PATH is under "library/". Neither tag nor digest means ":latest". Only
 * sha256 digests. -EINVAL with *ret_why saying what is wrong. */
int registry_ref_parse(const char *s, RegistryRef *ret, const char **ret_why);
/* "DOMAIN/REPOSITORY[:TAG][@DIGEST]", for messages. */
char *registry_ref_to_string(const RegistryRef *r);
/* "DOMAIN/REPOSITORY@DIGEST" or "DOMAIN/REPOSITORY:TAG": what skopeo pulls (its docker transport takes
 * no reference with both; the digest decides). */
char *registry_ref_to_pull(const RegistryRef *r);

/* The credentials for r in the text of a containers-auth.json(5) file: the entry of "auths" whose key is
 * the longest match of "DOMAIN/REPOSITORY" at a '/' (so "DOMAIN/NAMESPACE" and "DOMAIN" entries work; a
 * leading "https://" and Docker's "https://index.docker.io/v1/" for Docker Hub are understood), its "auth"
 * being base64 of "USER:PASSWORD". 0 and both set, -ENOENT for no entry, -EBADMSG with *ret_why for a file
 * that is not of this format. */
int registry_auth_lookup(const char *json, const RegistryRef *r, char **ret_user, char **ret_password,
                         const char **ret_why);
