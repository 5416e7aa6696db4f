/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Calls to sandy-helper's image and state methods, parsed into plain structures. */
#include <string.h>

#include "bus-util.h"
#include "helper-client.h"
#include "log.h"
#include "strv.h"
#include "string-util.h"

void helper_images_done(HelperImages *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->images[i].id);
                free(l->images[i].source);
                free(l->images[i].rootfs);
                strv_free(l->images[i].sandboxes);
        }
        l->images = mfree(l->images);
        l->n = 0;
}

static int read_image(sd_bus_message *reply, HelperImage *i) {
        const char *id, *source, *rootfs;
        int r;

        r = sd_bus_message_enter_container(reply, 'r', "sssttas");
        if (r <= 0)
                return r;
        r = sd_bus_message_read(reply, "ssstt", &id, &source, &rootfs, &i->size, &i->built_usec);
        if (r < 0)
                return r;
        if (!(i->id = strdup(id)) || !(i->rootfs = strdup(rootfs)) || (!isempty(source) && !(i->source = strdup(source))))
                return -ENOMEM;
        r = sd_bus_message_read_strv(reply, &i->sandboxes);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        return r < 0 ? r : 1;
}

int helper_list_images(sd_bus *bus, const char *what, HelperImages *ret) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        HelperImages l = {};
        int r;

        *ret = (HelperImages){};
        if (!bus)
                r = -ENOTCONN;
        else
                r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_MANAGER_IFACE, "ListImages",
                                       &error, &reply, "");
        if (r < 0) {
                log_warning("Cannot ask sandy-helper about the images (%s); %s.",
                            sd_bus_error_is_set(&error) ? error.message : strerror(-r), what);
                return r;
        }
        r = sd_bus_message_enter_container(reply, 'a', "(sssttas)");
        for (;;) {
                HelperImage *n;

                if (r < 0)
                        break;
                n = realloc(l.images, sizeof(HelperImage) * (l.n + 1));
                if (!n) {
                        r = -ENOMEM;
                        break;
                }
                l.images = n;
                l.images[l.n] = (HelperImage){};
                r = read_image(reply, &l.images[l.n]);
                if (r <= 0)
                        break;
                l.n++;
        }
        if (r < 0) {
                l.n++; /* the one being read */
                helper_images_done(&l);
                return log_error_errno(r, "Failed to parse the reply of ListImages: %m");
        }
        *ret = l;
        return 0;
}

const HelperImage *helper_images_of_sandbox(const HelperImages *l, const char *name) {
        for (size_t i = 0; i < l->n; i++)
                if (strv_contains(l->images[i].sandboxes, name))
                        return &l->images[i];
        return NULL;
}

int helper_describe_state(sd_bus *bus, const char *name, char ***ret_report_names, char ***ret_report_texts,
                          char ***ret_errors) {
        _cleanup_bus_message_unref_ sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **names = NULL, **texts = NULL, **errors = NULL;
        const char *n, *t;
        int r;

        if (!bus)
                return -ENOTCONN;
        r = sd_bus_call_method(bus, HELPER_BUS_NAME, HELPER_OBJECT_PATH, HELPER_STATE_IFACE, "DescribeState", NULL,
                               &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ss)", &n, &t)) > 0)
                if (strv_extend(&names, n) < 0 || strv_extend(&texts, t) < 0)
                        return -ENOMEM;
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &errors);
        if (r < 0)
                return r;
        *ret_report_names = TAKE_PTR(names);
        *ret_report_texts = TAKE_PTR(texts);
        *ret_errors = TAKE_PTR(errors);
        return 0;
}
