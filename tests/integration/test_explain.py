"""svc-explain through the gateway, trained like a client: a run's feature importance with
significance (seed 000's fields, most important first, the feature the target depends on at
the top, intervals around the values, p-values that tell signal from noise), its correlation
matrix (Pearson and Spearman), both cached per run; bad and unknown run ids, unfinished runs."""
import uuid

from test_gateway import assert_error
from test_report import synthetic_csv
from test_train import train, upload_bytes, wait_run

_RUN = {}


def trained_run(stack):
    if "run_id" not in _RUN:
        fid = upload_bytes(stack, synthetic_csv(rows=1200, seed=9), "explain.csv")
        j = train(stack, fid, target="label", model="gbdt", model_name="explained",
                  config={"rounds": 30, "seed": 1})
        run = wait_run(stack, j["run_id"])
        assert run["status"] == "completed", run
        _RUN.update(run_id=j["run_id"], run=run)
    return _RUN["run_id"], _RUN["run"]


def test_feature_importance_with_significance(stack):
    run_id, _ = trained_run(stack)
    r = stack.http("GET", "/api/report/feature-importance/" + run_id)
    assert r.status == 200, r
    items = r.json()
    assert [i["feature"] for i in items if i["feature"] not in ("x1", "x2", "noise", "grp")] == []
    assert len(items) == 4, items
    for i in items:
        for key in ("feature", "importance", "pValue", "ci", "description"):
            assert key in i, (key, i)
        lo, hi = i["ci"]
        assert lo <= i["importance"] <= hi, i
    values = [i["importance"] for i in items]
    assert values == sorted(values, reverse=True), values
    assert items[0]["feature"] in ("x1", "x2"), items
    assert items[0]["importance"] > 0.05, items[0]
    by_name = {i["feature"]: i for i in items}
    # the target follows x1: decisive; noise is drawn apart from it
    assert by_name["x1"]["pValue"] < 1e-10, by_name["x1"]
    assert by_name["x1"]["test"] == "welch_t"
    assert by_name["grp"]["test"] == "chi_square"
    assert by_name["noise"]["pValue"] > 1e-4, by_name["noise"]
    assert abs(by_name["noise"]["importance"]) < items[0]["importance"] / 5
    # kept per run: the second answer is the stored one
    stored = stack.psql("SELECT count(*) FROM explain_results WHERE run_id = '%s'"
                        " AND kind = 'importance'" % run_id)
    assert stored == [["1"]], stored
    again = stack.http("GET", "/api/report/feature-importance/" + run_id)
    assert again.status == 200 and again.json() == items


def test_correlation_matrix(stack):
    run_id, _ = trained_run(stack)
    r = stack.http("GET", "/api/report/correlation/" + run_id)
    assert r.status == 200, r
    doc = r.json()
    names, m = doc["features"], doc["matrix"]
    assert sorted(names) == ["grp", "noise", "x1", "x2"], names
    assert len(m) == 4 and all(len(row) == 4 for row in m)
    for a in range(4):
        assert m[a][a] == 1
        for b in range(4):
            assert m[a][b] == m[b][a]
    x1, x2, noise = names.index("x1"), names.index("x2"), names.index("noise")
    assert m[x1][x2] > 0.9, m  # x2 = x1 + 0.3 * uniform
    assert abs(m[x1][noise]) < 0.1, m
    s = stack.http("GET", "/api/report/correlation/%s?method=spearman" % run_id)
    assert s.status == 200 and s.json()["method"] == "spearman", s
    assert s.json()["matrix"][x1][x2] > 0.9
    assert_error(stack.http("GET", "/api/report/correlation/%s?method=kendall" % run_id), 422,
                 "invalid_parameter")


def test_explain_routes_refuse_bad_and_unfinished_runs(stack):
    for path in ("/api/report/feature-importance/%s", "/api/report/correlation/%s"):
        assert_error(stack.http("GET", path % "not-a-uuid"), 404, "run_not_found")
        assert_error(stack.http("GET", path % "7c3aed25-63eb-4000-8000-000000000000"), 404,
                     "run_not_found")
    run_id, _ = trained_run(stack)
    other = str(uuid.uuid4())
    stack.psql("INSERT INTO runs (id, project_id, dataset_id, model_kind, target, model_name,"
               " status, params) SELECT '%s', project_id, dataset_id, model_kind, target,"
               " model_name, 'running', params FROM runs WHERE id = '%s'" % (other, run_id))
    for path in ("/api/report/feature-importance/%s", "/api/report/correlation/%s"):
        err = assert_error(stack.http("GET", path % other), 409, "run_not_completed")
        assert err["details"]["status"] == "running", err
