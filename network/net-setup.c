/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Setting up and removing the network of one sandbox, step by step: address slot, policy, the rules of both
 * layers (on record first, then applied: the sandbox's own table before its namespace has a link, the host's
 * elements before the link exists), resolver files, links, forwarding, the guard. The namespace is held by
 * this process (netns_hold()); sandy-netctl pins it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "fs-util.h"
#include "path-util.h"
#include "string-util.h"

static int resolver_uid(bool strict, uid_t *ret) {
        struct passwd pw, *res = NULL;
        char buf[4096];

        *ret = 0;
        if (!strict)
                return 0;
        /* The rules in the sandbox's namespace let only this user ask the host side's resolver. */
        int r = getpwnam_r(SANDY_DNS_USER, &pw, buf, sizeof buf, &res);
        if (r != 0 || !res)
                return log_error_errno(r ?: ENOENT,
                                       "User %s does not exist (systemd-sysusers creates it); Mode=strict "
                                       "needs it: %m",
                                       SANDY_DNS_USER);
        *ret = res->pw_uid;
        return 0;
}

/* The policy of s rendered and put on record (SANDY_NET_DIR/NAME/host.nft, inner.nft). */
static int step_record(const Sandbox *s, const char *ifname, const NetAddrs *a, NetPolicy *p,
                       char **ret_elements) {
        _cleanup_free_ char *elements = NULL, *inner = NULL;
        uid_t uid;
        int r;

        r = resolver_uid(s->network_mode == NETWORK_STRICT, &uid);
        if (r < 0)
                return r;
        r = net_policy_from_sandbox(s, ifname, a, uid, p);
        if (r < 0)
                return r;
        if (nft_host_elements(p, &elements) < 0 || nft_inner_script(p, &inner) < 0)
                return log_oom();
        r = net_state_write(s->name, SANDY_NFT_INNER_FILE, inner);
        if (r >= 0)
                r = net_state_write(s->name, SANDY_NFT_HOST_FILE, elements);
        if (r < 0)
                return r;
        *ret_elements = TAKE_PTR(elements);
        return 0;
}

/* Setup and teardown of any sandbox, in the helper or in sandy-netctl --direct (ExecStopPost=), one at a
 * time: slots, the forwarding record and the last-one-out check must not interleave. */
static int net_lock(void) {
        int r = mkdir_p(SANDY_NET_DIR, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_NET_DIR);
        int fd = open(SANDY_NET_DIR "/_lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s/_lock: %m", SANDY_NET_DIR);
        if (flock(fd, LOCK_EX) < 0) {
                r = log_error_errno(errno, "Failed to lock %s/_lock: %m", SANDY_NET_DIR);
                close(fd);
                return r;
        }
        return fd;
}

static int teardown_locked(const char *name);

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
        _cleanup_close_ int lock = -EBADF;
        _cleanup_free_ char *elements = NULL;
        NetPolicy p = {};
        SandyConfig c = {};
        char ifname[IFNAMSIZ];
        NetAddrs a;
        unsigned slot = 0;
        int nsfd, r;

        /* host: nothing of ours. none: nspawn's Private=yes gives loopback only. */
        if (!IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT))
                return 0;

        lock = net_lock();
        if (lock < 0)
                return lock;
        r = sandy_config_load(NULL, &c);
        if (r < 0)
                goto finish;
        /* Whatever a crashed earlier run left behind; the new rules need a clean slate. */
        r = teardown_locked(s->name);
        if (r < 0)
                goto finish;

        net_ifname(s->name, ifname);
        r = net_slot_allocate(&c, s->name, &slot);
        if (r < 0)
                goto finish;
        r = net_addrs_for_slot(&c, slot, &a);
        if (r < 0)
                goto fail;
        r = step_record(s, ifname, &a, &p, &elements);
        if (r < 0)
                goto fail;
        r = step_namespace(s->name, &nsfd);
        if (r < 0)
                goto fail;
        /* Rules before links: nothing passes unfiltered, ever. */
        r = net_inner_apply(s->name, nsfd, false);
        if (r < 0)
                goto fail;
        r = net_host_add(elements);
        if (r < 0)
                goto fail;
        r = resolver_write_files(&p, &c);
        if (r < 0)
                goto fail;
        r = net_link_create(nsfd, ifname, &a);
        if (r < 0)
                goto fail;
        r = net_forwarding_add(ifname, a.ipv6);
        if (r < 0)
                goto fail;
        net_guard_watch(s->name, nsfd);

        log_info("Sandbox %s: link %s, %s <-> %s%s%s, Mode=%s.", s->name, ifname, a.host4, a.sandbox4,
                 a.ipv6 ? ", " : "", a.ipv6 ? a.sandbox6 : "", network_mode_to_string(s->network_mode));
        r = 0;
        goto finish;

fail:
        (void)teardown_locked(s->name);
finish:
        net_policy_done(&p);
        sandy_config_done(&c);
        return r;
}

static bool slots_empty(void) {
        DIR *d = opendir(SANDY_NET_ALLOC_DIR);
        bool empty = true;

        if (!d)
                return errno == ENOENT;
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] != '.')
                        empty = false;
        closedir(d);
        return empty;
}

int network_teardown(const char *name) {
        _cleanup_close_ int lock = -EBADF;

        if (!sandbox_name_is_valid(name))
                return -EINVAL;
        lock = net_lock();
        if (lock < 0)
                return lock;
        return teardown_locked(name);
}

static int teardown_locked(const char *name) {
        _cleanup_free_ char *elements = NULL, *host = NULL, *slotp = NULL;
        char ifname[IFNAMSIZ];
        unsigned slot = 0;
        int r, ret = 0;

        if (!sandbox_name_is_valid(name))
                return -EINVAL;
        net_ifname(name, ifname);
        net_guard_unwatch(name);

        /* Off the record first, so that no rebuild of the host's table brings the elements back. */
        host = sandbox_net_path(name, SANDY_NFT_HOST_FILE);
        if (!host)
                return -ENOMEM;
        if (net_state_read(name, SANDY_NFT_HOST_FILE, &elements) >= 0) {
                _cleanup_free_ char *rm = NULL;
                (void)unlink(host);
                if (nft_table_exists()) {
                        r = nft_host_elements_remove(elements, &rm);
                        if (r >= 0)
                                r = nft_apply(rm);
                        if (r < 0)
                                ret = r;
                }
        }
        r = net_link_delete(ifname);
        if (r < 0)
                ret = r;
        /* The namespace itself goes with the last of its holders: this process, the pin, nspawn. */
        netns_release(name);
        resolver_remove_files(name);
        net_state_remove(name);

        if (network_slot_of(name, &slot) >= 0 && net_slot_path(slot, &slotp) >= 0)
                (void)unlink(slotp);
        if (slots_empty())
                net_forwarding_release();
        return ret;
}
