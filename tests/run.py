#!/usr/bin/python3
"""Runs the whole test suite and prints one final line: "N passed, N failed".

  tests/run.py --build build/san            everything
  tests/run.py --build build/san -k upload  only tests whose name contains "upload"

Unit tests are the C programs build/<mode>/tests/test_* (TAP output, see tests/unit/unit.h).
Integration tests are the functions test_* in tests/integration/test_*.py; each takes the
shared `stack` (tests/integration/harness.py), which starts PostgreSQL, Redis and every
service on free loopback ports the first time a test asks for it.
"""
import argparse
import importlib
import inspect
import os
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
        seen = 0
        for line in out.splitlines():
            ok = line.startswith("ok ")
            bad = line.startswith("not ok ")
            if not (ok or bad):
                continue
            tname = "%s.%s" % (name, line.split(" - ", 1)[-1])
            if pattern and pattern not in tname:
                continue
            seen += 1
            results.append((tname, ok, "" if ok else err))
            print("%s %s" % ("ok    " if ok else "FAIL  ", tname), flush=True)
            if bad and err:
                print(indent(err), flush=True)
        if rc != 0 and not any(r[0].startswith(name + ".") and not r[1] for r in results):
            # crashed, leaked (LeakSanitizer exits non-zero after the last test) or timed out
            results.append((name, False, err))
            print("FAIL   %s (exit %d, %.1fs)\n%s" % (name, rc, time.time() - t0, indent(err)),
                  flush=True)


def indent(text, limit=6000):
    text = text[-limit:]
    return "\n".join("       " + l for l in text.splitlines())


def run_integration(build, pattern, results):
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import harness  # noqa: E402

    harness.configure(os.path.join(ROOT, build))
    idir = os.path.join(ROOT, "tests", "integration")
    try:
        for fname in sorted(os.listdir(idir)):
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
                    # a test that takes an argument gets the running stack
                    if inspect.signature(fn).parameters:
                        fn(harness.stack())
                    else:
                        fn()
                    results.append((full, True, ""))
                    print("ok     %s (%.1fs)" % (full, time.time() - t0), flush=True)
                except Exception:  # noqa: BLE001 -- a failing test is reported, not fatal
                    tb = traceback.format_exc()
                    results.append((full, False, tb))
                    print("FAIL   %s (%.1fs)\n%s" % (full, time.time() - t0, indent(tb)),
                          flush=True)
                    harness.after_failure()
    finally:
        problems = harness.shutdown()
        for p in problems:
            # a sanitizer report or crash in a service fails the run even if tests passed
            results.append(("services." + p[0], False, p[1]))
            print("FAIL   services.%s\n%s" % (p[0], indent(p[1])), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build/san")
    ap.add_argument("-k", dest="pattern", default="")
    ap.add_argument("--unit-only", action="store_true")
    ap.add_argument("--integration-only", action="store_true")
    a = ap.parse_args()
    results = []
    if not a.integration_only:
        run_unit(a.build, a.pattern, results)
    if not a.unit_only:
        run_integration(a.build, a.pattern, results)
    passed = sum(1 for r in results if r[1])
    failed = len(results) - passed
    if failed:
        print("\nfailed:")
        for r in results:
            if not r[1]:
                print("  " + r[0])
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not results else 0)


if __name__ == "__main__":
    main()
