/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-nouserns: PID 1 of a sandbox with NestedUserNamespaces=no (see sandy.sandbox(5)).
 *
 *   sandy-nouserns --boot [ARG...]        the init nspawn would look for (Boot=yes), with ARGs
 *   sandy-nouserns -- COMMAND [ARG...]    COMMAND, searched in $PATH as nspawn does (Boot=no)
 *
 * nspawn has no setting that forbids user namespaces inside, and a limit written from outside once the
 * payload runs comes too late for what already ran. So sandy-prepare makes this program the container's
 * PID 1 (bound read-only from the host at SANDY_NOUSERNS_INSIDE): it installs a seccomp filter, then execs
 * the real init or command, and every process of the sandbox descends from it with the filter, which no
 * process can remove. sandyctl exec copies the filters of PID 1, so its commands get it too.
 *
 * The filter, as Docker's default profile does it: clone() and unshare() with CLONE_NEWUSER fail with EPERM;
 * clone3(), whose flags live in memory a filter cannot read, fails with ENOSYS, so that libc and systemd
 * fall back to clone(). Everything else is left to nspawn's own filter. Statically linked: it runs in the
 * sandbox's image, whatever libc that has. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWUSER
#define CLONE_NEWUSER 0x10000000
#endif
#define X32_SYSCALL_BIT 0x40000000U

enum { L_X86_64, L_I386, L_AARCH64, L_ARM, L_FLAGS, L_ENOSYS, L_EPERM, L_ALLOW, L_KILL, L_MAX, L_NEXT = -1 };

/* A few forward jumps to named places, resolved at the end. */
typedef struct Prog {
        struct sock_filter insn[64];
        int jt[64], jf[64];
        int at[L_MAX];
        size_t n;
} Prog;

static void stmt(Prog *p, unsigned short code, unsigned k) {
        p->jt[p->n] = p->jf[p->n] = L_NEXT;
        p->insn[p->n++] = (struct sock_filter) BPF_STMT(code, k);
}

static void jeq(Prog *p, unsigned k, int jt, int jf) {
        p->jt[p->n] = jt;
        p->jf[p->n] = jf;
        p->insn[p->n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 0);
}

static void place(Prog *p, int label) {
        p->at[label] = (int) p->n;
}

/* One architecture: its numbers for clone3, unshare and clone. */
static void arch_block(Prog *p, int label, unsigned clone3, unsigned unshare, unsigned clone, bool x32_bit) {
        place(p, label);
        stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
        if (x32_bit)
                stmt(p, BPF_ALU | BPF_AND | BPF_K, ~X32_SYSCALL_BIT);
        jeq(p, clone3, L_ENOSYS, L_NEXT);
        jeq(p, unshare, L_FLAGS, L_NEXT);
        jeq(p, clone, L_FLAGS, L_ALLOW);
}

static int build(Prog *p, struct sock_fprog *ret) {
        *p = (Prog) {};
        stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
        jeq(p, AUDIT_ARCH_X86_64, L_X86_64, L_NEXT); /* x32 too: its numbers carry X32_SYSCALL_BIT */
        jeq(p, AUDIT_ARCH_I386, L_I386, L_NEXT);
        jeq(p, AUDIT_ARCH_AARCH64, L_AARCH64, L_NEXT);
        jeq(p, AUDIT_ARCH_ARM, L_ARM, L_KILL);
        arch_block(p, L_X86_64, 435, 272, 56, true);
        arch_block(p, L_I386, 435, 310, 120, false);
        arch_block(p, L_AARCH64, 435, 97, 220, false);
        arch_block(p, L_ARM, 435, 337, 120, false);
        /* The flags are the first argument of unshare() and of clone() on all four; the low word is first
         * (little-endian). */
        place(p, L_FLAGS);
        stmt(p, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
        p->jt[p->n] = L_EPERM;
        p->jf[p->n] = L_ALLOW;
        p->insn[p->n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 0);
        place(p, L_ENOSYS);
        stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
        place(p, L_EPERM);
        stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
        place(p, L_ALLOW);
        stmt(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        /* An architecture the kernel cannot run here anyway (nspawn's filter kills it too). */
        place(p, L_KILL);
        stmt(p, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);

        for (size_t i = 0; i < p->n; i++) {
                int t[2] = {p->jt[i], p->jf[i]};
                for (int j = 0; j < 2; j++) {
                        int d = t[j] == L_NEXT ? 0 : p->at[t[j]] - (int) i - 1;
                        if (d < 0 || d > 255)
                                return -EINVAL;
                        if (j == 0)
                                p->insn[i].jt = (unsigned char) d;
                        else
                                p->insn[i].jf = (unsigned char) d;
                }
        }
        *ret = (struct sock_fprog) {.len = (unsigned short) p->n, .filter = p->insn};
        return 0;
}

int main(int argc, char *argv[]) {
        static const char *const inits[] = {"/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/sbin/init"};
        struct sock_fprog prog;
        Prog p;

        if (argc < 2 || (strcmp(argv[1], "--boot") != 0 && (strcmp(argv[1], "--") != 0 || argc < 3))) {
                fprintf(stderr, "Usage: %s --boot [ARG...] | -- COMMAND [ARG...]\n", argv[0]);
                return 2;
        }
#if !defined(__x86_64__) && !defined(__i386__) && !defined(__aarch64__) && !defined(__arm__)
        fprintf(stderr, "sandy-nouserns: NestedUserNamespaces=no is not supported on this architecture.\n");
        return 1;
#endif
        if (build(&p, &prog) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
                fprintf(stderr, "sandy-nouserns: Failed to forbid user namespaces: %s\n", strerror(errno));
                return 1;
        }
        if (strcmp(argv[1], "--") == 0) {
                execvp(argv[2], argv + 2);
                fprintf(stderr, "sandy-nouserns: Failed to execute %s: %s\n", argv[2], strerror(errno));
                return errno == ENOENT ? 127 : 126;
        }
        /* As nspawn's Boot=yes: the first init that exists, with the rest as its arguments. */
        for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
                argv[1] = (char *) inits[i];
                execv(inits[i], argv + 1);
        }
        fprintf(stderr, "sandy-nouserns: Failed to execute an init (%s, %s, %s): %s\n", inits[0], inits[1], inits[2],
                strerror(errno));
        return 1;
}
