"""Checks of the test machinery itself: tests/run.py's TAP reading and skip counting,
--fail-on-skip / AIOPS_FAIL_ON_SKIP, tests/unit/unit.h's UNIT_SKIP, and the datasets lookup of
tests/integration/harness.py. A runner that counted a skip as a pass, or a fail-on-skip that
let a skip through, would hide every missing dataset in CI."""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN_PY = os.path.join(ROOT, "tests", "run.py")


def _runner():
    spec = importlib.util.spec_from_file_location("aiops_tests_run", RUN_PY)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "AIOPS_FAIL_ON_SKIP"}
    env.update(extra)
    return env


def test_runner_parses_tap_results_and_skips():
    run = _runner()
    got = run.parse_tap("\n".join([
        "# a comment",
        "ok 1 - passes",
        "not ok 2 - fails",
        "ok 3 - no_data # SKIP no shared datasets: set AIOPS_DATA_DIR",
        "ok 4 - lower # skip why not",
        "not ok 5 - failed_and_skipped # SKIP a failed check wins",
        "ok 6 - bare # SKIP",
        "ok 7 - hash # in a name is no directive",
        "okay 8 - not a test line",
        "1..7",
    ]))
    assert got == [
        ("passes", run.PASS, ""),
        ("fails", run.FAIL, ""),
        ("no_data", run.SKIP, "no shared datasets: set AIOPS_DATA_DIR"),
        ("lower", run.SKIP, "why not"),
        ("failed_and_skipped", run.FAIL, ""),
        ("bare", run.SKIP, "no reason given"),
        ("hash", run.PASS, ""),
    ], got


def test_runner_counts_skips_and_fail_on_skip_fails():
    # a fake build holding one "unit test program" that passes a test and skips another
    build = tempfile.mkdtemp(prefix="aiops-runner-test-")
    try:
        os.makedirs(os.path.join(build, "tests"))
        prog = os.path.join(build, "tests", "test_fake")
        with open(prog, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\necho 'ok 1 - a'\necho 'ok 2 - b # SKIP no data here'\n"
                    "echo '1..2'\n")
        os.chmod(prog, 0o755)

        def run(*args, **env):
            p = subprocess.run([sys.executable, RUN_PY, "--build", build, "--unit-only", *args],
                               capture_output=True, text=True, timeout=60, env=_env(**env))
            return p.returncode, p.stdout.splitlines()

        rc, out = run()
        assert rc == 0, out
        assert out[-1] == "1 passed, 0 failed, 1 skipped", out
        assert "skipped:" in out and "  test_fake.b: no data here" in out, out
        assert "SKIP   test_fake.b: no data here" in out, out

        for args, env in ((("--fail-on-skip",), {}), ((), {"AIOPS_FAIL_ON_SKIP": "1"})):
            rc, out = run(*args, **env)
            assert rc == 1, (args, env, out)
            assert out[-1] == "1 passed, 1 failed, 0 skipped", (args, env, out)
            assert "failed:" in out and "  test_fake.b" in out, out
            assert any("no data here" in l and "fail" in l for l in out), out

        rc, out = run(AIOPS_FAIL_ON_SKIP="0")
        assert rc == 0 and out[-1] == "1 passed, 0 failed, 1 skipped", out
    finally:
        shutil.rmtree(build)


def test_runner_python_skiptest_is_a_skip():
    run = _runner()
    tdir = tempfile.mkdtemp(prefix="aiops-runner-test-")
    try:
        with open(os.path.join(tdir, "test_runner_probe_skips.py"), "w",
                  encoding="utf-8") as f:
            f.write("import unittest\n\n"
                    "def test_ok():\n    pass\n\n"
                    "def test_needs_data():\n    raise unittest.SkipTest('no dataset X')\n\n"
                    "def test_broken():\n    assert 1 == 2, 'one is not two'\n")
        for fail_on_skip, want in ((False, (1, 1, 1)), (True, (1, 2, 0))):
            sys.modules.pop("test_runner_probe_skips", None)
            with open(os.devnull, "w", encoding="utf-8") as devnull:
                res = run.Results(fail_on_skip=fail_on_skip, out=devnull)
                run.run_python(tdir, "", res)
            counts = (res.count(run.PASS), res.count(run.FAIL), res.count(run.SKIP))
            assert counts == want, (fail_on_skip, counts, res.rows)
            assert res.exit_code() == 1
            row = [r for r in res.rows if r[0].endswith(".test_needs_data")][0]
            assert "no dataset X" in row[2], row
    finally:
        sys.modules.pop("test_runner_probe_skips", None)
        if tdir in sys.path:
            sys.path.remove(tdir)
        shutil.rmtree(tdir)


def test_unit_h_prints_skip_lines():
    """A C test that calls UNIT_SKIP prints "ok N - name # SKIP reason"; one that also fails a
    check is "not ok"; the program's exit status counts only failures."""
    cc = shutil.which("gcc") or shutil.which("cc")
    assert cc, "a C compiler is needed"
    tmp = tempfile.mkdtemp(prefix="aiops-unit-h-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w", encoding="utf-8") as f:
            f.write('#include "unit.h"\n'
                    'static void t_pass(void) { CHECK(1); }\n'
                    'static void t_skip(void) { UNIT_SKIP("no %s\\nhere", "data"); }\n'
                    'static void t_skip_fail(void) { UNIT_SKIP("x"); CHECK_INT(1, 2); }\n'
                    'static void t_after(void) { CHECK(1); }\n'
                    'UNIT_MAIN(UNIT(t_pass), UNIT(t_skip), UNIT(t_skip_fail), UNIT(t_after))\n')
        exe = os.path.join(tmp, "probe")
        p = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                            "-Wconversion", "-Wmissing-prototypes", "-Wformat=2",
                            "-I" + os.path.join(ROOT, "tests", "unit"), "-o", exe, src, "-lm"],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        p = subprocess.run([exe], capture_output=True, text=True, timeout=60)
        assert p.stdout.splitlines() == [
            "ok 1 - t_pass",
            "ok 2 - t_skip # SKIP no data here",
            "not ok 3 - t_skip_fail",
            "ok 4 - t_after",
            "1..4",
        ], p.stdout
        assert p.returncode == 1, p.returncode
    finally:
        shutil.rmtree(tmp)


def test_harness_skips_without_datasets():
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    try:
        import harness  # noqa: PLC0415
    finally:
        sys.path.pop(0)
    saved = os.environ.get("AIOPS_DATA_DIR")
    missing = os.path.join(tempfile.gettempdir(), "aiops-no-such-datasets-dir")
    empty = tempfile.mkdtemp(prefix="aiops-empty-datasets-")
    try:
        os.environ["AIOPS_DATA_DIR"] = missing
        for call in (harness.data_dir, lambda: harness.data_file("uci_adult", "a.csv")):
            try:
                call()
                raise AssertionError("no SkipTest without the datasets")
            except unittest.SkipTest as e:
                assert "AIOPS_DATA_DIR=" + missing in str(e), e
        os.environ["AIOPS_DATA_DIR"] = empty
        assert harness.data_dir() == os.path.abspath(empty)
        try:
            harness.data_file("uci_adult", "adult_train.csv")
            raise AssertionError("no SkipTest for a missing file")
        except unittest.SkipTest as e:
            assert "uci_adult/adult_train.csv" in str(e), e
    finally:
        if saved is None:
            os.environ.pop("AIOPS_DATA_DIR", None)
        else:
            os.environ["AIOPS_DATA_DIR"] = saved
        shutil.rmtree(empty)


def test_python_tests_and_benchmarks_name_nothing_undefined():
    """pyflakes over tests/ and bench/: an undefined name (an import lost in a merge, a typo)
    fails here instead of as a NameError halfway through an integration test."""
    targets = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "bench")]
    r = subprocess.run(["/usr/bin/python3", "-m", "pyflakes"] + targets, capture_output=True,
                       text=True)
    assert "No module named pyflakes" not in r.stderr, "python3-pyflakes is not installed"
    bad = [line for line in r.stdout.splitlines()
           if "undefined name" in line or "syntax error" in line.lower()]
    assert not bad, "\n".join(bad)
