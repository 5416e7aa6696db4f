/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroup of an image build (build-cgroup.h). */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "build-cgroup.h"
#include "fs-util.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "string-util.h"

static uint64_t now_usec(void) {
        struct timespec ts;
        (void)clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = {.tv_sec = (time_t)(usec / 1000000), .tv_nsec = (long)(usec % 1000000) * 1000};
        (void)nanosleep(&ts, NULL);
}

static int cgroup_root(const char **ret) {
        struct statfs fs;

        /* Unified hierarchy, or the cgroup2 part of a hybrid one. */
        if (statfs("/sys/fs/cgroup", &fs) >= 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = "/sys/fs/cgroup";
                return 0;
        }
        if (statfs("/sys/fs/cgroup/unified", &fs) >= 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = "/sys/fs/cgroup/unified";
                return 0;
        }
        return -EOPNOTSUPP;
}

int build_cgroup_own(char **ret) {
        _cleanup_free_ char *text = NULL;
        const char *root, *rel = NULL;
        int r;

        r = cgroup_root(&root);
        if (r < 0)
                return r;
        r = read_full_file("/proc/self/cgroup", 64 * 1024, &text, NULL);
        if (r < 0)
                return r;
        for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n"))
                if (startswith(l, "0::"))
                        rel = l + 3;
        if (!rel || rel[0] != '/')
                return -EOPNOTSUPP;
        *ret = streq(rel, "/") ? strdup(root) : path_join(root, rel + 1);
        return *ret ? 0 : -ENOMEM;
}

int build_cgroup_create(const char *name, char **ret) {
        _cleanup_free_ char *own = NULL, *p = NULL;
        int r;

        r = build_cgroup_own(&own);
        if (r < 0)
                return r;
        p = path_join(own, name);
        if (!p)
                return -ENOMEM;
        if (mkdir(p, 0755) < 0)
                return -errno;
        *ret = TAKE_PTR(p);
        return 0;
}

static int write_attr(const char *path, const char *attr, const char *value) {
        _cleanup_free_ char *p = path_join(path, attr);
        _cleanup_close_ int fd = -EBADF;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (write(fd, value, strlen(value)) < 0)
                return -errno;
        return 0;
}

int build_cgroup_attach(const char *path, pid_t pid) {
        char buf[32];
        snprintf(buf, sizeof buf, "%d\n", (int)pid);
        return write_attr(path, "cgroup.procs", buf);
}

/* "populated 1", "frozen 1" in cgroup.events. */
static int events_flag(const char *path, const char *key) {
        _cleanup_free_ char *p = path_join(path, "cgroup.events"), *text = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file(p, 4096, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
                const char *v = startswith(l, key) ? l + strlen(key) : NULL;
                if (v && *v == ' ')
                        return streq(v + 1, "1");
        }
        return -EBADMSG;
}

int build_cgroup_populated(const char *path) {
        return events_flag(path, "populated");
}

static int kill_listed(const char *path) {
        _cleanup_free_ char *p = path_join(path, "cgroup.procs"), *text = NULL;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file(p, 16 * 1024 * 1024, &text, NULL);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
                uint64_t pid;
                if (safe_atou64(l, &pid) >= 0 && pid > 1 && pid < INT32_MAX)
                        (void)kill((pid_t)pid, SIGKILL);
        }
        return 0;
}

int build_cgroup_kill(const char *path, uint64_t timeout_usec) {
        uint64_t deadline = now_usec() + timeout_usec;
        bool have_kill;
        int r;

        r = write_attr(path, "cgroup.kill", "1");
        have_kill = r >= 0;
        if (r < 0 && r != -ENOENT)
                return r == -ENOENT ? 0 : r;
        for (;;) {
                r = build_cgroup_populated(path);
                if (r <= 0)
                        return r;
                if (now_usec() >= deadline)
                        return -ETIMEDOUT;
                if (!have_kill) {
                        /* Before Linux 5.14: frozen processes cannot fork while we go through the list. */
                        (void)write_attr(path, "cgroup.freeze", "1");
                        for (int i = 0; i < 100 && events_flag(path, "frozen") == 0; i++)
                                sleep_usec(1000);
                        (void)kill_listed(path);
                        (void)write_attr(path, "cgroup.freeze", "0");
                }
                sleep_usec(2000);
        }
}

int build_cgroup_remove(const char *path) {
        if (rmdir(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

void build_cgroup_clean_stale(void) {
        _cleanup_free_ char *own = NULL;
        DIR *d;

        if (build_cgroup_own(&own) < 0)
                return;
        d = opendir(own);
        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *p = NULL;
                if (de->d_type != DT_DIR || !startswith(de->d_name, BUILD_CGROUP_PREFIX))
                        continue;
                p = path_join(own, de->d_name);
                if (!p)
                        break;
                log_info("Killing what is left of an interrupted build in %s.", p);
                if (build_cgroup_kill(p, 10 * 1000000ULL) >= 0)
                        (void)build_cgroup_remove(p);
        }
        closedir(d);
}
