/* Unit tests for lib/rpc/routes.c: the route table and its matcher. */
#include "unit.h"

#include "rpc/routes.h"

static const struct route *match(const char *method, const char *path, struct route_params *p,
                                 int *exists)
{
    return route_match(method, path, strlen(path), p, exists);
}

static void test_literal_and_pattern_routes(void)
{
    struct route_params p;
    int exists;
    const struct route *r = match("GET", "/api/health", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "health") == 0 && r->service == SVC_GATEWAY);
    CHECK_INT(p.n, 0);
    r = match("GET", "/api/v1/datasets/123e4567-e89b-42d3-a456-426614174000/profile", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "datasets.profile") == 0 && r->service == SVC_INGEST);
    CHECK_INT(p.n, 1);
    CHECK_MEM(p.value[0], p.len[0], "123e4567-e89b-42d3-a456-426614174000", 36);
    r = match("DELETE", "/api/v1/datasets/abc", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "datasets.delete") == 0 && r->scope == SCOPE_WRITE);
    /* a literal route wins over a pattern with the same shape */
    r = match("GET", "/api/v1/models/info", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "models.info") == 0);
    r = match("POST", "/api/upload", &p, &exists);
    CHECK(r != NULL && r->body == BODY_UPLOAD && r->timeout_ms > 10000);
}

static void test_no_match_and_wrong_method(void)
{
    struct route_params p;
    int exists = 7;
    CHECK(match("GET", "/api/nope", &p, &exists) == NULL);
    CHECK_INT(exists, 0);
    CHECK(match("PUT", "/api/health", &p, &exists) == NULL);
    CHECK_INT(exists, 1);
    /* a placeholder takes exactly one non-empty segment */
    CHECK(match("GET", "/api/v1/datasets//profile", &p, &exists) == NULL);
    CHECK(match("GET", "/api/v1/datasets/a/b/profile", &p, &exists) == NULL);
    CHECK(match("GET", "/api/healthz", &p, &exists) == NULL);
    CHECK(match("GET", "/api/health/", &p, &exists) == NULL);
    CHECK(match("GET", "", &p, &exists) == NULL);
}

static void test_websocket_routes(void)
{
    struct route_params p;
    int exists;
    const struct route *r = match("WS", "/ws/training/run-42", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "ws.training") == 0 && r->scope == SCOPE_READ);
    CHECK_MEM(p.value[0], p.len[0], "run-42", 6);
    CHECK(match("GET", "/ws/training/run-42", &p, &exists) == NULL);
    CHECK_INT(exists, 1);
}

static void test_table_is_consistent(void)
{
    for (size_t i = 0; i < routes_count; i++) {
        const struct route *r = &routes[i];
        CHECK(r->pattern[0] == '/');
        CHECK(r->name != NULL && r->name[0] != '\0');
        CHECK(r->timeout_ms > 0);
        CHECK(r->summary != NULL && r->summary[0] != '\0');
        CHECK(strcmp(r->method, "WS") != 0 || r->service == SVC_GATEWAY);
        /* every declared route matches itself and no method+pattern appears twice */
        for (size_t k = 0; k < i; k++)
            if (strcmp(routes[k].method, r->method) == 0 &&
                strcmp(routes[k].pattern, r->pattern) == 0)
                UNIT_FAIL("route %s %s declared twice", r->method, r->pattern);
        int braces = 0;
        for (const char *c = r->pattern; *c; c++)
            braces += *c == '{';
        CHECK(braces <= ROUTE_MAX_PARAMS);
    }
    CHECK_STR(svc_name(SVC_MONITOR), "monitor");
    CHECK_STR(scope_name(SCOPE_PREDICT), "predict");
}

/* issue 14: the console's files: / and one or two segments under /console/, public */
static void test_console_routes(void)
{
    struct route_params p;
    int exists;
    const struct route *r = match("GET", "/", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "console") == 0 && r->service == SVC_GATEWAY);
    CHECK(r != NULL && r->scope == SCOPE_PUBLIC);
    CHECK_INT(p.n, 0);
    r = match("GET", "/console/app.js", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "console") == 0);
    CHECK_INT(p.n, 1);
    CHECK_MEM(p.value[0], p.len[0], "app.js", 6);
    r = match("GET", "/console/vendor/uPlot.esm.js", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "console") == 0);
    CHECK_INT(p.n, 2);
    CHECK_MEM(p.value[1], p.len[1], "uPlot.esm.js", 12);
    CHECK(match("GET", "/console/a/b/c", &p, &exists) == NULL);
    CHECK(match("GET", "/console", &p, &exists) == NULL);
    CHECK(match("GET", "/console/", &p, &exists) == NULL);
    CHECK(match("POST", "/", &p, &exists) == NULL);
    CHECK_INT(exists, 1);
    /* the API's routes are untouched by the console's */
    r = match("GET", "/api/health", &p, &exists);
    CHECK(r != NULL && strcmp(r->name, "health") == 0);
}

UNIT_MAIN(UNIT(test_literal_and_pattern_routes), UNIT(test_no_match_and_wrong_method),
          UNIT(test_websocket_routes), UNIT(test_table_is_consistent), UNIT(test_console_routes))
