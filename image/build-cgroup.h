/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Each image build runs in a cgroup of its own, a child of sandy-helper's (the unit has Delegate=yes):
 * BUILD_CGROUP_PREFIX<job>. Whatever a build starts stays in it (setsid(), double forks and a cleared
 * parent-death signal change nothing), so Cancel, a timeout and a helper stop kill the whole cgroup, and
 * the build's files are removed only once it is empty. When the helper itself dies, systemd kills its
 * unit's cgroup with all build cgroups below it before it can be started again. cgroup v2 only. */

#include <stdbool.h>
#include <sys/types.h>

#define BUILD_CGROUP_PREFIX "build-"

/* The helper's own cgroup directory (under /sys/fs/cgroup), e.g. for the stale-build cleanup. */
int build_cgroup_own(char **ret);
/* Create own/NAME; *ret is its directory. */
int build_cgroup_create(const char *name, char **ret);
/* Move pid into it. */
int build_cgroup_attach(const char *path, pid_t pid);
/* Kill everything in it: cgroup.kill where the kernel has it, else freeze, SIGKILL each process, thaw,
 * until it is empty or timeout_usec passed. Returns 0 when empty, -ETIMEDOUT or -errno. */
int build_cgroup_kill(const char *path, uint64_t timeout_usec);
/* 1 when a process is in it, 0 when empty (or gone), -errno. */
int build_cgroup_populated(const char *path);
/* rmdir (it must be empty). */
int build_cgroup_remove(const char *path);
/* At helper start: kill and remove every BUILD_CGROUP_PREFIX* child left by an earlier instance. */
void build_cgroup_clean_stale(void);
