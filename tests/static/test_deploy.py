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

The address checks are the contract between the manifests and the programs (README.md,
Configuration; lib/rpc/addr.h): every service listens for requests on RPC_LISTEN and
publishes its events to the event relay's inlet (EVENTS_IN_URL); the relay (aiops-relay)
listens on its inlet and its outlet (EVENTS_OUT_URL); every gateway dials one address per
service (<SVC>_RPC_URL, RPC_CONNECTIONS times) and the relay's outlet. So each address is one
name whatever the replica count: a compose service or a Kubernetes ClusterIP Service. Every
gateway<->service message is sealed with SERVICE_SECRET, which the gateway and every service
must share (the relay forwards sealed events and gets none). In Kubernetes, NetworkPolicies
let only the gateways reach the services, only the services the relay's inlet and only the
gateways its outlet; the checks evaluate the policies for every pair of pods and port.
"""
import copy
import functools
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
    "aiops_envelopes_refused_total": "counter",
    "aiops_rpc_batches_total": "counter",
    "aiops_rpc_batched_calls_total": "counter",
    "aiops_build_info": "gauge",
    # the served models' series: svc-monitor's, appended by the gateway (gwmetrics.h)
    "aiops_model_predictions_total": "counter",
    "aiops_model_prediction_rows_total": "counter",
    "aiops_model_prediction_errors_total": "counter",
    "aiops_model_prediction_duration_seconds": "histogram",
    "aiops_model_accuracy": "gauge",
    "aiops_model_drift_kl": "gauge",
}
# Series Prometheus itself adds for every scrape target; alert rules may use them.
PROMETHEUS_SERIES = {"up"}
SERVICES = ("ingest", "train", "explain", "report", "monitor")
SERVICE_PROGRAMS = {s: "aiops-" + s for s in SERVICES}
GATEWAY_PROGRAM = "aiops-gateway"
RELAY_PROGRAM = "aiops-relay"
RPC_URL_VARS = {s: "%s_RPC_URL" % s.upper() for s in SERVICES}
# Variables set in the deployment that no program of ours reads, but a library does.
THIRD_PARTY_ENV = {"OPENBLAS_NUM_THREADS"}  # OpenBLAS's thread count (Dockerfile)
# Settings that no longer exist: services publish to the relay instead of listening for
# subscribers, and gateways subscribe to the relay instead of to each service.
RETIRED_SETTINGS = re.compile(r"\bEVENTS_LISTEN\b|\b[A-Z]+_EVENTS_URL\b")
# gateway/main.c load_config: JWT_SECRET is refused below this many bytes.
JWT_MIN_SECRET = 32


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


def _port_of(url, what="address"):
    """(host, port) of one tcp://host:port nng URL: in a container the default ipc:// sockets
    reach nobody, and a comma-separated list (several replicas by name) is what a single
    balanced address replaces."""
    m = re.fullmatch(r"tcp://([\w.-]+):(\d+)", url or "")
    assert m, "%s: not one tcp://host:port nng URL: %r" % (what, url)
    return m.group(1), int(m.group(2))


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _c_sources():
    """(path, text) of the programs' C sources and headers."""
    out = []
    for top in ("gateway", "relay", "lib", "cli") + tuple("svc-" + s for s in SERVICES):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    out.append((os.path.join(dirpath, name), _read(os.path.join(dirpath, name))))
    assert out, "no C sources found"
    return out


def _program_env_names():
    """Every upper-case string literal in the programs' sources: the environment variables
    they can read are among them (getenv, env_long, addr_from_env and the gateway's table of
    <SVC>_RPC_URL names all take literals)."""
    names = set()
    for _, text in _c_sources():
        names.update(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', text))
    assert {"RPC_LISTEN", "EVENTS_IN_URL", "EVENTS_OUT_URL", "SERVICE_SECRET"} <= names, \
        "the programs' environment variables were not found in their sources"
    return names


def _program_limits():
    """The limits the programs enforce on what the deployment sets, read from their sources
    so that the two cannot drift: SERVICE_SECRET's length (lib/rpc/envelope.h) and
    RPC_CONNECTIONS's range (gateway/main.c)."""
    env_h = _read(os.path.join(ROOT, "lib", "rpc", "envelope.h"))
    gw_c = _read(os.path.join(ROOT, "gateway", "main.c"))
    lo = re.search(r"#define\s+ENVELOPE_MIN_SECRET\s+(\d+)", env_h)
    hi = re.search(r"uint8_t\s+secret\[(\d+)\]", env_h)
    conns = re.search(r'env_long\("RPC_CONNECTIONS",\s*\d+,\s*(\d+),\s*(\d+)', gw_c)
    assert lo and hi and conns, "SERVICE_SECRET or RPC_CONNECTIONS limits not found in " \
        "lib/rpc/envelope.h / gateway/main.c: update _program_limits"
    return {"secret": (int(lo.group(1)), int(hi.group(1))),
            "rpc_connections": (int(conns.group(1)), int(conns.group(2)))}


class _Unset(Exception):
    """A compose variable with ${VAR:?message}: the file refuses to start without it."""


def _compose_value(value, env=None):
    """A compose file's value as docker-compose interpolates it in environment env (default:
    an empty one, i.e. what a trial without an .env file gets): $$, $VAR, ${VAR},
    ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}."""
    env = env or {}

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        val = env.get(name)
        if op in (":-", ":?"):
            missing = not val
        else:
            missing = val is None
        if op in (":-", "-"):
            return arg if missing else val
        if op in (":?", "?"):
            if missing:
                raise _Unset("%s: %s" % (name, arg))
            return val
        return val or ""

    return re.sub(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)",
                  sub, str(value))


def _replicas(spec):
    """A workload's replica count (the API's default is 1)."""
    return int(spec.get("replicas", 1))


def _k8s_docs():
    """(file name, document) for every YAML document under deploy/k8s: a fresh copy each
    time, so that no check sees another's changes."""
    return copy.deepcopy(_k8s_docs_parsed())


@functools.lru_cache(maxsize=1)
def _k8s_docs_parsed():
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


# --- self-tests of the checkers (a broken checker would pass everything) ----------------------

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


def test_deploy_checker_self_tests():
    """The interpolation and NetworkPolicy evaluators the checks below rely on: a broken one
    would pass everything."""
    assert _compose_value("${A:-x}") == "x" and _compose_value("${A:-x}", {"A": "y"}) == "y"
    assert _compose_value("${A:-x}", {"A": ""}) == "x" and _compose_value("${A-x}", {"A": ""}) == ""
    assert _compose_value("a$${B}c$B") == "a${B}c"
    for v in ("${S:?set S}", "${S?set S}"):
        try:
            _compose_value(v)
            raise AssertionError("%s passed without S" % v)
        except _Unset:
            pass
    assert _compose_value("${S:?x}", {"S": "k"}) == "k"

    gw = _Pod("aiops", {"app.kubernetes.io/name": "gateway"}, {"http": 8000})
    svc = _Pod("aiops", {"app.kubernetes.io/name": "svc-a", "tier": "svc"}, {"rpc": 7100})
    other = _Pod("monitoring", {"app.kubernetes.io/name": "gateway"}, {})
    ns_labels = {"aiops": {"team": "ml"}, "monitoring": {}}

    def allowed(policies, src, dst, port):
        return _np_allows(policies, src, dst, port, ns_labels)

    def pol(selector, ingress=None, types=("Ingress",)):
        spec = {"podSelector": selector, "policyTypes": list(types)}
        if ingress is not None:
            spec["ingress"] = ingress
        return {"kind": "NetworkPolicy", "metadata": {"name": "p"}, "spec": spec}

    deny = pol({})
    only_gw = pol({"matchLabels": {"tier": "svc"}},
                  [{"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name":
                                                              "gateway"}}}],
                    "ports": [{"port": "rpc"}]}])
    assert allowed([], other, svc, 7100), "no policy: not isolated"
    assert not allowed([deny], gw, svc, 7100), "default deny"
    assert allowed([deny, only_gw], gw, svc, 7100), "named port, podSelector"
    assert not allowed([deny, only_gw], gw, svc, 7101), "other port"
    assert not allowed([deny, only_gw], other, svc, 7100), "podSelector is same-namespace only"
    udp = pol({}, [{"ports": [{"port": 7100, "protocol": "UDP"}]}])
    assert not allowed([udp], gw, svc, 7100), "UDP rule, TCP connection"
    rng = pol({}, [{"ports": [{"port": 7000, "endPort": 7200}]}])
    assert allowed([rng], gw, svc, 7100) and not allowed([rng], gw, svc, 7201), "endPort"
    anyone = pol({"matchLabels": {"app.kubernetes.io/name": "svc-a"}}, [{}])
    assert allowed([deny, anyone], other, svc, 1), "empty rule: every source and port"
    ns = pol({}, [{"from": [{"namespaceSelector": {"matchLabels": {"team": "ml"}}}]}])
    assert allowed([ns], gw, svc, 1) and not allowed([ns], other, svc, 1), "namespaceSelector"
    both = pol({}, [{"from": [{"namespaceSelector": {}, "podSelector": {"matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["svc"]}]}}]}])
    assert allowed([both], svc, gw, 1) and not allowed([both], gw, svc, 1), "matchExpressions"
    egress_only = pol({}, types=("Egress",))
    assert allowed([egress_only], gw, svc, 7100), "an Egress policy does not isolate ingress"


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


def _compose_running(services, program):
    """Names of the compose services whose command runs program."""
    return sorted(n for n, svc in services.items() if svc.get("command") == [program])


def _compose_one(services, program):
    """The one compose service running program: (name, service). One service per program --
    more containers of it are that service's deploy.replicas, behind the same name."""
    names = _compose_running(services, program)
    assert len(names) == 1, "%s: expected one compose service running it, found %s" % (
        program, names)
    return names[0], services[names[0]]


def _compose_replicas(svc):
    return int(svc.get("deploy", {}).get("replicas", 1))


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

    # nothing but the gateway is published: behind the published port, only the
    # SERVICE_SECRET seal would guard the services and the relay
    published = sorted(n for n, s in services.items() if s.get("ports")
                       and n not in ("gateway", "prometheus", "grafana"))
    assert not published, "%s publish ports; only the gateway (and the monitoring " \
        "profile) may" % published
    # a fixed container name cannot be given to several containers of one service
    assert not any("container_name" in s for s in services.values()), \
        "container_name would keep a service from having replicas"

    for s in SERVICES:
        prog = SERVICE_PROGRAMS[s]
        assert prog in programs, "%s is not built by the Makefile" % prog
        name, svc = _compose_one(services, prog)
        assert name == "svc-" + s, (prog, name)
        assert svc["healthcheck"]["test"] == ["CMD", prog, "--healthcheck"], \
            (name, svc["healthcheck"])
        env = _env(svc)
        for var in ("DATABASE_URL", "REDIS_URL", "RPC_LISTEN", "EVENTS_IN_URL",
                    "SERVICE_SECRET"):
            assert env.get(var), "%s: %s not set" % (name, var)
        assert "@postgres:" in env["DATABASE_URL"] and "//redis:" in env["REDIS_URL"], env
        host, _ = _port_of(env["RPC_LISTEN"], name + " RPC_LISTEN")
        assert host == "0.0.0.0", "%s must listen on every interface: %s" % (
            name, env["RPC_LISTEN"])
        deps = svc["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", (name, deps)

    assert RELAY_PROGRAM in programs, "%s is not built by the Makefile" % RELAY_PROGRAM
    rname, relay = _compose_one(services, RELAY_PROGRAM)
    assert relay["healthcheck"]["test"] == ["CMD", RELAY_PROGRAM, "--healthcheck"], \
        (rname, relay.get("healthcheck"))
    renv = _env(relay)
    ports = []
    for var in ("EVENTS_IN_URL", "EVENTS_OUT_URL"):
        host, port = _port_of(renv.get(var), "%s %s" % (rname, var))
        assert host == "0.0.0.0", "%s must listen on every interface: %s=%s" % (
            rname, var, renv[var])
        ports.append(port)
    assert ports[0] != ports[1], "%s: inlet and outlet on one port" % rname
    # two relays would each get some publishers and some subscribers: events lost between
    assert _compose_replicas(relay) == 1, "%s must run one container" % rname
    # it forwards sealed messages and touches no store: it gets none of their credentials
    for var in ("SERVICE_SECRET", "JWT_SECRET", "DATABASE_URL", "REDIS_URL"):
        assert var not in renv, "%s is given %s, which it does not use" % (rname, var)

    gw = services["gateway"]
    assert gw["command"] == [GATEWAY_PROGRAM], gw["command"]
    env = _env(gw)
    assert env.get("AIOPS_BIND") == "0.0.0.0", "the gateway must bind 0.0.0.0 in a container"
    assert "DISABLE_AUTH" not in env, "DISABLE_AUTH must never be set in a container"
    for var in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "SERVICE_SECRET"):
        assert env.get(var), "gateway: %s not set" % var
    port = env.get("AIOPS_PORT", "8000")
    assert any(str(p).endswith(":%s" % port) for p in gw["ports"]), gw["ports"]
    # every service and the relay are healthy before the gateway starts
    for name in ["svc-" + s for s in SERVICES] + [rname]:
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


def test_deploy_compose_addresses():
    """The gateway dials each service at the one name and port it listens on, and the relay's
    outlet; every service publishes to the relay's inlet; svc-train runs several containers
    behind its one name, and the gateway makes enough connections to reach them."""
    services = _compose()["services"]
    rname, relay = _compose_one(services, RELAY_PROGRAM)
    renv = _env(relay)
    relay_in = (rname, _port_of(renv["EVENTS_IN_URL"])[1])
    relay_out = (rname, _port_of(renv["EVENTS_OUT_URL"])[1])
    gw = _env(services["gateway"])
    lo, hi = _program_limits()["rpc_connections"]
    conns = _compose_value(gw.get("RPC_CONNECTIONS", "1"))
    assert conns.isdigit() and lo <= int(conns) <= hi, \
        "gateway RPC_CONNECTIONS=%r: the gateway takes %d to %d" % (conns, lo, hi)

    assert _port_of(gw.get("EVENTS_OUT_URL"), "gateway EVENTS_OUT_URL") == relay_out, \
        "gateway EVENTS_OUT_URL=%s, but the relay's outlet is %s:%d" % (
            gw.get("EVENTS_OUT_URL"), *relay_out)
    for s in SERVICES:
        name, svc = _compose_one(services, SERVICE_PROGRAMS[s])
        env = _env(svc)
        listen = (name, _port_of(env["RPC_LISTEN"])[1])
        var = RPC_URL_VARS[s]
        assert _port_of(gw.get(var), "gateway " + var) == listen, \
            "gateway %s=%s, but %s listens at %s:%d" % (var, gw.get(var), name, *listen)
        assert _port_of(env["EVENTS_IN_URL"], name + " EVENTS_IN_URL") == relay_in, \
            "%s EVENTS_IN_URL=%s, but the relay's inlet is %s:%d" % (
                name, env["EVENTS_IN_URL"], *relay_in)
        # each connection lands on one container: fewer connections than containers leaves
        # some of them without calls
        assert int(conns) >= _compose_replicas(svc), \
            "%s runs %d containers, but the gateway makes only RPC_CONNECTIONS=%s " \
            "connections to it" % (name, _compose_replicas(svc), conns)

    _, train = _compose_one(services, SERVICE_PROGRAMS["train"])
    assert _compose_replicas(train) >= 2, "svc-train should run at least two containers"


def test_deploy_compose_secrets():
    """The gateway and every service get SERVICE_SECRET from one expression (so the same value
    in any environment), and a default, where there is one, is a key the programs accept:
    with a shorter one they refuse to start."""
    services = _compose()["services"]
    lo, hi = _program_limits()["secret"]
    gw = _env(services["gateway"])
    want = gw.get("SERVICE_SECRET")
    assert want, "gateway: SERVICE_SECRET not set"
    for s in SERVICES:
        name, svc = _compose_one(services, SERVICE_PROGRAMS[s])
        got = _env(svc).get("SERVICE_SECRET")
        assert got == want, "%s SERVICE_SECRET=%r, gateway's %r: they must be one key" % (
            name, got, want)
    for var, (least, most) in (("SERVICE_SECRET", (lo, hi)),
                               ("JWT_SECRET", (JWT_MIN_SECRET, None))):
        try:
            default = _compose_value(gw[var])
        except _Unset:
            continue  # must be set: nothing to check
        n = len(default.encode())
        assert n >= least and (most is None or n <= most), \
            "%s's default %r has %d bytes; the programs take %s bytes: without an .env file " \
            "the stack would not start" % (var, default, n,
                                           "%d to %d" % (least, most) if most else
                                           "at least %d" % least)
        # the expression reads the variable of that name (a misspelt one would ignore .env)
        assert _compose_value(gw[var], {var: "x" * least}) == "x" * least, gw[var]


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


def _compose_listen_ports():
    """The ports the programs listen on in docker-compose.yml: the gateway's AIOPS_PORT, each
    service's RPC_LISTEN and the relay's EVENTS_IN_URL and EVENTS_OUT_URL."""
    services = _compose()["services"]
    ports = {int(_env(services["gateway"]).get("AIOPS_PORT", "8000"))}
    for s in SERVICES:
        ports.add(_port_of(_env(_compose_one(services, SERVICE_PROGRAMS[s])[1])["RPC_LISTEN"])[1])
    renv = _env(_compose_one(services, RELAY_PROGRAM)[1])
    ports |= {_port_of(renv[v])[1] for v in ("EVENTS_IN_URL", "EVENTS_OUT_URL")}
    return ports


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
    unread = sorted(set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", envs)) - _program_env_names()
                    - THIRD_PARTY_ENV)
    assert not unread, "the Dockerfile sets %s, which no program reads" % unread

    # EXPOSE names exactly the ports the programs listen on in docker-compose.yml and in
    # deploy/k8s (whose containers' ports test_deploy_k8s_addresses ties to their addresses)
    exposed = {int(p.split("/")[0]) for i, a in rl if i == "EXPOSE" for p in a.split()}
    assert exposed == _compose_listen_ports(), \
        "Dockerfile EXPOSE %s, but the programs listen on %s in docker-compose.yml" % (
            sorted(exposed), sorted(_compose_listen_ports()))
    k8s_ports = {p for w in _workloads().values()
                 for p in _container_ports(_main_container(w)).values()}
    assert exposed == k8s_ports, "Dockerfile EXPOSE %s, but deploy/k8s's containers listen " \
        "on %s" % (sorted(exposed), sorted(k8s_ports))

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
    # one forged or mis-keyed message is worth knowing about: no `for` to wait out, and split
    # by kind (event: through the relay; reply: on a service connection)
    find(lambda e, r: "aiops_envelopes_refused_total" in e and "increase(" in e
         and re.search(r"by \((\w+, )*kind\b", e) and e.rstrip().endswith("> 0")
         and "for" not in r, "messages failing the SERVICE_SECRET seal, by kind")


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
    for k in ("Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Job",
              "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "NetworkPolicy"):
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


def _assert_locked_down(where, pod_spec, containers):
    """The pod and container security settings every workload shares."""
    psec = pod_spec.get("securityContext", {})
    assert psec.get("runAsNonRoot") is True, "%s: runAsNonRoot" % where
    assert psec.get("seccompProfile", {}).get("type") == "RuntimeDefault", "%s: seccomp" % where
    assert pod_spec.get("automountServiceAccountToken") is False, \
        "%s: the programs never call the Kubernetes API; do not mount a token" % where
    for c in containers:
        sec = c.get("securityContext", {})
        assert sec.get("allowPrivilegeEscalation") is False, (where, c["name"])
        assert sec.get("readOnlyRootFilesystem") is True, (where, c["name"])
        assert sec.get("capabilities", {}).get("drop") == ["ALL"], (where, c["name"])


def _workloads():
    """{name: object} for every Deployment and StatefulSet."""
    out = {}
    for kind in ("Deployment", "StatefulSet"):
        for d in _k8s_objects(kind):
            assert d["metadata"]["name"] not in out, "two workloads named %s" % d["metadata"]
            out[d["metadata"]["name"]] = d
    return out


def _pod_labels(work):
    return work["spec"]["template"]["metadata"]["labels"]


def _match_selector(selector, labels):
    """A Kubernetes label selector (matchLabels and matchExpressions) against labels; the
    empty selector matches everything."""
    selector = selector or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        op, key, vals = e["operator"], e["key"], e.get("values") or []
        ok = {"In": lambda: labels.get(key) in vals,
              "NotIn": lambda: labels.get(key) not in vals,
              "Exists": lambda: key in labels,
              "DoesNotExist": lambda: key not in labels}.get(op)
        assert ok, "unknown selector operator %s" % op
        if not ok():
            return False
    return True


def _selects(selector, labels):
    """A Service's or a PDB's selector: a plain label map, which must not be empty."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _hpa_for(kind, name):
    """The HorizontalPodAutoscaler scaling kind/name, or None."""
    hits = [h for h in _k8s_objects("HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": kind,
                                                "name": name}]
    assert len(hits) <= 1, "two HPAs scale %s/%s" % (kind, name)
    return hits[0] if hits else None


def _least_replicas(work):
    """The fewest pods a workload runs: its HPA's minReplicas, or its replicas."""
    hpa = _hpa_for(work["kind"], work["metadata"]["name"])
    return int(hpa["spec"].get("minReplicas", 1)) if hpa else _replicas(work["spec"])


def _container_ports(c):
    return {p["name"]: p["containerPort"] for p in c.get("ports", [])}


def _effective_env(c):
    """A container's environment as the kubelet builds it: envFrom sources in order, then env
    (which wins). Values are strings, or ("secret", name, key) for a Secret's key."""
    cms = {m["metadata"]["name"]: m.get("data", {}) for m in _k8s_objects("ConfigMap")}
    secrets = {s["metadata"]["name"]: dict(s.get("data", {}), **s.get("stringData", {}))
               for s in _k8s_objects("Secret")}
    env = {}
    for src in c.get("envFrom", []):
        if "configMapRef" in src:
            name = src["configMapRef"]["name"]
            assert name in cms, "%s: envFrom ConfigMap %s does not exist" % (c["name"], name)
            env.update({k: str(v) for k, v in cms[name].items()})
        else:
            name = src["secretRef"]["name"]
            assert name in secrets, "%s: envFrom Secret %s does not exist" % (c["name"], name)
            env.update({k: ("secret", name, k) for k in secrets[name]})
    for e in c.get("env", []):
        ref = e.get("valueFrom", {})
        if "configMapKeyRef" in ref:
            r = ref["configMapKeyRef"]
            assert r["key"] in cms.get(r["name"], {}), "%s: %s: no ConfigMap key %s/%s" % (
                c["name"], e["name"], r["name"], r["key"])
            env[e["name"]] = str(cms[r["name"]][r["key"]])
        elif "secretKeyRef" in ref:
            r = ref["secretKeyRef"]
            assert r["key"] in secrets.get(r["name"], {}), "%s: %s: no Secret key %s/%s" % (
                c["name"], e["name"], r["name"], r["key"])
            env[e["name"]] = ("secret", r["name"], r["key"])
        else:
            assert not ref, "%s: %s: unsupported valueFrom %s" % (c["name"], e["name"], ref)
            env[e["name"]] = str(e.get("value", ""))
    return env


def _main_container(work):
    containers, _ = _containers(work)
    assert len(containers) == 1, "%s: %d containers" % (work["metadata"]["name"], len(containers))
    return containers[0]


def _role_workloads():
    """{"gateway": w, "relay": w, "ingest": w, ...}: each workload by the program it runs."""
    by_prog = {}
    for name, w in _workloads().items():
        args = _main_container(w).get("args") or []
        assert args, "%s: no args naming the program" % name
        by_prog.setdefault(args[0], []).append(w)
    roles = {}
    for role, prog in [("gateway", GATEWAY_PROGRAM), ("relay", RELAY_PROGRAM)] + \
            [(s, SERVICE_PROGRAMS[s]) for s in SERVICES]:
        ws = by_prog.get(prog, [])
        assert len(ws) == 1, "%s: expected one workload running it, found %s" % (
            prog, [w["metadata"]["name"] for w in ws])
        roles[role] = ws[0]
    return roles


def test_deploy_k8s_workloads():
    work = _workloads()
    sts = sorted(n for n, w in work.items() if w["kind"] != "Deployment")
    # nothing is dialled pod by pod any more: every workload is an ordinary Deployment
    assert not sts, "not Deployments: %s" % sts
    assert set(work) == {"gateway", "event-relay"} | {"svc-" + s for s in SERVICES}, sorted(work)
    roles = _role_workloads()
    services = {s["metadata"]["name"]: s for s in _k8s_objects("Service")}
    for name, dep in work.items():
        spec = dep["spec"]
        labels = _pod_labels(dep)
        sel = spec["selector"]["matchLabels"]
        assert all(labels.get(k) == v for k, v in sel.items()), "%s: selector/labels" % name
        containers, inits = _containers(dep)
        _assert_locked_down(name, spec["template"]["spec"], containers + inits)
        c = _main_container(dep)
        for probe in ("livenessProbe", "readinessProbe"):
            assert c.get(probe), "%s: no %s" % (name, probe)
        _assert_resources(name, c)
        for ic in inits:
            _assert_resources(name, ic)
        # `command` would replace the image's ENTRYPOINT (tini); the program goes in args
        assert "command" not in c and c.get("args"), "%s: use args, not command" % name
        ports = _container_ports(c)
        env = _effective_env(c)
        assert "DISABLE_AUTH" not in env, name

        # each workload has a Service of its name in front of its pods
        svc = services.get(name)
        assert svc, "Deployment %s has no Service %s" % (name, name)
        assert _selects(svc["spec"]["selector"], labels), name
        for p in svc["spec"]["ports"]:
            tp = p.get("targetPort", p["port"])
            assert tp in ports or tp in ports.values(), "%s: Service targetPort %s" % (name, tp)

    gw = _main_container(roles["gateway"])
    assert gw["args"] == [GATEWAY_PROGRAM], gw["args"]
    genv = _effective_env(gw)
    assert isinstance(genv.get("JWT_SECRET"), tuple), "gateway: JWT_SECRET from the Secret"
    lp, rp = gw["livenessProbe"]["httpGet"], gw["readinessProbe"]["httpGet"]
    assert lp["path"] == "/healthz" and rp["path"] == "/readyz", (lp, rp)
    for p in (lp, rp):
        assert p["port"] in _container_ports(gw) or p["port"] in _container_ports(gw).values(), p

    for role in ("relay",) + SERVICES:
        w = roles[role]
        c = _main_container(w)
        prog = RELAY_PROGRAM if role == "relay" else SERVICE_PROGRAMS[role]
        assert c["args"] == [prog], (w["metadata"]["name"], c["args"])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe not in c and probe == "startupProbe":
                continue
            cmd = c[probe].get("exec", {}).get("command")
            assert cmd == [prog, "--healthcheck"], (w["metadata"]["name"], probe, cmd)
            # --healthcheck gives up after 2 s: the probe must wait longer than that
            assert c[probe].get("timeoutSeconds", 1) > 2, (w["metadata"]["name"], probe)
        if role != "relay":
            env = _effective_env(c)
            assert {"DATABASE_URL", "REDIS_URL"} <= set(env), \
                "%s: stores not configured" % w["metadata"]["name"]

    # one relay: a second one behind the same Service would split publishers and subscribers
    relay = roles["relay"]
    assert _replicas(relay["spec"]) == 1 and not _hpa_for("Deployment",
                                                          relay["metadata"]["name"]), \
        "the event relay must run exactly one pod"

    train = roles["train"]
    tname = train["metadata"]["name"]
    assert _replicas(train["spec"]) >= 2, "svc-train replicas"
    train_res = _main_container(train)["resources"]
    other_res = _main_container(roles["ingest"])["resources"]
    assert _mem_bytes(train_res["limits"]["memory"]) > _mem_bytes(other_res["limits"]["memory"])
    # a stopping trainer hands its jobs back: give it the time to
    assert train["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60

    hpa = _hpa_for("Deployment", tname)
    assert hpa, "no HorizontalPodAutoscaler scales Deployment %s: %s" % (
        tname, _k8s_objects("HorizontalPodAutoscaler"))
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
        assert any(_selects(sel, _pod_labels(w)) for w in work.values()), \
            "PDB %s selects no pods" % p["metadata"]["name"]


def _service_address(url, what, target_work, target_port):
    """Checks that url names a ClusterIP Service in front of target_work's pods only, on a
    port that leads to target_port in them."""
    host, port = _port_of(url, what)
    m = re.fullmatch(r"([a-z0-9-]+)(?:\.aiops(?:\.svc(?:\.cluster\.local)?)?)?", host)
    assert m, "%s: %s is not a Service name of namespace aiops" % (what, host)
    services = {s["metadata"]["name"]: s for s in _k8s_objects("Service")}
    svc = services.get(m.group(1))
    assert svc, "%s points at %s, which is no Service" % (what, host)
    spec = svc["spec"]
    # a headless Service's name resolves to pod addresses, one per dial: not the contract
    assert spec.get("type", "ClusterIP") == "ClusterIP" and spec.get("clusterIP") != "None", \
        "%s: Service %s must be an ordinary ClusterIP Service" % (what, host)
    behind = [w["metadata"]["name"] for w in _workloads().values()
              if _selects(spec["selector"], _pod_labels(w))]
    assert behind == [target_work["metadata"]["name"]], \
        "%s: Service %s selects %s, expected %s" % (what, host, behind,
                                                     target_work["metadata"]["name"])
    sp = [p for p in spec["ports"] if p["port"] == port]
    assert sp, "%s: Service %s has no port %d" % (what, host, port)
    tp = sp[0].get("targetPort", port)
    cports = _container_ports(_main_container(target_work))
    assert cports.get(tp, tp) == target_port, \
        "%s: %s:%d leads to %s, but %s listens on %d" % (
            what, host, port, tp, target_work["metadata"]["name"], target_port)


def _listen_port(env, var, what):
    """The port of a listen address, which must be every interface (0.0.0.0)."""
    host, port = _port_of(env.get(var), "%s %s" % (what, var))
    assert host == "0.0.0.0", "%s must listen on every interface: %s=%s" % (what, var, env[var])
    return port


def test_deploy_k8s_addresses():
    """Each service listens on its RPC port and publishes to the relay's inlet; the relay
    listens on both of its ports; the gateway dials each service's ClusterIP Service and the
    relay's outlet, RPC_CONNECTIONS times per service -- enough to reach the fewest replicas
    a service runs."""
    roles = _role_workloads()
    relay = roles["relay"]
    rc = _main_container(relay)
    renv = _effective_env(rc)
    rports = set(_container_ports(rc).values())
    relay_in = _listen_port(renv, "EVENTS_IN_URL", "relay")
    relay_out = _listen_port(renv, "EVENTS_OUT_URL", "relay")
    assert relay_in != relay_out and {relay_in, relay_out} == rports, \
        "relay listens on %d and %d, its container ports are %s" % (relay_in, relay_out, rports)
    # it forwards sealed messages and touches no store: it gets none of their credentials
    for var in ("SERVICE_SECRET", "JWT_SECRET", "DATABASE_URL", "REDIS_URL"):
        assert var not in renv, "the relay is given %s, which it does not use" % var

    genv = _effective_env(_main_container(roles["gateway"]))
    assert genv.get("AIOPS_BIND") == "0.0.0.0", "the gateway must bind 0.0.0.0 in a pod"
    _service_address(genv.get("EVENTS_OUT_URL"), "gateway EVENTS_OUT_URL", relay, relay_out)
    lo, hi = _program_limits()["rpc_connections"]
    conns = str(genv.get("RPC_CONNECTIONS", "1"))
    assert conns.isdigit() and lo <= int(conns) <= hi, \
        "gateway RPC_CONNECTIONS=%r: the gateway takes %d to %d" % (conns, lo, hi)
    for s in SERVICES:
        w = roles[s]
        name = w["metadata"]["name"]
        c = _main_container(w)
        env = _effective_env(c)
        port = _listen_port(env, "RPC_LISTEN", name)
        assert set(_container_ports(c).values()) == {port}, \
            "%s listens on %d, its container ports are %s" % (name, port, _container_ports(c))
        _service_address(env.get("EVENTS_IN_URL"), name + " EVENTS_IN_URL", relay, relay_in)
        _service_address(genv.get(RPC_URL_VARS[s]), "gateway " + RPC_URL_VARS[s], w, port)
        # a ClusterIP Service picks a pod per connection: with fewer connections than pods,
        # some pods would never get a call
        assert int(conns) >= _least_replicas(w), \
            "%s runs at least %d pods, but the gateway makes RPC_CONNECTIONS=%s connections" % (
                name, _least_replicas(w), conns)


def test_deploy_k8s_secrets():
    """SERVICE_SECRET reaches the gateway and every service from one Secret key; the Secret's
    values are marked placeholders, and the two keys are ones the programs refuse, so that a
    forgotten placeholder stops the pods instead of running on a published key."""
    roles = _role_workloads()
    refs = {}
    for role in ("gateway",) + SERVICES:
        env = _effective_env(_main_container(roles[role]))
        ref = env.get("SERVICE_SECRET")
        assert isinstance(ref, tuple), "%s: SERVICE_SECRET must come from a Secret, not %r" % (
            roles[role]["metadata"]["name"], ref)
        refs[roles[role]["metadata"]["name"]] = ref[1:]
    assert len(set(refs.values())) == 1, \
        "SERVICE_SECRET comes from different Secret keys: %s" % refs

    sec = {s["metadata"]["name"]: s for s in _k8s_objects("Secret")}["aiops-secrets"]
    vals = sec.get("stringData") or {}
    lo, _ = _program_limits()["secret"]
    for k in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "SERVICE_SECRET"):
        assert "CHANGE-ME" in vals.get(k, ""), "Secret %s must be a marked placeholder" % k
    for k, least in (("JWT_SECRET", JWT_MIN_SECRET), ("SERVICE_SECRET", lo)):
        assert len(vals[k].encode()) < least, \
            "Secret %s's placeholder %r is a usable key (%d bytes or more): a forgotten " \
            "placeholder would run the cluster on a key published here" % (k, vals[k], least)


def test_deploy_env_names_are_read():
    """Every variable the deployment sets for our programs is one a program reads (a renamed
    or retired setting would otherwise be passed along silently), and no retired event
    setting is named anywhere in the deployment files, comments included."""
    known = _program_env_names() | THIRD_PARTY_ENV
    unread = []
    services = _compose()["services"]
    for name, svc in services.items():
        if str(svc.get("image", "")).startswith("${AIOPS_IMAGE") or "build" in svc:
            unread += ["docker-compose.yml %s: %s" % (name, v) for v in _env(svc)
                       if v not in known]
    for m in _k8s_objects("ConfigMap"):
        unread += ["ConfigMap %s: %s" % (m["metadata"]["name"], k)
                   for k in m.get("data", {}) if k not in known]
    for kind in ("Deployment", "StatefulSet", "Job"):
        for w in _k8s_objects(kind):
            for c in sum(_containers(w), []):
                unread += ["%s %s/%s: %s" % (kind, w["metadata"]["name"], c["name"], e["name"])
                           for e in c.get("env", []) if e["name"] not in known]
    assert not unread, "set but read by no program:\n  " + "\n  ".join(unread)

    hits = []
    paths = [os.path.join(ROOT, "docker-compose.yml"), os.path.join(ROOT, "Dockerfile")]
    for dirpath, _, files in os.walk(DEPLOY):
        paths += [os.path.join(dirpath, f) for f in files]
    for path in paths:
        for i, line in enumerate(_read(path).splitlines(), 1):
            if RETIRED_SETTINGS.search(line):
                hits.append("%s:%d: %s" % (os.path.relpath(path, ROOT), i, line.strip()))
    assert not hits, "retired event settings (services publish to the relay, gateways " \
        "subscribe to it):\n  " + "\n  ".join(hits)


# --- NetworkPolicies ----------------------------------------------------------------------------

class _Pod:
    """A pod as NetworkPolicies see it: its namespace, labels and named container ports."""

    def __init__(self, namespace, labels, ports, name=None):
        self.namespace, self.labels, self.ports = namespace, labels, ports
        self.name = name or labels.get("app.kubernetes.io/name", "?")

    def __repr__(self):
        return "%s/%s" % (self.namespace, self.name)


def _np_port_matches(entry, dst, port):
    if entry.get("protocol", "TCP") != "TCP":
        return False
    want = entry.get("port")
    if want is None:
        return True
    if isinstance(want, str):
        want = dst.ports.get(want)  # a named port: the destination container's port
        return want == port
    return want <= port <= entry.get("endPort", want)


def _np_peer_matches(peer, src, ns_labels):
    assert "ipBlock" not in peer, \
        "ipBlock peers are not evaluated here (and pods' addresses are not known): use " \
        "pod and namespace selectors"
    if "namespaceSelector" in peer:
        if not _match_selector(peer["namespaceSelector"], ns_labels.get(src.namespace, {})):
            return False
    elif src.namespace != "aiops":  # a podSelector alone: pods of the policy's namespace
        return False
    return _match_selector(peer.get("podSelector"), src.labels)


def _np_allows(policies, src, dst, port, ns_labels):
    """Whether a TCP connection from pod src to port of pod dst (namespace aiops) is allowed:
    a pod that no Ingress policy selects takes everything; otherwise some rule of a policy
    selecting it must match the port and the source."""
    selecting = []
    for p in policies:
        spec = p["spec"]
        types = spec.get("policyTypes") or ["Ingress"]
        if "Ingress" in types and _match_selector(spec.get("podSelector"), dst.labels):
            selecting.append(spec)
    if not selecting:
        return True
    for spec in selecting:
        for rule in spec.get("ingress") or []:
            ports = rule.get("ports") or [{}]
            peers = rule.get("from") or []
            if any(_np_port_matches(e, dst, port) for e in ports) and \
                    (not peers or any(_np_peer_matches(q, src, ns_labels) for q in peers)):
                return True
    return False


def test_deploy_k8s_network_policies():
    """Evaluates the NetworkPolicies for every source pod (ours, the Job's, and pods of other
    namespaces such as the Ingress controller's and Prometheus's), every pod of ours and every
    port it listens on plus one it does not: the gateway's port takes anyone, each service's
    RPC port only the gateways, the relay's inlet only the services and its outlet only the
    gateways, and nothing else takes anything."""
    policies = _k8s_objects("NetworkPolicy")
    for p in policies:
        spec = p["spec"]
        assert "Egress" not in (spec.get("policyTypes") or []) and "egress" not in spec, \
            "%s restricts egress: then DNS (53), PostgreSQL, Redis and the relay must be " \
            "allowed too, and these checks extended" % p["metadata"]["name"]
    # isolation by default: a workload added later takes nothing until a policy allows it
    assert any(p["spec"].get("podSelector") in ({}, None) and not p["spec"].get("ingress")
               and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
               for p in policies), "no default-deny ingress policy (podSelector: {})"

    roles = _role_workloads()
    pods = {}
    for role, w in roles.items():
        pods[role] = _Pod("aiops", _pod_labels(w), _container_ports(_main_container(w)),
                          w["metadata"]["name"])
    jobs = [_Pod("aiops", j["spec"]["template"]["metadata"].get("labels", {}), {},
                 j["metadata"]["name"]) for j in _k8s_objects("Job")]
    ns_labels = {"aiops": {"kubernetes.io/metadata.name": "aiops"},
                 "ingress-nginx": {"kubernetes.io/metadata.name": "ingress-nginx"},
                 "monitoring": {"kubernetes.io/metadata.name": "monitoring"}}
    outsiders = [_Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, {}),
                 _Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}, {})]
    sources = list(pods.values()) + jobs + outsiders
    for p in policies:
        sel = p["spec"].get("podSelector") or {}
        assert not sel or any(_match_selector(sel, d.labels) for d in pods.values()), \
            "NetworkPolicy %s selects no pod" % p["metadata"]["name"]
        for rule in p["spec"].get("ingress") or []:
            for peer in rule.get("from") or []:
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    assert any(_match_selector(peer["podSelector"], s.labels)
                               for s in pods.values()), \
                        "NetworkPolicy %s allows pods %s, which no workload has" % (
                            p["metadata"]["name"], peer["podSelector"])

    genv = _effective_env(_main_container(roles["gateway"]))
    renv = _effective_env(_main_container(roles["relay"]))
    gw_port = int(genv.get("AIOPS_PORT", "8000"))
    services = {pods[s] for s in SERVICES}
    want = {(pods["gateway"], gw_port): set(sources),
            (pods["relay"], _port_of(renv["EVENTS_IN_URL"])[1]): services,
            (pods["relay"], _port_of(renv["EVENTS_OUT_URL"])[1]): {pods["gateway"]}}
    for s in SERVICES:
        env = _effective_env(_main_container(roles[s]))
        want[(pods[s], _port_of(env["RPC_LISTEN"])[1])] = {pods["gateway"]}
    # Prometheus scrapes the gateway pods on their annotated port (prometheus-kubernetes.yml)
    ann = roles["gateway"]["spec"]["template"]["metadata"].get("annotations", {})
    assert (pods["gateway"], int(ann.get("prometheus.io/port", 0))) in want, ann

    bad = []
    for dst in list(pods.values()) + jobs:
        for port in sorted(set(dst.ports.values()) | {p for d, p in want if d is dst} | {9}):
            expected = want.get((dst, port), set())
            got = {s for s in sources if _np_allows(policies, s, dst, port, ns_labels)}
            if got != expected:
                bad.append("%s:%d: allowed from %s, expected %s" % (
                    dst, port, sorted(map(repr, got)), sorted(map(repr, expected))))
    assert not bad, "NetworkPolicies:\n  " + "\n  ".join(bad)


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
            # the NetworkPolicies' podSelectors only cover pods of their own namespace
            assert d["metadata"].get("namespace") == "aiops", d["metadata"]
