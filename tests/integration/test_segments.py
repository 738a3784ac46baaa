"""Customer segments and persona search (issue 7, seed 003) through the gateway, as a client
would use them: a k-means model trained on seed-003-style shopping data (column names with
spaces and parentheses), /api/analysis and /api/analysis/batch with the seed's exact field
names, bad inputs answered 422 naming the field, a cluster renamed, and persona documents
added, listed, searched in Korean and deleted."""
import random
import uuid

from test_gateway import assert_error
from test_train import train, upload_bytes, wait_run

AGE = "Age"
AMOUNT = "Purchase Amount (USD)"
SUB = "Subscription Status"
FREQ = "Frequency of Purchases"

# three planted groups: (age mean, amount mean, subscription, frequency)
GROUPS = {
    "vip": (45, 90, "Yes", "Weekly"),
    "bargain": (22, 20, "No", "Annually"),
    "regular": (35, 55, "No", "Monthly"),
}


def shopping_csv(rows_per_group=200, seed=7):
    rng = random.Random(seed)
    lines = ["Customer ID,%s,%s,%s,%s,Segment" % (AGE, '"%s"' % AMOUNT, SUB, FREQ)]
    cid = 0
    for name, (age, amount, sub, freq) in GROUPS.items():
        for _ in range(rows_per_group):
            cid += 1
            lines.append("%d,%d,%.2f,%s,%s,%s" % (
                cid, max(18, int(rng.gauss(age, 3))), max(1.0, rng.gauss(amount, 6)),
                sub if rng.random() < 0.95 else ("No" if sub == "Yes" else "Yes"),
                freq if rng.random() < 0.9 else "Quarterly", name))
    body = lines[1:]
    rng.shuffle(body)
    return ("\n".join([lines[0]] + body) + "\n").encode()


def profile(group):
    age, amount, sub, freq = GROUPS[group]
    return {AGE: age, AMOUNT: amount, SUB: sub, FREQ: freq}


def field_error(r, field, status=422, code="invalid_request"):
    err = assert_error(r, status, code)
    assert err["details"].get("field") == field, r
    return err


def trained_segments(stack):
    tag = uuid.uuid4().hex[:8]
    fid = upload_bytes(stack, shopping_csv(), "shopping-%s.csv" % tag)
    name = "segments-" + tag
    j = train(stack, fid, model="kmeans", target="Segment", model_name=name,
              config={"k": 3, "n_init": 4, "seed": 1, "exclude": ["Customer ID"]})
    done = wait_run(stack, j["run_id"])
    assert done["status"] == "completed", done
    return name, done


def test_segments_analysis_rag(stack):
    name, done = trained_segments(stack)
    m = done["metrics"]
    # the planted groups are found: sizes 200 each, agreement with the Segment column
    assert sorted(m["sizes"]) == [200, 200, 200], m
    assert m["adjusted_rand"] > 0.95 and m["nmi"] > 0.9, m
    assert 0.3 < m["silhouette"] <= 1, m

    # --- analysis: one profile, the seed's fields; default model = the latest k-means ---
    answers = {}
    for g in GROUPS:
        r = stack.http("POST", "/api/analysis", body=profile(g))
        assert r.status == 200, r
        a = r.json()
        assert set(a) == {"predicted_cluster", "cluster_name", "cluster_description"}, a
        assert isinstance(a["predicted_cluster"], int) and 0 <= a["predicted_cluster"] < 3
        assert a["cluster_name"] and a["cluster_description"], a
        answers[g] = a
    assert len({a["predicted_cluster"] for a in answers.values()}) == 3, answers
    # the VIP cluster is named by what sets it apart, in Korean, with its size
    vip = answers["vip"]
    assert "높음" in vip["cluster_name"] or "Weekly" in vip["cluster_name"], vip
    assert "200명" in vip["cluster_description"], vip
    # ?model= names it explicitly; a missing column is a missing value
    r = stack.http("POST", "/api/analysis?model=" + name, body={AMOUNT: 92, SUB: "Yes"})
    assert r.status == 200 and r.json()["predicted_cluster"] == vip["predicted_cluster"], r

    # --- batch: the same answers in order ---
    body = {"profiles": [profile("bargain"), profile("vip"), profile("regular")]}
    r = stack.http("POST", "/api/analysis/batch", body=body)
    assert r.status == 200, r
    assert r.json() == [answers["bargain"], answers["vip"], answers["regular"]], r

    # --- bad inputs: 422 naming the field ---
    field_error(stack.http("POST", "/api/analysis", body={AGE: "old", AMOUNT: 10}), AGE)
    field_error(stack.http("POST", "/api/analysis", body={SUB: {"x": 1}}), SUB)
    field_error(stack.http("POST", "/api/analysis/batch", body={"profiles": []}), "profiles")
    field_error(stack.http("POST", "/api/analysis/batch", body={"profiles": "x"}), "profiles")
    field_error(stack.http("POST", "/api/analysis/batch", body={}), "profiles")
    field_error(stack.http("POST", "/api/analysis/batch", body={"profiles": [1]}), "profiles")
    field_error(stack.http("POST", "/api/analysis/batch",
                           body={"profiles": [profile("vip"), {AMOUNT: "lots"}]}),
                "profiles[1].%s" % AMOUNT)
    assert_error(stack.http("POST", "/api/analysis?model=no-such-model-" + name,
                            body=profile("vip")), 404, "model_not_found")

    # --- rename a cluster ---
    cid = vip["predicted_cluster"]
    path = "/api/v1/models/%s/versions/1/clusters/%d" % (name, cid)
    r = stack.http("PUT", path, body={"name": "충성도 높은 VIP 고객",
                                      "description": "높은 구매액과 정기 구독의 VIP 고객입니다."})
    assert r.status == 200 and r.json()["name"] == "충성도 높은 VIP 고객", r
    r = stack.http("POST", "/api/analysis", body=profile("vip"))
    assert r.json() == {"predicted_cluster": cid, "cluster_name": "충성도 높은 VIP 고객",
                        "cluster_description": "높은 구매액과 정기 구독의 VIP 고객입니다."}, r
    # only the description: the name stays
    r = stack.http("PUT", path, body={"description": "주 단위로 구매하는 고객"})
    assert r.status == 200 and r.json()["name"] == "충성도 높은 VIP 고객", r
    assert r.json()["description"] == "주 단위로 구매하는 고객", r
    assert_error(stack.http("PUT", "/api/v1/models/%s/versions/1/clusters/7" % name,
                            body={"name": "x"}), 404, "cluster_not_found")
    field_error(stack.http("PUT", path, body={"name": ""}), "name")
    field_error(stack.http("PUT", path, body={"name": 5}), "name")
    field_error(stack.http("PUT", path, body={}), "name")

    # --- persona documents: the model added one per cluster ---
    r = stack.http("GET", "/api/rag/documents?limit=1000")
    assert r.status == 200, r
    mine = [d for d in r.json()["documents"] if d.get("model") == name]
    assert len(mine) == 3 and {d["cluster_name"] for d in mine} == {
        "segment_0", "segment_1", "segment_2"}, mine

    docs = [
        {"title": "알뜰 쇼핑 학생", "description": "할인 쿠폰을 찾아 일 년에 한두 번 구매하는 젊은 고객",
         "cluster_name": "bargain", "metadata": {"lang": "ko"}},
        {"title": "충성 VIP", "description": "정기 구독으로 매주 구매하고 구매액이 높은 고객",
         "cluster_name": "vip"},
        {"title": "Weekend browser", "description": "Browses often, buys monthly",
         "cluster_name": "regular"},
    ]
    r = stack.http("POST", "/api/rag/documents", body={"documents": docs})
    assert r.status == 201 and r.json()["added"] == 3, r
    ids = r.json()["ids"]
    r = stack.http("POST", "/api/rag/query", body={"text": "정기 구독 VIP 고객", "top_k": 3})
    assert r.status == 200, r
    matches = r.json()["matches"]
    assert len(matches) == 3, matches
    assert matches[0]["title"] == "충성 VIP", matches
    assert set(matches[0]) >= {"title", "description", "cluster_name", "score"}
    scores = [x["score"] for x in matches]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1, scores
    r = stack.http("POST", "/api/rag/query", body={"text": "할인 쿠폰 학생", "top_k": 1})
    assert [x["title"] for x in r.json()["matches"]] == ["알뜰 쇼핑 학생"], r
    # a profile is matched through its cluster (renamed above) and its values
    r = stack.http("POST", "/api/rag/query", body={"profile": profile("vip"), "top_k": 2})
    assert r.status == 200, r
    assert r.json()["profile_cluster"]["predicted_cluster"] == cid, r
    assert len(r.json()["matches"]) == 2, r

    # bad queries
    for k in (0, 51, "3", 2.5):
        field_error(stack.http("POST", "/api/rag/query", body={"text": "VIP", "top_k": k}), "top_k")
    field_error(stack.http("POST", "/api/rag/query", body={"top_k": 3}), "text")
    field_error(stack.http("POST", "/api/rag/query", body={"text": 5}), "text")
    field_error(stack.http("POST", "/api/rag/query", body={"profile": [1, 2]}), "profile")
    field_error(stack.http("POST", "/api/rag/query", body={"profile": {AGE: "x"}}), AGE)
    field_error(stack.http("POST", "/api/rag/documents", body={"documents": []}), "documents")
    field_error(stack.http("POST", "/api/rag/documents", body={"documents": [{"title": ""}]}),
                "documents[0].title")
    field_error(stack.http("POST", "/api/rag/documents",
                           body={"documents": [{"title": "t", "description": 3}]}),
                "documents[0].description")

    # delete: gone from the list and from the search; a second delete is 404
    r = stack.http("DELETE", "/api/rag/documents/%d" % ids[1])
    assert r.status == 200 and r.json()["deleted"] is True, r
    assert_error(stack.http("DELETE", "/api/rag/documents/%d" % ids[1]), 404, "document_not_found")
    field_error(stack.http("DELETE", "/api/rag/documents/abc"), "id", code="invalid_parameter")
    listed = stack.http("GET", "/api/rag/documents?limit=1000").json()["documents"]
    assert ids[1] not in [d["id"] for d in listed] and ids[0] in [d["id"] for d in listed]
    r = stack.http("POST", "/api/rag/query", body={"text": "정기 구독 VIP 고객", "top_k": 50})
    assert "충성 VIP" not in [x["title"] for x in r.json()["matches"]], r


def test_kmeans_served_predictions_are_cluster_ids(stack):
    name, _ = trained_segments(stack)
    r = stack.http("POST", "/api/v1/models/%s/predict" % name,
                   body={"instances": [profile("vip"), profile("bargain")]})
    assert r.status == 200, r
    preds = [p["prediction"] for p in r.json()["predictions"]]
    assert all(p in (0, 1, 2) for p in preds) and preds[0] != preds[1], r
    a = stack.http("POST", "/api/analysis?model=" + name, body=profile("vip")).json()
    assert preds[0] == a["predicted_cluster"], (preds, a)
