#!/usr/bin/env python3
"""Run a command inside the namespaces of a running container.

    nsexec.py PID [--cgroup-procs FILE]... -- ARGV...

Like `nsenter --target PID --mount --uts --ipc --net --pid --cgroup --root --wd`,
but the waiting parent does not mirror the child's stops. nsenter does: when
the container shuts down, systemd-shutdown SIGSTOPs every process in its PID
namespace, nsenter (outside it) then stops itself, and never reaps the child
that systemd-shutdown is waiting for; the poweroff hangs for 90 s.

The parent forwards INT/TERM/HUP/QUIT to the child and exits with its status
(128+N when killed by signal N).
"""
import ctypes
import os
import signal
import sys

libc = ctypes.CDLL(None, use_errno=True)
NAMESPACES = ("cgroup", "ipc", "uts", "net", "pid", "mnt")  # mnt last: it changes /proc


def setns(fd, what):
    if libc.setns(fd, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns({what}): {os.strerror(err)}")


def main():
    args = sys.argv[1:]
    cgroup_procs = []  # one per hierarchy (several on a cgroup v1 host)
    if not args:
        sys.exit(__doc__)
    pid = int(args.pop(0))
    while args and args[0] != "--":
        opt = args.pop(0)
        if opt == "--cgroup-procs":
            cgroup_procs.append(args.pop(0))
        else:
            sys.exit(f"nsexec: unknown option {opt}")
    if not args or args[0] != "--" or len(args) < 2:
        sys.exit("nsexec: missing -- ARGV")
    argv = args[1:]

    fds = {ns: os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY | os.O_CLOEXEC) for ns in NAMESPACES}
    rootfd = os.open(f"/proc/{pid}/root", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    # Join the container's cgroup first: once inside its cgroup namespace
    # the kernel no longer lets us move from a cgroup outside it.
    for procs in cgroup_procs:
        try:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            pass
    for ns in NAMESPACES:
        setns(fds[ns], ns)
        os.close(fds[ns])
    os.fchdir(rootfd)
    os.chroot(".")
    os.chdir("/")
    os.close(rootfd)

    child = os.fork()  # the PID namespace applies to children only
    if child == 0:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(s, signal.SIG_DFL)
        # A process group of its own unless a terminal is in use (job control needs the caller's): a
        # "kill -9 0" in a test (a MainPID of 0) then ends the test, not the runner outside the host.
        if not os.isatty(0):
            os.setpgid(0, 0)
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            print(f"nsexec: {argv[0]}: {e.strerror}", file=sys.stderr)
            os._exit(127)

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(s, forward)
    while True:
        try:
            _, status = os.waitpid(child, 0)  # no WUNTRACED: stops are not our business
            break
        except InterruptedError:
            continue
    if os.WIFEXITED(status):
        sys.exit(os.WEXITSTATUS(status))
    sys.exit(128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main()
