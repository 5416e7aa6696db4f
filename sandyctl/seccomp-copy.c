/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs-util.h"
#include "seccomp-copy.h"

#define MAGIC "SANDYSECCOMP1"
#define FILTERS_MAX 64U

void seccomp_filters_done(SeccompFilters *f) {
        for (size_t i = 0; i < f->n; i++)
                free(f->progs[i].filter);
        f->progs = mfree(f->progs);
        f->n = 0;
}

static int filters_push(SeccompFilters *f, struct sock_filter *insns, unsigned short len) {
        struct sock_fprog *n = realloc(f->progs, sizeof(struct sock_fprog) * (f->n + 1));
        if (!n)
                return -ENOMEM;
        f->progs = n;
        f->progs[f->n++] = (struct sock_fprog){.len = len, .filter = insns};
        return 0;
}

int seccomp_filters_read(pid_t pid, SeccompFilters *ret) {
        SeccompFilters f = {};
        struct sock_filter *bufs[FILTERS_MAX] = {};
        long lens[FILTERS_MAX] = {};
        unsigned n = 0;
        int status, r = 0, sig = 0;

        if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0)
                return -errno;
        if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0) {
                r = -errno;
                goto detach;
        }
        for (;;) {
                if (waitpid(pid, &status, __WALL) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto detach;
                }
                if (WIFEXITED(status) || WIFSIGNALED(status))
                        return -ESRCH;
                if (WIFSTOPPED(status))
                        break;
        }
        /* A signal that arrived meanwhile must be delivered after all. */
        if (status >> 16 == 0)
                sig = WSTOPSIG(status);
        /* Index 0 is the newest; they are loaded oldest first. */
        for (n = 0; n < FILTERS_MAX; n++) {
                long len = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *) (uintptr_t) n, NULL);
                if (len < 0) {
                        if (errno != ENOENT)
                                r = -errno;
                        break;
                }
                bufs[n] = calloc((size_t) len, sizeof(struct sock_filter));
                if (!bufs[n]) {
                        r = -ENOMEM;
                        break;
                }
                lens[n] = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *) (uintptr_t) n, bufs[n]);
                if (lens[n] != len) {
                        r = lens[n] < 0 ? -errno : -EIO;
                        n++;
                        break;
                }
        }
detach:
        (void) ptrace(PTRACE_DETACH, pid, NULL, (void *) (uintptr_t) sig);
        for (unsigned i = n; r >= 0 && i > 0; i--) {
                r = filters_push(&f, bufs[i - 1], (unsigned short) lens[i - 1]);
                if (r >= 0)
                        bufs[i - 1] = NULL;
        }
        for (unsigned i = 0; i < FILTERS_MAX; i++)
                free(bufs[i]);
        if (r < 0) {
                seccomp_filters_done(&f);
                return r;
        }
        if (f.n == 0)
                return -ENOMEDIUM; /* no filter at all: refuse rather than run unfiltered */
        *ret = f;
        return 0;
}

int seccomp_filters_save(const SeccompFilters *f, const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t size = strlen(MAGIC), off;

        for (size_t i = 0; i < f->n; i++)
                size += sizeof(uint32_t) + f->progs[i].len * sizeof(struct sock_filter);
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, MAGIC, strlen(MAGIC));
        off = strlen(MAGIC);
        for (size_t i = 0; i < f->n; i++) {
                uint32_t len = f->progs[i].len;
                memcpy(buf + off, &len, sizeof len);
                off += sizeof len;
                memcpy(buf + off, f->progs[i].filter, len * sizeof(struct sock_filter));
                off += len * sizeof(struct sock_filter);
        }
        return write_file_atomic(path, buf, size, 0600);
}

int seccomp_filters_load(const char *path, SeccompFilters *ret) {
        _cleanup_free_ char *buf = NULL;
        SeccompFilters f = {};
        size_t size, off;
        int r;

        r = read_full_file(path, 4 * 1024 * 1024, &buf, &size);
        if (r < 0)
                return r;
        if (size < strlen(MAGIC) || memcmp(buf, MAGIC, strlen(MAGIC)) != 0)
                return -EBADMSG;
        for (off = strlen(MAGIC); off < size;) {
                uint32_t len;
                struct sock_filter *insns;

                if (size - off < sizeof len || f.n >= FILTERS_MAX)
                        goto bad;
                memcpy(&len, buf + off, sizeof len);
                off += sizeof len;
                if (len == 0 || len > BPF_MAXINSNS || (size - off) / sizeof(struct sock_filter) < len)
                        goto bad;
                insns = malloc(len * sizeof(struct sock_filter));
                if (!insns) {
                        seccomp_filters_done(&f);
                        return -ENOMEM;
                }
                memcpy(insns, buf + off, len * sizeof(struct sock_filter));
                off += len * sizeof(struct sock_filter);
                if (filters_push(&f, insns, (unsigned short) len) < 0) {
                        free(insns);
                        seccomp_filters_done(&f);
                        return -ENOMEM;
                }
        }
        if (f.n == 0)
                return -EBADMSG;
        *ret = f;
        return 0;
bad:
        seccomp_filters_done(&f);
        return -EBADMSG;
}

int seccomp_filters_apply(const SeccompFilters *f) {
        for (size_t i = 0; i < f->n; i++)
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->progs[i]) < 0)
                        return -errno;
        return 0;
}
