/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit checks for sandy-helper's methods. Nothing is cached across calls: every call asks polkit again,
 * so a changed group membership or rule applies at once. The async form keeps an answer only until the
 * method call it belongs to is dispatched again. */
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

static int new_check(sd_bus_message *m, const char *action, const char *const *details, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        int r;

        r = sd_bus_message_new_method_call(sd_bus_message_get_bus(m), &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s", sd_bus_message_get_sender(m),
                                  action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(call, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(call, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(call);
        if (r < 0)
                return r;
        /* flags: 1 = AllowUserInteraction; empty cancellation id */
        r = sd_bus_message_append(call, "us", interactive ? 1U : 0U, "");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(call);
        return 0;
}

/* What both forms do first: a root caller is authorized without asking (1); otherwise the
 * CheckAuthorization call for polkit is built (0). Negative with error set on failure. */
static int begin_check(sd_bus_message *m, const char *action, const char *const *details, sd_bus_message **ret,
                       sd_bus_error *error) {
        int r;

        if (!sd_bus_message_get_sender(m))
                return sd_bus_error_set_errnof(error, EBADMSG, "Message has no sender.");
        r = sender_is_root(m);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to get the credentials of the caller: %m");
        if (r > 0)
                return 1;
        r = new_check(m, action, details, ret);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit about %s: %m", action);
        return 0;
}

/* Turn polkit's reply (or the failure to get one) into 1, or 0 with error set. */
static int parse_reply(sd_bus_message *reply, const sd_bus_error *call_error, const char *action,
                       sd_bus_error *error) {
        int authorized = 0, challenge = 0, r;

        if (sd_bus_error_is_set(call_error) || !reply) {
                log_warning("polkit check of %s failed: %s", action,
                            call_error && call_error->message ? call_error->message : "no reply");
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Access denied: cannot check authorization for %s, polkit did not answer (%s).",
                                  action, call_error && call_error->message ? call_error->message : "no reply");
                return 0;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to parse polkit's answer about %s: %m", action);
        if (authorized)
                return 1;
        if (challenge)
                sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  "Access denied: %s needs administrator authentication, and the call did not allow "
                                  "interactive authorization.",
                                  action);
        else
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Access denied: polkit does not allow %s for this user.", action);
        return 0;
}

int bus_verify_polkit(sd_bus_message *m, const char *action, const char *const *details, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error perror = SD_BUS_ERROR_NULL;
        int r;

        r = begin_check(m, action, details, &call, error);
        if (r != 0)
                return r;
        r = sd_bus_call(sd_bus_message_get_bus(m), call,
                        sd_bus_message_get_allow_interactive_authorization(m) > 0 ? POLKIT_INTERACTIVE_TIMEOUT_USEC : 0,
                        &perror, &reply);
        if (r < 0 && !sd_bus_error_is_set(&perror))
                sd_bus_error_set_errno(&perror, r);
        return parse_reply(r < 0 ? NULL : reply, &perror, action, error);
}

/* ---- async */

typedef struct Query Query;
struct Query {
        Query *next;
        sd_bus_message *request; /* the method call being authorized */
        char *action;
        sd_bus_slot *slot;       /* the pending CheckAuthorization; NULL once answered */
        int result;              /* 1 or 0, when answered */
        sd_bus_error error;
};

static Query *queries;

static void query_free(Query *q) {
        for (Query **p = &queries; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        break;
                }
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        free(q->action);
        free(q);
}

unsigned bus_verify_polkit_pending(void) {
        unsigned n = 0;
        for (Query *q = queries; q; q = q->next)
                n++;
        return n;
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Query *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->result = parse_reply(e ? NULL : reply, e, q->action, &q->error);
        /* Dispatch the original call again; its handler finds the answer here. */
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to requeue a call after its polkit check: %m");
                (void) sd_bus_reply_method_errnof(q->request, r, "Failed to continue after the polkit check: %m");
                query_free(q);
        }
        return 1;
}

int bus_verify_polkit_async(sd_bus_message *m, const char *action, const char *const *details,
                            sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        Query *q;
        int r;

        for (q = queries; q; q = q->next)
                if (q->request == m && streq(q->action, action))
                        break;
        if (q) {
                if (q->slot)
                        return 0; /* still waiting */
                r = q->result;
                if (r <= 0)
                        sd_bus_error_copy(error, &q->error);
                query_free(q);
                return r > 0 ? 1 : -EACCES;
        }

        r = begin_check(m, action, details, &call, error);
        if (r != 0)
                return r;
        q = new0(Query, 1);
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(m);
        q->action = strdup(action);
        q->error = SD_BUS_ERROR_NULL;
        if (!q->action) {
                query_free(q);
                return -ENOMEM;
        }
        r = sd_bus_call_async(sd_bus_message_get_bus(m), &q->slot, call, on_polkit_reply, q,
                              sd_bus_message_get_allow_interactive_authorization(m) > 0
                                      ? POLKIT_INTERACTIVE_TIMEOUT_USEC
                                      : 0);
        if (r < 0) {
                query_free(q);
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit about %s: %m", action);
        }
        q->next = queries;
        queries = q;
        return 0;
}
