"""The web console (issue 14): the gateway's static file serving (content types, ETag and
304, gzip, HEAD, 404 JSON, path traversal refused) and the console itself in headless
Chromium, driven over the DevTools protocol: upload a CSV, start training, watch the live
curve, predict, with no console errors; screenshots are kept as artifacts.

Without Chromium the browser test is skipped (loudly: tests/run.py lists skips, and CI, which
installs it through scripts/deps.sh, fails on any skip)."""
import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import harness
import wsclient
from openapi_check import template_matches

ROOT = harness.ROOT


# --- static files ---------------------------------------------------------------------

def test_console_index_is_served_with_its_type_and_caching_headers(stack):
    r = stack.http("GET", "/", auth=False)
    assert r.status == 200, r
    assert r.headers["content-type"] == "text/html; charset=utf-8", r.headers
    with open(os.path.join(ROOT, "web", "index.html"), "rb") as f:
        assert r.body == f.read()
    assert r.headers["cache-control"] == "no-cache", r.headers
    assert r.headers["etag"].startswith('"') and "-gz" not in r.headers["etag"], r.headers
    assert "default-src 'self'" in r.headers["content-security-policy"], r.headers
    assert "x-request-id" in r.headers
    # API answers keep theirs
    assert stack.http("GET", "/api/health").headers["cache-control"] == "no-store"


def test_console_files_have_the_right_content_types(stack):
    want = {"/console/app.js": "text/javascript; charset=utf-8",
            "/console/style.css": "text/css; charset=utf-8",
            "/console/pages/train.js": "text/javascript; charset=utf-8",
            "/console/vendor/uPlot.esm.js": "text/javascript; charset=utf-8",
            "/console/vendor/uPlot.package.json": "application/json",
            "/console/vendor/uPlot.LICENSE": "application/octet-stream"}
    for path, ctype in want.items():
        r = stack.http("GET", path, auth=False)
        assert r.status == 200, (path, r)
        assert r.headers["content-type"] == ctype, (path, r.headers)
        with open(os.path.join(ROOT, "web", path[len("/console/"):]), "rb") as f:
            assert r.body == f.read(), path


def test_console_etag_answers_304_and_changes_with_the_encoding(stack):
    r = stack.http("GET", "/console/app.js", auth=False)
    etag = r.headers["etag"]
    again = stack.http("GET", "/console/app.js", auth=False, headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"", again
    assert again.headers["etag"] == etag
    other = stack.http("GET", "/console/app.js", auth=False, headers={"If-None-Match": '"x"'})
    assert other.status == 200 and len(other.body) > 0
    gz = stack.http("GET", "/console/app.js", auth=False, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["etag"] != etag and gz.headers["etag"].endswith('-gz"'), gz.headers


def test_console_gzip_when_accepted_only(stack):
    path = "/console/vendor/uPlot.esm.js"
    plain = stack.http("GET", path, auth=False)
    assert "content-encoding" not in plain.headers
    gz = stack.http("GET", path, auth=False, headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert gz.headers["content-encoding"] == "gzip", gz.headers
    assert "Accept-Encoding" in gz.headers["vary"], gz.headers
    assert gzip.decompress(gz.body) == plain.body
    assert len(gz.body) < len(plain.body) / 2, (len(gz.body), len(plain.body))
    refused = stack.http("GET", path, auth=False, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers and refused.body == plain.body


def test_console_head_has_the_headers_and_no_body(stack):
    get = stack.http("GET", "/console/style.css", auth=False)
    head = stack.http("HEAD", "/console/style.css", auth=False)
    assert head.status == 200 and head.body == b"", head
    assert head.headers["content-type"] == "text/css; charset=utf-8"
    assert head.headers["etag"] == get.headers["etag"]
    assert int(head.headers["content-length"]) == len(get.body)


def test_console_missing_files_are_404_json(stack):
    for path in ("/console/nope.js", "/console/pages/nope.js", "/console/pages"):
        r = stack.http("GET", path, auth=False)
        assert r.status == 404, (path, r)
        assert r.headers["content-type"] == "application/json"
        assert r.json()["error"]["code"] == "not_found", r


def test_console_path_traversal_is_impossible(stack):
    # a file that exists one level above web/: any of these reaching it would be a leak
    assert os.path.isfile(os.path.join(ROOT, "README.md"))
    for path in ("/console/../README.md", "/console/%2e%2e/README.md",
                 "/console/pages/..%2f..%2fREADME.md", "/console/..%2fREADME.md",
                 "/console/%2e%2e%2fREADME.md", "/console/.hidden", "/console/pages/.%2e",
                 "/console/vendor/..%5c..%5cREADME.md", "/console/app.js%00.html",
                 "/console//etc/passwd", "/console/%2fetc%2fpasswd"):
        r = stack.http("GET", path, auth=False)
        assert r.status in (400, 404), (path, r)
        assert b"AIOps suite" not in r.body and b"root:" not in r.body, (path, r)
    # and through a raw request line, which no client library normalizes
    import socket
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as s:
        s.sendall(b"GET /console/../../README.md HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert b"AIOps suite" not in data, data[:300]
    assert data.split(b" ", 2)[1] in (b"400", b"404"), data[:300]


def test_console_other_methods_are_405(stack):
    r = stack.http("POST", "/console/app.js", body=b"x", auth=False)
    assert r.status == 405, r
    assert r.headers["allow"] == "GET", r.headers


def test_console_same_origin_requests_are_not_cross_origin(stack):
    # a browser sends Origin with module scripts and POSTs of the page the gateway served:
    # that is the gateway's own origin, allowed without being on CORS_ORIGINS
    own = "http://127.0.0.1:%d" % stack.port
    r = stack.http("GET", "/console/app.js", auth=False, headers={"Origin": own})
    assert r.status == 200, r
    assert "access-control-allow-origin" not in r.headers, r.headers
    r = stack.http("POST", "/api/v1/runs/%s/cancel" % "00000000-0000-4000-8000-000000000000",
                   body={}, headers={"Origin": own})
    assert r.status == 404 and r.json()["error"]["code"] == "run_not_found", r
    # the same host on another port is another origin
    r = stack.http("GET", "/console/app.js", auth=False,
                   headers={"Origin": "http://127.0.0.1:%d" % (stack.port + 1)})
    assert r.status == 403 and r.json()["error"]["code"] == "cors_origin_not_allowed", r


def test_console_is_listed_in_openapi(stack):
    doc = stack.http("GET", "/openapi.json").json()
    assert "/" in doc["paths"] and "/console/{file}" in doc["paths"], list(doc["paths"])[:10]
    # the console builds its training form from these: every learner has its parameters
    schemas = doc["components"]["schemas"]
    assert "gbdt_config" in schemas and "rounds" in schemas["gbdt_config"]["properties"]


def test_console_first_load_is_under_150_kb_compressed_and_300_ms(stack):
    # everything the first page can load: the page, its scripts and every page module, the
    # style sheets and the charting library, as a browser asks for them (gzip accepted)
    web = os.path.join(ROOT, "web")
    paths = ["/"]
    for folder, _, files in os.walk(web):
        for name in files:
            if name.endswith((".js", ".css")):
                paths.append("/console/" + os.path.relpath(os.path.join(folder, name), web))
    assert "/console/vendor/uPlot.esm.js" in paths and len(paths) >= 14, paths
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        t0 = time.monotonic()
        total = 0
        for path in paths:
            c.request("GET", path, headers={"Accept-Encoding": "gzip"})
            r = c.getresponse()
            body = r.read()
            assert r.status == 200, (path, r.status)
            total += len(body)
        took = time.monotonic() - t0
    finally:
        c.close()
    assert total < 150 * 1024, "first load is %d bytes compressed" % total
    # the sanitizer build is several times slower: the bound is for the release build
    limit = 0.3 if "san" not in stack.build else 1.5
    assert took < limit, "first load took %.3f s" % took


def test_console_korean_and_english_have_the_same_keys():
    # both dictionaries of web/i18n.js name the same texts, so no page falls back to a key
    text = open(os.path.join(ROOT, "web", "i18n.js"), encoding="utf-8").read()
    ko = text[text.index("  ko: {"):text.index("  en: {")]
    en = text[text.index("  en: {"):text.index("const LANG")]
    import re
    keys = lambda s: set(re.findall(r"(\w+): \"", s))
    assert keys(ko) == keys(en), keys(ko) ^ keys(en)
    assert len(keys(ko)) > 80
    assert any("\uac00" <= ch <= "\ud7a3" for ch in ko)  # Hangul


# --- the browser ---------------------------------------------------------------------------

def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Headless Chromium and one page, over the DevTools protocol (CDP) on a WebSocket."""

    def __init__(self, binary, tmp):
        self.profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-port=0",
             "--user-data-dir=" + self.profile, "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port = None
        deadline = time.time() + 60
        while port is None and time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                raise AssertionError("chromium exited: %s" % self.proc.returncode)
            if "DevTools listening on ws://" in line:
                port = int(line.split("ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        assert port is not None, "chromium did not announce its DevTools port"
        with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10) as f:
            pages = [p for p in json.load(f) if p["type"] == "page"]
        path = "/devtools/page/" + pages[0]["id"]
        self.ws = wsclient.WebSocket(port, path, timeout=60)
        self.next_id = 0
        self.errors = []
        self.requests = []  # (method, url) of every request the page made, sockets as "WS"
        # the answers the page received: request id -> [method, url, status, mime type]
        # (the status and type once the response came), and the ids whose body is complete
        self.answers = {}
        self.finished = []
        self.bodies = {}  # request id -> body, fetched as soon as the answer is complete
        self.evicted = []  # (method, url) of the answers whose body Chromium did not keep
        self.fetching = False
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        # room for the bodies until they are fetched (the default buffer evicts them)
        self.call("Network.enable", maxTotalBufferSize=256 << 20,
                  maxResourceBufferSize=64 << 20)

    def close(self):
        try:
            self.ws.sock.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def _event(self, msg):
        m, p = msg.get("method"), msg.get("params", {})
        if m == "Runtime.exceptionThrown":
            self.errors.append(p["exceptionDetails"].get("exception", {}).get(
                "description", p["exceptionDetails"].get("text")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") == "error":
            self.errors.append(" ".join(str(a.get("value", a.get("description")))
                                        for a in p.get("args", [])))
        elif m == "Network.requestWillBeSent":
            self.requests.append((p["request"]["method"], p["request"]["url"]))
            self.answers[p["requestId"]] = [p["request"]["method"], p["request"]["url"], None,
                                            None]
        elif m == "Network.responseReceived" and p["requestId"] in self.answers:
            self.answers[p["requestId"]][2:] = [p["response"]["status"],
                                                p["response"]["mimeType"]]
        elif m == "Network.loadingFinished":
            self.finished.append(p["requestId"])
        elif m == "Network.webSocketCreated":
            self.requests.append(("WS", p["url"]))
        elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
            self.errors.append("%s %s" % (p["entry"]["text"], p["entry"].get("url", "")))

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send_text(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise AssertionError("%s: %s" % (method, msg["error"]))
                self.fetch_bodies()
                return msg.get("result", {})
            self._event(msg)

    def fetch_bodies(self):
        """The bodies of the API's JSON answers that completed since the last call, fetched
        between calls (not inside one, whose answer a nested call would take)."""
        if self.fetching:
            return
        self.fetching = True
        try:
            while self.finished:
                request_id = self.finished.pop(0)
                method, url, status, mime = self.answers.get(request_id, [None] * 4)
                path = urllib.parse.urlsplit(url or "").path
                if mime == "application/json" and path.startswith(("/api/", "/v2/")):
                    try:
                        self.bodies[request_id] = self.call("Network.getResponseBody",
                                                            requestId=request_id)
                    except AssertionError as e:
                        # Chromium keeps no body for some answers (an upload's, whose
                        # request streamed its file): those are counted, not checked
                        if "evicted" not in str(e):
                            raise
                        self.evicted.append((method, url))
        finally:
            self.fetching = False

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError("%s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expr, timeout=60, what=None):
        deadline = time.time() + timeout
        guarded = "(() => { try { return (%s); } catch (e) { return false; } })()" % expr
        while time.time() < deadline:
            v = self.eval(guarded)
            if v:
                return v
            time.sleep(0.2)
        raise AssertionError("timed out waiting for %s; errors: %s; the page says: %s" % (
            what or expr, self.errors, self.eval("document.getElementById('page').innerText")[:3000]))

    def goto(self, url):
        self.call("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'")

    def set_value(self, selector, value):
        self.eval("(() => { const el = document.querySelector(%s); el.value = %s; "
                  "el.dispatchEvent(new Event('change', {bubbles: true})); })()"
                  % (json.dumps(selector), json.dumps(value)))

    def set_file(self, selector, path):
        obj = self.call("Runtime.evaluate", expression="document.querySelector(%s)"
                        % json.dumps(selector))["result"]["objectId"]
        self.call("DOM.setFileInputFiles", files=[path], objectId=obj)

    def type_into(self, selector, text):
        """Focuses the element and types text as a keyboard would (Input.insertText)."""
        self.eval("document.querySelector(%s).focus()" % json.dumps(selector))
        assert self.eval("document.activeElement === document.querySelector(%s)"
                         % json.dumps(selector)), selector
        self.call("Input.insertText", text=text)

    def press_enter(self):
        """Enter on the focused element: submits its form, or clicks a focused button."""
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
                      **({"text": "\r"} if kind == "keyDown" else {}))

    def screenshot(self, path):
        import base64
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path


def artifact_dir():
    """Where the screenshots go: $AIOPS_ARTIFACT_DIR, else a fixed folder under the system
    temp dir (kept after the run, unlike the stack's, so that CI can collect it)."""
    d = os.environ.get("AIOPS_ARTIFACT_DIR") or os.path.join(tempfile.gettempdir(),
                                                             "aiops-console-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def write_training_csv(path, n=1500, seed=14):
    """A binary problem a tree model learns well: label = x1 + x2 > 1 with a little noise."""
    rnd = random.Random(seed)
    with open(path, "w") as f:
        f.write("x1,x2,colour,label\n")
        for _ in range(n):
            x1, x2 = rnd.random(), rnd.random()
            colour = rnd.choice(["red", "green", "blue"])
            label = int(x1 + x2 + rnd.gauss(0, 0.05) > 1)
            f.write("%.4f,%.4f,%s,%d\n" % (x1, x2, colour, label))


def check_calls_against_openapi(stack, requests):
    """Every API call and WebSocket the page made is a route of /openapi.json with that
    method (a literal route wins over a pattern, as in the gateway)."""
    doc = stack.http("GET", "/openapi.json").json()
    checked = 0
    for method, url in requests:
        parsed = urllib.parse.urlsplit(url)
        if parsed.port != stack.port or not parsed.path.startswith(("/api/", "/v2/", "/ws/",
                                                                     "/openapi.json")):
            continue
        method = "get" if method == "WS" else method.lower()
        templates = [t for t in doc["paths"] if template_matches(t, parsed.path)]
        assert templates, "the console called %s %s, which /openapi.json does not list" % (
            method, parsed.path)
        literal = [t for t in templates if "{" not in t]
        assert any(method in doc["paths"][t] for t in (literal or templates)), (
            "the console called %s %s; /openapi.json has %s" % (
                method, parsed.path, {t: list(doc["paths"][t]) for t in templates}))
        checked += 1
    return checked


def check_bodies_against_openapi(stack, b):
    """Every JSON answer the page received from the API, its body as Chromium got it
    (Network.getResponseBody), against the schema /openapi.json gives for its route and
    status (openapi_check, as for the tests' own requests). Returns how many were checked;
    the uploads' answers, whose bodies Chromium does not keep, are not among them (the
    harness checks the same route's answers to the tests' own uploads)."""
    if stack.openapi is None:
        stack.fetch_openapi()
    b.fetch_bodies()  # the answers completed since the page's last call
    uploads = ("/api/upload", "/api/v1/datasets")
    assert all(m == "POST" and urllib.parse.urlsplit(u).path in uploads
               for m, u in b.evicted), b.evicted
    checked = 0
    for request_id, got in b.bodies.items():
        method, url, status, _ = b.answers[request_id]
        parsed = urllib.parse.urlsplit(url)
        if parsed.port != stack.port:
            continue
        assert not got.get("base64Encoded"), (method, url)
        stack.openapi.check(method, parsed.path, status, "application/json",
                            got["body"].encode())
        checked += 1
    print("console: %d API answers checked against /openapi.json, %d upload answers without "
          "a body kept" % (checked, len(b.evicted)))
    return checked


def open_console(stack):
    """Headless Chromium on the console's home page, in English, with the stack's API key
    typed in; skips (loudly) without Chromium."""
    binary = chromium_binary()
    if binary is None:
        raise unittest.SkipTest("NO CHROMIUM: the console's browser test did not run; install "
                                "it with scripts/deps.sh test (Debian package chromium)")
    b = Browser(binary, stack.tmp)
    try:
        b.goto(stack.url("/"))
        b.eval("localStorage.setItem('aiops.lang', 'en')")
        b.set_value("#api-key", stack.api_key)
        b.wait("document.querySelector('#page h1') && "
               "document.querySelector('#page h1').textContent === 'Home'")
    except BaseException:
        b.close()
        raise
    return b


def test_console_in_chromium_upload_train_live_curve_predict(stack):
    shots = artifact_dir()
    csv_path = os.path.join(stack.tmp, "console-train.csv")
    write_training_csv(csv_path)
    b = open_console(stack)
    try:
        # the landing page reached the API with the key: the health card shows each check
        b.wait("document.body.innerText.includes('postgres')", what="the health card")
        b.screenshot(os.path.join(shots, "01-home.png"))

        # Korean toggle: the navigation and the page title change language
        b.eval("document.getElementById('lang').click()")
        b.wait("document.querySelector('#page h1').textContent === '홈'")
        assert b.eval("document.querySelector('nav a[href=\"#/train\"]').textContent") == "학습"
        b.screenshot(os.path.join(shots, "02-home-ko.png"))
        b.eval("document.getElementById('lang').click()")
        b.wait("document.querySelector('#page h1').textContent === 'Home'")

        # Data: a CSV with a ragged row is refused, its row and column shown
        b.eval("location.hash = '#/data'")
        b.wait("document.querySelector('#file') !== null")
        bad_path = os.path.join(stack.tmp, "console-ragged.csv")
        with open(bad_path, "w") as f:
            f.write("a,b,label\n1,2,0\n3,4,1,9\n5,6,0\n")
        b.set_file("#file", bad_path)
        b.wait("document.querySelector('#validation tbody tr') !== null",
               what="the validation errors")
        bad = b.eval("[...document.querySelectorAll('#validation tbody tr')[0].children]"
                     ".map(td => td.innerText)")
        refused = stack.http("POST", "/api/upload?filename=console-ragged.csv",
                             body=open(bad_path, "rb").read(),
                             headers={"Content-Type": "text/csv"}).json()["error"]
        first = refused["details"]["validation"]["errors"][0]
        assert bad[0] == first["code"] and bad[1] == str(first["row"]), (bad, first)
        assert bad[3] == first["message"], (bad, first)
        b.screenshot(os.path.join(shots, "03-data-invalid.png"))

        # then a good one: the summary, then the profile
        b.set_value("#target", "label")
        b.set_file("#file", csv_path)
        b.wait("document.querySelector('#train-link') !== null", what="the upload answer")
        assert "1500 rows" in b.eval("document.getElementById('upload-result').innerText")
        b.wait("document.querySelector('#profile') !== null", what="the profile")
        profile = b.eval("document.getElementById('profile').innerText")
        assert "x1" in profile and "colour" in profile, profile
        b.screenshot(os.path.join(shots, "03-data.png"))

        # Train: the learner table came from /openapi.json; start gbdt with 120 rounds
        b.eval("document.getElementById('train-link').click()")
        b.wait("document.querySelector('#learner option[value=gbdt]') !== null &&"
               "document.querySelector('#params input[name=rounds]') !== null")
        learners = b.eval("[...document.querySelectorAll('#learner option')].map(o => o.value)")
        assert {"gbdt", "rf", "linear"} <= set(learners), learners
        model_name = "console-%d" % int(time.time() * 1000)
        b.set_value("#model-name", model_name)
        b.set_value("#train-target", "label")
        b.set_value("#params input[name=rounds]", "120")
        b.eval("document.getElementById('start').click()")
        b.wait("document.querySelector('#curve') !== null", what="the live chart")
        run_text = b.eval("document.getElementById('run-status').innerText")
        run_id = run_text.split()[1]
        b.wait("document.querySelector('#model-link') !== null", timeout=240,
               what="training_complete")
        run = stack.http("GET", "/api/v1/runs/" + run_id).json()
        assert run["status"] == "completed" and run["model_name"] == model_name, run
        assert run["params"]["rounds"] == 120 or run["total_epochs"] == 120, run
        # the curve holds one point per iteration the run recorded (live or backfilled)
        points = int(b.wait("document.getElementById('curve').dataset.points"))
        assert points == run["current_epoch"] and points > 10, (points, run["current_epoch"])
        # uPlot drew it: a canvas with a non-empty size
        assert b.eval("document.querySelector('#curve canvas').width > 0")
        b.eval("document.getElementById('curve').scrollIntoView()")
        b.screenshot(os.path.join(shots, "04-train.png"))

        # Runs: the run is listed
        b.eval("location.hash = '#/runs'")
        b.wait("document.body.innerText.includes(%s)" % json.dumps(model_name))

        # Models: predict two rows through the form, the same answer as the API's
        b.eval("location.hash = '#/models?name=%s'" % model_name)
        b.wait("document.querySelector('#instances') !== null")
        rows = [{"x1": 0.9, "x2": 0.8, "colour": "red"}, {"x1": 0.05, "x2": 0.1, "colour": "blue"}]
        b.set_value("#instances", json.dumps(rows))
        b.eval("document.getElementById('predict').click()")
        b.wait("document.querySelectorAll('#predictions tbody tr').length === 2",
               what="the predictions")
        shown = b.eval("[...document.querySelectorAll('#predictions tbody tr')]"
                       ".map(tr => tr.children[0].innerText)")
        api = stack.http("POST", "/api/v1/models/%s/predict" % model_name,
                         body={"instances": rows}).json()["predictions"]
        assert shown == [str(p["prediction"]) for p in api], (shown, api)
        assert shown == ["1", "0"], shown
        b.screenshot(os.path.join(shots, "05-predict.png"))

        # Explain: the run's importance, or the notice that this server has none yet
        b.eval("location.hash = '#/explain?run=%s'" % run_id)
        b.wait("document.querySelector('main section.card + section.card') !== null && "
               "!document.querySelector('main').innerText.includes('Loading')")
        imp = stack.http("GET", "/api/report/feature-importance/" + run_id)
        text = b.eval("document.querySelector('main').innerText")
        if imp.status == 200:
            assert "x1" in text and "x2" in text, text
        else:
            assert imp.status in (404, 501), imp
            assert "Not available on this server yet (%s)" % imp.json()["error"]["code"] in text, text
        b.screenshot(os.path.join(shots, "06-explain-run.png"))

        # a long run followed from its link and canceled with the button
        long_id = _long_run(stack, "console-cancel-%d" % int(time.time() * 1000))
        b.eval("location.hash = '#/train?run=%s'" % long_id)
        b.wait("Number(document.getElementById('curve').dataset.points) > 0",
               what="the long run's curve")
        b.eval("document.getElementById('cancel').click()")
        b.wait("document.getElementById('run-status').innerText.includes('canceled')")
        deadline = time.time() + 30
        while stack.http("GET", "/api/v1/runs/" + long_id).json()["status"] != "canceled":
            assert time.time() < deadline, "the run was not canceled"
            time.sleep(0.2)
        assert b.eval("document.getElementById('cancel').disabled") is True

        # every other page renders (degrading on routes this server does not have yet)
        for page in ("explain", "monitor", "segments", "calls"):
            b.eval("location.hash = '#/%s'" % page)
            b.wait("document.querySelector('nav a.active').getAttribute('href') === '#/%s'"
                   % page)
            if page == "monitor":  # the alert stream is open (svc-monitor sends none yet)
                b.wait("document.querySelector('main').innerText.includes('Live \u2713')",
                       what="the /ws/performance socket")
            b.screenshot(os.path.join(shots, "06-%s.png" % page))
        # failed API calls show in the page; the console itself raised nothing
        errors = [e for e in b.errors if "Failed to load resource" not in e]
        assert errors == [], errors
        # the calls it made are the API's, as /openapi.json describes them
        assert check_calls_against_openapi(stack, b.requests) >= 15, b.requests
        # and what the API answered them is what /openapi.json says it answers
        assert check_bodies_against_openapi(stack, b) >= 10, b.answers
        print("console screenshots in %s" % shots)
    finally:
        b.close()


def _trained_model(stack, tag):
    """A gbdt model trained through the API on write_training_csv's data: (dataset id, the
    completed run)."""
    from test_train import train, upload_bytes, wait_run
    csv_path = os.path.join(stack.tmp, "console-%s.csv" % tag)
    write_training_csv(csv_path, n=1200, seed=19)
    with open(csv_path, "rb") as f:
        ds = upload_bytes(stack, f.read(), "console-%s.csv" % tag)
    run = wait_run(stack, train(stack, ds, target="label", model="gbdt",
                                model_name="console-%s" % tag,
                                config={"rounds": 40, "seed": 3})["run_id"])
    assert run["status"] == "completed", run
    return ds, run


def _numbers(b, selector, attr):
    return b.eval("[...document.querySelectorAll(%s)].map(e => [e.dataset.feature, "
                  "Number(e.dataset.%s)])" % (json.dumps(selector), attr))


def _check_descriptions(stack, b, ds, shots):
    """Typed in the profile's inputs and saved with Enter: stored (read back through the
    API); a description the API refuses marks its input and says why, storing nothing."""
    b.eval("location.hash = '#/data?dataset=%s'" % ds)
    b.wait("document.querySelector('#descriptions input[name=x1]') !== null",
           what="the descriptions' inputs")
    names = b.eval("[...document.querySelectorAll('#descriptions input.desc')].map(e => e.name)")
    assert names == ["x1", "x2", "colour", "label"], names
    b.type_into("#descriptions input[name=x1]", "고객 나이")
    b.type_into("#descriptions input[name=colour]", "가입 채널, 색")
    b.press_enter()
    b.wait("document.getElementById('descriptions-status').innerText.startsWith('Saved (2)')",
           what="the saved descriptions")
    stored = stack.http("GET", "/api/v1/datasets/%s/descriptions" % ds).json()
    assert stored["descriptions"] == {"x1": "고객 나이", "colour": "가입 채널, 색"}, stored
    # 700 Hangul syllables fit the input (2,000 characters) but are 2,100 bytes: refused
    b.type_into("#descriptions input[name=x2]", "가" * 700)
    b.press_enter()
    b.wait("document.getElementById('descriptions-status').className === 'error'",
           what="the refusal")
    status = b.eval("document.getElementById('descriptions-status').innerText")
    assert "2000" in status and "[x2" in status, status
    assert b.eval("document.querySelector('#descriptions input[name=x2]')"
                  ".getAttribute('aria-invalid')") == "true"
    assert b.eval("document.activeElement.name") == "x2"
    b.screenshot(os.path.join(shots, "07-descriptions.png"))
    again = stack.http("GET", "/api/v1/datasets/%s/descriptions" % ds).json()
    assert again["descriptions"] == stored["descriptions"], again
    # read again from the server when the page is shown anew
    b.eval("location.hash = '#/home'")
    b.wait("document.querySelector('#page h1').textContent === 'Home'")
    b.eval("location.hash = '#/data?dataset=%s'" % ds)
    b.wait("document.querySelector('#descriptions input[name=x1]') !== null")
    assert b.eval("document.querySelector('#descriptions input[name=x1]').value") == "고객 나이"


def _check_explain(stack, b, run, shots):
    """The importance chart (bars and 95% intervals) is the API's, by each method; the SHAP
    summary explains the dataset's first 200 rows (bars = mean |SHAP|, one dot per row and
    feature); the AI report and the PDF are the run's."""
    run_id = run["run_id"]
    b.eval("location.hash = '#/explain?run=%s'" % run_id)
    b.wait("document.querySelectorAll('#importance-chart rect.bar').length === 3",
           what="the importance chart")
    api = stack.http("GET", "/api/v1/runs/%s/importance?method=permutation" % run_id).json()
    want = [[x["feature"], x["importance"]] for x in api["importance"]]
    drawn = _numbers(b, "#importance-chart rect.bar", "value")
    assert [d[0] for d in drawn] == [w[0] for w in want], (drawn, want)
    assert all(abs(d[1] - w[1]) < 1e-9 for d, w in zip(drawn, want)), (drawn, want)
    assert want[0][0] in ("x1", "x2") and want[0][1] > 0.05, want
    lo = dict(_numbers(b, "#importance-chart g.ci", "lo"))
    hi = dict(_numbers(b, "#importance-chart g.ci", "hi"))
    for x in api["importance"]:
        assert abs(lo[x["feature"]] - x["ci"][0]) < 1e-9, (lo, x)
        assert abs(hi[x["feature"]] - x["ci"][1]) < 1e-9, (hi, x)
        assert x["ci"][0] <= x["importance"] <= x["ci"][1], x
    # the description typed on the data page shows beside its feature
    b.wait("document.getElementById('importance').innerText.includes('고객 나이')",
           what="the description in the importance table")

    b.set_value("#importance-method", "shap")
    shap_api = stack.http("GET", "/api/v1/runs/%s/importance?method=shap" % run_id).json()
    want = {x["feature"]: x["importance"] for x in shap_api["importance"]}
    b.wait("document.querySelectorAll('#importance-chart rect.bar').length === 3 && "
           "Number(document.querySelector('#importance-chart rect.bar').dataset.value) === %r"
           % shap_api["importance"][0]["importance"], what="the SHAP importance")
    assert b.eval("document.querySelectorAll('#importance-chart g.ci').length") == 0

    b.wait("document.querySelector('#shap-summary') !== null", what="the SHAP summary")
    assert b.eval("document.getElementById('shap-summary').dataset.method") == "tree"
    preview = stack.http("GET", "/api/v1/datasets/%s/preview?rows=200"
                         % run["dataset_id"]).json()["rows"]
    rows = [{k: v for k, v in r.items() if k != "label"} for r in preview]
    shap = stack.http("POST", "/api/v1/explain/%s/shap" % run["model_name"],
                      body={"rows": rows, "version": run["model_version"]}).json()
    assert len(shap["rows"]) == 200
    mean = {f: sum(abs(r["contributions"][f]) for r in shap["rows"]) / 200
            for f in shap["features"]}
    bars = _numbers(b, "#shap-bars rect.bar", "value")
    assert [f for f, _ in bars] == sorted(mean, key=mean.get, reverse=True), (bars, mean)
    assert all(abs(v - mean[f]) < 1e-9 for f, v in bars), (bars, mean)
    dots = b.eval("Object.fromEntries([...document.querySelectorAll('#shap-swarm g.swarm')]"
                  ".map(g => [g.dataset.feature, [...g.querySelectorAll('circle')]"
                  ".map(c => Number(c.dataset.value))]))")
    for f in shap["features"]:
        assert dots[f] == [r["contributions"][f] for r in shap["rows"]], f
    # numeric features coloured by value, the categorical one grey
    fills = b.eval("[...document.querySelectorAll('#shap-swarm g.swarm[data-feature=colour] "
                   "circle')].map(c => c.getAttribute('fill'))")
    assert set(fills) == {"#98a2b3"}, set(fills)

    report = stack.http("GET", "/api/report/ai/%s?lang=en" % run_id).json()
    b.wait("document.getElementById('ai-summary') !== null", what="the AI report")
    shown = b.eval("document.getElementById('ai-summary').textContent")
    # the run's numbers as the API writes them; the features' order may differ: the page
    # asks for the report while svc-explain is still computing the permutation importance
    # (its other card), so its report may rank by the model's own importance, and a report
    # asked for later ranks by the stored permutation list (svc-report/inputs.c)
    first = report["summary"].split(". ")[0]
    assert shown.startswith(first + ". ") and len(first) > 40, (shown, report["summary"])
    assert "x1(고객 나이)" in shown, shown  # the description typed on the data page
    for section, key in (("#ai-insights", "aiInsights"), ("#ai-actions", "actionPlan")):
        items = b.eval("[...document.querySelectorAll('%s li')].map(li => li.textContent)"
                       % section)
        assert items and all(len(x) > 20 for x in items), (section, items, report[key])
    b.eval("document.getElementById('pdf-button').focus()")
    b.press_enter()
    b.wait("document.querySelector('#pdf-link') !== null", what="the PDF link", timeout=120)
    # the page's blob (the CSP keeps the page from reading blob: URLs back): its type and
    # size are the stored PDF's
    assert b.eval("document.getElementById('pdf-link').type") == "application/pdf"
    assert b.eval("document.getElementById('pdf-link').href").startswith("blob:")
    size = int(b.eval("document.getElementById('pdf-link').dataset.bytes"))
    pdf = stack.http("GET", "/api/report/pdf/%s?lang=en" % run_id)
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF-"), pdf
    assert size == len(pdf.body), (size, len(pdf.body))
    b.eval("window.scrollTo(0, 0)")
    b.screenshot(os.path.join(shots, "08-explain.png"))
    b.eval("document.getElementById('shap-summary').scrollIntoView()")
    b.screenshot(os.path.join(shots, "09-shap.png"))


def _check_monitor_alert(stack, b, run, shots):
    """Rows served with x1 moved by +3 drift from the training data: the monitor page's
    check runs svc-monitor's drift rule, which stores an event and raises a
    performance_alert; the page receives it on /ws/performance and shows x1 drifted."""
    from test_train import predict
    name = run["model_name"]
    rnd = random.Random(5)
    shifted = [{"x1": rnd.random() + 3, "x2": rnd.random(), "colour": rnd.choice(["red", "blue"])}
               for _ in range(300)]
    for i in range(0, 300, 20):  # a request gives the window at most 32 of its rows
        predict(stack, name, shifted[i:i + 20])
    deadline = time.time() + 30
    while True:  # svc-train hands served rows to the drift window once a second
        d = stack.http("GET", "/api/v1/models/%s/drift" % name)
        if d.status == 200 and d.json()["current_rows"] >= 300:
            break
        assert time.time() < deadline, d
        time.sleep(0.2)
    b.eval("location.hash = '#/monitor'")
    b.wait("document.getElementById('live-state').innerText === 'Live \u2713'",
           what="the /ws/performance socket")
    b.wait("[...document.querySelectorAll('#drift-model option')].some(o => o.value === %s)"
           % json.dumps(name), what="the model list")
    assert b.eval("document.querySelectorAll('#alerts tbody tr[data-model=\"%s\"]').length"
                  % name) == 0
    b.set_value("#drift-model", name)
    b.eval("document.getElementById('drift-check').focus()")
    b.press_enter()
    b.wait("document.querySelector('#drift-result .drifted[data-feature=x1]') !== null",
           what="x1 drifted")
    b.wait("document.querySelector('#alerts tbody tr[data-model=\"%s\"]') !== null" % name,
           what="the alert", timeout=30)
    row = b.eval("[...document.querySelector('#alerts tbody tr[data-model=\"%s\"]').children]"
                 ".map(td => td.innerText)" % name)
    b.screenshot(os.path.join(shots, "10-monitor-alert.png"))
    summ = stack.http("GET", "/api/drift/summary?days=1&model=" + name).json()
    assert summ["drift_count"] == 1, summ
    event = summ["events"][0]
    assert "x1" in [f["feature"] for f in event["drifted_features"]], event
    assert row[1] in ("warning", "critical") and row[2] == name, row
    assert row[4] == ", ".join(f["feature"] for f in event["drifted_features"]), (row, event)
    assert "drift" in row[3], row
    # the stored event is listed after the check, and when the page is drawn again
    listed = "document.getElementById('drift-events').innerText.includes(%s)" % json.dumps(name)
    b.wait(listed, what="the drift event after the check")
    b.eval("location.hash = '#/home'")
    b.wait("document.querySelector('#page h1').textContent === 'Home'")
    b.eval("location.hash = '#/monitor'")
    b.wait(listed, what="the drift event")
    b.screenshot(os.path.join(shots, "11-monitor-events.png"))


def test_console_in_chromium_descriptions_explain_charts_monitor_alert(stack):
    tag = "%d" % int(time.time() * 1000)
    ds, run = _trained_model(stack, tag)
    shots = artifact_dir()
    b = open_console(stack)
    try:
        _check_descriptions(stack, b, ds, shots)
        _check_explain(stack, b, run, shots)
        _check_monitor_alert(stack, b, run, shots)
        errors = [e for e in b.errors if "Failed to load resource" not in e]
        assert errors == [], errors
        used = {(m, urllib.parse.urlsplit(u).path.split("/")[-1]) for m, u in b.requests}
        for call in (("PUT", "descriptions"), ("POST", "shap"), ("GET", "importance"),
                     ("GET", "drift"), ("GET", "status"), ("GET", "summary")):
            assert call in used, (call, sorted(used))
        assert check_calls_against_openapi(stack, b.requests) >= 20, b.requests
        assert check_bodies_against_openapi(stack, b) >= 15, b.answers
    finally:
        b.close()


# --- the command line against the server -------------------------------------------------

def aiops(stack, *args, key=True, url=None, timeout=300):
    cmd = [os.path.join(stack.bin, "aiops"), "--url", url or stack.url()]
    if key:
        cmd += ["--api-key", stack.api_key]
    env = {k: v for k, v in stack.env.items() if k not in ("AIOPS_API_KEY", "AIOPS_URL")}
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_console_cli_train_wait_runs_models_watch_promote(stack):
    csv_path = os.path.join(stack.tmp, "cli-train.csv")
    write_training_csv(csv_path, n=800, seed=41)
    name = "cli-%d" % int(time.time() * 1000)
    p = aiops(stack, "train", csv_path, "--target", "label", "--param", "rounds=40",
              "--param", "learning_rate=0.2", "--model-name", name, "--wait")
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    run = json.loads(p.stdout.strip().splitlines()[-1])
    assert run["status"] == "completed" and run["model_name"] == name, run
    assert run["params"]["rounds"] == 40 and run["params"]["learning_rate"] == 0.2, run["params"]
    assert run["metrics"]["auc"] > 0.9, run["metrics"]
    assert run == stack.http("GET", "/api/v1/runs/" + run["run_id"]).json()
    # not a terminal: plain progress lines, each iteration at most once and in order
    steps = [int(line.split()[1].split("/")[0]) for line in p.stderr.splitlines()
             if line.startswith("epoch ")]
    assert steps == sorted(set(steps)) and all(1 <= s <= 40 for s in steps), p.stderr
    assert all("/40 " in line and "train_loss=" in line
               for line in p.stderr.splitlines() if line.startswith("epoch ")), p.stderr

    # runs: the table and --json
    p = aiops(stack, "runs", "--model-name", name)
    assert p.returncode == 0, p.stderr
    rows = p.stdout.splitlines()
    assert rows[0].split() == ["RUN", "STATUS", "LEARNER", "MODEL", "METRIC"], rows
    assert len(rows) == 2 and rows[1].split()[:4] == [run["run_id"], "completed", "gbdt", name]
    assert rows[1].split()[4] == "auc", rows
    listed = json.loads(aiops(stack, "runs", "--model-name", name, "--json").stdout)
    assert [r["run_id"] for r in listed["runs"]] == [run["run_id"]], listed

    # a second version, started without --wait and followed with watch
    p = aiops(stack, "train", csv_path, "--target", "label", "--param", "rounds=30",
              "--model-name", name)
    assert p.returncode == 0, p.stderr
    second = json.loads(p.stdout.strip().splitlines()[-1])["run_id"]
    p = aiops(stack, "watch", second)
    assert p.returncode == 0, (p.stdout, p.stderr)
    watched = json.loads(p.stdout.strip().splitlines()[-1])
    assert watched["run_id"] == second and watched["status"] == "completed", watched
    assert watched["model_version"] == 2, watched

    # models: the first version is the champion; promote makes it 2
    p = aiops(stack, "models")
    line = [l for l in p.stdout.splitlines() if l.split()[0] == name]
    assert line and line[0].split()[2:] == ["2", "1"], p.stdout
    p = aiops(stack, "promote", name, "2")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["aliases"]["champion"] == 2, p.stdout
    v = stack.http("GET", "/api/v1/models/%s/versions" % name).json()
    assert v["aliases"]["champion"] == 2, v

    # predict: a CSV of rows to the champion (CSV out), and to version 1 (--json)
    rows_csv = os.path.join(stack.tmp, "cli-predict.csv")
    with open(rows_csv, "w") as f:
        f.write("x1,x2,colour\n0.9,0.8,red\n0.05,0.1,blue\n0.7,,green\n")
    p = aiops(stack, "predict", name, rows_csv)
    assert p.returncode == 0, (p.stdout, p.stderr)
    lines = p.stdout.splitlines()
    assert lines[0] == "prediction,p_0,p_1", lines
    api = stack.http("POST", "/api/v1/models/%s/predict" % name, body={"instances": [
        {"x1": 0.9, "x2": 0.8, "colour": "red"}, {"x1": 0.05, "x2": 0.1, "colour": "blue"},
        {"x1": 0.7, "x2": None, "colour": "green"}]}).json()["predictions"]
    assert [l.split(",")[0] for l in lines[1:]] == [str(x["prediction"]) for x in api], (lines, api)
    assert [l.split(",")[0] for l in lines[1:3]] == ["1", "0"], lines
    for line, x in zip(lines[1:], api):
        assert abs(float(line.split(",")[2]) - x["probabilities"]["1"]) < 1e-5, (line, x)
    # report: the run's AI report in English, and its PDF
    pdf_path = os.path.join(stack.tmp, "cli-report.pdf")
    p = aiops(stack, "report", run["run_id"], "--lang", "en", "--pdf", pdf_path)
    assert p.returncode == 0, (p.returncode, p.stdout[-500:], p.stderr)
    report = json.loads(p.stdout)
    api_report = stack.http("GET", "/api/report/ai/%s?lang=en" % run["run_id"]).json()
    assert report["lang"] == "en" and report["summary"] == api_report["summary"], report
    assert len(report["summary"]) > 40, report
    with open(pdf_path, "rb") as f:
        pdf = f.read()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:], pdf[:20]
    stored = stack.http("GET", "/api/report/pdf/" + run["run_id"])
    assert stored.status == 200 and stored.body == pdf
    p = aiops(stack, "report", "00000000-0000-4000-8000-000000000000")
    assert p.returncode == 1 and "HTTP 404" in p.stderr, (p.returncode, p.stderr)
    p = aiops(stack, "predict", name, rows_csv, "--version", "1", "--json")
    assert p.returncode == 0, p.stderr
    one = json.loads(p.stdout)
    assert one["model_version"] == 1 and len(one["predictions"]) == 3, one

    # drift NAME: the served rows above against the model's training reference, as the API
    # says it (svc-train hands its served rows to the window once a second)
    deadline = time.time() + 20
    while True:
        api = stack.http("GET", "/api/v1/models/%s/drift" % name)
        if api.status == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert api.status == 200, api
    p = aiops(stack, "drift", name)
    doc = json.loads(p.stdout)
    assert p.returncode == (1 if doc["dataset_drift"] else 0), (p.returncode, p.stderr)
    assert doc["model_name"] == name and doc["model_version"] == api.json()["model_version"]
    assert [f["feature"] for f in doc["features"]] == \
        [f["feature"] for f in api.json()["features"]], (doc, api.json())
    p = aiops(stack, "drift", "nosuch-" + name)
    assert p.returncode == 1 and "HTTP 404" in p.stderr, (p.returncode, p.stderr)


def test_console_cli_exit_statuses(stack):
    # refused by the server: 1, with the API's error code on stderr
    p = aiops(stack, "promote", "no-such-model-anywhere", "1")
    assert p.returncode == 1 and "HTTP 404 version_not_found" in p.stderr, (p.returncode, p.stderr)
    p = aiops(stack, "runs", key=False)
    assert p.returncode == 1 and "HTTP 401" in p.stderr, (p.returncode, p.stderr)
    p = aiops(stack, "watch", "00000000-0000-4000-8000-000000000000")
    assert p.returncode == 1, (p.returncode, p.stderr)
    # usage: 2
    assert aiops(stack, "promote", "x", "notanumber").returncode == 2
    assert aiops(stack, "runs", "--bogus").returncode == 2
    # nobody listening: 3
    p = aiops(stack, "models", url="http://127.0.0.1:%d" % harness.free_port())
    assert p.returncode == 3 and "no answer" in p.stderr, (p.returncode, p.stderr)


def _long_run(stack, name):
    """A run that trains for a long while (to be interrupted); its run_id once it is running."""
    csv_path = os.path.join(stack.tmp, name + ".csv")
    write_training_csv(csv_path, n=3000, seed=7)
    with open(csv_path, "rb") as f:
        up = stack.http("POST", "/api/upload?filename=%s.csv" % name, body=f.read(),
                        headers={"Content-Type": "text/csv"}).json()
    r = stack.http("POST", "/api/train", body={
        "file_id": up["file_id"], "target": "label", "model": "gbdt", "model_name": name,
        "config": {"rounds": 10000, "learning_rate": 0.0005, "early_stopping": 0}})
    assert r.status == 200, r
    run_id = r.json()["run_id"]
    deadline = time.time() + 120
    while time.time() < deadline:
        run = stack.http("GET", "/api/v1/runs/" + run_id).json()
        if run["status"] == "running" and run["current_epoch"] > 0:
            return run_id
        assert run["status"] in ("queued", "running"), run
        time.sleep(0.2)
    raise AssertionError("the run did not start")


def _watch_until_progress(stack, run_id, stdin):
    import threading
    env = {k: v for k, v in stack.env.items() if k not in ("AIOPS_API_KEY", "AIOPS_URL")}
    p = subprocess.Popen([os.path.join(stack.bin, "aiops"), "--url", stack.url(), "--api-key",
                          stack.api_key, "watch", run_id], stdin=stdin, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    err = []
    t = threading.Thread(target=lambda: err.extend(iter(p.stderr.readline, "")), daemon=True)
    t.start()
    deadline = time.time() + 60
    while not any(line.startswith("epoch ") for line in err) and time.time() < deadline:
        time.sleep(0.1)
    assert any(line.startswith("epoch ") for line in err), err
    return p, err


def test_console_cli_ctrl_c_without_a_terminal_stops_following(stack):
    run_id = _long_run(stack, "cli-int-%d" % int(time.time() * 1000))
    try:
        p, err = _watch_until_progress(stack, run_id, subprocess.DEVNULL)
        p.send_signal(signal.SIGINT)
        out = p.stdout.read()
        assert p.wait(timeout=30) == 130, (p.returncode, out, err)
        assert any("goes on on the server" in line for line in err), err
        # nothing was canceled: the run goes on
        assert stack.http("GET", "/api/v1/runs/" + run_id).json()["status"] == "running"
    finally:
        stack.http("POST", "/api/v1/runs/%s/cancel" % run_id, body={})


def test_console_cli_ctrl_c_on_a_terminal_asks_and_cancels(stack):
    import pty
    run_id = _long_run(stack, "cli-tty-%d" % int(time.time() * 1000))
    master, slave = pty.openpty()
    try:
        p, err = _watch_until_progress(stack, run_id, slave)
        p.send_signal(signal.SIGINT)
        # the terminal keeps the answer until the prompt reads it
        os.write(master, b"y\n")
        out = p.stdout.read()
        assert p.wait(timeout=60) == 1, (p.returncode, out, err)  # the run was canceled
        run = json.loads(out.strip().splitlines()[-1])
        assert run["run_id"] == run_id and run["status"] == "canceled", run
        assert "Cancel run %s? [y/N] cancel requested" % run_id in "".join(err), err
        assert stack.http("GET", "/api/v1/runs/" + run_id).json()["status"] == "canceled"
    finally:
        os.close(master)
        os.close(slave)
        stack.http("POST", "/api/v1/runs/%s/cancel" % run_id, body={})
