#!/usr/bin/env python3
"""The layout rules of issue #14, checked on every CI run (docs/architecture.md):
- no C file in fcgi/, worker/, lib/, ctl/ over 1,000 lines, no function over 150 lines;
- `UPDATE campaigns` in one source file (lib/campaign_store.c) and `INSERT INTO audit_log` in
  one (lib/audit_log.c);
- no SQL on the core tables (campaigns, recipients, send_log, opt_outs, audit_log) outside the
  domain layer in lib/.
Prints each breach and exits 1 when there is one."""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ("fcgi", "worker", "lib", "ctl")
MAX_FILE, MAX_FUNC = 1000, 150
CORE = r"(campaigns|recipients|send_log|opt_outs|audit_log)"
# A statement on a core table: the verb, then the table as the statement's target.
CORE_SQL = re.compile(r"\b(FROM|JOIN|UPDATE|INTO|DELETE\s+FROM)\s+" + CORE + r"\b")
ONE_FILE = {r"UPDATE campaigns\b": "lib/campaign_store.c",
            r"INSERT INTO audit_log\b": "lib/audit_log.c"}


def sources():
    for d in DIRS:
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            if name.endswith(".c"):
                yield os.path.join(d, name)


def strings(text):
    """The C string literals of text (SQL lives in them), joined per line."""
    return re.findall(r'"((?:[^"\\\n]|\\.)*)"', text)


def functions(lines):
    """(name, first line, length) of each function: clang-format puts a definition's brace
    alone at column 0 and its closing brace at column 0."""
    out, start, name = [], None, None
    for i, line in enumerate(lines):
        if line == "{" and i > 0 and start is None:
            j = i - 1
            while j > 0 and not re.match(r"^[A-Za-z_]", lines[j]):
                j -= 1
            m = re.search(r"(\w+)\s*\(", lines[j])
            name, start = (m.group(1) if m else "?"), j
        elif line == "}" and start is not None:
            out.append((name, start + 1, i - start + 1))
            start = None
    return out


def main():
    bad = []
    found = {k: set() for k in ONE_FILE}
    for path in sources():
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            text = f.read()
        lines = text.split("\n")
        if len(lines) - 1 > MAX_FILE:
            bad.append("%s: %d lines (at most %d)" % (path, len(lines) - 1, MAX_FILE))
        for name, first, n in functions(lines):
            if n > MAX_FUNC:
                bad.append("%s:%d: %s is %d lines (at most %d)" % (path, first, name, n, MAX_FUNC))
        sql = " ".join(strings(text))
        for pat in ONE_FILE:
            if re.search(pat, sql):
                found[pat].add(path)
        if not path.startswith("lib/"):
            for m in CORE_SQL.finditer(sql):
                bad.append("%s: SQL on %s outside lib/ (%s ...)" % (path, m.group(2), m.group(0)))
    for pat, only in ONE_FILE.items():
        others = sorted(found[pat] - {only})
        if others:
            bad.append("%s outside %s: %s" % (pat.replace("\\b", ""), only, ", ".join(others)))
    for b in bad:
        print("check-rules: " + b)
    print("check-rules: %d breaches" % len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
