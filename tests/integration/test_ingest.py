"""svc-ingest through the gateway: every shared dataset uploaded and checked against the
file, the seed-000 response shape, dedup, bad inputs (exact status and code, nothing left
behind in PostgreSQL), dataset listing, preview, profile and delete."""
import csv
import glob
import math
import os
import uuid

import harness
from test_gateway import assert_error

NA = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
      "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}


def multipart(field, filename, data, boundary="----aiopsTestBoundary7MA4YWxk"):
    body = (b"--" + boundary.encode() + b"\r\n"
            b'Content-Disposition: form-data; name="' + field.encode() + b'"; filename="' +
            filename.encode() + b'"\r\nContent-Type: text/csv\r\n\r\n' + data + b"\r\n--" +
            boundary.encode() + b"--\r\n")
    return body, {"Content-Type": "multipart/form-data; boundary=" + boundary}


def upload(stack, data, filename="data.csv", query="", form=True, headers=None):
    if form:
        body, h = multipart("file", filename, data)
        path = "/api/upload" + ("?" + query if query else "")
    else:
        body, h = data, {"Content-Type": "text/csv"}
        path = "/api/upload?filename=%s%s" % (filename, "&" + query if query else "")
    h.update(headers or {})
    return stack.http("POST", path, body=body, headers=h, timeout=120)


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def expected_columns(path):
    """An independent reading of the file: header, rows, and which columns are numeric."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, data = rows[0], [r for r in rows[1:] if r]
    numeric = []
    for k in range(len(header)):
        vals = [r[k] for r in data if r[k] not in NA]
        numeric.append(bool(vals) and all(is_number(v) for v in vals))
    return header, data, numeric


def db_counts(stack):
    return stack.psql("SELECT (SELECT count(*) FROM datasets), (SELECT count(*) FROM dataset_chunks)")[0]


def test_every_shared_dataset_uploads_and_matches_its_file(stack):
    files = sorted(glob.glob(os.path.join(harness.data_dir(), "*", "*.csv")))
    assert len(files) >= 15, files
    for i, path in enumerate(files):
        with open(path, "rb") as f:
            data = f.read()
        r = upload(stack, data, filename=os.path.basename(path), form=(i % 2 == 0))
        assert r.status == 200, (path, r)
        j = r.json()
        header, rows, numeric = expected_columns(path)
        assert j["filename"] == os.path.basename(path)
        assert uuid.UUID(j["file_id"])
        assert j["rows"] == len(rows), (path, j["rows"], len(rows))
        assert j["column_count"] == len(header), path
        assert [c["name"] for c in j["columns"]] == header, path
        assert j["validation"]["isValid"] is True and j["validation"]["errors"] == [], (path, j["validation"])
        for c, num in zip(j["columns"], numeric):
            if num:
                assert c["type"] in ("numeric", "id"), (path, c)
            else:
                assert c["type"] not in ("numeric",), (path, c)
            vals = [r[header.index(c["name"])] for r in rows]
            assert c["missing"] == sum(v in NA for v in vals), (path, c)
            if c["type"] == "numeric":
                nums = [float(v) for v in vals if v not in NA]
                assert c["min"] == min(nums) and c["max"] == max(nums), (path, c)
                assert math.isclose(c["mean"], sum(nums) / len(nums), rel_tol=1e-9), (path, c)
                assert c["distinct"] == len(set(nums)), (path, c)
            else:
                assert c["distinct"] == len(set(v for v in vals if v not in NA)), (path, c)
        assert len(j["preview"]) == min(10, len(rows))
        assert list(j["preview"][0].keys()) == header
        # and it is stored: the dataset's metadata and preview read back
        m = stack.http("GET", "/api/v1/datasets/" + j["file_id"]).json()
        assert m["rows"] == len(rows) and m["columns"] == len(header), m
        p = stack.http("GET", "/api/v1/datasets/%s/preview?rows=3" % j["file_id"]).json()
        assert p["rows"][0] == j["preview"][0], (p["rows"][0], j["preview"][0])


def test_seed_response_shape_and_ctr(stack):
    path = harness.data_file("uci_bank_marketing", "bank.csv")
    with open(path, "rb") as f:
        data = f.read()
    r = upload(stack, data, filename="bank.csv")
    assert r.status == 200, r
    j = r.json()
    for k in ("file_id", "filename", "rows", "columns", "validation", "info", "preview"):
        assert k in j, k
    assert set(j["validation"]) == {"isValid", "errors", "warnings"}
    header, rows, _ = expected_columns(path)
    yes = sum(1 for row in rows if row[header.index("y")] == "yes")
    assert j["info"]["totalRows"] == len(rows)
    assert j["info"]["clickedOne"] == yes, (j["info"], yes)
    assert j["info"]["ctr"] == round(100.0 * yes / len(rows), 2), j["info"]
    for c in j["columns"]:
        assert set(c) >= {"name", "type", "missing", "distinct", "min", "max", "mean"}, c


def test_explicit_target_and_unknown_target(stack):
    path = harness.data_file("sklearn_iris", "iris.csv")
    with open(path, "rb") as f:
        data = f.read()
    r = upload(stack, data, query="target=species")
    assert r.status == 200 and r.json()["info"]["target"] == "species", r
    r = upload(stack, data + b"\n", query="target=no_such_column")
    err = assert_error(r, 422, "unknown_target")
    assert err["details"]["field"] == "target"


def redis_counters(stack):
    lines = [l for l in stack.redis("HGETALL", "aiops:ingest") if l]
    return {lines[i]: int(lines[i + 1]) for i in range(0, len(lines) - 1, 2)}


def test_same_bytes_give_the_same_dataset(stack):
    data = b"a,b,label\n1,x,0\n2,y,1\n3,x,%s\n" % uuid.uuid4().hex.encode()
    before = db_counts(stack)
    counters = redis_counters(stack)
    r1 = upload(stack, data, filename="one.csv")
    r2 = upload(stack, data, filename="two.csv", form=False)
    assert r1.status == 200 and r2.status == 200, (r1, r2)
    assert r1.json()["file_id"] == r2.json()["file_id"]
    assert r2.json().get("deduplicated") is True
    after = db_counts(stack)
    assert int(after[0]) == int(before[0]) + 1, (before, after)
    # live counters in Redis: two uploads, one of them a duplicate
    now = redis_counters(stack)
    assert now.get("uploads_total", 0) == counters.get("uploads_total", 0) + 2, (counters, now)
    assert now.get("duplicates_total", 0) == counters.get("duplicates_total", 0) + 1
    assert now.get("bytes_total", 0) == counters.get("bytes_total", 0) + 2 * len(data)


def test_same_bytes_read_another_way_are_another_dataset(stack):
    """A repeated upload is answered about the parse it asks for: the same bytes with another
    ?target= or ?delimiter= are read and stored as what they are then."""
    data = b"a;b,c;z\n1;2,x;0\n3;4,y;1\n5;6,x;%d\n" % (uuid.uuid4().int % 1000)
    plain = upload(stack, data, filename="p.csv", form=False)
    assert plain.status == 200, plain
    again = upload(stack, data, filename="p.csv", form=False)
    assert again.json()["file_id"] == plain.json()["file_id"] and again.json()["deduplicated"]
    semi = upload(stack, data, filename="p.csv", query="delimiter=;", form=False)
    assert semi.status == 200, semi
    assert semi.json()["file_id"] != plain.json()["file_id"], semi.json()
    assert semi.json().get("deduplicated") is not True
    # what it answers is what is stored
    stored = stack.http("GET", "/api/v1/datasets/" + semi.json()["file_id"]).json()
    assert stored["columns"] == 3 == len(semi.json()["columns"]), (stored, semi.json())
    target_z = upload(stack, data, filename="p.csv", query="delimiter=;&target=z", form=False)
    assert target_z.json()["file_id"] not in (semi.json()["file_id"], plain.json()["file_id"])
    stored = stack.http("GET", "/api/v1/datasets/" + target_z.json()["file_id"]).json()
    assert stored["target"] == "z", stored
    # each reading deduplicates with itself
    again = upload(stack, data, filename="p.csv", query="delimiter=;&target=z", form=False)
    assert again.json()["file_id"] == target_z.json()["file_id"] and again.json()["deduplicated"]


def test_quoting_none_reads_every_quote_as_text(stack):
    """?quoting=none reads a '"' as an ordinary character (csv.QUOTE_NONE): the quoted-looking
    field keeps its quotes and the comma inside it separates; the default reads CSV quoting.
    Another reading of the same bytes is another dataset."""
    data = b'id,text,star\n1,"a,b",%d\n2,x"y,3\n' % (uuid.uuid4().int % 1000)
    quoted = upload(stack, data, filename="q.csv", form=False)
    assert quoted.status == 200, quoted
    assert [c["name"] for c in quoted.json()["columns"]] == ["id", "text", "star"]
    assert quoted.json()["preview"][0]["text"] == "a,b", quoted.json()["preview"]
    # unquoted, row 1 has four fields: a ragged row, reported with its place
    err = assert_error(upload(stack, data, filename="q.csv", query="quoting=none", form=False),
                       400, "ragged_row")
    assert err["details"]["row"] == 2 and err["details"]["line"] == 2, err
    good = b'id,text,star\n1,"ab",%d\n2,x"y,3\n' % (uuid.uuid4().int % 1000)
    none = upload(stack, good, filename="q.csv", query="quoting=none", form=False)
    assert none.status == 200, none
    assert [r["text"] for r in none.json()["preview"]] == ['"ab"', 'x"y'], none.json()
    plain = upload(stack, good, filename="q.csv", form=False)
    assert plain.json()["file_id"] != none.json()["file_id"]
    assert plain.json()["preview"][0]["text"] == "ab", plain.json()
    bad = assert_error(upload(stack, good, query="quoting=raw"), 422, "invalid_parameter")
    assert bad["details"]["field"] == "quoting", bad


def test_malformed_options_paths_and_nul_bytes_are_refused_not_ignored(stack):
    data = b"a,b\n1,2\n3,%d\n" % (uuid.uuid4().int % 1000)
    # an option that cannot be decoded is an error naming it, never taken for a missing one
    for q, field in [("target=nope%00", "target"), ("delimiter=%00", "delimiter"),
                     ("target=%zz", "target"), ("filename=x%00.csv", "filename")]:
        err = assert_error(upload(stack, data, query=q), 422, "invalid_parameter")
        assert err["details"]["field"] == field, (q, err)
    err = assert_error(stack.http("GET", "/api/v1/runs?status=%00"), 422, "invalid_parameter")
    assert err["details"]["field"] == "status", err
    # a path that does not decode to UTF-8 is refused at the door, with its message
    for path in ["/api/v1/models/%FF/versions", "/api/v1/datasets/%C3%28", "/api/v1/x%00y"]:
        err = assert_error(stack.http("GET", path), 400, "bad_path")
        assert err["message"], err
    # a NUL byte in a cell: refused where it is, nothing stored
    before = db_counts(stack)
    err = assert_error(upload(stack, b"a,b\nx\x00y,2\n3,4\n"), 400, "invalid_csv")
    assert err["details"]["row"] == 2 and "NUL" in err["message"], err
    assert db_counts(stack) == before


def check_rejected(stack, resp, status, code):
    err = assert_error(resp, status, code)
    return err


def test_bad_inputs_have_exact_errors_and_leave_nothing(stack):
    before = db_counts(stack)
    # empty file
    err = check_rejected(stack, upload(stack, b"", form=False), 400, "empty_file")
    err = check_rejected(stack, upload(stack, b"a,b,c\n"), 400, "empty_file")
    # ragged rows, with the row named
    err = check_rejected(stack, upload(stack, b"a,b,c\n1,2,3\n4,5\n6,7,8\n"), 400, "ragged_row")
    assert err["details"]["row"] == 3 and err["details"]["line"] == 3, err
    v = err["details"]["validation"]
    assert v["isValid"] is False and v["errors"][0]["code"] == "ragged_row", v
    # not UTF-8
    err = check_rejected(stack, upload(stack, b"name,v\nok,1\nbad\xff\xfe,2\n"), 400, "invalid_utf8")
    assert err["details"]["row"] == 3, err
    # unterminated quote
    check_rejected(stack, upload(stack, b'a,b\n"open,1\n2,3\n'), 400, "unterminated_quote")
    # duplicate header
    check_rejected(stack, upload(stack, b"a,b,a\n1,2,3\n"), 400, "duplicate_header")
    # malformed multipart: no closing delimiter, then no boundary at all
    body, h = multipart("file", "x.csv", b"a,b\n1,2\n")
    r = stack.http("POST", "/api/upload", body=body[:-30], headers=h)
    err = check_rejected(stack, r, 400, "malformed_multipart")
    d = err["details"]
    assert d["code"] == "unterminated_part" and d["reason"] and d["offset"] > 0, err
    r = stack.http("POST", "/api/upload", body=b"a,b\n1,2\n",
                   headers={"Content-Type": "multipart/form-data"})
    check_rejected(stack, r, 400, "malformed_multipart")
    # a form without the file field
    body, h = multipart("other", "x.csv", b"a,b\n1,2\n")
    check_rejected(stack, stack.http("POST", "/api/upload", body=body, headers=h), 400, "missing_file")
    # JSON is not a CSV
    r = stack.http("POST", "/api/upload", body=b'{"a":1}', headers={"Content-Type": "application/json"})
    check_rejected(stack, r, 415, "unsupported_media_type")
    # 100 MB: over the upload limit (64 MiB)
    big = b"a,b\n" + b"1,2\n" * (25 << 20)
    r = upload(stack, big, form=False)
    err = check_rejected(stack, r, 413, "payload_too_large")
    assert err["details"]["limit"] == 64 << 20, err
    # unknown dataset ids
    for bad_id in (str(uuid.uuid4()), "not-a-uuid", "'; DROP TABLE datasets; --"):
        r = stack.http("GET", "/api/v1/datasets/" + bad_id.replace(" ", "%20"))
        check_rejected(stack, r, 404, "dataset_not_found")
    check_rejected(stack, stack.http("DELETE", "/api/v1/datasets/" + str(uuid.uuid4())), 404,
                   "dataset_not_found")
    assert db_counts(stack) == before, (before, db_counts(stack))


def test_warnings_are_reported_with_their_column(stack):
    data = b"id,const,sparse,label\n" + b"".join(
        b"%d,7,%s,%d\n" % (i, b"1" if i % 3 == 0 else b"", i % 2) for i in range(40))
    data += b"%s,7,,0\n" % uuid.uuid4().hex[:6].encode()
    r = upload(stack, data)
    assert r.status == 200, r
    warnings = r.json()["validation"]["warnings"]
    codes = {(w["code"], w.get("column_name")) for w in warnings}
    assert ("constant_column", "const") in codes, warnings
    assert ("mostly_missing", "sparse") in codes, warnings


def test_list_preview_profile_delete(stack):
    path = harness.data_file("sklearn_breast_cancer", "breast_cancer.csv")
    with open(path, "rb") as f:
        data = f.read()
    fid = upload(stack, data, filename="bc.csv").json()["file_id"]
    lst = stack.http("GET", "/api/v1/datasets?limit=2").json()
    assert len(lst["datasets"]) <= 2 and lst["total"] >= 1 and lst["limit"] == 2
    assert_error(stack.http("GET", "/api/v1/datasets?limit=0"), 422, "invalid_parameter")
    err = assert_error(stack.http("GET", "/api/v1/datasets?limit=abc"), 422, "invalid_parameter")
    assert err["details"]["field"] == "limit", err
    assert err["message"] == "limit must be a whole number from 1 to 1000", err
    prof = stack.http("GET", "/api/v1/datasets/%s/profile" % fid)
    assert prof.status == 200, prof
    p = prof.json()
    header, rows, _ = expected_columns(path)
    assert p["rows"] == len(rows) and p["target"] == "target" and p["task"] == "binary", p["target"]
    ones = sum(1 for r in rows if r[header.index("target")] == "1")
    bal = {str(b["class"]): b["count"] for b in p["class_balance"]}
    assert bal["1"] == ones and bal["0"] == len(rows) - ones, p["class_balance"]
    assert len(p["correlations"]["features"]) == len(header)
    # cached: the second read is the same document
    assert stack.http("GET", "/api/v1/datasets/%s/profile" % fid).json() == p
    r = stack.http("DELETE", "/api/v1/datasets/" + fid)
    assert r.status == 200 and r.json() == {"id": fid, "deleted": True}, r
    assert_error(stack.http("GET", "/api/v1/datasets/" + fid), 404, "dataset_not_found")
    assert stack.psql("SELECT count(*) FROM dataset_chunks WHERE dataset_id = '%s'" % fid) == [["0"]]


def test_cli_upload_matches_the_api(stack):
    import subprocess
    path = harness.data_file("sklearn_wine", "wine.csv")
    p = subprocess.run([os.path.join(stack.bin, "aiops"), "--url", stack.url(), "--api-key",
                        stack.api_key, "upload", path], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    import json
    j = json.loads(p.stdout)
    assert j["filename"] == "wine.csv" and j["rows"] == 178, j
