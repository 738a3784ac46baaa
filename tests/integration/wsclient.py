"""A small RFC 6455 client written independently of the gateway's code, so that the tests
check the gateway against the protocol rather than against itself."""
import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeError(Exception):
    def __init__(self, status, headers, body):
        super().__init__("handshake refused: %d %s" % (status, body[:200]))
        self.status = status
        self.headers = headers
        self.body = body


class Closed(Exception):
    def __init__(self, code, reason):
        super().__init__("closed: %s %r" % (code, reason))
        self.code = code
        self.reason = reason


class WebSocket:
    def __init__(self, port, path, headers=None, timeout=10, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port), "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
                 "Sec-WebSocket-Version: 13"]
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise HandshakeError(0, {}, self.buf)
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status_line, *hdr_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        self.headers = {}
        for h in hdr_lines:
            k, v = h.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        if status != 101:
            n = int(self.headers.get("content-length", "0"))
            while len(self.buf) < n:
                chunk = self.sock.recv(4096)
                if not chunk:
                    break
                self.buf += chunk
            self.sock.close()
            raise HandshakeError(status, self.headers, self.buf[:n])
        want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
        if self.headers.get("sec-websocket-accept") != want:
            raise AssertionError("bad Sec-WebSocket-Accept")
        self.closed = None

    # --- frames ----------------------------------------------------------------------
    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        if n < 126:
            hdr = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            hdr = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            hdr = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if mask:
            m = os.urandom(4)
            payload = bytes(b ^ m[i % 4] for i, b in enumerate(payload))
            hdr += m
        self.sock.sendall(hdr + payload)

    def send_text(self, text):
        self.send_frame(0x1, text.encode())

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Closed(1006, "connection dropped")
            self.buf += chunk

    def recv_frame(self):
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        off = 2
        if n == 126:
            self._need(4)
            n = struct.unpack("!H", self.buf[2:4])[0]
            off = 4
        elif n == 127:
            self._need(10)
            n = struct.unpack("!Q", self.buf[2:10])[0]
            off = 10
        if b1 & 0x80:
            raise AssertionError("server frames must not be masked")
        self._need(off + n)
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv(self):
        """The next data message as str (text) or bytes; answers pings on the way."""
        parts, kind = [], None
        while True:
            fin, op, payload = self.recv_frame()
            if op == 0x9:
                self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                reason = payload[2:].decode("utf-8", "replace")
                self.closed = (code, reason)
                try:
                    self.send_frame(0x8, payload[:2])
                except OSError:
                    pass
                raise Closed(code, reason)
            if op in (0x1, 0x2):
                kind = op
            parts.append(payload)
            if fin:
                data = b"".join(parts)
                return data.decode() if kind == 0x1 else data

    def close(self, code=1000, reason=""):
        try:
            self.send_frame(0x8, struct.pack("!H", code) + reason.encode())
            while True:
                fin, op, payload = self.recv_frame()
                if op == 0x8:
                    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        except (Closed, OSError):
            return None
        finally:
            self.sock.close()
