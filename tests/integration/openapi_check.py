"""Every JSON response an integration test receives is checked against the schema that
/openapi.json gives for its route and status (Stack.http calls check_response): a handler that
writes a field the document does not promise, or leaves out one it calls required, fails the
test that saw it, with the route, the status and the path of the jsonschema error. A JSON body
the API accepted is checked against the route's request schema too.

The document is fetched once per stack (the gateway generates it from the route table, so it
does not change while the stack runs). AIOPS_OPENAPI_RECORD=FILE also appends every response
(method, route template, status, content type, body) to FILE as JSON lines, to see what the
handlers really answer.
"""
import json
import os
import urllib.parse

import jsonschema


def template_matches(template, path):
    """/api/v1/runs/{id} matches /api/v1/runs/abc: one segment per placeholder."""
    t, p = template.strip("/").split("/"), path.strip("/").split("/")
    return len(t) == len(p) and all(a == b or (a.startswith("{") and a.endswith("}"))
                                    for a, b in zip(t, p))


def find_operation(doc, method, path):
    """(template, operation) of doc for method and path, a literal route winning over a
    pattern as in the gateway (lib/rpc/routes.c route_match); (None, None) when none is."""
    templates = [t for t in doc["paths"] if template_matches(t, path)]
    for group in ([t for t in templates if "{" not in t], [t for t in templates if "{" in t]):
        for t in group:
            op = doc["paths"][t].get(method.lower())
            if op is not None:
                return t, op
    return None, None


class SchemaMismatch(AssertionError):
    pass


class Checker:
    """The /openapi.json of one stack and the validators of its response schemas."""

    def __init__(self, doc):
        self.doc = doc
        self.validators = {}

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self.validators.get(key)
        if v is None:
            # the schema is validated inside the document so that its $refs resolve
            resolver = jsonschema.RefResolver("", self.doc)
            v = jsonschema.Draft202012Validator(schema, resolver=resolver)
            self.validators[key] = v
        return v

    def response_schema(self, method, path, status):
        """(what, schema) for a JSON answer to method path with status: the operation's
        response for that status, else its default (the errors); an unrouted path's error is
        the Error schema. what names the route for messages. schema is None when the document
        says the answer has no JSON body."""
        template, op = find_operation(self.doc, method, path)
        if op is None:
            return "%s %s (no route)" % (method, path), {"$ref": "#/components/schemas/Error"}
        what = "%s %s (%s)" % (method, template, op.get("operationId"))
        resp = op["responses"].get(str(status))
        if resp is None:
            if status < 400:
                raise SchemaMismatch("%s answered %d, which /openapi.json does not list (it has "
                                     "%s)" % (what, status, sorted(op["responses"])))
            resp = op["responses"]["default"]
        media = resp.get("content", {}).get("application/json")
        if media is None:
            return what, None
        return what, media["schema"]

    def check_request(self, method, path, status, request):
        """A JSON body the API accepted (a success status) is one its schema allows: a
        request schema that refuses what the handler takes is as wrong as a response's."""
        if status >= 300 or not isinstance(request, bytes) or not request:
            return
        template, op = find_operation(self.doc, method, path)
        media = (op or {}).get("requestBody", {}).get("content", {}).get("application/json")
        if media is None:
            return
        try:
            value = json.loads(request)
        except ValueError:
            return  # not JSON: another type the route reads (a CSV)
        err = jsonschema.exceptions.best_match(self.validator(media["schema"]).iter_errors(value))
        if err is not None:
            raise SchemaMismatch("%s %s (%s) accepted (%d) a body its /openapi.json request "
                                 "schema refuses: at %s: %s\nbody: %.400s" % (
                                     method, template, op.get("operationId"), status,
                                     "/" + "/".join(map(str, err.absolute_path)),
                                     err.message[:300], request[:400]))

    def check(self, method, path, status, content_type, body):
        if not content_type.startswith("application/json") or not body or method == "HEAD":
            return
        what, schema = self.response_schema(method, path, status)
        if schema is None:
            raise SchemaMismatch("%s answered %d with a JSON body; /openapi.json gives that "
                                 "status no JSON content" % (what, status))
        value = json.loads(body)
        err = jsonschema.exceptions.best_match(self.validator(schema).iter_errors(value))
        if err is not None:
            raise SchemaMismatch("%s answered %d with a body its /openapi.json schema does not "
                                 "allow: at %s: %s (schema path %s)\nbody: %.600s" % (
                                     what, status, "/" + "/".join(map(str, err.absolute_path)),
                                     err.message[:400],
                                     "/".join(map(str, err.absolute_schema_path)), body[:600]))


def record(method, path, status, content_type, body, doc):
    out = os.environ.get("AIOPS_OPENAPI_RECORD")
    if not out:
        return
    template, op = find_operation(doc, method, path) if doc else (None, None)
    entry = {"method": method, "path": path, "template": template,
             "route": op.get("operationId") if op else None, "status": status,
             "type": content_type}
    if content_type.startswith("application/json") and body:
        try:
            entry["body"] = json.loads(body)
        except ValueError:
            entry["body_text"] = body[:200].decode("utf-8", "replace")
    with open(out, "a") as f:
        f.write(json.dumps(entry) + "\n")


def check_response(stack, method, target, status, headers, body, request=None):
    """Called by Stack.http for every answer (request: the body sent, as bytes); raises
    SchemaMismatch on a mismatch."""
    path = urllib.parse.urlsplit(target).path
    if stack.openapi is None:
        if path == "/openapi.json" and status == 200:
            stack.openapi = Checker(json.loads(body))
        else:
            stack.fetch_openapi()
    doc = stack.openapi.doc if stack.openapi else None
    ctype = headers.get("content-type", "")
    record(method, path, status, ctype, body, doc)
    if stack.openapi is not None and os.environ.get("AIOPS_OPENAPI_RECORD") is None:
        stack.openapi.check(method, path, status, ctype, body)
        stack.openapi.check_request(method, path, status, request)
