/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Golden tests of the pure renderers of network/: for each tests/net/render/NAME.sandbox, the host table's
 * elements (NAME.host.nft), the sandbox's own table (NAME.inner.nft), the resolver files (NAME.resolv.conf,
 * NAME.dnsmasq.conf, NAME.dnsmasq-inside.conf; "-" when none), and once the host's skeleton
 * (skeleton.nft, skeleton-guard.nft). Fixed slot, pools, upstream resolvers and resolver UID.
 * SANDY_RENDER_UPDATE=1 rewrites the expected files. TAP. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fs-util.h"
#include "net-internal.h"
#include "string-util.h"
#include "strv.h"

static unsigned n, failed;
static bool update;

static void compare(const char *dir, const char *name, const char *suffix, const char *got) {
        _cleanup_free_ char *path = NULL, *want = NULL;
        const char *text = got ?: "-\n";

        n++;
        if (xasprintf(&path, "%s/%s.%s", dir, name, suffix) < 0)
                abort();
        if (update) {
                if (write_file_atomic(path, text, strlen(text), 0644) < 0) {
                        printf("not ok %u - %s.%s: cannot write\n", n, name, suffix);
                        failed++;
                } else
                        printf("ok %u - %s.%s (updated)\n", n, name, suffix);
                return;
        }
        if (read_full_file(path, 1024 * 1024, &want, NULL) < 0) {
                printf("not ok %u - %s.%s: no expected file (SANDY_RENDER_UPDATE=1 writes it)\n", n, name,
                       suffix);
                failed++;
                return;
        }
        if (streq(want, text)) {
                printf("ok %u - %s.%s\n", n, name, suffix);
                return;
        }
        failed++;
        printf("not ok %u - %s.%s differs; rendered:\n", n, name, suffix);
        for (const char *l = text; *l;) {
                size_t k = strcspn(l, "\n");
                printf("#   %.*s\n", (int)k, l);
                l += k + (l[k] ? 1 : 0);
        }
}

int main(int argc, char *argv[]) {
        _cleanup_strv_free_ char **names = NULL;
        static char *const ups[] = {"203.0.113.53", "2001:db8::53", NULL};
        const char *dir = argc > 1 ? argv[1] : "tests/net/render";
        SandyConfig c = {};
        NetAddrs pools = {};
        DIR *d;

        update = getenv("SANDY_RENDER_UPDATE") != NULL;
        if (sandy_config_load_string("defaults", "", &c) < 0)
                return 1;
        d = opendir(dir);
        if (!d) {
                printf("1..0 # SKIP %s: %s\n", dir, strerror(errno));
                return 77;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (endswith(de->d_name, ".sandbox"))
                        (void)strv_consume(&names,
                                           strndup(de->d_name, strlen(de->d_name) - strlen(".sandbox")));
        closedir(d);
        strv_sort(names);

        net_pool_strings(&c, &pools);
        for (int g = 0; g < 2; g++) {
                _cleanup_free_ char *skel = NULL;
                NetForwardGuard guard = {.ipv4 = g, .ipv6 = g};
                if (nft_host_skeleton(&pools, &guard, &skel) < 0)
                        return 1;
                compare(dir, g ? "skeleton-guard" : "skeleton", "nft", skel);
        }

        STRV_FOREACH (name, names) {
                _cleanup_free_ char *path = NULL, *text = NULL, *host = NULL, *inner = NULL, *resolv = NULL,
                                    *dm = NULL, *dmi = NULL, *hostaddrs = NULL;
                static char *const a4[] = {"192.0.2.2", "198.51.100.7", NULL}, *const a6[] = {"2001:db8::2",
                                                                                              NULL};
                Sandbox *s = NULL;
                NetPolicy p = {};
                NetAddrs a;
                char ifname[IFNAMSIZ];

                if (xasprintf(&path, "%s/%s.sandbox", dir, *name) < 0 ||
                    read_full_file(path, 1024 * 1024, &text, NULL) < 0 ||
                    sandbox_load_string(*name, path, text, strlen(text), &s) < 0) {
                        printf("not ok %u - %s: cannot load\n", ++n, *name);
                        failed++;
                        continue;
                }
                net_ifname(*name, ifname);
                if (net_addrs_for_slot(&c, 7, &a) < 0 ||
                    net_policy_from_sandbox(s, ifname, &a, 64014, &p) < 0 ||
                    nft_host_elements(&p, &host) < 0 || nft_inner_script(&p, &inner) < 0 ||
                    nft_inner_hostaddrs(a4, a6, &hostaddrs) < 0 || resolver_resolv_conf(&p, &resolv) < 0 ||
                    resolver_host_conf(&p, ups, true, &dm) < 0 || resolver_inside_conf(&p, true, &dmi) < 0) {
                        printf("not ok %u - %s: cannot render\n", ++n, *name);
                        failed++;
                } else {
                        compare(dir, *name, "host.nft", host);
                        compare(dir, *name, "inner.nft", inner);
                        compare(dir, *name, "resolv.conf", resolv);
                        compare(dir, *name, "dnsmasq.conf", dm);
                        compare(dir, *name, "dnsmasq-inside.conf", dmi);
                        if (streq(*name, "lenient"))
                                compare(dir, "hostaddrs", "nft", hostaddrs);
                }
                net_policy_done(&p);
                sandbox_free(s);
        }
        sandy_config_done(&c);
        printf("1..%u\n", n);
        return failed > 0;
}
