"""The gateway as a client sees it: health, readiness, metrics, routing, limits, CORS,
request ids, malformed HTTP, dead and slow services, concurrency."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import threading
import time

import harness

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def assert_error(resp, status, code):
    assert resp.status == status, resp
    body = resp.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert isinstance(body["error"]["details"], dict), body
    assert resp.headers.get("content-type") == "application/json", resp.headers
    assert resp.headers.get("x-request-id"), resp.headers
    return body["error"]


def raw_request(port, data, read_timeout=10):
    """Sends raw bytes and returns the raw answer (until the server closes or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, body = out.split(b"\r\n\r\n", 1)
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
        return out
    finally:
        s.close()


def parse_raw(out):
    head, body = out.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    return status, head.decode("latin-1"), body


def test_health_has_the_seed_fields(stack):
    r = stack.http("GET", "/api/health", auth=False)
    assert r.status == 200, r
    j = r.json()
    assert j["status"] == "healthy", j
    assert re.match(r"^\d+\.\d+\.\d+$", j["version"]), j
    assert isinstance(j["uptime_seconds"], float) and j["uptime_seconds"] > 0, j
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", j["timestamp"]), j
    assert all(v == "up" for v in j["checks"].values()), j


def test_healthz_and_readyz(stack):
    r = stack.http("GET", "/healthz", auth=False)
    assert r.status == 200 and r.json() == {"status": "ok"}, r
    r = stack.http("GET", "/readyz", auth=False)
    assert r.status == 200, r
    assert r.json()["status"] == "ready"
    assert set(r.json()["checks"]) == {"postgres", "redis", "event-relay", "svc-ingest", "svc-train",
                                       "svc-explain", "svc-report", "svc-monitor"}


def test_request_id_is_echoed_or_generated(stack):
    r = stack.http("GET", "/api/health", auth=False, headers={"X-Request-Id": "abc-123_x.y"})
    assert r.headers["x-request-id"] == "abc-123_x.y"
    r = stack.http("GET", "/api/health", auth=False, headers={"X-Request-Id": "bad id\x7f"})
    assert UUID_RE.match(r.headers["x-request-id"]), r.headers
    r = stack.http("GET", "/api/v1/ingest/health", auth=False)
    assert UUID_RE.match(r.headers["x-request-id"]), r.headers


def test_unknown_route_and_wrong_method(stack):
    assert_error(stack.http("GET", "/api/nothing-here"), 404, "not_found")
    r = stack.http("DELETE", "/api/health")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("allow") == "GET", r.headers
    r = stack.http("GET", "/ws/performance")
    assert_error(r, 426, "upgrade_required")


def test_head_answers_like_get_without_the_body(stack):
    get = stack.http("GET", "/api/v1/datasets")
    head = stack.http("HEAD", "/api/v1/datasets")
    assert head.status == 200 and head.body == b"", head
    assert head.headers["content-type"] == get.headers["content-type"]
    # (Content-Length is optional on a HEAD answer; when sent it must be GET's)
    assert int(head.headers.get("content-length", len(get.body))) == len(get.body)
    assert head.headers["x-request-id"] and head.headers["cache-control"] == "no-store"
    head = stack.http("HEAD", "/api/health", auth=False)
    assert head.status == 200 and head.body == b"", head
    # still nothing for routes that have no GET
    r = stack.http("HEAD", "/api/train")
    assert r.status == 405 and r.body == b"", r


def test_status_lines_carry_the_standard_reason_phrases(stack):
    r = stack.http("POST", "/api/train", body={"file_id": "x"})
    assert (r.status, r.reason) == (422, "Unprocessable Content"), (r, r.reason)
    r = stack.http("GET", "/api/nothing-here")
    assert (r.status, r.reason) == (404, "Not Found"), (r, r.reason)
    r = stack.http("GET", "/ws/performance")
    assert (r.status, r.reason) == (426, "Upgrade Required"), (r, r.reason)


def test_no_auth_playground_serves_only_its_own_host_names(stack):
    """DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1 must
    not be able to use the playground that DISABLE_AUTH opens."""
    with stack.extra_gateway("gateway-noauth", DISABLE_AUTH=1,
                             ALLOWED_HOSTS="aiops.internal") as port:
        for host in ["attacker.example", "attacker.example:%d" % port, "127.0.0.1.nip.io",
                     "[::2]:80", "bad host"]:
            r = stack.http("GET", "/api/v1/datasets", auth=False, port=port,
                           headers={"Host": host})
            assert_error(r, 403, "host_not_allowed")
        for host in ["127.0.0.1:%d" % port, "localhost", "LOCALHOST:1", "app.localhost",
                     "[::1]:%d" % port, "aiops.internal", "AIOPS.internal:80"]:
            r = stack.http("GET", "/api/v1/datasets", auth=False, port=port,
                           headers={"Host": host})
            assert r.status == 200, (host, r)
    # with authentication the credentials decide, not the name
    r = stack.http("GET", "/api/v1/datasets", headers={"Host": "api.example.com"})
    assert r.status == 200, r


def test_each_service_answers_its_health_through_the_gateway(stack):
    for s in harness.SERVICES:
        r = stack.http("GET", "/api/v1/%s/health" % s, auth=False)
        assert r.status == 200, r
        j = r.json()
        assert j["service"] == s and j["status"] == "ok", j
        assert j["database"] == "up" and j["redis"] == "up", j


def test_metrics_pass_promtool(stack):
    stack.http("GET", "/api/health", auth=False)
    stack.http("GET", "/api/nothing-here")
    r = stack.http("GET", "/api/metrics", auth=False)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    text = r.body.decode()
    assert re.search(r'aiops_http_requests_total\{route="/api/health",method="GET",code="200"\} \d+',
                     text), text[:2000]
    assert 'aiops_http_errors_total{route="unmatched",code="404"}' in text
    assert 'aiops_http_request_duration_seconds_bucket{route="/api/health",method="GET",le="+Inf"}' in text
    assert re.search(r"^aiops_uptime_seconds \d", text, re.M)
    assert 'aiops_service_up{service="ingest"} 1' in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is needed for this test"
    p = subprocess.run([promtool, "check", "metrics"], input=r.body, capture_output=True)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()


def test_metrics_json(stack):
    stack.http("GET", "/api/health", auth=False)
    r = stack.http("GET", "/api/metrics/json", auth=False)
    assert r.status == 200, r
    j = r.json()
    assert j["requests_total"] >= 1 and j["uptime_seconds"] > 0, j
    fam = j["metrics"]["aiops_http_request_duration_seconds"]
    assert fam["type"] == "histogram"
    s = [x for x in fam["samples"] if x["labels"]["route"] == "/api/health"][0]
    assert s["count"] >= 1 and s["buckets"]["+Inf"] == s["count"], s


def test_openapi_lists_every_route(stack):
    r = stack.http("GET", "/openapi.json", auth=False)
    assert r.status == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    for path, method in [("/api/upload", "post"), ("/api/v1/datasets/{id}", "get"),
                         ("/api/v1/datasets/{id}", "delete"), ("/api/train/status/{run_id}", "get"),
                         ("/ws/training/{run_id}", "get"), ("/api/health", "get")]:
        assert method in doc["paths"][path], (path, method)
    assert doc["paths"]["/api/v1/datasets/{id}"]["get"]["parameters"][0]["name"] == "id"
    # request bodies from the route table: uploads take multipart or CSV, JSON routes an object
    upload = doc["paths"]["/api/upload"]["post"]["requestBody"]
    assert set(upload["content"]) == {"multipart/form-data", "text/csv"}, upload
    assert upload["x-max-bytes"] >= 1 << 20, upload
    predict = doc["paths"]["/api/v1/models/{name}/predict"]["post"]["requestBody"]
    assert predict["content"]["application/json"]["schema"]["type"] == "object", predict
    assert "requestBody" not in doc["paths"]["/api/v1/datasets/{id}"]["get"]
    # query parameters from the route table, typed
    query = {p["name"]: p["schema"]["type"] for p in doc["paths"]["/api/v1/runs"]["get"]["parameters"]
             if p["in"] == "query"}
    assert query == {"status": "string", "model_name": "string", "model": "string",
                     "dataset_id": "string", "limit": "integer", "offset": "integer"}, query
    ai = doc["paths"]["/api/report/ai/{run_id}"]["get"]["parameters"]
    assert [p["in"] for p in ai][:1] == ["path"] and \
        {"contacts": "number", "rewrite": "boolean"}.items() <= \
        {p["name"]: p["schema"]["type"] for p in ai}.items(), ai
    # the error catalogue: every code once, with its status; the error body's schema
    catalogue = doc["x-error-codes"]
    codes = [e["code"] for e in catalogue]
    assert len(codes) == len(set(codes)), codes
    by_code = {e["code"]: e for e in catalogue}
    assert by_code["invalid_request"]["status"] == 422 and by_code["out_of_memory"]["status"] == 503
    assert all(400 <= e["status"] <= 599 and e["message"] for e in catalogue), catalogue
    schema = doc["components"]["schemas"]["Error"]
    assert schema["properties"]["error"]["properties"]["code"]["enum"] == codes, schema
    default = doc["paths"]["/api/upload"]["post"]["responses"]["default"]
    assert default["content"]["application/json"]["schema"]["$ref"] == \
        "#/components/schemas/Error", default
    # the codes the gateway answers here are in it
    for code in ("not_found", "method_not_allowed", "payload_too_large", "service_unavailable"):
        assert code in by_code, code


def iter_refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield v
            else:
                yield from iter_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from iter_refs(v)


def test_openapi_is_valid_openapi_3_1_with_a_schema_for_every_answer(stack):
    """/openapi.json against the OpenAPI Initiative's schema of 3.1 documents (vendored in
    tests/vendor/openapi-3.1); every schema in it a valid JSON Schema 2020-12; every $ref
    resolves; every operation has a success answer, a JSON one with a schema."""
    import jsonschema
    doc = stack.http("GET", "/openapi.json", auth=False).json()
    assert doc["openapi"] == "3.1.0", doc["openapi"]
    with open(os.path.join(harness.ROOT, "tests", "vendor", "openapi-3.1", "schema.json")) as f:
        meta = json.load(f)
    jsonschema.Draft202012Validator.check_schema(meta)
    errors = sorted(jsonschema.Draft202012Validator(meta).iter_errors(doc),
                    key=lambda e: list(e.absolute_path))
    assert not errors, ["%s: %s" % ("/".join(map(str, e.absolute_path)), e.message[:300])
                        for e in errors[:10]]
    # the document's own schemas: a broken one must fail here, not pass every answer
    schemas = [("components/schemas/" + name, s)
               for name, s in doc["components"]["schemas"].items()]
    ops = 0
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ops += 1
            where = "%s %s" % (method.upper(), path)
            body = op.get("requestBody", {}).get("content", {})
            schemas += [(where + " request " + t, m["schema"]) for t, m in body.items()]
            statuses = [st for st in op["responses"] if st != "default"]
            assert statuses and all(100 <= int(st) < 400 for st in statuses), (where, statuses)
            if op.get("x-websocket"):
                assert statuses == ["101"] and method == "get", (where, statuses)
            for st, resp in op["responses"].items():
                assert resp.get("description"), (where, st)
                for t, m in resp.get("content", {}).items():
                    assert "schema" in m, (where, st, t)
                    schemas.append(("%s %s %s" % (where, st, t), m["schema"]))
    assert ops >= 90, ops
    resolver = jsonschema.RefResolver("", doc)
    for where, s in schemas:
        try:
            jsonschema.Draft202012Validator.check_schema(s)
        except jsonschema.exceptions.SchemaError as e:
            raise AssertionError("%s: not a valid 2020-12 schema: %s" % (where, e.message))
        for ref in iter_refs(s):
            assert ref.startswith("#/"), (where, ref)
            resolver.resolve(ref)  # raises RefResolutionError when it points nowhere
    # and the check can fail: a document with a wrong version and a broken response is refused
    bad = json.loads(json.dumps(doc))
    bad["openapi"] = "3.0.3"
    bad["paths"]["/api/health"]["get"]["responses"]["200"] = {"content": {}}
    assert len(list(jsonschema.Draft202012Validator(meta).iter_errors(bad))) >= 2


def test_cors_allow_list(stack):
    r = stack.http("OPTIONS", "/api/upload", auth=False,
                   headers={"Origin": "http://localhost:3000",
                            "Access-Control-Request-Method": "POST",
                            "Access-Control-Request-Headers": "content-type,x-api-key"})
    assert r.status == 204, r
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in r.headers["access-control-allow-methods"]
    r = stack.http("GET", "/api/health", auth=False, headers={"Origin": "http://localhost:3000"})
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    r = stack.http("OPTIONS", "/api/upload", auth=False,
                   headers={"Origin": "http://evil.example",
                            "Access-Control-Request-Method": "POST"})
    assert_error(r, 403, "cors_origin_not_allowed")
    assert "access-control-allow-origin" not in r.headers
    r = stack.http("GET", "/api/health", auth=False, headers={"Origin": "http://evil.example"})
    assert_error(r, 403, "cors_origin_not_allowed")


def test_json_body_over_the_limit_is_413(stack):
    body = b"{" + b" " * (6 << 20) + b"}"
    r = stack.http("POST", "/api/train", body=body, headers={"Content-Type": "application/json"})
    err = assert_error(r, 413, "payload_too_large")
    assert err["details"]["limit"] == 5 << 20, err
    # and with Expect: 100-continue the answer comes before the body is sent
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    s.sendall(b"POST /api/train HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"X-API-Key: " + stack.api_key.encode() + b"\r\nExpect: 100-continue\r\n"
              b"Content-Length: 104857600\r\n\r\n")
    out = b""
    while b"\r\n\r\n" not in out:
        out += s.recv(4096)
    s.close()
    assert out.startswith(b"HTTP/1.1 413"), out[:200]


def test_malformed_http_gets_json_errors(stack):
    cases = [
        (b"GET /api/health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "bad_request"),
        (b"GET /api/health HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
        (b"POST /api/train HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, None),
        (b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * (70 << 10) + b"\r\n\r\n",
         431, "header_too_large"),
    ]
    for raw, status, code in cases:
        out = raw_request(stack.port, raw)
        st, head, body = parse_raw(out)
        assert st == status, (raw[:60], out[:300])
        j = json.loads(body)
        if code:
            assert j["error"]["code"] == code, j
        assert "x-request-id" in head.lower()


def test_keepalive_and_pipelining(stack):
    req = b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", stack.port), timeout=10)
    s.sendall(req * 3)
    out = b""
    deadline = time.time() + 10
    while out.count(b"HTTP/1.1 200") < 3 and time.time() < deadline:
        out += s.recv(65536)
    s.close()
    assert out.count(b"HTTP/1.1 200") == 3, out[:500]


def test_many_requests_in_flight_to_several_services(stack):
    paths = ["/api/v1/%s/health" % s for s in harness.SERVICES] + ["/api/health", "/api/v1/datasets"]
    results = []
    lock = threading.Lock()

    def worker(i):
        r = stack.http("GET", paths[i % len(paths)])
        with lock:
            results.append(r.status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(120)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(200) == 120, results


def test_dead_service_is_503_fast_and_comes_back(stack):
    t0 = time.time()
    stack.kill("ingest")
    try:
        # a dead service is known at once: no waiting for the route timeout
        for _ in range(50):
            r = stack.http("GET", "/api/v1/datasets")
            if r.status == 503:
                break
            time.sleep(0.05)
        err = assert_error(r, 503, "service_unavailable")
        assert err["details"]["service"] == "ingest"
        assert r.headers.get("retry-after") == "1", r.headers
        t1 = time.time()
        r = stack.http("GET", "/api/v1/datasets")
        assert r.status == 503 and time.time() - t1 < 1.0, (r, time.time() - t1)
        h = stack.http("GET", "/api/health", auth=False)
        assert h.status == 200 and h.json()["checks"]["svc-ingest"] == "down", h
        rz = stack.http("GET", "/readyz", auth=False)
        err = assert_error(rz, 503, "not_ready")
        assert "svc-ingest" in err["details"]["missing"], err
    finally:
        stack.start("ingest")
    stack.wait_ready()
    r = stack.http("POST", "/api/upload?filename=back.csv", body=b"a,b\n1,2\n3,%d\n" % int(t0),
                   headers={"Content-Type": "text/csv"})
    assert r.status == 200, r


def test_slow_service_is_504_and_the_gateway_never_hangs(stack):
    """A service that holds a request past the route timeout: 504 at the deadline, while a
    second gateway (route timeouts scaled to 10%) keeps answering everything else."""
    with stack.extra_gateway("gateway-fast", GATEWAY_TIMEOUT_PCT=10) as port:
        victim = stack.procs["report"]
        victim.send_signal(signal.SIGSTOP)
        try:
            t0 = time.time()
            r = stack.http("GET", "/api/dashboard/si", port=port)
            took = time.time() - t0
            err = assert_error(r, 504, "service_timeout")
            assert err["details"]["service"] == "report"
            assert 0.9 <= took < 3.0, took  # 10 s route timeout scaled to 10%
            r = stack.http("GET", "/api/health", auth=False, port=port)
            assert r.status == 200
            r = stack.http("GET", "/api/v1/ingest/health", auth=False, port=port)
            assert r.status == 200
        finally:
            victim.send_signal(signal.SIGCONT)


def test_disable_auth_is_refused_off_loopback(stack):
    env = stack.service_env("gateway")
    env.update({"AIOPS_BIND": "0.0.0.0", "DISABLE_AUTH": "1", "AIOPS_PORT": str(harness.free_port())})
    p = subprocess.run(stack.command("gateway"), env=env, capture_output=True, timeout=30)
    assert p.returncode == 2, p
    assert b"DISABLE_AUTH" in p.stderr


def test_services_stop_cleanly_on_sigterm(stack):
    assert stack.stop("explain") == 0
    stack.start("explain")
    stack.wait_ready()


def test_descriptor_exhaustion_never_takes_the_gateway_down(stack):
    """1,000 idle connections against a gateway with `ulimit -n 256`: it keeps answering
    /healthz in under 100 ms (idle connections make room for new ones, accept() at the
    limit pauses instead of spinning) and its log grows by less than 1 MB."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 and (hard == resource.RLIM_INFINITY or hard >= 4096):
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    log = os.path.join(stack.logdir, "gateway-fds.log")
    with stack.extra_gateway("gateway-fds", nofile=256) as port:
        size0 = os.path.getsize(log)
        socks = []

        def connect_idle(n):
            for _ in range(n):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                socks.append(s)

        try:
            connect_idle(1000)
            time.sleep(1.0)
            worst = 0.0
            for _ in range(10):
                t0 = time.time()
                r = stack.http("GET", "/healthz", auth=False, port=port, timeout=5)
                worst = max(worst, time.time() - t0)
                assert r.status == 200, r
            assert worst < 0.1, worst
            r = stack.http("GET", "/api/v1/datasets", port=port, timeout=5)
            assert r.status == 200, r
            # more idle clients keep arriving: still answered
            connect_idle(300)
            time.sleep(0.5)
            t0 = time.time()
            assert stack.http("GET", "/healthz", auth=False, port=port, timeout=5).status == 200
            assert time.time() - t0 < 0.1, time.time() - t0
        finally:
            for s in socks:
                s.close()
        grown = os.path.getsize(log) - size0
        assert grown < 1 << 20, grown
        # and it still serves after the flood
        assert stack.http("GET", "/api/v1/datasets", port=port, timeout=5).status == 200


def test_rate_limits_per_caller_shared_by_gateways_with_429_and_headers(stack):
    limits = "read=0.5:5,write=off,predict=off,auth_failures=0.2:3"
    key = json.loads(stack.admin("key", "create", "--project", "default"))["key"]
    other = json.loads(stack.admin("key", "create", "--project", "default"))["key"]
    with stack.extra_gateway("gateway-rl-a", RATE_LIMITS=limits) as pa, \
            stack.extra_gateway("gateway-rl-b", RATE_LIMITS=limits) as pb:
        def get(port, k):
            return stack.http("GET", "/api/v1/datasets", auth=False, port=port,
                              headers={"X-API-Key": k})
        got = [get(pa, key) for _ in range(8)]
        assert [r.status for r in got] == [200] * 5 + [429] * 3, [r.status for r in got]
        assert got[0].headers["ratelimit-limit"] == "5", got[0].headers
        assert got[0].headers["ratelimit-remaining"] == "4", got[0].headers
        err = assert_error(got[-1], 429, "rate_limited")
        assert err["details"]["class"] == "read", err
        assert int(got[-1].headers["retry-after"]) >= 1, got[-1].headers
        assert got[-1].headers["ratelimit-remaining"] == "0", got[-1].headers
        # another caller has a bucket of its own
        assert get(pa, other).status == 200
        # public routes are never limited
        assert all(stack.http("GET", "/healthz", auth=False, port=pa).status == 200
                   for _ in range(10))
        # the bucket is shared: once gateway B has reconciled with Redis, it knows the
        # caller has spent its tokens on gateway A
        time.sleep(0.5)
        assert get(pb, key).status == 200  # B had not seen the caller: a full local bucket
        time.sleep(0.5)
        statuses = [get(pb, key).status for _ in range(4)]
        assert statuses == [429] * 4, statuses
        assert [get(pb, other).status for _ in range(3)] == [200] * 3
        # guessing keys is limited harder, per client address, and blocks that address's
        # further attempts (even with a valid key) until the bucket refills
        bad = [stack.http("GET", "/api/v1/datasets", auth=False, port=pa,
                          headers={"X-API-Key": "aiops_" + "x" * 32}).status for _ in range(5)]
        assert bad == [401, 401, 401, 429, 429], bad
        assert_error(get(pa, other), 429, "rate_limited")
