#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Print NAME=VALUE for every '#define NAME <string expression>' of the C headers given, where the
# expression is string literals and names defined earlier (C concatenation). meson.build uses this to
# substitute lib/paths.h and lib/bus-names.h into unit, D-Bus and polkit files: one owner per fact.
import re
import sys

defs = {}
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        m = re.match(r'#define\s+([A-Z][A-Z0-9_]*)\s+(.+?)\s*$', line)
        if not m:
            continue
        name, expr = m.groups()
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"|([A-Z][A-Z0-9_]*)|(\S)', expr)
        value, ok = "", True
        for lit, ident, other in parts:
            if other or (ident and ident not in defs):
                ok = False
                break
            value += defs[ident] if ident else lit
        if ok:
            defs[name] = value
for k, v in defs.items():
    print(f"{k}={v}")
