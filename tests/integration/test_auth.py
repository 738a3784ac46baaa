"""Authentication and project isolation: API keys, JWT HS256, scopes."""
import base64
import hashlib
import hmac
import json
import time

from test_gateway import assert_error


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(secret, claims, alg="HS256", header=None):
    h = header or {"alg": alg, "typ": "JWT"}
    signing = b64(json.dumps(h).encode()) + "." + b64(json.dumps(claims).encode())
    if alg == "none":
        return signing + "."
    sig = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(sig)


def bearer(token):
    return {"Authorization": "Bearer " + token}


def claims(**kw):
    now = int(time.time())
    c = {"sub": "tester", "project": "default", "scope": "read write", "iat": now, "exp": now + 600}
    c.update(kw)
    return c


def test_missing_and_wrong_credentials(stack):
    r = stack.http("GET", "/api/v1/datasets", auth=False)
    assert_error(r, 401, "missing_credentials")
    assert "www-authenticate" in r.headers
    r = stack.http("GET", "/api/v1/datasets", auth=False, headers={"X-API-Key": "aiops_" + "x" * 32})
    assert_error(r, 401, "invalid_api_key")
    r = stack.http("GET", "/api/v1/datasets", auth=False, headers={"X-API-Key": "short"})
    assert_error(r, 401, "invalid_api_key")
    r = stack.http("GET", "/api/v1/datasets")
    assert r.status == 200, r
    # public routes need nothing
    assert stack.http("GET", "/api/health", auth=False).status == 200


def test_jwt_accepted_and_refused(stack):
    s = stack.jwt_secret
    ok = stack.http("GET", "/api/v1/datasets", auth=False, headers=bearer(jwt(s, claims())))
    assert ok.status == 200, ok
    bad = [
        ("garbage", "not.a.jwt"),
        ("wrong secret", jwt("x" * 40, claims())),
        ("alg none", jwt(s, claims(), alg="none", header={"alg": "none", "typ": "JWT"})),
        ("alg HS512", jwt(s, claims(), header={"alg": "HS512", "typ": "JWT"})),
        ("expired", jwt(s, claims(exp=int(time.time()) - 5))),
        ("not yet valid", jwt(s, claims(nbf=int(time.time()) + 300))),
        ("no exp", jwt(s, {"sub": "t", "project": "default", "scope": "read"})),
        # a token must say which project it may touch: none would mean "default"'s data
        ("no project", jwt(s, {k: v for k, v in claims().items() if k != "project"})),
        ("empty project", jwt(s, claims(project=""))),
    ]
    for name, tok in bad:
        r = stack.http("GET", "/api/v1/datasets", auth=False, headers=bearer(tok))
        assert_error(r, 401, "invalid_token")
    r = stack.http("GET", "/api/v1/datasets", auth=False, headers={"Authorization": "Basic abc"})
    assert_error(r, 401, "invalid_token")


def test_scopes_are_enforced(stack):
    read_only = jwt(stack.jwt_secret, claims(scope="read"))
    r = stack.http("GET", "/api/v1/datasets", auth=False, headers=bearer(read_only))
    assert r.status == 200, r
    r = stack.http("POST", "/api/upload", body=b"a,b\n1,2\n", auth=False,
                   headers=dict(bearer(read_only), **{"Content-Type": "text/csv"}))
    assert_error(r, 403, "forbidden")
    key = json.loads(stack.admin("key", "create", "--project", "default", "--scopes", "read"))
    r = stack.http("DELETE", "/api/v1/datasets/00000000-0000-4000-8000-000000000000", auth=False,
                   headers={"X-API-Key": key["key"]})
    assert_error(r, 403, "forbidden")


def test_a_project_never_sees_another_projects_data(stack):
    key_a = json.loads(stack.admin("key", "create", "--project", "team-a"))["key"]
    key_b = json.loads(stack.admin("key", "create", "--project", "team-b"))["key"]
    csv = b"x,label\n1,0\n2,1\n3,0\n4,1\n%d,0\n" % int(time.time() * 1000)
    r = stack.http("POST", "/api/upload?filename=a.csv", body=csv, auth=False,
                   headers={"X-API-Key": key_a, "Content-Type": "text/csv"})
    assert r.status == 200, r
    fid = r.json()["file_id"]
    ra = stack.http("GET", "/api/v1/datasets/" + fid, auth=False, headers={"X-API-Key": key_a})
    assert ra.status == 200, ra
    rb = stack.http("GET", "/api/v1/datasets/" + fid, auth=False, headers={"X-API-Key": key_b})
    assert_error(rb, 404, "dataset_not_found")
    rb = stack.http("DELETE", "/api/v1/datasets/" + fid, auth=False, headers={"X-API-Key": key_b})
    assert_error(rb, 404, "dataset_not_found")
    lb = stack.http("GET", "/api/v1/datasets", auth=False, headers={"X-API-Key": key_b}).json()
    assert all(d["id"] != fid for d in lb["datasets"]), lb
    # the same bytes in project B are B's own dataset, not A's
    r = stack.http("POST", "/api/upload?filename=b.csv", body=csv, auth=False,
                   headers={"X-API-Key": key_b, "Content-Type": "text/csv"})
    assert r.status == 200 and r.json()["file_id"] != fid, r
    # a JWT for project B sees B only
    tok = jwt(stack.jwt_secret, claims(project="team-b"))
    rb = stack.http("GET", "/api/v1/datasets/" + fid, auth=False, headers=bearer(tok))
    assert_error(rb, 404, "dataset_not_found")


def test_revoked_key_is_refused(stack):
    key = json.loads(stack.admin("key", "create", "--project", "default"))
    stack.admin("key", "revoke", key["id"])
    r = stack.http("GET", "/api/v1/datasets", auth=False, headers={"X-API-Key": key["key"]})
    assert_error(r, 401, "invalid_api_key")
    rows = stack.psql("SELECT count(*) FROM api_keys WHERE id = '%s' AND revoked_at IS NOT NULL"
                      % key["id"])
    assert rows == [["1"]]
    # only the hash is stored
    rows = stack.psql("SELECT length(key_hash), prefix FROM api_keys WHERE id = '%s'" % key["id"])
    assert rows[0][0] == "32" and key["key"].startswith(rows[0][1]) and len(rows[0][1]) < 16
