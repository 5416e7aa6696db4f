/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Setting up and removing the network of one sandbox, step by step: address slot, namespace, resolver files,
 * nft rules, links. The namespace is held by this process (netns_hold()); sandy-netctl pins it. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "string-util.h"

/* ---- nft */

static bool skeleton_done = false;

static int nft_apply_with_skeleton(const char *script, const SandyConfig *c) {
        _cleanup_free_ char *skel = NULL, *both = NULL;
        NetAddrs pools = {};
        int r;

        if (skeleton_done || nft_table_exists()) {
                skeleton_done = true;
                return nft_apply(script);
        }
        net_pool_strings(c, &pools);
        r = nft_skeleton_script(&pools, &skel);
        if (r < 0)
                return r;
        /* The table and the sandbox's rules in one transaction: no half state. */
        if (xasprintf(&both, "%s%s", skel, script) < 0)
                return -ENOMEM;
        r = nft_apply(both);
        if (r >= 0)
                skeleton_done = true;
        return r;
}

int network_ensure_table(void) {
        SandyConfig c = {};
        int r = sandy_config_load(NULL, &c);
        if (r >= 0)
                r = nft_apply_with_skeleton("", &c);
        sandy_config_done(&c);
        return r;
}

/* ---- steps */

static int step_rules(const Sandbox *s, const SandyConfig *c, const char *ifname, const NetAddrs *a) {
        _cleanup_free_ char *rules = NULL;
        int r = nft_sandbox_script(s, ifname, a, &rules);
        if (r < 0)
                return r;
        return nft_apply_with_skeleton(rules, c);
}

static int step_namespace(const char *name, int *ret_fd) {
        int fd, r = netns_new(&fd);
        if (r < 0)
                return r;
        r = netns_hold(name, fd);
        if (r < 0) {
                safe_close(fd);
                return log_oom();
        }
        *ret_fd = fd;
        return 0;
}

int network_setup(const Sandbox *s) {
        SandyConfig c = {};
        char ifname[IFNAMSIZ];
        NetAddrs a;
        unsigned slot = 0;
        int nsfd, r;

        /* host: nothing of ours. none: nspawn's Private=yes gives loopback only. */
        if (!IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT))
                return 0;

        r = sandy_config_load(NULL, &c);
        if (r < 0)
                goto finish;
        /* Whatever a crashed earlier run left behind; the new rules need a clean slate. */
        r = network_teardown(s->name);
        if (r < 0)
                goto finish;

        net_ifname(s->name, ifname);
        r = net_slot_allocate(&c, s->name, &slot);
        if (r < 0)
                goto finish;
        r = net_addrs_for_slot(&c, slot, &a);
        if (r < 0)
                goto fail;
        r = step_namespace(s->name, &nsfd);
        if (r < 0)
                goto fail;
        r = net_forwarding_enable(a.ipv6);
        if (r < 0)
                goto fail;
        r = resolver_write_files(s, &c, &a);
        if (r < 0)
                goto fail;
        /* Rules before the link exists: nothing passes unfiltered, ever. */
        r = step_rules(s, &c, ifname, &a);
        if (r < 0)
                goto fail;
        r = net_link_create(nsfd, ifname, &a);
        if (r < 0)
                goto fail;

        log_info("Sandbox %s: link %s, %s <-> %s%s%s, Mode=%s.", s->name, ifname, a.host4, a.sandbox4,
                 a.ipv6 ? ", " : "", a.ipv6 ? a.sandbox6 : "", network_mode_to_string(s->network_mode));
        r = 0;
        goto finish;

fail:
        (void) network_teardown(s->name);
finish:
        sandy_config_done(&c);
        return r;
}

int network_teardown(const char *name) {
        _cleanup_free_ char *rules = NULL, *slotp = NULL;
        char ifname[IFNAMSIZ];
        unsigned slot = 0;
        int r, ret = 0;

        if (!sandbox_name_is_valid(name))
                return -EINVAL;
        net_ifname(name, ifname);

        r = net_link_delete(ifname);
        if (r < 0)
                ret = r;
        if (nft_table_exists()) {
                r = nft_sandbox_remove_script(name, ifname, true, &rules);
                if (r >= 0)
                        r = nft_apply(rules);
                if (r < 0)
                        ret = r;
        }
        /* The namespace itself goes with the last of its holders: this process, the pin, nspawn. */
        netns_release(name);
        resolver_remove_files(name);

        if (network_slot_of(name, &slot) >= 0 && net_slot_path(slot, &slotp) >= 0)
                (void) unlink(slotp);
        return ret;
}
