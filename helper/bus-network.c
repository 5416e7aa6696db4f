/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.sandy.Helper1.Network on /org/sandy/Helper1: SetupNetwork(s), TeardownNetwork(s), DescribeEgress(s).
 * Callers name a sandbox; everything else comes from its declaration, read here. */
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

/* 1: authorized; 0: polkit is asked, the call comes back later (return 1 without a reply); < 0: refused. */
static int check(sd_bus_message *m, const char *action, const char *name, sd_bus_error *error) {
        const char *details[] = {"sandbox", name, NULL};
        return bus_verify_polkit_async(m, action, details, error);
}

static int method_setup(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Sandbox *s = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = check(m, POLKIT_ACTION_NETWORK, name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        r = load_declared(m, name, &s, error);
        if (r < 0)
                return r;
        r = network_setup(s);
        sandbox_free(s);
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_NETWORK_FAILED,
                                         "Setting up the network of %s failed (see the journal of sandy-helper).",
                                         name);
        return sd_bus_reply_method_return(m, NULL);
}

static int method_teardown(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        if (!sandbox_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid sandbox name.");
        r = check(m, POLKIT_ACTION_NETWORK, name, error);
        if (r <= 0)
                return r == 0 ? 1 : r;
        /* No declaration needed: a removed declaration must still be cleaned up after. */
        r = network_teardown(name);
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_NETWORK_FAILED,
                                         "Removing the network of %s failed (see the journal of sandy-helper).", name);
        return sd_bus_reply_method_return(m, NULL);
}

/* Elements of a set, as strings. */
static cJSON *set_elements(const char *set) {
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        cJSON *a = cJSON_CreateArray();

        if (!a || xasprintf(&cmd, "list set inet " SANDY_NFT_TABLE " %s", set) < 0 || nft_query(cmd, &out) < 0)
                return a;
        char *e = strstr(out, "elements = {");
        if (!e)
                return a;
        e += strlen("elements = {");
        char *end = strchr(e, '}');
        if (end)
                *end = 0;
        for (char *tok = strtok(e, ",\n\t "); tok; tok = strtok(NULL, ",\n\t "))
                /* "ADDR expires 59m2s416ms" or "ADDR timeout 1h expires ...": keep the addresses. */
                if ((strchr(tok, '.') || strchr(tok, ':')) && strspn(tok, "0123456789abcdef.:") == strlen(tok))
                        cJSON_AddItemToArray(a, cJSON_CreateString(tok));
        return a;
}

/* "reply NAME is ADDR" lines of the sandbox's dnsmasq (log-queries, strict mode) in this boot's journal. */
static void learned_from_journal(const char *name, char *const *domains, cJSON *learned) {
        _cleanup_free_ char *match = NULL;
        sd_journal *j = NULL;

        if (xasprintf(&match, "_SYSTEMD_UNIT=" SANDBOX_DNS_UNIT_FMT, name) < 0)
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
                STRV_FOREACH(dom, domains) {
                        const char *rest = endswith(host, *dom) ? host + strlen(host) - strlen(*dom) : NULL;
                        if (!rest || !(rest == host || rest[-1] == '.'))
                                continue;
                        cJSON *arr = cJSON_GetObjectItemCaseSensitive(learned, *dom);
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
        _cleanup_free_ char *text = NULL, *rules_fwd = NULL, *rules_in = NULL, *cmd = NULL;
        Sandbox *s = NULL;
        SandyConfig c = {};
        char ifname[IFNAMSIZ];
        const char *name;
        unsigned slot = 0;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = check(m, POLKIT_ACTION_STATUS, name, error);
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
        cJSON_AddBoolToObject(o, "active", active);
        if (IN_SET(s->network_mode, NETWORK_LENIENT, NETWORK_STRICT)) {
                cJSON_AddStringToObject(o, "interface", ifname);
                if (active) {
                        NetAddrs a;
                        if (net_addrs_for_slot(&c, slot, &a) >= 0) {
                                /* "address": what sandyctl list shows. */
                                cJSON_AddStringToObject(o, "address", a.sandbox4);
                                cJSON_AddStringToObject(o, "address4", a.sandbox4);
                                cJSON_AddStringToObject(o, "resolver4", a.host4);
                                if (a.ipv6) {
                                        cJSON_AddStringToObject(o, "address6", a.sandbox6);
                                        cJSON_AddStringToObject(o, "resolver6", a.host6);
                                }
                        }
                }
        }
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
                _cleanup_free_ char *s4 = NULL, *s6 = NULL;
                cJSON *learned = cJSON_AddObjectToObject(o, "learned");
                STRV_FOREACH(d, s->allow_domains) cJSON_AddArrayToObject(learned, *d);
                learned_from_journal(s->name, s->allow_domains, learned);
                if (xasprintf(&s4, "sb_%s_a4", s->name) >= 0 && xasprintf(&s6, "sb_%s_a6", s->name) >= 0) {
                        cJSON_AddItemToObject(o, "allowed_now4", set_elements(s4));
                        cJSON_AddItemToObject(o, "allowed_now6", set_elements(s6));
                }
        }
        if (active) {
                if (xasprintf(&cmd, "list chain inet " SANDY_NFT_TABLE " sb_%s_fwd", s->name) >= 0)
                        (void) nft_query(cmd, &rules_fwd);
                cmd = mfree(cmd);
                if (xasprintf(&cmd, "list chain inet " SANDY_NFT_TABLE " sb_%s_in", s->name) >= 0)
                        (void) nft_query(cmd, &rules_in);
                _cleanup_free_ char *rules = NULL;
                if (xasprintf(&rules, "%s%s", rules_fwd ?: "", rules_in ?: "") >= 0)
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
        SD_BUS_METHOD_WITH_ARGS("SetupNetwork", SD_BUS_ARGS("s", sandbox), SD_BUS_NO_RESULT, method_setup,
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
        /* The helper starts on demand, so this runs before the first call after a crash or reboot: rules and
         * links of sandboxes that are not running go before anything new is set up. */
        r = network_reconcile();
        if (r < 0)
                log_warning_errno(r, "Reconciling sandbox networks failed, continuing: %m");
        return 0;
}
