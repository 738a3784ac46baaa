"""Batch envelopes between the gateway and the services (issue 12): a service answers a batch
call by call, in order, each with its own request id, status and errors, and still serves the
old one-call envelope; the gateway coalesces cheap calls that queue while others are in
flight, keeps each call's answer and error its own, and answers every call waiting for a
batch when the service stops answering or dies."""
import concurrent.futures
import hashlib
import hmac
import os
import re
import signal
import struct
import subprocess
import time

import harness
from test_train import train, upload_bytes, wait_run
from test_transport import pb_field, sp_request


# --- sealing and reading envelopes (lib/rpc/envelope.h) -----------------------------------------

def seal(stack, magic, payload, sent_ms=None):
    head = magic + struct.pack("<q", int(time.time() * 1000) if sent_ms is None else sent_ms)
    mac = hmac.new(stack.service_secret.encode(), head + payload, hashlib.sha256).digest()
    return head + payload + mac


def unseal(stack, magic, msg):
    assert msg[:4] == magic, msg[:8]
    body, mac = msg[:-32], msg[-32:]
    assert hmac.compare_digest(hmac.new(stack.service_secret.encode(), body,
                                        hashlib.sha256).digest(), mac)
    return body[12:]


def pb_fields(b):
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise AssertionError("wire type %d" % wire)
        out.append((num, v))
    return out


def varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def response(b):
    """proto/aiops.proto's Response as {request_id, status, body}."""
    f = dict(pb_fields(b))
    return {"request_id": f.get(2, b"").decode(), "status": f.get(3, 0), "body": f.get(6, b"")}


def request(rid, route, path, version=1, deadline_ms=0, project="default"):
    principal = pb_field(1, "batch-test") + pb_field(2, project) + pb_field(3, "read")
    m = pb_field(1, version) + pb_field(2, rid) + pb_field(3, principal)
    if deadline_ms:
        m += pb_field(4, deadline_ms)
    return m + pb_field(5, "GET") + pb_field(6, path) + pb_field(10, route)


# --- a service and batches -------------------------------------------------------------------

def test_a_service_answers_a_batch_call_by_call_in_order(stack):
    path = os.path.join(stack.run_dir, "ingest.rpc")
    future = int(time.time() * 1000) + 60000
    calls = [
        request("b-health", "health", "/api/v1/ingest/health", deadline_ms=future),
        request("b-unknown", "no.such.route", "/nowhere"),
        b"\xff\xff\xff",                                            # not a Request at all
        request("b-version", "health", "/api/v1/ingest/health", version=7),
        request("b-late", "health", "/api/v1/ingest/health", deadline_ms=1000),
        request("b-list", "datasets.list", "/api/v1/datasets"),
    ]
    batch = pb_field(1, 1) + b"".join(pb_field(2, c) for c in calls)
    reply = sp_request(path, seal(stack, b"AIB1", batch))
    fields = pb_fields(unseal(stack, b"AIB1", reply))
    assert dict(fields)[1] == 1, fields   # BatchReply.version
    answers = [response(v) for n, v in fields if n == 2]
    assert [a["request_id"] for a in answers] == \
        ["b-health", "b-unknown", "", "", "b-late", "b-list"], answers
    assert [a["status"] for a in answers] == [200, 404, 400, 400, 504, 200], answers
    assert b'"service":"ingest"' in answers[0]["body"].replace(b" ", b""), answers[0]
    assert b"unknown_route" in answers[1]["body"], answers[1]
    assert b"bad_envelope" in answers[2]["body"], answers[2]
    assert b"protocol version not supported" in answers[3]["body"], answers[3]
    assert b"deadline_exceeded" in answers[4]["body"], answers[4]
    assert b"datasets" in answers[5]["body"], answers[5]

    # the one-call envelope of gateways that predate batches is still served
    one = sp_request(path, seal(stack, b"AIO1", request("single", "health", "/")))
    assert response(unseal(stack, b"AIO1", one))["status"] == 200

    # a batch under another secret, or a single sealed as a batch, is refused like any forgery
    forged = b"AIB1" + struct.pack("<q", int(time.time() * 1000)) + batch + b"\0" * 32
    assert sp_request(path, forged) == b"AIOX"
    stale = seal(stack, b"AIB1", batch, sent_ms=int(time.time() * 1000) - 3600 * 1000)
    assert sp_request(path, stale) == b"AIOX"


# --- the gateway coalescing ---------------------------------------------------------------

def metric(stack, port, name, service):
    text = stack.http("GET", "/api/metrics", port=port, auth=False).body.decode()
    m = re.search(r'^%s\{service="%s"\} (\S+)$' % (name, service), text, re.M)
    assert m, "%s{service=%s} missing" % (name, service)
    return float(m.group(1))


TRAINED = set()


def small_model(stack, name):
    """A small gbdt model NAME (trained once per stack)."""
    if name in TRAINED:
        return
    TRAINED.add(name)
    rows = ["x1,x2,x3,target"]
    for i in range(400):
        a, b, c = (i * 37) % 101 / 10.0, (i * 53) % 97 / 10.0, (i * 11) % 7
        rows.append("%.1f,%.1f,%d,%d" % (a, b, c, 1 if a + 0.5 * b + (c % 3) > 8 else 0))
    fid = upload_bytes(stack, ("\n".join(rows) + "\n").encode(), name + ".csv")
    j = train(stack, fid, target="target", model="gbdt", model_name=name,
              config={"rounds": 20, "max_depth": 3, "valid_fraction": 0})
    assert wait_run(stack, j["run_id"])["status"] == "completed"


def paused(proc):
    """A context in which proc is stopped (SIGSTOP), so that calls to it pile up."""
    class Paused:
        def __enter__(self):
            proc.send_signal(signal.SIGSTOP)

        def __exit__(self, *exc):
            proc.send_signal(signal.SIGCONT)
    return Paused()


def burst_while_paused(stack, port, calls, proc):
    """POSTs every (path, body) of calls at once through the gateway on port while proc is
    stopped -- the first call to it goes and waits, the others queue at the gateway -- then
    lets proc go on; the answers, in the calls' order."""
    pool = concurrent.futures.ThreadPoolExecutor(len(calls))
    with paused(proc):
        futures = [pool.submit(stack.http, "POST", p, body=b, port=port) for p, b in calls]
        time.sleep(1.5)
    answers = [f.result(timeout=60) for f in futures]
    pool.shutdown()
    return answers


def test_the_gateway_batches_calls_that_queue_and_keeps_each_answer_apart(stack):
    small_model(stack, "batchy")
    rows = [{"x1": i / 7.0, "x2": (i * 3 % 11) / 2.0, "x3": i % 5} for i in range(40)]
    # each row's answer, one call at a time through the stack's own gateway
    alone = []
    for row in rows:
        r = stack.http("POST", "/api/v1/models/batchy/predict", body={"instances": [row]})
        assert r.status == 200, r
        alone.append(r.json()["predictions"][0]["probabilities"])

    with stack.extra_gateway("gateway-batch", RPC_BATCH_INFLIGHT=1) as port:
        before = metric(stack, port, "aiops_rpc_batched_calls_total", "train")
        calls = [("/api/v1/models/batchy/predict", {"instances": [row]}) for row in rows]
        calls += [("/api/v1/models/batchy/predict", {"instances": "not a list"})] * 4
        calls += [("/api/v1/models/no-such-model/predict", {"instances": [rows[0]]})] * 4
        answers = burst_while_paused(stack, port, calls, stack.procs["train"])
        for i, r in enumerate(answers[:len(rows)]):
            assert r.status == 200, (i, r)
            assert r.json()["predictions"][0]["probabilities"] == alone[i], (i, r)
        for r in answers[len(rows):len(rows) + 4]:
            assert r.status == 422 and r.json()["error"]["code"] == "invalid_request", r
        for r in answers[len(rows) + 4:]:
            assert r.status == 404, r
        ids = [r.headers.get("x-request-id") for r in answers]
        assert len(set(ids)) == len(ids), "request ids mixed up"
        after = metric(stack, port, "aiops_rpc_batched_calls_total", "train")
        assert after - before >= len(calls) - 1 - 8, (before, after)
        assert metric(stack, port, "aiops_rpc_batches_total", "train") >= 1


def test_a_queue_over_a_batchs_limits_is_split_and_other_calls_go_alone(stack):
    small_model(stack, "batchy")
    rows = [{"x1": i / 5.0, "x2": (i * 7 % 13) / 3.0, "x3": i % 4} for i in range(150)]
    # three requests of ~600 KB each (an unknown column padded out): together over the 1 MiB
    # a batch may carry, so they cannot all share one
    big = {"instances": [dict(rows[0], pad="x" * 600000)]}
    with stack.extra_gateway("gateway-split", RPC_BATCH_INFLIGHT=1) as port:
        b0 = metric(stack, port, "aiops_rpc_batches_total", "train")
        c0 = metric(stack, port, "aiops_rpc_batched_calls_total", "train")
        calls = [("/api/v1/models/batchy/predict", {"instances": [row]}) for row in rows]
        calls += [("/api/v1/models/batchy/predict", big)] * 3
        # not a cheap call: a training request goes alone, at once, whatever is queued
        calls += [("/api/train", {"file_id": "nope"})]
        answers = burst_while_paused(stack, port, calls, stack.procs["train"])
        assert all(r.status == 200 for r in answers[:-1]), \
            [(i, r.status) for i, r in enumerate(answers) if r.status != 200]
        assert answers[-1].status in (404, 422), answers[-1]
        single = stack.http("POST", "/api/v1/models/batchy/predict",
                            body={"instances": rows[:1]}).json()["predictions"][0]["probabilities"]
        assert answers[0].json()["predictions"][0]["probabilities"] == single
        assert answers[150].json()["predictions"][0]["probabilities"] == single
        batches = metric(stack, port, "aiops_rpc_batches_total", "train") - b0
        batched = metric(stack, port, "aiops_rpc_batched_calls_total", "train") - c0
        # the first loop pass's calls leave at once (alone: the one-call form, not a batch);
        # the rest queue behind them while the service is paused and leave as batches of at
        # most 64 calls and 1 MiB of requests: a big call followed by another goes alone, and
        # so may the queue's last call -- at most 1 + 3 + 1 cheap calls outside a batch
        assert 153 - 5 <= batched <= 153, batched   # the training request never rode in one
        assert batches >= 3 and batched <= 64 * batches, (batches, batched)


def test_calls_waiting_for_a_batch_time_out_when_the_service_stalls(stack):
    # GATEWAY_TIMEOUT_PCT=5: a health call's 10 s become 500 ms
    with stack.extra_gateway("gateway-stall", RPC_BATCH_INFLIGHT=1,
                             GATEWAY_TIMEOUT_PCT=5) as port:
        pool = concurrent.futures.ThreadPoolExecutor(8)
        t0 = time.time()
        with paused(stack.procs["ingest"]):
            futures = [pool.submit(stack.http, "GET", "/api/v1/ingest/health", port=port)
                       for _ in range(8)]
            answers = [f.result(timeout=30) for f in futures]
        took = time.time() - t0
        pool.shutdown()
        assert [r.status for r in answers] == [504] * 8, answers
        assert took < 5, took
        # the service is back: so are its answers
        deadline = time.time() + 10
        while stack.http("GET", "/api/v1/ingest/health", port=port).status != 200:
            assert time.time() < deadline, "svc-ingest not reachable again"
            time.sleep(0.1)


def test_calls_waiting_for_a_batch_to_a_dead_service_are_answered(stack):
    path = os.path.join(stack.run_dir, "ingest-dead.rpc")
    env = dict(stack.service_env("ingest"), RPC_LISTEN="ipc://" + path,
               ASAN_OPTIONS="detect_leaks=0")
    log = open(os.path.join(stack.logdir, "ingest-dead.log"), "ab")
    proc = subprocess.Popen(stack.command("ingest"), env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    log.close()
    try:
        with stack.extra_gateway("gateway-dead", RPC_BATCH_INFLIGHT=1, GATEWAY_TIMEOUT_PCT=10,
                                 INGEST_RPC_URL="ipc://" + path) as port:
            assert stack.http("GET", "/api/v1/ingest/health", port=port).status == 200
            pool = concurrent.futures.ThreadPoolExecutor(8)
            proc.send_signal(signal.SIGSTOP)
            futures = [pool.submit(stack.http, "GET", "/api/v1/ingest/health", port=port)
                       for _ in range(8)]
            time.sleep(0.3)
            t0 = time.time()
            proc.kill()
            proc.wait(timeout=30)
            answers = [f.result(timeout=30) for f in futures]
            pool.shutdown()
            assert time.time() - t0 < 5
            assert all(r.status in (503, 504) for r in answers), answers
            assert any(r.status == 503 for r in answers), answers
            # and the gateway itself is fine
            assert stack.http("GET", "/healthz", port=port, auth=False).status == 200
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- events ------------------------------------------------------------------------------

def test_the_gateway_delivers_each_event_of_an_event_batch_in_order(stack):
    import json
    import wsclient
    from test_deploy_metrics import publish_raw
    ws = wsclient.WebSocket(stack.port, "/ws/datasets", headers={"X-API-Key": stack.api_key})
    try:
        def event(n):
            payload = json.dumps({"type": "batch_probe", "n": n}).encode()
            return (pb_field(1, 1) + pb_field(2, "/ws/datasets") + pb_field(3, "batch_probe") +
                    pb_field(4, payload) + pb_field(5, int(time.time() * 1000)) +
                    pb_field(6, "test") + pb_field(7, "default"))
        batch = pb_field(1, 1) + b"".join(pb_field(2, event(n)) for n in range(3))
        batch += pb_field(2, b"\xff\xff")            # a malformed element: dropped, not the rest
        publish_raw(os.path.join(stack.run_dir, "events.in"), seal(stack, b"AIB1", batch))
        got = [json.loads(ws.recv()) for _ in range(3)]
        assert [m.get("n") for m in got] == [0, 1, 2], got
    finally:
        ws.close()
