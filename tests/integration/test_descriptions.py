"""Feature descriptions: PUT /api/v1/datasets/{id}/descriptions as a feature,description CSV
(Korean text) or a JSON object, GET back, the bad inputs (unknown dataset or another
project's, a feature that is not a column, malformed CSV and JSON, not UTF-8, too long,
twice), and the reports that show them: the AI report, the PDF (pdftotext) and svc-explain's
importance routes, each read again after the set is replaced."""
import json
import os
import tempfile
import uuid

from test_gateway import assert_error
from test_report import check_pdf, synthetic_csv
from test_train import train, upload_bytes, wait_run

_DS = {}
CSV = "text/csv; charset=utf-8"


def dataset(stack):
    """A dataset of its own (other bytes than test_report's: another dataset)."""
    if "id" not in _DS:
        _DS["id"] = upload_bytes(stack, synthetic_csv(rows=800, seed=23), "described.csv")
    return _DS["id"]


def put(stack, ds, body, content_type=CSV, headers=None):
    h = {"Content-Type": content_type}
    h.update(headers or {})
    if isinstance(body, str):
        body = body.encode()
    return stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds, body=body, headers=h)


def get(stack, ds):
    r = stack.http("GET", "/api/v1/datasets/%s/descriptions" % ds)
    assert r.status == 200, r
    return r.json()


def test_descriptions_csv_and_json_replace_each_other(stack):
    ds = dataset(stack)
    # a header alone clears them
    assert put(stack, ds, "feature,description\n").json()["count"] == 0
    assert get(stack, ds) == {"dataset_id": ds, "count": 0, "descriptions": {}}
    # a byte-order mark, CRLF, a quoted comma, spaces around fields, Korean text
    body = ("\ufefffeature,description\r\nx1, 고객 나이 \r\nx2,\"월 사용액, 원\"\r\n"
            "grp,가입 채널\r\n")
    r = put(stack, ds, body)
    assert r.status == 200, r
    want = {"x1": "고객 나이", "x2": "월 사용액, 원", "grp": "가입 채널"}
    assert r.json() == {"dataset_id": ds, "count": 3, "descriptions": want}, r.json()
    got = get(stack, ds)
    assert got["descriptions"] == want and list(got["descriptions"]) == ["x1", "x2", "grp"]
    # JSON replaces the whole set, in its order
    r = stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds,
                   body={"noise": "잡음 (무작위)", "label": "응답 여부"})
    assert r.status == 200, r
    got = get(stack, ds)
    assert list(got["descriptions"].items()) == [("noise", "잡음 (무작위)"),
                                                 ("label", "응답 여부")], got
    # so does {}
    assert stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds, body={}).status == 200
    assert get(stack, ds)["descriptions"] == {}
    # the longest description taken: 2,000 bytes (666 Hangul syllables and 2 bytes)
    long_text = "가" * 666 + "ab"
    r = stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds, body={"x1": long_text})
    assert r.status == 200 and get(stack, ds)["descriptions"]["x1"] == long_text, r


def test_descriptions_bad_inputs_change_nothing(stack):
    ds = dataset(stack)
    assert put(stack, ds, "feature,description\nx1,고객 나이\n").status == 200
    before = get(stack, ds)

    err = assert_error(put(stack, ds, "feature,description\nx1,a\nnope,b\n"), 422,
                       "invalid_request")
    assert err["details"]["field"] == "nope" and err["details"]["line"] == 3, err
    assert err["details"]["offset"] == len("feature,description\nx1,a\n"), err
    assert "nope" in err["message"]
    err = assert_error(stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds,
                                  body={"x1": "a", "nope": "b"}), 422, "invalid_request")
    assert err["details"]["field"] == "nope" and err["details"]["position"] == 2, err
    assert "line" not in err["details"], err
    err = assert_error(stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds,
                                  body={"x1": 3}), 422, "invalid_request")
    assert err["details"]["field"] == "x1", err
    err = assert_error(stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds,
                                  body={"x1": "가" * 667}), 422, "invalid_request")
    assert err["details"]["field"] == "x1" and "2000" in err["message"], err
    err = assert_error(put(stack, ds, "feature,description\nx1,\n"), 422, "invalid_request")
    assert err["details"]["field"] == "x1" and err["details"]["line"] == 2, err
    err = assert_error(put(stack, ds, "feature,description\nx1,a\nx2,b\nx1,c\n"), 422,
                       "invalid_request")
    assert err["details"]["line"] == 4 and "twice" in err["message"], err
    err = assert_error(put(stack, ds, "feature,description\n,a\n"), 422, "invalid_request")
    assert err["details"]["field"] == "feature", err

    err = assert_error(put(stack, ds, "{\"x1\": ", "application/json"), 400, "invalid_json")
    assert "offset" in err["details"], err
    assert_error(put(stack, ds, "[\"x1\"]", "application/json"), 400, "invalid_json")
    err = assert_error(put(stack, ds, "feature,description\nx1,a,b\n"), 400, "ragged_row")
    assert err["details"]["line"] == 2, err
    err = assert_error(put(stack, ds, "x1,고객 나이\n"), 400, "invalid_csv")
    assert err["details"]["line"] == 1, err
    err = assert_error(put(stack, ds, "feature,description\n\nx1,\"open\n"), 400,
                       "unterminated_quote")
    assert err["details"]["line"] == 3, err
    err = assert_error(put(stack, ds, "feature,description\nx2,ok\nx1,".encode()
                           + "고객 나이".encode("cp949") + b"\n"), 400, "invalid_csv")
    assert err["details"]["line"] == 3 and "UTF-8" in err["message"], err
    assert_error(put(stack, ds, ""), 400, "invalid_csv")
    assert_error(put(stack, ds, b"\x89PNG", "image/png"), 415, "unsupported_media_type")
    assert get(stack, ds) == before

    # unknown datasets and another project's: not found, as every dataset route says
    for bad in (str(uuid.uuid4()), "not-a-uuid"):
        assert_error(stack.http("GET", "/api/v1/datasets/%s/descriptions" % bad), 404,
                     "dataset_not_found")
        assert_error(put(stack, bad, "feature,description\nx1,a\n"), 404, "dataset_not_found")
    other = {"X-API-Key": json.loads(stack.admin("key", "create", "--project",
                                                 "descriptions-other"))["key"]}
    r = stack.http("GET", "/api/v1/datasets/%s/descriptions" % ds, auth=False, headers=other)
    assert_error(r, 404, "dataset_not_found")
    r = stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds, auth=False,
                   body=b"feature,description\nx1,a\n",
                   headers=dict(other, **{"Content-Type": "text/csv"}))
    assert_error(r, 404, "dataset_not_found")
    assert get(stack, ds) == before


def test_reports_show_the_descriptions(stack):
    ds = dataset(stack)
    j = train(stack, ds, target="label", model="gbdt", model_name="described",
              config={"rounds": 20, "seed": 1})
    run_id = j["run_id"]
    assert wait_run(stack, run_id)["status"] == "completed"
    assert put(stack, ds, "feature,description\nx1,고객 나이\nx2,월 사용액\n").status == 200

    r = stack.http("GET", "/api/report/ai/" + run_id)
    assert r.status == 200, r
    ai = r.json()
    top = {f["feature"]: f["description"] for f in ai["topFeatures"]}
    assert top["x1"] == "고객 나이" and top["x2"] == "월 사용액", ai["topFeatures"]
    assert top.get("noise", None) is None, top
    assert ai["sources"]["descriptions"] == "dataset %s: its descriptions" % ds, ai["sources"]
    assert ai["sources"]["importance"].startswith("model"), ai["sources"]
    assert ai["sources"]["significance"] is None, ai["sources"]

    r = stack.http("GET", "/api/report/feature-importance/" + run_id)
    assert r.status == 200, r
    items = {f["feature"]: f for f in r.json()}
    assert items["x1"]["description"] == "고객 나이" and items["grp"]["description"] is None
    assert items["x1"]["pValue"] is not None
    r = stack.http("GET", "/api/v1/runs/%s/importance?method=gain" % run_id)
    assert {f["feature"]: f["description"] for f in r.json()["importance"]}["x2"] == "월 사용액"

    # svc-explain has measured the run now: the report takes its importance, p-values, CIs
    ai = stack.http("GET", "/api/report/ai/" + run_id).json()
    assert ai["sources"]["importance"].startswith("svc-explain"), ai["sources"]
    assert ai["sources"]["significance"].startswith("svc-explain"), ai["sources"]
    assert any(f["pValue"] is not None for f in ai["topFeatures"]), ai["topFeatures"]

    # replaced descriptions show at once, though the report's inputs are cached
    r = stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds, body={"x1": "가입 기간"})
    assert r.status == 200, r
    ai = stack.http("GET", "/api/report/ai/" + run_id).json()
    top = {f["feature"]: f["description"] for f in ai["topFeatures"]}
    assert top["x1"] == "가입 기간" and top["x2"] is None, top
    items = stack.http("GET", "/api/report/feature-importance/" + run_id).json()
    assert {f["feature"]: f["description"] for f in items}["x1"] == "가입 기간"

    # the PDF's bars say up to 30 bytes of a description, cut between whole characters
    r = stack.http("PUT", "/api/v1/datasets/%s/descriptions" % ds,
                   body={"x1": "가입 기간", "x2": "A월평균사용금액과최근석달"})
    assert r.status == 200, r
    r = stack.http("POST", "/api/report/generate-pdf/" + run_id, body={})
    assert r.status == 200, r
    r = stack.http("GET", "/api/report/pdf/" + run_id)
    assert r.status == 200 and r.body.startswith(b"%PDF-"), r
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "report.pdf")
        with open(path, "wb") as f:
            f.write(r.body)
        check_pdf(path, d, ["x1 (가입 기간)", "x2 (A월평균사용금액과최)", "변수 중요도"])
