"""svc-report through the gateway: the AI report of a trained run (Korean and English, its
numbers the run's own), the PDF (qpdf --check, pdftotext finds the Korean text and the metric
values, pdftoppm renders every page), performance, dashboards, model cards, bad ids and
unfinished runs; and `aiops report` offline."""
import json
import os
import random
import subprocess
import tempfile
import time

import harness
from test_gateway import assert_error
from test_train import predict, running_copy, shared_run

_RUN = {}


def synthetic_csv(rows=1500, seed=5):
    """x1 drives the target, grp "b" rows get a coin-flip target (a slice gap)."""
    rnd = random.Random(seed)
    out = ["x1,x2,noise,grp,label"]
    for r in range(rows):
        x1, noise = rnd.random(), rnd.random()
        grp = "b" if r % 4 == 0 else "a"
        y = rnd.random() < 0.5 if grp == "b" else x1 + 0.1 * (rnd.random() - 0.5) > 0.6
        out.append("%.4f,%.4f,%.4f,%s,%s" % (x1, x1 + 0.3 * rnd.random(), noise, grp,
                                             "yes" if y else "no"))
    return ("\n".join(out) + "\n").encode()


def trained_run(stack):
    """One completed run shared by the tests of this file."""
    return shared_run(_RUN, stack, synthetic_csv(), "campaign.csv", target="label",
                      model="gbdt", model_name="campaign", config={"rounds": 30, "seed": 1})


def test_ai_report_is_written_from_the_runs_numbers(stack):
    run_id, run = trained_run(stack)
    r = stack.http("GET", "/api/report/ai/" + run_id)
    assert r.status == 200, r
    ko = r.json()
    for key in ("summary", "accuracy", "roiIncrease", "additionalRevenue", "topFeatures",
                "aiInsights", "actionPlan"):
        assert key in ko, key
    assert abs(ko["accuracy"] - round(run["metrics"]["accuracy"] * 1000) / 10) < 1e-9, ko
    assert "정확도" in ko["summary"], ko["summary"]
    auc = [f for f in ko["facts"] if f["name"] == "auc"][0]
    assert auc["value"] == run["metrics"]["auc"], (auc, run["metrics"]["auc"])
    assert auc["text"] in ko["summary"]
    assert ko["topFeatures"][0]["feature"] in ("x1", "x2"), ko["topFeatures"]
    # the assumptions come from the query and are stated
    r = stack.http("GET", "/api/report/ai/%s?lang=en&contacts=5000&cost_per_contact=100"
                   % run_id)
    en = r.json()
    assert r.status == 200 and en["assumptions"]["contacts"] == 5000, en
    assert "5,000 contacts" in en["summary"], en["summary"]
    assert_error(stack.http("GET", "/api/report/ai/%s?lang=fr" % run_id), 422, "invalid_parameter")
    assert_error(stack.http("GET", "/api/report/ai/%s?contacts=-1" % run_id), 422,
                 "invalid_parameter")


def test_report_routes_refuse_bad_and_unfinished_runs(stack):
    for path in ("/api/report/ai/%s", "/api/performance/%s", "/api/report/pdf/%s"):
        assert_error(stack.http("GET", path % "not-a-uuid"), 404, "run_not_found")
        assert_error(stack.http("GET", path % "7c3aed25-63eb-4000-8000-000000000000"), 404,
                     "run_not_found")
    assert_error(stack.http("POST", "/api/report/generate-pdf/nope", body={}), 404,
                 "run_not_found")
    # a run still running: 409 with its status
    run_id, _ = trained_run(stack)
    other = running_copy(stack, run_id)
    for path in ("/api/report/ai/%s", "/api/performance/%s", "/api/report/pdf/%s"):
        err = assert_error(stack.http("GET", path % other), 409, "run_not_completed")
        assert err["details"]["status"] == "running", err


def test_pdf_is_generated_stored_and_valid(stack):
    run_id, run = trained_run(stack)
    r = stack.http("POST", "/api/report/generate-pdf/" + run_id,
                   body={"includeCharts": True, "includeInsights": True,
                         "includeActionPlan": True})
    assert r.status == 200, r
    assert r.json()["pdf_url"] == "/api/report/pdf/" + run_id
    assert r.json()["status"] == "generated"
    assert_error(stack.http("POST", "/api/report/generate-pdf/" + run_id,
                            body={"includeCharts": "yes"}), 422, "invalid_request")
    r = stack.http("GET", "/api/report/pdf/" + run_id)
    assert r.status == 200 and r.headers["content-type"] == "application/pdf", r
    assert r.body.startswith(b"%PDF-")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "report.pdf")
        with open(path, "wb") as f:
            f.write(r.body)
        check_pdf(path, d, ["요약", "변수 중요도", "%.1f%%" % (run["metrics"]["accuracy"] * 100)])


def check_pdf(path, workdir, must_contain):
    subprocess.run(["qpdf", "--check", path], check=True, capture_output=True)
    text = subprocess.run(["pdftotext", "-layout", path, "-"], check=True, capture_output=True,
                          text=True).stdout
    for s in must_contain:
        assert s in text, (s, text[:2000])
    pages = int([ln for ln in subprocess.run(["pdfinfo", path], check=True, capture_output=True,
                                             text=True).stdout.splitlines()
                 if ln.startswith("Pages:")][0].split()[1])
    assert pages >= 5, pages
    assert "%d / %d" % (pages, pages) in text or "%d/%d" % (pages, pages) in text.replace(" ", "")
    subprocess.run(["pdftoppm", "-r", "30", "-png", path, os.path.join(workdir, "page")],
                   check=True, capture_output=True)
    rendered = [f for f in os.listdir(workdir) if f.startswith("page") and f.endswith(".png")]
    assert len(rendered) == pages, (rendered, pages)


def test_performance_and_dashboards(stack):
    run_id, run = trained_run(stack)
    r = stack.http("GET", "/api/performance/" + run_id)
    assert r.status == 200, r
    p = r.json()
    assert p["accuracy"] == run["metrics"]["accuracy"]
    assert p["f1_score"] == run["metrics"]["f1"]
    assert p["response_time"] is None  # nothing served yet
    predict(stack, "campaign", [{"x1": 0.9, "x2": 1.0, "noise": 0.1, "grp": "a"}])
    deadline = time.time() + 10
    while time.time() < deadline and p["response_time"] is None:
        time.sleep(0.3)
        p = stack.http("GET", "/api/performance/" + run_id).json()
    assert p["response_time"] is not None and p["response_time"] > 0, p
    si = stack.http("GET", "/api/dashboard/si")
    assert si.status == 200 and si.json()["runs_by_status"].get("completed", 0) >= 1, si
    client = stack.http("GET", "/api/dashboard/client")
    assert client.status == 200, client
    models = {m["model"]: m for m in client.json()["models"]}
    assert models["campaign"]["auc"] == run["metrics"]["auc"], models


def test_model_card(stack):
    run_id, run = trained_run(stack)
    v = run["model_version"]
    r = stack.http("GET", "/api/v1/models/campaign/versions/%d/card?slice=grp" % v)
    assert r.status == 200, r
    card = r.json()
    assert card["model"]["run_id"] == run_id and card["slices"]["column"] == "grp"
    flagged = [g for g in card["slices"]["gaps"] if g["flagged"]]
    assert flagged and flagged[0]["worst"] == "b", card["slices"]
    assert any("grp" in line for line in card["limitations"]), card["limitations"]
    r = stack.http("PUT", "/api/v1/models/campaign/card",
                   body={"intended_use": "캠페인 대상 고객 선정"})
    assert r.status == 200, r
    r = stack.http("GET", "/api/v1/models/campaign/versions/%d/card" % v,
                   headers={"Accept": "text/markdown"})
    assert r.status == 200 and r.headers["content-type"].startswith("text/markdown"), r
    md = r.body.decode()
    assert md.startswith("# Model card: campaign") and "캠페인 대상 고객 선정" in md, md[:500]
    assert_error(stack.http("GET", "/api/v1/models/campaign/versions/%d/card?slice=x1" % v),
                 422, "invalid_parameter")
    assert_error(stack.http("GET", "/api/v1/models/campaign/versions/999/card"), 404,
                 "version_not_found")
    assert_error(stack.http("PUT", "/api/v1/models/nope/card", body={"intended_use": "x"}), 404,
                 "model_not_found")


def test_offline_report_and_pdf(stack):
    aiops = os.path.join(stack.bin, "aiops")
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data.csv")
        with open(data, "wb") as f:
            f.write(synthetic_csv(800, seed=3))
        model = os.path.join(d, "m.model")
        subprocess.run([aiops, "train", data, "--target", "label", "--param", "rounds=20",
                        "--out", model], check=True, capture_output=True)
        mapping = os.path.join(d, "map.csv")
        with open(mapping, "w") as f:
            f.write("feature,description\nx1,방문 빈도\nx2,구매 빈도\n")
        pdf = os.path.join(d, "out.pdf")
        out = subprocess.run([aiops, "report", model, data, "--pdf", pdf, "--descriptions",
                              mapping], check=True, capture_output=True, text=True).stdout
        report = json.loads(out)
        assert "방문 빈도" in report["summary"] or "구매 빈도" in report["summary"], report
        check_pdf(pdf, d, ["방문 빈도", "요약"])
        bad = subprocess.run([aiops, "report", model, data, "--lang", "fr"], capture_output=True)
        assert bad.returncode == 2
