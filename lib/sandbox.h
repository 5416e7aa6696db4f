/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "hash.h"
#include "macro.h"
#include "paths.h"

/* Declarations live in SANDY_SEARCH_PATH_DEFAULT (paths.h), highest priority first; a file in an earlier
 * directory masks the same name in a later one, as for unit files. Drop-ins (NAME.sandbox.d/ *.conf) are
 * collected from all of them. */
#define SANDBOX_SUFFIX ".sandbox"
/* HOST_NAME_MAX, the limit machined puts on machine names. */
#define SANDBOX_NAME_MAX 64

typedef enum NetworkMode {
        NETWORK_LENIENT,
        NETWORK_STRICT,
        NETWORK_NONE,
        NETWORK_HOST,
        _NETWORK_MODE_MAX,
} NetworkMode;

typedef enum ImageSourceType {
        IMAGE_SOURCE_DOCKER,        /* docker://REF, pulled from its registry by sandy-helper */
        IMAGE_SOURCE_OCI,           /* oci:PATH[:REF], an OCI layout directory */
        IMAGE_SOURCE_OCI_ARCHIVE,   /* oci-archive:PATH[:REF] */
        IMAGE_SOURCE_DOCKER_ARCHIVE,/* docker-archive:PATH[:REF], `docker save` output */
        IMAGE_SOURCE_DEBOOTSTRAP,   /* debootstrap:SUITE */
        _IMAGE_SOURCE_MAX,
} ImageSourceType;

/* Where an assignment came from, for messages about combinations of keys. */
typedef struct Location {
        const char *file; /* points into Sandbox.files */
        unsigned line;
} Location;

typedef struct Credential {
        char *id;
        char *path;
        Location loc; /* the assignment that set path, for verify's check that it exists */
} Credential;

typedef struct PortForward {
        uint16_t host;
        uint16_t container;
} PortForward;

typedef struct Sandbox {
        char *name;
        char **files; /* the main file, then the drop-ins, in the order applied */
        /* SHA-256 of the sha256sum-style lines "HASH  FILE" of the files, in that order: what the generator
         * records in the unit (SANDY_DIGEST_ENV), and what every later reader compares it with. */
        char digest[SHA256_HEX_LEN + 1];
        char *digest_input; /* while loading */

        /* Who may use the sandbox ([Sandbox] Owner=, AllowUsers=, AllowGroups=): user and group names or
         * numeric IDs, resolved when asked. No Owner= means the owner of the workspace. */
        char *owner;
        char **allow_users;
        char **allow_groups;

        /* [Sandbox] */
        char *description;
        char *user;
        char *workspace;
        bool ephemeral;
        bool boot;
        bool lean_boot; /* BootTarget=lean (the default): with Boot=yes, boot SANDY_LEAN_TARGET, not default.target */
        char **command;
        char **environment; /* KEY=VALUE; a later assignment of KEY replaces an earlier one */
        char **credential_environment; /* VAR=ID: VAR set from credential ID in the agent's sessions */
        Credential *credentials;
        size_t n_credentials;
        bool autostart;
        bool persist_home;
        char **protect_paths;      /* ProtectPath=: relative to the workspace, '*' globs within a component */
        bool protect_default_paths; /* ProtectDefaultPaths=: the built-in list below, on top of protect_paths */

        /* [Image] */
        char *from;
        ImageSourceType from_type;
        char **packages;
        char *setup;

        /* [Network] */
        NetworkMode network_mode;
        char **allow_domains;   /* normalised "DOMAIN[:PORTS]" (validate.h) */
        char **allow_addresses; /* normalised "ADDRESS[/PREFIX][:PORTS]", IPv6 as "[ADDR/P]:PORTS" */
        uint16_t *allow_host_ports;
        size_t n_allow_host_ports;
        PortForward *ports;
        size_t n_ports;

        /* [Resources]: already validated against systemd's grammar, written as given */
        char *memory_max;
        char *cpu_quota;
        char *tasks_max;

        /* issue 13: the ephemeral root's tmpfs and nested user namespaces (sandbox-keys.c). */
        char ephemeral_size[24];  /* EphemeralSize=: bytes with K/M/G/T or N%; "" is SANDBOX_EPHEMERAL_SIZE_DEFAULT */
        bool deny_nested_userns;  /* NestedUserNamespaces=no; the default (yes) lets the agent sandbox itself */

        Location loc_from, loc_command, loc_workspace, loc_mode, loc_allow_domain, loc_allow_address,
                loc_port, loc_persist_home, loc_setup, loc_credential_environment;
} Sandbox;

/* EphemeralSize= when not set: a quarter of the host's memory (tmpfs's own default is half). */
#define SANDBOX_EPHEMERAL_SIZE_DEFAULT "25%"
/* MemoryMax= of sandy@.service when a declaration sets none (units/sandy@.service.in says the same). */
#define SANDBOX_MEMORY_MAX_DEFAULT "75%"

Sandbox *sandbox_free(Sandbox *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Sandbox *, sandbox_free);
#define _cleanup_sandbox_free_ _cleanup_(sandbox_freep)

/* The paths inside the workspace that are read-only for the agent unless ProtectDefaultPaths=no: files a
 * person or a tool on the host later reads as configuration or runs (shell start-up files, git hooks and
 * config, editor and CI settings, agent settings). NULL-terminated. */
extern const char *const sandbox_default_protect_paths[];
/* A ProtectPath= value: relative, normalised, no "." or "..", '*' only as a glob inside a component. */
bool protect_path_is_valid(const char *p);

bool sandbox_name_is_valid(const char *name);
/* Names of the form SANDY_BUILD_NETWORK_PREFIX*: valid, but for image builds' networks, never a declaration. */
bool sandbox_name_is_reserved(const char *name);
/* "/etc/sandy.d/foo.sandbox" -> "foo"; -EINVAL if the file name does not make a valid sandbox name. */
int sandbox_name_from_path(const char *path, char **ret);

/* Parse one declaration: the main file and drop-in paths (applied in the order given). Every problem is
 * logged as file:line. Unknown keys only warn. Returns -EINVAL if anything was invalid. */
int sandbox_load_files(const char *name, const char *main_file, char *const *dropins, Sandbox **ret);
/* Parse from a memory buffer (tests, fuzzing); label is used as the file name in messages. */
int sandbox_load_string(const char *name, const char *label, const char *text, size_t size, Sandbox **ret);

/* Search path handling. search_path is ':'-separated; NULL means $SANDY_SEARCH_PATH or the default. */
char **sandbox_search_path(const char *search_path);
/* Find NAME.sandbox and its drop-ins. -ENOENT if not declared; -ENXIO if masked (symlink to /dev/null or
 * empty file). */
int sandbox_find(char *const *dirs, const char *name, char **ret_main, char ***ret_dropins);
/* All names declared in the search path, sorted, each once. Invalid file names are warned about. */
int sandbox_list_names(char *const *dirs, char ***ret);
/* Convenience: find and load. */
int sandbox_load(char *const *dirs, const char *name, Sandbox **ret);

const char *network_mode_to_string(NetworkMode m);
const char *image_source_type_to_string(ImageSourceType t);

/* Check a drop-in on its own: syntax and each value, not the whole-declaration rules. */
int sandbox_check_dropin(const char *path);
/* The effective declaration in canonical .sandbox syntax; parsing it again gives the same Sandbox. */
int sandbox_format(const Sandbox *s, FILE *f);

/* Who the sandbox belongs to: Owner= when set; otherwise the owner of the workspace, but only when nobody
 * else could have put that directory there: it is walked from / without following any symlink, and every
 * directory above it must belong to root or to that same user and be writable by nobody else (a sticky
 * directory such as /tmp is fine). Otherwise, and without a workspace, root: only root and administrators
 * may use it. Credential= files of this user are read as this user. Returns 0 and *ret; -ESRCH (and *ret
 * root) when Owner= names no user. */
int sandbox_owner_uid(const Sandbox *s, uid_t *ret);
/* May the user uid use s: root; owner (from sandbox_owner_uid()); a user AllowUsers= names; a member of a
 * group AllowGroups= names (the group database, as polkit's subject.isInGroup()). */
bool sandbox_uid_allowed(const Sandbox *s, uid_t owner, uid_t uid);

/* Compare the digest the unit was generated from (recorded: from the unit's environment; NULL when it has
 * none) with what was just loaded. 0 when they agree; otherwise logs, and returns -ESTALE, with the
 * message every reader gives: "... changed since daemon-reload; run systemctl daemon-reload". */
int sandbox_check_digest(const Sandbox *s, const char *recorded);
/* The digest recorded in sandy@NAME.service as systemd has it loaded (its Environment= property, over
 * D-Bus); *ret NULL when the unit has none (not generated). */
typedef struct sd_bus sd_bus;
int sandbox_unit_digest(sd_bus *bus, const char *name, char **ret);
#define SANDBOX_STALE_MESSAGE "changed since daemon-reload; run \"systemctl daemon-reload\""

