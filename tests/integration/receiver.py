"""A local HTTP endpoint for what the suite POSTs out (alert webhooks, Callytics callbacks):
keeps every JSON body it accepts; answers 500 to the first `fail_first` requests (to see
retries), 200 to the rest."""
import http.server
import json
import threading


class Receiver:
    def __init__(self):
        self.bodies = []
        self.calls = 0
        self.fail_first = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                with owner.lock:
                    owner.calls += 1
                    failing = owner.calls <= owner.fail_first
                    if not failing:
                        owner.bodies.append(body)
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, fail_first=0):
        with self.lock:
            self.bodies, self.calls, self.fail_first = [], 0, fail_first

    def received(self):
        with self.lock:
            return list(self.bodies)
