#!/usr/bin/env python3
"""long-functions.py -- lists the C functions longer than a limit (150 lines by default).

Long step-by-step functions hide their steps: the suite splits them into named steps. A
parser's state machine is one switch that reads best whole, so the functions named in
ALLOWED (file:function) may be longer. Uses Universal Ctags (its `end:` field) to find
where each function starts and ends.

Usage: scripts/long-functions.py [--max N] [--check] [dir ...]
  default dirs: lib gateway svc-* cli relay; --check exits 1 when any function is listed.
"""
import argparse
import glob
import os
import subprocess
import sys

# Parsers' state machines, allowed to be long (file:function).
ALLOWED = {
    "lib/data/csv.c:csv_next",  # RFC 4180 record scanner: one loop over quote/field/line states
}


def functions(paths):
    """Yields (file, name, first line, last line) of every C function definition."""
    out = subprocess.run(
        ["ctags", "-x", "--_xformat=%N\t%F\t%n\t%{end}", "--kinds-C=f", "--languages=C",
         "--langmap=C:.c.h", "-R"] + paths,
        capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        name, path, start, end = line.split("\t")
        if end.isdigit():
            yield path, name, int(start), int(end)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=150, help="longest allowed, in lines")
    ap.add_argument("--check", action="store_true", help="exit 1 when a function is listed")
    ap.add_argument("dirs", nargs="*")
    args = ap.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    dirs = args.dirs or ["lib", "gateway", "cli", "relay"] + sorted(glob.glob("svc-*"))
    long_ones = []
    for path, name, start, end in functions(dirs):
        n = end - start + 1
        if n > args.max and f"{path}:{name}" not in ALLOWED:
            long_ones.append((n, path, name, start))
    for n, path, name, start in sorted(long_ones, reverse=True):
        print(f"{path}:{start}: {name}: {n} lines")
    if args.check and long_ones:
        print(f"long-functions: {len(long_ones)} functions over {args.max} lines", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
