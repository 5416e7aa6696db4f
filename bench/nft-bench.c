/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nft-bench: time to add and to remove one sandbox's rules (one libnftables batch each, as sandy-helper
 * does) with 10, 100 and 1000 sandboxes already in the table. Runs in a network namespace of its own.
 * Peers measured in the same run: an empty libnftables batch ("add table inet sandy" on the existing
 * table) and `nft -f` of the same add script (a fresh process and context). Medians of ROUNDS. Root. */
#include <sched.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
        qsort(v, n, sizeof *v, cmp);
        return v[n / 2];
}

static int make_sandbox(const char *name, bool strict, Sandbox **ret) {
        const char *text = strict ? "[Image]\nFrom=debootstrap:bookworm\n[Network]\nMode=strict\n"
                                    "AllowDomain=example.com\nAllowAddress=192.0.2.10:443\nAllowHostPort=5432\n"
                                  : "[Image]\nFrom=debootstrap:bookworm\n[Network]\nMode=lenient\nAllowHostPort=5432\n";
        return sandbox_load_string(name, "bench", text, strlen(text), ret);
}

static int scripts_for(const SandyConfig *c, unsigned i, char **add, char **del) {
        _cleanup_free_ char *name = NULL;
        char ifname[IFNAMSIZ];
        Sandbox *s = NULL;
        NetAddrs a;
        int r;

        if (xasprintf(&name, "bench-%u", i) < 0)
                return -ENOMEM;
        r = make_sandbox(name, i % 4 == 3, &s); /* a quarter strict, with their sets */
        if (r < 0)
                return r;
        net_ifname(name, ifname);
        r = net_addrs_for_slot(c, i, &a);
        if (r >= 0)
                r = nft_sandbox_script(s, ifname, &a, add);
        if (r >= 0 && del)
                r = nft_sandbox_remove_script(name, ifname, true, del);
        /* Experiments: drop lines starting with $NFT_BENCH_STRIP from the add script. */
        const char *strip = getenv("NFT_BENCH_STRIP");
        if (r >= 0 && strip) {
                char *o = *add, *w = *add;
                for (char *l = o; *l;) {
                        char *nl = strchr(l, '\n');
                        size_t len = nl ? (size_t) (nl - l + 1) : strlen(l);
                        if (!startswith(l, strip)) {
                                memmove(w, l, len);
                                w += len;
                        }
                        l += len;
                }
                *w = 0;
        }
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
        _cleanup_free_ char *skel = NULL;
        net_pool_strings(&c, &pools);
        if (nft_skeleton_script(&pools, &skel) < 0 || nft_apply(skel) < 0)
                return 1;

        printf("nft-bench: one sandbox's rules (lenient with AllowHostPort=, every 4th strict with sets), "
               "median of %d\n",
               ROUNDS);
        for (size_t k = 0; k < ELEMENTSOF(sizes); k++) {
                /* Fill up to sizes[k] in one batch (not timed). */
                _cleanup_free_ char *fill = strdup("");
                for (; present < sizes[k]; present++) {
                        _cleanup_free_ char *add = NULL;
                        char *n = NULL;
                        if (scripts_for(&c, present, &add, NULL) < 0 || xasprintf(&n, "%s%s", fill, add) < 0)
                                return 1;
                        free(fill);
                        fill = n;
                }
                if (nft_apply(fill) < 0)
                        return 1;

                double t_add[ROUNDS], t_del[ROUNDS], t_floor[ROUNDS], t_nft[ROUNDS], cpu_user = 0, cpu_sys = 0;
                _cleanup_free_ char *add = NULL, *del = NULL, *path = NULL;
                if (scripts_for(&c, 5000 + k, &add, &del) < 0)
                        return 1;
                char tmpl[] = "/tmp/nft-bench-XXXXXX";
                int fd = mkstemp(tmpl);
                if (fd < 0 || write(fd, add, strlen(add)) < 0)
                        return 1;
                close(fd);
                _cleanup_free_ char *cmd = NULL;
                if (xasprintf(&cmd, "nft -f %s", tmpl) < 0)
                        return 1;
                for (int i = 0; i < ROUNDS; i++) {
                        double t0 = now_ms();
                        if (nft_apply("add table inet sandy\n") < 0)
                                return 1;
                        double t1 = now_ms();
                        struct rusage ru0, ru1;
                        getrusage(RUSAGE_SELF, &ru0);
                        if (nft_apply(add) < 0)
                                return 1;
                        getrusage(RUSAGE_SELF, &ru1);
                        cpu_user += (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e3 +
                                    (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e3;
                        cpu_sys += (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e3 +
                                   (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e3;
                        double t2 = now_ms();
                        if (nft_apply(del) < 0)
                                return 1;
                        double t3 = now_ms();
                        if (system(cmd) != 0)
                                return 1;
                        double t4 = now_ms();
                        if (nft_apply(del) < 0)
                                return 1;
                        t_floor[i] = t1 - t0;
                        t_add[i] = t2 - t1;
                        t_del[i] = t3 - t2;
                        t_nft[i] = t4 - t3;
                }
                unlink(tmpl);
                double fl = median(t_floor, ROUNDS), a = median(t_add, ROUNDS), d = median(t_del, ROUNDS),
                       n = median(t_nft, ROUNDS);
                printf("%4u sandboxes: add %.2f ms (%.1fx empty batch, %.2fx nft -f), remove %.2f ms (%.1fx); "
                       "empty batch %.3f ms, nft -f %.2f ms\n",
                       sizes[k], a, a / fl, a / n, d, d / fl, fl, n);
                printf("      add, mean CPU: user %.2f ms (libnftables), system %.2f ms (kernel)\n", cpu_user / ROUNDS,
                       cpu_sys / ROUNDS);
        }
        printf("targets: add under 2 ms at 100, under 15 ms at 1000\n");
        sandy_config_done(&c);
        return 0;
}
