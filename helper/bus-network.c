/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sandy.Helper1.Network on /org/sandy/Helper1: SetupNetwork(s) -> h, TeardownNetwork(s),
 * DescribeEgress(s). Callers name a sandbox; everything else comes from its declaration, read here.
 * SetupNetwork answers with the sandbox's network namespace as an fd: the caller (sandy-netctl, in the host's
 * mount namespace) pins it; the helper makes no mount. Every call is checked with polkit asynchronously
 * (details: "sandbox" NAME), so one caller's authentication dialog does not stall the others. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "bus-names.h"
#include "bus-polkit.h"
#include "config.h"
#include "log.h"
#include "net-internal.h"
#include "network.h"
#include "strv.h"
#include "string-util.h"
#include "validate.h"

static int load_declared(sd_bus_message *m, const char *name, Sandbox **ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(NULL);
        int r;

        if (!sandbox_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid sandbox name.");
        if (!dirs)
                return -ENOMEM;
        r = sandbox_load(dirs, name, ret);
        if (r == -ENOENT || r == -ENXIO)
                return sd_bus_error_setf(error, HELPER_ERROR_NO_SUCH_SANDBOX, "Sandbox %s is not declared.",
                                         name);
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_INVALID_DECLARATION,
                                         "The declaration of sandbox %s has errors.", name);
        return bus_sandbox_check_current(sd_bus_message_get_bus(m), ret, error);
}

/* 1: authorized; 0: polkit is asked and the call is dispatched again when it answers (the handler returns 1
 * without a reply); < 0: refused, error set. */
static int check(sd_bus_message *m, const char *action, const char *name, sd_bus_error *error) {
        const char *details[] = {"sandbox", name, NULL};
        return bus_verify_polkit_async(m, action, details, error);
}

/* The sandbox name the call m names (read again from the start: a call is dispatched again once polkit has
 * answered), authorized for action. Same returns as check(). */
static int read_name_checked(sd_bus_message *m, const char *action, const char **ret_name, sd_bus_error *error) {
        int r;

        r = sd_bus_message_rewind(m, true);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", ret_name);
        if (r < 0)
                return r;
        if (!sandbox_name_is_valid(*ret_name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid sandbox name.");
        return check(m, action, *ret_name, error);
}

static int method_setup(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Sandbox *s = NULL;
        const char *name;
        int r;

        r = read_name_checked(m, POLKIT_ACTION_NETWORK, &name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = load_declared(m, name, &s, error);
        if (r < 0)
                return r;
        if (!IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT)) {
                sandbox_free(s);
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Sandbox %s has no network namespace of sandy's (Mode=host or none).", name);
        }
        r = network_setup(s);
        sandbox_free(s);
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_NETWORK_FAILED,
                                         "Setting up the network of %s failed (see the journal of sandy-helper).",
                                         name);
        _cleanup_close_ int fd = network_netns_fd(name);
        if (fd < 0)
                return sd_bus_error_set_errnof(error, fd, "The network namespace of %s is gone: %m", name);
        return sd_bus_reply_method_return(m, "h", fd);
}

static int method_teardown(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name;
        int r;

        r = read_name_checked(m, POLKIT_ACTION_NETWORK, &name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        /* No declaration needed: a removed declaration must still be cleaned up after. */
        r = network_teardown(name);
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_NETWORK_FAILED,
                                         "Removing the network of %s failed (see the journal of sandy-helper).", name);
        return sd_bus_reply_method_return(m, NULL);
}

/* The addresses in the dom4_N (or dom6_N) sets of the sandbox's own table: what strict mode allows now. */
static cJSON *learned_now(int netns_fd, size_t n_groups, int family) {
        cJSON *a = cJSON_CreateArray();

        for (size_t i = 0; a && netns_fd >= 0 && i < n_groups; i++) {
                _cleanup_strv_free_ char **l = NULL;
                char set[32];
                snprintf(set, sizeof set, "dom%d_%zu", family, i);
                if (nft_set_elements(netns_fd, set, &l) < 0)
                        continue;
                STRV_FOREACH(e, l)
                        cJSON_AddItemToArray(a, cJSON_CreateString(*e));
        }
        return a;
}

/* "reply NAME is ADDR" lines of the sandbox's dnsmasq (log-queries, strict mode) in this boot's journal. */
static void learned_from_journal(const char *name, char *const *domains, cJSON *learned) {
        _cleanup_free_ char *match = NULL;
        sd_journal *j = NULL;

        /* The resolver in the sandbox's namespace, which fills the sets. */
        if (xasprintf(&match, "_SYSTEMD_UNIT=" SANDBOX_DNS_INSIDE_UNIT_FMT, name) < 0)
                return;
        if (sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM) < 0)
                return;
        if (sd_journal_add_match(j, match, 0) < 0 || sd_journal_seek_tail(j) < 0) {
                sd_journal_close(j);
                return;
        }
        for (unsigned n = 0; n < 2000 && sd_journal_previous(j) > 0; n++) {
                const void *d;
                size_t len;
                if (sd_journal_get_data(j, "MESSAGE", &d, &len) < 0)
                        continue;
                _cleanup_free_ char *msg = strndup((const char *) d + 8, len - 8);
                char host[256], addr[64];
                /* "dnsmasq[PID]: reply NAME is ADDR" (log-facility=- adds the prefix) */
                const char *reply = msg ? strstr(msg, "reply ") : NULL;
                if (!reply || sscanf(reply, "reply %255s is %63s", host, addr) != 2)
                        continue;
                if (!(strchr(addr, '.') || strchr(addr, ':')))
                        continue; /* <CNAME>, NXDOMAIN, ... */
                STRV_FOREACH(entry, domains) {
                        _cleanup_free_ char *dom = NULL, *ports = NULL;
                        if (allow_domain_split(*entry, &dom, &ports) < 0)
                                continue;
                        const char *rest = endswith(host, dom) ? host + strlen(host) - strlen(dom) : NULL;
                        if (!rest || !(rest == host || rest[-1] == '.'))
                                continue;
                        cJSON *arr = cJSON_GetObjectItemCaseSensitive(learned, dom);
                        bool seen = false;
                        cJSON *it;
                        cJSON_ArrayForEach(it, arr) if (streq(it->valuestring, addr)) seen = true;
                        if (!seen)
                                cJSON_AddItemToArray(arr, cJSON_CreateString(addr));
                }
        }
        sd_journal_close(j);
}

static int method_describe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *text = NULL, *inner = NULL, *elements = NULL;
        Sandbox *s = NULL;
        SandyConfig c = {};
        char ifname[IFNAMSIZ];
        const char *name;
        unsigned slot = 0;
        int r;

        r = read_name_checked(m, POLKIT_ACTION_STATUS, &name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = load_declared(m, name, &s, error);
        if (r < 0)
                return r;
        (void) sandy_config_load(NULL, &c);

        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "sandbox", s->name);
        cJSON_AddStringToObject(o, "mode", network_mode_to_string(s->network_mode));
        net_ifname(s->name, ifname);
        bool active = network_slot_of(s->name, &slot) >= 0;
        int nsfd = netns_held_fd(s->name);
        cJSON_AddBoolToObject(o, "active", active);
        if (IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT)) {
                cJSON_AddStringToObject(o, "interface", ifname);
                if (active) {
                        NetAddrs a;
                        if (net_addrs_for_slot(&c, slot, &a) >= 0) {
                                /* "address": what sandyctl list shows. */
                                cJSON_AddStringToObject(o, "address", a.sandbox4);
                                cJSON_AddStringToObject(o, "address4", a.sandbox4);
                                /* Strict: the resolver inside, on the sandbox's own address. */
                                bool strict = s->network_mode == NETWORK_STRICT;
                                cJSON_AddStringToObject(o, "resolver4", strict ? a.sandbox4 : a.host4);
                                if (a.ipv6) {
                                        cJSON_AddStringToObject(o, "address6", a.sandbox6);
                                        cJSON_AddStringToObject(o, "resolver6", strict ? a.sandbox6 : a.host6);
                                }
                        }
                }
        }
        cJSON_AddStringToObject(o, "default_ports", NET_DEFAULT_PORTS);
        cJSON *l = cJSON_AddArrayToObject(o, "allow_domains");
        STRV_FOREACH(d, s->allow_domains) cJSON_AddItemToArray(l, cJSON_CreateString(*d));
        l = cJSON_AddArrayToObject(o, "allow_addresses");
        STRV_FOREACH(d, s->allow_addresses) cJSON_AddItemToArray(l, cJSON_CreateString(*d));
        l = cJSON_AddArrayToObject(o, "allow_host_ports");
        for (size_t i = 0; i < s->n_allow_host_ports; i++)
                cJSON_AddItemToArray(l, cJSON_CreateNumber(s->allow_host_ports[i]));
        l = cJSON_AddArrayToObject(o, "ports");
        for (size_t i = 0; i < s->n_ports; i++) {
                cJSON *p = cJSON_CreateObject();
                cJSON_AddNumberToObject(p, "host", s->ports[i].host);
                cJSON_AddNumberToObject(p, "container", s->ports[i].container);
                cJSON_AddItemToArray(l, p);
        }
        if (s->network_mode == NETWORK_STRICT && active) {
                cJSON *learned = cJSON_AddObjectToObject(o, "learned");
                size_t n_groups = 0;
                STRV_FOREACH(entry, s->allow_domains) {
                        _cleanup_free_ char *dom = NULL, *ports = NULL;
                        if (allow_domain_split(*entry, &dom, &ports) >= 0 &&
                            !cJSON_GetObjectItemCaseSensitive(learned, dom))
                                cJSON_AddArrayToObject(learned, dom);
                }
                learned_from_journal(s->name, s->allow_domains, learned);
                /* As many groups as the recorded rules have dom sets. */
                if (net_state_read(s->name, SANDY_NFT_INNER_FILE, &inner) >= 0)
                        for (const char *p = inner; (p = strstr(p, " dom4_")); p++)
                                n_groups++;
                inner = mfree(inner);
                cJSON_AddItemToObject(o, "allowed_now4", learned_now(nsfd, n_groups, 4));
                cJSON_AddItemToObject(o, "allowed_now6", learned_now(nsfd, n_groups, 6));
        }
        if (active) {
                _cleanup_free_ char *rules = NULL;
                /* Both layers: the sandbox's own table, and its elements in the host's. */
                if (nsfd >= 0)
                        (void) nft_query_in(nsfd, "list table inet " SANDY_NFT_TABLE, &inner);
                (void) net_state_read(s->name, SANDY_NFT_HOST_FILE, &elements);
                if (xasprintf(&rules, "%s%s%s", inner ?: "", inner && elements ? "# In the host's table:\n" : "",
                              elements ?: "") >= 0)
                        cJSON_AddStringToObject(o, "rules", rules);
        }
        text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        sandbox_free(s);
        sandy_config_done(&c);
        if (!text)
                return -ENOMEM;
        return sd_bus_reply_method_return(m, "s", text);
}

static const sd_bus_vtable network_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("SetupNetwork", SD_BUS_ARGS("s", sandbox), SD_BUS_RESULT("h", netns), method_setup,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("TeardownNetwork", SD_BUS_ARGS("s", sandbox), SD_BUS_NO_RESULT, method_teardown,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DescribeEgress", SD_BUS_ARGS("s", sandbox), SD_BUS_RESULT("s", json),
                                method_describe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_network_register(sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, HELPER_OBJECT_PATH, HELPER_NETWORK_IFACE, network_vtable,
                                     NULL);
        if (r < 0)
                return r;
        r = network_guard_start();
        if (r < 0)
                log_warning_errno(r, "Cannot watch nftables; the egress rules are not self-healing: %m");
        /* The helper starts on demand, so this runs before the first call after a crash or reboot: rules and
         * links of sandboxes that are not running go before anything new is set up, and the running ones are
         * adopted (their namespaces held and watched again). */
        r = network_reconcile(false);
        if (r < 0)
                log_warning_errno(r, "Reconciling sandbox networks failed, continuing: %m");
        return 0;
}
