"""The running gateway exports every metric family the dashboards and alerts read:
tests/static/test_deploy.py checks that deploy/ names only the families in its METRICS, this
checks on the running stack that GET /api/metrics serves each of them with its type, and that
aiops_envelopes_refused_total counts what alert AiopsEnvelopesRefused says it counts."""
import os
import re
import shutil
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "static"))
from test_deploy import METRICS, SERVICES, _run  # noqa: E402


def metrics_text(stack):
    r = stack.http("GET", "/api/metrics")
    # the harness's Response, or a plain (status, headers, body) tuple
    status, headers, body = (r.status, r.headers, r.body) if hasattr(r, "status") else r
    assert status == 200, (status, body[:500])
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype
    return body


def refused(text):
    """{kind: value} of aiops_envelopes_refused_total."""
    return {k: float(v) for k, v in re.findall(
        r'^aiops_envelopes_refused_total\{[^}]*kind="(\w+)"[^}]*\} (\S+)', text, re.M)}


def test_deploy_metrics_are_exported(stack):
    # the served models' families come from svc-monitor's first tick (every
    # MONITOR_INTERVAL_SECONDS, 10 s by default), fetched by the gateway once a second
    deadline = time.time() + 25
    while True:
        body = metrics_text(stack)
        text = body.decode("utf-8")
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        missing = [m for m in METRICS if m not in types]
        if not missing or time.time() > deadline:
            break
        time.sleep(0.5)
    assert not missing, "families missing from /api/metrics: %s\n%s" % (missing, text[:2000])
    wrong = {m: types[m] for m, t in METRICS.items() if types[m] != t}
    assert not wrong, "wrong metric types: %s (expected %s)" % (
        wrong, {m: METRICS[m] for m in wrong})
    # one aiops_service_up sample per service
    up = {}
    for svc, val in re.findall(r'^aiops_service_up\{[^}]*service="(\w+)"[^}]*\} (\S+)', text, re.M):
        assert float(val) in (0.0, 1.0), "aiops_service_up{service=%s} is %s" % (svc, val)
        up[svc] = val
    assert set(up) == set(SERVICES), "aiops_service_up has %s, expected %s" % (sorted(up), SERVICES)
    info = re.findall(r'^aiops_build_info\{[^}]*version="[^"]+"[^}]*\} (\S+)', text, re.M)
    assert info and float(info[0]) == 1.0, "aiops_build_info{version=...} 1 missing"
    # both kinds exist before anything is refused: increase() in the alert needs a sample
    # before the first refusal to see it
    assert {"event", "reply"} <= set(refused(text)), \
        "aiops_envelopes_refused_total lacks a kind: %s" % refused(text)
    promtool = shutil.which("promtool")
    if promtool:
        rc, out = _run([promtool, "check", "metrics"], stdin=body)
        assert rc == 0, "promtool check metrics:\n%s" % out


def publish_raw(path, body):
    """Publishes one message into the event relay's inlet as an nng PUB peer over the ipc
    transport: the SP header (PUBv0, 0x20; the relay answers SUBv0, 0x21), then the frame."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect(path)
        s.sendall(b"\x00SP\x00\x00\x20\x00\x00")
        peer = b""
        while len(peer) < 8:
            chunk = s.recv(8 - len(peer))
            assert chunk, "the relay closed the connection"
            peer += chunk
        assert peer[:4] == b"\x00SP\x00" and peer[4:6] == b"\x00\x21", peer
        s.sendall(b"\x01" + struct.pack(">Q", len(body)) + body)
        time.sleep(0.2)  # let the relay read it before the connection goes
    finally:
        s.close()


def test_deploy_forged_event_is_counted_as_refused(stack):
    """An event without the SERVICE_SECRET seal, published to the relay as anything on the
    network could, reaches the gateway and is counted under kind="event" -- what the alert
    AiopsEnvelopesRefused (deploy/prometheus/alerts.yml) fires on."""
    before = refused(metrics_text(stack).decode())
    # sealed-looking: magic, a current time, a message, and a seal made without the key
    forged = (b"AIO1" + struct.pack("<q", int(time.time() * 1000)) + b"\x0a\x04fake" +
              b"\0" * 32)
    path = os.path.join(stack.run_dir, "events.in")
    deadline = time.time() + 20
    while True:
        publish_raw(path, forged)
        now = refused(metrics_text(stack).decode())
        if now.get("event", 0) > before.get("event", 0):
            break
        assert time.time() < deadline, "forged events never counted: %s -> %s" % (before, now)
        time.sleep(0.3)
    # nothing was refused on the request path
    assert now.get("reply") == before.get("reply"), (before, now)
