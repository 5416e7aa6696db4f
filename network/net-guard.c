/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Self-healing, in sandy-helper: nftables' netlink notifications (the same stream as "nft monitor") of the
 * host's namespace and of every sandbox's, and rtnetlink address and route changes of the host.
 *
 * A transaction that touches an "inet sandy" table and was not made by sandy-helper (the process name in
 * the NEWGEN message that ends each transaction) gets that table rebuilt from what is on record
 * (SANDY_NET_DIR/NAME/host.nft, inner.nft), 50 ms after the first such message, in one transaction: "nft
 * flush ruleset", nftables.service restarts, firewalld and ufw reloads, "nft delete table inet sandy" or a
 * rule added by hand are undone within that time, and no sandbox is restarted. In a sandbox's namespace the
 * addresses its resolver adds to the dom sets are expected and ignored, and kept across a rebuild.
 * This catches every tool alike, where hooks on nftables.service would only catch that one unit.
 * Address changes of the host update the hostaddr sets in every sandbox's namespace; a new default route
 * gets forwarding (net-forward.c). */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "string-util.h"
#include "strv.h"

/* linux/netfilter.h clashes with netinet/in.h. */
#ifndef NFPROTO_INET
#define NFPROTO_INET 1
#endif

#define RESTORE_DELAY_USEC (50 * 1000ULL)
#define RTNL_DELAY_USEC (200 * 1000ULL)
/* More restores than this in RATE_WINDOW: something keeps changing the table; slow down, keep going. */
#define RATE_MAX 20
#define RATE_WINDOW_USEC (10 * 1000000ULL)

typedef struct Watch {
        char *name; /* NULL: the host's namespace */
        int fd;
        sd_event_source *io;
        bool touched; /* a message of the current transaction touched our table */
        bool pending; /* a rebuild is due */
        char who[64]; /* who changed it, for the log */
        uint64_t window_start;
        unsigned restores;
} Watch;

static sd_event *event;
static Watch host;
static Watch **watches;
static size_t n_watches;
static sd_event_source *restore_timer, *rtnl_timer, *rtnl_io;
static int rtnl_fd = -EBADF;
static char self_comm[16];

static uint64_t now_usec(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t)t.tv_sec * 1000000ULL + (uint64_t)t.tv_nsec / 1000;
}

/* ---- netlink sockets */

static int nft_monitor_socket(int netns_fd) {
        int fd, group = NFNLGRP_NFTABLES, size = 4 * 1024 * 1024, r = 0;

        if (netns_fd >= 0) {
                r = netns_enter(netns_fd);
                if (r < 0)
                        return r;
        }
        fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
        if (fd < 0)
                r = -errno;
        if (netns_fd >= 0)
                netns_leave();
        if (r < 0)
                return r;
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        /* A flush of a big ruleset is a burst; an overflow is handled (as a change) anyway. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        return fd;
}

/* ---- restoring */

static int arm(sd_event_source **s, uint64_t delay, sd_event_time_handler_t cb) {
        int r;
        if (*s) {
                int enabled = SD_EVENT_OFF;
                (void)sd_event_source_get_enabled(*s, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return 0; /* already due: a burst is restored once, not later and later */
                r = sd_event_source_set_time_relative(*s, delay);
                if (r >= 0)
                        r = sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
                return r;
        }
        return sd_event_add_time_relative(event, s, CLOCK_MONOTONIC, delay, 1000, cb, NULL);
}

static bool rate_ok(Watch *w) {
        uint64_t t = now_usec();
        if (t - w->window_start > RATE_WINDOW_USEC) {
                w->window_start = t;
                w->restores = 0;
        }
        if (w->restores >= RATE_MAX) {
                if (w->restores++ == RATE_MAX)
                        log_error("The table inet " SANDY_NFT_TABLE
                                  " of %s%s keeps being changed (last by %s); "
                                  "restoring it less often for a while.",
                                  w->name ? "sandbox " : "the host", w->name ?: "", w->who);
                return false;
        }
        w->restores++;
        return true;
}

static int on_restore(sd_event_source *s, uint64_t usec, void *userdata);

static void restore_one(Watch *w) {
        int r;

        if (!rate_ok(w)) {
                (void)arm(&restore_timer, 2000000ULL, on_restore);
                return;
        }
        w->pending = false;
        if (!w->name) {
                _cleanup_strv_free_ char **names = NULL;
                if (net_state_names(&names) < 0 || strv_isempty(names))
                        return; /* no sandbox: nothing to protect */
                r = net_host_rebuild();
                if (r < 0)
                        log_error_errno(r, "Restoring the host's table inet " SANDY_NFT_TABLE " failed: %m");
                else
                        log_warning("The host's table inet " SANDY_NFT_TABLE
                                    " was changed or removed by %s; "
                                    "restored.",
                                    w->who);
                return;
        }
        int fd = netns_held_fd(w->name);
        if (fd < 0)
                return;
        r = net_inner_apply(w->name, fd, true);
        if (r < 0)
                log_error_errno(r, "Restoring the table inet " SANDY_NFT_TABLE " of sandbox %s failed: %m",
                                w->name);
        else
                log_warning("The table inet " SANDY_NFT_TABLE
                            " in the namespace of sandbox %s was changed or "
                            "removed by %s; restored.",
                            w->name, w->who);
}

static int on_restore(sd_event_source *s, uint64_t usec, void *userdata) {
        if (host.pending)
                restore_one(&host);
        for (size_t i = 0; i < n_watches; i++)
                if (watches[i]->pending)
                        restore_one(watches[i]);
        return 0;
}

/* ---- nftables messages */

typedef struct Attrs {
        const char *table, *set, *proc_name;
        uint32_t proc_pid;
} Attrs;

static int attr_cb(const struct nlattr *a, void *data) {
        const struct nlattr **tb = data;
        unsigned t = mnl_attr_get_type(a);
        if (t < 4)
                tb[t] = a;
        return MNL_CB_OK;
}

/* Everything queued on the netlink socket fd, each message to fn, in order; on_lost where the kernel dropped
 * messages (ENOBUFS). Returns at EAGAIN. */
static void netlink_drain(int fd, void (*fn)(const struct nlmsghdr *nlh, void *userdata),
                          void (*on_lost)(void *userdata), void *userdata) {
        char buf[65536] __attribute__((aligned(NLMSG_ALIGNTO)));

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                on_lost(userdata);
                                continue;
                        }
                        break; /* EAGAIN */
                }
                int len = (int)n;
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        fn(nlh, userdata);
        }
}

static void handle_nft(const struct nlmsghdr *nlh, void *userdata) {
        Watch *w = userdata;
        const struct nlattr *tb[4] = {};
        const struct nfgenmsg *g;
        unsigned type;

        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return;
        type = NFNL_MSG_TYPE(nlh->nlmsg_type);
        if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0)
                return;
        g = mnl_nlmsg_get_payload(nlh);

        if (type == NFT_MSG_NEWGEN) {
                /* The end of a transaction: who made it. */
                const char *name = tb[NFTA_GEN_PROC_NAME] ? mnl_attr_get_str(tb[NFTA_GEN_PROC_NAME]) : "?";
                uint32_t pid = tb[NFTA_GEN_PROC_PID] ? ntohl(mnl_attr_get_u32(tb[NFTA_GEN_PROC_PID])) : 0;
                if (w->touched && !streq(name, self_comm)) {
                        snprintf(w->who, sizeof w->who, "%s (PID %u)", name, pid);
                        w->pending = true;
                        (void)arm(&restore_timer, RESTORE_DELAY_USEC, on_restore);
                }
                w->touched = false;
                return;
        }
        /* Attribute 1 is the table's name in every kind of object message. */
        if (g->nfgen_family != NFPROTO_INET || !tb[1] || !streq(mnl_attr_get_str(tb[1]), SANDY_NFT_TABLE))
                return;
        /* In a sandbox: its resolver adds (and timeouts remove) what it learned. Expected. */
        if (w->name && IN_SET(type, NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM) && tb[NFTA_SET_ELEM_LIST_SET] &&
            startswith(mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_SET]), "dom"))
                return;
        w->touched = true;
}

static void nft_lost(void *userdata) {
        Watch *w = userdata;

        /* Messages were lost: assume the worst. */
        snprintf(w->who, sizeof w->who, "a burst of changes");
        w->pending = true;
        (void)arm(&restore_timer, RESTORE_DELAY_USEC, on_restore);
}

static int on_nft(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        netlink_drain(fd, handle_nft, nft_lost, userdata);
        return 0;
}

/* ---- the host's addresses and routes */

static bool rtnl_relevant(const struct nlmsghdr *nlh) {
        char name[IF_NAMESIZE] = "";
        unsigned idx = 0;

        switch (nlh->nlmsg_type) {
        case RTM_NEWADDR:
        case RTM_DELADDR:
                idx = ((const struct ifaddrmsg *)NLMSG_DATA(nlh))->ifa_index;
                break;
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
                /* Default routes only. */
                return ((const struct rtmsg *)NLMSG_DATA(nlh))->rtm_dst_len == 0;
        default:
                return false;
        }
        /* A sandbox link's addresses are in the pool, which no sandbox reaches anyway. */
        return !if_indextoname(idx, name) || !startswith(name, SANDY_IFNAME_PREFIX);
}

static int on_rtnl_settled(sd_event_source *s, uint64_t usec, void *userdata) {
        _cleanup_strv_free_ char **a4 = NULL, **a6 = NULL;
        _cleanup_free_ char *script = NULL;

        net_forwarding_refresh();
        net_host_addresses_invalidate();
        if (net_host_addresses(&a4, &a6) < 0 || nft_inner_hostaddrs(a4, a6, &script) < 0)
                return 0;
        for (size_t i = 0; i < n_watches; i++) {
                int fd = netns_held_fd(watches[i]->name);
                if (fd >= 0 && nft_apply_in(fd, script) < 0)
                        log_warning("Failed to update the host's addresses in the rules of sandbox %s.",
                                    watches[i]->name);
        }
        return 0;
}

static void rtnl_note(const struct nlmsghdr *nlh, void *userdata) {
        bool *relevant = userdata;
        *relevant = *relevant || rtnl_relevant(nlh);
}

static void rtnl_lost(void *userdata) {
        *(bool *)userdata = true;
}

static int on_rtnl(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        bool relevant = false;

        netlink_drain(fd, rtnl_note, rtnl_lost, &relevant);
        if (relevant)
                (void)arm(&rtnl_timer, RTNL_DELAY_USEC, on_rtnl_settled);
        return 0;
}

/* ---- watching */

static int watch_open(Watch *w, int netns_fd) {
        int r;

        w->fd = nft_monitor_socket(netns_fd);
        if (w->fd < 0)
                return w->fd;
        r = sd_event_add_io(event, &w->io, w->fd, EPOLLIN, on_nft, w);
        if (r < 0) {
                w->fd = safe_close(w->fd);
                return r;
        }
        return 0;
}

static void watch_close(Watch *w) {
        w->io = sd_event_source_disable_unref(w->io);
        w->fd = safe_close(w->fd);
}

void net_guard_watch(const char *name, int netns_fd) {
        Watch *w;
        int r;

        if (!event)
                return; /* not in sandy-helper */
        net_guard_unwatch(name);
        w = new0(Watch, 1);
        if (!w || !(w->name = strdup(name))) {
                free(w);
                log_oom();
                return;
        }
        r = watch_open(w, netns_fd);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch the rules of sandbox %s, they are not self-healing: %m",
                                  name);
                free(w->name);
                free(w);
                return;
        }
        Watch **n = realloc(watches, sizeof(Watch *) * (n_watches + 1));
        if (!n) {
                watch_close(w);
                free(w->name);
                free(w);
                log_oom();
                return;
        }
        watches = n;
        watches[n_watches++] = w;
}

void net_guard_unwatch(const char *name) {
        for (size_t i = 0; i < n_watches; i++)
                if (streq(watches[i]->name, name)) {
                        watch_close(watches[i]);
                        free(watches[i]->name);
                        free(watches[i]);
                        watches[i] = watches[--n_watches];
                        return;
                }
}

bool network_guarding(void) {
        return n_watches > 0;
}

int network_guard_start(void) {
        FILE *f;
        int r;

        if (event)
                return 0;
        r = sd_event_default(&event);
        if (r < 0)
                return r;
        f = fopen("/proc/self/comm", "re");
        if (f) {
                if (fgets(self_comm, sizeof self_comm, f))
                        self_comm[strcspn(self_comm, "\n")] = 0;
                fclose(f);
        }
        r = watch_open(&host, -1);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the host's nftables: %m");

        rtnl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        struct sockaddr_nl sa = {
                        .nl_family = AF_NETLINK,
                        .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE |
                                     RTMGRP_IPV6_ROUTE,
        };
        if (rtnl_fd < 0 || bind(rtnl_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
            sd_event_add_io(event, &rtnl_io, rtnl_fd, EPOLLIN, on_rtnl, NULL) < 0)
                log_warning_errno(errno,
                                  "Cannot watch the host's addresses; the sandboxes' rules keep the ones "
                                  "of their start: %m");
        return 0;
}
