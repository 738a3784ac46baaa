"""svc-monitor through the gateway: a gbdt model trained on UCI adult carries its drift
reference; rows served through /predict fill its drift window (svc-train samples them into
Redis); adult's own test rows do not drift, the same rows with age + 10 flag age and only
age, raise drift_detected, store a drift event in PostgreSQL (GET /api/drift/summary shows
it) and send a performance_alert on /ws/performance and to ALERT_WEBHOOK_URL (a receiver in
this test; svc-monitor is restarted pointing at it). Missing data skips loudly."""
import http.server
import json
import threading
import time
import uuid

import harness
import wsclient
from test_gateway import assert_error
from test_train import csv_rows, data, key_headers, predict, train, upload_path, wait_run

WINDOW = 1000  # DRIFT_WINDOW's default


def serve(stack, name, rows, batch=20):
    for i in range(0, len(rows), batch):
        predict(stack, name, rows[i:i + batch])


def wait_window(stack, name, rows=WINDOW, timeout=20):
    """The drift answer once the window holds `rows` rows (svc-train flushes once a second)."""
    deadline = time.time() + timeout
    while True:
        r = stack.http("GET", "/api/v1/models/%s/drift" % name)
        if r.status == 200 and r.json()["current_rows"] >= rows:
            return r.json()
        if time.time() > deadline:
            raise AssertionError("window of %s never reached %d rows: %r" % (name, rows, r))
        time.sleep(0.2)


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook endpoint: keeps every JSON body posted to it."""
    bodies = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Receiver.bodies.append(json.loads(self.rfile.read(n)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def by_feature(doc):
    return {f["feature"]: f for f in doc["features"]}


def test_shifted_age_is_flagged_and_raises_a_stored_event_and_an_alert(stack):
    train_csv = data("uci_adult", "adult_train.csv")
    test_csv = data("uci_adult", "adult_test.csv")
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    assert stack.stop("monitor") == 0
    stack.start("monitor", {"ALERT_WEBHOOK_URL": "http://127.0.0.1:%d/hook" % hook.server_port,
                            "OUTBOUND_ALLOW_NETS": "127.0.0.1/32"})
    try:
        check_drift_flow(stack, train_csv, test_csv)
    finally:
        hook.shutdown()
        hook.server_close()


def check_drift_flow(stack, train_csv, test_csv):
    tag = uuid.uuid4().hex[:8]
    name = "drift-" + tag
    fid = upload_path(stack, train_csv, "adult-drift-%s.csv" % tag)
    j = train(stack, fid, target="income", model="gbdt", model_name=name,
              config={"rounds": 30, "valid_fraction": 0.2})
    done = wait_run(stack, j["run_id"])
    assert done["status"] == "completed", done

    # nothing served yet: a clear 409, not an empty answer
    assert_error(stack.http("GET", "/api/v1/models/%s/drift" % name), 409, "no_served_rows")
    assert_error(stack.http("GET", "/api/v1/models/nosuch-%s/drift" % tag), 404,
                 "model_not_found")

    rows = csv_rows(test_csv)[:WINDOW]
    for r in rows:
        r.pop("income", None)
    serve(stack, name, rows)
    d = wait_window(stack, name)
    feats = by_feature(d)
    assert d["current_rows"] == WINDOW and d["reference_rows"] == 26048, d
    assert set(feats) >= {"age", "education_num", "hours_per_week", "occupation", "sex"}, feats
    assert feats["age"]["method"] == "wasserstein" and feats["age"]["drift"] is False, feats["age"]
    assert d["number_of_drifted_columns"] == 0, [f for f in d["features"] if f["drift"]]
    assert d["prediction"]["level"] == "normal", d["prediction"]
    s = stack.http("GET", "/api/drift/status?model=" + name).json()
    assert set(s) >= {"drift_detected", "kl_divergence", "threshold", "buffer_size",
                      "buffer_mean", "buffer_std", "should_retrain"}, s
    assert s["drift_detected"] is False and s["buffer_size"] == WINDOW, s
    assert s["threshold"] == 0.5 and 0 < s["buffer_mean"] < 1 and s["buffer_std"] > 0, s
    assert s["kl_divergence"] < 0.3, s

    r = stack.http("POST", "/api/drift/reset?model=" + name, body={})
    assert r.status == 200, r
    assert r.json()["message"] == "Drift detector buffer reset successfully", r
    assert_error(stack.http("GET", "/api/v1/models/%s/drift" % name), 409, "no_served_rows")

    ws = wsclient.WebSocket(stack.port, "/ws/performance", headers=key_headers(stack),
                            timeout=30)
    try:
        shifted = [dict(r, age=r["age"] + 10) for r in rows]
        serve(stack, name, shifted)
        d = wait_window(stack, name)
        feats = by_feature(d)
        assert feats["age"]["drift"] is True and feats["age"]["statistic"] > 0.5, feats["age"]
        drifted = sorted(f["feature"] for f in d["features"] if f["drift"])
        assert drifted == ["age"], drifted
        s = stack.http("GET", "/api/drift/status?model=" + name).json()
        assert s["drift_detected"] is True and s["event_recorded"] is True, s
        assert [f["feature"] for f in s["drifted_features"]] == ["age"], s
        # a second look within the minute does not store a second event
        s2 = stack.http("GET", "/api/drift/status?model=" + name).json()
        assert s2["drift_detected"] is True and s2["event_recorded"] is False, s2
        alert = None
        deadline = time.time() + 20
        while alert is None and time.time() < deadline:
            msg = json.loads(ws.recv())
            if msg.get("type") == "performance_alert" and \
                    msg["metrics"].get("model_name") == name:
                alert = msg
        assert alert is not None, "no performance_alert for %s" % name
        assert alert["severity"] in ("warning", "critical") and alert["message"], alert
        assert [f["feature"] for f in alert["metrics"]["drifted_features"]] == ["age"], alert
    finally:
        ws.close()
    summ = stack.http("GET", "/api/drift/summary?days=7&model=" + name).json()
    assert summ["period_days"] == 7 and summ["drift_count"] == 1, summ
    ev = summ["events"][0]
    assert ev["model_name"] == name and ev["window_rows"] == WINDOW, ev
    assert [f["feature"] for f in ev["drifted_features"]] == ["age"], ev
    stored = stack.psql("SELECT count(*) FROM drift_events WHERE model_name = '%s'" % name)
    assert stored == [["1"]], stored
    assert_error(stack.http("GET", "/api/drift/summary?days=0"), 422, "invalid_parameter")
    # the same alert reached the webhook, Slack/Teams-readable
    deadline = time.time() + 20
    mine = []
    while not mine and time.time() < deadline:
        mine = [b for b in Receiver.bodies if b.get("metrics", {}).get("model_name") == name]
        time.sleep(0.1)
    assert len(mine) == 1, Receiver.bodies
    assert mine[0]["text"].startswith("[aiops ") and mine[0]["severity"] == alert["severity"], mine
    assert [f["feature"] for f in mine[0]["metrics"]["drifted_features"]] == ["age"], mine
