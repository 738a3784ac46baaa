"""WebSocket through the gateway: handshake, events published by a service, project
isolation, protocol errors, clean and abrupt closes, many clients, a slow reader."""
import json
import socket
import threading
import time
import uuid

import wsclient
from test_auth import claims, jwt


def key_headers(stack):
    return {"X-API-Key": stack.api_key}


def upload_small(stack, tag, columns=3, name_len=8):
    names = ["c%0*d" % (name_len, i) for i in range(columns)]
    data = (",".join(names) + "\n" + ",".join(str(i) for i in range(columns)) + "\n" +
            ",".join(tag for _ in range(columns)) + "\n").encode()
    r = stack.http("POST", "/api/upload?filename=%s.csv" % tag, body=data,
                   headers={"Content-Type": "text/csv"})
    assert r.status == 200, r
    return r.json()["file_id"]


def raw_upgrade(stack, key, version):
    """The start of the gateway's answer to a hand-written upgrade to /ws/performance."""
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    try:
        s.sendall(("GET /ws/performance HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: %d\r\nX-API-Key: %s\r\n\r\n"
                   % (key, version, stack.api_key)).encode())
        return s.recv(4096)
    finally:
        s.close()


def test_client_receives_an_event_published_by_a_service(stack):
    ws = wsclient.WebSocket(stack.port, "/ws/datasets", headers=key_headers(stack))
    try:
        tag = "w" + uuid.uuid4().hex[:8]
        fid = upload_small(stack, tag)
        msg = json.loads(ws.recv())
        assert msg["type"] == "dataset_uploaded", msg
        assert msg["file_id"] == fid and msg["filename"] == tag + ".csv", msg
        assert msg["rows"] == 2 and msg["columns"] == 3, msg
    finally:
        assert ws.close() == 1000


def test_handshake_is_authenticated_and_checked(stack):
    try:
        wsclient.WebSocket(stack.port, "/ws/datasets")
        raise AssertionError("a handshake without credentials was accepted")
    except wsclient.HandshakeError as e:
        assert e.status == 401, e
        assert json.loads(e.body)["error"]["code"] == "missing_credentials"
    # browsers cannot set headers: the token may come in the query
    tok = jwt(stack.jwt_secret, claims())
    ws = wsclient.WebSocket(stack.port, "/ws/datasets?token=" + tok)
    ws.close()
    ws = wsclient.WebSocket(stack.port, "/ws/datasets?api_key=" + stack.api_key)
    ws.close()
    try:
        wsclient.WebSocket(stack.port, "/ws/unknown-topic", headers=key_headers(stack))
        raise AssertionError("unknown topic accepted")
    except wsclient.HandshakeError as e:
        assert e.status == 404, e
    # wrong version
    out = raw_upgrade(stack, "dGhlIHNhbXBsZSBub25jZQ==", 8)
    assert out.startswith(b"HTTP/1.1 426") and b"Sec-WebSocket-Version: 13" in out, out
    # a bad key
    out = raw_upgrade(stack, "short", 13)
    assert out.startswith(b"HTTP/1.1 400"), out


def test_events_stay_within_their_project(stack):
    other = json.loads(stack.admin("key", "create", "--project", "ws-other"))["key"]
    mine = wsclient.WebSocket(stack.port, "/ws/datasets", headers=key_headers(stack))
    theirs = wsclient.WebSocket(stack.port, "/ws/datasets", headers={"X-API-Key": other})
    theirs.sock.settimeout(1.0)
    try:
        fid = upload_small(stack, "p" + uuid.uuid4().hex[:8])
        assert json.loads(mine.recv())["file_id"] == fid
        try:
            got = theirs.recv()
            raise AssertionError("another project's client received %r" % got)
        except socket.timeout:
            pass
    finally:
        mine.close()
        theirs.sock.close()


def test_ping_pong_fragments_and_protocol_errors(stack):
    ws = wsclient.WebSocket(stack.port, "/ws/performance", headers=key_headers(stack))
    ws.send_frame(0x9, b"hello")
    fin, op, payload = ws.recv_frame()
    assert (op, payload) == (0xA, b"hello")
    # an application ping split into fragments with a control frame in between
    ws.send_frame(0x1, b'{"type":', fin=False)
    ws.send_frame(0x9, b"")
    ws.send_frame(0x0, b'"ping"}', fin=True)
    seen = []
    while len(seen) < 2:
        seen.append(ws.recv_frame())
    assert (0xA, b"") in [(f[1], f[2]) for f in seen], seen
    assert (0x1, b'{"type":"pong"}') in [(f[1], f[2]) for f in seen], seen
    # an unmasked client frame is a protocol error: close 1002
    ws.send_frame(0x1, b"x", mask=False)
    try:
        while True:
            ws.recv()
    except wsclient.Closed as c:
        assert c.code == 1002, c
    ws.sock.close()
    # invalid UTF-8 in a text message: 1007
    ws = wsclient.WebSocket(stack.port, "/ws/performance", headers=key_headers(stack))
    ws.send_frame(0x1, b"\xff\xfe")
    try:
        ws.recv()
    except wsclient.Closed as c:
        assert c.code == 1007, c
    ws.sock.close()


def test_abrupt_closes_and_many_clients(stack):
    clients = [wsclient.WebSocket(stack.port, "/ws/datasets", headers=key_headers(stack))
               for _ in range(60)]
    # half vanish without a close frame, mid-frame for some
    for i, c in enumerate(clients[:30]):
        if i % 2:
            c.sock.sendall(b"\x81\xfe\x00")  # a frame header cut short
        c.sock.close()
    fid = upload_small(stack, "m" + uuid.uuid4().hex[:8])
    for c in clients[30:]:
        msg = json.loads(c.recv())
        assert msg["file_id"] == fid
    for c in clients[30:]:
        assert c.close() == 1000
    deadline = time.time() + 10
    while time.time() < deadline:
        text = stack.http("GET", "/api/metrics", auth=False).body.decode()
        if "\naiops_websocket_clients 0\n" in text:
            break
        time.sleep(0.1)
    assert "\naiops_websocket_clients 0\n" in text


def test_a_slow_reader_is_dropped_without_stalling_others(stack):
    """A gateway with a 64 KiB per-client queue and small socket buffers; one client never
    reads. Events of ~50 KB (uploads with 800 long column names) overflow it; the fast
    client gets every event in time and the slow one is closed with 1008."""
    with stack.extra_gateway("gateway-ws", WS_QUEUE_BYTES=65536, WS_SNDBUF_BYTES=16384) as port:
        slow_sock_opts = wsclient.WebSocket(port, "/ws/datasets", headers=key_headers(stack))
        slow_sock_opts.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow = slow_sock_opts
        fast = wsclient.WebSocket(port, "/ws/datasets", headers=key_headers(stack))
        got = []

        def read_fast():
            try:
                while len(got) < 12:
                    got.append(json.loads(fast.recv()))
            except Exception as e:  # noqa: BLE001
                got.append(e)

        t = threading.Thread(target=read_fast)
        t.start()
        ids = []
        dropped_at = None
        for i in range(12):
            ids.append(upload_small(stack, "s%02d%s" % (i, uuid.uuid4().hex[:6]), columns=800,
                                    name_len=40))
            text = stack.http("GET", "/api/metrics", auth=False, port=port).body.decode()
            if dropped_at is None and \
                    'aiops_websocket_dropped_total{reason="slow_consumer"} 1' in text:
                dropped_at = i
                # the slow client wakes up: what it was sent, then the close frame with the
                # reason (it has 5 s to read before the gateway gives up on the handshake)
                slow.sock.settimeout(10)
                try:
                    while True:
                        slow.recv()
                except wsclient.Closed as c:
                    assert c.code == 1008 and "slow consumer" in c.reason, c
        assert dropped_at is not None and dropped_at < 11, dropped_at
        t.join(timeout=30)
        assert [m["file_id"] for m in got if isinstance(m, dict)] == ids, got[-1:]
        fast.close()


def expect_policy_close(ws, within, reason):
    """Reads until the gateway closes ws; asserts 1008 with reason within the seconds."""
    t0 = time.time()
    ws.sock.settimeout(within + 5)
    try:
        while True:
            ws.recv()
    except wsclient.Closed as c:
        took = time.time() - t0
        assert c.code == 1008 and reason in c.reason, c
        assert took <= within, took
        return took
    finally:
        ws.sock.close()


def test_socket_closes_when_its_token_expires(stack):
    tok = jwt(stack.jwt_secret, claims(exp=int(time.time()) + 3))
    ws = wsclient.WebSocket(stack.port, "/ws/datasets",
                            headers={"Authorization": "Bearer " + tok})
    # a socket opened with a token that lasts stays open meanwhile
    long_lived = wsclient.WebSocket(stack.port, "/ws/datasets",
                                    headers={"Authorization": "Bearer " + jwt(stack.jwt_secret,
                                                                              claims())})
    try:
        expect_policy_close(ws, 6, "expired")
        fid = upload_small(stack, "t" + uuid.uuid4().hex[:8])
        assert json.loads(long_lived.recv())["file_id"] == fid
    finally:
        long_lived.close()


def test_socket_closes_when_its_key_is_revoked(stack):
    key = json.loads(stack.admin("key", "create", "--project", "default"))
    ws = wsclient.WebSocket(stack.port, "/ws/datasets", headers={"X-API-Key": key["key"]})
    other = wsclient.WebSocket(stack.port, "/ws/datasets", headers=key_headers(stack))
    try:
        fid = upload_small(stack, "r" + uuid.uuid4().hex[:8])
        assert json.loads(ws.recv())["file_id"] == fid
        assert json.loads(other.recv())["file_id"] == fid
        stack.admin("key", "revoke", key["id"])
        # found by the gateway's look for revocations (every 5 s) and closed on the next tick
        expect_policy_close(ws, 8, "revoked")
        # the key is refused over HTTP at once too (dropped from the key cache)
        r = stack.http("GET", "/api/v1/datasets", auth=False, headers={"X-API-Key": key["key"]})
        assert r.status == 401, r
        fid = upload_small(stack, "r" + uuid.uuid4().hex[:8])
        assert json.loads(other.recv())["file_id"] == fid
    finally:
        other.close()
