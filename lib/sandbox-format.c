/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The effective declaration in canonical .sandbox syntax (sandyctl cat). */
#include <string.h>

#include "sandbox.h"
#include "strv.h"

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
        put_list(f, "CredentialEnvironment", s->credential_environment);
        for (size_t i = 0; i < s->n_credentials; i++)
                fprintf(f, "Credential=%s:%s\n", s->credentials[i].id, s->credentials[i].path);
        fprintf(f, "AutoStart=%s\n", s->autostart ? "yes" : "no");
        fprintf(f, "PersistHome=%s\n", s->persist_home ? "yes" : "no");
        put_list(f, "ProtectPath", s->protect_paths);
        fprintf(f, "ProtectDefaultPaths=%s\n", s->protect_default_paths ? "yes" : "no");
        if (s->owner)
                fprintf(f, "Owner=%s\n", s->owner);
        put_list(f, "AllowUsers", s->allow_users);
        put_list(f, "AllowGroups", s->allow_groups);
        /* issue 13 */
        if (s->ephemeral_size[0])
                fprintf(f, "EphemeralSize=%s\n", s->ephemeral_size);
        fprintf(f, "NestedUserNamespaces=%s\n", s->deny_nested_userns ? "no" : "yes");
        /* issue 17 */
        if (s->boot)
                fprintf(f, "BootTarget=%s\n", s->lean_boot ? "lean" : "default");

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
