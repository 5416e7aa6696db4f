/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* Messages go to stderr. Programs that systemd runs without a terminal (the generator) also send them to
 * the journal, or to the kernel log when journald is not up yet (early boot), where systemd collects them. */
void log_set_max_level(int level);
int log_get_max_level(void);
void log_open_system(const char *ident);
void log_close(void);
/* Counts messages at LOG_ERR or worse since the last reset, so callers can tell "warned" from "failed". */
unsigned log_error_count(void);

int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);
/* "file:line: message", the form editors and CI annotate. line 0 omits the line. */
int log_syntax_internal(const char *file, unsigned line, int level, int error, const char *fmt, ...)
        _printf_(5, 6);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_full(level, ...) (void) log_internal((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_syntax(file, line, level, error, ...) log_syntax_internal(file, line, level, error, __VA_ARGS__)

int log_oom(void);
