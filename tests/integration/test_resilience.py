"""PostgreSQL, Redis and event relay restarts are survived by reconnecting; nothing needs
restarting."""
import json
import subprocess
import time
import uuid

import wsclient
from test_gateway import assert_error


def small_csv():
    return b"a,label\n1,0\n2,1\n%d,0\n" % uuid.uuid4().int


def upload(stack):
    return stack.http("POST", "/api/upload?filename=r.csv", body=small_csv(),
                      headers={"Content-Type": "text/csv"})


def wait_for(cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    return cond()


def test_postgres_restart_is_survived(stack):
    assert upload(stack).status == 200
    stack.stop_postgres()
    try:
        r = upload(stack)
        err = assert_error(r, 503, "dependency_unavailable")
        rz = wait_for(lambda: (lambda x: x if x.status == 503 else None)(
            stack.http("GET", "/readyz", auth=False)))
        assert "postgres" in rz.json()["error"]["details"]["missing"], rz
        assert stack.http("GET", "/api/health", auth=False).json()["checks"]["postgres"] == "down"
    finally:
        stack.start_postgres()
    stack.wait_ready()
    r = wait_for(lambda: (lambda x: x if x.status == 200 else None)(upload(stack)))
    assert r and r.status == 200, r
    assert stack.http("GET", "/api/v1/datasets/" + r.json()["file_id"]).status == 200


def test_redis_restart_is_survived(stack):
    stack.stop_redis()
    try:
        rz = wait_for(lambda: (lambda x: x if x.status == 503 else None)(
            stack.http("GET", "/readyz", auth=False)))
        assert "redis" in rz.json()["error"]["details"]["missing"], rz
        # live counters are best effort: uploads still work without Redis
        assert upload(stack).status == 200
    finally:
        stack.start_redis()
    stack.wait_ready()
    before = [l for l in stack.redis("HGET", "aiops:ingest", "uploads_total") if l]
    assert upload(stack).status == 200
    after = [l for l in stack.redis("HGET", "aiops:ingest", "uploads_total") if l]
    assert int(after[0]) == (int(before[0]) if before else 0) + 1, (before, after)


def test_relay_restart_is_survived_and_never_unready(stack):
    """Events are best effort: without the relay the API keeps serving and stays ready; once
    it is back, services and gateways reconnect by themselves and events flow again."""
    stack.stop("relay")
    try:
        h = wait_for(lambda: (lambda x: x if x.json()["checks"]["event-relay"] == "down" else None)(
            stack.http("GET", "/api/health", auth=False)))
        assert h.json()["status"] == "degraded", h
        assert stack.http("GET", "/readyz", auth=False).status == 200
        assert upload(stack).status == 200
    finally:
        stack.start("relay")
    deadline = time.time() + 30
    while True:
        ws = wsclient.WebSocket(stack.port, "/ws/datasets", headers={"X-API-Key": stack.api_key},
                                timeout=3)
        try:
            assert upload(stack).status == 200
            if json.loads(ws.recv())["type"] == "dataset_uploaded":
                break
        except (OSError, TimeoutError):
            assert time.time() < deadline, "events did not flow again after the relay restarted"
        finally:
            ws.close()
    # every service has its connection to the relay back (its health says so): a service whose
    # dialer is still waiting would lose the events of the tests that come next
    for name in ("ingest", "train", "explain", "report", "monitor"):
        deadline = time.time() + 60
        while True:
            r = subprocess.run(stack.command(name)[-1:] + ["--healthcheck"],
                               env=stack.service_env(name), capture_output=True, text=True)
            if r.returncode == 0 and json.loads(r.stdout)["event_relay"] == "up":
                break
            assert time.time() < deadline, "svc-%s never reached the restarted relay: %s" % (
                name, r.stdout or r.stderr)
            time.sleep(0.2)
