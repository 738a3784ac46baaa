"""The query parameters /openapi.json lists (lib/rpc/routes.c, route_queries) are exactly the
ones the services' handlers read: per service, every name a handler reads with svc_query,
svc_query_long, svc_query_text or svc-report's query_number is declared on one of that
service's routes, and every declared name is read. A parameter added to a handler and not
to the table (or left in the table after the handler stops reading it) fails here. And every
route has a handler."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROUTES = os.path.join(ROOT, "lib", "rpc", "routes.c")
SERVICES = {"I": "svc-ingest", "T": "svc-train", "E": "svc-explain", "R": "svc-report",
            "M": "svc-monitor"}
TYPES = {"string", "integer", "number", "boolean"}
READS = re.compile(r'\b(?:svc_query(?:_long|_text)?|query_number|query_time)\(c, "(\w+)"')


def routes_source():
    with open(ROUTES) as f:
        return f.read()


def route_services(src):
    """{(method, pattern): service letter} of the route table."""
    return {(m, p): s for m, p, s in re.findall(
        r'\{"([A-Z]+)", "([^"]+)", "[\w.]+", ([A-Z])\b', src)}


def declared_queries(src):
    """{(method, pattern): {name: type}} of route_queries, its macros expanded."""
    block = src[src.index("route_queries[] = {"):]
    block = block[:block.index("\n};")]
    macros = {}
    for name, body in re.findall(r'#define (\w+) ((?:[^\n]*\\\n)*[^\n]*)', block):
        macros[name] = "".join(re.findall(r'"([^"]*)"', body))
    out = {}
    for m, p, rest in re.findall(r'^\s*\{"([A-Z]+)", "([^"]+)", (.*)\},\s*$', block, re.M):
        text = "".join(macros[t] if t in macros else t.strip('"')
                       for t in re.findall(r'"[^"]*"|\w+', rest))
        out[(m, p)] = dict(item.split(":") for item in text.split(","))
    return out


def test_declared_query_parameters_are_the_ones_read():
    src = routes_source()
    svc_of = route_services(src)
    decl = declared_queries(src)
    assert len(decl) >= 25, "the table was not read: %r" % list(decl)[:3]
    for key, params in decl.items():
        assert key in svc_of, "route_queries names no route: %s %s" % key
        assert set(params.values()) <= TYPES, (key, params)
    for letter, folder in SERVICES.items():
        declared = {n for key, ps in decl.items() if svc_of[key] == letter for n in ps}
        read = set()
        for path in glob.glob(os.path.join(ROOT, folder, "*.c")):
            with open(path) as f:
                read |= set(READS.findall(f.read()))
        assert read == declared, "%s: read but not declared %s; declared but not read %s" % (
            folder, sorted(read - declared), sorted(declared - read))


def test_every_route_has_a_handler():
    """Every route of the table is served: its method name is in its service's handler
    table (the runtime would answer 501 not_implemented otherwise; "health" is the runtime's
    own)."""
    src = routes_source()
    table = src[:src.index("route_queries[] = {")]
    missing = []
    for method, pattern, name, svc in re.findall(
            r'\{"([A-Z]+)", "([^"]+)", "([\w.]+)", ([A-Z])\b', table):
        if svc not in SERVICES or name == "health":
            continue
        with open(os.path.join(ROOT, SERVICES[svc], "main.c")) as f:
            if '"%s"' % name not in f.read():
                missing.append("%s %s (%s)" % (method, pattern, name))
    assert not missing, "routes without a handler: %s" % missing

