/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "log.h"

static int max_level = LOG_INFO;
static int kmsg_fd = -EBADF;
static const char *kmsg_ident = NULL;
static unsigned n_errors = 0;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

unsigned log_error_count(void) {
        return n_errors;
}

void log_open_kmsg(const char *ident) {
        if (kmsg_fd >= 0)
                return;
        kmsg_ident = ident;
        kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

void log_close(void) {
        kmsg_fd = safe_close(kmsg_fd);
}

static void log_write(int level, const char *msg) {
        if (kmsg_fd >= 0) {
                char prefix[64];
                /* kmsg takes "<prio>ident[pid]: msg"; one write() is one record. */
                snprintf(prefix, sizeof(prefix), "<%d>%s[%d]: ", level, kmsg_ident ?: "sandy", (int) getpid());
                struct iovec iov[] = {
                        {.iov_base = prefix, .iov_len = strlen(prefix)},
                        {.iov_base = (char *) msg, .iov_len = strlen(msg)},
                        {.iov_base = (char *) "\n", .iov_len = 1},
                };
                (void) writev(kmsg_fd, iov, ELEMENTSOF(iov));
        }
        fprintf(stderr, "%s\n", msg);
}

static int log_dispatch(int level, int error, const char *fmt, va_list ap) {
        char buf[2048];

        if (error < 0)
                error = -error;
        if (level <= LOG_ERR)
                n_errors++;
        if (level > max_level)
                return -error;

        /* Let "%m" print the error we were handed. */
        errno = error;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        log_write(level, buf);
        return -error;
}

int log_internal(int level, int error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = log_dispatch(level, error, fmt, ap);
        va_end(ap);
        return r;
}

int log_syntax_internal(const char *file, unsigned line, int level, int error, const char *fmt, ...) {
        char buf[1536];
        va_list ap;

        va_start(ap, fmt);
        errno = error < 0 ? -error : error;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);

        if (line > 0)
                return log_internal(level, error, "%s:%u: %s", file, line, buf);
        return log_internal(level, error, "%s: %s", file, buf);
}

int log_oom(void) {
        return log_error_errno(ENOMEM, "Out of memory.");
}
