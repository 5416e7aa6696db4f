/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* polkit checks for sandy-helper's methods, and who may use which sandbox. Nothing is cached across calls:
 * every call asks polkit again, so a changed group membership, rule or declaration applies at once. An
 * answer is kept only until the method call it belongs to is dispatched again. Always asynchronous: one
 * caller's unanswered authentication dialog never holds up another caller. */
#include <errno.h>
#include <pwd.h>
#include <string.h>

#include "bus-names.h"
#include "bus-polkit.h"
#include "log.h"
#include "macro.h"
#include "sandbox.h"
#include "strv.h"
#include "string-util.h"

/* Long enough for a person to type a password at an authentication agent. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5ULL * 60 * 1000000)

int bus_sender_uid(sd_bus_message *m, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r;

        /* Only what the bus daemon vouches for (the connection's peer credentials), never data augmented
         * from /proc, which a sender could race by exiting and having its PID reused. */
        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, ret);
        if (r == -ENODATA)
                r = sd_bus_creds_get_uid(creds, ret);
        return r;
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

/* ---- who may use which sandbox */

/* Load a declared sandbox for an access decision, quietly (sandyctl verify and the methods themselves
 * report declaration errors); error set with the reason when there is none to decide on. */
static int load_for_access(const char *name, Sandbox **ret, sd_bus_error *error) {
        _cleanup_strv_free_ char **dirs = sandbox_search_path(SANDY_SEARCH_PATH_DEFAULT);
        int level = log_get_max_level(), r;

        if (!sandbox_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "\"%s\" is not a valid sandbox name.",
                                         name);
        if (!dirs)
                return -ENOMEM;
        log_set_max_level(LOG_CRIT);
        r = sandbox_load(dirs, name, ret);
        log_set_max_level(level);
        if (r == -ENOENT || r == -ENXIO)
                return sd_bus_error_setf(error, HELPER_ERROR_NO_SUCH_SANDBOX, "Sandbox %s is not declared.", name);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return sd_bus_error_setf(error, HELPER_ERROR_INVALID_DECLARATION,
                                         "Sandbox %s has errors in its declaration (\"sandyctl verify %s\" shows "
                                         "them).",
                                         name, name);
        return 0;
}

int bus_sandbox_access(const char *name, uid_t uid, bool *ret_allowed, uid_t *ret_owner, char **ret_user,
                       sd_bus_error *error) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        uid_t owner;
        int r;

        r = load_for_access(name, &s, error);
        if (r < 0)
                return r;
        (void) sandbox_owner_uid(s, &owner); /* Owner= naming nobody: root's, as it says */
        *ret_allowed = sandbox_uid_allowed(s, owner, uid);
        if (ret_owner)
                *ret_owner = owner;
        if (ret_user) {
                *ret_user = strdup(s->user);
                if (!*ret_user)
                        return -ENOMEM;
        }
        return 0;
}

int bus_sandbox_check_current(sd_bus *bus, Sandbox **s, sd_bus_error *error) {
        _cleanup_free_ char *recorded = NULL;
        int r;

        /* The units of the sandbox were generated from some text; acting on another one (a drop-in edited
         * since, a new workspace or egress list) would mix the two. */
        r = sandbox_unit_digest(bus, (*s)->name, &recorded);
        if (r < 0) {
                log_warning_errno(r, "Cannot ask systemd which declaration sandbox %s was generated from: %m",
                                  (*s)->name);
                r = sd_bus_error_set_errnof(error, r, "Cannot ask systemd which declaration sandbox %s was "
                                                      "generated from: %m",
                                            (*s)->name);
        } else if (sandbox_check_digest(*s, recorded) < 0)
                r = sd_bus_error_setf(error, HELPER_ERROR_STALE_DECLARATION,
                                      "The declaration of sandbox %s " SANDBOX_STALE_MESSAGE ".", (*s)->name);
        if (r < 0)
                *s = sandbox_free(*s);
        return r;
}

static const char *details_sandbox(const char *const *details) {
        for (const char *const *d = details; d && d[0] && d[1]; d += 2)
                if (streq(d[0], "sandbox"))
                        return d[1];
        return NULL;
}

/* The check to ask polkit for: action itself when the caller may use the sandbox named in details (or
 * none is named), POLKIT_ACTION_OTHER_SANDBOX otherwise, which only administrators pass. When the sandbox
 * cannot be decided on (not declared, errors), *refusal says so, for the caller who is refused. */
static int access_action(sd_bus_message *m, uid_t uid, const char *action, const char *const *details,
                         const char **ret_action, sd_bus_error *refusal) {
        const char *name = details_sandbox(details);
        bool allowed = false;
        int r;

        *ret_action = action;
        if (!name)
                return 0;
        r = bus_sandbox_access(name, uid, &allowed, NULL, NULL, refusal);
        if (r == -ENOMEM)
                return r;
        if (!allowed) {
                log_debug("UID %u is not allowed on sandbox %s; asking polkit for %s.", (unsigned) uid, name,
                          POLKIT_ACTION_OTHER_SANDBOX);
                *ret_action = POLKIT_ACTION_OTHER_SANDBOX;
        }
        return 0;
}

/* What every check does first: a root caller is authorized without asking (1); otherwise the
 * CheckAuthorization call for polkit is built (0), for the action access_action() picks. Negative with
 * error set on failure. */
static int begin_check(sd_bus_message *m, const char *action, const char *const *details, sd_bus_message **ret,
                       char **ret_asked, sd_bus_error *refusal, sd_bus_error *error) {
        const char *asked;
        uid_t uid;
        int r;

        if (!sd_bus_message_get_sender(m))
                return sd_bus_error_set_errnof(error, EBADMSG, "Message has no sender.");
        r = bus_sender_uid(m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to get the credentials of the caller: %m");
        if (uid == 0)
                return 1;
        r = access_action(m, uid, action, details, &asked, refusal);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to decide about %s: %m", action);
        if (asked != action) {
                /* polkit rules see which check it was for. */
                const char *name = details_sandbox(details);
                const char *d[] = {"sandbox", name, "action", action, NULL};
                r = new_check(m, asked, d, ret);
        } else
                r = new_check(m, action, details, ret);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit about %s: %m", asked);
        *ret_asked = strdup(asked);
        if (!*ret_asked)
                return sd_bus_error_set_errnof(error, ENOMEM, "Out of memory.");
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

/* ---- async */

typedef struct Query Query;
struct Query {
        Query *next;
        sd_bus_message *request; /* the method call being authorized */
        char *action;            /* what the method asked for */
        char *asked;             /* what polkit was asked: action, or POLKIT_ACTION_OTHER_SANDBOX */
        char *sandbox;           /* the "sandbox" detail, if any */
        sd_bus_error refusal;    /* when refused: why the sandbox was not the caller's to use, if known */
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
        sd_bus_error_free(&q->refusal);
        free(q->action);
        free(q->asked);
        free(q->sandbox);
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
        q->result = parse_reply(e ? NULL : reply, e, q->asked, &q->error);
        if (q->result <= 0 && sd_bus_error_is_set(&q->refusal)) {
                /* "not declared" says more than "not authorized" */
                sd_bus_error_free(&q->error);
                sd_bus_error_copy(&q->error, &q->refusal);
        } else if (q->result <= 0 && !streq(q->asked, q->action) && q->error.name) {
                /* Say what it was about, keeping the error's name (a client may offer to authenticate). */
                _cleanup_free_ char *name = strdup(q->error.name);
                sd_bus_error_free(&q->error);
                if (name)
                        sd_bus_error_setf(&q->error, name,
                                          "Access denied: sandbox %s is not yours to use (Owner=, AllowUsers=, "
                                          "AllowGroups= in its declaration), and %s on another user's sandbox "
                                          "needs an administrator (%s).",
                                          q->sandbox ?: "?", q->action, q->asked);
        }
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
        _cleanup_(sd_bus_error_free) sd_bus_error refusal = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *asked = NULL;
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

        r = begin_check(m, action, details, &call, &asked, &refusal, error);
        if (r != 0)
                return r;
        q = new0(Query, 1);
        if (!q)
                return -ENOMEM;
        q->request = sd_bus_message_ref(m);
        q->action = strdup(action);
        q->asked = TAKE_PTR(asked);
        if (details_sandbox(details) && !(q->sandbox = strdup(details_sandbox(details)))) {
                query_free(q);
                return -ENOMEM;
        }
        q->error = SD_BUS_ERROR_NULL;
        q->refusal = SD_BUS_ERROR_NULL;
        /* sd_bus_error_copy() returns the copied error as an errno: check what it did instead. */
        (void) sd_bus_error_copy(&q->refusal, &refusal);
        if (!q->action || sd_bus_error_is_set(&refusal) != sd_bus_error_is_set(&q->refusal)) {
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

/* ---- org.sandy.Helper1.Access */

static int method_check_access(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_sandbox_free_ Sandbox *s = NULL;
        _cleanup_free_ char *owner_name = NULL;
        const char *name;
        uid_t uid, owner;
        struct passwd *pw;
        int r;

        /* Answers without asking polkit: sandy-polkit-check calls this while polkitd waits for it. What it
         * tells (who owns a sandbox, and its User=) is in the declaration for everyone to read anyway. */
        r = sd_bus_message_read(m, "su", &name, &uid);
        if (r < 0)
                return r;
        r = load_for_access(name, &s, error);
        if (r < 0)
                return r;
        r = bus_sandbox_check_current(sd_bus_message_get_bus(m), &s, error);
        if (r < 0)
                return r;
        (void) sandbox_owner_uid(s, &owner);
        pw = getpwuid(owner);
        if (pw ? !(owner_name = strdup(pw->pw_name)) : xasprintf(&owner_name, "%u", (unsigned) owner) < 0)
                return -ENOMEM;
        return sd_bus_reply_method_return(m, "bss", sandbox_uid_allowed(s, owner, uid), owner_name, s->user);
}

static const sd_bus_vtable access_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("CheckAccess", SD_BUS_ARGS("s", sandbox, "u", uid),
                                SD_BUS_RESULT("b", allowed, "s", owner, "s", user), method_check_access,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_access_register(sd_bus *bus) {
        return sd_bus_add_object_vtable(bus, NULL, HELPER_OBJECT_PATH, HELPER_ACCESS_IFACE, access_vtable, NULL);
}
