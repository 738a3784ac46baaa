#!/usr/bin/python3
"""Runs the whole test suite and prints one final line: "N passed, N failed, N skipped".

  tests/run.py --build build/san                   everything: unit, static, integration
  tests/run.py --build build/san -k upload         only tests whose name contains "upload"
  tests/run.py --build build/san --fail-on-skip    a skipped test fails the run (CI)

Three groups run in this order:
  unit         the C programs build/<mode>/tests/test_* (TAP output, see tests/unit/unit.h)
  static       the functions test_* in tests/static/test_*.py: checks of files (deployment
               descriptions, this runner) that need no build and no running services
  integration  the functions test_* in tests/integration/test_*.py; each takes the shared
               `stack` (tests/integration/harness.py), which starts PostgreSQL, Redis and
               every service on free loopback ports the first time a test asks for it

A test that cannot run where it is (its dataset is missing) is skipped, not passed: a unit
test prints "ok N - name # SKIP reason", a Python test raises unittest.SkipTest(reason).
Skips are counted and listed with their reasons at the end. With --fail-on-skip, or
AIOPS_FAIL_ON_SKIP=1 in the environment (CI sets it), every skip is a failure.
"""
import argparse
import importlib
import inspect
import os
import re
import subprocess
import sys
import time
import traceback
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GROUPS = ("unit", "static", "integration")

PASS, FAIL, SKIP = "ok", "FAIL", "SKIP"


class Results:
    """What ran, in order: (name, status, detail); detail is a skip's reason or a failure's
    output. With fail_on_skip a skip is recorded as a failure."""

    def __init__(self, fail_on_skip=False, out=sys.stdout):
        self.rows = []
        self.fail_on_skip = fail_on_skip
        self.out = out

    def add(self, name, status, detail="", seconds=None):
        if status == SKIP and self.fail_on_skip:
            status, detail = FAIL, "skipped (%s), and a skip fails this run (--fail-on-skip " \
                                   "or AIOPS_FAIL_ON_SKIP=1)" % detail
        self.rows.append((name, status, detail))
        took = "" if seconds is None else " (%.1fs)" % seconds
        if status == SKIP:
            line = "%-6s %s%s: %s" % (status, name, took, detail)
        else:
            line = "%-6s %s%s" % (status, name, took)
            if status == FAIL and detail:
                line += "\n" + indent(detail)
        print(line, file=self.out, flush=True)

    def count(self, status):
        return sum(1 for r in self.rows if r[1] == status)

    def failed_in(self, prefix):
        return any(r[0].startswith(prefix) and r[1] == FAIL for r in self.rows)

    def summary(self):
        """The closing lines: what skipped and why, what failed, then the counts."""
        lines = []
        skipped = [r for r in self.rows if r[1] == SKIP]
        failed = [r for r in self.rows if r[1] == FAIL]
        if skipped:
            lines += ["", "skipped:"] + ["  %s: %s" % (r[0], r[2]) for r in skipped]
        if failed:
            lines += ["", "failed:"] + ["  " + r[0] for r in failed]
        lines.append("%d passed, %d failed, %d skipped" % (
            self.count(PASS), self.count(FAIL), self.count(SKIP)))
        return lines

    def exit_code(self):
        return 1 if self.count(FAIL) or not self.rows else 0


def indent(text, limit=6000):
    text = text[-limit:]
    return "\n".join("       " + l for l in text.splitlines())


# "ok 3 - name", "not ok 4 - name", "ok 5 - name # SKIP reason" (the number and the dash
# are optional in TAP)
_TAP_TEST = re.compile(r"^(not )?ok\b(?:\s+\d+)?(?:\s+-)?\s*(.*)$")
_TAP_SKIP = re.compile(r"(?i)^skip\S*\s*(.*)$")  # the directive: SKIP, skip, SKIPPED: ...


def parse_tap(text):
    """The test lines of a TAP stream: [(name, status, reason)], status PASS, FAIL or SKIP.
    "not ok" is a failure whatever directive follows it."""
    tests = []
    for line in text.splitlines():
        m = _TAP_TEST.match(line)
        if not m:
            continue
        name, _, directive = m.group(2).partition(" # ")
        skip = _TAP_SKIP.match(directive.strip())
        if m.group(1):
            tests.append((name.strip(), FAIL, ""))
        elif skip:
            tests.append((name.strip(), SKIP, skip.group(1).strip() or "no reason given"))
        else:
            tests.append((name.strip(), PASS, ""))
    return tests


def run_unit(build, pattern, results):
    tdir = os.path.join(ROOT, build, "tests")
    if not os.path.isdir(tdir):
        return
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    for name in sorted(os.listdir(tdir)):
        path = os.path.join(tdir, name)
        if not name.startswith("test_") or not os.access(path, os.X_OK) or name.endswith(".d"):
            continue
        t0 = time.time()
        try:
            p = subprocess.run([path], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=600)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out, err, rc = (e.stdout or b"").decode(errors="replace"), "timeout after 600 s", -1
        for tname, status, reason in parse_tap(out):
            full = "%s.%s" % (name, tname)
            if pattern and pattern not in full:
                continue
            results.add(full, status, reason if status == SKIP else err)
        if rc != 0 and not results.failed_in(name + "."):
            # crashed, leaked (LeakSanitizer exits non-zero after the last test) or timed out
            results.add(name, FAIL, "exit %d after %.1fs\n%s" % (rc, time.time() - t0, err))


def run_python(tdir, pattern, results, stack=None, after_failure=None):
    """Runs the test_* functions of tdir/test_*.py (module names are global: no two folders
    may hold the same file name). A function that takes an argument gets stack() (None: the
    folder's tests get no stack, and such a test fails); after_failure() runs after a test
    that failed or skipped."""
    group = os.path.basename(tdir)
    if tdir not in sys.path:
        sys.path.insert(0, tdir)
    for fname in sorted(os.listdir(tdir)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        mod = importlib.import_module(fname[:-3])
        for tname, fn in inspect.getmembers(mod, inspect.isfunction):
            if not tname.startswith("test_") or fn.__module__ != mod.__name__:
                continue
            full = "%s.%s" % (fname[:-3], tname)
            if pattern and pattern not in full:
                continue
            t0 = time.time()
            try:
                if inspect.signature(fn).parameters:
                    if stack is None:
                        raise TypeError("a %s test takes no arguments: there is no stack"
                                        % group)
                    fn(stack())
                else:
                    fn()
                results.add(full, PASS, seconds=time.time() - t0)
            except unittest.SkipTest as e:
                results.add(full, SKIP, str(e) or "no reason given", seconds=time.time() - t0)
                if after_failure:
                    after_failure()
            except Exception:  # noqa: BLE001 -- a failing test is reported, not fatal
                results.add(full, FAIL, traceback.format_exc(), seconds=time.time() - t0)
                if after_failure:
                    after_failure()


def run_integration(build, pattern, results):
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import harness  # noqa: E402

    harness.configure(os.path.join(ROOT, build))
    try:
        run_python(os.path.join(ROOT, "tests", "integration"), pattern, results, harness.stack,
                   harness.after_failure)
    finally:
        for p in harness.shutdown():
            # a sanitizer report or crash in a service fails the run even if tests passed
            results.add("services." + p[0], FAIL, p[1])


def env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build/san")
    ap.add_argument("-k", dest="pattern", default="")
    only = ap.add_mutually_exclusive_group()
    for g in GROUPS:
        only.add_argument("--%s-only" % g, dest="only", action="store_const", const=g,
                          help="run only the %s tests" % g)
    ap.add_argument("--fail-on-skip", action="store_true", default=env_flag("AIOPS_FAIL_ON_SKIP"),
                    help="a skipped test fails the run (default: AIOPS_FAIL_ON_SKIP=1)")
    a = ap.parse_args(argv)
    results = Results(fail_on_skip=a.fail_on_skip)
    groups = [a.only] if a.only else GROUPS
    if "unit" in groups:
        run_unit(a.build, a.pattern, results)
    if "static" in groups:
        run_python(os.path.join(ROOT, "tests", "static"), a.pattern, results)
    if "integration" in groups:
        run_integration(a.build, a.pattern, results)
    print("\n".join(results.summary()))
    return results.exit_code()


if __name__ == "__main__":
    sys.exit(main())
