"""The running gateway exports every metric family the dashboards and alerts read:
tests/static/test_deploy.py checks that deploy/ names only the families in its METRICS, this
checks on the running stack that GET /api/metrics serves each of them with its type."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "static"))
from test_deploy import METRICS, SERVICES, _run  # noqa: E402


def test_deploy_metrics_are_exported(stack):
    r = stack.http("GET", "/api/metrics")
    # the harness's Response, or a plain (status, headers, body) tuple
    status, headers, body = (r.status, r.headers, r.body) if hasattr(r, "status") else r
    assert status == 200, (status, body[:500])
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype
    text = body.decode("utf-8")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    missing = [m for m in METRICS if m not in types]
    assert not missing, "families missing from /api/metrics: %s\n%s" % (missing, text[:2000])
    wrong = {m: types[m] for m, t in METRICS.items() if types[m] != t}
    assert not wrong, "wrong metric types: %s (expected %s)" % (
        wrong, {m: METRICS[m] for m in wrong})
    # one aiops_service_up sample per service
    up = {}
    for svc, val in re.findall(r'^aiops_service_up\{[^}]*service="(\w+)"[^}]*\} (\S+)', text, re.M):
        assert float(val) in (0.0, 1.0), "aiops_service_up{service=%s} is %s" % (svc, val)
        up[svc] = val
    assert set(up) == set(SERVICES), "aiops_service_up has %s, expected %s" % (sorted(up), SERVICES)
    info = re.findall(r'^aiops_build_info\{[^}]*version="[^"]+"[^}]*\} (\S+)', text, re.M)
    assert info and float(info[0]) == 1.0, "aiops_build_info{version=...} 1 missing"
    promtool = shutil.which("promtool")
    if promtool:
        rc, out = _run([promtool, "check", "metrics"], stdin=body)
        assert rc == 0, "promtool check metrics:\n%s" % out
