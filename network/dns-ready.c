/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whether a sandbox's resolver answers yet. dnsmasq cannot tell systemd when it listens (no sd_notify), so
 * sandy-dns@NAME (and sandy-dns-inside@NAME) wait in ExecStartPost= until it answers a query: only then does
 * the sandbox start, and its first lookup cannot meet a closed port. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fs-util.h"
#include "log.h"
#include "net-internal.h"
#include "string-util.h"

/* The first listen-address= of a dnsmasq configuration we wrote. */
static int first_listen_address(const char *conf, struct sockaddr_storage *ret, socklen_t *ret_len) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file(conf, 1024 * 1024, &text, NULL);
        if (r < 0)
                return r;
        for (char *state = NULL, *l = strtok_r(text, "\n", &state); l; l = strtok_r(NULL, "\n", &state)) {
                struct sockaddr_in *in = (struct sockaddr_in *) ret;
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ret;

                if (!startswith(l, "listen-address="))
                        continue;
                l += strlen("listen-address=");
                memset(ret, 0, sizeof *ret);
                if (inet_pton(AF_INET, l, &in->sin_addr) == 1) {
                        in->sin_family = AF_INET;
                        in->sin_port = htons(53);
                        *ret_len = sizeof *in;
                        return 0;
                }
                if (inet_pton(AF_INET6, l, &in6->sin6_addr) == 1) {
                        in6->sin6_family = AF_INET6;
                        in6->sin6_port = htons(53);
                        *ret_len = sizeof *in6;
                        return 0;
                }
        }
        return -ENOENT;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int resolver_wait_ready(const char *name, bool inside, unsigned timeout_ms) {
        /* A query for an unqualified name: dnsmasq (domain-needed) answers it itself, never upstream, so any
         * answer at all means it is serving. ID 0x5a5a, RD, one question "sandy-ready" A IN. */
        static const unsigned char query[] = {0x5a, 0x5a, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                              0x00, 0x00, 11,   's',  'a',  'n',  'd',  'y',  '-',  'r',
                                              'e',  'a',  'd',  'y',  0x00, 0x00, 0x01, 0x00, 0x01};
        _cleanup_free_ char *conf = NULL, *ns = NULL;
        _cleanup_close_ int sock = -EBADF;
        struct sockaddr_storage sa;
        socklen_t len;
        uint64_t deadline = now_ms() + timeout_ms;
        int r;

        conf = sandbox_net_path(name, inside ? SANDY_DNSMASQ_INSIDE_CONF : SANDY_DNSMASQ_CONF);
        if (!conf)
                return log_oom();
        r = first_listen_address(conf, &sa, &len);
        if (r < 0)
                return log_error_errno(r, "No listen address in %s: %m", conf);
        if (inside) {
                /* The inside resolver listens on the sandbox's side of its link: ask from there. */
                _cleanup_close_ int nsfd = -EBADF;
                if (xasprintf(&ns, SANDY_NETNS_DIR "/%s", name) < 0)
                        return log_oom();
                nsfd = open(ns, O_RDONLY | O_CLOEXEC);
                if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0)
                        return log_error_errno(errno, "Failed to enter the network namespace %s: %m", ns);
        }
        sock = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock < 0 || connect(sock, (struct sockaddr *) &sa, len) < 0)
                return log_error_errno(errno, "Failed to set up a query to the resolver of %s: %m", name);
        for (unsigned wait = 10;; wait = wait < 200 ? wait * 2 : 200) {
                unsigned char answer[512];
                struct pollfd p = {.fd = sock, .events = POLLIN};

                /* ECONNREFUSED from an earlier try comes back here: not listening yet. */
                (void) send(sock, query, sizeof query, 0);
                if (poll(&p, 1, (int) wait) > 0) {
                        ssize_t n = recv(sock, answer, sizeof answer, 0);
                        if (n >= 12 && answer[0] == query[0] && answer[1] == query[1] && (answer[2] & 0x80))
                                return 0;
                }
                if (now_ms() >= deadline)
                        return log_error_errno(ETIMEDOUT, "The resolver of sandbox %s does not answer after %u ms.",
                                               name, timeout_ms);
        }
}
