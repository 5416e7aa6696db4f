/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The seccomp filter of confined build runs (confine.h). The allow list is systemd-nspawn's default for a
 * container without extra capabilities (nspawn-seccomp.c: @aio @basic-io @chown @default @file-system
 * @io-event @ipc @network-io @process @resources @setuid @signal @sync @timer and its list of single
 * calls, expanded as systemd 252 does), made tighter:
 *   - no @mount at all (nspawn allows it), no chroot(), no userfaultfd;
 *   - no new namespaces: unshare() and setns() fail, clone() with a CLONE_NEW* flag fails, clone3() is
 *     "not implemented" so that libc falls back to clone(), where the flags can be seen;
 *   - audit netlink sockets fail as in nspawn;
 *   - the OCI unpacker's child may not execute anything or open sockets.
 * Calls outside the list fail with ENOSYS (as nspawn does for unknown ones), the well-known dangerous ones
 * with EPERM; a call of another architecture's ABI kills the process (libseccomp's default). */
#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/socket.h>

#include "confine.h"

/* clang-format off */
static const char *const allow[] = {
        "_llseek", "_newselect", "accept", "accept4", "access", "alarm", "arch_prctl",
        "arm_fadvise64_64", "bind", "brk", "cacheflush", "capget", "capset", "chdir", "chmod", "chown",
        "chown32", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
        "clock_nanosleep", "clock_nanosleep_time64", "clone", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
        "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
        "fadvise64_64", "fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
        "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
        "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
        "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat",
        "get_mempolicy", "get_robust_list", "get_thread_area", "getcpu", "getcwd", "getdents",
        "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
        "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
        "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
        "getrusage", "getsid", "getsockname", "getsockopt", "gettid", "gettimeofday", "getuid",
        "getuid32", "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter", "io_uring_register",
        "io_uring_setup", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kcmp", "kill", "lchown",
        "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr",
        "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "mbind", "membarrier", "memfd_create",
        "migrate_pages", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mmap", "mmap2",
        "move_pages", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
        "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munmap", "name_to_handle_at", "nanosleep",
        "newfstatat", "nice", "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname", "open",
        "openat", "openat2", "pause", "personality", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64",
        "process_madvise", "process_vm_readv", "process_vm_writev", "pselect6", "pselect6_time64",
        "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readdir", "readlink", "readlinkat",
        "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
        "removexattr", "rename", "renameat", "renameat2", "restart_syscall", "riscv_flush_icache",
        "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
        "sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
        "sched_setscheduler", "sched_yield", "select", "semctl", "semget", "semop", "semtimedop",
        "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto",
        "set_mempolicy", "set_mempolicy_home_node", "set_robust_list", "set_thread_area",
        "set_tid_address", "set_tls", "setdomainname", "setfsgid", "setfsgid32", "setfsuid",
        "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "sethostname", "setitimer",
        "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "setuid",
        "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaction",
        "sigaltstack", "signal", "signalfd", "signalfd4", "sigpending", "sigprocmask", "sigreturn",
        "sigsuspend", "socket", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
        "statfs64", "statx", "swapcontext", "symlink", "symlinkat", "sync", "sync_file_range",
        "sync_file_range2", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
        "unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes", "vfork",
        "vmsplice", "wait4", "waitid", "waitpid", "write", "writev"
};

/* Known and refused with EPERM, as nspawn's @known remainder: kernel-wide state, other processes'
 * memory, mounts, keys, modules, namespaces. */
static const char *const refuse[] = {
        "acct", "add_key", "adjtimex", "bpf", "chroot", "clock_adjtime", "clock_settime", "delete_module",
        "fanotify_init", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "init_module", "ioperm",
        "iopl", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr",
        "move_mount", "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root", "process_vm_readv",
        "process_vm_writev", "ptrace", "quotactl", "reboot", "request_key", "setns", "settimeofday",
        "swapoff", "swapon", "syslog", "umount", "umount2", "unshare", "userfaultfd", "vhangup",
};

/* clang-format on */

static int add_list(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n) {
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(names[i]);
                if (nr == __NR_SCMP_ERROR || nr < 0)
                        continue; /* not a call of this architecture */
                int r = seccomp_rule_add(ctx, action, nr, 0);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

static int load_allow_list(void) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(ENOSYS));
        int r;

        if (!ctx)
                return -ENOMEM;
        r = add_list(ctx, SCMP_ACT_ALLOW, allow, ELEMENTSOF(allow));
        if (r >= 0)
                r = add_list(ctx, SCMP_ACT_ERRNO(EPERM), refuse, ELEMENTSOF(refuse));
        if (r >= 0)
                r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

/* A second filter for rules on arguments (both filters apply; the stricter result wins). */
static int load_argument_rules(bool unpacker) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int r;

        if (!ctx)
                return -ENOMEM;
        static const uint64_t ns_flags[] = {CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                            CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET};
        r = 0;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(ns_flags); i++)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
        if (r >= 0 && !unpacker)
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 2,
                                     SCMP_A0(SCMP_CMP_EQ, AF_NETLINK), SCMP_A2(SCMP_CMP_EQ, NETLINK_AUDIT));
        if (r >= 0 && unpacker) {
                static const char *const no[] = {"execve", "execveat", "socket", "socketpair", "connect",
                                                 "bind",   "listen",   "accept", "accept4"};
                r = add_list(ctx, SCMP_ACT_ERRNO(EPERM), no, ELEMENTSOF(no));
        }
        if (r >= 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

int confine_seccomp_apply(bool unpacker) {
        /* The allow list last: it does not allow seccomp() itself. */
        int r = load_argument_rules(unpacker);
        if (r < 0)
                return r;
        return load_allow_list();
}
