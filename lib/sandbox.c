/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-parser.h"
#include "log.h"
#include "sandbox.h"
#include "strv.h"
#include "util.h"
#include "validate.h"

static const char *const network_mode_table[_NETWORK_MODE_MAX] = {
        [NETWORK_LENIENT] = "lenient",
        [NETWORK_STRICT] = "strict",
        [NETWORK_NONE] = "none",
        [NETWORK_HOST] = "host",
};

static const char *const image_source_prefix[_IMAGE_SOURCE_MAX] = {
        [IMAGE_SOURCE_DOCKER] = "docker://",
        [IMAGE_SOURCE_OCI] = "oci:",
        [IMAGE_SOURCE_OCI_ARCHIVE] = "oci-archive:",
        [IMAGE_SOURCE_DOCKER_ARCHIVE] = "docker-archive:",
        [IMAGE_SOURCE_DEBOOTSTRAP] = "debootstrap:",
};

const char *network_mode_to_string(NetworkMode m) {
        return m >= 0 && m < _NETWORK_MODE_MAX ? network_mode_table[m] : NULL;
}

const char *image_source_type_to_string(ImageSourceType t) {
        return t >= 0 && t < _IMAGE_SOURCE_MAX ? image_source_prefix[t] : NULL;
}

Sandbox *sandbox_free(Sandbox *s) {
        if (!s)
                return NULL;
        free(s->name);
        strv_free(s->files);
        free(s->description);
        free(s->user);
        free(s->workspace);
        strv_free(s->command);
        strv_free(s->environment);
        strv_free(s->protect_paths);
        for (size_t i = 0; i < s->n_credentials; i++) {
                free(s->credentials[i].id);
                free(s->credentials[i].path);
        }
        free(s->credentials);
        free(s->from);
        strv_free(s->packages);
        free(s->setup);
        strv_free(s->allow_domains);
        strv_free(s->allow_addresses);
        free(s->allow_host_ports);
        free(s->ports);
        free(s->memory_max);
        free(s->cpu_quota);
        free(s->tasks_max);
        return mfree(s);
}

const char *const sandbox_default_protect_paths[] = {
        /* shells */
        ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv", ".zprofile",
        ".zlogin", ".zlogout", ".kshrc", ".cshrc", ".tcshrc", ".config/fish",
        /* tools that read configuration from the project or the home directory */
        ".gitconfig", ".envrc", ".npmrc", ".pypirc", ".netrc", ".mcp.json", ".pre-commit-config.yaml", ".ssh",
        /* git: config, hooks and refs a later git command on the host trusts; submodules the same */
        ".git/config", ".git/hooks", ".git/info", ".git/packed-refs", ".gitmodules", ".git/modules/*/config",
        ".git/modules/*/hooks", ".git/modules/*/info",
        /* editors, CI, dev containers, agents */
        ".vscode", ".idea", ".github/workflows", ".devcontainer", ".claude/settings*.json", ".claude/hooks",
        ".sandy", NULL,
};

bool protect_path_is_valid(const char *p) {
        if (isempty(p) || strlen(p) > 1024 || p[0] == '/' || endswith(p, "/") || string_has_cc(p) ||
            !utf8_is_valid(p) || strpbrk(p, "\\?[]"))
                return false;
        for (const char *c = p;;) {
                size_t n = strcspn(c, "/");
                if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!c[n])
                        return true;
                c += n + 1;
        }
}

bool sandbox_name_is_valid(const char *name) {
        bool dot = true, hyphen = true;

        /* Exactly what nspawn and machined accept as a machine name (systemd's hostname_is_valid()):
         * dot-separated labels of letters, digits and '-', no label starting or ending with '-', at most
         * 64 bytes. Anything else would verify here and then fail at start. */
        if (isempty(name) || strlen(name) > SANDBOX_NAME_MAX)
                return false;
        for (const char *c = name; *c; c++) {
                if (*c == '.') {
                        if (dot || hyphen)
                                return false;
                        dot = true;
                        hyphen = false;
                } else if (*c == '-') {
                        if (dot)
                                return false;
                        dot = false;
                        hyphen = true;
                } else if (isalnum((unsigned char) *c)) {
                        dot = hyphen = false;
                } else
                        return false;
        }
        if (dot || hyphen)
                return false;
        /* Runtime state lives in /run/sandy/NAME, beside the helper's own /run/sandy/net and
         * /run/sandy/netns: a sandbox must not be able to take those over. */
        return !streq(name, "net") && !streq(name, "netns");
}

int sandbox_name_from_path(const char *path, char **ret) {
        const char *base = strrchr(path, '/');
        _cleanup_free_ char *name = NULL;

        base = base ? base + 1 : path;
        if (!endswith(base, SANDBOX_SUFFIX))
                return -EINVAL;
        name = strndup(base, strlen(base) - strlen(SANDBOX_SUFFIX));
        if (!name)
                return -ENOMEM;
        if (!sandbox_name_is_valid(name))
                return -EINVAL;
        *ret = TAKE_PTR(name);
        return 0;
}

/* ---- value parsers ------------------------------------------------------------------------------ */

typedef int (*value_parser_t)(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                              void *data);

#define SYNTAX_ERROR(file, line, ...) log_syntax(file, line, LOG_ERR, EINVAL, __VA_ARGS__)

static int parse_text(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                      void *data) {
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

static int parse_bool(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                      void *data) {
        int r;

        if (isempty(value)) {
                /* Back to the default: only Ephemeral= and Boot= default to yes. */
                *(bool *) data = streq(key, "Ephemeral") || streq(key, "Boot") || streq(key, "ProtectDefaultPaths");
                return 0;
        }
        r = parse_boolean(value);

        if (r < 0)
                return SYNTAX_ERROR(file, line, "%s= takes a boolean (yes/no), not \"%s\".", key, value);
        *(bool *) data = r;
        return 0;
}

static int parse_user(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                      void *data) {
        if (!isempty(value) && !user_name_is_valid(value))
                return SYNTAX_ERROR(file, line,
                                    "User= must be a user name of lower-case letters, digits, '_' and '-', "
                                    "at most 31 characters, and not root: \"%s\".",
                                    value);
        return parse_text(s, file, line, key, value, data);
}

static int parse_workspace(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                           void *data) {
        const char *problem;

        if (isempty(value)) {
                s->workspace = mfree(s->workspace);
                return 0;
        }
        problem = workspace_path_problem(value);
        if (problem)
                return SYNTAX_ERROR(file, line, "Workspace= %s: \"%s\".", problem, value);
        s->loc_workspace = (Location){file, line};
        return parse_text(s, file, line, key, value, data);
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

static int parse_command(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                         void *data) {
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

static int parse_environment(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                             void *data) {
        _cleanup_strv_free_ char **add = NULL;
        int r;

        if (isempty(value)) {
                s->environment = strv_free(s->environment);
                return 0;
        }
        r = parse_word_list(file, line, key, value, &add, check_env_word);
        if (r < 0)
                return r;
        /* KEY set again replaces the earlier value, like systemd's Environment=. */
        STRV_FOREACH(a, add) {
                size_t klen = (size_t) (strchr(*a, '=') - *a) + 1;
                char **slot = NULL;

                STRV_FOREACH(e, s->environment)
                        if (strncmp(*e, *a, klen) == 0)
                                slot = e;
                if (slot) {
                        free(*slot);
                        *slot = TAKE_PTR(*a);
                } else if (strv_consume(&s->environment, TAKE_PTR(*a)) < 0)
                        return log_oom();
        }
        return 0;
}

static int parse_credential(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                            void *data) {
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
                        return 0;
                }
        Credential *c = realloc(s->credentials, sizeof(Credential) * (s->n_credentials + 1));
        if (!c)
                return log_oom();
        s->credentials = c;
        s->credentials[s->n_credentials++] = (Credential){TAKE_PTR(id), TAKE_PTR(path)};
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

static int parse_protect_path(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                              void *data) {
        return parse_word_list(file, line, key, value, &s->protect_paths, check_protect_path);
}

static int parse_from(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                      void *data) {
        if (isempty(value)) {
                s->from = mfree(s->from);
                return 0;
        }
        for (ImageSourceType t = 0; t < _IMAGE_SOURCE_MAX; t++) {
                const char *rest;
                bool ok;

                if (!startswith(value, image_source_prefix[t]))
                        continue;
                rest = value + strlen(image_source_prefix[t]);
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
                                            image_source_prefix[t], value);
                s->from_type = t;
                s->loc_from = (Location){file, line};
                return parse_text(s, file, line, key, value, data);
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

static int parse_packages(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                          void *data) {
        return parse_word_list(file, line, key, value, &s->packages, check_package);
}

static int parse_setup(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                       void *data) {
        if (!isempty(value) && (!path_is_normalized(value) || streq(value, "/") || string_has_cc(value)))
                return SYNTAX_ERROR(file, line, "Setup= must be an absolute, normalised path to a script: \"%s\".",
                                    value);
        return parse_text(s, file, line, key, value, data);
}

static int parse_mode(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                      void *data) {
        if (isempty(value)) {
                s->network_mode = NETWORK_LENIENT;
                return 0;
        }
        for (NetworkMode m = 0; m < _NETWORK_MODE_MAX; m++)
                if (streq(value, network_mode_table[m])) {
                        s->network_mode = m;
                        s->loc_mode = (Location){file, line};
                        return 0;
                }
        return SYNTAX_ERROR(file, line, "Mode= must be one of host, none, lenient, strict, not \"%s\".", value);
}

static int check_domain(const char *file, unsigned line, const char *key, char **w) {
        int r = domain_normalize(*w);

        if (r == -EDOM)
                return SYNTAX_ERROR(file, line, "AllowDomain= \"%s\" is a top-level domain; name a domain below it.",
                                    *w);
        if (r < 0)
                return SYNTAX_ERROR(file, line, "AllowDomain= has an invalid domain name: \"%s\".", *w);
        return 0;
}

static int parse_allow_domain(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                              void *data) {
        s->loc_allow_domain = (Location){file, line};
        return parse_word_list(file, line, key, value, &s->allow_domains, check_domain);
}

static int check_address(const char *file, unsigned line, const char *key, char **w) {
        char *n;
        int r = address_normalize(*w, &n);

        if (r == -ENOMEM)
                return log_oom();
        if (r == -EADDRNOTAVAIL)
                return SYNTAX_ERROR(file, line, "AllowAddress= \"%s\" has host bits set below its prefix length.", *w);
        if (r < 0)
                return SYNTAX_ERROR(file, line, "AllowAddress= takes ADDRESS[/PREFIX][:PORT] (IPv6 in brackets "
                                                "when a port follows), not \"%s\".",
                                    *w);
        free(*w);
        *w = n;
        return 0;
}

static int parse_allow_address(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                               void *data) {
        s->loc_allow_address = (Location){file, line};
        return parse_word_list(file, line, key, value, &s->allow_addresses, check_address);
}

static int parse_port_number(const char *s, uint16_t *ret) {
        return safe_atou16(s, ret) < 0 || *ret == 0 ? -ERANGE : 0;
}

static int parse_allow_host_port(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                                 void *data) {
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

static int parse_port(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                      void *data) {
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

static int parse_resource(Sandbox *s, const char *file, unsigned line, const char *key, const char *value,
                          void *data) {
        bool ok;

        if (isempty(value))
                return parse_text(s, file, line, key, value, data);
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
        return parse_text(s, file, line, key, value, data);
}

typedef struct KeyInfo {
        const char *section;
        const char *key;
        value_parser_t parse;
        size_t offset; /* of the field handed to parse as data */
} KeyInfo;

#define FIELD(f) offsetof(Sandbox, f)

static const KeyInfo key_table[] = {
        {"Sandbox", "Description", parse_text, FIELD(description)},
        {"Sandbox", "User", parse_user, FIELD(user)},
        {"Sandbox", "Workspace", parse_workspace, FIELD(workspace)},
        {"Sandbox", "Ephemeral", parse_bool, FIELD(ephemeral)},
        {"Sandbox", "Boot", parse_bool, FIELD(boot)},
        {"Sandbox", "Command", parse_command, 0},
        {"Sandbox", "Environment", parse_environment, 0},
        {"Sandbox", "Credential", parse_credential, 0},
        {"Sandbox", "AutoStart", parse_bool, FIELD(autostart)},
        {"Sandbox", "PersistHome", parse_bool, FIELD(persist_home)},
        {"Sandbox", "ProtectPath", parse_protect_path, 0},
        {"Sandbox", "ProtectDefaultPaths", parse_bool, FIELD(protect_default_paths)},
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

static const char *const known_sections[] = {"Sandbox", "Image", "Network", "Resources"};

static int assign(const char *file, unsigned line, const char *section, const char *key, const char *value,
                  void *userdata) {
        Sandbox *s = userdata;
        bool section_known = false;

        /* X- prefixed names are for other tools and local notes, as in unit files. */
        if (startswith(section, "X-") || startswith(key, "X-"))
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(known_sections); i++)
                section_known = section_known || streq(section, known_sections[i]);
        if (!section_known) {
                log_syntax(file, line, LOG_WARNING, 0, "Unknown section [%s], ignoring %s=.", section, key);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if (streq(section, key_table[i].section) && streq(key, key_table[i].key))
                        return key_table[i].parse(s, file, line, key, value, (uint8_t *) s + key_table[i].offset);

        /* A newer file must not kill the sandbox on an older sandy: warn and go on. */
        log_syntax(file, line, LOG_WARNING, 0, "Unknown key %s= in [%s], ignoring.", key, section);
        return 0;
}

static Sandbox *sandbox_new(const char *name) {
        Sandbox *s = new0(Sandbox, 1);

        if (!s)
                return NULL;
        s->name = strdup(name);
        s->ephemeral = true;
        s->boot = true;
        s->protect_default_paths = true;
        s->network_mode = NETWORK_LENIENT;
        s->from_type = _IMAGE_SOURCE_MAX;
        if (!s->name)
                return sandbox_free(s);
        return s;
}

/* Checks that need the whole declaration. */
static int sandbox_verify(Sandbox *s) {
        const char *main_file = s->files[0];
        int r = 0;

        if (!s->from)
                r = log_syntax(main_file, 0, LOG_ERR, EINVAL, "[Image] From= is required.");
        if (s->boot && s->command)
                r = log_syntax(s->loc_command.file, s->loc_command.line, LOG_ERR, EINVAL,
                               "Command= needs Boot=no; a booted sandbox runs its init.");
        if (s->persist_home && !s->ephemeral)
                log_syntax(s->files[0], 0, LOG_WARNING, 0,
                           "PersistHome=yes has no effect with Ephemeral=no; the whole sandbox persists.");
        if (s->network_mode != NETWORK_STRICT && (s->allow_domains || s->allow_addresses)) {
                Location l = s->allow_domains ? s->loc_allow_domain : s->loc_allow_address;
                log_syntax(l.file, l.line, LOG_WARNING, 0,
                           "AllowDomain= and AllowAddress= only apply with Mode=strict; ignored with Mode=%s.",
                           network_mode_to_string(s->network_mode));
        }
        if (s->n_ports > 0 && IN_SET(s->network_mode, NETWORK_HOST, NETWORK_NONE))
                r = log_syntax(s->loc_port.file, s->loc_port.line, LOG_ERR, EINVAL,
                               "Port= needs Mode=lenient or Mode=strict; with Mode=%s there is nothing to forward to.",
                               network_mode_to_string(s->network_mode));
        if (!s->user) {
                s->user = strdup("agent");
                if (!s->user)
                        return log_oom();
        }
        return r;
}

static int sandbox_apply_file(Sandbox *s, const char *path) {
        int r;

        /* File names end up in comments and messages of generated files; a newline there would be a line
         * of its own. */
        if (string_has_cc(path) || !utf8_is_valid(path))
                return log_error_errno(EINVAL, "Refusing file with control characters or invalid UTF-8 in its "
                                               "name (next to %s).",
                                       s->files && s->files[0] ? s->files[0] : "the declaration");

        r = strv_extend(&s->files, path);
        if (r < 0)
                return log_oom();
        /* Locations point at our own copy, which lives as long as the Sandbox. */
        return conf_parse_file(s->files[strv_length(s->files) - 1], assign, s);
}

int sandbox_load_files(const char *name, const char *main_file, char *const *dropins, Sandbox **ret) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new(name);
        int r, ret_r = 0;

        if (!s)
                return log_oom();
        r = sandbox_apply_file(s, main_file);
        if (r < 0)
                ret_r = r;
        STRV_FOREACH(d, dropins) {
                r = sandbox_apply_file(s, *d);
                if (r < 0 && ret_r == 0)
                        ret_r = r;
        }
        r = sandbox_verify(s);
        if (r < 0 && ret_r == 0)
                ret_r = r;
        if (ret_r < 0)
                return ret_r == -ENOMEM ? ret_r : -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

int sandbox_load_string(const char *name, const char *label, const char *text, size_t size, Sandbox **ret) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new(name);
        int r, r2;

        if (!s || strv_extend(&s->files, label) < 0)
                return log_oom();
        r = conf_parse_string(s->files[0], text, size, assign, s);
        r2 = sandbox_verify(s);
        if (r < 0 || r2 < 0)
                return (r ?: r2) == -ENOMEM ? -ENOMEM : -EINVAL;
        *ret = TAKE_PTR(s);
        return 0;
}

/* ---- search path -------------------------------------------------------------------------------- */

char **sandbox_search_path(const char *search_path) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = NULL;
        char *state = NULL;

        if (!search_path)
                search_path = getenv("SANDY_SEARCH_PATH");
        if (isempty(search_path))
                search_path = SANDY_SEARCH_PATH_DEFAULT;
        copy = strdup(search_path);
        if (!copy)
                return NULL;
        for (char *d = strtok_r(copy, ":", &state); d; d = strtok_r(NULL, ":", &state))
                if (strv_extend(&l, d) < 0)
                        return NULL;
        if (!l)
                l = new0(char *, 1);
        return TAKE_PTR(l);
}

static bool file_is_mask(const char *path) {
        struct stat st;

        /* As with units: a symlink to /dev/null or an empty file masks the name. */
        if (stat(path, &st) < 0)
                return false;
        return S_ISCHR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size == 0);
}

static int collect_dropins(char *const *dirs, const char *name, char ***ret) {
        _cleanup_strv_free_ char **basenames = NULL, **paths = NULL;

        /* A drop-in name in a higher-priority directory overrides the same name further down. */
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *dir = NULL;
                DIR *dp;
                struct dirent *de;

                if (xasprintf(&dir, "%s/%s%s.d", *d, name, SANDBOX_SUFFIX) < 0)
                        return -ENOMEM;
                dp = opendir(dir);
                if (!dp)
                        continue;
                while ((de = readdir(dp))) {
                        if (de->d_name[0] == '.' || !endswith(de->d_name, ".conf") ||
                            strv_contains(basenames, de->d_name))
                                continue;
                        _cleanup_free_ char *p = path_join(dir, de->d_name);
                        if (!p || strv_extend(&basenames, de->d_name) < 0) {
                                closedir(dp);
                                return -ENOMEM;
                        }
                        if (file_is_mask(p))
                                continue; /* masked drop-in: name reserved, nothing applied */
                        if (strv_consume(&paths, TAKE_PTR(p)) < 0) {
                                closedir(dp);
                                return -ENOMEM;
                        }
                }
                closedir(dp);
        }
        /* Applied in lexical order of their file names, whichever directory they came from. */
        size_t n = strv_length(paths);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0; j--) {
                        const char *a = strrchr(paths[j - 1], '/') + 1, *b = strrchr(paths[j], '/') + 1;
                        if (strcmp(a, b) <= 0)
                                break;
                        char *t = paths[j - 1];
                        paths[j - 1] = paths[j];
                        paths[j] = t;
                }
        *ret = TAKE_PTR(paths);
        return 0;
}

int sandbox_find(char *const *dirs, const char *name, char **ret_main, char ***ret_dropins) {
        int r;

        if (!sandbox_name_is_valid(name))
                return -EINVAL;
        STRV_FOREACH(d, dirs) {
                _cleanup_free_ char *p = NULL;

                if (xasprintf(&p, "%s/%s%s", *d, name, SANDBOX_SUFFIX) < 0)
                        return -ENOMEM;
                if (access(p, F_OK) < 0)
                        continue;
                if (file_is_mask(p))
                        return -ENXIO;
                if (ret_dropins) {
                        r = collect_dropins(dirs, name, ret_dropins);
                        if (r < 0)
                                return r;
                }
                if (ret_main)
                        *ret_main = TAKE_PTR(p);
                return 0;
        }
        return -ENOENT;
}

int sandbox_list_names(char *const *dirs, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;

        STRV_FOREACH(d, dirs) {
                DIR *dp = opendir(*d);
                struct dirent *de;

                if (!dp) {
                        if (errno != ENOENT)
                                log_warning_errno(errno, "Failed to open %s, ignoring: %m", *d);
                        continue;
                }
                while ((de = readdir(dp))) {
                        char *name;

                        if (de->d_name[0] == '.' || !endswith(de->d_name, SANDBOX_SUFFIX))
                                continue;
                        if (sandbox_name_from_path(de->d_name, &name) < 0) {
                                log_syntax(*d, 0, LOG_ERR, EINVAL,
                                           "\"%s\" does not make a valid sandbox name (letters, digits, '-', "
                                           "'_', '.', at most %d characters), ignoring.",
                                           de->d_name, SANDBOX_NAME_MAX);
                                continue;
                        }
                        if (strv_contains(names, name)) {
                                free(name);
                                continue;
                        }
                        if (strv_consume(&names, name) < 0) {
                                closedir(dp);
                                return -ENOMEM;
                        }
                }
                closedir(dp);
        }
        strv_sort(names);
        *ret = TAKE_PTR(names);
        return 0;
}

int sandbox_load(char *const *dirs, const char *name, Sandbox **ret) {
        _cleanup_free_ char *main_file = NULL;
        _cleanup_strv_free_ char **dropins = NULL;
        int r;

        r = sandbox_find(dirs, name, &main_file, &dropins);
        if (r < 0)
                return r;
        return sandbox_load_files(name, main_file, dropins, ret);
}

int sandbox_check_dropin(const char *path) {
        _cleanup_sandbox_free_ Sandbox *s = sandbox_new("dropin");
        int r;

        if (!s || strv_extend(&s->files, path) < 0)
                return log_oom();
        r = conf_parse_file(s->files[0], assign, s);
        return r < 0 ? (r == -ENOMEM ? r : -EINVAL) : 0;
}

/* Quote a word for our own list syntax (see extract_word()). */
static void put_word(FILE *f, const char *w, bool first) {
        if (!first)
                fputc(' ', f);
        if (*w && !strpbrk(w, " \t\"'\\")) {
                fputs(w, f);
                return;
        }
        fputc('"', f);
        for (; *w; w++) {
                if (*w == '"' || *w == '\\')
                        fputc('\\', f);
                fputc(*w, f);
        }
        fputc('"', f);
}

static void put_list(FILE *f, const char *key, char *const *l) {
        if (!l)
                return;
        fprintf(f, "%s=", key);
        STRV_FOREACH(w, l)
                put_word(f, *w, w == l);
        fputc('\n', f);
}

int sandbox_format(const Sandbox *s, FILE *f) {
        STRV_FOREACH(p, s->files)
                fprintf(f, "# %s\n", *p);

        fputs("[Sandbox]\n", f);
        if (s->description)
                fprintf(f, "Description=%s\n", s->description);
        fprintf(f, "User=%s\n", s->user);
        if (s->workspace)
                fprintf(f, "Workspace=%s\n", s->workspace);
        fprintf(f, "Ephemeral=%s\n", s->ephemeral ? "yes" : "no");
        fprintf(f, "Boot=%s\n", s->boot ? "yes" : "no");
        put_list(f, "Command", s->command);
        put_list(f, "Environment", s->environment);
        for (size_t i = 0; i < s->n_credentials; i++)
                fprintf(f, "Credential=%s:%s\n", s->credentials[i].id, s->credentials[i].path);
        fprintf(f, "AutoStart=%s\n", s->autostart ? "yes" : "no");
        fprintf(f, "PersistHome=%s\n", s->persist_home ? "yes" : "no");
        put_list(f, "ProtectPath", s->protect_paths);
        fprintf(f, "ProtectDefaultPaths=%s\n", s->protect_default_paths ? "yes" : "no");

        fputs("\n[Image]\n", f);
        if (s->from)
                fprintf(f, "From=%s\n", s->from);
        put_list(f, "Packages", s->packages);
        if (s->setup)
                fprintf(f, "Setup=%s\n", s->setup);

        fputs("\n[Network]\n", f);
        fprintf(f, "Mode=%s\n", network_mode_to_string(s->network_mode));
        put_list(f, "AllowDomain", s->allow_domains);
        put_list(f, "AllowAddress", s->allow_addresses);
        for (size_t i = 0; i < s->n_allow_host_ports; i++)
                fprintf(f, "AllowHostPort=tcp:%u\n", s->allow_host_ports[i]);
        for (size_t i = 0; i < s->n_ports; i++)
                fprintf(f, "Port=tcp:%u:%u\n", s->ports[i].host, s->ports[i].container);

        fputs("\n[Resources]\n", f);
        if (s->memory_max)
                fprintf(f, "MemoryMax=%s\n", s->memory_max);
        if (s->cpu_quota)
                fprintf(f, "CPUQuota=%s\n", s->cpu_quota);
        if (s->tasks_max)
                fprintf(f, "TasksMax=%s\n", s->tasks_max);
        return ferror(f) ? -EIO : 0;
}
