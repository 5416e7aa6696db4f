/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The client side of the OCI distribution API (registry v2) that docker:// pulls use: references, the
 * credentials of containers-auth.json(5), and the download process. The download process (the "fetcher")
 * is a child of the build that speaks HTTP(S) with libcurl as an unprivileged UID of its own; it never
 * parses an image: it writes what the registry sends into file descriptors it is handed and says when a
 * transfer is done or why it failed. Everything it wrote is verified by the build (oci-pull.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

/* Docker Hub: what an unqualified reference means, and where its API is. */
#define REGISTRY_DOCKER_HUB "docker.io"
#define REGISTRY_DOCKER_HUB_ENDPOINT "registry-1.docker.io"

/* The most a manifest or image index may be. */
#define REGISTRY_MANIFEST_MAX (4U << 20)
/* Transfers the fetcher runs at once (Docker's max-concurrent-downloads). */
#define REGISTRY_PARALLEL 3U

typedef struct RegistryRef {
        char *domain;     /* "docker.io", "registry.test:5443", lower case: what certs.d, the auth file and
                           * PlainHTTPRegistry= name */
        char *endpoint;   /* where the API is: the domain, but registry-1.docker.io for docker.io */
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

/* The credentials for r in the text of a containers-auth.json(5) file: the entry of "auths" whose key is
 * the longest match of "DOMAIN/REPOSITORY" at a '/' (so "DOMAIN/NAMESPACE" and "DOMAIN" entries work; a
 * leading "https://" and Docker's "https://index.docker.io/v1/" for Docker Hub are understood), its "auth"
 * being base64 of "USER:PASSWORD". 0 and both set, -ENOENT for no entry, -EBADMSG with *ret_why for a file
 * that is not of this format. */
int registry_auth_lookup(const char *json, const RegistryRef *r, char **ret_user, char **ret_password,
                         const char **ret_why);

/* A WWW-Authenticate challenge: Basic or Bearer with its parameters (RFC 7235, the first challenge). */
typedef struct RegistryChallenge {
        char *scheme; /* "basic" or "bearer", lower case */
        char *realm, *service, *scope;
} RegistryChallenge;
void registry_challenge_done(RegistryChallenge *c);
int registry_challenge_parse(const char *header, RegistryChallenge *ret);

/* What the fetcher is given. It is sandy-fetch (SANDY_LIBEXEC_DIR), executed by the build after dropping to
 * an unprivileged UID of the build's range, with the socket as fd 3; the first request hands it this. */
typedef struct RegistryFetcher {
        const RegistryRef *ref;
        bool plain_http;
        const char *username, *password; /* NULL: anonymous */
        const char *auth_file;           /* for messages: where credentials would come from, or NULL */
        const char *ca_pem;              /* CAs to trust besides the system's (certs.d), or NULL */
} RegistryFetcher;

/* The protocol on a SOCK_SEQPACKET socket. Requests, each with one writable fd attached:
 *   "M ID REFERENCE"   the manifest of the tag or digest, written into the fd (REGISTRY_MANIFEST_MAX at
 * most) "B ID DIGEST SIZE" the blob, exactly SIZE bytes, written into the fd Replies, without fds: "D ID
 * CONTENT-TYPE DOCKER-CONTENT-DIGEST"  done ("-" for a header the registry did not send) "E ID MESSAGE"
 * failed, MESSAGE is one line The fetcher serves requests (REGISTRY_PARALLEL at a time, in order) until the
 * socket is closed. */
int registry_request(int sock, const char *text, int fd);

int registry_fetcher_send_config(int sock, const RegistryFetcher *f);

/* In sandy-fetch (registry-fetch.c, the only code that links libcurl): reads the configuration, then serves
 * sock until it is closed. Returns an exit status. */
int registry_fetcher_main(int sock);
