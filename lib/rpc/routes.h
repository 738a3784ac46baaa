/* routes.h -- the one route table of the suite.
 *
 * Every REST and WebSocket route is declared once here: its method and path pattern, the
 * service that owns it, the handler name inside that service, the auth scope it needs,
 * the kind of body it takes (which sets the body limit) and its timeout. The gateway
 * matches requests against it; each service looks up handlers by route name; the
 * OpenAPI document is generated from it. Seed-compatible routes are thin aliases that
 * name the same handler as the suite's own route. */
#ifndef AIOPS_ROUTES_H
#define AIOPS_ROUTES_H

#include <stddef.h>

enum svc_id {
    SVC_GATEWAY, /* answered by the gateway itself */
    SVC_INGEST,
    SVC_TRAIN,
    SVC_EXPLAIN,
    SVC_REPORT,
    SVC_MONITOR,
    SVC_COUNT
};

enum route_scope {
    SCOPE_PUBLIC,  /* no credentials needed */
    SCOPE_READ,
    SCOPE_WRITE,
    SCOPE_PREDICT,
    SCOPE_ADMIN,
    SCOPE_COUNT
};

enum route_body {
    BODY_NONE,   /* no body expected; the JSON limit still applies */
    BODY_JSON,   /* BODY_LIMIT_BYTES (default 5 MiB) */
    BODY_UPLOAD  /* UPLOAD_LIMIT_BYTES (default 64 MiB) */
};

struct route {
    const char *method;   /* "GET", "POST", "DELETE", ...; "WS" for a WebSocket topic */
    const char *pattern;  /* "/api/v1/datasets/{id}"; a {name} matches one path segment */
    const char *name;     /* handler name in the owning service, e.g. "datasets.get" */
    enum svc_id service;
    enum route_scope scope;
    enum route_body body;
    int timeout_ms;
    const char *summary;  /* one line for the OpenAPI document */
};

#define ROUTE_MAX_PARAMS 4

/* A matched path's placeholders, as pointers into the matched path (not terminated). */
struct route_params {
    int n;
    const char *value[ROUTE_MAX_PARAMS];
    size_t len[ROUTE_MAX_PARAMS];
};

extern const struct route routes[];
extern const size_t routes_count;

/* Finds the route for method and path (path without the query, not percent-decoded).
 * Returns NULL when nothing matches; then *path_exists is 1 when the path matches a route
 * of another method (the caller answers 405 instead of 404). A WebSocket upgrade is matched
 * with method "WS". */
const struct route *route_match(const char *method, const char *path, size_t pathlen,
                                struct route_params *params, int *path_exists);

/* route_match for a raw request line's method and target (both not NUL-terminated; the
 * target's query or fragment ignored): NULL when nothing matches or the method is longer than
 * a method can be. For the framer, which sees requests before they are parsed. */
const struct route *route_of_request(const char *method, size_t mlen, const char *target,
                                     size_t tlen);

/* The query parameters r's handler reads, "name:type,..." (type: string, integer, number,
 * boolean), or NULL for none. */
const char *route_query(const struct route *r);

const char *svc_name(enum svc_id id);        /* "gateway", "ingest", ... */
const char *scope_name(enum route_scope s);  /* "public", "read", ... */

#endif
