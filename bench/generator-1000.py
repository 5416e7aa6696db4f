#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""How long sandy-generator takes for 1000 declarations, against a floor measured in the same run.

    bench/generator-1000.py SANDY-GENERATOR [--count N] [--runs N] [--seed N]

Creates COUNT varied declarations (one in ten with drop-ins, spread over the three search directories),
then reports the best of RUNS for:
  - sandy-generator --dry-run (output to /dev/null),
  - sandy-generator writing for real into a fresh directory on a tmpfs,
  - the floor: cat(1) of the same files to /dev/null, i.e. starting a process and reading them all.
Timings are informational and never a pass/fail criterion (run it with `meson test --benchmark`).
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 100.0


def declaration(rng, i):
    """A valid, varied .sandbox text."""
    lines = ['# generated for the benchmark', '[Sandbox]']
    if rng.random() < 0.8:
        what = rng.choice(['agent', 'CI run', '100% busy', 'scratch'])
        lines.append(f'Description=Benchmark sandbox {i}: {what}')
    if rng.random() < 0.5:
        lines.append(f'User={rng.choice(["agent", "dev", "build-bot", "_svc"])}')
    if rng.random() < 0.7:
        lines.append(f'Workspace=/home/user{i % 50}/src/project-{i}')
    lines.append(f'Ephemeral={rng.choice(["yes", "no"]) if rng.random() < 0.2 else "yes"}')
    if rng.random() < 0.4:
        lines.append('Boot=no')
        lines.append('Command=/bin/sh -c \'make -C "$HOME/workspace" test\' "arg with spaces" x\\ y %h')
    for _ in range(rng.randrange(0, 4)):
        lines.append(f'Environment=VAR{rng.randrange(100)}="value {i}" OTHER=\'quoted "x"\' PLAIN=1')
    if rng.random() < 0.3:
        lines.append(f'Credential=token-{i}:/etc/sandy/credentials/token-{i}')
    if rng.random() < 0.2:
        lines.append('AutoStart=yes')
    lines.append('[Image]')
    lines.append(rng.choice(['From=docker://docker.io/library/debian:bookworm', 'From=debootstrap:bookworm',
                             'From=oci-archive:/srv/images/toolchain.tar:latest',
                             'From=oci:/srv/oci/base:v1']))
    if rng.random() < 0.6:
        lines.append('Packages=git ca-certificates curl \\')
        lines.append('         nodejs npm ripgrep python3=3.11.2-1+b1')
    if rng.random() < 0.3:
        lines.append('Setup=/etc/sandy/setup/agent.sh')
    lines.append('[Network]')
    mode = rng.choice(['lenient', 'lenient', 'strict', 'strict', 'none', 'host'])
    lines.append(f'Mode={mode}')
    if mode == 'strict':
        lines.append('AllowDomain=api.anthropic.com registry.npmjs.org *.GitHub.com pypi.org.')
        lines.append('AllowAddress=192.0.2.10 198.51.100.0/24:443 [2001:db8::/64]:443')
        lines.append('AllowHostPort=tcp:5432 22')
    if mode in ('lenient', 'strict') and rng.random() < 0.3:
        lines.append(f'Port=tcp:{10000 + i}:80')
    lines.append('[Resources]')
    if rng.random() < 0.7:
        lines.append(f'MemoryMax={rng.choice(["512M", "4G", "8G", "50%", "infinity"])}')
    if rng.random() < 0.5:
        lines.append(f'CPUQuota={rng.choice(["50%", "200%", "400%"])}')
    if rng.random() < 0.5:
        lines.append(f'TasksMax={rng.choice(["512", "2048", "10%", "infinity"])}')
    if rng.random() < 0.2:
        lines.append('[X-Ansible]')
        lines.append('Managed=yes')
    return '\n'.join(lines) + '\n'


def make_tree(root, count, seed):
    rng = random.Random(seed)
    dirs = [root / d for d in ('etc', 'run', 'usr')]
    for d in dirs:
        d.mkdir(parents=True)
    files = []
    for i in range(count):
        d = dirs[0] if rng.random() < 0.7 else rng.choice(dirs[1:])
        name = f'bench-{i:04d}'
        p = d / f'{name}.sandbox'
        p.write_text(declaration(rng, i))
        files.append(p)
        if rng.random() < 0.1:
            dd = rng.choice(dirs) / f'{name}.sandbox.d'
            dd.mkdir(exist_ok=True)
            for j in range(rng.randrange(1, 4)):
                f = dd / f'{j * 10 + 10}-local.conf'
                f.write_text('[Resources]\nMemoryMax=16G\n[Sandbox]\nEnvironment=LOCAL=1\n')
                files.append(f)
    return dirs, files


def best_of(runs, fn):
    best = None
    for _ in range(runs):
        t = fn()
        best = t if best is None else min(best, t)
    return best


def timed(argv, env, stdout=subprocess.DEVNULL):
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.PIPE)
    t = time.perf_counter() - t0
    if proc.returncode != 0:
        err = proc.stderr.decode(errors='replace')
        sys.exit(f'{argv[0]} failed with exit status {proc.returncode}:\n{err}')
    return t


def tmpfs_dir():
    for d in ('/dev/shm', '/run', os.environ.get('XDG_RUNTIME_DIR', '')):
        if d and os.path.isdir(d) and os.access(d, os.W_OK):
            try:
                with open('/proc/mounts') as m:
                    mounts = [l.split() for l in m]
            except OSError:
                return d, False
            return d, any(fields[1] == d and fields[2] == 'tmpfs' for fields in mounts)
    return tempfile.gettempdir(), False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('generator', type=Path)
    ap.add_argument('--count', type=int, default=1000)
    ap.add_argument('--runs', type=int, default=15)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    generator = str(args.generator.resolve())

    base, is_tmpfs = tmpfs_dir()
    work = Path(tempfile.mkdtemp(prefix='sandy-bench-', dir=base))
    try:
        dirs, files = make_tree(work / 'search', args.count, args.seed)
        env = {k: v for k, v in os.environ.items() if k != 'SYSTEMD_SCOPE'}
        env['SANDY_SEARCH_PATH'] = ':'.join(str(d) for d in dirs)
        nbytes = sum(f.stat().st_size for f in files)

        # Warm the page cache and check that everything is valid.
        timed([generator, '--dry-run', str(work / 'out-check')], env)

        dry = best_of(args.runs, lambda: timed([generator, '--dry-run', str(work / 'unused')], env))

        counter = iter(range(10 ** 6))

        def real():
            out = work / f'out-{next(counter)}'
            t = timed([generator, str(out)], env)
            shutil.rmtree(out)
            return t

        write = best_of(args.runs, real)
        floor = best_of(args.runs, lambda: timed(['cat', *map(str, files)], env))

        fs = 'tmpfs' if is_tmpfs else 'disk'
        print(f'{args.count} declarations, {len(files)} files, {nbytes / 1024:.0f} KiB; '
              f'best of {args.runs} runs; work dir on {fs} ({base})')
        for what, t in (('--dry-run', dry), ('writing', write)):
            print(f'generator {what} {args.count} files: {t * 1e3:.1f} ms (floor cat: {floor * 1e3:.1f} ms, '
                  f'ratio {t / floor:.1f}x; target < {TARGET_MS:.0f} ms)')
        print(f'per declaration: dry-run {dry / args.count * 1e6:.1f} us, '
              f'writing {write / args.count * 1e6:.1f} us')
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
