"""Retraining (issue 9) through the gateway: POST /api/v1/models/retrain repeats the
champion's run (learner, target, parameters) on the newest upload of its dataset through
the training queue; when it completes, the challenger and the champion are scored on the
retrain's validation rows and compared (DeLong on AUC for a binary model); the challenger
becomes the champion only when significantly better. GET /api/v1/models/info shows the
stored decision, also published as retrain_decision on /ws/performance. A champion trained on shuffled
labels loses to a retrain on a larger, clean upload of the same file; a retrain on the same
data with the same seed ties and the champion stays. Bad requests answer 422/404."""
import csv
import io
import json
import random
import time
import uuid

import wsclient

from test_gateway import assert_error
from test_train import data, key_headers, train, upload_bytes, wait_run


def read_csv(*parts):
    with open(data(*parts), newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def adult():
    return read_csv("uci_adult", "adult_train.csv")


def to_csv(header, rows):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue().encode()


def retrain(stack, name, expect=202):
    r = stack.http("POST", "/api/v1/models/retrain", body={"model_name": name})
    assert r.status == expect, r
    return r.json()


def info(stack, name):
    r = stack.http("GET", "/api/v1/models/info?model=" + name)
    assert r.status == 200, r
    return r.json()


def champion_run(stack, fid, name, target="income"):
    j = train(stack, fid, target=target, model="gbdt", model_name=name,
              config={"rounds": 30, "seed": 3})
    done = wait_run(stack, j["run_id"])
    assert done["status"] == "completed" and done["model_version"] == 1, done
    return done


def test_retrain_on_a_newer_upload_promotes_a_clearly_better_challenger(stack):
    header, rows = adult()
    rng = random.Random(11)
    small = rng.sample(rows, 400)
    labels = [r[-1] for r in small]
    rng.shuffle(labels)  # the champion learns noise
    noisy = [r[:-1] + [y] for r, y in zip(small, labels)]
    filename = "adult-retrain-%s.csv" % uuid.uuid4().hex[:8]
    name = "retrain-better-" + uuid.uuid4().hex[:8]
    fid_old = upload_bytes(stack, to_csv(header, noisy), filename)
    first = champion_run(stack, fid_old, name)
    # a newer upload of the same file: more rows, true labels
    fid_new = upload_bytes(stack, to_csv(header, rows[:8000]), filename)
    assert fid_new != fid_old
    assert info(stack, name)["last_decision"] is None

    wait_relay(stack)
    ws = wsclient.WebSocket(stack.port, "/ws/performance", headers=key_headers(stack), timeout=5)
    try:
        started = retrain(stack, name)
        assert started["champion_version"] == 1 and started["file_id"] == fid_new, started
        assert started["model"] == "gbdt" and started["params"] == first["params"], started
        done = wait_run(stack, started["run_id"])
        assert done["status"] == "completed" and done["model_version"] == 2, done
        assert done["dataset_id"] == fid_new and done["params"] == first["params"], done
        assert done["tags"] == {"retrain_of": name, "champion_version": "1"}, done
        event = wait_event(ws, lambda m: m.get("type") == "retrain_decision" and
                           m.get("model_name") == name)
    finally:
        ws.close()

    i = info(stack, name)
    d = i["last_decision"]
    assert d["promoted"] is True, d
    assert d["challenger_version"] == 2 and d["champion_version"] == 1, d
    assert d["metric"] == "auc" and d["test"] == "delong", d
    # 20% of 8000 rows held out (valid_fraction's default)
    assert d["holdout_rows"] == done["metrics"]["n_valid"] if "n_valid" in done["metrics"] \
        else 1500 <= d["holdout_rows"] <= 1700, (d, done["metrics"])
    assert d["challenger_metric"] > 0.85 and d["champion_metric"] < 0.7, d
    assert d["p_value"] < 0.05 and d["significance_level"] == 0.05, d
    assert "promoted" in d["reason"] and d["run_id"] == started["run_id"], d
    assert d["decided_at"].endswith("Z"), d
    # the challenger's AUC on its hold-out is the run's own validation AUC
    assert abs(d["challenger_metric"] - done["metrics"]["auc"]) < 1e-9, (d, done["metrics"])
    assert i["champion_version"] == 2 and i["aliases"]["champion"] == 2, i
    assert i["champion"]["version"] == 2 and len(i["versions"]) == 2, i
    assert {k: v for k, v in event.items() if k not in ("type", "model_name")} == d, (event, d)
    # the promotion is in the alias history: a rollback goes back to the old champion
    r = stack.http("POST", "/api/v1/models/%s/rollback" % name, body={})
    assert r.status == 200, r
    assert info(stack, name)["champion_version"] == 1


def wait_relay(stack, timeout=30):
    """The gateway hears the event relay and svc-train's events reach it (readyz does not
    wait for either; after a test that restarted the relay, each side dials it again in its
    own time, and an event published before svc-train's link is back is dropped)."""
    deadline = time.time() + timeout
    while stack.http("GET", "/api/health", auth=False).json()["checks"]["event-relay"] != "up":
        assert time.time() < deadline, "the gateway never connected to the event relay"
        time.sleep(0.1)
    while stack.http("GET", "/api/v1/train/health", auth=False).json()["event_relay"] != "up":
        assert time.time() < deadline, "svc-train never connected to the event relay"
        time.sleep(0.1)


def wait_event(ws, match, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            msg = json.loads(ws.recv())
        except OSError:
            continue
        if match(msg):
            return msg
    raise AssertionError("no such event")


def noisy_then_clean(stack, header, rows, target, n_noisy, n_clean, seed):
    """A champion trained on n_noisy rows with the target shuffled, a clean upload of
    n_clean rows under the same file name, a retrain: its decision and the model's info."""
    rng = random.Random(seed)
    t = header.index(target)
    small = rng.sample(rows, n_noisy)
    labels = [r[t] for r in small]
    rng.shuffle(labels)
    noisy = [r[:t] + [y] + r[t + 1:] for r, y in zip(small, labels)]
    filename = "retrain-%s.csv" % uuid.uuid4().hex[:8]
    name = "retrain-" + uuid.uuid4().hex[:8]
    champion_run(stack, upload_bytes(stack, to_csv(header, noisy), filename), name, target)
    fid = upload_bytes(stack, to_csv(header, rows[:n_clean]), filename)
    started = retrain(stack, name)
    assert started["file_id"] == fid, started
    done = wait_run(stack, started["run_id"])
    assert done["status"] == "completed" and done["model_version"] == 2, done
    return info(stack, name), done


def clean_challenger_promoted(stack, dataset, file, target, sizes, metric, test, holdout_rows,
                              within):
    """noisy_then_clean on dataset/file (sizes: n_noisy, n_clean, seed): the decision compared
    metric with test on holdout_rows rows and promoted the challenger, whose metric is the
    run's own validation metric within within(that metric); the decision."""
    header, rows = read_csv(dataset, file)
    i, done = noisy_then_clean(stack, header, rows, target, *sizes)
    d = i["last_decision"]
    assert d["metric"] == metric and d["test"] == test, d
    assert d["holdout_rows"] == holdout_rows and d["promoted"] is True, d
    run_metric = done["metrics"][metric]
    assert abs(d["challenger_metric"] - run_metric) < within(run_metric), (d, done["metrics"])
    assert d["p_value"] < 0.05 and i["champion_version"] == 2, (d, i)
    return d


def test_retrain_compares_multiclass_accuracy_with_mcnemar(stack):
    d = clean_challenger_promoted(stack, "sklearn_iris", "iris.csv", "species", (60, 150, 5),
                                  "accuracy", "mcnemar", 30, lambda accuracy: 1e-12)
    assert d["challenger_metric"] >= 0.9 and d["champion_metric"] < 0.6, d


def test_retrain_compares_regression_squared_errors_with_a_paired_t_test(stack):
    d = clean_challenger_promoted(stack, "ggplot2_diamonds", "diamonds.csv", "price",
                                  (300, 4000, 9), "rmse", "paired_t", 800, lambda rmse: 1e-6 * rmse)
    assert d["challenger_metric"] < 0.5 * d["champion_metric"], d


def test_retrain_on_the_same_data_ties_and_keeps_the_champion(stack):
    header, rows = adult()
    filename = "adult-retrain-same-%s.csv" % uuid.uuid4().hex[:8]
    name = "retrain-same-" + uuid.uuid4().hex[:8]
    fid = upload_bytes(stack, to_csv(header, rows[:3000]), filename)
    champion_run(stack, fid, name)
    started = retrain(stack, name)
    assert started["file_id"] == fid and started["champion_version"] == 1, started
    done = wait_run(stack, started["run_id"])
    assert done["status"] == "completed" and done["model_version"] == 2, done
    i = info(stack, name)
    d = i["last_decision"]
    assert d["promoted"] is False and d["challenger_version"] == 2, d
    # the same rows, parameters and seed train the same model: equal AUCs, no test possible
    assert d["champion_metric"] == d["challenger_metric"], d
    assert d["p_value"] is None and "undefined" in d["reason"], d
    assert d["holdout_rows"] == 600, d
    assert i["champion_version"] == 1 and i["aliases"]["champion"] == 1, i
    # without ?model= the info is of the model with the newest version
    r = stack.http("GET", "/api/v1/models/info")
    assert r.status == 200 and r.json()["model_name"], r


def test_bad_retrain_and_info_requests(stack):
    for body, field in [({}, "model_name"), ({"model_name": 5}, "model_name"),
                        ({"model_name": ".hidden"}, "model_name"),
                        ({"model_name": "a/b"}, "model_name")]:
        err = assert_error(stack.http("POST", "/api/v1/models/retrain", body=body), 422,
                           "invalid_request")
        assert err["details"]["field"] == field, (body, err)
    name = "no-such-model-" + uuid.uuid4().hex[:8]
    err = assert_error(stack.http("POST", "/api/v1/models/retrain", body={"model_name": name}),
                       404, "model_not_found")
    assert err["details"]["name"] == name, err
    r = stack.http("POST", "/api/v1/models/retrain", body=b"{nope",
                   headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    assert_error(stack.http("GET", "/api/v1/models/info?model=" + name), 404, "model_not_found")
    err = assert_error(stack.http("GET", "/api/v1/models/info?model=.x"), 422,
                       "invalid_parameter")
    assert err["details"]["field"] == "model", err
    # a run is not started for a bad request
    assert all(r_["model_name"] != name for r_ in
               stack.http("GET", "/api/v1/runs?limit=100").json().get("runs", []))
