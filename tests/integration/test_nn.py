"""The neural learners through the gateway and svc-train (issue 7): tabseq trained with seed
000's `config` one to one, one epoch_update per epoch carrying the seed's fields (and AUC),
and a worker killed mid-run whose job resumes from its last finished epoch's checkpoint
(PostgreSQL, run_checkpoints) instead of starting over."""
import json
import time
import uuid

import wsclient
from test_train import data, key_headers, run, train, training_events, upload_path, wait_run

# seed 000's POST /api/train config, as it sends it (mlp_hidden a JSON list)
# (small and a larger step than the seed's 0.001, so that a few epochs learn HIGGS)
SEED_CONFIG = {"epochs": 5, "batch_size": 512, "learning_rate": 0.01, "lstm_hidden": 16,
               "mlp_hidden": [32, 16], "dropout": 0.2}


def test_tabseq_with_the_seed_config_reports_every_epoch(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("lightgbm_higgs_binary", "higgs_train.csv"),
                      "higgs-nn-%s.csv" % tag)
    j = train(stack, fid, target="label", model="tabseq", model_name="tabseq-" + tag,
              config=SEED_CONFIG)
    ws = wsclient.WebSocket(stack.port, "/ws/training/" + j["run_id"],
                            headers=key_headers(stack), timeout=300)
    epochs, complete = [], None
    try:
        for msg in training_events(ws):
            if msg["type"] == "epoch_update":
                for e in msg["epochs"]:
                    m = e["metrics"]
                    for k in ("train_loss", "val_loss", "train_accuracy", "val_accuracy",
                              "train_auc", "val_auc"):
                        assert isinstance(m[k], float), (k, msg)
                    assert 0 < m["val_accuracy"] <= 1 and 0.4 < m["val_auc"] <= 1, msg
                    epochs.append(e["epoch"])
                assert msg["total_epochs"] == 5, msg
            elif msg["type"] == "training_complete":
                complete = msg
    finally:
        ws.close()
    assert sorted(set(epochs)) == [1, 2, 3, 4, 5], epochs
    done = run(stack, j["run_id"])
    assert done["status"] == "completed" and done["params"]["lstm_hidden"] == 16, done
    assert done["params"]["mlp_hidden"] == [32, 16], done
    assert done["metrics"]["auc"] > 0.6, done
    # the model serves: probabilities for a row of the training file
    row = {"f%d" % i: 0.5 for i in range(1, 29)}
    r = stack.http("POST", "/api/v1/models/tabseq-%s/predict" % tag, body={"instances": [row]})
    assert r.status == 200, r
    # no checkpoint outlives a finished run
    assert stack.psql("SELECT count(*) FROM run_checkpoints WHERE run_id = '%s'"
                      % j["run_id"]) == [["0"]]


def test_killed_worker_resumes_from_the_last_epoch(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("lightgbm_higgs_binary", "higgs_train.csv"),
                      "higgs-resume-%s.csv" % tag)
    cfg = {"epochs": 14, "batch_size": 128, "lstm_hidden": 32, "mlp_hidden": [64, 32],
           "dropout": 0.1, "seed": 5}
    j = train(stack, fid, target="label", model="tabseq", model_name="resume-" + tag, config=cfg)
    rid = j["run_id"]
    deadline = time.time() + 300
    while True:
        # a checkpoint of epoch 2 or later, and the history written up to it (the history is
        # flushed apart from the checkpoint, every FLUSH_MS)
        ck = stack.psql("SELECT c.epoch, (SELECT coalesce(max(step), 0) FROM run_metrics m"
                        " WHERE m.run_id = c.run_id AND m.key = 'train_loss')"
                        " FROM run_checkpoints c WHERE c.run_id = '%s'" % rid)
        if ck and int(ck[0][0]) >= 2 and int(ck[0][1]) >= int(ck[0][0]):
            seen = int(ck[0][0])
            break
        r = run(stack, rid)
        assert r["status"] in ("queued", "running"), r
        assert time.time() < deadline, "no checkpoint of epoch 2 yet: %r" % (r,)
        time.sleep(0.05)
    stack.kill("train")  # SIGKILL mid-epoch: no chance to hand the job back
    killed_at = stack.psql("SELECT now()")[0][0]
    ck = int(stack.psql("SELECT epoch FROM run_checkpoints WHERE run_id = '%s'" % rid)[0][0])
    # a later checkpoint may have landed between the loop and the kill, its history not yet
    # flushed: the loop's epoch is the one whose history is known to be written
    assert 2 <= seen <= ck < 14, (seen, ck)
    stack.start("train")
    done = wait_run(stack, rid, timeout=600)
    assert done["status"] == "completed", done
    assert stack.psql("SELECT attempts, status FROM jobs WHERE run_id = '%s'" % rid) == \
        [["2", "done"]]
    # the epochs up to the checkpoint were not trained again: their history rows are the
    # first attempt's (written before the kill); every later one is the second's
    before = stack.psql("SELECT step FROM run_metrics WHERE run_id = '%s' AND key = 'train_loss'"
                        " AND ts < '%s' ORDER BY step" % (rid, killed_at))
    assert [int(s[0]) for s in before][:seen] == list(range(1, seen + 1)), before
    steps = stack.psql("SELECT step FROM run_metrics WHERE run_id = '%s' AND key = 'train_loss'"
                       " ORDER BY step" % rid)
    assert [int(s[0]) for s in steps] == list(range(1, 15)), steps
    assert stack.psql("SELECT count(*) FROM run_checkpoints WHERE run_id = '%s'" % rid) == \
        [["0"]]
    assert done["metrics"]["auc"] > 0.6, done


def test_mlp_with_batch_norm_trains_and_serves(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("lightgbm_higgs_binary", "higgs_train.csv"),
                      "higgs-bn-%s.csv" % tag)
    cfg = {"epochs": 4, "batch_size": 256, "hidden": [32, 16], "batch_norm": True,
           "learning_rate": 0.01, "seed": 3}
    j = train(stack, fid, target="label", model="mlp", model_name="mlp-bn-" + tag, config=cfg)
    done = wait_run(stack, j["run_id"], timeout=300)
    assert done["status"] == "completed", done
    assert done["params"]["batch_norm"] is True, done
    assert done["metrics"]["auc"] > 0.6, done
    # one row alone is predicted with the running statistics (batch statistics of a single
    # row would make every prediction the same)
    rows = [{"f%d" % i: v for i in range(1, 29)} for v in (-1.0, 0.5, 2.0)]
    preds = []
    for row in rows:
        r = stack.http("POST", "/api/v1/models/mlp-bn-%s/predict" % tag,
                       body={"instances": [row]})
        assert r.status == 200, r
        preds.append(json.dumps(r.json()["predictions"]))
    assert len(set(preds)) == 3, preds
