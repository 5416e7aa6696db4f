/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keys of a .sandbox file: one parser per kind of value, and the table that names them. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "conf-parser.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "sandbox-internal.h"
#include "strv.h"
#include "string-util.h"
#include "validate.h"



static int parse_text(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        _unused_ Sandbox *s = object;
        char **p = data;

        if (isempty(value)) {
                *p = mfree(*p);
                return 0;
        }
        if (string_has_cc(value))
                return SYNTAX_ERROR(file, line, "%s= must not contain control characters.", key);
        if (strlen(value) > 1024)
                return SYNTAX_ERROR(file, line, "%s= is longer than 1024 characters.", key);
        free(*p);
        *p = strdup(value);
        return *p ? 0 : log_oom();
}

static int parse_bool(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        _unused_ Sandbox *s = object;
        int r;

        if (isempty(value)) {
                /* Back to the default: Ephemeral=, Boot= and ProtectDefaultPaths= default to yes. */
                *(bool *) data = streq(key, "Ephemeral") || streq(key, "Boot") || streq(key, "ProtectDefaultPaths");
                return 0;
        }
        r = parse_boolean(value);

        if (r < 0)
                return SYNTAX_ERROR(file, line, "%s= takes a boolean (yes/no), not \"%s\".", key, value);
        *(bool *) data = r;
        return 0;
}

static int parse_user(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        _unused_ Sandbox *s = object;
        if (!isempty(value) && !user_name_is_valid(value))
                return SYNTAX_ERROR(file, line,
                                    "User= must be a user name of lower-case letters, digits, '_' and '-', "
                                    "at most 31 characters, and not root: \"%s\".",
                                    value);
        return parse_text(file, line, key, value, data, s);
}

static int parse_workspace(const char *file, unsigned line, const char *key, const char *value, void *data,
                           void *object) {
        _unused_ Sandbox *s = object;
        const char *problem;

        if (isempty(value)) {
                s->workspace = mfree(s->workspace);
                return 0;
        }
        problem = workspace_path_problem(value);
        if (problem)
                return SYNTAX_ERROR(file, line, "Workspace= %s: \"%s\".", problem, value);
        s->loc_workspace = (Location){file, line};
        return parse_text(file, line, key, value, data, s);
}

/* Split a list value into words and hand each to check(); an empty value resets the list. */
static int parse_word_list(const char *file, unsigned line, const char *key, const char *value, char ***list,
                           int (*check)(const char *file, unsigned line, const char *key, char **word)) {
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (isempty(value)) {
                *list = strv_free(*list);
                return 0;
        }
        for (const char *p = value;;) {
                char *w;

                r = extract_word(&p, &w);
                if (r == 0)
                        break;
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return SYNTAX_ERROR(file, line, "%s= has an unterminated quote or a trailing backslash.",
                                            key);
                r = strv_consume(&words, w);
                if (r < 0)
                        return log_oom();
                if (check) {
                        r = check(file, line, key, &words[strv_length(words) - 1]);
                        if (r < 0)
                                return r;
                }
        }
        STRV_FOREACH(w, words) {
                r = strv_extend(list, *w);
                if (r < 0)
                        return log_oom();
        }
        return 0;
}

static int check_argv_word(const char *file, unsigned line, const char *key, char **w) {
        if (!word_is_nspawn_safe(*w))
                return SYNTAX_ERROR(file, line, "%s= arguments must not contain control characters.", key);
        return 0;
}

static int parse_command(const char *file, unsigned line, const char *key, const char *value, void *data,
                         void *object) {
        _unused_ Sandbox *s = object;
        /* A command line is one assignment: a second Command= replaces the first rather than appending. */
        s->command = strv_free(s->command);
        s->loc_command = (Location){file, line};
        return parse_word_list(file, line, key, value, &s->command, check_argv_word);
}

static int check_env_word(const char *file, unsigned line, const char *key, char **w) {
        const char *eq = strchr(*w, '=');
        _cleanup_free_ char *name = eq ? strndup(*w, (size_t) (eq - *w)) : NULL;

        if (!eq || !name || !env_name_is_valid(name))
                return SYNTAX_ERROR(file, line, "Environment= takes KEY=VALUE with KEY of letters, digits and "
                                                "'_': \"%s\".",
                                    *w);
        return check_argv_word(file, line, key, w);
}

/* KEY set again replaces the earlier value, like systemd's Environment=. Takes the strings of add. */
static int env_list_merge(char ***list, char **add) {
        STRV_FOREACH(a, add) {
                size_t klen = (size_t) (strchr(*a, '=') - *a) + 1;
                char **slot = NULL;

                STRV_FOREACH(e, *list)
                        if (strncmp(*e, *a, klen) == 0)
                                slot = e;
                if (slot) {
                        free(*slot);
                        *slot = TAKE_PTR(*a);
                } else if (strv_consume(list, TAKE_PTR(*a)) < 0)
                        return log_oom();
        }
        return 0;
}

static int parse_environment(const char *file, unsigned line, const char *key, const char *value, void *data,
                             void *object) {
        _unused_ Sandbox *s = object;
        _cleanup_strv_free_ char **add = NULL;
        int r;

        if (isempty(value)) {
                s->environment = strv_free(s->environment);
                return 0;
        }
        r = parse_word_list(file, line, key, value, &add, check_env_word);
        if (r < 0)
                return r;
        return env_list_merge(&s->environment, add);
}

static int check_credential_env_word(const char *file, unsigned line, const char *key, char **w) {
        const char *eq = strchr(*w, '=');
        _cleanup_free_ char *name = eq ? strndup(*w, (size_t) (eq - *w)) : NULL;

        if (!eq || !name || !env_name_is_valid(name) || !credential_id_is_valid(eq + 1))
                return SYNTAX_ERROR(file, line, "%s= takes VARIABLE=ID, VARIABLE of letters, digits and '_', ID a "
                                                "Credential= ID: \"%s\".",
                                    key, *w);
        return 0;
}

/* CredentialEnvironment=VAR=ID: the sessions the agent starts (sandyctl exec, login shells) get VAR set to
 * the content of credential ID, for tools that read a key from the environment (ANTHROPIC_API_KEY, ...). */
static int parse_credential_environment(const char *file, unsigned line, const char *key, const char *value,
                                        void *data, void *object) {
        _unused_ Sandbox *s = object;
        _cleanup_strv_free_ char **add = NULL;
        int r;

        if (isempty(value)) {
                s->credential_environment = strv_free(s->credential_environment);
                return 0;
        }
        r = parse_word_list(file, line, key, value, &add, check_credential_env_word);
        if (r < 0)
                return r;
        s->loc_credential_environment = (Location){file, line};
        return env_list_merge(&s->credential_environment, add);
}

static int parse_credential(const char *file, unsigned line, const char *key, const char *value, void *data,
                            void *object) {
        _unused_ Sandbox *s = object;
        const char *colon;
        _cleanup_free_ char *id = NULL, *path = NULL;

        if (isempty(value)) {
                for (size_t i = 0; i < s->n_credentials; i++) {
                        free(s->credentials[i].id);
                        free(s->credentials[i].path);
                }
                s->credentials = mfree(s->credentials);
                s->n_credentials = 0;
                return 0;
        }
        colon = strchr(value, ':');
        if (!colon)
                return SYNTAX_ERROR(file, line, "Credential= takes ID:PATH: \"%s\".", value);
        id = strndup(value, (size_t) (colon - value));
        path = strdup(colon + 1);
        if (!id || !path)
                return log_oom();
        if (!credential_id_is_valid(id))
                return SYNTAX_ERROR(file, line, "Credential= ID must be letters, digits, '_', '.', '-' or '@': "
                                                "\"%s\".",
                                    id);
        if (!path_is_normalized(path) || streq(path, "/") || !path_is_safe_for_nspawn(path) || strchr(path, ' '))
                return SYNTAX_ERROR(file, line,
                                    "Credential= PATH must be an absolute, normalised file path without ':', "
                                    "'\\', quotes, spaces or control characters: \"%s\".",
                                    path);

        for (size_t i = 0; i < s->n_credentials; i++)
                if (streq(s->credentials[i].id, id)) {
                        free(s->credentials[i].path);
                        s->credentials[i].path = TAKE_PTR(path);
                        s->credentials[i].loc = (Location){file, line};
                        return 0;
                }
        Credential *c = realloc(s->credentials, sizeof(Credential) * (s->n_credentials + 1));
        if (!c)
                return log_oom();
        s->credentials = c;
        s->credentials[s->n_credentials++] = (Credential){TAKE_PTR(id), TAKE_PTR(path), {file, line}};
        return 0;
}

static int check_protect_path(const char *file, unsigned line, const char *key, char **w) {
        if (!protect_path_is_valid(*w))
                return SYNTAX_ERROR(file, line,
                                    "ProtectPath= takes paths relative to the workspace, normalised, without "
                                    "\".\" or \"..\" components, '\\', '?', '[' or control characters (\"*\" "
                                    "matches within one component): \"%s\".",
                                    *w);
        return 0;
}

static int parse_protect_path(const char *file, unsigned line, const char *key, const char *value, void *data,
                              void *object) {
        _unused_ Sandbox *s = object;
        return parse_word_list(file, line, key, value, &s->protect_paths, check_protect_path);
}

/* Owner=, AllowUsers=, AllowGroups=: user and group names as useradd and groupadd take them (root too), or
 * numeric IDs. Resolved only when someone asks for access, so a user added later counts. */
static bool principal_is_valid(const char *w) {
        size_t n = strlen(w);

        if (n == 0 || n > 32)
                return false;
        if (strspn(w, "0123456789") == n)
                return n <= 10; /* a number; parse_id() decides the range */
        if (!(isalpha((unsigned char) w[0]) || w[0] == '_'))
                return false;
        for (const char *c = w; *c; c++)
                if (!isalnum((unsigned char) *c) && !strchr("_.-", *c))
                        return false;
        return true;
}

static int check_principal(const char *file, unsigned line, const char *key, char **w) {
        if (!principal_is_valid(*w))
                return SYNTAX_ERROR(file, line,
                                    "%s= takes %s names (letters, digits, '_', '.', '-', not starting with a digit "
                                    "or '-', at most 32 characters) or numeric IDs: \"%s\".",
                                    key, streq(key, "AllowGroups") ? "group" : "user", *w);
        return 0;
}

static int parse_owner(const char *file, unsigned line, const char *key, const char *value, void *data,
                       void *object) {
        _unused_ Sandbox *s = object;
        char *w = (char *) value;

        if (!isempty(value)) {
                int r = check_principal(file, line, key, &w);
                if (r < 0)
                        return r;
        }
        return parse_text(file, line, key, value, data, s);
}

static int parse_allow_users(const char *file, unsigned line, const char *key, const char *value, void *data,
                             void *object) {
        _unused_ Sandbox *s = object;
        return parse_word_list(file, line, key, value, &s->allow_users, check_principal);
}

static int parse_allow_groups(const char *file, unsigned line, const char *key, const char *value, void *data,
                              void *object) {
        _unused_ Sandbox *s = object;
        return parse_word_list(file, line, key, value, &s->allow_groups, check_principal);
}

static int parse_from(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        _unused_ Sandbox *s = object;
        if (isempty(value)) {
                s->from = mfree(s->from);
                return 0;
        }
        for (ImageSourceType t = 0; t < _IMAGE_SOURCE_MAX; t++) {
                const char *rest;
                bool ok;

                if (!startswith(value, image_source_type_to_string(t)))
                        continue;
                rest = value + strlen(image_source_type_to_string(t));
                switch (t) {
                case IMAGE_SOURCE_DOCKER:
                        ok = container_ref_is_valid(rest);
                        break;
                case IMAGE_SOURCE_DEBOOTSTRAP:
                        ok = suite_name_is_valid(rest);
                        break;
                default: {
                        /* PATH[:REF]: the path may not contain ':', so the first one starts REF. */
                        const char *colon = strchr(rest, ':');
                        _cleanup_free_ char *path = colon ? strndup(rest, (size_t) (colon - rest)) : strdup(rest);
                        if (!path)
                                return log_oom();
                        ok = path_is_normalized(path) && !streq(path, "/") && path_is_safe_for_nspawn(path) &&
                             (!colon || container_ref_is_valid(colon + 1));
                        break;
                }
                }
                if (!ok)
                        return SYNTAX_ERROR(file, line, "From= has an invalid %s source: \"%s\".",
                                            image_source_type_to_string(t), value);
                s->from_type = t;
                s->loc_from = (Location){file, line};
                return parse_text(file, line, key, value, data, s);
        }
        return SYNTAX_ERROR(file, line,
                            "From= must start with docker://, oci:, oci-archive:, docker-archive: or "
                            "debootstrap:, not \"%s\".",
                            value);
}

static int check_package(const char *file, unsigned line, const char *key, char **w) {
        if (!package_name_is_valid(*w))
                return SYNTAX_ERROR(file, line, "Packages= has an invalid Debian package name: \"%s\".", *w);
        return 0;
}

static int parse_packages(const char *file, unsigned line, const char *key, const char *value, void *data,
                          void *object) {
        _unused_ Sandbox *s = object;
        return parse_word_list(file, line, key, value, &s->packages, check_package);
}

static int parse_setup(const char *file, unsigned line, const char *key, const char *value, void *data,
                       void *object) {
        _unused_ Sandbox *s = object;
        if (!isempty(value) && (!path_is_normalized(value) || streq(value, "/") || string_has_cc(value)))
                return SYNTAX_ERROR(file, line, "Setup= must be an absolute, normalised path to a script: \"%s\".",
                                    value);
        s->loc_setup = (Location){file, line};
        return parse_text(file, line, key, value, data, s);
}

static int parse_mode(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        _unused_ Sandbox *s = object;
        if (isempty(value)) {
                s->network_mode = NETWORK_LENIENT;
                return 0;
        }
        for (NetworkMode m = 0; m < _NETWORK_MODE_MAX; m++)
                if (streq(value, network_mode_to_string(m))) {
                        s->network_mode = m;
                        s->loc_mode = (Location){file, line};
                        return 0;
                }
        return SYNTAX_ERROR(file, line, "Mode= must be one of host, none, lenient, strict, not \"%s\".", value);
}

/* AllowDomain= and AllowAddress=: a name or an address, and optionally ":PORTS" (see sandy.sandbox(5)). */
static int check_domain(const char *file, unsigned line, const char *key, char **w) {
        _cleanup_free_ char *orig = strdup(*w);
        int r = orig ? allow_domain_normalize(w) : -ENOMEM;

        if (r == -ENOMEM)
                return log_oom();
        if (r == -EDOM)
                return SYNTAX_ERROR(file, line, "AllowDomain= \"%s\" is a top-level domain; name a domain below it.",
                                    orig);
        if (r == -ERANGE)
                return SYNTAX_ERROR(file, line, "AllowDomain= takes DOMAIN[:PORTS] with PORTS as PORT[,PORT...] "
                                                "(1-65535, or FIRST-LAST), not \"%s\".",
                                    orig);
        if (r < 0)
                return SYNTAX_ERROR(file, line, "AllowDomain= has an invalid domain name: \"%s\".", orig);
        return 0;
}

static int parse_allow_domain(const char *file, unsigned line, const char *key, const char *value, void *data,
                              void *object) {
        _unused_ Sandbox *s = object;
        s->loc_allow_domain = (Location){file, line};
        return parse_word_list(file, line, key, value, &s->allow_domains, check_domain);
}

static int check_address(const char *file, unsigned line, const char *key, char **w) {
        unsigned char bin[16];
        unsigned prefix;
        char *n;
        int family, r = address_normalize(*w, &n);

        if (r == -ENOMEM)
                return log_oom();
        if (r == -EADDRNOTAVAIL)
                return SYNTAX_ERROR(file, line, "AllowAddress= \"%s\" has host bits set below its prefix length.", *w);
        if (r == -ERANGE)
                return SYNTAX_ERROR(file, line, "AllowAddress= takes ADDRESS[/PREFIX][:PORTS] with PORTS as "
                                                "PORT[,PORT...] (1-65535, or FIRST-LAST), not \"%s\".",
                                    *w);
        if (r < 0)
                return SYNTAX_ERROR(file, line, "AllowAddress= takes ADDRESS[/PREFIX][:PORTS] (IPv6 in brackets "
                                                "when ports follow), not \"%s\".",
                                    *w);
        /* Legal, and private ranges and metadata stay closed, but it is rarely what was meant. */
        if (address_parse(n, &family, bin, &prefix, NULL) >= 0 && prefix < (family == AF_INET ? 8u : 16u))
                log_syntax(file, line, LOG_WARNING, 0,
                           "AllowAddress= %s is wider than /%u: strict mode allows a large part of the internet "
                           "(LAN, CGNAT, link-local, ULA, host and metadata addresses stay blocked).",
                           n, family == AF_INET ? 8u : 16u);
        free(*w);
        *w = n;
        return 0;
}

static int parse_allow_address(const char *file, unsigned line, const char *key, const char *value, void *data,
                               void *object) {
        _unused_ Sandbox *s = object;
        s->loc_allow_address = (Location){file, line};
        return parse_word_list(file, line, key, value, &s->allow_addresses, check_address);
}

static int parse_port_number(const char *s, uint16_t *ret) {
        return safe_atou16(s, ret) < 0 || *ret == 0 ? -ERANGE : 0;
}

static int parse_allow_host_port(const char *file, unsigned line, const char *key, const char *value, void *data,
                                 void *object) {
        _unused_ Sandbox *s = object;
        _cleanup_strv_free_ char **words = NULL;
        int r;

        if (isempty(value)) {
                s->allow_host_ports = mfree(s->allow_host_ports);
                s->n_allow_host_ports = 0;
                return 0;
        }
        r = parse_word_list(file, line, key, value, &words, NULL);
        if (r < 0)
                return r;
        STRV_FOREACH(w, words) {
                const char *num = startswith(*w, "tcp:") ? *w + 4 : *w;
                uint16_t port;

                if (parse_port_number(num, &port) < 0)
                        return SYNTAX_ERROR(file, line, "AllowHostPort= takes [tcp:]PORT with PORT 1-65535, not "
                                                        "\"%s\".",
                                            *w);
                uint16_t *n = realloc(s->allow_host_ports, sizeof(uint16_t) * (s->n_allow_host_ports + 1));
                if (!n)
                        return log_oom();
                s->allow_host_ports = n;
                s->allow_host_ports[s->n_allow_host_ports++] = port;
        }
        return 0;
}

static int parse_port(const char *file, unsigned line, const char *key, const char *value, void *data,
                      void *object) {
        _unused_ Sandbox *s = object;
        _cleanup_free_ char *copy = NULL;
        char *host, *container;
        PortForward pf;

        if (isempty(value)) {
                s->ports = mfree(s->ports);
                s->n_ports = 0;
                return 0;
        }
        copy = strdup(startswith(value, "tcp:") ? value + 4 : value);
        if (!copy)
                return log_oom();
        if (startswith(value, "udp:"))
                return SYNTAX_ERROR(file, line, "Port= forwards TCP only: \"%s\".", value);
        host = copy;
        container = strchr(copy, ':');
        if (!container)
                return SYNTAX_ERROR(file, line, "Port= takes tcp:HOST:CONTAINER, not \"%s\".", value);
        *container++ = 0;
        if (parse_port_number(host, &pf.host) < 0 || parse_port_number(container, &pf.container) < 0)
                return SYNTAX_ERROR(file, line, "Port= takes tcp:HOST:CONTAINER with ports 1-65535, not \"%s\".",
                                    value);
        for (size_t i = 0; i < s->n_ports; i++)
                if (s->ports[i].host == pf.host)
                        return SYNTAX_ERROR(file, line, "Port= host port %u is forwarded twice.", pf.host);

        PortForward *n = realloc(s->ports, sizeof(PortForward) * (s->n_ports + 1));
        if (!n)
                return log_oom();
        s->ports = n;
        s->ports[s->n_ports++] = pf;
        s->loc_port = (Location){file, line};
        return 0;
}

static int parse_resource(const char *file, unsigned line, const char *key, const char *value, void *data,
                          void *object) {
        _unused_ Sandbox *s = object;
        bool ok;

        if (isempty(value))
                return parse_text(file, line, key, value, data, s);
        if (streq(key, "MemoryMax"))
                ok = memory_value_is_valid(value);
        else if (streq(key, "CPUQuota"))
                ok = cpu_quota_is_valid(value);
        else
                ok = tasks_value_is_valid(value);
        if (!ok)
                return SYNTAX_ERROR(file, line, "%s= has an invalid value \"%s\" (%s).", key, value,
                                    streq(key, "MemoryMax") ? "bytes with K, M, G or T, a percentage, or infinity"
                                    : streq(key, "CPUQuota") ? "a percentage such as 200%"
                                                             : "a number, a percentage, or infinity");
        return parse_text(file, line, key, value, data, s);
}

/* issue 13: EphemeralSize= and NestedUserNamespaces=. */
static int parse_ephemeral_size(const char *file, unsigned line, const char *key, const char *value, void *data,
                                void *object) {
        _unused_ Sandbox *s = object;

        if (isempty(value)) {
                s->ephemeral_size[0] = 0;
                return 0;
        }
        if (streq(value, "infinity") || !memory_value_is_valid(value) || strlen(value) >= sizeof s->ephemeral_size)
                return SYNTAX_ERROR(file, line, "%s= takes bytes with K, M, G or T, or a percentage of the host's "
                                                "memory, not \"%s\".",
                                    key, value);
        strcpy(s->ephemeral_size, value);
        return 0;
}

static int parse_nested_userns(const char *file, unsigned line, const char *key, const char *value, void *data,
                               void *object) {
        _unused_ Sandbox *s = object;
        int r;

        if (isempty(value)) {
                s->deny_nested_userns = false;
                return 0;
        }
        r = parse_boolean(value);
        if (r < 0)
                return SYNTAX_ERROR(file, line, "%s= takes a boolean (yes/no), not \"%s\".", key, value);
        s->deny_nested_userns = !r;
        return 0;
}

/* issue 17: "lean" boots sandy's SANDY_LEAN_TARGET (units/boot/), "default" the image's default.target. */
static int parse_boot_target(const char *file, unsigned line, const char *key, const char *value, void *data,
                             void *object) {
        Sandbox *s = object;

        if (isempty(value) || streq(value, "lean"))
                s->lean_boot = true;
        else if (streq(value, "default"))
                s->lean_boot = false;
        else
                return SYNTAX_ERROR(file, line,
                                    "%s= takes \"lean\" or \"default\" (the image's own default.target), "
                                    "not \"%s\".",
                                    key, value);
        return 0;
}

#define FIELD(f) offsetof(Sandbox, f)

static const ConfKey key_table[] = {
        {"Sandbox", "Description", parse_text, FIELD(description)},
        {"Sandbox", "User", parse_user, FIELD(user)},
        {"Sandbox", "Workspace", parse_workspace, FIELD(workspace)},
        {"Sandbox", "Ephemeral", parse_bool, FIELD(ephemeral)},
        {"Sandbox", "Boot", parse_bool, FIELD(boot)},
        {"Sandbox", "Command", parse_command, 0},
        {"Sandbox", "Environment", parse_environment, 0},
        {"Sandbox", "Credential", parse_credential, 0},
        {"Sandbox", "CredentialEnvironment", parse_credential_environment, 0},
        {"Sandbox", "AutoStart", parse_bool, FIELD(autostart)},
        {"Sandbox", "PersistHome", parse_bool, FIELD(persist_home)},
        {"Sandbox", "ProtectPath", parse_protect_path, 0},
        {"Sandbox", "ProtectDefaultPaths", parse_bool, FIELD(protect_default_paths)},
        {"Sandbox", "Owner", parse_owner, FIELD(owner)},
        {"Sandbox", "AllowUsers", parse_allow_users, 0},
        {"Sandbox", "AllowGroups", parse_allow_groups, 0},
        /* issue 13 */
        {"Sandbox", "EphemeralSize", parse_ephemeral_size, 0},
        {"Sandbox", "NestedUserNamespaces", parse_nested_userns, 0},
        /* issue 17 */
        {"Sandbox", "BootTarget", parse_boot_target, 0},
        {"Image", "From", parse_from, FIELD(from)},
        {"Image", "Packages", parse_packages, 0},
        {"Image", "Setup", parse_setup, FIELD(setup)},
        {"Network", "Mode", parse_mode, 0},
        {"Network", "AllowDomain", parse_allow_domain, 0},
        {"Network", "AllowAddress", parse_allow_address, 0},
        {"Network", "AllowHostPort", parse_allow_host_port, 0},
        {"Network", "Port", parse_port, 0},
        {"Resources", "MemoryMax", parse_resource, FIELD(memory_max)},
        {"Resources", "CPUQuota", parse_resource, FIELD(cpu_quota)},
        {"Resources", "TasksMax", parse_resource, FIELD(tasks_max)},
};


int sandbox_assign(const char *file, unsigned line, const char *section, const char *key, const char *value,
                   void *userdata) {
        ConfTable t = {key_table, ELEMENTSOF(key_table), userdata};
        return conf_table_assign(file, line, section, key, value, &t);
}
