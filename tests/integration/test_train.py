"""svc-train through the gateway: bad training requests, the upload -> train -> live
progress -> predict flow (checked against `aiops predict` on the downloaded model file), the
registry (versions, aliases, promote, rollback, hot swap), the V2 protocol, prediction
counts in Redis, a worker killed mid-training, exhausted attempts, cancellation, run
listing and comparison."""
import csv
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid

import harness
import wsclient
from test_gateway import assert_error

DATA = None


def data(*parts):
    return harness.data_file(*parts)


def upload_path(stack, path, filename=None):
    with open(path, "rb") as f:
        body = f.read()
    return upload_bytes(stack, body, filename or os.path.basename(path))


def upload_bytes(stack, body, filename):
    r = stack.http("POST", "/api/upload?filename=%s" % filename, body=body,
                   headers={"Content-Type": "text/csv"}, timeout=120)
    assert r.status == 200, r
    return r.json()["file_id"]


def train(stack, file_id, expect=200, **fields):
    body = {"file_id": file_id}
    body.update(fields)
    r = stack.http("POST", "/api/train", body=body)
    assert r.status == expect, r
    return r.json()


def run(stack, run_id):
    # a restarted svc-train is reachable again within moments (the gateway reconnects)
    deadline = time.time() + 15
    r = stack.http("GET", "/api/v1/runs/" + run_id)
    while r.status == 503 and time.time() < deadline:
        time.sleep(0.1)
        r = stack.http("GET", "/api/v1/runs/" + run_id)
    assert r.status == 200, r
    return r.json()


def wait_run(stack, run_id, timeout=240, until=("completed", "failed", "canceled")):
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = run(stack, run_id)
        if j["status"] in until:
            return j
        time.sleep(0.1)
    raise AssertionError("run %s still %s after %ds; train log:\n%s" % (
        run_id, j["status"], timeout, stack.log_tail("train", 60)))


def csv_rows(path):
    """The rows of a CSV as JSON instances: numbers as numbers, NA as null."""
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            inst = {}
            for k, v in row.items():
                if v in ("", "NA"):
                    inst[k] = None
                    continue
                try:
                    inst[k] = float(v) if any(ch in v for ch in ".eE") else int(v)
                except ValueError:
                    inst[k] = v
            out.append(inst)
    return out


def training_events(ws):
    """The messages of a run's WebSocket up to and including training_complete (the caller
    closes ws); training_failed fails the test."""
    while True:
        msg = json.loads(ws.recv())
        if msg["type"] == "training_failed":
            raise AssertionError(msg)
        yield msg
        if msg["type"] == "training_complete":
            return


def shared_run(cache, stack, csv, filename, **fields):
    """One completed run shared by the tests of a file: the first call uploads csv (bytes) as
    filename, trains on it with train's fields and waits; cache (the file's dict) keeps it for
    the next. Its id and the finished run."""
    if "run_id" not in cache:
        j = train(stack, upload_bytes(stack, csv, filename), **fields)
        run = wait_run(stack, j["run_id"])
        assert run["status"] == "completed", run
        cache.update(run_id=j["run_id"], run=run)
    return cache["run_id"], cache["run"]


def running_copy(stack, run_id):
    """The id of a new run copied from run_id (its dataset, learner, target and parameters)
    but still running, written to the database directly."""
    other = str(uuid.uuid4())
    stack.psql("INSERT INTO runs (id, project_id, dataset_id, model_kind, target, model_name,"
               " status, params) SELECT '%s', project_id, dataset_id, model_kind, target,"
               " model_name, 'running', params FROM runs WHERE id = '%s'" % (other, run_id))
    return other


def predict(stack, name, instances, query="", expect=200):
    r = stack.http("POST", "/api/v1/models/%s/predict%s" % (name, query),
                   body={"instances": instances})
    assert r.status == expect, r
    return r.json()


def key_headers(stack):
    return {"X-API-Key": stack.api_key}


# --- bad requests -------------------------------------------------------------------------

def test_bad_training_requests_are_422_naming_the_field(stack):
    fid = upload_path(stack, data("sklearn_iris", "iris.csv"))

    def bad(field, code="invalid_request", **body):
        r = stack.http("POST", "/api/train", body=body)
        assert_error(r, 422, code)
        assert r.json()["error"]["details"]["field"] == field, r
        return r.json()["error"]["message"]

    bad("model", file_id=fid, target="species", model="deep-forest")
    # a target that names no column is unknown_target, as at upload and profile
    assert "no_such_column" in bad("target", "unknown_target", file_id=fid,
                                   target="no_such_column")
    bad("file_id", target="species")
    bad("file_id", file_id=str(uuid.uuid4()), target="species")
    bad("file_id", file_id="not-a-uuid", target="species")
    msg = bad("epochs", file_id=fid, target="species", config={"epochs": 0})
    assert "epochs" in msg
    bad("rounds", file_id=fid, target="species", config={"rounds": -3})
    bad("learning_rate", file_id=fid, target="species", config={"learning_rate": "fast"})
    bad("max_bin", file_id=fid, target="species", config={"max_bin": 1})
    bad("colsample", file_id=fid, target="species", config={"colsample": 1.5})
    bad("no_such_param", file_id=fid, target="species", config={"no_such_param": 1})
    bad("max_iter", file_id=fid, target="species", model="rf", config={"max_iter": 10})
    bad("config", file_id=fid, target="species", config=[1, 2])
    bad("model_name", file_id=fid, target="species", model_name="../etc")
    bad("task", file_id=fid, target="species", task="clustering")
    # what the dataset's columns already show would fail in the queue
    assert "petal_x" in bad("features", file_id=fid, target="species",
                            config={"features": ["sepal_length_cm", "petal_x"]})
    bad("features", file_id=fid, target="species", config={"features": ["species"]})
    bad("exclude", file_id=fid, target="species", config={"exclude": ["nope"]})
    cols = ["sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm"]
    bad("exclude", file_id=fid, target="species", config={"exclude": cols})
    bad("class_weight", file_id=fid, target="species", config={"class_weight": "nonsense"})
    bad("class_weight", file_id=fid, target="species", config={"class_weight": "setosa:-1"})
    assert "numeric" in bad("task", file_id=fid, target="species", task="regression")
    # types are types: no coercion, no silent ignoring
    bad("target", file_id=fid, target=5)
    bad("model", file_id=fid, target="species", model=3)
    bad("rounds", file_id=fid, target="species", config={"rounds": "10"})
    bad("seed", file_id=fid, target="species", config={"seed": True})
    bad("tags", file_id=fid, target="species", tags={"team": {"nested": 1}})
    # 0 rows: a file with a header only is refused at upload; a dataset whose target has
    # no value in any row is refused at training
    r = stack.http("POST", "/api/upload?filename=empty.csv", body=b"a,b,label\n",
                   headers={"Content-Type": "text/csv"})
    assert_error(r, 400, "empty_file")
    unlabelled = upload_bytes(stack, b"a,b,label\n1,2,\n3,4,\n5,6,\n",
                              "unlabelled-%s.csv" % uuid.uuid4().hex[:6])
    assert "0 rows" in bad("target", file_id=unlabelled, target="label")
    # nothing was queued by any of them
    assert stack.psql("SELECT count(*) FROM runs WHERE dataset_id = '%s'" % fid) == [["0"]]
    # a parameter of the seed's neural network is accepted and reported as ignored
    j = train(stack, fid, target="species", config={"epochs": 3, "batch_size": 32})
    done = wait_run(stack, j["run_id"])
    assert done["status"] == "completed", done
    # a class_weight naming a class the target lacks is found only once training: the run
    # fails with the reason
    j = train(stack, fid, target="species", config={"class_weight": "martian:2"})
    done = wait_run(stack, j["run_id"])
    assert done["status"] == "failed" and "class_weight" in done["error"], done


# --- the whole flow --------------------------------------------------------------------------

def test_upload_train_watch_predict_matches_cli(stack):
    tag = uuid.uuid4().hex[:8]
    adult = upload_path(stack, data("uci_adult", "adult_train.csv"), "adult-%s.csv" % tag)
    penguins_csv = data("palmerpenguins_penguins", "penguins.csv")
    peng = upload_path(stack, penguins_csv, "penguins-%s.csv" % tag)
    # the first run keeps the single worker busy, so the second is still queued when its
    # WebSocket subscribes: the client then sees every one of its iterations
    a = train(stack, adult, target="income", model="gbdt", config={"rounds": 60, "max_depth": 6},
              model_name="adult-" + tag)
    assert a["status"] == "training" and a["model_name"] == "adult-" + tag, a
    b = train(stack, peng, target="species", model="gbdt",
              config={"epochs": 25, "learning_rate": 0.2})
    # the default model name is the dataset's file name (the first upload of these bytes)
    fname = stack.http("GET", "/api/v1/datasets/" + peng).json()["filename"]
    assert b["model_name"] == fname[:-4], (b, fname)
    ws = wsclient.WebSocket(stack.port, "/ws/training/" + b["run_id"],
                            headers=key_headers(stack), timeout=240)
    st = stack.http("GET", "/api/train/status/" + b["run_id"]).json()
    assert st["state"] == "queued", ("the run started before its WebSocket subscribed", st)
    seen, types, complete = [], [], None
    try:
        for msg in training_events(ws):
            types.append(msg["type"])
            assert msg["run_id"] == b["run_id"] if "run_id" in msg else True
            if msg["type"] == "epoch_update":
                assert set(msg["metrics"]) >= {"train_loss", "val_loss", "train_accuracy",
                                               "val_accuracy"}, msg
                assert msg["total_epochs"] == 25, msg
                seen += [e["epoch"] for e in msg["epochs"]]
                assert msg["epoch"] == msg["epochs"][-1]["epoch"], msg
            elif msg["type"] == "training_complete":
                complete = msg
    finally:
        ws.close()
    assert seen == list(range(1, 26)), seen
    assert "log" in types
    # batched: far fewer messages than iterations is allowed, more is not
    assert types.count("epoch_update") <= 25
    st = stack.http("GET", "/api/train/status/" + b["run_id"]).json()
    assert st["status"] == "completed" and st["current_epoch"] == 25 and st["total_epochs"] == 25, st
    assert 0 < st["metrics"]["val_accuracy"] <= 1, st
    full = run(stack, b["run_id"])
    assert complete["metrics"] == full["metrics"], (complete, full)
    assert full["metrics"]["accuracy"] > 0.9, full
    # the same bytes uploaded earlier are the same dataset, so the name may have versions
    assert full["task"] == "multiclass" and full["model_version"] >= 1, full
    ver = full["model_version"]
    assert full["params"]["rounds"] == 25 and full["dataset_id"] == peng, full
    # the metric history holds every iteration
    h = stack.http("GET", "/api/v1/runs/%s/metrics?key=val_loss" % b["run_id"]).json()
    assert [p["step"] for p in h["history"]] == list(range(1, 26)), h
    assert h["total"] == 25
    # the binary run finished as well, with a sensible AUC on its held-out rows
    ra = wait_run(stack, a["run_id"])
    assert ra["status"] == "completed" and ra["metrics"]["auc"] > 0.9, ra
    lst = stack.http("GET", "/api/train/runs").json()
    mine = [r for r in lst if r["run_id"] in (a["run_id"], b["run_id"])]
    assert len(mine) == 2 and all(r["status"] == "completed" for r in mine), mine
    assert set(mine[0]) >= {"run_id", "created_at", "status", "accuracy", "file_id"}

    # predictions from the service equal the command line's on the downloaded model file
    name = b["model_name"]
    art = stack.http("GET", "/api/v1/models/%s/versions/%d/artifact" % (name, ver))
    assert art.status == 200 and art.body[:8] == b"AIOPSMDL", art
    with tempfile.TemporaryDirectory() as d:
        mpath = os.path.join(d, "m.aiops")
        with open(mpath, "wb") as f:
            f.write(art.body)
        ppath = os.path.join(d, "pred.csv")
        subprocess.run([os.path.join(stack.bin, "aiops"), "predict", mpath, penguins_csv,
                        "--out", ppath], check=True, capture_output=True, env=stack.env)
        with open(ppath, newline="") as f:
            cli = list(csv.DictReader(f))
    instances = csv_rows(penguins_csv)
    for inst in instances:
        inst.pop("species")
    got = predict(stack, name, instances, "?version=%d" % ver)
    assert got["model_name"] == name and got["model_version"] == ver
    assert len(got["predictions"]) == len(cli) == 344
    for p, c in zip(got["predictions"], cli):
        assert p["prediction"] == c["prediction"], (p, c)
        for cls, prob in p["probabilities"].items():
            assert abs(prob - float(c["p_" + cls])) <= 1e-12, (p, c)


# --- registry and serving ---------------------------------------------------------------------

def train_version(stack, fid, name, **config):
    j = train(stack, fid, target="target", model="gbdt", model_name=name, config=config)
    done = wait_run(stack, j["run_id"])
    assert done["status"] == "completed", done
    return done["model_version"]


def test_registry_versions_aliases_promote_rollback_and_hot_swap(stack):
    name = "cancer-" + uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("sklearn_breast_cancer", "breast_cancer.csv"))
    assert train_version(stack, fid, name, rounds=5) == 1
    assert train_version(stack, fid, name, rounds=40) == 2
    v = stack.http("GET", "/api/v1/models/%s/versions" % name).json()
    assert [x["version"] for x in v["versions"]] == [2, 1], v
    assert v["aliases"] == {"champion": 1}, v  # the first version is the champion
    assert v["versions"][1]["aliases"] == ["champion"] and len(v["versions"][0]["sha256"]) == 64
    models = stack.http("GET", "/api/v1/models").json()["models"]
    mine = [m for m in models if m["name"] == name][0]
    assert mine["versions"] == 2 and mine["latest_version"] == 2 and mine["task"] == "binary"
    rows = csv_rows(data("sklearn_breast_cancer", "breast_cancer.csv"))
    for r in rows:
        r.pop("target")
    assert predict(stack, name, rows[:3])["model_version"] == 1
    assert predict(stack, name, rows[:3], "?version=2")["model_version"] == 2
    # hot swap: predictions keep answering 200 while the champion flips back and forth
    stop, failures, answered = threading.Event(), [], [0]

    def hammer():
        while not stop.is_set():
            r = stack.http("POST", "/api/v1/models/%s/predict" % name, body={"instances": rows[:5]})
            if r.status != 200:
                failures.append(r)
            answered[0] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            r = stack.http("POST", "/api/v1/models/%s/promote" % name,
                           body={"version": 2 if i % 2 == 0 else 1})
            assert r.status == 200, r
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures and answered[0] > 10, (failures[:3], answered)
    # the last promotion made 1 champion again; promote 2 and it serves at once
    r = stack.http("POST", "/api/v1/models/%s/promote" % name, body={"version": 2}).json()
    assert r["version"] == 2 and r["previous_version"] == 1 and r["aliases"]["champion"] == 2, r
    assert predict(stack, name, rows[:2])["model_version"] == 2
    # rollback walks back through the promotions
    r = stack.http("POST", "/api/v1/models/%s/rollback" % name, body={})
    assert r.status == 200 and r.json()["version"] == 1, r
    assert predict(stack, name, rows[:2])["model_version"] == 1
    # an unknown model is said to be unknown, not to lack the alias
    for path in ["/api/v1/models/no-such-model/rollback"]:
        err = assert_error(stack.http("POST", path, body={}), 404, "model_not_found")
        assert err["details"]["name"] == "no-such-model", err
    assert_error(stack.http("DELETE", "/api/v1/models/no-such-model/aliases/champion"), 404,
                 "model_not_found")
    assert_error(stack.http("POST", "/api/v1/models/%s/rollback" % name,
                            body={"alias": "nobody"}), 404, "alias_not_found")
    # aliases of any name
    r = stack.http("POST", "/api/v1/models/%s/aliases" % name,
                   body={"alias": "challenger", "version": 2})
    assert r.status == 200, r
    assert predict(stack, name, rows[:2], "?alias=challenger")["model_version"] == 2
    assert_error(stack.http("POST", "/api/v1/models/%s/aliases" % name,
                            body={"alias": "bad alias!", "version": 2}), 422, "invalid_request")
    assert_error(stack.http("POST", "/api/v1/models/%s/aliases" % name,
                            body={"alias": "x", "version": 9}), 404, "version_not_found")
    err = assert_error(stack.http("POST", "/api/v1/models/%s/promote" % name,
                                  body={"version": 0}), 422, "invalid_request")
    assert err["details"]["field"] == "version", err
    assert err["message"] == "version must be a whole number from 1 to 1000000000", err
    # a version in the query or the path: invalid_parameter, the same words
    err = assert_error(stack.http("POST", "/api/v1/models/%s/predict?version=abc" % name,
                                  body={"instances": rows[:1]}), 422, "invalid_parameter")
    assert err["details"]["field"] == "version", err
    assert err["message"] == "version must be a whole number from 1 to 1000000000", err
    err = assert_error(stack.http("GET", "/api/v1/models/%s/versions/x/artifact" % name), 422,
                       "invalid_parameter")
    assert err["details"]["field"] == "version", err
    r = stack.http("DELETE", "/api/v1/models/%s/aliases/challenger" % name)
    assert r.status == 200, r
    assert_error(stack.http("POST", "/api/v1/models/%s/predict?alias=challenger" % name,
                            body={"instances": rows[:1]}), 404, "alias_not_found")
    assert_error(stack.http("POST", "/api/v1/models/%s/predict?version=7" % name,
                            body={"instances": rows[:1]}), 404, "version_not_found")
    assert_error(stack.http("POST", "/api/v1/models/no-such-model/predict",
                            body={"instances": rows[:1]}), 404, "model_not_found")
    hist = stack.psql("SELECT action, coalesce(from_version, 0), coalesce(to_version, 0) FROM "
                      "model_alias_history WHERE name = '%s' AND alias = 'champion' ORDER BY id"
                      % name)
    assert hist[0] == ["register", "0", "1"] and hist[-1] == ["rollback", "2", "1"], hist

    # the Open Inference Protocol (V2)
    meta = stack.http("GET", "/v2/models/" + name).json()
    assert meta["name"] == name and meta["versions"] == ["1", "2"], meta
    assert len(meta["inputs"]) == 30 and meta["outputs"][1]["shape"] == [-1, 2], meta
    ready = stack.http("GET", "/v2/models/%s/ready" % name)
    assert ready.status == 200 and ready.json()["ready"] is True, ready
    assert stack.http("GET", "/v2/models/nope/ready").status == 404
    feats = [i["name"] for i in meta["inputs"]]
    by_col = {"id": "r1", "inputs": [
        {"name": f, "shape": [3], "datatype": "FP64", "data": [r[f] for r in rows[:3]]}
        for f in feats]}
    r = stack.http("POST", "/v2/models/%s/infer" % name, body=by_col)
    assert r.status == 200, r
    out = r.json()
    assert out["id"] == "r1" and out["model_version"] == "1", out
    pred = [o for o in out["outputs"] if o["name"] == "predict"][0]
    proba = [o for o in out["outputs"] if o["name"] == "probabilities"][0]
    assert pred["shape"] == [3] and proba["shape"] == [3, 2], out
    rest = predict(stack, name, rows[:3])["predictions"]
    assert pred["data"] == [p["prediction"] for p in rest]
    matrix = {"inputs": [{"name": "x", "shape": [3, 30], "datatype": "FP64",
                          "data": [[r[f] for f in feats] for r in rows[:3]]}]}
    r = stack.http("POST", "/v2/models/%s/versions/2/infer" % name, body=matrix)
    assert r.status == 200 and r.json()["model_version"] == "2", r
    assert_error(stack.http("POST", "/v2/models/%s/infer" % name,
                            body={"inputs": [{"name": "x", "shape": [2, 5], "datatype": "FP64",
                                              "data": [0] * 10}]}), 422, "invalid_request")
    assert_error(stack.http("POST", "/v2/models/%s/infer" % name,
                            body={"inputs": [{"name": "nope", "shape": [1], "datatype": "FP64",
                                              "data": [1]}]}), 422, "invalid_request")
    # datatypes as the Open Inference Protocol defines them, and what each holds
    one = [{"name": f, "shape": [1], "datatype": "FP64", "data": [rows[0][f]]} for f in feats]
    for change, field in [({"datatype": "WAT"}, "datatype"),
                          ({"datatype": "BYTES"}, "datatype"),
                          ({"datatype": "INT8", "data": [300]}, "datatype"),
                          ({"datatype": "BOOL", "data": [1]}, "datatype"),
                          ({"data": ["1.5"]}, "datatype"),
                          ({"shape": [1.5]}, "shape"),
                          ({"shape": [2]}, "shape")]:
        inputs = [dict(one[0], **change)] + one[1:]
        r = stack.http("POST", "/v2/models/%s/infer" % name, body={"inputs": inputs})
        err = assert_error(r, 422, "invalid_request")
        assert err["details"]["field"] == field, (change, err)
    short = [dict(i, shape=[2], data=[i["data"][0]]) for i in one]
    err = assert_error(stack.http("POST", "/v2/models/%s/infer" % name, body={"inputs": short}),
                       422, "invalid_request")
    assert err["details"]["field"] == "data", err
    ok = [dict(i, datatype="FP32") for i in one]
    assert stack.http("POST", "/v2/models/%s/infer" % name, body={"inputs": ok}).status == 200
    live = stack.http("GET", "/v2/health/live", auth=False)
    assert live.status == 200, live


def test_predict_rows_missing_unseen_and_wrong_types(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("palmerpenguins_penguins", "penguins.csv"), "pg-%s.csv" % tag)
    name = "pg-" + tag
    j = train(stack, fid, target="species", model="gbdt", config={"rounds": 10}, model_name=name)
    assert wait_run(stack, j["run_id"])["status"] == "completed"
    good = {"island": "Biscoe", "bill_length_mm": 45.1, "bill_depth_mm": 14.5,
            "flipper_length_mm": 215, "body_mass_g": 5000, "sex": "female", "year": 2008}
    # documented defaults: a missing column or null is a missing value; an unseen category
    # is treated as missing too (trees send it the learned default way)
    partial = dict(good)
    del partial["sex"]
    unseen = dict(good, island="Atlantis")
    out = predict(stack, name, [good, partial, unseen, dict(good, sex=None), {}])
    assert len(out["predictions"]) == 5
    for p in out["predictions"]:
        assert p["prediction"] in ("Adelie", "Chinstrap", "Gentoo"), p
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-9, p
    assert out["predictions"][0]["prediction"] == "Gentoo"
    # a single row as an object
    one = stack.http("POST", "/api/v1/models/%s/predict" % name, body={"instances": good}).json()
    assert one["predictions"][0]["prediction"] == "Gentoo", one
    # wrong types are named by row and column
    r = stack.http("POST", "/api/v1/models/%s/predict" % name,
                   body={"instances": [good, dict(good, bill_length_mm="long"),
                                       dict(good, island=[1])]})
    assert_error(r, 422, "invalid_instances")
    errs = r.json()["error"]["details"]["errors"]
    assert {(e["row"], e["column"]) for e in errs} == {(1, "bill_length_mm"), (2, "island")}, errs
    for body in ({"instances": []}, {"instances": 3}, {"rows": [good]}, {"instances": [1, 2]}):
        r = stack.http("POST", "/api/v1/models/%s/predict" % name, body=body)
        assert r.status == 422, (body, r)
    r = stack.http("POST", "/api/v1/models/%s/predict" % name, body=b"{not json",
                   headers={"Content-Type": "application/json"})
    err = assert_error(r, 400, "invalid_json")
    # where it went wrong, as every parser says it
    d = err["details"]
    assert d["offset"] == 1 and d["line"] == 1 and d["column"] == 2 and d["reason"], err
    # the same answer from the tree reader of the other routes
    r = stack.http("POST", "/api/v1/models/%s/promote" % name, body=b"{not json",
                   headers={"Content-Type": "application/json"})
    err = assert_error(r, 400, "invalid_json")
    d = err["details"]
    assert d["offset"] == 1 and d["line"] == 1 and d["column"] == 2 and d["reason"], err
    # every prediction is counted in Redis by the background flusher
    deadline = time.time() + 10
    while time.time() < deadline:
        got = stack.redis("HGET", "aiops:predictions:default:" + name, "requests")
        if got and got[0] and int(got[0]) >= 2:
            break
        time.sleep(0.2)
    fields = dict(zip(*[iter(stack.redis("HGETALL", "aiops:predictions:default:" + name))] * 2))
    assert int(fields["requests"]) >= 2 and int(fields["rows"]) >= 6, fields
    assert int(fields["errors"]) >= 1 and int(fields["latency_us"]) > 0, fields
    lat = dict(zip(*[iter(stack.redis("HGETALL", "aiops:predictions:default:%s:latency" % name))] * 2))
    assert int(lat["le_+Inf"]) == int(fields["requests"]), (lat, fields)


# --- durability -------------------------------------------------------------------------------

def long_run(stack, fid, rounds, name):
    j = train(stack, fid, target="income", model="gbdt", model_name=name,
              config={"rounds": rounds, "max_depth": 8, "learning_rate": 0.02})
    deadline = time.time() + 120
    while time.time() < deadline:
        r = run(stack, j["run_id"])
        if r["status"] == "running" and r["current_epoch"] >= 2:
            return j["run_id"]
        assert r["status"] in ("queued", "running"), r
        time.sleep(0.05)
    raise AssertionError("the run did not start: %r" % (r,))


def test_killed_worker_job_is_taken_over_and_nothing_is_lost(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("uci_adult", "adult_train.csv"), "adultk-%s.csv" % tag)
    name = "killed-" + tag
    run_id = long_run(stack, fid, 400, name)
    # predictions and health keep answering promptly while the model trains
    t0 = time.time()
    assert stack.http("GET", "/api/health").status == 200
    assert time.time() - t0 < 2
    ws = wsclient.WebSocket(stack.port, "/ws/training/" + run_id, headers=key_headers(stack),
                            timeout=600)
    reached = run(stack, run_id)["current_epoch"]
    stack.kill("train")  # SIGKILL: no chance to hand the job back
    assert stack.psql("SELECT status FROM runs WHERE id = '%s'" % run_id) == [["running"]]
    stack.start("train")
    # the watcher is told the run starts over, before its epochs start again from 1
    try:
        seen = []
        while True:
            msg = json.loads(ws.recv())
            seen.append(msg["type"])
            if msg["type"] == "training_restarted":
                assert msg["attempt"] == 2 and msg["previous_epoch"] >= reached, msg
                assert msg["restart_epoch"] == 0 and msg["run_id"] == run_id, msg
                break
            assert msg["type"] in ("epoch_update", "log"), msg
        msg = json.loads(ws.recv())
        assert msg["type"] == "log" and "restarted" in msg["message"], msg
    finally:
        ws.close()
    done = wait_run(stack, run_id, timeout=600)
    assert done["status"] == "completed", done
    jobs = stack.psql("SELECT attempts, status FROM jobs WHERE run_id = '%s'" % run_id)
    assert jobs == [["2", "done"]], jobs
    versions = stack.psql("SELECT version FROM model_versions WHERE run_id = '%s'" % run_id)
    assert versions == [["1"]], versions
    h = stack.http("GET", "/api/v1/runs/%s/metrics?key=train_loss&limit=25000" % run_id).json()
    assert [p["step"] for p in h["history"]] == list(range(1, done["current_epoch"] + 1))


def test_exhausted_attempts_fail_the_run_with_the_reason(stack):
    fid = upload_path(stack, data("sklearn_iris", "iris.csv"))
    rid = str(uuid.uuid4())
    # a run whose job's worker died on its last attempt (lease long expired)
    stack.psql("INSERT INTO runs (id, project_id, dataset_id, model_kind, target, model_name, "
               "status, params) VALUES ('%s', 'default', '%s', 'gbdt', 'species', 'iris', "
               "'running', '{}'); INSERT INTO jobs (kind, run_id, project_id, status, attempts, "
               "max_attempts, worker, lease_until) VALUES ('train', '%s', 'default', 'running', "
               "3, 3, 'gone:1:0', now() - interval '1 minute')" % (rid, fid, rid))
    done = wait_run(stack, rid, timeout=30)
    assert done["status"] == "failed" and "3 attempts" in done["error"], done
    assert stack.psql("SELECT status FROM jobs WHERE run_id = '%s'" % rid) == [["failed"]]


def test_cancel_queued_and_running_runs(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("uci_adult", "adult_train.csv"), "adultc-%s.csv" % tag)
    running = long_run(stack, fid, 3000, "cancel-" + tag)
    queued = train(stack, fid, target="income", model="linear", model_name="cancel2-" + tag)["run_id"]
    ws = wsclient.WebSocket(stack.port, "/ws/training/" + running, headers=key_headers(stack),
                            timeout=60)
    try:
        r = stack.http("POST", "/api/v1/runs/%s/cancel" % queued, body={})
        assert r.status == 200 and r.json()["status"] == "canceled", r
        r = stack.http("POST", "/api/v1/runs/%s/cancel" % running, body={})
        assert r.status == 200 and r.json()["cancel_requested"] is True, r
        while True:
            msg = json.loads(ws.recv())
            if msg["type"] == "training_failed":
                assert msg["status"] == "canceled", msg
                break
    finally:
        ws.close()
    assert wait_run(stack, running, timeout=30)["status"] == "canceled"
    assert run(stack, queued)["status"] == "canceled"
    r = stack.http("POST", "/api/v1/runs/%s/cancel" % running, body={})
    assert r.status == 200, r  # already canceled: idempotent
    assert_error(stack.http("POST", "/api/v1/runs/%s/cancel" % uuid.uuid4(), body={}), 404,
                 "run_not_found")


def test_runs_list_filters_pages_compares_and_tags(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("sklearn_wine", "wine.csv"), "wine-%s.csv" % tag)
    ids = []
    for kind, cfg in (("gbdt", {"rounds": 10}), ("rf", {"rounds": 10}), ("linear", {})):
        ids.append(train(stack, fid, target="cultivar", model=kind, config=cfg, tags={"team": "ops"})["run_id"])
    for i in ids:
        assert wait_run(stack, i)["status"] == "completed"
    page = stack.http("GET", "/api/v1/runs?dataset_id=%s&limit=2" % fid).json()
    assert page["total"] == 3 and len(page["runs"]) == 2 and page["limit"] == 2, page
    rest = stack.http("GET", "/api/v1/runs?dataset_id=%s&limit=2&offset=2" % fid).json()
    assert {r["run_id"] for r in page["runs"] + rest["runs"]} == set(ids)
    # newest first, and in the order of the pages; a page past the end still says the total
    assert [r["run_id"] for r in page["runs"] + rest["runs"]] == ids[::-1]
    past = stack.http("GET", "/api/v1/runs?dataset_id=%s&limit=2&offset=10" % fid).json()
    assert past["runs"] == [] and past["total"] == 3, past
    rf = stack.http("GET", "/api/v1/runs?dataset_id=%s&model=rf" % fid).json()
    assert [r["run_id"] for r in rf["runs"]] == [ids[1]], rf
    # a query parameter out of range: invalid_parameter naming it, worded as everywhere
    err = assert_error(stack.http("GET", "/api/v1/runs?limit=0"), 422, "invalid_parameter")
    assert err["details"]["field"] == "limit", err
    assert err["message"] == "limit must be a whole number from 1 to 1000", err
    cmp_ = stack.http("GET", "/api/v1/runs/compare?ids=" + ",".join(ids)).json()
    assert [r["run_id"] for r in cmp_["runs"]] == ids
    assert len(cmp_["metrics"]["accuracy"]) == 3 and cmp_["params"]["rounds"][2] is None, cmp_
    r = stack.http("POST", "/api/v1/runs/%s/tags" % ids[0], body={"reviewed": "yes"}).json()
    assert r["tags"] == {"team": "ops", "reviewed": "yes"}, r
    assert_error(stack.http("POST", "/api/v1/runs/%s/tags" % ids[0], body={"n": 1}), 422,
                 "invalid_request")
    assert_error(stack.http("GET", "/api/v1/runs/" + str(uuid.uuid4())), 404, "run_not_found")


def test_training_socket_of_an_unknown_or_foreign_run_is_refused_before_the_upgrade(stack):
    fid = upload_bytes(stack, b"x,y\n" + b"".join(b"%d,%d\n" % (i, i % 2) for i in range(40)),
                       "ws-%s.csv" % uuid.uuid4().hex[:8])
    r = train(stack, fid, target="y", model="gbdt", config={"rounds": 3})
    wait_run(stack, r["run_id"])
    for bad in [str(uuid.uuid4()), "not-a-uuid", "%00"]:
        try:
            wsclient.WebSocket(stack.port, "/ws/training/" + bad, headers=key_headers(stack))
            raise AssertionError("upgraded for run %r" % bad)
        except wsclient.HandshakeError as e:
            assert e.status in (400, 404), (bad, e)
            assert e.status == 400 or json.loads(e.body)["error"]["code"] == "run_not_found", e
    # another project's run is not even said to exist
    other = json.loads(stack.admin("key", "create", "--project", "ws-other"))["key"]
    try:
        wsclient.WebSocket(stack.port, "/ws/training/" + r["run_id"], headers={"X-API-Key": other})
        raise AssertionError("upgraded for another project's run")
    except wsclient.HandshakeError as e:
        assert e.status == 404 and json.loads(e.body)["error"]["code"] == "run_not_found", e
    # its own project's run upgrades (a finished run's topic is quiet, but it is there)
    ws = wsclient.WebSocket(stack.port, "/ws/training/" + r["run_id"], headers=key_headers(stack))
    assert ws.close() == 1000


def test_cli_train_without_validation_prints_no_nan(stack):
    penguins_csv = data("palmerpenguins_penguins", "penguins.csv")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.aiops")
        p = subprocess.run([os.path.join(stack.bin, "aiops"), "train", penguins_csv, "--target",
                            "species", "--model", "gbdt", "--param", "rounds=20", "--out", out],
                           capture_output=True, text=True, env=stack.env, timeout=120)
        assert p.returncode == 0, p.stderr
        assert "train loss" in p.stderr and "valid loss" not in p.stderr, p.stderr
        assert "nan" not in p.stderr.lower(), p.stderr
