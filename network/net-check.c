/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-netctl check (and so sandyctl doctor): are the egress tables in force what is on record? The
 * recorded scripts are applied in a scratch namespace and both listings compared, with the elements of each
 * set sorted (hash sets list in no fixed order) and the addresses the strict resolvers learned left out.
 * One line per table: "host|sandbox NAME  ok|missing|tampered|unknown|unchecked  DETAIL"; and one per
 * forwarding setting sandy changed: "forwarding PATH OLD -> NOW". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "string-util.h"
#include "strv.h"

#define T "inet " SANDY_NFT_TABLE

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The listing, with every "elements = { ... }" sorted, dom sets' elements dropped, whitespace folded. */
static char *normalize(const char *listing) {
        _cleanup_free_ char *out = NULL, *copy = strdup(listing);
        bool dom = false;

        if (!copy)
                return NULL;
        for (char *p = copy; *p;) {
                char *nl = strchr(p, '\n');
                if (nl)
                        *nl = 0;
                char *line = strstrip(p);
                if (startswith(line, "set "))
                        dom = startswith(line, "set dom");
                char *e = strstr(line, "elements = {");
                if (e) {
                        /* Gather up to the closing brace, over lines. */
                        _cleanup_free_ char *body = NULL;
                        char *rest = e + strlen("elements = {");
                        for (;;) {
                                char *close = strchr(rest, '}');
                                if (strextendf(&body, "%.*s,",
                                               close ? (int)(close - rest) : (int)strlen(rest), rest) < 0)
                                        return NULL;
                                if (close || !nl)
                                        break;
                                p = nl + 1;
                                nl = strchr(p, '\n');
                                if (nl)
                                        *nl = 0;
                                rest = p;
                        }
                        _cleanup_strv_free_ char **items = NULL;
                        for (char *tok = strtok(body, ","); tok; tok = strtok(NULL, ","))
                                if (!isempty(strstrip(tok)) && strv_extend(&items, strstrip(tok)) < 0)
                                        return NULL;
                        size_t n = strv_length(items);
                        if (n > 0)
                                qsort(items, n, sizeof(char *), cmp_str);
                        /* What a resolver learned is not on record. */
                        if (!dom && strextendf(&out, "elements:") < 0)
                                return NULL;
                        for (size_t i = 0; !dom && i < n; i++)
                                if (strextendf(&out, " %s", items[i]) < 0)
                                        return NULL;
                        if (!dom && strextendf(&out, "\n") < 0)
                                return NULL;
                } else if (!isempty(line) && strextendf(&out, "%s\n", line) < 0)
                        return NULL;
                if (!nl)
                        break;
                p = nl + 1;
        }
        return TAKE_PTR(out);
}

/* The listing of "inet sandy" after applying script in a scratch namespace. */
static int expected_listing(const char *script, char **ret) {
        _cleanup_close_ int fd = -EBADF;
        int r = netns_new(&fd);
        if (r < 0)
                return r;
        r = nft_apply_in(fd, script);
        if (r < 0)
                return r;
        return nft_query_in(fd, "list table " T, ret);
}

/* The first line that differs, for the report. */
static char *first_difference(const char *want, const char *have) {
        const char *a = want, *b = have;
        char *r = NULL;
        while (*a && *b) {
                size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
                if (la != lb || strncmp(a, b, la) != 0) {
                        (void)xasprintf(&r, "expected \"%.*s\", found \"%.*s\"", (int)(la < 120 ? la : 120),
                                        a, (int)(lb < 120 ? lb : 120), b);
                        return r;
                }
                a += la + (a[la] ? 1 : 0);
                b += lb + (b[lb] ? 1 : 0);
        }
        (void)xasprintf(&r, "%s", *a ? "rules or elements are missing" : "there is more than on record");
        return r;
}

static bool compare(FILE *out, const char *what, const char *script, int netns_fd) {
        _cleanup_free_ char *want = NULL, *have = NULL, *nw = NULL, *nh = NULL;
        int r;

        r = nft_query_in(netns_fd, "list table " T, &have);
        if (r < 0) {
                fprintf(out, "%s missing table inet " SANDY_NFT_TABLE " is gone\n", what);
                return false;
        }
        r = expected_listing(script, &want);
        if (r < 0) {
                fprintf(out, "%s unknown cannot render what is on record (%s)\n", what, strerror(-r));
                return false;
        }
        nw = normalize(want);
        nh = normalize(have);
        if (!nw || !nh) {
                fprintf(out, "%s unknown out of memory\n", what);
                return false;
        }
        if (streq(nw, nh)) {
                fprintf(out, "%s ok as on record\n", what);
                return true;
        }
        _cleanup_free_ char *d = first_difference(nw, nh);
        fprintf(out, "%s tampered %s\n", what, d ?: "differs from the record");
        return false;
}

int network_check(FILE *out) {
        _cleanup_strv_free_ char **names = NULL, **a4 = NULL, **a6 = NULL;
        _cleanup_free_ char *host = NULL, *fw = NULL, *skel = NULL;
        SandyConfig c = {};
        NetAddrs pools = {};
        NetForwardGuard guard = {};
        bool ok = true;
        int r;

        r = net_state_names(&names);
        if (r < 0)
                return log_error_errno(r, "Failed to list %s: %m", SANDY_NET_DIR);
        (void)sandy_config_load(NULL, &c);
        net_pool_strings(&c, &pools);
        sandy_config_done(&c);
        net_forwarding_guard(&guard);
        if (nft_host_skeleton(&pools, &guard, &skel) < 0 || strextendf(&host, "%s", skel) < 0)
                return log_oom();
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *e = NULL;
                if (net_state_read(*n, SANDY_NFT_HOST_FILE, &e) >= 0 && strextendf(&host, "%s", e) < 0)
                        return log_oom();
        }
        if (strv_isempty(names) && !nft_table_exists())
                fprintf(out, "host ok no sandbox network is set up\n");
        else
                ok = compare(out, "host", host, -1) && ok;

        (void)net_host_addresses(&a4, &a6);
        STRV_FOREACH (n, names) {
                _cleanup_free_ char *inner = NULL, *hosts = NULL, *script = NULL, *what = NULL;
                _cleanup_close_ int fd = netns_open_pin(*n);
                if (xasprintf(&what, "sandbox %s", *n) < 0)
                        return log_oom();
                if (fd < 0) {
                        /* Not a sandbox of sandy-net@ (a build network, held by sandy-helper alone), or
                         * going away: the helper guards it, this cannot look. */
                        fprintf(out, "%s unchecked its namespace is not pinned (%s)\n", what, strerror(-fd));
                        continue;
                }
                if (net_state_read(*n, SANDY_NFT_INNER_FILE, &inner) < 0 ||
                    nft_inner_hostaddrs(a4, a6, &hosts) < 0 ||
                    xasprintf(&script, "%s%s", inner, hosts) < 0) {
                        fprintf(out, "%s unknown its rules are not on record\n", what);
                        ok = false;
                        continue;
                }
                ok = compare(out, what, script, fd) && ok;
        }

        if (read_full_file(SANDY_FORWARDING_FILE, 1024 * 1024, &fw, NULL) >= 0)
                for (char *line = strtok(fw, "\n"); line; line = strtok(NULL, "\n")) {
                        _cleanup_free_ char *now = NULL;
                        char *sp = strrchr(line, ' ');
                        if (!sp)
                                continue;
                        *sp = 0;
                        (void)read_full_file(line, 64, &now, NULL);
                        fprintf(out, "forwarding %s %s -> %s\n", line, sp + 1, now ? strstrip(now) : "?");
                }
        return ok ? 0 : 1;
}
