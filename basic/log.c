/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "log.h"

static int max_level = LOG_INFO;
static int kmsg_fd = -EBADF;
static const char *kmsg_ident = NULL;
static bool use_journal = false;
static unsigned n_errors = 0;
/* Set while log_syntax() formats, so the journal record can carry the location as fields. */
static const char *syntax_file = NULL;
static unsigned syntax_line = 0;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

unsigned log_error_count(void) {
        return n_errors;
}

void log_open_system(const char *ident) {
        kmsg_ident = ident;
        /* At daemon-reload journald runs and takes structured records; early at boot, and in
         * containers where there is no /dev/kmsg, it may not. */
        if (access("/run/systemd/journal/socket", W_OK) >= 0) {
                use_journal = true;
                return;
        }
        if (kmsg_fd < 0)
                kmsg_fd = open("/dev/kmsg", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

void log_close(void) {
        kmsg_fd = safe_close(kmsg_fd);
        use_journal = false;
}

/* Whether stderr is systemd's journal stream for this service (JOURNAL_STREAM names its device and inode):
 * then each line starts with "<PRIORITY>", which journald takes as the line's priority, so errors are
 * errors in "journalctl -p err" and in what sandyctl shows of a failed start. */
static bool stderr_is_journal(void) {
        static int cached = -1;
        unsigned long long dev, ino;
        const char *e;
        struct stat st;

        if (cached >= 0)
                return cached;
        e = getenv("JOURNAL_STREAM");
        cached = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                 (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
        return cached;
}

static void log_write(int level, const char *msg) {
        if (use_journal) {
                if (syntax_file)
                        (void) sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=%s",
                                               kmsg_ident, "CONFIG_FILE=%s", syntax_file, "CONFIG_LINE=%u",
                                               syntax_line, NULL);
                else
                        (void) sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level, "SYSLOG_IDENTIFIER=%s",
                                               kmsg_ident, NULL);
        } else if (kmsg_fd >= 0) {
                char prefix[64];
                /* kmsg takes "<prio>ident[pid]: msg"; one write() is one record. */
                snprintf(prefix, sizeof(prefix), "<%d>%s[%d]: ", level, kmsg_ident ?: "sandy", (int) getpid());
                struct iovec iov[] = {
                        {.iov_base = prefix, .iov_len = strlen(prefix)},
                        {.iov_base = (char *) msg, .iov_len = strlen(msg)},
                        {.iov_base = (char *) "\n", .iov_len = 1},
                };
                (void) !writev(kmsg_fd, iov, ELEMENTSOF(iov));
        }
        if (stderr_is_journal())
                fprintf(stderr, "<%d>%s\n", level, msg);
        else
                fprintf(stderr, "%s\n", msg);
}

_printf_(3, 0) static int log_dispatch(int level, int error, const char *fmt, va_list ap) {
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

        syntax_file = file;
        syntax_line = line;
        int r = line > 0 ? log_internal(level, error, "%s:%u: %s", file, line, buf)
                         : log_internal(level, error, "%s: %s", file, buf);
        syntax_file = NULL;
        return r;
}

int log_oom(void) {
        return log_error_errno(ENOMEM, "Out of memory.");
}
