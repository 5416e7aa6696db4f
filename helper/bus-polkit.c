/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit checks for sandy-helper's methods. Nothing is cached: every call asks polkit again, so a changed
 * group membership or rule applies at once. */
#include <errno.h>
#include <string.h>

#include "bus-polkit.h"
#include "log.h"
#include "macro.h"

/* Long enough for a person to type a password at an authentication agent. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5ULL * 60 * 1000000)

static int sender_is_root(sd_bus_message *m) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        /* Only what the bus daemon vouches for (the connection's peer credentials), never data augmented
         * from /proc, which a sender could race by exiting and having its PID reused. */
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r == -ENODATA)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return r;
        return uid == 0;
}

int bus_verify_polkit(sd_bus_message *m, const char *action, const char *const *details, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error perror = SD_BUS_ERROR_NULL;
        sd_bus *bus = sd_bus_message_get_bus(m);
        const char *sender = sd_bus_message_get_sender(m);
        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        int authorized = 0, challenge = 0, r;

        if (!sender)
                return sd_bus_error_set_errnof(error, EBADMSG, "Message has no sender.");

        r = sender_is_root(m);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to get the credentials of %s: %m", sender);
        if (r > 0)
                return 1;

        r = sd_bus_message_new_method_call(bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                goto fail;
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r < 0)
                goto fail;
        r = sd_bus_message_open_container(call, 'a', "{ss}");
        if (r < 0)
                goto fail;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(call, "{ss}", d[0], d[1]);
                if (r < 0)
                        goto fail;
        }
        r = sd_bus_message_close_container(call);
        if (r < 0)
                goto fail;
        /* flags: 1 = AllowUserInteraction; empty cancellation id */
        r = sd_bus_message_append(call, "us", interactive ? 1U : 0U, "");
        if (r < 0)
                goto fail;

        r = sd_bus_call(bus, call, interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0, &perror, &reply);
        if (r < 0) {
                log_warning("polkit check of %s for %s failed: %s", action, sender, perror.message ?: strerror(-r));
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Cannot check authorization for %s: polkit did not answer (%s).", action,
                                         perror.message ?: strerror(-r));
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r < 0)
                goto fail;
        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                goto fail;
        if (authorized)
                return 1;
        if (challenge)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "Access denied: %s needs administrator authentication, and the call did "
                                         "not allow interactive authorization.",
                                         action);
        sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Access denied: polkit does not allow %s for this user.",
                          action);
        return 0;

fail:
        return sd_bus_error_set_errnof(error, r, "Failed to ask polkit about %s: %m", action);
}
