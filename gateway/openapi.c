/* openapi.c -- the OpenAPI 3.1 document from the route, learner, error and schema tables. */
#include "openapi.h"

#include <stdio.h>
#include <string.h>

#include "core/jsonx.h"
#include "core/log.h"
#include "ml/learner.h"

json_t *openapi_table(void)
{
    if (openapi_schema_files_count != 1)
        return NULL;
    const struct embedded_file *f = &openapi_schema_files[0];
    json_error_t e;
    json_t *j = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &e);
    if (j == NULL)
        log_printf(LOG_LEVEL_ERROR, "openapi: %s does not parse: %s at line %d, column %d",
                   f->name, e.text, e.line, e.column);
    return j;
}

json_t *openapi_route_entry(json_t *table, const struct route *rt)
{
    json_t *routes_of = json_object_get(table, "routes");
    json_t *e = json_object_get(routes_of, rt->pattern);
    return e != NULL ? e : json_object_get(routes_of, rt->name);
}

/* Appends a route's query parameters ("name:type,...", route_query) to params. */
static void query_parameters(const char *spec, json_t *params, int *failed)
{
    for (const char *p = spec; p != NULL && *p != '\0';) {
        const char *colon = strchr(p, ':'), *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        if (colon == NULL || colon > end)
            break; /* the table is ours: a malformed entry is caught by the static test */
        jsonx_push_or_fail(params,
                           json_pack("{s:s%, s:s, s:b, s:{s:s%}}", "name", p, (size_t)(colon - p),
                                     "in", "query", "required", 0, "schema", "type", colon + 1,
                                     (size_t)(end - colon - 1)),
                           failed);
        p = comma ? comma + 1 : end;
    }
}

/* The path parameters ({name} segments of the pattern) and the query parameters. */
static json_t *parameters(const struct route *rt, int *failed)
{
    json_t *params = json_array();
    for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        jsonx_push_or_fail(params,
                           json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1,
                                     (size_t)(e - p - 1), "in", "path", "required", 1, "schema",
                                     "type", "string"),
                           failed);
    }
    query_parameters(route_query(rt), params, failed);
    if (params == NULL)
        *failed = 1;
    return params;
}

/* What a route with a body takes: the upload's multipart or CSV, train.start's body from the
 * learner table, else the schema table's entry (any object without one; "request_optional":
 * the body may be left out; "request_types": other content types read, as text); x-max-bytes
 * is the gateway's limit (larger bodies are answered 413). */
static json_t *request_body(const struct gw_config *cfg, const struct route *rt, json_t *entry,
                             int *failed)
{
    if (rt->body == BODY_UPLOAD)
        return json_pack("{s:b, s:I, s:{s:{s:{s:s, s:{s:{s:s, s:s}}}}, s:{s:{s:s}}}}", "required",
                         1, "x-max-bytes", (json_int_t)cfg->upload_limit, "content",
                         "multipart/form-data", "schema", "type", "object", "properties", "file",
                         "type", "string", "contentMediaType", "application/octet-stream",
                         "text/csv", "schema", "type", "string");
    if (strcmp(rt->name, "train.start") == 0) {
        json_t *b = learner_openapi_train_body();
        jsonx_set_or_fail(b, "x-max-bytes", json_integer((json_int_t)cfg->body_limit), failed);
        return b;
    }
    json_t *schema = json_object_get(entry, "request");
    schema = schema != NULL ? json_incref(schema) : json_pack("{s:s}", "type", "object");
    json_t *body = json_pack("{s:b, s:I, s:{s:{s:o}}}", "required",
                             !json_is_true(json_object_get(entry, "request_optional")),
                             "x-max-bytes", (json_int_t)cfg->body_limit, "content",
                             "application/json", "schema", schema);
    /* the other types the handler reads (text/csv descriptions), as text */
    size_t i;
    json_t *type;
    json_array_foreach(json_object_get(entry, "request_types"), i, type)
        jsonx_set_or_fail(json_object_get(body, "content"), json_string_value(type),
                          json_pack("{s:{s:s}}", "schema", "type", "string"), failed);
    return body;
}

/* The responses object of a route: its entry's, and the errors. */
static json_t *responses(json_t *entry, int *failed)
{
    json_t *out = json_deep_copy(json_object_get(entry, "responses"));
    if (out == NULL)
        out = json_object();
    jsonx_set_or_fail(out, "default",
                      json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                "an error: its code is one of x-error-codes", "content",
                                "application/json", "schema", "$ref",
                                "#/components/schemas/Error"),
                      failed);
    return out;
}

/* "get" for "GET"; WebSocket topics are GETs asking for an upgrade. */
static void method_key(const struct route *rt, char *out, size_t n)
{
    snprintf(out, n, "%s", strcmp(rt->method, "WS") == 0 ? "get" : rt->method);
    for (char *p = out; *p; p++)
        *p = (char)(*p | 0x20);
}

static json_t *operation(const struct gw_config *cfg, json_t *table, const struct route *rt,
                         int *failed)
{
    json_t *entry = openapi_route_entry(table, rt);
    json_t *op = json_object();
    jsonx_set_or_fail(op, "summary", json_string(rt->summary), failed);
    jsonx_set_or_fail(op, "operationId", json_string(rt->name), failed);
    jsonx_set_or_fail(op, "tags", json_pack("[s]", svc_name(rt->service)), failed);
    jsonx_set_or_fail(op, "x-scope", json_string(scope_name(rt->scope)), failed);
    if (strcmp(rt->method, "WS") == 0)
        jsonx_set_or_fail(op, "x-websocket", json_true(), failed);
    if (rt->scope != SCOPE_PUBLIC)
        jsonx_set_or_fail(op, "security", json_pack("[{s:[]},{s:[]}]", "apiKey", "bearer"),
                          failed);
    jsonx_set_or_fail(op, "parameters", parameters(rt, failed), failed);
    if (rt->body != BODY_NONE)
        jsonx_set_or_fail(op, "requestBody", request_body(cfg, rt, entry, failed), failed);
    jsonx_set_or_fail(op, "responses", responses(entry, failed), failed);
    return op;
}

/* components.schemas: the learners', the shared shapes of the table, and Error (its code an
 * enum of the catalogue's codes). */
static json_t *component_schemas(json_t *table, int *failed)
{
    json_t *schemas = learner_openapi_schemas();
    if (schemas == NULL) {
        *failed = 1;
        return NULL;
    }
    const char *name;
    json_t *schema;
    json_object_foreach(json_object_get(table, "components"), name, schema)
        jsonx_set_or_fail(schemas, name, json_incref(schema), failed);
    json_t *codes = json_array();
    for (int i = 0; i < API_ERROR_COUNT; i++)
        jsonx_push_or_fail(codes, json_string(apierr_def((enum api_error)i)->code), failed);
    jsonx_set_or_fail(schemas, "Error",
                      json_pack("{s:s, s:[s], s:b, s:{s:{s:s, s:[s, s, s], s:b, s:{s:{s:s, s:o},"
                                " s:{s:s}, s:{s:s}}}}}",
                                "type", "object", "required", "error", "additionalProperties", 0,
                                "properties", "error", "type", "object", "required", "code",
                                "message", "details", "additionalProperties", 0, "properties",
                                "code", "type", "string", "enum", codes, "message", "type",
                                "string", "details", "type", "object"),
                      failed);
    return schemas;
}

json_t *openapi_document(const struct gw_config *cfg)
{
    json_t *table = openapi_table();
    int failed = table == NULL;
    json_t *paths = json_object();
    for (size_t i = 0; i < routes_count && !failed; i++) {
        const struct route *rt = &routes[i];
        char method[16];
        method_key(rt, method, sizeof method);
        json_t *item = json_object_get(paths, rt->pattern);
        if (item == NULL) {
            item = json_object();
            jsonx_set_or_fail(paths, rt->pattern, item, &failed);
            if (failed)
                break;
        }
        jsonx_set_or_fail(item, method, operation(cfg, table, rt, &failed), &failed);
    }
    json_t *doc =
        json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:{s:{s:s, s:s, s:s}, s:{s:s, s:s}}}}", "openapi",
                  "3.1.0", "info", "title", "AIOps suite", "version", AIOPS_VERSION, "paths", paths,
                  "components", "securitySchemes", "apiKey", "type", "apiKey", "in", "header",
                  "name", "X-API-Key", "bearer", "type", "http", "scheme", "bearer");
    if (doc == NULL)
        failed = 1;
    else
        jsonx_set_or_fail(json_object_get(doc, "components"), "schemas",
                          component_schemas(table, &failed), &failed);
    /* the catalogue itself: code, status, message of every error (lib/http/apierr.h) */
    if (!failed)
        jsonx_set_or_fail(doc, "x-error-codes", apierr_catalogue_json(), &failed);
    json_decref(table);
    if (failed) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}
