/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nft-bench: the time to add one sandbox's egress rules, both layers, as sandy-helper does: its elements in
 * the host's "inet sandy" table (one libnftables batch) and its own table in a new network namespace (a
 * context opened there, one batch), with 10, 100 and 1000 sandboxes already in the host's table; and to
 * remove them again. The host's part is a constant rule set plus a few elements per sandbox, so it should
 * not grow with the number of sandboxes. Runs in a network namespace of its own. Peers measured in the same
 * run: an empty libnftables batch ("add table inet sandy" on the existing table) and `nft -f` of the same
 * host elements (a fresh process and context). Medians of ROUNDS. Root. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "net-internal.h"
#include "string-util.h"

#define ROUNDS 21

static double now_ms(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof *v, cmp);
        return v[n / 2];
}

/* A quarter strict (with domains, addresses and a private range), the rest lenient; all with a host port. */
static int make_sandbox(const char *name, bool strict, Sandbox **ret) {
        const char *text = strict ? "[Image]\nFrom=debootstrap:bookworm\n[Network]\nMode=strict\n"
                                    "AllowDomain=example.com api.example.org:443\n"
                                    "AllowAddress=192.0.2.10:443 192.168.77.0/24:22\nAllowHostPort=5432\n"
                                  : "[Image]\nFrom=debootstrap:bookworm\n[Network]\nMode="
                                    "lenient\nAllowHostPort=5432\n";
        return sandbox_load_string(name, "bench", text, strlen(text), ret);
}

static int scripts_for(const SandyConfig *c, unsigned i, char **elements, char **inner) {
        _cleanup_free_ char *name = NULL;
        char ifname[IFNAMSIZ];
        Sandbox *s = NULL;
        NetPolicy p = {};
        NetAddrs a;
        int r;

        if (xasprintf(&name, "bench-%u", i) < 0)
                return -ENOMEM;
        r = make_sandbox(name, i % 4 == 3, &s);
        if (r < 0)
                return r;
        net_ifname(name, ifname);
        r = net_addrs_for_slot(c, i, &a);
        if (r >= 0)
                r = net_policy_from_sandbox(s, ifname, &a, 999, &p);
        if (r >= 0)
                r = nft_host_elements(&p, elements);
        if (r >= 0 && inner) {
                /* The host's addresses, as the helper adds them. */
                static char *const a4[] = {"192.0.2.2", "198.51.100.7", NULL}, *const a6[] = {"2001:db8::2",
                                                                                              NULL};
                _cleanup_free_ char *script = NULL, *hosts = NULL;
                r = nft_inner_script(&p, &script);
                if (r >= 0)
                        r = nft_inner_hostaddrs(a4, a6, &hosts);
                if (r >= 0 && xasprintf(inner, "%s%s", script, hosts) < 0)
                        r = -ENOMEM;
        }
        net_policy_done(&p);
        sandbox_free(s);
        return r;
}

int main(int argc, char *argv[]) {
        static const unsigned sizes[] = {10, 100, 1000};
        SandyConfig c = {};
        unsigned present = 0;
        int r;

        if (geteuid() != 0) {
                printf("SKIP: needs root\n");
                return 77;
        }
        if (unshare(CLONE_NEWNET) < 0)
                return log_error_errno(errno, "unshare(CLONE_NEWNET): %m"), 1;
        r = sandy_config_load_string("defaults", "", &c);
        if (r < 0)
                return 1;

        NetAddrs pools = {};
        NetForwardGuard guard = {};
        _cleanup_free_ char *skel = NULL;
        net_pool_strings(&c, &pools);
        if (nft_host_skeleton(&pools, &guard, &skel) < 0 || nft_apply(skel) < 0)
                return 1;

        printf("nft-bench: one sandbox's egress rules, both layers (lenient with AllowHostPort=, every 4th "
               "strict "
               "with domains and addresses), median of %d\n",
               ROUNDS);
        for (size_t k = 0; k < ELEMENTSOF(sizes); k++) {
                /* Fill up to sizes[k] in one batch (not timed). */
                _cleanup_free_ char *fill = strdup("");
                for (; present < sizes[k]; present++) {
                        _cleanup_free_ char *e = NULL;
                        if (scripts_for(&c, present, &e, NULL) < 0 || strextendf(&fill, "%s", e) < 0)
                                return 1;
                }
                if (nft_apply(fill) < 0)
                        return 1;

                double t_host[ROUNDS], t_inner[ROUNDS], t_ns[ROUNDS], t_both[ROUNDS], t_del[ROUNDS],
                                t_floor[ROUNDS], t_nft[ROUNDS], cpu_user = 0, cpu_sys = 0;
                _cleanup_free_ char *elements = NULL, *inner = NULL, *del = NULL, *cmd = NULL;
                /* The measured one is strict: the bigger of the two. */
                if (scripts_for(&c, 4003 + 4 * k, &elements, &inner) < 0 ||
                    nft_host_elements_remove(elements, &del) < 0)
                        return 1;
                char tmpl[] = "/tmp/nft-bench-XXXXXX";
                int fd = mkstemp(tmpl);
                if (fd < 0 || write(fd, elements, strlen(elements)) < 0)
                        return 1;
                close(fd);
                if (xasprintf(&cmd, "nft -f %s", tmpl) < 0)
                        return 1;
                for (int i = 0; i < ROUNDS; i++) {
                        struct rusage ru0, ru1;
                        int ns;

                        double t0 = now_ms();
                        if (nft_apply("add table inet sandy\n") < 0)
                                return 1;
                        double t1 = now_ms();
                        getrusage(RUSAGE_SELF, &ru0);
                        if (nft_apply(elements) < 0)
                                return 1;
                        double t2 = now_ms();
                        if (netns_new(&ns) < 0)
                                return 1;
                        double t3 = now_ms();
                        if (nft_apply_in(ns, inner) < 0)
                                return 1;
                        double t4 = now_ms();
                        getrusage(RUSAGE_SELF, &ru1);
                        cpu_user += (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e3 +
                                    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e3;
                        cpu_sys += (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e3 +
                                   (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e3;
                        if (nft_apply(del) < 0)
                                return 1;
                        close(ns);
                        double t5 = now_ms();
                        if (system(cmd) != 0)
                                return 1;
                        double t6 = now_ms();
                        if (nft_apply(del) < 0)
                                return 1;
                        t_floor[i] = t1 - t0;
                        t_host[i] = t2 - t1;
                        t_ns[i] = t3 - t2;
                        t_inner[i] = t4 - t3;
                        t_both[i] = (t2 - t1) + (t4 - t3);
                        t_del[i] = t5 - t4;
                        t_nft[i] = t6 - t5;
                }
                unlink(tmpl);
                double fl = median(t_floor, ROUNDS), h = median(t_host, ROUNDS),
                       in = median(t_inner, ROUNDS), b = median(t_both, ROUNDS), ns = median(t_ns, ROUNDS),
                       d = median(t_del, ROUNDS), n = median(t_nft, ROUNDS);
                printf("%4u sandboxes: add both layers %.2f ms (%.1fx empty batch, %.2fx nft -f of the host "
                       "part): "
                       "host %.2f ms, own table %.2f ms (+ new namespace %.2f ms); remove %.2f ms; empty "
                       "batch %.3f ms, "
                       "nft -f %.2f ms\n",
                       sizes[k], b, b / fl, b / n, h, in, ns, d, fl, n);
                printf("      add, mean CPU: user %.2f ms (libnftables), system %.2f ms (kernel)\n",
                       cpu_user / ROUNDS, cpu_sys / ROUNDS);
        }
        printf("target: add (both layers) under 2 ms at 100 and at 1000\n");
        sandy_config_done(&c);
        return 0;
}
