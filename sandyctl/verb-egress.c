/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandyctl egress NAME...: what a sandbox may reach, from sandy-helper's DescribeEgress: mode, addresses,
 * the allow lists and their ports, the addresses learned for each allowed domain, and the nft rules in
 * force (the sandbox's own table, and its elements in the host's). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "bus-util.h"
#include "log.h"
#include "sandyctl.h"
#include "strv.h"
#include "string-util.h"

static void print_list(const char *label, cJSON *a) {
        cJSON *it;
        bool first = true;

        printf("%16s: ", label);
        cJSON_ArrayForEach(it, a) {
                if (cJSON_IsString(it))
                        printf("%s%s", first ? "" : " ", it->valuestring);
                else if (cJSON_IsNumber(it))
                        printf("%s%d", first ? "" : " ", it->valueint);
                else if (cJSON_IsObject(it)) {
                        cJSON *h = cJSON_GetObjectItem(it, "host"), *c = cJSON_GetObjectItem(it, "container");
                        printf("%stcp:%d:%d", first ? "" : " ", h ? h->valueint : 0, c ? c->valueint : 0);
                }
                first = false;
        }
        puts(first ? "-" : "");
}

static const char *str(cJSON *o, const char *k) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int show(const char *json) {
        cJSON *o = cJSON_Parse(json), *learned, *it;

        if (!o)
                return log_error_errno(EBADMSG, "The helper's answer is not JSON.");
        printf("%s%s%s\n", ansi(ANSI_BOLD), str(o, "sandbox") ?: "?", ansi(ANSI_NORMAL));
        printf("%16s: %s%s\n", "Mode", str(o, "mode") ?: "?",
               cJSON_IsTrue(cJSON_GetObjectItem(o, "active")) ? " (set up)" : " (not set up)");
        if (str(o, "interface"))
                printf("%16s: %s\n", "Host link", str(o, "interface"));
        if (str(o, "address4"))
                printf("%16s: %s%s%s\n", "Address", str(o, "address4"), str(o, "address6") ? " " : "",
                       str(o, "address6") ?: "");
        if (str(o, "resolver4"))
                printf("%16s: %s%s%s\n", "Resolver", str(o, "resolver4"), str(o, "resolver6") ? " " : "",
                       str(o, "resolver6") ?: "");
        print_list("AllowDomain", cJSON_GetObjectItem(o, "allow_domains"));
        print_list("AllowAddress", cJSON_GetObjectItem(o, "allow_addresses"));
        /* Entries without ":PORTS" allow these (strict only). */
        if (streq_ptr(str(o, "mode"), "strict") && str(o, "default_ports"))
                printf("%16s: %s\n", "Default ports", str(o, "default_ports"));
        print_list("AllowHostPort", cJSON_GetObjectItem(o, "allow_host_ports"));
        print_list("Port", cJSON_GetObjectItem(o, "ports"));
        learned = cJSON_GetObjectItem(o, "learned");
        if (learned) {
                puts("         Learned:");
                cJSON_ArrayForEach(it, learned) {
                        printf("%16s  %s: ", "", it->string);
                        cJSON *a;
                        bool first = true;
                        cJSON_ArrayForEach(a, it) {
                                printf("%s%s", first ? "" : " ", a->valuestring);
                                first = false;
                        }
                        puts(first ? "(nothing resolved yet)" : "");
                }
                print_list("Allowed now", cJSON_GetObjectItem(o, "allowed_now4"));
                print_list("Allowed now (6)", cJSON_GetObjectItem(o, "allowed_now6"));
        }
        if (str(o, "rules")) {
                puts("           Rules:");
                fputs(str(o, "rules"), stdout);
        }
        cJSON_Delete(o);
        return 0;
}

int verb_egress(int argc, char *argv[]) {
        _cleanup_bus_unref_ sd_bus *bus = NULL;
        cJSON *all = NULL;
        int r, ret = 0;

        r = bus_connect_system(&bus);
        if (r < 0)
                return r;
        if (arg_json)
                all = cJSON_CreateArray();
        for (int i = 1; i < argc; i++) {
                _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
                const char *json;

                r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_NETWORK_IFACE,
                                       "DescribeEgress", &error, &reply, "s", argv[i]);
                if (r < 0) {
                        if (sd_bus_error_has_name(&error, HELPER_ERROR_NO_SUCH_SANDBOX)) {
                                log_error("Sandbox %s is not declared.", argv[i]);
                                ret = ret ?: EXIT_NO_SUCH_SANDBOX;
                        } else
                                ret = bus_log_call_error(r, &error, "DescribeEgress");
                        continue;
                }
                r = sd_bus_message_read(reply, "s", &json);
                if (r < 0) {
                        ret = log_error_errno(r, "Bad reply from the helper: %m");
                        continue;
                }
                if (all)
                        cJSON_AddItemToArray(all, cJSON_Parse(json));
                else {
                        if (i > 1)
                                putchar('\n');
                        r = show(json);
                        if (r < 0)
                                ret = r;
                }
        }
        if (all) {
                /* One sandbox: its object; several: an array. */
                cJSON *out = all;
                if (cJSON_GetArraySize(all) == 1 && argc == 2) {
                        out = cJSON_DetachItemFromArray(all, 0);
                        cJSON_Delete(all);
                }
                r = json_print_and_free(out);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}
