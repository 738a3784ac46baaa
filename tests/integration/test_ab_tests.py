"""Live A/B tests (issue 9) through the gateway: POST /api/v1/models/{name}/ab-tests starts
one; while it runs, /predict (and the V2 infer route) answers traffic_share of the requests
that name no version with the challenger -- the same routing_key always with the same arm --
and says which in model_version; label feedback lands in the arm that answered; GET shows
traffic and metrics per arm, the unpaired test (chi-square on accuracy, Welch's t on a
regressor's squared errors) and a verdict; stop
promotes a clearly better challenger (a model trained on true labels against one trained on
shuffled labels) and keeps the champion against a worse one, and says so on /ws/performance
(ab_test_stopped); GET .../ab-tests lists a model's tests, newest first. Bad requests: 404,
409, 422."""
import random
import time
import uuid

import wsclient

from test_gateway import assert_error
from test_retrain import info, read_csv, to_csv, wait_event, wait_relay
from test_train import csv_rows, data, key_headers, predict, train, upload_bytes, wait_run

DATASET = ("sklearn_breast_cancer", "breast_cancer.csv")


def version_of(stack, fid, name, target):
    done = wait_run(stack, train(stack, fid, target=target, model="gbdt", model_name=name,
                                 config={"rounds": 20, "seed": 5})["run_id"])
    assert done["status"] == "completed", done
    return done["model_version"]


def two_versions(stack, clean_first, dataset=DATASET, target="target", rows_used=None):
    """A model with a version trained on true labels and one on shuffled labels; version 1
    (the champion) is the clean one when clean_first."""
    header, rows = read_csv(*dataset)
    rows = rows[:rows_used]
    col = header.index(target)
    labels = [r[col] for r in rows]
    random.Random(7).shuffle(labels)
    noisy = [r[:col] + [y] + r[col + 1:] for r, y in zip(rows, labels)]
    tag = uuid.uuid4().hex[:8]
    name = "ab-" + tag
    first, second = (rows, noisy) if clean_first else (noisy, rows)
    for i, part in enumerate((first, second)):
        fid = upload_bytes(stack, to_csv(header, part), "ab-%s-%d.csv" % (tag, i))
        assert version_of(stack, fid, name, target) == i + 1
    return name


def instances(dataset=DATASET, target="target"):
    rows = csv_rows(data(*dataset))
    truth = [r.pop(target) for r in rows]
    return rows, truth


def start(stack, name, body, expect=201):
    r = stack.http("POST", "/api/v1/models/%s/ab-tests" % name, body=body)
    assert r.status == expect, r
    return r.json()


def get(stack, name, test_id):
    r = stack.http("GET", "/api/v1/models/%s/ab-tests/%s" % (name, test_id))
    assert r.status == 200, r
    return r.json()


def stop(stack, name, test_id):
    r = stack.http("POST", "/api/v1/models/%s/ab-tests/%s/stop" % (name, test_id))
    assert r.status == 200, r
    return r.json()


def list_tests(stack, name, query=""):
    r = stack.http("GET", "/api/v1/models/%s/ab-tests%s" % (name, query))
    assert r.status == 200, r
    return r.json()


def stop_heard(stack, name, test_id):
    """Stops a test while listening on /ws/performance: the stop's answer and its
    ab_test_stopped event."""
    wait_relay(stack)
    ws = wsclient.WebSocket(stack.port, "/ws/performance", headers=key_headers(stack), timeout=5)
    try:
        s = stop(stack, name, test_id)
        event = wait_event(ws, lambda m: m.get("type") == "ab_test_stopped" and
                           m.get("model_name") == name)
    finally:
        ws.close()
    assert event["test_id"] == test_id, event
    return s, event


def wait_traffic(stack, name, test_id, requests, timeout=15):
    """The test once its traffic counts hold `requests` (svc-train flushes once a second)."""
    deadline = time.time() + timeout
    while True:
        t = get(stack, name, test_id)
        arms = t["arms"]
        if arms["champion"]["requests"] + arms["challenger"]["requests"] >= requests:
            return t
        assert time.time() < deadline, t
        time.sleep(0.2)


def wait_kept(stack, pred_id, timeout=10):
    reqid = pred_id.split(":")[0]
    deadline = time.time() + timeout
    while stack.redis("EXISTS", "aiops:pred:default:" + reqid) != ["1"]:
        assert time.time() < deadline, "the predictions of %s were never kept" % reqid
        time.sleep(0.1)


def serve_and_label(stack, name, rows, truth, field="label"):
    """One request per row (a routing_key each), then every row's true label as feedback.
    Returns the versions that answered."""
    answered, fb = [], []
    for i, (row, y) in enumerate(zip(rows, truth)):
        r = stack.http("POST", "/api/v1/models/%s/predict" % name,
                       body={"routing_key": "user-%d" % i, "instances": [row]})
        assert r.status == 200, r
        j = r.json()
        answered.append(j["model_version"])
        fb.append({"id": j["predictions"][0]["id"], field: y})
    wait_kept(stack, fb[-1]["id"])
    r = stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": fb})
    assert r.status == 200 and r.json()["accepted"] == len(fb), r
    return answered


def test_traffic_split_routing_key_and_feedback_per_arm(stack):
    name = two_versions(stack, clean_first=False)
    rows, truth = instances()
    t = start(stack, name, {"challenger_version": 2, "traffic_share": 0.2})
    assert t["status"] == "running" and t["champion_version"] == 1, t
    assert t["challenger_version"] == 2 and t["traffic_share"] == 0.2, t
    assert t["metric"] == "accuracy" and t["decision"] is None, t
    test_id = t["id"]
    # one running test per model
    e = assert_error(stack.http("POST", "/api/v1/models/%s/ab-tests" % name,
                                body={"challenger_version": 2}), 409, "ab_test_running")
    assert e["details"]["running_test_id"] == test_id, e

    # 400 requests without a routing_key: about 20% answered by the challenger
    versions = [predict(stack, name, [rows[i % len(rows)]])["model_version"]
                for i in range(400)]
    assert set(versions) == {1, 2}, versions
    share = versions.count(2) / 400
    assert 0.13 <= share <= 0.27, share  # 0.2 +- 3.5 standard deviations
    # a routing_key always goes to the same arm; 300 keys split about as the share
    by_key = {}
    for i in range(300):
        key = "customer-%d" % i
        r = stack.http("POST", "/api/v1/models/%s/predict" % name,
                       body={"routing_key": key, "instances": [rows[i]]})
        assert r.status == 200, r
        by_key[key] = r.json()["model_version"]
    keyed_share = list(by_key.values()).count(2) / 300
    assert 0.12 <= keyed_share <= 0.28, keyed_share
    for key in list(by_key)[:40]:  # again, with the key last: the same version
        r = stack.http("POST", "/api/v1/models/%s/predict" % name,
                       body={"instances": [rows[0]], "routing_key": key})
        assert r.json()["model_version"] == by_key[key], (key, r)
    # the V2 route routes by the same key
    key = next(k for k, v in by_key.items() if v == 2)
    v2 = stack.http("POST", "/v2/models/%s/infer" % name, body={
        "routing_key": key,
        "inputs": [{"name": f, "shape": [1], "datatype": "FP64", "data": [rows[0][f]]}
                   for f in rows[0]]})
    assert v2.status == 200 and v2.json()["model_version"] == "2", v2
    # a version or alias asked for is not part of the test
    assert predict(stack, name, [rows[0]], "?version=1")["model_version"] == 1

    total = 400 + 300 + 40 + 1
    t = wait_traffic(stack, name, test_id, total)
    arms = t["arms"]
    assert arms["champion"]["requests"] + arms["challenger"]["requests"] == total, t
    assert arms["challenger"]["requests"] == versions.count(2) + \
        list(by_key.values()).count(2) + sum(1 for k in list(by_key)[:40] if by_key[k] == 2) + 1, t
    assert arms["champion"]["version"] == 1 and arms["challenger"]["version"] == 2, t
    assert t["verdict"] == "insufficient_data" and t["p_value"] is None, t

    # feedback: 60 challenger answers and 60 champion answers, all labelled as predicted by
    # the challenger's arm and wrongly for the champion's -- it lands by arm
    ch, cl = [], []
    for i in range(len(rows)):
        if len(ch) >= 60 and len(cl) >= 60:
            break
        p = predict(stack, name, [rows[i]])
        pid, pred = p["predictions"][0]["id"], int(p["predictions"][0]["prediction"])
        (ch if p["model_version"] == 2 else cl).append((pid, pred))
    ch, cl = ch[:60], cl[:60]
    wait_kept(stack, ch[-1][0])
    wait_kept(stack, cl[-1][0])
    fb = [{"id": pid, "label": pred} for pid, pred in ch] + \
         [{"id": pid, "label": 1 - pred} for pid, pred in cl]
    r = stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": fb})
    assert r.status == 200 and r.json()["accepted"] == 120, r
    # a second label for the same prediction does not count twice in its arm
    r = stack.http("POST", "/api/v1/models/%s/feedback" % name, body={"feedback": fb[:5]})
    assert r.status == 200, r
    t = get(stack, name, test_id)
    a, b = t["arms"]["champion"]["metrics"], t["arms"]["challenger"]["metrics"]
    assert a["feedback_count"] == 60 and a["accuracy"] == 0.0, a
    assert b["feedback_count"] == 60 and b["accuracy"] == 1.0, b
    assert t["test"] == "chi2" and t["p_value"] < 1e-6, t
    assert t["verdict"] == "challenger_better" and t["labelled_predictions"] == 120, t
    stop(stack, name, test_id)


def test_a_clearly_better_challenger_is_promoted_on_stop(stack):
    name = two_versions(stack, clean_first=False)  # the champion learnt shuffled labels
    rows, truth = instances()
    test_id = start(stack, name, {"challenger_version": 2, "traffic_share": 0.5})["id"]
    answered = serve_and_label(stack, name, rows[:300], truth[:300])
    assert 100 <= answered.count(2) <= 200, answered.count(2)
    t = get(stack, name, test_id)
    a, b = t["arms"]["champion"]["metrics"], t["arms"]["challenger"]["metrics"]
    assert a["feedback_count"] == answered.count(1) and b["feedback_count"] == answered.count(2)
    assert b["accuracy"] > 0.9 and a["accuracy"] < 0.75, t
    assert t["verdict"] == "challenger_better" and t["p_value"] < 0.05, t
    assert t["significance_level"] == 0.05, t

    s, event = stop_heard(stack, name, test_id)
    d = s["decision"]
    assert s["status"] == "stopped" and s["stopped_at"], s
    assert d["promoted"] is True and d["test"] == "chi2" and d["metric"] == "accuracy", d
    assert event["promoted"] is True and event["verdict"] == "challenger_better", event
    assert event["champion_version"] == 1 and event["challenger_version"] == 2, event
    assert event["p_value"] == d["p_value"] and event["reason"] == d["reason"], event
    assert d["challenger_version"] == 2 and d["champion_version"] == 1, d
    assert d["p_value"] < 0.05 and d["verdict"] == "challenger_better", d
    assert d["holdout_rows"] == 300 and "promoted" in d["reason"], d
    assert d["arms"]["challenger"]["metrics"]["accuracy"] == b["accuracy"], d
    # the registry's champion moved (alias history: a rollback would undo it), the decision
    # is the model's last, the test is stored stopped, and predictions come from version 2
    i = info(stack, name)
    assert i["champion_version"] == 2 and i["aliases"]["champion"] == 2, i
    assert i["last_decision"]["promoted"] is True and i["last_decision"]["test"] == "chi2", i
    again = get(stack, name, test_id)
    assert again["status"] == "stopped" and again["decision"]["promoted"] is True, again
    assert {predict(stack, name, [rows[0]])["model_version"] for _ in range(20)} == {2}
    assert_error(stack.http("POST", "/api/v1/models/%s/ab-tests/%s/stop" % (name, test_id)),
                 409, "ab_test_stopped")
    # a new test may start once the last stopped (version 1 now challenges version 2)
    t2 = start(stack, name, {"challenger_version": 1})
    assert t2["champion_version"] == 2 and t2["traffic_share"] == 0.1, t2
    # the list: newest first, each test as its own GET shows it; by status
    listed = list_tests(stack, name)
    assert listed["model_name"] == name and listed["total"] == 2, listed
    assert [t["id"] for t in listed["ab_tests"]] == [t2["id"], test_id], listed
    assert listed["ab_tests"][1] == get(stack, name, test_id), listed
    one = get(stack, name, t2["id"])
    assert set(listed["ab_tests"][0]) == set(one) and listed["ab_tests"][0]["status"] == "running"
    assert listed["ab_tests"][0]["verdict"] == one["verdict"] == "insufficient_data", listed
    running = list_tests(stack, name, "?status=running")
    assert [t["id"] for t in running["ab_tests"]] == [t2["id"]] and running["total"] == 1, running
    stopped = list_tests(stack, name, "?status=stopped")
    assert [t["id"] for t in stopped["ab_tests"]] == [test_id], stopped
    stop(stack, name, t2["id"])
    assert list_tests(stack, name, "?status=running") == {"model_name": name, "total": 0,
                                                          "ab_tests": []}
    assert [t["status"] for t in list_tests(stack, name)["ab_tests"]] == ["stopped"] * 2


def test_a_worse_challenger_is_not_promoted(stack):
    name = two_versions(stack, clean_first=True)  # the challenger learnt shuffled labels
    rows, truth = instances()
    test_id = start(stack, name, {"challenger_version": 2, "traffic_share": 0.5})["id"]
    serve_and_label(stack, name, rows[:300], truth[:300])
    s, event = stop_heard(stack, name, test_id)
    d = s["decision"]
    assert d["promoted"] is False and d["verdict"] == "champion_better", d
    assert event["promoted"] is False and event["verdict"] == "champion_better", event
    assert d["champion_metric"] > d["challenger_metric"] and d["p_value"] < 0.05, d
    assert "champion stays" in d["reason"], d
    i = info(stack, name)
    assert i["champion_version"] == 1 and i["last_decision"]["promoted"] is False, i
    assert {predict(stack, name, [rows[0]])["model_version"] for _ in range(20)} == {1}


def test_regression_arms_compare_squared_errors_with_welch(stack):
    diamonds = ("ggplot2_diamonds", "diamonds.csv")
    # the champion learnt shuffled prices, the challenger true ones (first 3000 rows)
    name = two_versions(stack, False, diamonds, "price", rows_used=3000)
    rows, truth = instances(diamonds, "price")
    t = start(stack, name, {"challenger_version": 2, "traffic_share": 0.5})
    assert t["metric"] == "rmse", t
    answered = serve_and_label(stack, name, rows[3000:3300], truth[3000:3300], "value")
    t = get(stack, name, t["id"])
    a, b = t["arms"]["champion"]["metrics"], t["arms"]["challenger"]["metrics"]
    assert a["task"] == b["task"] == "regression", t
    assert a["feedback_count"] == answered.count(1) and b["feedback_count"] == answered.count(2)
    assert b["rmse"] < a["rmse"] / 2 and t["test"] == "welch_t", t
    assert t["p_value"] < 0.05 and t["verdict"] == "challenger_better", t
    d = stop(stack, name, t["id"])["decision"]
    assert d["promoted"] is True and d["metric"] == "rmse" and d["test"] == "welch_t", d
    assert abs(d["challenger_metric"] - b["rmse"]) < 1e-9, (d, b)
    assert info(stack, name)["champion_version"] == 2


def test_bad_ab_test_requests(stack):
    name = two_versions(stack, clean_first=True)

    def bad(field, body):
        e = assert_error(stack.http("POST", "/api/v1/models/%s/ab-tests" % name, body=body),
                         422, "invalid_request")
        assert e["details"]["field"] == field, e

    bad("challenger_version", {})
    bad("challenger_version", {"challenger_version": "2"})
    bad("challenger_version", {"challenger_version": 0})
    bad("challenger_version", {"challenger_version": 1})  # the champion itself
    bad("traffic_share", {"challenger_version": 2, "traffic_share": 0})
    bad("traffic_share", {"challenger_version": 2, "traffic_share": 1})
    bad("traffic_share", {"challenger_version": 2, "traffic_share": "half"})
    assert_error(stack.http("POST", "/api/v1/models/%s/ab-tests" % name, body=b"{",
                            headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert_error(stack.http("POST", "/api/v1/models/nope-%s/ab-tests" % uuid.uuid4().hex[:6],
                            body={"challenger_version": 2}), 404, "model_not_found")
    e = assert_error(stack.http("POST", "/api/v1/models/%s/ab-tests" % name,
                                body={"challenger_version": 9}), 404, "version_not_found")
    assert e["details"]["version"] == 9, e
    assert_error(stack.http("GET", "/api/v1/models/%s/ab-tests/999999" % name), 404,
                 "ab_test_not_found")
    assert_error(stack.http("GET", "/api/v1/models/%s/ab-tests/x" % name), 422,
                 "invalid_parameter")
    assert_error(stack.http("POST", "/api/v1/models/%s/ab-tests/999999/stop" % name), 404,
                 "ab_test_not_found")
    # the list: none yet; an unknown model; a status that is neither
    assert list_tests(stack, name) == {"model_name": name, "total": 0, "ab_tests": []}
    assert_error(stack.http("GET", "/api/v1/models/nope-%s/ab-tests" % uuid.uuid4().hex[:6]),
                 404, "model_not_found")
    e = assert_error(stack.http("GET", "/api/v1/models/%s/ab-tests?status=done" % name), 422,
                     "invalid_parameter")
    assert e["details"]["field"] == "status", e
    # an unknown model is model_not_found; another model's test is not found under its name
    other = start(stack, name, {"challenger_version": 2})
    assert_error(stack.http("GET", "/api/v1/models/other-%s/ab-tests/%d" % (name, other["id"])),
                 404, "model_not_found")
    name2 = two_versions(stack, clean_first=True)
    assert_error(stack.http("GET", "/api/v1/models/%s/ab-tests/%d" % (name2, other["id"])),
                 404, "ab_test_not_found")
    assert_error(stack.http("POST", "/api/v1/models/%s/ab-tests/%d/stop" % (name2, other["id"])),
                 404, "ab_test_not_found")
    s = stop(stack, name, other["id"])
    assert s["decision"]["promoted"] is False, s  # no feedback: nothing to promote on
    assert s["decision"]["verdict"] == "insufficient_data", s
