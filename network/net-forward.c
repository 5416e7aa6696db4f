/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* IP forwarding for sandbox traffic, turned on as little as sandboxes need, announced in the journal (and by
 * sandyctl doctor, which reads SANDY_FORWARDING_FILE), and put back as it was when the last sandbox is gone.
 *
 * IPv4: the kernel decides per input interface (net.ipv4.conf.IF.forwarding). A sandbox's packets come in
 * on its sb- link, their replies on the interface of the default route: only these get forwarding=1, and
 * net.ipv4.ip_forward (all interfaces) stays as it was.
 * IPv6: before Linux 6.17 only net.ipv6.conf.all.forwarding lets the kernel forward; turning it on also
 * turns every interface into a router (no more router advertisements accepted), so each interface's own
 * value is put back right after. With net.ipv6.conf.IF.force_forwarding (6.17) it is per interface, as for
 * IPv4.
 * Whatever sandy turned on, the forward chain of the host's table drops every forwarded packet that neither
 * comes from nor goes to a sandbox link (nft-host.c, NetForwardGuard).
 * A host that forwards already (a router, a container host) is left alone: nothing to announce or undo.
 *
 * SANDY_FORWARDING_FILE: one line per setting changed, "PATH OLD-VALUE", in the order changed. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "string-util.h"
#include "strv.h"

#define V4 "/proc/sys/net/ipv4/"
#define V6 "/proc/sys/net/ipv6/"

static int read_value(const char *path, char **ret) {
        _cleanup_free_ char *v = NULL;
        int r = read_full_file(path, 64, &v, NULL);
        if (r < 0)
                return r;
        v[strcspn(v, "\n")] = 0;
        *ret = TAKE_PTR(v);
        return 0;
}

static int write_value(const char *path, const char *value) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                return -errno;
        return 0;
}

static bool is_one(const char *path) {
        _cleanup_free_ char *v = NULL;
        return read_value(path, &v) >= 0 && streq(v, "1");
}

/* The record: "PATH OLD" lines. */
static char **load_record(void) {
        _cleanup_free_ char *text = NULL;
        char **l = NULL;

        if (read_full_file(SANDY_FORWARDING_FILE, 1024 * 1024, &text, NULL) < 0)
                return NULL;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                if (strchr(line, ' ') && strv_extend(&l, line) < 0)
                        break;
        return l;
}

static bool recorded(char *const *rec, const char *path) {
        STRV_FOREACH (e, rec)
                if (startswith(*e, path) && (*e)[strlen(path)] == ' ')
                        return true;
        return false;
}

static bool recorded_under(char *const *rec, const char *dir) {
        STRV_FOREACH (e, rec)
                if (startswith(*e, dir))
                        return true;
        return false;
}

static int append_record(const char *path, const char *old) {
        _cleanup_free_ char *text = NULL, *line = NULL;
        (void)read_full_file(SANDY_FORWARDING_FILE, 1024 * 1024, &text, NULL);
        if (xasprintf(&line, "%s%s %s\n", text ?: "", path, old) < 0)
                return -ENOMEM;
        (void)mkdir_p(SANDY_NET_DIR, 0755);
        return write_file_atomic(SANDY_FORWARDING_FILE, line, strlen(line), 0644);
}

/* Change path to value, keeping the old value on record first; announced. */
static int change(const char *path, const char *value, const char *why) {
        _cleanup_strv_free_ char **rec = load_record();
        _cleanup_free_ char *old = NULL;
        int r;

        r = read_value(path, &old);
        if (r < 0)
                return r;
        if (streq(old, value))
                return 0;
        if (!recorded(rec, path)) {
                r = append_record(path, old);
                if (r < 0)
                        return log_error_errno(r, "Failed to record %s: %m", SANDY_FORWARDING_FILE);
        }
        /* The guard before the switch: never a moment in which the host routes for others. */
        r = nft_apply(startswith(path, V4) ? "add element inet " SANDY_NFT_TABLE " fwguard { ipv4 }\n"
                                           : "add element inet " SANDY_NFT_TABLE " fwguard { ipv6 }\n");
        if (r < 0)
                return r;
        r = write_value(path, value);
        if (r < 0)
                return r;
        log_notice("Host forwarding changed for sandboxes: %s %s -> %s (%s). It is put back when no sandbox "
                   "runs; forwarded traffic not from or to a sandbox link is dropped meanwhile.",
                   path, old, value, why);
        return 0;
}

/* Interfaces of the default routes: where replies to sandboxes come in. */
static char **default_route_ifaces(bool ipv6) {
        _cleanup_free_ char *text = NULL;
        char **l = NULL;

        if (read_full_file(ipv6 ? "/proc/net/ipv6_route" : "/proc/net/route", 16 * 1024 * 1024, &text,
                           NULL) < 0)
                return NULL;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                char dev[IFNAMSIZ + 1] = "", dst[40] = "", mask[40] = "", last[IFNAMSIZ + 1] = "";
                if (ipv6) {
                        unsigned plen;
                        /* dst plen src splen nexthop metric refcnt use flags dev */
                        if (sscanf(line, "%32s %x %*s %*s %*s %*s %*s %*s %*s %16s", dst, &plen, last) !=
                                            3 ||
                            plen != 0 || strspn(dst, "0") != 32 || streq(last, "lo"))
                                continue;
                        snprintf(dev, sizeof dev, "%s", last);
                } else if (sscanf(line, "%16s %8s %*s %*s %*s %*s %*s %8s", dev, dst, mask) != 3 ||
                           !streq(dst, "00000000") || !streq(mask, "00000000"))
                        continue;
                if (startswith(dev, SANDY_IFNAME_PREFIX) || strv_contains(l, dev))
                        continue;
                if (strv_extend(&l, dev) < 0)
                        break;
        }
        return l;
}

static int conf_path(const char *base, const char *ifname, const char *knob, char **ret) {
        return xasprintf(ret, "%sconf/%s/%s", base, ifname, knob);
}

/* knob = 1 on the interfaces of the default routes (of the family), each change on record. The error is
 * logged at level: the caller knows how bad it is. */
static int uplinks_enable(bool ipv6, const char *knob, int level) {
        _cleanup_strv_free_ char **ups = default_route_ifaces(ipv6);

        STRV_FOREACH (u, ups) {
                _cleanup_free_ char *q = NULL;
                int r;

                if (conf_path(ipv6 ? V6 : V4, *u, knob, &q) < 0)
                        return -ENOMEM;
                r = change(q, "1", "replies to sandboxes arrive on the default route's interface");
                if (r < 0)
                        return log_full_errno(level, r, "Failed to enable IPv%c forwarding on %s: %m",
                                              ipv6 ? '6' : '4', *u);
        }
        return 0;
}

/* IPv4, per interface: the sandbox link and the uplinks. */
static int add_ipv4(const char *ifname) {
        _cleanup_strv_free_ char **rec = load_record();
        _cleanup_free_ char *p = NULL;
        int r;

        if (is_one(V4 "ip_forward") && !recorded_under(rec, V4))
                return 0; /* the host forwards on its own */
        if (ifname) {
                if (conf_path(V4, ifname, "forwarding", &p) < 0)
                        return -ENOMEM;
                /* The link goes with the sandbox: nothing to record or put back. */
                r = write_value(p, "1");
                if (r < 0)
                        return log_error_errno(r, "Failed to enable IPv4 forwarding on %s: %m", ifname);
        }
        return uplinks_enable(false, "forwarding", LOG_ERR);
}

static int add_ipv6(const char *ifname) {
        _cleanup_strv_free_ char **rec = load_record();
        _cleanup_free_ char *p = NULL;
        int r;

        if (is_one(V6 "conf/all/forwarding") && !recorded_under(rec, V6))
                return 0;
        if (ifname && conf_path(V6, ifname, "force_forwarding", &p) < 0)
                return -ENOMEM;
        if (p && access(p, F_OK) >= 0 && !recorded(rec, V6 "conf/all/forwarding")) {
                /* Linux 6.17 and later: per interface. The caller warns of a failure. */
                r = write_value(p, "1");
                if (r < 0)
                        return r;
                return uplinks_enable(true, "force_forwarding", LOG_DEBUG);
        }
        if (recorded(rec, V6 "conf/all/forwarding"))
                return 0;
        /* Older kernels: the global switch; every interface keeps its own router/host behaviour. */
        _cleanup_strv_free_ char **saved = NULL;
        struct if_nameindex *ifs = if_nameindex();
        for (struct if_nameindex *i = ifs; i && i->if_index != 0; i++) {
                _cleanup_free_ char *q = NULL, *v = NULL;
                if (startswith(i->if_name, SANDY_IFNAME_PREFIX) ||
                    conf_path(V6, i->if_name, "forwarding", &q) < 0 || read_value(q, &v) < 0)
                        continue;
                char *e = NULL;
                if (xasprintf(&e, "%s %s", q, v) < 0 || strv_consume(&saved, e) < 0)
                        break;
        }
        if (ifs)
                if_freenameindex(ifs);
        _cleanup_free_ char *dflt = NULL;
        (void)read_value(V6 "conf/default/forwarding", &dflt);
        r = change(V6 "conf/all/forwarding", "1", "the kernel forwards IPv6 only with the global switch on");
        if (r < 0)
                return r;
        STRV_FOREACH (e, saved) {
                char *sp = strrchr(*e, ' ');
                *sp = 0;
                (void)write_value(*e, sp + 1);
        }
        if (dflt)
                (void)write_value(V6 "conf/default/forwarding", dflt);
        return 0;
}

int net_forwarding_add(const char *ifname, bool ipv6) {
        int r = add_ipv4(ifname);
        if (r < 0)
                return r;
        if (ipv6) {
                /* Without it only IPv6 connectivity is lost, not filtering: go on. */
                r = add_ipv6(ifname);
                if (r < 0)
                        log_warning_errno(r,
                                          "Failed to enable IPv6 forwarding, sandboxes get no IPv6 out: %m");
        }
        return 0;
}

void net_forwarding_refresh(void) {
        _cleanup_strv_free_ char **rec = load_record();
        /* Only when sandy manages forwarding at all. */
        if (recorded_under(rec, V4))
                (void)add_ipv4(NULL);
}

void net_forwarding_release(void) {
        _cleanup_strv_free_ char **rec = load_record();
        size_t n = strv_length(rec);

        /* The admin turned forwarding on host-wide meanwhile: the interfaces' values are theirs now. */
        bool keep4 = is_one(V4 "ip_forward"),
             keep6 = is_one(V6 "conf/all/forwarding") && !recorded(rec, V6 "conf/all/forwarding");

        /* Last change first. */
        for (size_t i = n; i > 0; i--) {
                char *sp = strrchr(rec[i - 1], ' ');
                *sp = 0;
                if ((keep4 && startswith(rec[i - 1], V4)) || (keep6 && startswith(rec[i - 1], V6))) {
                        log_notice("Host forwarding left as it is: %s (forwarding is on host-wide now).",
                                   rec[i - 1]);
                        continue;
                }
                int r = write_value(rec[i - 1], sp + 1);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to put %s back to %s: %m", rec[i - 1], sp + 1);
                else if (r >= 0)
                        log_notice("Host forwarding put back: %s = %s (no sandbox runs).", rec[i - 1],
                                   sp + 1);
        }
        if (unlink(SANDY_FORWARDING_FILE) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove %s: %m", SANDY_FORWARDING_FILE);
        if (n > 0 && nft_table_exists())
                (void)nft_apply("add element inet " SANDY_NFT_TABLE " fwguard { ipv4, ipv6 }\n"
                                "delete element inet " SANDY_NFT_TABLE " fwguard { ipv4, ipv6 }\n");
}

void net_forwarding_guard(NetForwardGuard *ret) {
        _cleanup_strv_free_ char **rec = load_record();
        *ret = (NetForwardGuard){.ipv4 = recorded_under(rec, V4), .ipv6 = recorded_under(rec, V6)};
}
