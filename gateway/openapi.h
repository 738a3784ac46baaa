/* openapi.h -- the API's OpenAPI 3.1 document (GET /openapi.json), generated from the route
 * table (lib/rpc/routes.h: paths, methods, path and query parameters, scopes), the learner
 * table (lib/ml/learner.h: the training body), the error catalogue (lib/http/apierr.h: every
 * operation's error answer) and the schema table gateway/openapi-schemas.json (what each
 * route answers and takes), which the build compiles in (build/gen/openapi_embed.c).
 *
 * The schema table is data, JSON Schema 2020-12 keyed by route name, written from each
 * service's handler:
 *   {"components": {NAME: schema, ...},           shared shapes: #/components/schemas/NAME
 *    "routes": {KEY: {"responses": {STATUS: OpenAPI response object, ...},
 *                     "request": schema of the JSON body,
 *                     "request_optional": true when the body may be left out,
 *                     "request_types": [other content types the handler reads]}, ...}}
 * KEY is a route's name, or its pattern for an alias that answers in its own (its seed's)
 * shape. Every route has at least one response (tests/unit/test_openapi.c), and the
 * integration tests check every JSON answer they receive against the document
 * (tests/integration/openapi_check.py). */
#ifndef AIOPS_OPENAPI_H
#define AIOPS_OPENAPI_H

#include <jansson.h>

#include "core/embed.h"
#include "gw.h"

/* build/gen/openapi_embed.c: gateway/openapi-schemas.json, the one file */
extern const struct embedded_file openapi_schema_files[];
extern const unsigned long openapi_schema_files_count;

/* The schema table, parsed: a new object the caller owns; NULL when out of memory or when
 * the compiled-in text does not parse (logged with the line and column). */
json_t *openapi_table(void);

/* The entry of the table for route rt (its pattern's entry if there is one, else its
 * name's): borrowed from table; NULL when there is none. */
json_t *openapi_route_entry(json_t *table, const struct route *rt);

/* The whole document for a gateway with cfg's limits (x-max-bytes of the bodies). A new
 * object the caller owns; NULL when out of memory or the table does not parse. */
json_t *openapi_document(const struct gw_config *cfg);

#endif
