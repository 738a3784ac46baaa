"""svc-monitor through the gateway: a gbdt model trained on UCI adult carries its drift
reference; rows served through /predict fill its drift window (svc-train samples them into
Redis); adult's own test rows do not drift, the same rows with age + 10 flag age and only
age, raise drift_detected, store a drift event in PostgreSQL (GET /api/drift/summary shows
it) and send a performance_alert on /ws/performance and to ALERT_WEBHOOK_URL (a receiver in
this test; svc-monitor is restarted pointing at it). Every prediction carries an id; label
feedback by id gives rolling accuracy/precision/recall/F1, and accuracy under 0.7 raises a
performance_alert on both channels. Missing data skips loudly."""
import json
import re
import shutil
import subprocess
import threading
import time
import uuid

import wsclient
from receiver import Receiver
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


def breast_cancer_model(stack, prefix, rounds=10, versions=1):
    """A gbdt model trained `versions` times on breast_cancer through the API: its name and
    the CSV's path."""
    path = data("sklearn_breast_cancer", "breast_cancer.csv")
    tag = uuid.uuid4().hex[:8]
    name = "%s-%s" % (prefix, tag)
    fid = upload_path(stack, path, "bc-%s-%s.csv" % (prefix, tag))
    for _ in range(versions):
        done = wait_run(stack, train(stack, fid, target="target", model="gbdt", model_name=name,
                                     config={"rounds": rounds})["run_id"])
        assert done["status"] == "completed", done
    return name, path


def by_feature(doc):
    return {f["feature"]: f for f in doc["features"]}


_hook = None


def webhook(stack):
    """A local webhook receiver, and svc-monitor restarted (once) to post its alerts there."""
    global _hook
    if _hook is None:
        _hook = Receiver()
        stack.restart("monitor", {
            "ALERT_WEBHOOK_URL": "http://127.0.0.1:%d/hook" % _hook.port,
            "OUTBOUND_ALLOW_NETS": "127.0.0.1/32", "MONITOR_INTERVAL_SECONDS": "1",
            "RETRAIN_CHECK_SECONDS": "1"})
    return _hook


def webhook_bodies(name, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        mine = [b for b in _hook.received() if b.get("metrics", {}).get("model_name") == name]
        if mine:
            return mine
        time.sleep(0.1)
    return []


def wait_alert(ws, name, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("type") == "performance_alert" and msg["metrics"].get("model_name") == name:
            return msg
    raise AssertionError("no performance_alert for %s" % name)


def test_shifted_age_is_flagged_and_raises_a_stored_event_and_an_alert(stack):
    train_csv = data("uci_adult", "adult_train.csv")
    test_csv = data("uci_adult", "adult_test.csv")
    webhook(stack)
    check_drift_flow(stack, train_csv, test_csv)


def test_feedback_gives_rolling_metrics_and_an_accuracy_alert(stack):
    webhook(stack)
    name, path = breast_cancer_model(stack, "fb", rounds=20)
    rows = csv_rows(path)[:60]
    truth = [r.pop("target") for r in rows]
    got = predict(stack, name, rows)["predictions"]
    ids = [p["id"] for p in got]
    assert len(set(ids)) == 60 and all(":" in i for i in ids), ids[:3]
    pred = [int(p["prediction"]) for p in got]
    # svc-train hands answered predictions to Redis once a second: wait for this request's
    reqid = ids[0].split(":")[0]
    deadline = time.time() + 10
    while stack.redis("EXISTS", "aiops:pred:default:" + reqid) != ["1"]:
        assert time.time() < deadline, "the predictions of %s were never kept" % reqid
        time.sleep(0.1)

    # bad bodies name the field
    assert_error(stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": 3}),
                 422, "invalid_request")
    e = assert_error(stack.http("POST", "/api/v1/models/%s/feedback" % name,
                                body={"feedback": [{"id": ids[0]}]}), 422, "invalid_request")
    assert e["details"]["field"] == "feedback[0]", e

    # 30 labels as predicted (accuracy 1), plus ids nobody answered: reported back
    fb = [{"id": ids[i], "label": pred[i]} for i in range(30)]
    fb += [{"id": "nope", "label": 1}, {"id": "%s:0" % uuid.uuid4(), "label": 0},
           {"id": ids[0][:-1] + "999", "label": 0}]
    r = stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": fb})
    assert r.status == 200, r
    j = r.json()
    assert j["accepted"] == 30 and len(j["unknown_ids"]) == 3, j
    assert j["metrics"]["accuracy"] == 1.0 and j["metrics"]["feedback_count"] == 30, j
    m = stack.http("GET", "/api/v1/models/metrics?model=" + name).json()
    assert m["task"] == "binary" and m["accuracy"] == 1.0 and m["f1"] == 1.0, m

    # 30 more, all wrong: accuracy 0.5 < 0.7 over 60 labels raises an alert
    ws = wsclient.WebSocket(stack.port, "/ws/performance", headers=key_headers(stack),
                            timeout=30)
    try:
        fb = [{"id": ids[i], "label": 1 - pred[i]} for i in range(30, 60)]
        j = stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": fb}).json()
        labels = [pred[i] for i in range(30)] + [1 - pred[i] for i in range(30, 60)]
        tp = sum(1 for p, a in zip(pred, labels) if p == a == 1)
        npred = sum(1 for p in pred if p == 1)
        nact = sum(1 for a in labels if a == 1)
        assert j["metrics"]["accuracy"] == 0.5, j
        assert abs(j["metrics"]["precision"] - tp / npred) < 1e-12, (j, tp, npred)
        assert abs(j["metrics"]["recall"] - tp / nact) < 1e-12, (j, tp, nact)
        alert = wait_alert(ws, name)
        assert "accuracy" in alert["message"] and alert["metrics"]["accuracy"] == 0.5, alert
        # the live feed: metrics_update for this model (with its rolling accuracy) and
        # system_health, every MONITOR_INTERVAL_SECONDS (1 s here) while it serves
        update = health = None
        deadline = time.time() + 30
        while (update is None or health is None) and time.time() < deadline:
            predict(stack, name, rows[:5])
            try:
                msg = json.loads(ws.recv())
            except OSError:
                continue
            if msg.get("type") == "metrics_update" and msg["metrics"]["model_name"] == name:
                update = msg
            elif msg.get("type") == "system_health":
                health = msg
        assert update is not None and health is not None, (update, health)
        assert update["metrics"]["requests"] >= 1 and update["metrics"]["accuracy"] == 0.5, update
        assert update["metrics"]["response_time"] > 0, update
        h = health["health"]
        assert set(h) == {"cpu_usage", "memory_usage", "api_success_rate", "error_rate"}, h
        assert h["api_success_rate"] == 100.0 and h["error_rate"] == 0.0, h
        assert 0 < h["memory_usage"] < 100, h
    finally:
        ws.close()
    hooks = webhook_bodies(name)
    assert len(hooks) == 1 and "accuracy" in hooks[0]["text"], _hook.received()


def test_concurrent_predictions_are_all_kept_and_monitoring_false_keeps_none(stack):
    """svc-train's workers keep what they answer in slabs of their own, which the flusher
    swaps out once a second (svc-train/window.c): requests served at once by every worker are
    each kept for feedback and sampled into the drift window, none lost or mixed up; restarted
    with PREDICTION_MONITORING=false, svc-train keeps and samples nothing."""
    name, path = breast_cancer_model(stack, "conc")
    rows = csv_rows(path)[:100]
    for r in rows:
        r.pop("target")
    answered, lock = [], threading.Lock()

    def client(k):
        for i in range(25):
            j = predict(stack, name, [rows[(k * 25 + i) % len(rows)]])
            with lock:
                answered.append(j["predictions"][0])
    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({p["id"] for p in answered}) == 200, answered[:3]
    keys = ["aiops:pred:default:" + p["id"].split(":")[0] for p in answered]
    deadline = time.time() + 10
    while stack.redis("EXISTS", *keys) != ["200"]:
        assert time.time() < deadline, stack.redis("EXISTS", *keys)
        time.sleep(0.1)
    # each kept under its own id with its own answer: labels as predicted score 1.0
    fb = [{"id": p["id"], "label": int(p["prediction"])} for p in answered]
    j = stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": fb}).json()
    assert j["accepted"] == 200 and j["unknown_ids"] == [], j
    assert j["metrics"]["accuracy"] == 1.0 and j["metrics"]["feedback_count"] == 200, j
    assert wait_window(stack, name, rows=200)["current_rows"] == 200

    window = "aiops:drift:default:%s:v1" % name
    batches = stack.redis("LLEN", window)
    try:
        stack.restart("train", {"PREDICTION_MONITORING": "false"})
        got = predict(stack, name, rows[:10])["predictions"]
        time.sleep(2.5)  # two of the flusher's ticks
        assert stack.redis("EXISTS", "aiops:pred:default:" + got[0]["id"].split(":")[0]) == ["0"]
        assert stack.redis("LLEN", window) == batches
        j = stack.http("POST", "/api/v1/models/%s/feedback" % name,
                       body={"feedback": [{"id": got[0]["id"], "label": 0}]}).json()
        assert j["accepted"] == 0 and len(j["unknown_ids"]) == 1, j
    finally:
        stack.restart("train")


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
        alert = wait_alert(ws, name)
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
    mine = webhook_bodies(name)
    assert len(mine) == 1, _hook.received()
    assert mine[0]["text"].startswith("[aiops ") and mine[0]["severity"] == alert["severity"], mine
    assert [f["feature"] for f in mine[0]["metrics"]["drifted_features"]] == ["age"], mine


def family_sample(text, family, name, suffix=""):
    """The value of family's sample (suffix: _count, _sum, ...) for model `name`, or None."""
    m = re.search(r'^%s%s\{project="[^"]*",model="%s"\} (\S+)$' % (family, suffix, re.escape(name)),
                  text, re.M)
    return float(m.group(1)) if m else None


def wait_series(stack, family, name, want, timeout=30):
    """/api/metrics once family's sample for model `name` satisfies want(value)."""
    deadline = time.time() + timeout
    while True:
        text = stack.http("GET", "/api/metrics").body.decode("utf-8")
        v = family_sample(text, family, name)
        if v is not None and want(v):
            return text
        assert time.time() < deadline, "%s of %s never arrived (last %r):\n%s" % (
            family, name, v, text[-2000:])
        time.sleep(0.3)


def test_served_models_have_prometheus_series(stack):
    """GET /api/metrics carries every served model's series (svc-monitor sums svc-train's
    counters from Redis each tick; the gateway appends them): predictions, rows, errors, the
    latency histogram, rolling accuracy from label feedback and the last drift check's KL."""
    webhook(stack)  # svc-monitor ticking every second
    name, path = breast_cancer_model(stack, "prom")
    rows = csv_rows(path)[:40]
    for r in rows:
        r.pop("target")
    got = []
    for i in range(0, 40, 10):
        got += predict(stack, name, rows[i:i + 10])["predictions"]
    text = wait_series(stack, "aiops_model_predictions_total", name, lambda v: v >= 4)
    assert family_sample(text, "aiops_model_predictions_total", name) == 4, text[-2000:]
    assert family_sample(text, "aiops_model_prediction_rows_total", name) == 40
    assert family_sample(text, "aiops_model_prediction_errors_total", name) == 0
    fam = "aiops_model_prediction_duration_seconds"
    assert family_sample(text, fam, name, "_count") == 4
    assert 0 < family_sample(text, fam, name, "_sum") < 4 * 2.5
    buckets = [(le, float(v)) for le, v in re.findall(
        r'^%s_bucket\{project="[^"]*",model="%s",le="([^"]+)"\} (\S+)$' % (fam, name), text,
        re.M)]
    assert buckets[-1] == ("+Inf", 4.0), buckets
    assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    for f, t in (("aiops_model_predictions_total", "counter"), (fam, "histogram"),
                 ("aiops_model_accuracy", "gauge"), ("aiops_model_drift_kl", "gauge")):
        assert types.get(f) == t, (f, types.get(f))
    # label feedback: 30 right, 10 wrong -> 0.75, the same as the metrics route says
    reqid = got[-1]["id"].split(":")[0]
    deadline = time.time() + 10
    while stack.redis("EXISTS", "aiops:pred:default:" + reqid) != ["1"]:
        assert time.time() < deadline, "the predictions of %s were never kept" % reqid
        time.sleep(0.1)
    pred = [int(p["prediction"]) for p in got]
    fb = [{"id": p["id"], "label": pred[i] if i < 30 else 1 - pred[i]} for i, p in enumerate(got)]
    r = stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": fb})
    assert r.status == 200 and r.json()["accepted"] == 40, r
    assert stack.http("GET", "/api/v1/models/metrics?model=" + name).json()["accuracy"] == 0.75
    wait_series(stack, "aiops_model_accuracy", name, lambda v: v == 0.75)
    # a drift check leaves its KL for the gauge
    s = stack.http("GET", "/api/drift/status?model=" + name).json()
    kl = s["kl_divergence"]
    assert isinstance(kl, float), s
    wait_series(stack, "aiops_model_drift_kl", name, lambda v: abs(v - kl) <= 1e-12 * max(1, kl))
    # the JSON form has the same families
    j = stack.http("GET", "/api/metrics/json").json()
    samples = j["metrics"]["aiops_model_predictions_total"]["samples"]
    assert any(s["labels"]["model"] == name and s["value"] == 4 for s in samples), samples
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True)
        assert p.returncode == 0, p.stdout + p.stderr


def test_retrain_policy_retrains_a_model_whose_accuracy_fell(stack):
    """A model's retrain policy: checked, refused with the field named when wrong; once its
    rolling accuracy falls under min_accuracy, svc-monitor queues one retrain (tagged with the
    reason), records it on the policy, alerts, and the retrain's decision is recorded."""
    webhook(stack)  # svc-monitor checking policies every second
    name, path = breast_cancer_model(stack, "pol")
    url = "/api/v1/models/%s/retrain-policy" % name
    p = stack.http("GET", url).json()
    assert p["enabled"] is False and p["min_accuracy"] == 0.7 and p["last_run_id"] is None, p
    assert_error(stack.http("PUT", "/api/v1/models/nope-%s/retrain-policy" % name,
                            body={"enabled": True}), 404, "model_not_found")
    for body, field in (({"max_kl": -1}, "max_kl"), ({"drift_events": 0}, "drift_events"),
                        ({"retrain_cron": "61 * * * *"}, "retrain_cron"),
                        ({"retrain_cron": "* * *"}, "retrain_cron"), ({"enabled": "yes"}, "enabled"),
                        ({"colour": 1}, "colour")):
        e = assert_error(stack.http("PUT", url, body=body), 422, "invalid_request")
        assert e["details"]["field"] == field, (body, e)
    rows = csv_rows(path)[:40]
    for r in rows:
        r.pop("target")
    got = predict(stack, name, rows)["predictions"]
    reqid = got[0]["id"].split(":")[0]
    deadline = time.time() + 10
    while stack.redis("EXISTS", "aiops:pred:default:" + reqid) != ["1"]:
        assert time.time() < deadline, "the predictions of %s were never kept" % reqid
        time.sleep(0.1)
    # only the accuracy rule can hold
    r = stack.http("PUT", url, body={"min_accuracy": 0.7, "min_feedback": 20, "max_kl": 1000,
                                     "drift_events": 100000, "retrain_cron": "0 3 * * *"})
    assert r.status == 200, r
    assert r.json()["enabled"] is True and r.json()["retrain_cron"] == "0 3 * * *", r.json()
    time.sleep(2.5)  # checked, nothing holds yet
    p = stack.http("GET", url).json()
    assert p["last_checked_at"] is not None and p["last_run_id"] is None, p
    pred = [int(x["prediction"]) for x in got]
    fb = [{"id": x["id"], "label": pred[i] if i < 10 else 1 - pred[i]} for i, x in enumerate(got)]
    assert stack.http("POST", "/api/v1/models/%s/feedback" % name,
                      body={"feedback": fb}).json()["accepted"] == 40
    deadline = time.time() + 30
    while True:
        p = stack.http("GET", url).json()
        if p["last_run_id"] is not None:
            break
        assert time.time() < deadline, "no retrain was triggered: %r" % p
        time.sleep(0.3)
    assert "rolling accuracy is 0.250 over 40 labels" in p["last_reason"], p
    tags = json.loads(stack.psql("SELECT tags::text FROM runs WHERE id = '%s'"
                                 % p["last_run_id"])[0][0])
    assert tags["retrain_of"] == name and "rolling accuracy" in tags["trigger"], tags
    done = wait_run(stack, p["last_run_id"])
    assert done["status"] == "completed", done
    info = stack.http("GET", "/api/v1/models/info?model=" + name).json()
    assert info["last_decision"] is not None and "promoted" in info["last_decision"], info
    # one retrain only: the cooldown holds the rule back though accuracy is still low
    time.sleep(2.5)
    assert stack.psql("SELECT count(*) FROM runs WHERE tags->>'retrain_of' = '%s'" % name) == \
        [["1"]]
    deadline = time.time() + 20
    while not any("retraining %s" % name in json.dumps(b) for b in webhook_bodies(name)):
        assert time.time() < deadline, "the webhook never heard of the retrain"
        time.sleep(0.2)


def test_retention_prunes_old_versions_but_never_the_champion_or_an_aliased_one(stack):
    """retention_days on a policy: every check deletes the model's versions older than that,
    except the newest (the champion without a champion alias) and every aliased version."""
    webhook(stack)  # policies checked every second
    name, _ = breast_cancer_model(stack, "keep", rounds=3, versions=4)
    r = stack.http("POST", "/api/v1/models/%s/aliases" % name, body={"alias": "audit", "version": 1})
    assert r.status == 200, r
    # versions 1-3 are a month old; 4 is new
    stack.psql("UPDATE model_versions SET created_at = now() - interval '30 days'"
               " WHERE name = '%s' AND version < 4" % name)
    versions = lambda: [int(v[0]) for v in stack.psql(  # noqa: E731
        "SELECT version FROM model_versions WHERE name = '%s' ORDER BY version" % name)]
    assert versions() == [1, 2, 3, 4]
    # no rule can hold: only retention acts
    r = stack.http("PUT", "/api/v1/models/%s/retrain-policy" % name,
                   body={"retention_days": 7, "max_kl": 1000, "drift_events": 100000,
                         "min_feedback": 1000000})
    assert r.status == 200 and r.json()["retention_days"] == 7, r
    deadline = time.time() + 15
    while versions() != [1, 4]:
        assert time.time() < deadline, versions()
        time.sleep(0.3)
    time.sleep(2)  # and it stays so: 1 is aliased, 4 the newest
    assert versions() == [1, 4]
    assert stack.http("GET", "/api/v1/models/%s/versions/4" % name).status in (200, 404)
    assert stack.psql("SELECT count(*) FROM runs WHERE tags->>'retrain_of' = '%s'" % name) == \
        [["0"]]
    e = assert_error(stack.http("PUT", "/api/v1/models/%s/retrain-policy" % name,
                                body={"retention_days": 0}), 422, "invalid_request")
    assert e["details"]["field"] == "retention_days", e
    r = stack.http("PUT", "/api/v1/models/%s/retrain-policy" % name, body={"retention_days": None})
    assert r.status == 200 and r.json()["retention_days"] is None, r
