"""AutoML served by svc-train (issue 13): bad requests name their field; a short search runs
on the training queue with a trial_complete event per trial on /ws/training/{run_id}, its
leaderboard in GET /api/v1/runs/{id}, its model registered as the next version of
model_name and served; a cancelled search keeps the best model so far."""
import json
import time
import uuid

import harness
import wsclient
from test_gateway import assert_error
from test_train import key_headers, predict, run, upload_path, wait_run


def automl(stack, expect=200, **body):
    r = stack.http("POST", "/api/v1/automl", body=body)
    assert r.status == expect, r
    return r


def test_bad_automl_requests_are_422_naming_the_field(stack):
    fid = upload_path(stack, harness.data_file("sklearn_iris", "iris.csv"))

    def bad(field, code="invalid_request", **body):
        r = automl(stack, 422, **body)
        assert_error(r, 422, code)
        assert r.json()["error"]["details"]["field"] == field, r
        return r.json()["error"]["message"]

    bad("file_id", target="species")
    bad("file_id", file_id=str(uuid.uuid4()), target="species")
    assert "no_such" in bad("target", "unknown_target", file_id=fid, target="no_such")
    bad("budget_seconds", file_id=fid, target="species", budget_seconds=0)
    bad("budget_seconds", file_id=fid, target="species", budget_seconds="soon")
    bad("metric", file_id=fid, target="species", metric="precision@k")
    assert "kmeans is not" in bad("models", file_id=fid, target="species", models="gbdt,kmeans")
    bad("models", file_id=fid, target="species", models="ensemble")
    bad("models", file_id=fid, target="species", models=[])
    bad("folds", file_id=fid, target="species", folds=1)
    bad("folds", file_id=fid, target="species", folds=2.5)
    bad("model_name", file_id=fid, target="species", model_name="../x")


def events_until_done(ws, on_trial=None):
    """The trial_complete events and the final event of a run."""
    trials = []
    while True:
        msg = json.loads(ws.recv())
        if msg["type"] == "trial_complete":
            trials.append(msg)
            if on_trial:
                on_trial(msg)
        elif msg["type"] in ("training_complete", "training_failed"):
            return trials, msg


def test_automl_run_events_leaderboard_registry_and_cancel(stack):
    tag = uuid.uuid4().hex[:8]
    csv_path = harness.data_file("sklearn_breast_cancer", "breast_cancer.csv")
    # under its own name: the same bytes are one dataset, named by their first upload, and
    # test_ingest checks the shared files' names
    fid = upload_path(stack, csv_path)
    name = "automl-" + tag
    t0 = time.time()
    r = automl(stack, file_id=fid, target="target", budget_seconds=6, folds=3,
               models="gbdt,linear", model_name=name, seed=3).json()
    assert r["model_name"] == name and r["state"] == "queued", r
    ws = wsclient.WebSocket(stack.port, "/ws/training/" + r["run_id"], headers=key_headers(stack),
                            timeout=120)
    try:
        trials, done = events_until_done(ws)
    finally:
        ws.close()
    assert done["type"] == "training_complete" and done["status"] == "completed", done
    assert len(trials) >= 2, trials
    for t in trials:
        assert t["learner"] in ("gbdt", "linear"), t
        assert t["status"] in ("complete", "pruned", "stopped", "failed"), t
        assert isinstance(t["params"], dict), t
        if t["status"] == "complete":
            assert 0.5 < t["cv_mean"] <= 1 and t["rank"] >= 1 and t["folds"] == 3, t
    assert any(t["status"] == "complete" for t in trials)
    full = run(stack, r["run_id"])
    assert full["model"] == "automl" and full["status"] == "completed", full
    assert [e["trial"] for e in full["leaderboard"]] == [t["trial"] for t in trials], full
    assert full["params"]["budget_seconds"] == 6 and full["params"]["folds"] == 3, full
    best = max(t["cv_mean"] for t in trials if t["status"] == "complete")
    assert full["progress"]["best"]["cv_mean"] == best, full["progress"]["best"]
    # the out-of-fold AUC of what was kept is at least the best single trial's
    ens = full["progress"]["ensemble"]
    assert ens["oof_score"] >= ens["best_single_oof_score"], ens
    assert abs(full["metrics"]["auc"] - ens["oof_score"]) < 1e-9, (full["metrics"], ens)
    v1 = full["model_version"]
    assert v1 >= 1
    # the budget was honoured by the worker (queue and upload aside)
    assert full["progress"]["budget_used_seconds"] <= 6.6, full["progress"]
    # served as any model: probabilities of both classes for every row
    got = predict(stack, name, [{"mean_radius": 17.99, "mean_texture": 10.38}], "?version=%d" % v1)
    p = got["predictions"][0]["probabilities"]
    assert abs(sum(p.values()) - 1) < 1e-9 and set(p) == {"0", "1"}, got

    # a longer search, cancelled after its first trials: the best so far is the next version
    r2 = automl(stack, file_id=fid, target="target", budget_seconds=120, folds=3,
                models="gbdt", model_name=name).json()
    ws = wsclient.WebSocket(stack.port, "/ws/training/" + r2["run_id"],
                            headers=key_headers(stack), timeout=120)
    cancelled = []

    def cancel_once(msg):
        if msg["status"] == "complete" and not cancelled:
            c = stack.http("POST", "/api/v1/runs/%s/cancel" % r2["run_id"], body={})
            assert c.status == 200, c
            cancelled.append(time.time())

    try:
        trials2, done2 = events_until_done(ws, cancel_once)
    finally:
        ws.close()
    assert cancelled and done2["status"] == "canceled", done2
    full2 = wait_run(stack, r2["run_id"], timeout=60)
    assert full2["status"] == "canceled" and full2["model_version"] == v1 + 1, full2
    assert len(full2["leaderboard"]) >= 1 and full2["metrics"]["auc"] > 0.9, full2
    # stopped long before its 120 s budget
    assert full2["progress"]["budget_used_seconds"] < 90, full2["progress"]
    vers = stack.http("GET", "/api/v1/models/%s/versions" % name).json()
    assert {v["version"] for v in vers["versions"]} >= {v1, v1 + 1}, vers
