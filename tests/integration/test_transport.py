"""The transport between the gateway and the services: ipc:// sockets in a private run
directory, envelopes sealed with SERVICE_SECRET (a client without it is refused and counted),
and stacks that never share a socket."""
import os
import socket
import stat
import struct
import subprocess
import threading
import time


# --- a 30-line nng client: the SP handshake and framing of nng's ipc transport ----------------

def sp_request(path, body):
    """Sends one REQ message over nng's ipc transport and returns the reply's body."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b"\x00SP\x00\x00\x30\x00\x00")           # SP header, protocol REQv0 (0x30)
    peer = recv_exact(s, 8)
    assert peer[:4] == b"\x00SP\x00" and peer[4:6] == b"\x00\x31", peer   # REPv0
    msg = struct.pack(">I", 0x80000001) + body          # the request id, then the body
    s.sendall(b"\x01" + struct.pack(">Q", len(msg)) + msg)
    kind, n = recv_exact(s, 1), struct.unpack(">Q", recv_exact(s, 8))[0]
    reply = recv_exact(s, n)
    s.close()
    assert reply[:4] == struct.pack(">I", 0x80000001), reply[:8]
    return reply[4:]


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        assert chunk, "connection closed"
        b += chunk
    return b


def pb_field(num, value):
    """A protobuf field: varint for ints, length-delimited for bytes/str/nested."""
    if isinstance(value, int):
        return pb_varint(num << 3) + pb_varint(value)
    if isinstance(value, str):
        value = value.encode()
    return pb_varint(num << 3 | 2) + pb_varint(len(value)) + value


def pb_varint(v):
    out = b""
    while True:
        b, v = v & 0x7F, v >> 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def list_datasets_of(project):
    """proto/aiops.proto's Request for datasets.list as another project's principal."""
    principal = pb_field(1, "attacker") + pb_field(2, project) + pb_field(3, "read")
    return (pb_field(1, 1) + pb_field(2, "rid-attack") + pb_field(3, principal) +
            pb_field(5, "GET") + pb_field(6, "/api/v1/datasets") + pb_field(10, "datasets.list"))


def refused_count(stack):
    r = stack.http("GET", "/api/v1/ingest/health")
    assert r.status == 200, r
    return r.json()["refused_envelopes"]


def test_a_client_without_the_secret_is_refused_and_counted(stack):
    before = refused_count(stack)
    path = os.path.join(stack.run_dir, "ingest.rpc")
    # the bare protobuf message that used to read another project's datasets
    assert sp_request(path, list_datasets_of("default")) == b"AIOX"
    # a sealed-looking message under the wrong secret
    forged = b"AIO1" + struct.pack("<q", 0) + list_datasets_of("default") + b"\0" * 32
    assert sp_request(path, forged) == b"AIOX"
    assert refused_count(stack) == before + 2
    # the health check, a real client, with another secret: refused and says so
    env = dict(stack.service_env("ingest"), SERVICE_SECRET="x" * 40)
    r = subprocess.run([os.path.join(stack.bin, "aiops-ingest"), "--healthcheck"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "refused" in r.stderr, (r.returncode, r.stderr)
    # a short or missing secret keeps a program from starting at all
    env = dict(stack.service_env("ingest"), SERVICE_SECRET="short",
               RPC_LISTEN="ipc://%s/never.rpc" % stack.run_dir)
    r = subprocess.run([os.path.join(stack.bin, "aiops-ingest")], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "SERVICE_SECRET" in r.stderr, (r.returncode, r.stderr)


def test_sockets_live_in_a_private_directory(stack):
    mode = stat.S_IMODE(os.stat(stack.run_dir).st_mode)
    assert mode == 0o700, oct(mode)
    names = set(os.listdir(stack.run_dir))
    assert {"events.in", "events.out", "ingest.rpc", "train.rpc", "explain.rpc", "report.rpc",
            "monitor.rpc"} <= names, names
    for n in names:
        assert stat.S_ISSOCK(os.stat(os.path.join(stack.run_dir, n)).st_mode), n


def answers_again(path, seconds=30):
    """Waits until a new connection to the listener at path is served again (a broken
    listener is made again after three failed probes: up to ~18 s; lib/rpc/listener.c)."""
    deadline = time.time() + seconds
    while True:
        try:
            return sp_request(path, list_datasets_of("default")) == b"AIOX"
        except (OSError, AssertionError):
            if time.time() > deadline:
                return False
            time.sleep(0.2)


def hang_up_mid_handshake(path, times=3):
    for _ in range(times):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.close()


# Debian's nng 1.5.2 stops accepting after a connection closes during the SP handshake (nng
# issue #1518) and leaks the listener it abandoned; these tests break listeners on purpose, so
# they do it to programs of their own, whose exit is not checked for that leak.
NNG_LEAKS = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:halt_on_error=1"}


def test_a_second_stack_cannot_take_a_running_stacks_socket(stack):
    path = os.path.join(stack.run_dir, "ingest-b.rpc")
    with stack.replica("ingest", "ingest-b", RPC_LISTEN="ipc://" + path, **NNG_LEAKS):
        # a second svc-ingest given a running one's address must refuse to start, not share it
        env = dict(stack.service_env("ingest"), RPC_LISTEN="ipc://" + path)
        r = subprocess.run([os.path.join(stack.bin, "aiops-ingest")], env=env,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and "cannot listen" in r.stderr, (r.returncode, r.stderr[-2000:])
        # the running one still takes new connections (the second program's look at the
        # socket hung up mid-handshake)
        assert answers_again(path)


def test_hangups_mid_handshake_do_not_take_a_service_down(stack):
    path = os.path.join(stack.run_dir, "ingest-c.rpc")
    with stack.replica("ingest", "ingest-c", RPC_LISTEN="ipc://" + path, **NNG_LEAKS):
        assert answers_again(path)
        hang_up_mid_handshake(path)
        assert answers_again(path), "svc-ingest no longer accepts connections"


def sp_connect(path, proto, peer):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(path)
    s.sendall(b"\x00SP\x00" + struct.pack(">H", proto) + b"\x00\x00")
    got = recv_exact(s, 8)
    assert got[:4] == b"\x00SP\x00" and struct.unpack(">H", got[4:6])[0] == peer, got
    return s


def relays(inlet, outlet, payload):
    """1 when a message published into the relay's inlet comes out of its outlet."""
    try:
        sub = sp_connect(outlet, 0x21, 0x20)
        pub = sp_connect(inlet, 0x20, 0x21)
        time.sleep(0.1)  # both connections taken in
        pub.sendall(b"\x01" + struct.pack(">Q", len(payload)) + payload)
        kind, n = recv_exact(sub, 1), struct.unpack(">Q", recv_exact(sub, 8))[0]
        got = recv_exact(sub, n)
        pub.close()
        sub.close()
        return got == payload
    except (OSError, AssertionError):
        return False


def test_hangups_mid_handshake_do_not_take_the_relay_down(stack):
    inlet, outlet = (os.path.join(stack.run_dir, "relay-b." + e) for e in ("in", "out"))
    with stack.replica("relay", "relay-b", EVENTS_IN_URL="ipc://" + inlet,
                       EVENTS_OUT_URL="ipc://" + outlet, **NNG_LEAKS):
        assert relays(inlet, outlet, b"before")
        hang_up_mid_handshake(inlet)
        hang_up_mid_handshake(outlet)
        deadline = time.time() + 30
        while not relays(inlet, outlet, b"after"):
            assert time.time() < deadline, "the relay no longer forwards"
            time.sleep(0.2)


def test_a_gateway_reaches_a_service_restarted_after_a_hangup_mid_handshake(stack):
    """nng 1.5.2's dialer gives up for good when the peer hangs up during the SP handshake
    (a service killed at the wrong moment); the gateway starts such dialers again."""
    path = os.path.join(stack.run_dir, "explain-b.rpc")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    srv.settimeout(0.2)
    stop = threading.Event()

    def hang_up_on_everyone():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                c.close()
            except OSError:
                pass

    t = threading.Thread(target=hang_up_on_everyone)
    t.start()
    try:
        with stack.extra_gateway("gateway-c", ready=False, EXPLAIN_RPC_URL="ipc://" + path) as port:
            time.sleep(1.5)  # the gateway dialled and was hung up on
            stop.set()
            t.join()
            srv.close()
            os.unlink(path)
            with stack.replica("explain", "explain-b", RPC_LISTEN="ipc://" + path, **NNG_LEAKS):
                deadline = time.time() + 20
                while stack.http("GET", "/api/v1/explain/health", port=port).status != 200:
                    assert time.time() < deadline, "the gateway never reached svc-explain again"
                    time.sleep(0.2)
    finally:
        stop.set()
        t.join()
        srv.close()


def test_a_gateway_is_not_ready_before_its_first_relay_connection(stack):
    """Events of the first moments would be lost to a gateway that took traffic before it
    reached the relay: readiness waits for that first connection (up to 10 s; after that a
    missing relay is reported, not counted, as when it restarts later)."""
    nowhere = "ipc://" + os.path.join(stack.run_dir, "no-relay.out")
    with stack.extra_gateway("gateway-norelay", ready=False, EVENTS_OUT_URL=nowhere) as port:
        r = stack.http("GET", "/readyz", port=port, auth=False)
        assert r.status == 503, r
        assert "event-relay (not yet connected)" in r.json()["error"]["details"]["missing"], r
        deadline = time.time() + 20
        while stack.http("GET", "/readyz", port=port, auth=False).status != 200:
            assert time.time() < deadline, "never ready without the relay"
            time.sleep(0.5)
        health = stack.http("GET", "/api/health", port=port, auth=False).json()
        assert health["checks"]["event-relay"] == "down", health
    # the stack's own gateway reached its relay: ready, relay up
    r = stack.http("GET", "/api/health", auth=False)
    assert r.json()["checks"]["event-relay"] == "up", r
