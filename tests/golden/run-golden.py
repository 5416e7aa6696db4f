#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Golden tests for sandy-generator, in the style of Quadlet's test suite.

Each tests/golden/cases/NAME.sandbox is installed into a temporary search path (etc:run:usr, like
/etc/sandy.d:/run/sandy.d:/usr/lib/sandy.d) together with its drop-in directory NAME.sandbox.d/ and the
optional trees NAME.etc/, NAME.run/, NAME.usr/ (copied into that search directory as they are). The real
generator then writes into a temporary output directory, and the expectations written in the case file as
"## " comment lines are checked:

  Setting up
    ## install-as FILENAME          install the case under another file name (hostile names)
    ## install-dir etc|run|usr      which search directory gets the case (default etc)
    ## install-empty                install an empty file instead of the case text
    ## install-symlink TARGET       install a symlink instead of the case text
    ## decode-escapes               \\xHH in the case text (not in "## " lines) becomes that byte
    ## crlf                         install with CRLF line endings
    ## pad-to BYTES                 append comment lines until the file has at least BYTES bytes
    ## repeat TOKEN COUNT TEXT      replace TOKEN in the case text by TEXT repeated COUNT times
    ## create-file PATH CONTENT     extra file (PATH relative to the search root: etc/..., usr/...);
    ## symlink PATH TARGET          extra symlink; both take shell quoting and \\n, \\t, \\xHH escapes
    ## chmod PATH MODE              after installing, e.g. "chmod etc/NAME.sandbox 0664" (octal)

  Expectations (paths relative to the output directory; @OUT@, @ETC@, @RUN@, @USR@, @UNITDIR@ expand)
    ## assert-failed                exit status 1, nothing generated
    ## assert-masked                exit status 0, nothing generated, nothing logged
    ## assert-stderr-contains TEXT  (TEXT may be wrapped in double quotes)
    ## assert-stderr-not-contains TEXT
    ## assert-warning TEXT          logged, and the sandbox is still generated
    ## allow-stderr TEXT            a logged line that needs no assertion
    ## assert-key-is FILE SECTION KEY VALUE      KEY set exactly once, to VALUE (rest of the line, raw)
    ## assert-key-values FILE SECTION KEY JSON   all assignments of KEY, in order (JSON list)
    ## assert-key-missing FILE SECTION KEY
    ## assert-key-contains FILE SECTION KEY TEXT
    ## assert-unit-value FILE SECTION KEY VALUE  the value after systemd's specifier expansion (%% -> %)
    ## assert-nspawn-words FILE SECTION KEY JSON the words systemd-nspawn reads from a list setting
    ## assert-keys FILE SECTION KEY...           exactly these keys in SECTION
    ## assert-sections FILE SECTION...           exactly these sections, in this order
    ## assert-file-contains FILE TEXT / assert-file-not-contains FILE TEXT
    ## assert-symlink PATH TARGET / assert-no-symlink PATH / assert-no-file PATH
    ## allow-file PATH

Unless a case says assert-failed or assert-masked, it must be generated with exit status 0. Every
output file must be covered by an assertion or allow-file, every stderr line by a stderr assertion.
Every generated file must be text systemd reads without complaint: UTF-8, no control characters, no
continuation lines, no lone '%' in settings that expand specifiers, mode 0644. When systemd-analyze is
installed, each generated sandy@NAME.service drop-in is also loaded by systemd itself, on top of the
sandy@.service template (--template), and any message about the drop-in fails the case.

Afterwards all cases are installed into one search path and the generator runs once: each good case must
be generated as when alone, with the same files, and the exit status must be 1 because failure cases are
present; then once more with the good cases only (exit status 0), and --dry-run must print exactly what
the real run wrote.

Usage: run-golden.py GENERATOR [--unitdir DIR] [--template FILE] [--cases-dir DIR] [--keep] [-v] [CASE...]
       run-golden.py GENERATOR --export-corpus DIR   (installed case texts, the fuzzer's seed corpus)
"""

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_UNITDIR = '/usr/lib/systemd/system'
SEARCH_DIRS = ('etc', 'run', 'usr')
WHITESPACE = ' \t\n\r'
DIGEST_ENV = 'SANDY_DECLARATION_DIGEST'


def is_digest(key, value):
    return key == 'Environment' and value.startswith(f'"{DIGEST_ENV}=')

FILE_ASSERTIONS = {
    'assert-key-is', 'assert-key-values', 'assert-key-missing', 'assert-key-contains', 'assert-unit-value',
    'assert-nspawn-words', 'assert-keys', 'assert-sections', 'assert-file-contains',
    'assert-file-not-contains', 'assert-symlink', 'assert-no-symlink', 'assert-no-file', 'allow-file',
}
STDERR_ASSERTIONS = {
    'assert-stderr-contains', 'assert-stderr-not-contains', 'assert-warning', 'allow-stderr',
}
OUTCOME_ASSERTIONS = {'assert-failed', 'assert-masked'}
SETUP = {
    'install-as', 'install-dir', 'install-empty', 'install-symlink', 'decode-escapes', 'crlf', 'pad-to',
    'repeat', 'create-file', 'symlink', 'chmod',
}
KNOWN = FILE_ASSERTIONS | STDERR_ASSERTIONS | OUTCOME_ASSERTIONS | SETUP
# Unit settings in which systemd expands %-specifiers, so that a literal '%' must be written '%%'. Most
# others, the resource-control ones among them, take the text as it is.
SPECIFIER_KEYS = {
    'Description', 'Documentation', 'SourcePath', 'Environment', 'EnvironmentFile', 'After', 'Before',
    'Requires', 'Wants', 'BindsTo', 'PartOf', 'Conflicts', 'RequiresMountsFor', 'ExecStart', 'ExecStartPre',
    'ExecStartPost', 'ExecStop', 'ExecStopPost', 'ExecReload', 'WorkingDirectory', 'RootDirectory',
    'SetCredential', 'LoadCredential', 'ConditionPathExists',
}


class CaseError(Exception):
    pass


# ---- systemd's readers, re-implemented ----------------------------------------------------------------

def systemd_parse(text):
    """config_parse(): returns ([(section, key, value, line)], [problems])."""
    items, problems = [], []
    section = None
    continuation = None
    line_no = 0

    def parse_line(line, no):
        nonlocal section
        line = line.strip(WHITESPACE)
        if not line:
            return
        if line.startswith('['):
            if not line.endswith(']') or len(line) < 3:
                problems.append(f'line {no}: invalid section header {line!r}')
                return
            section = line[1:-1]
            return
        if '=' not in line:
            problems.append(f"line {no}: missing '=' in {line!r}")
            return
        if section is None:
            problems.append(f'line {no}: assignment outside of a section')
            return
        key, _, value = line.partition('=')
        items.append((section, key.strip(WHITESPACE), value.strip(WHITESPACE), no))

    for raw in text.split('\n'):
        line_no += 1
        stripped = raw.lstrip(WHITESPACE)
        if stripped and stripped[0] in '#;':
            continue
        line = continuation + raw if continuation is not None else raw
        continuation = None
        escaped = False
        for ch in line:
            escaped = (not escaped) and ch == '\\'
        if escaped:
            continuation = line[:-1] + ' '
            problems.append(f'line {line_no}: continuation line (generated files never need one)')
            continue
        parse_line(line, line_no)
    if continuation is not None:
        parse_line(continuation, line_no)
    return items, problems


def nspawn_words(value):
    """extract_first_word(EXTRACT_UNQUOTE|EXTRACT_RETAIN_ESCAPE), as config_parse_strv() uses it."""
    words, i, n = [], 0, len(value)
    while True:
        while i < n and value[i] in WHITESPACE:
            i += 1
        if i >= n:
            return words
        word, quote = [], None
        while True:
            if i >= n:
                if quote:
                    raise ValueError(f'unterminated quote in {value!r}')
                break
            c = value[i]
            if quote:
                if c == quote:
                    quote = None
                else:
                    word.append(c)
            elif c in '\'"':
                quote = c
            elif c in WHITESPACE:
                break
            else:
                word.append(c)
            i += 1
        words.append(''.join(word))


def unescape_specifiers(value):
    out, i = [], 0
    while i < len(value):
        if value[i] == '%':
            if i + 1 < len(value) and value[i + 1] == '%':
                out.append('%')
                i += 2
                continue
            raise ValueError(f'unescaped specifier in {value!r}')
        out.append(value[i])
        i += 1
    return ''.join(out)


# ---- cases --------------------------------------------------------------------------------------------

def decode_escapes(s):
    """\\n, \\t, \\r, \\\\, \\xHH -> bytes; for PATH and CONTENT arguments."""
    out = bytearray()
    b = s.encode('utf-8', 'surrogateescape')
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5c and i + 1 < len(b):
            n = b[i + 1]
            if n == ord('n'):
                out.append(10); i += 2; continue
            if n == ord('t'):
                out.append(9); i += 2; continue
            if n == ord('r'):
                out.append(13); i += 2; continue
            if n == 0x5c:
                out.append(0x5c); i += 2; continue
            if n == ord('x') and i + 3 < len(b) and re.fullmatch(rb'[0-9a-fA-F]{2}', b[i + 2:i + 4]):
                out.append(int(b[i + 2:i + 4], 16)); i += 4; continue
        out.append(c)
        i += 1
    return bytes(out)


def unquote(text):
    """"TEXT" -> TEXT, with \\" and \\\\ inside standing for " and \\; anything else is taken as it is."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r'\\(["\\])', r'\1', text[1:-1])
    return text


class Case:
    def __init__(self, path):
        self.path = path
        self.raw = path.read_bytes()
        self.directives = []  # (line number, verb, rest)
        for no, line in enumerate(self.raw.split(b'\n'), 1):
            if line.startswith(b'## '):
                text = line[3:].decode('utf-8', 'surrogateescape').rstrip('\r').strip()
                verb, _, rest = text.partition(' ')
                if verb not in KNOWN:
                    raise CaseError(f'{path.name}:{no}: unknown directive {verb!r}')
                self.directives.append((no, verb, rest.strip()))
        install_as = self.one('install-as')
        self.install_name = os.fsdecode(decode_escapes(install_as)) if install_as else path.name
        self.install_dir = self.one('install-dir') or 'etc'
        if self.install_dir not in SEARCH_DIRS:
            raise CaseError(f'{path.name}: install-dir must be one of {SEARCH_DIRS}')
        self.failed = self.has('assert-failed')
        self.masked = self.has('assert-masked')
        if self.failed and self.masked:
            raise CaseError(f'{path.name}: assert-failed and assert-masked exclude each other')
        if self.failed and not (self.all('assert-stderr-contains')):
            raise CaseError(f'{path.name}: a failure case must say why (assert-stderr-contains)')

    @property
    def name(self):
        return self.path.name[:-len('.sandbox')]

    def has(self, verb):
        return any(v == verb for _, v, _ in self.directives)

    def all(self, verb):
        return [rest for _, v, rest in self.directives if v == verb]

    def one(self, verb):
        values = self.all(verb)
        if len(values) > 1:
            raise CaseError(f'{self.path.name}: {verb} given twice')
        return values[0] if values else None

    def content(self):
        """The bytes installed for the case."""
        if self.has('install-empty'):
            return b''
        lines = self.raw.split(b'\n')
        if self.has('decode-escapes'):
            lines = [l if l.startswith(b'## ') else
                     re.sub(rb'\\x([0-9a-fA-F]{2})', lambda m: bytes([int(m.group(1), 16)]), l)
                     for l in lines]
        for rest in self.all('repeat'):
            token, count, text = rest.split(' ', 2)
            lines = [l if l.startswith(b'## ') else l.replace(token.encode(), text.encode() * int(count))
                     for l in lines]
        data = b'\n'.join(lines)
        pad = self.one('pad-to')
        if pad:
            filler = b'# ' + b'padding ' * 15 + b'\n'
            need = int(pad) - len(data)
            if need > 0:
                data += filler * (need // len(filler) + 1)
        if self.has('crlf'):
            data = data.replace(b'\r\n', b'\n').replace(b'\n', b'\r\n')
        return data

    def install(self, root):
        """Install into root/{etc,run,usr}; returns the paths created (for conflict checks)."""
        created = []
        main = root / self.install_dir / self.install_name

        def claim(p):
            if os.path.lexists(p):
                raise CaseError(f'{self.path.name}: {p} is installed by two cases')
            created.append(p)

        claim(main)
        target = self.one('install-symlink')
        if target:
            os.symlink(target, main)
        else:
            main.write_bytes(self.content())

        dropins = self.path.with_name(self.path.name + '.d')
        if dropins.is_dir():
            dest = root / self.install_dir / (self.install_name + '.d')
            dest.mkdir(exist_ok=True)
            for f in sorted(dropins.iterdir()):
                claim(dest / f.name)
                shutil.copy2(f, dest / f.name, follow_symlinks=False)
        for d in SEARCH_DIRS:
            tree = self.path.with_name(f'{self.name}.{d}')
            if tree.is_dir():
                for src in sorted(tree.rglob('*')):
                    rel = src.relative_to(tree)
                    dst = root / d / rel
                    if src.is_dir() and not src.is_symlink():
                        dst.mkdir(parents=True, exist_ok=True)
                        continue
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    claim(dst)
                    shutil.copy2(src, dst, follow_symlinks=False)
        for verb in ('create-file', 'symlink'):
            for rest in self.all(verb):
                args = shlex.split(rest)
                if len(args) != 2:
                    raise CaseError(f'{self.path.name}: {verb} takes PATH and one more argument')
                rel = os.fsdecode(decode_escapes(args[0]))
                if rel.split('/')[0] not in SEARCH_DIRS or '..' in rel.split('/'):
                    raise CaseError(f'{self.path.name}: {verb} path must start with etc/, run/ or usr/')
                dst = root / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                claim(dst)
                if verb == 'symlink':
                    os.symlink(args[1], dst)
                else:
                    dst.write_bytes(decode_escapes(args[1]))
        for rest in self.all('chmod'):
            args = shlex.split(rest)
            if len(args) != 2 or args[0].split('/')[0] not in SEARCH_DIRS or '..' in args[0].split('/'):
                raise CaseError(f'{self.path.name}: chmod takes PATH (etc/, run/ or usr/...) and an octal MODE')
            os.chmod(root / args[0], int(args[1], 8), follow_symlinks=False)
        return created


# ---- running and checking -----------------------------------------------------------------------------

class Run:
    def __init__(self, generator, root, out, extra_args=()):
        env = {k: v for k, v in os.environ.items() if k not in ('SYSTEMD_SCOPE', 'SANDY_SEARCH_PATH')}
        env['SANDY_SEARCH_PATH'] = ':'.join(str(root / d) for d in SEARCH_DIRS)
        env.setdefault('LC_ALL', 'C.UTF-8')
        self.root, self.out = root, out
        proc = subprocess.run([str(generator), *extra_args, str(out)], env=env, capture_output=True,
                              timeout=120)
        self.rc = proc.returncode
        self.stdout = proc.stdout.decode('utf-8', 'replace')
        self.stderr = proc.stderr.decode('utf-8', 'replace')
        self.files = {}  # relative path -> ('file', text, mode) | ('link', target)
        if out.exists():
            for dirpath, dirnames, filenames in os.walk(out):
                for fn in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                    p = Path(dirpath) / fn
                    rel = str(p.relative_to(out))
                    if p.is_symlink():
                        self.files[rel] = ('link', os.readlink(p))
                    else:
                        self.files[rel] = ('file', p.read_bytes(), p.stat().st_mode & 0o7777)

    def placeholders(self, unitdir):
        return {'@OUT@': str(self.out), '@ETC@': str(self.root / 'etc'), '@RUN@': str(self.root / 'run'),
                '@USR@': str(self.root / 'usr'), '@UNITDIR@': unitdir}


class Checker:
    def __init__(self, case, run, unitdir):
        self.case, self.run, self.unitdir = case, run, unitdir
        self.errors = []
        self.subst = run.placeholders(unitdir)
        self._parsed = {}

    def fail(self, no, msg):
        self.errors.append(f'{self.case.path.name}:{no}: {msg}' if no else f'{self.case.path.name}: {msg}')

    def expand(self, s):
        for k, v in self.subst.items():
            s = s.replace(k, v)
        if self.unitdir != DEFAULT_UNITDIR and s.startswith(DEFAULT_UNITDIR + '/'):
            s = self.unitdir + s[len(DEFAULT_UNITDIR):]
        return s

    def text_of(self, no, rel):
        f = self.run.files.get(rel)
        if f is None:
            self.fail(no, f'{rel} was not generated')
            return None
        if f[0] != 'file':
            self.fail(no, f'{rel} is a symlink, not a file')
            return None
        return f[1].decode('utf-8', 'replace')

    def parsed(self, no, rel):
        text = self.text_of(no, rel)
        if text is None:
            return None
        if rel not in self._parsed:
            self._parsed[rel] = systemd_parse(text)[0]
        return self._parsed[rel]

    def values(self, no, rel, section, key):
        items = self.parsed(no, rel)
        if items is None:
            return None
        # The declaration digest is checked for every case by check_digest(), not case by case.
        return [v for s, k, v, _ in items if s == section and k == key and not is_digest(k, v)]

    def split(self, no, rest, n):
        parts = rest.split(None, n)
        if len(parts) < n:
            raise CaseError(f'{self.case.path.name}:{no}: expected at least {n} arguments')
        return parts + [''] * (n + 1 - len(parts))

    def check_file_assertion(self, no, verb, rest):
        if verb in ('assert-key-is', 'assert-key-contains', 'assert-unit-value'):
            rel, section, key, value = self.split(no, rest, 3)
            value = self.expand(value)
            vals = self.values(no, rel, section, key)
            if vals is None:
                return
            if len(vals) != 1:
                self.fail(no, f'{rel}: [{section}] {key}= is set {len(vals)} times: {vals!r}')
                return
            actual = vals[0]
            if verb == 'assert-unit-value':
                try:
                    actual = unescape_specifiers(actual)
                except ValueError as e:
                    self.fail(no, f'{rel}: [{section}] {key}=: {e}')
                    return
            if verb == 'assert-key-contains':
                if value not in actual:
                    self.fail(no, f'{rel}: [{section}] {key}={actual!r} does not contain {value!r}')
            elif actual != value:
                self.fail(no, f'{rel}: [{section}] {key}={actual!r}, expected {value!r}')
        elif verb in ('assert-key-values', 'assert-nspawn-words'):
            rel, section, key, js = self.split(no, rest, 3)
            try:
                expected = [self.expand(x) for x in json.loads(js)]
            except (ValueError, TypeError) as e:
                raise CaseError(f'{self.case.path.name}:{no}: bad JSON list: {e}')
            vals = self.values(no, rel, section, key)
            if vals is None:
                return
            if verb == 'assert-nspawn-words':
                if len(vals) != 1:
                    self.fail(no, f'{rel}: [{section}] {key}= is set {len(vals)} times: {vals!r}')
                    return
                try:
                    vals = nspawn_words(vals[0])
                except ValueError as e:
                    self.fail(no, f'{rel}: [{section}] {key}=: {e}')
                    return
            if vals != expected:
                self.fail(no, f'{rel}: [{section}] {key}: {vals!r}, expected {expected!r}')
        elif verb == 'assert-key-missing':
            rel, section, key, _ = self.split(no, rest, 3)
            vals = self.values(no, rel, section, key)
            if vals:
                self.fail(no, f'{rel}: [{section}] {key}= is set: {vals!r}')
        elif verb == 'assert-keys':
            rel, section, keys = self.split(no, rest, 2)
            items = self.parsed(no, rel)
            if items is None:
                return
            actual = sorted({k for s, k, _, _ in items if s == section})
            expected = sorted(set(keys.split()))
            if actual != expected:
                self.fail(no, f'{rel}: keys in [{section}] are {actual}, expected {expected}')
        elif verb == 'assert-sections':
            rel, sections = self.split(no, rest, 1)
            text = self.text_of(no, rel)
            if text is None:
                return
            actual = [l.strip()[1:-1] for l in text.split('\n') if l.strip().startswith('[')]
            if actual != sections.split():
                self.fail(no, f'{rel}: sections are {actual}, expected {sections.split()}')
        elif verb in ('assert-file-contains', 'assert-file-not-contains'):
            rel, needle = self.split(no, rest, 1)
            needle = self.expand(unquote(needle))
            text = self.text_of(no, rel)
            if text is None:
                return
            want = verb == 'assert-file-contains'
            if (needle in text) != want:
                self.fail(no, f'{rel}: {"does not contain" if want else "contains"} {needle!r}')
        elif verb == 'assert-symlink':
            rel, target = self.split(no, rest, 1)
            target = self.expand(target)
            f = self.run.files.get(rel)
            if f is None or f[0] != 'link':
                self.fail(no, f'{rel} is not a generated symlink')
            elif f[1] != target:
                self.fail(no, f'{rel} points to {f[1]!r}, expected {target!r}')
        elif verb in ('assert-no-symlink', 'assert-no-file'):
            rel = rest.strip()
            if rel in self.run.files:
                self.fail(no, f'{rel} was generated')

    def covered_files(self):
        covered = set()
        for _, verb, rest in self.case.directives:
            if verb in FILE_ASSERTIONS and verb not in ('assert-no-symlink', 'assert-no-file'):
                covered.add(rest.split()[0])
        return covered

    def check_invariants(self):
        """What every generated file must satisfy, whatever the case says."""
        for rel, f in sorted(self.run.files.items()):
            if f[0] == 'link':
                if not f[1].startswith('/'):
                    self.fail(0, f'{rel}: symlink target {f[1]!r} is not absolute')
                continue
            data, mode = f[1], f[2]
            if mode != 0o644:
                self.fail(0, f'{rel}: mode {mode:o}, expected 644')
            try:
                text = data.decode('utf-8')
            except UnicodeDecodeError:
                self.fail(0, f'{rel}: not UTF-8')
                continue
            if text and not text.endswith('\n'):
                self.fail(0, f'{rel}: does not end with a newline')
            bad = [c for c in text if (ord(c) < 32 and c != '\n') or ord(c) == 0x7f]
            if bad:
                self.fail(0, f'{rel}: contains control characters {bad!r}')
            _, problems = systemd_parse(text)
            for p in problems:
                self.fail(0, f'{rel}: {p}')
            if rel.endswith('.conf') or rel.endswith('.service'):
                for section, key, value, no in systemd_parse(text)[0]:
                    if key in SPECIFIER_KEYS:
                        try:
                            unescape_specifiers(value)
                        except ValueError:
                            self.fail(0, f'{rel}:{no}: unescaped "%" in {key}={value}')

    def check_digest(self):
        """Each 10-sandy.conf records the digest of exactly the files it names: sha256 of the sha256sum
        lines "HASH  PATH" of the declaration and its drop-ins, in the order applied."""
        for rel, f in sorted(self.run.files.items()):
            if f[0] != 'file' or not rel.endswith('.service.d/10-sandy.conf'):
                continue
            text = f[1].decode('utf-8', 'replace')
            files = [m.group(1) or m.group(2) for m in re.finditer(
                r'^# (?:Automatically generated by sandy-generator from (.*)\.|Drop-in applied: (.*))$', text,
                re.M)]
            lines = ''.join(f'{hashlib.sha256(Path(p).read_bytes()).hexdigest()}  {p}\n' for p in files)
            want = f'"{DIGEST_ENV}={hashlib.sha256(lines.encode()).hexdigest()}"'
            got = [v for s, k, v, _ in systemd_parse(text)[0] if s == 'Service' and is_digest(k, v)]
            if got != [want]:
                self.fail(0, f'{rel}: declaration digest {got!r}, expected [{want!r}] (files {files!r})')

    def check(self, combined=False):
        c, r = self.case, self.run
        self.check_digest()
        if not combined:
            if c.failed:
                if r.rc != 1:
                    self.fail(0, f'exit status {r.rc}, expected 1 (assert-failed)')
                if r.files:
                    self.fail(0, f'files generated for a failed sandbox: {sorted(r.files)}')
            elif c.masked:
                if r.rc != 0:
                    self.fail(0, f'exit status {r.rc}, expected 0 (assert-masked)')
                if r.files:
                    self.fail(0, f'files generated for a masked sandbox: {sorted(r.files)}')
            else:
                if r.rc != 0:
                    self.fail(0, f'exit status {r.rc}, expected 0')
                if not r.files:
                    self.fail(0, 'nothing was generated')
            self.check_invariants()
            covered = self.covered_files()
            for rel in sorted(r.files):
                if rel not in covered:
                    self.fail(0, f'unexpected output file {rel} (add an assertion or "## allow-file {rel}")')

        for no, verb, rest in c.directives:
            if verb in FILE_ASSERTIONS:
                self.check_file_assertion(no, verb, rest)
            elif verb in ('assert-stderr-contains', 'assert-warning'):
                needle = self.expand(unquote(rest))
                if needle not in r.stderr:
                    self.fail(no, f'stderr does not contain {needle!r}')
            elif verb == 'assert-stderr-not-contains' and not combined:
                needle = self.expand(unquote(rest))
                if needle in r.stderr:
                    self.fail(no, f'stderr contains {needle!r}')

        if not combined:
            allowed = [self.expand(unquote(rest)) for _, v, rest in c.directives
                       if v in ('assert-stderr-contains', 'assert-warning', 'allow-stderr')]
            if c.failed:
                allowed.append(' has errors and was not generated')
            for line in r.stderr.splitlines():
                if line.strip() and not any(a in line for a in allowed):
                    self.fail(0, f'unexpected message on stderr: {line!r}')
        return self.errors


def find_template(path):
    """The text of sandy@.service: the configured file, or units/sandy@.service.in with its @VARS@ filled."""
    if path:
        return Path(path).read_text()
    src = HERE.parent.parent / 'units' / 'sandy@.service.in'
    if src.exists():
        values = {'bindir': '/usr/bin'}
        return re.sub(r'@(\w+)@', lambda m: values.get(m.group(1), '/usr/lib/sandy'), src.read_text())
    return None


def systemd_verify(run, template, tmp):
    """Load each generated drop-in with systemd-analyze verify; returns the messages about the drop-ins."""
    analyze = shutil.which('systemd-analyze')
    if not analyze or template is None:
        return []
    problems = []
    for rel in sorted(run.files):
        m = re.fullmatch(r'(sandy@(.+)\.service)\.d/10-sandy\.conf', rel)
        if not m:
            continue
        units = tmp / 'units'
        shutil.rmtree(units, ignore_errors=True)
        (units / f'{m.group(1)}.d').mkdir(parents=True)
        (units / 'sandy@.service').write_text(template)
        shutil.copy(run.out / rel, units / rel)
        env = {k: v for k, v in os.environ.items() if not k.startswith('SYSTEMD_')}
        env['SYSTEMD_UNIT_PATH'] = f'{units}:'  # the trailing ':' keeps the default path for dependencies
        proc = subprocess.run([analyze, 'verify', '--man=no', m.group(1)], env=env, capture_output=True,
                              timeout=60)
        for line in (proc.stdout + proc.stderr).decode('utf-8', 'replace').splitlines():
            if '10-sandy.conf' in line:
                problems.append(f'systemd-analyze verify: {line.replace(str(units) + "/", "")}')
    return problems


def run_case(case, generator, unitdir, keep, verbose, template=None):
    tmp = Path(tempfile.mkdtemp(prefix=f'sandy-golden-{case.name[:40]}-'))
    try:
        root = tmp / 'search'
        for d in SEARCH_DIRS:
            (root / d).mkdir(parents=True)
        case.install(root)
        run = Run(generator, root, tmp / 'out')
        errors = Checker(case, run, unitdir).check()
        errors += [f'{case.path.name}: {p}' for p in systemd_verify(run, template, tmp)]
        if errors or verbose:
            errors = errors + [f'  stderr: {l}' for l in run.stderr.splitlines()]
        return run, errors
    finally:
        if keep:
            print(f'# kept {tmp}')
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def parse_dry_run(stdout, out):
    """'---- PATH ----\\nCONTENT' and '---- PATH -> TARGET ----' records, keyed by path relative to out."""
    files = {}
    current = None
    prefix = str(out) + '/'
    for line in stdout.splitlines(keepends=True):
        m = re.fullmatch(r'---- (.*) ----\n', line)
        if m:
            head = m.group(1)
            if ' -> ' in head:
                path, target = head.split(' -> ', 1)
                files[path[len(prefix):] if path.startswith(prefix) else path] = ('link', target)
                current = None
            else:
                current = head[len(prefix):] if head.startswith(prefix) else head
                files[current] = ('file', '')
            continue
        if current is None:
            files.setdefault('<stray output>', ('file', ''))
            continue
        files[current] = ('file', files[current][1] + line)
    return files


def run_combined(cases, per_case, generator, unitdir, keep):
    """All cases in one search path: one bad file never stops the others."""
    errors = []
    tmp = Path(tempfile.mkdtemp(prefix='sandy-golden-all-'))
    try:
        for label, subset, expect_rc in (
                ('all cases', cases, 1 if any(c.failed for c in cases) else 0),
                ('good cases only', [c for c in cases if not c.failed], 0)):
            base = tmp / label.replace(' ', '-')
            root = base / 'search'
            for d in SEARCH_DIRS:
                (root / d).mkdir(parents=True)
            for c in subset:
                try:
                    c.install(root)
                except CaseError as e:
                    errors.append(f'{label}: {e}')
            run = Run(generator, root, base / 'out')
            if run.rc != expect_rc:
                errors.append(f'{label}: exit status {run.rc}, expected {expect_rc}')
            expected_files = set()
            for c in subset:
                solo = per_case.get(c.path.name)
                if solo is None:
                    continue
                expected_files |= set(solo.files)
                for e in Checker(c, run, unitdir).check(combined=True):
                    errors.append(f'{label}: {e}')
            extra = sorted(set(run.files) - expected_files)
            missing = sorted(expected_files - set(run.files))
            if extra:
                errors.append(f'{label}: files not generated when the cases ran alone: {extra}')
            if missing:
                errors.append(f'{label}: files missing that the cases generated alone: {missing}')
            if label == 'good cases only':
                dry = Run(generator, root, base / 'out', extra_args=['--dry-run'])
                if dry.rc != 0:
                    errors.append(f'--dry-run: exit status {dry.rc}')
                printed = parse_dry_run(dry.stdout, base / 'out')
                written = {}
                for rel, f in run.files.items():
                    if f[0] == 'link':
                        written[rel] = ('link', f[1])
                    else:
                        written[rel] = ('file', f[1].decode('utf-8', 'replace'))
                if printed != written:
                    for rel in sorted(set(printed) | set(written)):
                        if printed.get(rel) != written.get(rel):
                            errors.append(f'--dry-run prints {rel} differently from what is written: '
                                          f'{printed.get(rel)!r} vs {written.get(rel)!r}')
            if keep:
                print(f'# kept {base}')
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('generator', type=Path)
    ap.add_argument('cases', nargs='*', help='case file names (default: all)')
    ap.add_argument('--cases-dir', type=Path, default=HERE / 'cases')
    ap.add_argument('--unitdir', default=DEFAULT_UNITDIR, help='where sandy@.service is installed')
    ap.add_argument('--template', help='the configured sandy@.service, for systemd-analyze verify '
                                       '(default: units/sandy@.service.in of the source tree)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary directories')
    ap.add_argument('-v', '--verbose', action='store_true')
    ap.add_argument('--export-corpus', type=Path, metavar='DIR',
                    help='write the installed texts of all cases (and their drop-ins) to DIR and exit')
    args = ap.parse_args()

    paths = sorted(args.cases_dir.glob('*.sandbox'))
    if args.cases:
        wanted = {c if c.endswith('.sandbox') else c + '.sandbox' for c in args.cases}
        paths = [p for p in paths if p.name in wanted]
    cases = []
    for p in paths:
        try:
            cases.append(Case(p))
        except CaseError as e:
            print(f'Bail out! {e}')
            return 1

    if args.export_corpus:
        args.export_corpus.mkdir(parents=True, exist_ok=True)
        n = 0
        for c in cases:
            data = c.content()
            if len(data) <= 64 * 1024:
                (args.export_corpus / c.path.name).write_bytes(data)
                n += 1
            dropins = c.path.with_name(c.path.name + '.d')
            if dropins.is_dir():
                for f in sorted(dropins.iterdir()):
                    (args.export_corpus / f'{c.name}--{f.name}').write_bytes(f.read_bytes())
                    n += 1
        print(f'wrote {n} files to {args.export_corpus}')
        return 0

    generator = args.generator.resolve()
    if not os.access(generator, os.X_OK):
        print(f'Bail out! {generator} is not executable')
        return 1

    template = find_template(args.template)
    if not shutil.which('systemd-analyze') or template is None:
        print('# systemd-analyze or the sandy@.service template not found: '
              'the generated units are not loaded by systemd')

    failed = 0
    per_case = {}
    print(f'1..{len(cases) + (1 if not args.cases else 0)}')
    for i, c in enumerate(cases, 1):
        try:
            run, errors = run_case(c, generator, args.unitdir, args.keep, args.verbose, template)
            per_case[c.path.name] = run
        except (CaseError, subprocess.TimeoutExpired, OSError) as e:
            errors = [str(e)]
        ok = not any(not e.startswith('  stderr:') for e in errors)
        print(f'{"ok" if ok else "not ok"} {i} - {c.path.name}')
        for e in errors:
            print(f'# {e}')
        failed += not ok

    if not args.cases:
        errors = run_combined(cases, per_case, generator, args.unitdir, args.keep)
        ok = not errors
        print(f'{"ok" if ok else "not ok"} {len(cases) + 1} - all cases in one search path')
        for e in errors:
            print(f'# {e}')
        failed += not ok

    print(f'# {len(cases)} cases, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
