"""Replicas without a list: every service publishes its events to the event relay and every
gateway subscribes to it, so two gateways in front of three svc-train replicas hear the
events of every run, whichever replica trains it -- even a replica a gateway does not send
requests to."""
import time
import uuid

import wsclient
from test_train import data, run, train, training_events, upload_path


def watch(port, stack, run_id):
    return wsclient.WebSocket(port, "/ws/training/" + run_id,
                              headers={"X-API-Key": stack.api_key}, timeout=300)


def until_complete(ws):
    """The event types a watcher receives up to training_complete."""
    return [msg["type"] for msg in training_events(ws)]


def test_two_gateways_three_trainers_every_watcher_hears_every_run(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_path(stack, data("uci_adult", "adult_train.csv"), "adult-rep-%s.csv" % tag)
    # the stack's own svc-train plus two replicas, each on its own address
    addrs = ["ipc://%s/%s.rpc" % (stack.run_dir, n) for n in ("train", "train-b", "train-c")]
    with stack.replica("train", "train-b", RPC_LISTEN=addrs[1]), \
            stack.replica("train", "train-c", RPC_LISTEN=addrs[2]), \
            stack.extra_gateway("gateway-b", TRAIN_RPC_URL=",".join(addrs)) as port_b:
        ports = [stack.port, port_b]
        # three long runs occupy the three replicas' single workers ...
        busy = [train(stack, fid, target="income", model="gbdt", model_name="rep-%s" % tag,
                      config={"rounds": 80, "max_depth": 6})["run_id"] for _ in range(3)]
        deadline = time.time() + 120
        while not all(run(stack, r)["status"] == "running" for r in busy):
            assert time.time() < deadline, [run(stack, r) for r in busy]
            time.sleep(0.05)
        workers = stack.psql("SELECT DISTINCT split_part(worker, ':', 2) FROM jobs WHERE run_id IN "
                             "(%s)" % ",".join("'%s'" % r for r in busy))
        assert len(workers) == 3, ("the three runs did not go to three replicas", workers)
        # ... so these wait in the queue until every watcher is subscribed (requests through
        # either gateway: gateway-b spreads them over the three replicas' addresses)
        queued = [train(stack, fid, target="income", model="gbdt", model_name="rep-%s" % tag,
                        config={"rounds": 10, "max_depth": 4})["run_id"] for _ in range(3)]
        watchers = [(p, r, watch(p, stack, r)) for r in busy + queued for p in ports]
        try:
            for port, run_id, ws in watchers:
                types = until_complete(ws)
                assert "epoch_update" in types, (port, run_id, types)
        finally:
            for _, _, ws in watchers:
                ws.close()
        for r in busy + queued:
            assert run(stack, r)["status"] == "completed", run(stack, r)
        trained_by = stack.psql("SELECT DISTINCT split_part(worker, ':', 2) FROM jobs WHERE "
                                "run_id IN (%s)" % ",".join("'%s'" % r for r in busy + queued))
        assert len(trained_by) == 3, trained_by
