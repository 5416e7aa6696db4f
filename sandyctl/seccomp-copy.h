/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The seccomp filters of a running process, copied: a command entered into a sandbox from outside runs
 * under the very filters nspawn gave the sandbox (whatever nspawn's version, capabilities and the
 * sandbox's SystemCallFilter=, and with NestedUserNamespaces=no sandy-nouserns' filter), not an imitation of
 * them. */
#include <linux/filter.h>
#include <stddef.h>
#include <sys/types.h>

#include "macro.h"

typedef struct SeccompFilters {
        struct sock_fprog *progs; /* oldest first: the order they are loaded in */
        size_t n;
} SeccompFilters;

void seccomp_filters_done(SeccompFilters *f);
/* Through ptrace (PTRACE_SECCOMP_GET_FILTER): needs CAP_SYS_ADMIN and no seccomp filter on the caller.
 * The process is stopped for the few microseconds it takes. */
int seccomp_filters_read(pid_t pid, SeccompFilters *ret);
/* A file of: "SANDYSECCOMP1", then per filter a uint32 count and that many struct sock_filter. */
int seccomp_filters_save(const SeccompFilters *f, const char *path);
int seccomp_filters_load(const char *path, SeccompFilters *ret);
/* Install them in the calling thread (no_new_privs must be set). */
int seccomp_filters_apply(const SeccompFilters *f);
