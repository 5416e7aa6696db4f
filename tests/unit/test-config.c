/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /etc/sandy/sandy.conf (lib/config.c) and the address slots derived from it (helper/net-setup.c). */
#include <arpa/inet.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "net-internal.h"
#include "tests.h"

static int load(const char *text, SandyConfig *c, char **log) {
        Capture cap;
        capture_begin(&cap);
        int r = sandy_config_load_string("sandy.conf", text, c);
        *log = capture_end(&cap);
        return r;
}

TEST(defaults) {
        SandyConfig c;
        char *log;
        require(load("", &c, &log) == 0);
        NetAddrs a;
        net_pool_strings(&c, &a);
        check_streq(a.pool4, SANDY_POOL4_DEFAULT);
        check_streq(a.pool6, SANDY_POOL6_DEFAULT);
        check_streq(c.debootstrap_mirror, SANDY_DEBOOTSTRAP_MIRROR_DEFAULT);
        check(c.ipv6 && c.stop_dns_rebind);
        /* /16 in /30s: 16384 slots */
        check_int(sandy_config_slots(&c), 16384);
        sandy_config_done(&c);
        free(log);
}

TEST(values) {
        SandyConfig c;
        char *log;
        require(load("[Network]\nAddressPool=172.30.0.0/24\nAddressPool6=fd00:1:2:3::/120\nIPv6=no\n"
                     "StopDNSRebind=no\n[Image]\nDebootstrapMirror=http://mirror.example/debian\n",
                     &c, &log) == 0);
        check_int(sandy_config_slots(&c), 64);
        check(!c.ipv6 && !c.stop_dns_rebind);
        check_streq(c.debootstrap_mirror, "http://mirror.example/debian");
        NetAddrs a;
        require(net_addrs_for_slot(&c, 0, &a) == 0);
        check_streq(a.host4, "172.30.0.1");
        check_streq(a.sandbox4, "172.30.0.2");
        check_streq(a.host6, "fd00:1:2:3::1");
        require(net_addrs_for_slot(&c, 63, &a) == 0);
        check_streq(a.host4, "172.30.0.253");
        check_streq(a.sandbox4, "172.30.0.254");
        check_streq(a.sandbox6, "fd00:1:2:3::fe");
        check(net_addrs_for_slot(&c, 64, &a) == -ERANGE);
        sandy_config_done(&c);
        free(log);
}

TEST(errors_name_file_and_line) {
        SandyConfig c;
        char *log;
        check(load("[Network]\nAddressPool=10.0.0.1/16\n", &c, &log) < 0);
        check_contains(log, "sandy.conf:2:");
        check_contains(log, "no host bits");
        /* the default stays */
        check_int(c.pool4_prefix, 16);
        sandy_config_done(&c);
        free(log);
        check(load("[Network]\nAddressPool=10.0.0.0/31\n", &c, &log) < 0);
        sandy_config_done(&c);
        free(log);
        check(load("\n[Network]\nAddressPool6=fd00::/48\n", &c, &log) < 0);
        check_contains(log, "sandy.conf:3:");
        sandy_config_done(&c);
        free(log);
        check(load("[Image]\nDebootstrapMirror=ftp://x\n", &c, &log) < 0);
        sandy_config_done(&c);
        free(log);
        check(load("[Network]\nIPv6=maybe\n", &c, &log) < 0);
        sandy_config_done(&c);
        free(log);
        /* Unknown and misplaced keys are errors, as in declarations: a misspelt StopDNSRebind= must not
         * leave the default in force unnoticed. X- keys are for other tools. */
        check(load("[Network]\nFoo=1\n", &c, &log) < 0);
        check_contains(log, "sandy.conf:2: Unknown key Foo= in [Network]");
        sandy_config_done(&c);
        free(log);
        check(load("[Network]\nStopDNSRebnd=no\n", &c, &log) < 0);
        check_contains(log,
                       "sandy.conf:2: Unknown key StopDNSRebnd= in [Network]; did you mean StopDNSRebind=?");
        sandy_config_done(&c);
        free(log);
        check(load("[Image]\nIPv6=no\n", &c, &log) < 0);
        check_contains(log, "sandy.conf:2: IPv6= belongs in [Network], not [Image].");
        sandy_config_done(&c);
        free(log);
        check(load("[Network]\nX-Site=lab\n[X-Local]\nAnything=1\n", &c, &log) == 0);
        check(!strstr(log, "X-"));
        sandy_config_done(&c);
        free(log);
}

TEST(ifnames) {
        char a[IFNAMSIZ], b[IFNAMSIZ], c[IFNAMSIZ];
        net_ifname("demo", a);
        net_ifname("demo", b);
        net_ifname("demo2", c);
        check_streq(a, b);
        check(strcmp(a, c) != 0);
        check_int(strlen(a), 15);
        check(strncmp(a, "sb-", 3) == 0);
        char longname[SANDBOX_NAME_MAX + 1];
        memset(longname, 'x', SANDBOX_NAME_MAX);
        longname[SANDBOX_NAME_MAX] = 0;
        net_ifname(longname, a);
        check_int(strlen(a), 15);
}

/* sandy.conf, then sandy.conf.d/ *.conf in lexical order; a missing main file is fine; other names ignored. */
TEST(dropins) {
        _cleanup_free_ char *root = test_mkdtemp(), *main_file = NULL, *dir = NULL, *a = NULL, *b = NULL,
                            *skip = NULL;
        SandyConfig c;
        Capture cap;
        char *log;

        require(asprintf(&main_file, "%s/sandy.conf", root) > 0 && asprintf(&dir, "%s/sandy.conf.d", root) > 0 &&
                asprintf(&a, "%s/10-a.conf", dir) > 0 && asprintf(&b, "%s/20-b.conf", dir) > 0 &&
                asprintf(&skip, "%s/30-c.conf.disabled", dir) > 0);
        require(mkdir(dir, 0755) == 0);
        test_write_file(a, "[Network]\nIPv6=no\nAddressPool=172.30.0.0/24\n");
        test_write_file(b, "[Network]\nAddressPool=172.31.0.0/24\n");
        test_write_file(skip, "[Network]\nIPv6=yes\n");
        capture_begin(&cap);
        require(sandy_config_load(main_file, &c) == 0);
        log = capture_end(&cap);
        check(!c.ipv6);
        check_int(sandy_config_slots(&c), 64);
        NetAddrs n;
        require(net_addrs_for_slot(&c, 0, &n) == 0);
        check_streq(n.host4, "172.31.0.1");
        sandy_config_done(&c);
        free(log);

        /* The main file comes first; a drop-in overrides it. */
        test_write_file(main_file, "[Network]\nIPv6=yes\nStopDNSRebind=no\n");
        capture_begin(&cap);
        require(sandy_config_load(main_file, &c) == 0);
        log = capture_end(&cap);
        check(!c.ipv6 && !c.stop_dns_rebind);
        sandy_config_done(&c);
        free(log);

        /* An empty assignment in a later file resets the key to its default. */
        test_write_file(b, "[Image]\nDebootstrapMirror=\nDebootstrapKeyring=\n");
        test_write_file(main_file, "[Image]\nDebootstrapMirror=file:///srv/m\nDebootstrapKeyring=/etc/k.gpg\n");
        capture_begin(&cap);
        require(sandy_config_load(main_file, &c) == 0);
        log = capture_end(&cap);
        check_streq(c.debootstrap_mirror, SANDY_DEBOOTSTRAP_MIRROR_DEFAULT);
        check(!c.debootstrap_keyring);
        sandy_config_done(&c);
        free(log);

        /* An error in a drop-in is reported with its file and line. */
        test_write_file(b, "[Network]\nIPv6=maybe\n");
        capture_begin(&cap);
        check_int(sandy_config_load(main_file, &c), -EINVAL);
        log = capture_end(&cap);
        check_contains(log, "20-b.conf:2: IPv6= takes a boolean");
        sandy_config_done(&c);
        free(log);
        test_rm_rf(root);
}

/* issue 18: the keys of docker:// pulls */
TEST(registry_keys) {
        SandyConfig c;
        char *log;
        require(load("[Image]\nRegistryAuthFile=/etc/sandy/registry-auth.json\n"
                     "PlainHTTPRegistry=Registry.Test:5000 10.0.0.1\nPlainHTTPRegistry=localhost:5001\n",
                     &c, &log) == 0);
        check_streq(c.registry_auth_file, "/etc/sandy/registry-auth.json");
        check(sandy_config_plain_http(&c, "registry.test:5000"));
        check(sandy_config_plain_http(&c, "REGISTRY.test:5000"));
        check(sandy_config_plain_http(&c, "10.0.0.1"));
        check(sandy_config_plain_http(&c, "localhost:5001"));
        check(!sandy_config_plain_http(&c, "registry.test"));
        check(!sandy_config_plain_http(&c, "registry.test:5443"));
        sandy_config_done(&c);
        free(log);
        /* an empty assignment empties the list */
        require(load("[Image]\nPlainHTTPRegistry=a.test\nPlainHTTPRegistry=\n", &c, &log) == 0);
        check(!sandy_config_plain_http(&c, "a.test"));
        check(c.plain_http_registries == NULL && c.registry_auth_file == NULL);
        sandy_config_done(&c);
        free(log);
        check(load("[Image]\nRegistryAuthFile=relative.json\n", &c, &log) < 0);
        check_contains(log, "sandy.conf:2: RegistryAuthFile=");
        sandy_config_done(&c);
        free(log);
        const char *bad[] = {"http://a.test", "a.test:0",  "a.test:70000", "a_b.test",
                             "a.test/x",      "-a.test", "a.test:+1"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char text[128];
                snprintf(text, sizeof text, "[Image]\nPlainHTTPRegistry=%s\n", bad[i]);
                check(load(text, &c, &log) < 0);
                check_contains(log, "PlainHTTPRegistry= takes registries as HOST or HOST:PORT");
                sandy_config_done(&c);
                free(log);
        }
}

int main(void) {
        test_init();
        RUN(defaults);
        RUN(values);
        RUN(errors_name_file_and_line);
        RUN(ifnames);
        RUN(dropins);
        RUN(registry_keys);
        return test_finish();
}
