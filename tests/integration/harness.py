"""The integration-test stack: a private PostgreSQL and Redis, the five services and the
gateway, all on free loopback ports, started once for the whole run (stack()) and spoken to
over HTTP and WebSocket like any client would.

Services run from the build under test (build/san by default: AddressSanitizer + UBSan); a
sanitizer report or a non-zero exit of any process at shutdown fails the run (shutdown()).
With AIOPS_VALGRIND=1 the services run under valgrind instead (use a release build).
"""
import contextlib
import http.client
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import openapi_check

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICES = ["ingest", "train", "explain", "report", "monitor"]

_build = None
_stack = None


def configure(build_dir):
    global _build
    _build = build_dir


def data_dir():
    """The shared public datasets: $AIOPS_DATA_DIR when set (and only it), else ../shared/data
    beside the repository (or /work/shared/data). Skips the calling test (unittest.SkipTest,
    which tests/run.py reports) when the directory does not exist."""
    env = os.environ.get("AIOPS_DATA_DIR")
    cands = [env] if env else [os.path.join(ROOT, "..", "shared", "data"), "/work/shared/data"]
    for d in cands:
        if os.path.isdir(d):
            return os.path.abspath(d)
    if env:
        raise unittest.SkipTest("no shared datasets: AIOPS_DATA_DIR=%s is not a directory" % env)
    raise unittest.SkipTest("no shared datasets: set AIOPS_DATA_DIR or place them in "
                            "../shared/data")


def data_file(*parts):
    """The path of a file of the shared datasets (data_file("uci_adult", "adult_train.csv"));
    skips the calling test when it is missing."""
    path = os.path.join(data_dir(), *parts)
    if not os.path.isfile(path):
        raise unittest.SkipTest("no %s in the shared datasets (%s)" % (
            "/".join(parts), data_dir()))
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body, reason=""):
        self.status = status
        self.headers = headers
        self.body = body
        self.reason = reason

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Stack:
    def __init__(self, build):
        self.build = build
        # the sanitizer build keeps its programs in build/san/bin; the release build in bin/
        self.bin = os.path.join(build, "bin")
        if not os.path.isdir(self.bin):
            self.bin = os.path.join(ROOT, "bin")
        self.tmp = tempfile.mkdtemp(prefix="aiops-test-")
        os.chmod(self.tmp, 0o755)  # the postgres user must reach its data directory
        self.logdir = os.path.join(self.tmp, "log")
        os.makedirs(self.logdir)
        self.procs = {}
        self.problems = []
        self.openapi = None  # openapi_check.Checker, once /openapi.json was fetched
        self.pg_port, self.redis_port = free_port(), free_port()
        self.database_url = self.start_postgres()
        self.redis_url = self.start_redis()
        self.port = free_port()
        self.jwt_secret = secrets.token_urlsafe(48)
        self.service_secret = secrets.token_hex(32)
        # the services' ipc:// sockets live here, reachable by nobody else (lib/rpc/addr.h)
        self.run_dir = os.path.join(self.tmp, "run")
        os.makedirs(self.run_dir, mode=0o700)
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "AIOPS_PORT": str(self.port),
            "AIOPS_BIND": "127.0.0.1",
            "JWT_SECRET": self.jwt_secret,
            "SERVICE_SECRET": self.service_secret,
            "AIOPS_RUN_DIR": self.run_dir,
            "DISABLE_AUTH": "0",
            "CORS_ORIGINS": "http://localhost:3000",
            "SERVICE_WORKERS": "4",
            # short leases so that a killed training worker's job is taken over quickly
            "TRAIN_LEASE_SECONDS": "3",
            "TRAIN_WORKERS": "1",
            "LOG_LEVEL": "info",
            # every test is one client at one address with one key, and many fail
            # authentication on purpose: limits are tested on gateways of their own
            # (test_gateway.test_rate_limits_*)
            "RATE_LIMITS": "off",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        })
        self.admin("migrate")
        self.start("relay")
        for s in SERVICES:
            self.start(s)
        self.start("gateway")
        self.wait_ready()
        key = json.loads(self.admin("key", "create", "--project", "default", "--name", "tests",
                                    "--scopes", "read,write,predict"))
        self.api_key = key["key"]

    # --- PostgreSQL and Redis --------------------------------------------------------
    def start_postgres(self):
        env = dict(os.environ, PG_FSYNC="off")
        out = subprocess.run([os.path.join(ROOT, "scripts/pg.sh"), "start",
                              os.path.join(self.tmp, "pg"), str(self.pg_port)],
                             env=env, check=True, capture_output=True, text=True).stdout
        return out.strip().split("DATABASE_URL=", 1)[1]

    def stop_postgres(self):
        subprocess.run([os.path.join(ROOT, "scripts/pg.sh"), "stop", os.path.join(self.tmp, "pg")],
                       check=True, capture_output=True)

    def start_redis(self):
        out = subprocess.run([os.path.join(ROOT, "scripts/redis.sh"), "start",
                              os.path.join(self.tmp, "redis"), str(self.redis_port)],
                             check=True, capture_output=True, text=True).stdout
        return out.strip().split("REDIS_URL=", 1)[1]

    def stop_redis(self):
        subprocess.run([os.path.join(ROOT, "scripts/redis.sh"), "stop",
                        os.path.join(self.tmp, "redis")], check=True, capture_output=True)

    # --- processes -------------------------------------------------------------------
    def service_env(self, name):
        # every address defaults to an ipc:// socket under AIOPS_RUN_DIR
        return dict(self.env)

    def command(self, name):
        cmd = [os.path.join(self.bin, "aiops-" + name)]
        if os.environ.get("AIOPS_VALGRIND") == "1":
            cmd = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                   "--log-file=%s/%s.valgrind.%%p" % (self.logdir, name)] + cmd
        return cmd

    def start(self, name, extra_env=None, wait=True):
        env = self.service_env(name)
        env.update(extra_env or {})
        log = open(os.path.join(self.logdir, name + ".log"), "ab")
        p = subprocess.Popen(self.command(name), env=env, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
        log.close()
        self.procs[name] = p
        if wait and name != "gateway":
            self.wait_service(name)
        return p

    @contextlib.contextmanager
    def extra_gateway(self, name, ready=True, nofile=None, **env):
        """A second gateway in front of the same services, with env overrides (and with
        nofile: that descriptor limit, as `ulimit -n`); yields its port once it is ready
        (with ready=False: once it is alive) and checks that it stops cleanly on SIGTERM."""
        port = free_port()
        e = self.service_env("gateway")
        e.update({k: str(v) for k, v in env.items()})
        e["AIOPS_PORT"] = str(port)
        log = open(os.path.join(self.logdir, name + ".log"), "ab")

        def limit():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        p = subprocess.Popen(self.command("gateway"), env=e, stdout=log, stderr=log,
                             preexec_fn=limit)
        log.close()
        try:
            self.wait_ready(port=port, proc=p, path="/readyz" if ready else "/healthz")
            yield port
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=60) == 0, "%s exited with %s" % (name, p.returncode)

    @contextlib.contextmanager
    def replica(self, program, name, **env):
        """Another instance of a service (program "train", ...) logging to <name>.log, with
        env overrides (e.g. its own RPC_LISTEN); yields the process once it answers its health
        check and checks that it stops cleanly on SIGTERM."""
        e = self.service_env(program)
        e.update({k: str(v) for k, v in env.items()})
        log = open(os.path.join(self.logdir, name + ".log"), "ab")
        p = subprocess.Popen(self.command(program), env=e, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
        log.close()
        try:
            deadline = time.time() + 30
            while subprocess.run(self.command(program)[-1:] + ["--healthcheck"], env=e,
                                 capture_output=True).returncode != 0:
                if p.poll() is not None or time.time() > deadline:
                    raise RuntimeError("%s did not start:\n%s" % (name, self.log_tail(name)))
                time.sleep(0.1)
            yield p
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=120) == 0, "%s exited with %s" % (name, p.returncode)

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name)
        p.send_signal(sig)
        p.wait(timeout=60)
        return p.returncode

    def stop(self, name, timeout=60):
        """SIGTERM and wait; returns the exit status."""
        return self.kill(name, signal.SIGTERM)

    def wait_routed(self, name, timeout=20):
        """Until the gateway reaches service `name` (after a restart it dials it anew: until
        then the service's routes answer 503)."""
        deadline = time.time() + timeout
        while self.http_unchecked("GET", "/api/v1/%s/health" % name, auth=False).status != 200:
            if time.time() > deadline:
                raise RuntimeError("the gateway never reached the restarted svc-%s" % name)
            time.sleep(0.05)

    def restart(self, name, extra_env=None):
        """SIGTERM service `name`, start it again (with extra_env) and wait until the gateway
        reaches it."""
        assert self.stop(name) == 0, "svc-%s did not stop cleanly" % name
        self.start(name, extra_env)
        self.wait_routed(name)

    def wait_service(self, name, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = subprocess.run(self.command(name)[-1:] + ["--healthcheck"],
                               env=self.service_env(name), capture_output=True)
            if r.returncode == 0:
                return
            if self.procs[name].poll() is not None:
                raise RuntimeError("aiops-%s exited (%s); log:\n%s" % (
                    name, self.procs[name].returncode, self.log_tail(name)))
            time.sleep(0.1)
        raise RuntimeError("aiops-%s did not answer its health check" % name)

    def wait_ready(self, timeout=60, port=None, proc=None, path="/readyz"):
        deadline = time.time() + timeout
        last = None
        proc = proc or self.procs["gateway"]
        while time.time() < deadline:
            try:
                # a poll, not a test's request: a stack whose document is wrong still starts
                # (and stops), and the tests then fail on it
                last = self.http_unchecked("GET", path, auth=False, port=port)
                if last.status == 200:
                    return
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError("the gateway exited; log:\n" + self.log_tail("gateway"))
            time.sleep(0.1)
        raise RuntimeError("the stack did not become ready: %r" % (last,))

    def log_tail(self, name, n=40):
        try:
            with open(os.path.join(self.logdir, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def admin(self, *args, env=None):
        e = dict(self.env)
        e.update(env or {})
        r = subprocess.run([os.path.join(self.bin, "aiops-admin")] + list(args), env=e,
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("aiops-admin %s failed: %s" % (" ".join(args), r.stderr))
        return r.stdout

    def psql(self, sql):
        """Runs sql and returns the rows as lists of strings."""
        r = subprocess.run(["psql", self.database_url, "-tAqX", "-F", "\t", "-c", sql],
                           capture_output=True, text=True, timeout=60, check=True)
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def redis(self, *args):
        """Runs a Redis command with redis-cli; returns its output lines."""
        u = urllib.parse.urlparse(self.redis_url)
        r = subprocess.run(["redis-cli", "-h", u.hostname, "-p", str(u.port), "-a", u.password,
                            "--no-auth-warning"] + list(args),
                           capture_output=True, text=True, timeout=30, check=True)
        return r.stdout.splitlines()

    # --- HTTP ------------------------------------------------------------------------
    def http(self, method, path, body=None, headers=None, auth=True, timeout=60, port=None):
        """One request; a JSON answer is checked against /openapi.json's schema for its route
        and status (openapi_check: a mismatch raises openapi_check.SchemaMismatch)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        r = self.http_unchecked(method, path, body, headers, auth, timeout, port)
        openapi_check.check_response(self, method, path, r.status, r.headers, r.body,
                                     body.encode() if isinstance(body, str) else body)
        return r

    def fetch_openapi(self):
        """Caches the stack's /openapi.json; leaves it unset while the gateway is down."""
        try:
            r = self.http_unchecked("GET", "/openapi.json", auth=False, timeout=10)
        except OSError:
            return
        if r.status == 200:
            self.openapi = openapi_check.Checker(r.json())

    def http_unchecked(self, method, path, body=None, headers=None, auth=True, timeout=60,
                       port=None):
        h = {}
        if auth:
            h["X-API-Key"] = self.api_key
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data, r.reason)
        finally:
            c.close()

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # --- shutdown --------------------------------------------------------------------
    def shutdown(self):
        # the gateway first, so that no new work reaches the services
        order = ["gateway"] + [s for s in SERVICES if s in self.procs] + ["relay"]
        for name in order:
            p = self.procs.pop(name, None)
            if p is None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.problems.append((name, "did not stop within 60 s of SIGTERM"))
                continue
            if p.returncode != 0:
                self.problems.append((name, "exit status %d at shutdown:\n%s" % (
                    p.returncode, self.log_tail(name, 80))))
        for fname in sorted(os.listdir(self.logdir)):
            path = os.path.join(self.logdir, fname)
            with open(path, errors="replace") as f:
                text = f.read()
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
                if marker in text:
                    i = text.index(marker)
                    self.problems.append((fname, text[max(0, i - 200):i + 4000]))
                    break
            if ".valgrind." in fname and text.strip():
                self.problems.append((fname, text[:6000]))
        subprocess.run([os.path.join(ROOT, "scripts/redis.sh"), "stop",
                        os.path.join(self.tmp, "redis")], capture_output=True)
        subprocess.run([os.path.join(ROOT, "scripts/pg.sh"), "stop",
                        os.path.join(self.tmp, "pg")], capture_output=True)
        if not self.problems and os.environ.get("AIOPS_KEEP_TMP") != "1":
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("stack logs kept in %s" % self.logdir)
        return self.problems


def stack():
    global _stack
    if _stack is None:
        _stack = Stack(_build)
    return _stack


def after_failure():
    """Puts back any process a failed test left stopped, so later tests see a full stack."""
    if _stack is None:
        return
    for name in ["relay"] + SERVICES + ["gateway"]:
        p = _stack.procs.get(name)
        if p is None or p.poll() is not None:
            _stack.procs.pop(name, None)
            try:
                _stack.start(name)
            except Exception as e:  # noqa: BLE001
                print("could not restart %s: %s" % (name, e))
    try:
        _stack.wait_ready()
    except Exception as e:  # noqa: BLE001
        print("stack not ready after a failure: %s" % e)


def shutdown():
    if _stack is None:
        return []
    return _stack.shutdown()
