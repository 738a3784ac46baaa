/* Unit tests for gateway/openapi.c and its schema table: every route of the route table has
 * a response, the table parses, no entry names a route that does not exist, and the
 * document has the shape OpenAPI 3.1 asks for (the full validation against the official
 * schema is tests/integration/test_gateway.py's). */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "openapi.h"

static int route_exists(const char *key)
{
    for (size_t i = 0; i < routes_count; i++)
        if (strcmp(routes[i].name, key) == 0 || strcmp(routes[i].pattern, key) == 0)
            return 1;
    return 0;
}

/* Every route has an entry with a success (or, for a WebSocket, 101) response, every JSON
 * answer a schema, every JSON body a request schema; every entry is a route's. */
static void test_every_route_has_a_response_and_every_entry_a_route(void)
{
    json_t *table = openapi_table();
    CHECK(json_is_object(json_object_get(table, "components")));
    for (size_t i = 0; i < routes_count; i++) {
        json_t *entry = openapi_route_entry(table, &routes[i]);
        json_t *resp = json_object_get(entry, "responses");
        /* a JSON body has its schema (train.start's is the learner table's) */
        int has_request = json_is_object(json_object_get(entry, "request")) ||
                          strcmp(routes[i].name, "train.start") == 0;
        if (routes[i].body == BODY_JSON && !has_request)
            fprintf(stderr, "route %s takes JSON but has no request schema\n", routes[i].name);
        CHECK(routes[i].body != BODY_JSON || has_request);
        if (json_object_size(resp) == 0)
            fprintf(stderr, "route %s (%s %s) has no response in gateway/openapi-schemas.json\n",
                    routes[i].name, routes[i].method, routes[i].pattern);
        CHECK(json_object_size(resp) > 0);
        const char *status;
        json_t *r;
        json_object_foreach(resp, status, r)
        {
            long code = strtol(status, NULL, 10);
            CHECK(code >= 100 && code < 400);
            CHECK(json_is_string(json_object_get(r, "description")));
            json_t *media = json_object_get(json_object_get(r, "content"), "application/json");
            if (media != NULL && !json_is_object(json_object_get(media, "schema")))
                fprintf(stderr, "%s %s: a JSON answer without a schema\n", routes[i].name, status);
            CHECK(media == NULL || json_is_object(json_object_get(media, "schema")));
        }
    }
    const char *key;
    json_t *entry;
    json_object_foreach(json_object_get(table, "routes"), key, entry)
    {
        if (!route_exists(key))
            fprintf(stderr, "gateway/openapi-schemas.json: %s is no route\n", key);
        CHECK(route_exists(key));
    }
    json_decref(table);
}

static void test_document(void)
{
    struct gw_config cfg = {.body_limit = 1000, .upload_limit = 2000};
    json_t *doc = openapi_document(&cfg);
    CHECK(doc != NULL);
    CHECK_STR(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *paths = json_object_get(doc, "paths");
    /* a WebSocket topic is a GET answering 101 */
    json_t *ws = json_object_get(json_object_get(paths, "/ws/training/{run_id}"), "get");
    CHECK(json_is_true(json_object_get(ws, "x-websocket")));
    CHECK(json_object_get(json_object_get(ws, "responses"), "101") != NULL);
    /* Prometheus text; the upload's limit; train.start's body from the learner table */
    json_t *metrics = json_object_get(json_object_get(paths, "/api/metrics"), "get");
    json_t *ok = json_object_get(json_object_get(metrics, "responses"), "200");
    CHECK(json_object_get(json_object_get(ok, "content"), "text/plain") != NULL);
    json_t *up = json_object_get(json_object_get(paths, "/api/v1/datasets"), "post");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(up, "requestBody"),
                                                 "x-max-bytes")),
              2000);
    json_t *train = json_object_get(json_object_get(paths, "/api/train"), "post");
    json_t *schema = json_object_get(
        json_object_get(json_object_get(json_object_get(train, "requestBody"), "content"),
                        "application/json"),
        "schema");
    CHECK_STR(json_string_value(json_object_get(schema, "$ref")),
              "#/components/schemas/train_request");
    /* every operation answers errors with the Error schema */
    const char *path, *method;
    json_t *item, *op;
    size_t ops = 0;
    json_object_foreach(paths, path, item)
    {
        json_object_foreach(item, method, op)
        {
            json_t *resp = json_object_get(op, "responses");
            CHECK(json_object_get(resp, "default") != NULL);
            CHECK(json_object_size(resp) >= 2);
            ops++;
        }
    }
    CHECK_INT((long)ops, (long)routes_count);
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    CHECK(json_object_get(schemas, "Error") != NULL);
    CHECK(json_object_get(schemas, "Run") != NULL);
    json_decref(doc);
}

UNIT_MAIN(UNIT(test_every_route_has_a_response_and_every_entry_a_route), UNIT(test_document))
