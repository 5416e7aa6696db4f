/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-parser.h"
#include "fs-util.h"
#include "log.h"
#include "sandbox-internal.h"
#include "strv.h"
#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"
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
        free(s->digest_input);
        free(s->owner);
        strv_free(s->allow_users);
        strv_free(s->allow_groups);
        free(s->description);
        free(s->user);
        free(s->workspace);
        strv_free(s->command);
        strv_free(s->environment);
        strv_free(s->credential_environment);
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
        /* Runtime state lives in SANDY_RUNTIME_DIR/NAME, beside the helper's own SANDY_NET_DIR and
         * SANDY_NETNS_DIR: a sandbox must not be able to take those over. */
        return !streq(name, "net") && !streq(name, "netns");
}

bool sandbox_name_is_reserved(const char *name) {
        /* Image builds' networks: a declaration by such a name could take one over. */
        return startswith(name, SANDY_BUILD_NETWORK_PREFIX);
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
        if (!sandbox_name_is_valid(name) || sandbox_name_is_reserved(name))
                return -EINVAL;
        *ret = TAKE_PTR(name);
        return 0;
}

Sandbox *sandbox_new(const char *name) {
        Sandbox *s = new0(Sandbox, 1);

        if (!s)
                return NULL;
        s->name = strdup(name);
        s->ephemeral = true;
        s->boot = true;
        s->lean_boot = true;
        s->protect_default_paths = true;
        s->network_mode = NETWORK_LENIENT;
        s->from_type = _IMAGE_SOURCE_MAX;
        if (!s->name)
                return sandbox_free(s);
        return s;
}

/* Checks that need the whole declaration. */
int sandbox_verify(Sandbox *s) {
        const char *main_file = s->files[0];
        int r = 0;

        if (!s->from)
                r = log_syntax(main_file, 0, LOG_ERR, EINVAL, "[Image] From= is required.");
        if (s->boot && s->command)
                r = log_syntax(s->loc_command.file, s->loc_command.line, LOG_ERR, EINVAL,
                               "Command= needs Boot=no; a booted sandbox runs its init.");
        STRV_FOREACH(ce, s->credential_environment) {
                const char *id = strchr(*ce, '=') + 1;
                bool found = false;
                for (size_t i = 0; i < s->n_credentials; i++)
                        found = found || streq(s->credentials[i].id, id);
                if (!found)
                        r = log_syntax(s->loc_credential_environment.file, s->loc_credential_environment.line, LOG_ERR,
                                       EINVAL, "CredentialEnvironment= names credential %s, which no Credential= declares.",
                                       id);
        }
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

/* A user or group as a declaration names it: a name, or a number. */
static int parse_id(const char *s, uint32_t *ret) {
        uint64_t v;

        if (safe_atou64(s, &v) < 0)
                return -EINVAL;
        /* (uid_t) -1 means "no user" to the kernel; 65535 is nobody on some systems, but still a user. */
        if (v >= UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

/* A user (group: a group) as a number or a name in the database; -ESRCH when there is none. */
static int resolve_id(const char *s, bool group, uint32_t *ret) {
        struct passwd *pw = NULL;
        struct group *gr = NULL;
        int r;

        r = parse_id(s, ret);
        if (r != -EINVAL)
                return r < 0 ? -ESRCH : 0;
        if (group ? !(gr = getgrnam(s)) : !(pw = getpwnam(s)))
                return -ESRCH;
        *ret = group ? gr->gr_gid : pw->pw_uid;
        return 0;
}

/* The owner of the directory at path when only that owner (or root) can have put it there, else root. */
static uid_t dir_owner_without_races(const char *path) {
        _cleanup_close_ int cur = -EBADF;
        struct stat chain[128]; /* far more components than a workspace path has */
        size_t n = 0;
        uid_t owner;

        /* One openat() per component from /, O_NOFOLLOW: a symlink anywhere, or anything but a directory,
         * and nobody but root owns it. */
        cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0 || fstat(cur, &chain[n++]) < 0)
                return 0;
        for (const char *p = path;;) {
                char comp[NAME_MAX + 1];
                size_t len;
                int fd;

                p += strspn(p, "/");
                if (!*p)
                        break;
                len = strcspn(p, "/");
                if (len > NAME_MAX || n >= ELEMENTSOF(chain))
                        return 0;
                memcpy(comp, p, len);
                comp[len] = 0;
                p += len;
                fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return 0;
                safe_close(cur);
                cur = fd;
                if (fstat(cur, &chain[n++]) < 0)
                        return 0;
        }
        owner = chain[n - 1].st_uid;
        /* Whoever may rename or replace an entry of a directory above could swap in a directory of theirs:
         * each must belong to root or the owner and be writable by nobody else, or be sticky. */
        for (size_t i = 0; i + 1 < n; i++) {
                if (chain[i].st_uid != 0 && chain[i].st_uid != owner)
                        return 0;
                if ((chain[i].st_mode & 0022) && !(chain[i].st_mode & S_ISVTX))
                        return 0;
        }
        return owner;
}

int sandbox_owner_uid(const Sandbox *s, uid_t *ret) {
        int r;

        if (s->owner) {
                r = resolve_id(s->owner, false, ret);
                if (r < 0)
                        *ret = 0;
                return r;
        }
        *ret = s->workspace ? dir_owner_without_races(s->workspace) : 0;
        return 0;
}

bool sandbox_uid_allowed(const Sandbox *s, uid_t owner, uid_t uid) {
        _cleanup_free_ gid_t *groups = NULL;
        _cleanup_free_ char *name = NULL;
        struct passwd *pw;
        int n = 64;
        gid_t gid;

        if (uid == 0 || (owner != 0 && uid == owner))
                return true;
        STRV_FOREACH(u, s->allow_users) {
                uid_t a;
                if (resolve_id(*u, false, &a) >= 0 && a == uid && a != 0)
                        return true;
        }
        if (!s->allow_groups)
                return false;
        pw = getpwuid(uid);
        if (!pw || !(name = strdup(pw->pw_name)))
                return false;
        gid = pw->pw_gid;
        /* The groups the group database gives the user, as polkit's isInGroup() sees them, not the groups
         * some process of theirs happens to have. */
        for (;;) {
                int k = n;
                gid_t *g = realloc(groups, sizeof(gid_t) * (size_t) n);
                if (!g)
                        return false;
                groups = g;
                if (getgrouplist(name, gid, groups, &k) >= 0) {
                        n = k;
                        break;
                }
                if (k <= n)
                        return false;
                n = k;
        }
        STRV_FOREACH(a, s->allow_groups) {
                gid_t want;
                if (resolve_id(*a, true, &want) < 0 || want == 0)
                        continue;
                for (int i = 0; i < n; i++)
                        if (groups[i] == want)
                                return true;
        }
        return false;
}

int sandbox_check_digest(const Sandbox *s, const char *recorded) {
        if (isempty(recorded))
                return log_error_errno(ESTALE, "Sandbox %s has no generated unit, or one from an older sandy: "
                                               "its declaration " SANDBOX_STALE_MESSAGE ".",
                                       s->name);
        if (!streq(recorded, s->digest))
                return log_error_errno(ESTALE, "The declaration of sandbox %s " SANDBOX_STALE_MESSAGE ".",
                                       s->name);
        return 0;
}
