"""Checks of the deployment descriptions: docker-compose.yml, Dockerfile, .dockerignore and
deploy/ (Kubernetes, Prometheus, Grafana).

Nothing here runs a container (there is no Docker engine); every file is checked by the tools
that exist: docker-compose 1.29 (`config`), promtool (`check config`, `check rules`,
`test rules`, `check metrics`), kubectl's built-in kustomize when present, and python3-yaml.
Missing tools: docker-compose and kubectl are optional (the test prints a note and returns);
promtool (Debian package prometheus) and python3-yaml are required.

The metric-name checks are the contract between the dashboards/alerts and the gateway:
every metric named in an alert or dashboard expression must be one the gateway exports
(METRICS below), and tests/integration/test_deploy_metrics.py checks on the running stack that
the gateway exports each of them. Renaming a metric on either side fails a test.

These are static checks: they read files and run linters, with no build and no running
services, and tests/run.py runs them as the "static" group (before the integration tests).

The replica checks are the contract between the manifests and the gateway's dialer
(gateway/forward.c): the gateway holds one nng connection per URL in <SVC>_RPC_URL and
<SVC>_EVENTS_URL, so every replica of a service must be named there on its own. A name that
stands for several replicas (a compose service with deploy.replicas, a k8s ClusterIP Service in
front of several pods) is one connection to ONE of them: the others' events (training progress
on /ws/training/{run_id}) never reach the gateway. svc-train is the service with replicas:
compose runs svc-train and svc-train-2, k8s a StatefulSet whose pods svc-train-N.svc-train-pods
(N < the HPA's maxReplicas) all appear in the gateway's lists.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "k8s")
PROM = os.path.join(DEPLOY, "prometheus")
GRAFANA = os.path.join(DEPLOY, "grafana")
DASHBOARD = os.path.join(GRAFANA, "dashboards", "aiops.json")

# Every metric family the gateway exports (GET /api/metrics), with its type.
METRICS = {
    "aiops_http_requests_total": "counter",
    "aiops_http_errors_total": "counter",
    "aiops_http_request_duration_seconds": "histogram",
    "aiops_http_requests_in_flight": "gauge",
    "aiops_uptime_seconds": "gauge",
    "aiops_service_up": "gauge",
    "aiops_websocket_clients": "gauge",
    "aiops_websocket_dropped_total": "counter",
    "aiops_build_info": "gauge",
}
# Series Prometheus itself adds for every scrape target; alert rules may use them.
PROMETHEUS_SERIES = {"up"}
SERVICES = ("ingest", "train", "explain", "report", "monitor")
SERVICE_PROGRAMS = {s: "aiops-" + s for s in SERVICES}
GATEWAY_URL_VARS = ["%s_%s_URL" % (s.upper(), k) for s in SERVICES for k in ("RPC", "EVENTS")]


# --- helpers ----------------------------------------------------------------------------------

def _yaml():
    try:
        import yaml  # noqa: PLC0415 -- python3-yaml, optional at import time
    except ImportError as e:
        raise AssertionError("python3-yaml is needed for these checks "
                             "(apt-get install python3-yaml)") from e
    return yaml


def _loader():
    y = _yaml()
    return getattr(y, "CSafeLoader", y.SafeLoader)  # libyaml when present: much faster


def _load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return _yaml().load(f, Loader=_loader())


def _load_yaml_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in _yaml().load_all(f, Loader=_loader()) if d is not None]


def _run(argv, cwd=ROOT, stdin=None):
    p = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, timeout=120)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def _promtool():
    path = shutil.which("promtool")
    assert path, "promtool is needed (Debian package prometheus: apt-get install prometheus)"
    return path


def _makefile_programs():
    """Program names the Makefile builds into bin/ (BIN_x := name, plus the CLI tools)."""
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        text = f.read()
    progs = set(re.findall(r"^BIN_[\w-]+\s*:=\s*(\S+)\s*$", text, re.M))
    progs.update(re.findall(r"^\$\(BINDIR\)/([\w-]+):", text, re.M))
    assert "aiops-gateway" in progs and "aiops-admin" in progs, progs
    return progs


# A PromQL expression -> the metric names it selects. Strings, label matchers, ranges,
# grouping clauses and Grafana variables are removed first; what is left and is not a function,
# an aggregation or a keyword is a metric name.
_PROMQL_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
                    "group_right", "bool", "offset", "inf", "nan"}


def promql_metric_names(expr):
    names = set(re.findall(r'__name__\s*=~?\s*"([^"]*)"', expr))
    s = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    s = re.sub(r"\{[^{}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s,
               flags=re.I)
    s = re.sub(r"\$\{[^}]*\}|\$\w+", " ", s)
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", s):
        tok = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("(") or tok.lower() in _PROMQL_KEYWORDS:
            continue
        names.add(tok)
    return names


def _family(name):
    """The exported family a series name belongs to, or None."""
    if name in METRICS:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)] if name.endswith(suffix) else None
        if base and METRICS.get(base) == "histogram":
            return base
    return None


def _alert_rules():
    doc = _load_yaml(os.path.join(PROM, "alerts.yml"))
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert rules, "alerts.yml has no rules"
    return rules


def _dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def _dashboard_panels(dash):
    out = []
    for p in dash.get("panels", []):
        out.append(p)
        out.extend(p.get("panels", []))  # panels inside collapsed rows
    return out


def _dashboard_exprs(dash):
    """(where, expr) for every PromQL query of the dashboard, template queries included."""
    exprs = []
    for p in _dashboard_panels(dash):
        for t in p.get("targets", []):
            if t.get("expr"):
                exprs.append(("panel %r" % p.get("title"), t["expr"]))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*\w+\s*\)\s*", q)
        exprs.append(("variable %r" % v.get("name"), m.group(1) if m else q))
    return exprs


def _compose():
    return _load_yaml(os.path.join(ROOT, "docker-compose.yml"))


def _env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: str(v) for k, v in env.items()}


def _port_of(url):
    m = re.fullmatch(r"tcp://([\w.-]+):(\d+)", url)
    assert m, "not a tcp://host:port nng URL: %r" % url
    return m.group(1), int(m.group(2))


def _url_list(var, value):
    """[(host, port)] of a gateway URL variable: a comma-separated list, as gateway/forward.c
    (dial_all) reads it -- no spaces, no empty entries, each URL under 512 bytes."""
    assert value and not re.search(r"\s", value), "%s has whitespace: %r" % (var, value)
    urls = value.split(",")
    assert all(0 < len(u) < 512 for u in urls), "%s: empty or overlong entry: %r" % (var, value)
    out = [_port_of(u) for u in urls]
    assert len(set(out)) == len(out), "%s lists a URL twice: %r" % (var, value)
    return out


def _replicas(spec):
    """A workload's replica count (the API's default is 1)."""
    return int(spec.get("replicas", 1))


def _k8s_docs():
    """(file name, document) for every YAML document under deploy/k8s."""
    docs = []
    for dirpath, _, files in os.walk(K8S):
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                path = os.path.join(dirpath, name)
                for d in _load_yaml_all(path):
                    docs.append((os.path.relpath(path, K8S), d))
    assert docs, "no manifests under deploy/k8s"
    return docs


def _k8s_objects(kind):
    return [d for f, d in _k8s_docs() if d.get("kind") == kind]


# --- self-test of the PromQL name extractor (a broken extractor would pass everything) --------

def test_deploy_promql_name_extractor():
    cases = {
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{route!~"/ws/.*"}[5m])))'
        ' > 0.5': {"a_bucket"},
        'sum(rate(x_total{code=~"5.."}[$__rate_interval])) / sum without (code) (rate(y[5m]))':
            {"x_total", "y"},
        'up{job="aiops-gateway"} == 0': {"up"},
        'absent(up{job="g"})': {"up"},
        'max(m{instance=~"$instance"}) by (service) > 1e3 and on (service) n offset 5m':
            {"m", "n"},
        'resets(u[30m]) > 2': {"u"},
        '{__name__="z"}': {"z"},
    }
    for expr, want in cases.items():
        got = promql_metric_names(expr)
        assert got == want, "%s -> %s, expected %s" % (expr, got, want)
    assert _family("aiops_http_request_duration_seconds_bucket") == \
        "aiops_http_request_duration_seconds"
    assert _family("aiops_http_requests_total_bucket") is None
    assert _family("aiops_http_request_count") is None


# --- docker-compose.yml -----------------------------------------------------------------------

def test_deploy_compose_config_valid():
    exe = shutil.which("docker-compose")
    if not exe:
        print("note: docker-compose not installed; compose validation skipped")
        return
    rc, out = _run([exe, "-f", "docker-compose.yml", "config", "-q"])
    assert rc == 0, "docker-compose config -q failed (exit %d):\n%s" % (rc, out)
    # the optional monitoring profile must validate too
    rc, out = _run([exe, "-f", "docker-compose.yml", "--profile", "monitoring", "config", "-q"])
    assert rc == 0, "docker-compose --profile monitoring config -q failed:\n%s" % out


def test_deploy_compose_services():
    services = _compose()["services"]
    programs = _makefile_programs()

    pg, rd = services["postgres"], services["redis"]
    assert str(pg["image"]).startswith("postgres:15"), pg["image"]
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"]), pg["healthcheck"]
    assert any(":/var/lib/postgresql/data" in v for v in pg.get("volumes", [])), "no PG volume"
    assert str(rd["image"]).startswith("redis:7"), rd["image"]
    assert "redis-cli" in rd["healthcheck"]["test"] and "ping" in rd["healthcheck"]["test"]

    mig = services["migrate"]
    assert mig["command"] == ["aiops-admin", "migrate"], mig["command"]
    assert str(mig.get("restart", "no")) == "no", "the one-shot migrate must not restart"
    assert mig["depends_on"]["postgres"]["condition"] == "service_healthy"

    for s in SERVICES:
        name = "svc-" + s
        svc = services[name]
        prog = SERVICE_PROGRAMS[s]
        assert prog in programs, "%s is not built by the Makefile" % prog
        assert svc["command"] == [prog], (name, svc["command"])
        assert svc["healthcheck"]["test"] == ["CMD", prog, "--healthcheck"], \
            (name, svc["healthcheck"])
        env = _env(svc)
        for var in ("DATABASE_URL", "REDIS_URL", "RPC_LISTEN", "EVENTS_LISTEN"):
            assert env.get(var), "%s: %s not set" % (name, var)
        assert "@postgres:" in env["DATABASE_URL"] and "//redis:" in env["REDIS_URL"], env
        rpc_host, rpc_port = _port_of(env["RPC_LISTEN"])
        ev_host, ev_port = _port_of(env["EVENTS_LISTEN"])
        assert rpc_host == ev_host == "0.0.0.0", "%s must listen on every interface" % name
        assert rpc_port != ev_port, name
        deps = svc["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", (name, deps)
    assert not any("container_name" in services[n] for n in services), \
        "container_name would clash between the copies of one service config"

    gw = services["gateway"]
    assert gw["command"] == ["aiops-gateway"], gw["command"]
    env = _env(gw)
    assert env.get("AIOPS_BIND") == "0.0.0.0", "the gateway must bind 0.0.0.0 in a container"
    assert "DISABLE_AUTH" not in env, "DISABLE_AUTH must never be set in a container"
    for var in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET"):
        assert env.get(var), "gateway: %s not set" % var
    port = env.get("AIOPS_PORT", "8000")
    assert any(str(p).endswith(":%s" % port) for p in gw["ports"]), gw["ports"]
    # every replica of every service (test_deploy_compose_gateway_dials_every_replica checks
    # the lists in detail) is healthy before the gateway starts
    for s in SERVICES:
        for name in _compose_replicas(services, s):
            assert gw["depends_on"].get(name, {}).get("condition") == "service_healthy", \
                "the gateway must wait for %s to be healthy" % name
    hc = " ".join(gw["healthcheck"]["test"])
    assert "/healthz" in hc and port in hc, hc

    # the monitoring profile mounts the files checked below
    prom, graf = services["prometheus"], services["grafana"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prom["volumes"], prom["volumes"]
    vols = graf["volumes"]
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in vols, vols
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in vols, vols


def _compose_replicas(services, s):
    """Names of the compose services that run service s (its program is their command)."""
    return sorted(n for n, svc in services.items()
                  if svc.get("command") == [SERVICE_PROGRAMS[s]])


def test_deploy_compose_gateway_dials_every_replica():
    """Each compose service is one container (no deploy.replicas, which compose's DNS would hide
    behind one name), svc-train has at least two such copies sharing one configuration, and the
    gateway's URL lists name every copy with the ports it listens on."""
    services = _compose()["services"]
    env = _env(services["gateway"])
    for s in SERVICES:
        names = _compose_replicas(services, s)
        assert names and names[0] == "svc-" + s, (s, names)
        for kind, listen_var in (("RPC", "RPC_LISTEN"), ("EVENTS", "EVENTS_LISTEN")):
            var = "%s_%s_URL" % (s.upper(), kind)
            want = {(n, _port_of(_env(services[n])[listen_var])[1]) for n in names}
            got = _url_list(var, env.get(var, ""))
            assert set(got) == want, \
                "gateway %s=%s, but the %s replicas listen at %s" % (
                    var, env.get(var), s, sorted("%s:%d" % w for w in want))
        for n in names:
            svc = services[n]
            reps = svc.get("deploy", {}).get("replicas", 1)
            assert int(reps) == 1, \
                "%s: deploy.replicas %s -- the gateway would reach only one of them; add a " \
                "service per replica instead (see x-svc-train in docker-compose.yml)" % (n, reps)
            assert "ports" not in svc, "%s must not publish its nng ports" % n

    trainers = _compose_replicas(services, "train")
    assert len(trainers) >= 2, "svc-train needs at least two replicas: %s" % trainers
    first = services[trainers[0]]
    for n in trainers[1:]:
        for k in ("image", "environment", "healthcheck", "depends_on", "deploy",
                  "stop_grace_period"):
            assert services[n].get(k) == first.get(k), \
                "%s and %s differ in %s: both come from x-svc-train" % (trainers[0], n, k)


# --- Dockerfile -------------------------------------------------------------------------------

def _dockerfile_stages():
    with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, arg = line.partition(" ")
        if instr.upper() == "FROM":
            stages.append({"from": arg.strip(), "lines": []})
        elif stages:
            stages[-1]["lines"].append((instr.upper(), arg.strip()))
    return stages


def _apt_packages(stage):
    pkgs = []
    for instr, arg in stage["lines"]:
        if instr != "RUN":
            continue
        for m in re.finditer(r"apt-get install ([^&;|]*)", arg):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


def test_deploy_dockerfile():
    stages = _dockerfile_stages()
    assert len(stages) == 2, "expected a build stage and a runtime stage: %s" % stages
    build, runtime = stages
    assert re.fullmatch(r"debian:bookworm\s+AS\s+build", build["from"], re.I), build["from"]
    assert runtime["from"] == "debian:bookworm-slim", runtime["from"]

    need_build = ("build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev libevent-dev "
                  "libnng-dev libpq-dev libhiredis-dev libopenblas-dev libhpdf-dev libwslay-dev "
                  "libjansson-dev libssl-dev libcurl4-openssl-dev").split()
    need_run = ("libevent-2.1-7 libevent-pthreads-2.1-7 libnng1 libprotobuf-c1 libpq5 "
                "libhiredis0.14 libopenblas0 libhpdf-2.3.0 libwslay1 libjansson4 libssl3 libcurl4 "
                "fonts-nanum").split()
    bpk, rpk = _apt_packages(build), _apt_packages(runtime)
    assert not set(need_build) - set(bpk), "build stage lacks %s" % (set(need_build) - set(bpk))
    assert not set(need_run) - set(rpk), "runtime stage lacks %s" % (set(need_run) - set(rpk))
    # `all` by name: the Makefile's first rule is not `all`, so a bare `make` builds too little
    assert any(i == "RUN" and re.search(r"\bmake\b[^&;|]*\ball\b", a)
               for i, a in build["lines"]), "the build stage must run `make ... all`"

    # the programs the build checks for are the ones the Makefile builds
    programs = _makefile_programs()
    checked = set()
    for i, a in build["lines"]:
        m = re.search(r"for p in ([\w\s-]+?);", a)
        if i == "RUN" and m:
            checked = set(m.group(1).split())
    assert checked == programs, "Dockerfile checks %s, Makefile builds %s" % (checked, programs)

    rl = runtime["lines"]
    assert ("COPY", "--from=build /src/bin/ /usr/local/bin/") in rl, rl
    users = [a for i, a in rl if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "runtime must not run as root"
    envs = " ".join(a for i, a in rl if i == "ENV")
    assert "AIOPS_BIND=0.0.0.0" in envs, "containers must bind 0.0.0.0"
    assert "DISABLE_AUTH" not in envs

    # every package named exists in Debian 12 (apt-cache knows it after apt-get update)
    apt = shutil.which("apt-cache")
    if not apt:
        print("note: apt-cache not found; package names not checked")
    else:
        rc, out = _run([apt, "show", "--no-all-versions"] + sorted(set(bpk + rpk)))
        known = set(re.findall(r"^Package: (\S+)$", out, re.M))
        missing = sorted(set(bpk + rpk) - known)
        if missing and not known:
            print("note: apt-cache knows no packages (run apt-get update); names not checked")
        else:
            assert not missing, "unknown Debian packages: %s" % missing

    with open(os.path.join(ROOT, ".dockerignore"), encoding="utf-8") as f:
        ignored = {l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")}
    for p in ("build", "bin", "var", ".git"):
        assert p in ignored, ".dockerignore must exclude %s" % p


# --- Prometheus -------------------------------------------------------------------------------

def test_deploy_prometheus_config():
    rc, out = _run([_promtool(), "check", "config", "prometheus.yml"], cwd=PROM)
    assert rc == 0, "promtool check config prometheus.yml:\n%s" % out
    assert "1 rule files found" in out, out
    cfg = _load_yaml(os.path.join(PROM, "prometheus.yml"))
    jobs = {j["job_name"]: j for j in cfg["scrape_configs"]}
    gw = jobs["aiops-gateway"]
    assert gw.get("metrics_path") == "/api/metrics", gw
    targets = [t for sc in gw["static_configs"] for t in sc["targets"]]
    # the compose service name and the gateway's port
    assert targets == ["gateway:8000"], targets


def test_deploy_prometheus_kubernetes_config():
    """prometheus-kubernetes.yml: Debian's promtool is built without Kubernetes discovery, so
    the kubernetes_sd_configs blocks are checked here by shape and swapped for static targets
    before promtool checks everything else (relabelling, rule files)."""
    cfg = _load_yaml(os.path.join(PROM, "prometheus-kubernetes.yml"))
    job = {j["job_name"]: j for j in cfg["scrape_configs"]}["aiops-gateway"]
    sd = job["kubernetes_sd_configs"]
    assert sd and sd[0]["role"] == "pod" and sd[0]["namespaces"]["names"] == ["aiops"], sd
    relabel_text = json.dumps(job["relabel_configs"])
    for ann in ("prometheus_io_scrape", "prometheus_io_path", "prometheus_io_port"):
        assert ann in relabel_text, "relabelling does not use the %s annotation" % ann
    # the annotations the relabelling reads are on the gateway pods
    gw = [d for d in _k8s_objects("Deployment") if d["metadata"]["name"] == "gateway"][0]
    ann = gw["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/path"] == "/api/metrics"
    ports = [p["containerPort"] for c in gw["spec"]["template"]["spec"]["containers"]
             for p in c.get("ports", [])]
    assert int(ann["prometheus.io/port"]) in ports, (ann, ports)

    for j in cfg["scrape_configs"]:
        if "kubernetes_sd_configs" in j:
            del j["kubernetes_sd_configs"]
            j["static_configs"] = [{"targets": ["placeholder:8000"]}]
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "prometheus.yml"), "w", encoding="utf-8") as f:
            f.write(_yaml().safe_dump(cfg))
        for r in cfg.get("rule_files", []):
            shutil.copy(os.path.join(PROM, r), os.path.join(tmp, r))
        rc, out = _run([_promtool(), "check", "config", "prometheus.yml"], cwd=tmp)
    assert rc == 0, "promtool check config (kubernetes, SD swapped):\n%s" % out


def test_deploy_alert_rules():
    rc, out = _run([_promtool(), "check", "rules", "alerts.yml"], cwd=PROM)
    assert rc == 0, "promtool check rules alerts.yml:\n%s" % out
    rc, out = _run([_promtool(), "test", "rules", "alerts_test.yml"], cwd=PROM)
    assert rc == 0, "promtool test rules alerts_test.yml:\n%s" % out

    rules = _alert_rules()
    for r in rules:
        assert "alert" in r, "recording rules do not belong in alerts.yml: %s" % r
        assert r.get("labels", {}).get("severity") in ("critical", "warning", "info"), r
        assert r.get("annotations", {}).get("summary"), "%s has no summary" % r["alert"]

    def find(pred, what):
        hits = [r for r in rules if pred(re.sub(r"\s+", " ", r["expr"]), r)]
        assert hits, "no alert for: %s" % what
        return hits[0]

    find(lambda e, r: re.search(r"\bup\{[^}]*\}\s*==\s*0", e), "gateway down (up == 0)")
    find(lambda e, r: "aiops_service_up" in e and "== 0" in e and r.get("for") == "1m",
         "a service down for 1m")
    find(lambda e, r: "aiops_http_requests_total" in e and '"5.."' in e and "> 0.05" in e
         and r.get("for") == "5m", "5xx ratio > 5% for 5m")
    find(lambda e, r: "histogram_quantile(0.95" in e
         and "aiops_http_request_duration_seconds_bucket" in e
         and re.search(r"by \(le, route\)|by \(route, le\)", e) and "> 0.5" in e
         and r.get("for") == "5m", "p95 latency > 0.5 s for 5m by le and route")
    find(lambda e, r: "aiops_websocket_dropped_total" in e, "WebSocket drops")


# --- the metric-name contract -----------------------------------------------------------------

def test_deploy_metric_names_are_exported_names():
    bad = []
    for r in _alert_rules():
        for n in promql_metric_names(r["expr"]):
            if not _family(n) and n not in PROMETHEUS_SERIES:
                bad.append("alerts.yml %s: %s" % (r["alert"], n))
    used = set()
    for where, expr in _dashboard_exprs(_dashboard()):
        names = promql_metric_names(expr)
        assert names, "%s: no metric in %r" % (where, expr)
        for n in names:
            if _family(n):
                used.add(_family(n))
            else:
                bad.append("aiops.json %s: %s" % (where, n))
    assert not bad, "metric names the gateway does not export:\n  " + "\n  ".join(bad)
    # the dashboard shows every family the gateway exports
    assert used == set(METRICS), "dashboard never shows %s" % sorted(set(METRICS) - used)


def test_deploy_dashboard_queries_compile():
    """Every dashboard query is valid PromQL: each becomes a recording rule (Grafana variables
    replaced by plain values) that promtool parses."""
    exprs = _dashboard_exprs(_dashboard())
    rules = []
    for i, (where, e) in enumerate(exprs):
        e = e.replace("$__rate_interval", "1m").replace("$__interval", "1m")
        e = re.sub(r"\$\{?\w+\}?", ".*", e)
        rules.append({"record": "dashboard:query_%d" % i, "expr": e})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_rules.yml")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
        rc, out = _run([_promtool(), "check", "rules", path], cwd=tmp)
    assert rc == 0, "a dashboard query is not valid PromQL:\n%s\n%s" % (out, exprs)


# --- Grafana ----------------------------------------------------------------------------------

def test_deploy_grafana_dashboard_and_provisioning():
    dash = _dashboard()
    assert dash.get("uid") and dash.get("title"), "dashboard needs a uid and a title"
    panels = _dashboard_panels(dash)
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    vars_ = {v["name"]: v for v in dash["templating"]["list"]}
    dsvar = vars_["datasource"]
    assert dsvar["type"] == "datasource" and dsvar["query"] == "prometheus", dsvar
    titles = []
    for p in panels:
        for k in ("x", "y", "w", "h"):
            assert isinstance(p["gridPos"].get(k), int), p["title"]
        if p["type"] == "row":
            continue
        titles.append(p["title"])
        assert p.get("targets"), "panel %r has no query" % p["title"]
        for t in p["targets"]:
            assert t.get("datasource", p.get("datasource")) == \
                {"type": "prometheus", "uid": "${datasource}"}, p["title"]
    # what the dashboard is for
    exprs = " ".join(e for _, e in _dashboard_exprs(dash))
    for q in ("0.5", "0.95", "0.99"):
        assert "histogram_quantile(%s, sum by (le, route)" % q in exprs, "p%s latency" % q
    assert "sum by (route) (rate(aiops_http_requests_total" in exprs, "request rate per route"

    ds = _load_yaml(os.path.join(GRAFANA, "provisioning", "datasources", "prometheus.yml"))
    d = ds["datasources"][0]
    assert ds["apiVersion"] == 1 and d["type"] == "prometheus" and d["access"] == "proxy", d
    host = re.match(r"http://([\w.-]+):9090$", d["url"])
    assert host and host.group(1) in _compose()["services"], d["url"]
    prov = _load_yaml(os.path.join(GRAFANA, "provisioning", "dashboards", "aiops.yml"))
    assert prov["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards", prov


# --- Kubernetes -------------------------------------------------------------------------------

def test_deploy_k8s_manifests_parse():
    docs = _k8s_docs()
    seen = set()
    for f, d in docs:
        assert isinstance(d, dict) and d.get("apiVersion") and d.get("kind"), (f, d)
        if d["kind"] == "Kustomization":
            continue
        name = d.get("metadata", {}).get("name")
        assert name, "%s: %s without a name" % (f, d["kind"])
        key = (d["kind"], name)
        assert key not in seen, "%s: duplicate %s/%s" % (f, *key)
        seen.add(key)
    kust = _load_yaml(os.path.join(K8S, "kustomization.yaml"))
    files = {f for f, d in docs if d["kind"] != "Kustomization"}
    assert set(kust["resources"]) == files, \
        "kustomization.yaml resources %s != manifests %s" % (
            sorted(kust["resources"]), sorted(files))
    kinds = {k for k, _ in seen}
    for k in ("Namespace", "ConfigMap", "Secret", "Deployment", "StatefulSet", "Service", "Job",
              "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"):
        assert k in kinds, "no %s in deploy/k8s" % k


def _containers(dep):
    spec = dep["spec"]["template"]["spec"]
    return spec.get("containers", []), spec.get("initContainers", [])


def _assert_resources(where, c):
    res = c.get("resources", {})
    for k in ("requests", "limits"):
        for r in ("cpu", "memory"):
            assert res.get(k, {}).get(r), "%s container %s: no resources.%s.%s" % (
                where, c["name"], k, r)


def _workloads():
    """{name: object} for every Deployment and StatefulSet."""
    out = {}
    for kind in ("Deployment", "StatefulSet"):
        for d in _k8s_objects(kind):
            assert d["metadata"]["name"] not in out, "two workloads named %s" % d["metadata"]
            out[d["metadata"]["name"]] = d
    return out


def _selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _hpa_for(kind, name):
    """The HorizontalPodAutoscaler scaling kind/name, or None."""
    hits = [h for h in _k8s_objects("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": kind,
                                                "name": name}]
    assert len(hits) <= 1, "two HPAs scale %s/%s" % (kind, name)
    return hits[0] if hits else None


def test_deploy_k8s_workloads():
    work = _workloads()
    deps = {n: d for n, d in work.items() if d["kind"] == "Deployment"}
    sts = {n: d for n, d in work.items() if d["kind"] == "StatefulSet"}
    assert set(work) == {"gateway"} | {"svc-" + s for s in SERVICES}, sorted(work)
    # svc-train has several replicas, each dialled by its own name: a StatefulSet
    assert set(sts) == {"svc-train"}, "StatefulSets: %s" % sorted(sts)
    services = {s["metadata"]["name"]: s for s in _k8s_objects("Service")}
    for name, dep in work.items():
        spec = dep["spec"]
        labels = spec["template"]["metadata"]["labels"]
        sel = spec["selector"]["matchLabels"]
        assert all(labels.get(k) == v for k, v in sel.items()), "%s: selector/labels" % name
        psec = spec["template"]["spec"].get("securityContext", {})
        assert psec.get("runAsNonRoot") is True, "%s: runAsNonRoot" % name
        containers, inits = _containers(dep)
        assert len(containers) == 1, name
        c = containers[0]
        for probe in ("livenessProbe", "readinessProbe"):
            assert c.get(probe), "%s: no %s" % (name, probe)
        _assert_resources(name, c)
        for ic in inits:
            _assert_resources(name, ic)
        # `command` would replace the image's ENTRYPOINT (tini); the program goes in args
        assert "command" not in c and c.get("args"), "%s: use args, not command" % name
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        env = {e["name"] for e in c.get("env", [])}
        assert "DISABLE_AUTH" not in env, name
        assert {"DATABASE_URL", "REDIS_URL"} <= env, "%s: stores not configured" % name

        if name == "gateway":
            assert c["args"] == ["aiops-gateway"], c["args"]
            assert "JWT_SECRET" in env
            lp, rp = c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]
            assert lp["path"] == "/healthz" and rp["path"] == "/readyz", (lp, rp)
            for p in (lp, rp):
                assert p["port"] in ports or p["port"] in ports.values(), p
        else:
            prog = SERVICE_PROGRAMS[name[len("svc-"):]]
            assert c["args"] == [prog], (name, c["args"])
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe not in c and probe == "startupProbe":
                    continue
                cmd = c[probe].get("exec", {}).get("command")
                assert cmd == [prog, "--healthcheck"], (name, probe, cmd)
                # --healthcheck gives up after 2 s: the probe must wait longer than that
                assert c[probe].get("timeoutSeconds", 1) > 2, (name, probe)
            assert set(ports.values()) == {7100, 7200}, (name, ports)

        # a Deployment's Service has its name; a StatefulSet's is its governing serviceName
        svc_name = spec["serviceName"] if dep["kind"] == "StatefulSet" else name
        svc = services.get(svc_name)
        assert svc, "%s %s has no Service %s" % (dep["kind"], name, svc_name)
        assert _selects(svc["spec"]["selector"], labels), (name, svc_name)
        for p in svc["spec"]["ports"]:
            tp = p.get("targetPort", p["port"])
            assert tp in ports or tp in ports.values(), "%s: Service targetPort %s" % (name, tp)

    train = sts["svc-train"]
    assert _replicas(train["spec"]) >= 2, "svc-train replicas"
    train_res = train["spec"]["template"]["spec"]["containers"][0]["resources"]
    other_res = deps["svc-ingest"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert _mem_bytes(train_res["limits"]["memory"]) > _mem_bytes(other_res["limits"]["memory"])
    # jobs in progress get time to finish or hand back their lease
    assert train["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60

    hpa = _hpa_for("StatefulSet", "svc-train")
    assert hpa, "no HorizontalPodAutoscaler scales StatefulSet svc-train: %s" % (
        _k8s_objects("HorizontalPodAutoscaler"))
    lo, hi = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
    assert 2 <= lo <= _replicas(train["spec"]) <= hi, (lo, _replicas(train["spec"]), hi)
    for h in _k8s_objects("HorizontalPodAutoscaler"):
        ref = h["spec"]["scaleTargetRef"]
        assert ref["name"] in work and work[ref["name"]]["kind"] == ref["kind"], \
            "HPA %s scales %s/%s, which does not exist" % (h["metadata"]["name"], ref["kind"],
                                                          ref["name"])

    pdbs = _k8s_objects("PodDisruptionBudget")
    assert any(p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name") == "gateway"
               for p in pdbs), pdbs
    for p in pdbs:
        sel = p["spec"]["selector"]["matchLabels"]
        assert any(_selects(sel, w["spec"]["template"]["metadata"]["labels"])
                   for w in work.values()), "PDB %s selects no pods" % p["metadata"]["name"]


# svc-train-3.svc-train-pods, optionally with .<namespace>.svc[.cluster.local]
_POD_HOST = re.compile(r"([a-z0-9-]+)-(\d+)\.([a-z0-9-]+)"
                       r"(?:\.[a-z0-9-]+\.svc(?:\.cluster\.local)?)?")


def test_deploy_k8s_gateway_dials_every_train_pod():
    """svc-train's pods have stable names through a headless Service, and the gateway's
    TRAIN_RPC_URL and TRAIN_EVENTS_URL name every pod the HPA may create (ordinals 0 ..
    maxReplicas - 1), each with the right port: the gateway hears every replica's events."""
    train = _workloads()["svc-train"]
    spec = train["spec"]
    assert train["kind"] == "StatefulSet", train["kind"]
    assert spec.get("podManagementPolicy") == "Parallel", spec.get("podManagementPolicy")
    labels = spec["template"]["metadata"]["labels"]
    assert _selects(spec["selector"]["matchLabels"], labels), "selector/labels"

    services = {s["metadata"]["name"]: s for s in _k8s_objects("Service")}
    head = services.get(spec.get("serviceName"))
    assert head, "StatefulSet svc-train: serviceName %r is no Service" % spec.get("serviceName")
    hspec = head["spec"]
    assert hspec.get("clusterIP") == "None", "%s must be headless" % spec["serviceName"]
    # only ready pods get a DNS name; the gateway's dialer retries until then
    assert hspec.get("publishNotReadyAddresses", False) is False, hspec
    assert _selects(hspec["selector"], labels), "%s does not select svc-train's pods" % (
        spec["serviceName"])

    c = spec["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    data = {m["metadata"]["name"]: m for m in _k8s_objects("ConfigMap")}["aiops-config"]["data"]
    want_ports = {"RPC": _port_of(data["RPC_LISTEN"])[1],
                  "EVENTS": _port_of(data["EVENTS_LISTEN"])[1]}
    assert set(want_ports.values()) == set(ports.values()), (want_ports, ports)
    hport = {p["port"]: p.get("targetPort", p["port"]) for p in hspec["ports"]}
    for kind, port in want_ports.items():
        tp = hport.get(port)
        assert tp == port or ports.get(tp) == port, \
            "%s: port %d not served for %s" % (spec["serviceName"], port, kind)

    hpa = _hpa_for("StatefulSet", "svc-train")
    most = hpa["spec"]["maxReplicas"] if hpa else _replicas(spec)
    why = "HPA maxReplicas" if hpa else "replicas, no HPA"
    assert most >= _replicas(spec), (most, _replicas(spec))
    for kind, port in want_ports.items():
        var = "TRAIN_%s_URL" % kind
        ordinals = []
        for host, p in _url_list(var, data[var]):
            m = _POD_HOST.fullmatch(host)
            assert m and m.group(1) == "svc-train" and m.group(3) == spec["serviceName"], \
                "%s: %s is not svc-train-N.%s" % (var, host, spec["serviceName"])
            assert p == port, "%s: %s:%d, but svc-train listens on %d" % (var, host, p, port)
            ordinals.append(int(m.group(2)))
        assert sorted(ordinals) == list(range(most)), \
            "%s names pods %s, but the StatefulSet may have pods 0..%d (%s %d): the gateway " \
            "would not hear the others" % (var, sorted(ordinals), most - 1, why, most)


def _mem_bytes(q):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?", str(q))
    assert m, q
    mult = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3,
            "M": 10**6, "G": 10**9, "T": 10**12, None: 1}
    return int(m.group(1)) * mult[m.group(2)]


def test_deploy_k8s_config_job_ingress():
    cms = {c["metadata"]["name"]: c for c in _k8s_objects("ConfigMap")}
    data = cms["aiops-config"]["data"]
    assert data["AIOPS_BIND"] == "0.0.0.0" and "DISABLE_AUTH" not in data, data
    services = {s["metadata"]["name"]: s for s in _k8s_objects("Service")}
    rpc_port = _port_of(data["RPC_LISTEN"])[1]
    ev_port = _port_of(data["EVENTS_LISTEN"])[1]
    work = _workloads()
    for var in GATEWAY_URL_VARS:
        want = rpc_port if "_RPC_" in var else ev_port
        svc_name = "svc-" + var.split("_")[0].lower()
        for host, port in _url_list(var, data[var]):
            m = _POD_HOST.fullmatch(host)
            if m:  # one pod of a StatefulSet (test_deploy_k8s_gateway_dials_every_train_pod)
                sts = work.get(m.group(1))
                assert sts and sts["kind"] == "StatefulSet" and m.group(1) == svc_name, \
                    "%s: %s is no pod of StatefulSet %s" % (var, host, svc_name)
                svc = services.get(m.group(3))
                assert svc and m.group(3) == sts["spec"]["serviceName"], \
                    "%s: %s is not under %s's serviceName %s" % (
                        var, host, svc_name, sts["spec"]["serviceName"])
            else:
                assert host == svc_name, "%s points at %s" % (var, host)
                svc = services.get(host)
                assert svc, "%s points at %s, which is no Service" % (var, host)
                # a Service name is one connection to one pod: fine only for a single replica
                behind = [w for w in work.values()
                          if _selects(svc["spec"]["selector"],
                                      w["spec"]["template"]["metadata"]["labels"])]
                assert len(behind) == 1, "%s: Service %s selects %s" % (
                    var, host, [w["metadata"]["name"] for w in behind])
                w = behind[0]
                assert _replicas(w["spec"]) == 1 and not _hpa_for(w["kind"], host), \
                    "%s=%s: %s has several replicas, but the gateway reaches only one pod " \
                    "through a Service name; dial each pod by name (see svc-train.yaml)" % (
                        var, data[var], host)
            assert port == want and port in [p["port"] for p in svc["spec"]["ports"]], \
                (var, port)

    sec = {s["metadata"]["name"]: s for s in _k8s_objects("Secret")}["aiops-secrets"]
    vals = sec.get("stringData") or {}
    for k in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET"):
        assert "CHANGE-ME" in vals.get(k, ""), "Secret %s must be a marked placeholder" % k

    jobs = _k8s_objects("Job")
    assert any(c.get("args") == ["aiops-admin", "migrate"]
               for j in jobs for c in j["spec"]["template"]["spec"]["containers"]), jobs
    for j in jobs:
        for c in j["spec"]["template"]["spec"]["containers"]:
            _assert_resources("Job " + j["metadata"]["name"], c)

    ings = _k8s_objects("Ingress")
    assert ings, "no Ingress"
    for ing in ings:
        ann = ing["metadata"].get("annotations", {})
        for k in ("proxy-read-timeout", "proxy-send-timeout"):
            v = ann.get("nginx.ingress.kubernetes.io/" + k)
            assert v and int(v) >= 3600, "Ingress needs a WebSocket-friendly %s: %r" % (k, v)
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                svc = services[b["name"]]
                names = [p.get("name") for p in svc["spec"]["ports"]]
                nums = [p["port"] for p in svc["spec"]["ports"]]
                assert b["port"].get("name") in names or b["port"].get("number") in nums, b


def test_deploy_k8s_kustomize_builds():
    exe = shutil.which("kubectl")
    if not exe:
        print("note: kubectl not installed; kustomize build skipped")
        return
    rc, out = _run([exe, "kustomize", os.path.join("deploy", "k8s")])
    assert rc == 0, "kubectl kustomize deploy/k8s failed:\n%s" % out
    built = [d for d in _yaml().load_all(out, Loader=_loader()) if d]
    want = [d for f, d in _k8s_docs() if d["kind"] != "Kustomization"]
    assert len(built) == len(want), (len(built), len(want))
    for d in built:
        if d["kind"] != "Namespace":
            assert d["metadata"].get("namespace") == "aiops", d["metadata"]
    # kubectl's YAML parser reads the multi-line URL lists as python3-yaml does
    cm = [d for d in built if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "aiops-config"]
    src = {c["metadata"]["name"]: c for c in _k8s_objects("ConfigMap")}["aiops-config"]
    assert cm and cm[0]["data"] == src["data"], "kustomize changed aiops-config's data"

