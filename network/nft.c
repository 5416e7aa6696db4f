/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running nft scripts with libnftables, in the host's network namespace or in a sandbox's. A script is one
 * netlink transaction: it applies whole or not at all. */
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "net-internal.h"
#include "string-util.h"
#include "strv.h"

int memstream_finish(FILE **f, char **buf, char **ret) {
        int r = ferror(*f) ? -ENOMEM : 0;
        if (fclose(*f) != 0 && r == 0)
                r = -errno;
        *f = NULL;
        if (r < 0) {
                *buf = mfree(*buf);
                return r;
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

static struct nft_ctx *ctx_new(void) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (ctx && (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)) {
                nft_ctx_free(ctx);
                ctx = NULL;
        }
        return ctx;
}

/* libnftables opens its netlink socket in nft_ctx_new(): a context made inside a namespace works there. One
 * context for the host's namespace (creating one costs more than a small batch), a fresh one per call for
 * a sandbox's. */
static struct nft_ctx *ctx_get(int netns_fd) {
        static struct nft_ctx *host = NULL;
        struct nft_ctx *ctx;

        if (netns_fd < 0) {
                if (!host)
                        host = ctx_new();
                return host;
        }
        if (netns_enter(netns_fd) < 0)
                return NULL;
        ctx = ctx_new();
        netns_leave();
        return ctx;
}

static void ctx_put(int netns_fd, struct nft_ctx *ctx) {
        if (netns_fd >= 0 && ctx)
                nft_ctx_free(ctx);
}

int nft_apply_in(int netns_fd, const char *script) {
        struct nft_ctx *ctx = ctx_get(netns_fd);
        if (!ctx)
                return log_error_errno(errno ?: ENOMEM, "Failed to open libnftables%s: %m",
                                       netns_fd >= 0 ? " in a sandbox's namespace" : "");
        int r = nft_run_cmd_from_buffer(ctx, script);
        const char *err = nft_ctx_get_error_buffer(ctx);
        (void)nft_ctx_get_output_buffer(ctx);
        if (r != 0) {
                log_error("nft batch failed%s, nothing was changed: %s",
                          netns_fd >= 0 ? " in a sandbox's namespace" : "",
                          isempty(err) ? "(no message)" : err);
                log_debug("The batch was:\n%s", script);
        }
        ctx_put(netns_fd, ctx);
        return r != 0 ? -EIO : 0;
}

int nft_apply(const char *script) {
        return nft_apply_in(-1, script);
}

int nft_query_in(int netns_fd, const char *cmd, char **ret) {
        struct nft_ctx *ctx = ctx_get(netns_fd);
        int r;

        if (!ctx)
                return -ENOMEM;
        r = nft_run_cmd_from_buffer(ctx, cmd);
        const char *out = nft_ctx_get_output_buffer(ctx);
        (void)nft_ctx_get_error_buffer(ctx);
        if (r != 0)
                r = -ENOENT;
        else if (ret && !(*ret = strdup(out ?: "")))
                r = -ENOMEM;
        ctx_put(netns_fd, ctx);
        return r;
}

int nft_query(const char *cmd, char **ret) {
        return nft_query_in(-1, cmd, ret);
}

bool nft_table_exists(void) {
        return nft_query("list chain inet " SANDY_NFT_TABLE " egress", NULL) == 0;
}

int nft_set_elements(int netns_fd, const char *set, char ***ret) {
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        if (xasprintf(&cmd, "list set inet " SANDY_NFT_TABLE " %s", set) < 0)
                return -ENOMEM;
        r = nft_query_in(netns_fd, cmd, &out);
        if (r < 0)
                return r;
        char *e = strstr(out, "elements = {");
        if (e) {
                e += strlen("elements = {");
                char *end = strchr(e, '}');
                if (end)
                        *end = 0;
                for (char *tok = strtok(e, ",\n\t "); tok; tok = strtok(NULL, ",\n\t "))
                        /* "ADDR expires 59m2s416ms" or "ADDR timeout 1h expires ...": keep the addresses. */
                        if ((strchr(tok, '.') || strchr(tok, ':')) &&
                            strspn(tok, "0123456789abcdef.:/") == strlen(tok) && strv_extend(&l, tok) < 0)
                                return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
