/* jsonx.h -- JSON helpers on top of jansson: compact output with shortest round-trip
 * numbers, the suite's error body, and body parsing that reports where it failed. */
#ifndef AIOPS_JSONX_H
#define AIOPS_JSONX_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Appends j as compact JSON. Reals are written in the shortest form that reads back to the
 * same double; NaN and infinities (which JSON cannot express) become null. */
int json_write(const json_t *j, struct buf *out);
/* json_write into a new string (caller frees); NULL when out of memory. */
char *json_to_string(const json_t *j, size_t *len);

/* {"error": {"code": code, "message": message, "details": details or {}}}; takes details. */
json_t *json_error_body(const char *code, const char *message, json_t *details);

/* Parses a request body that must be a JSON object (or any value when any_value). On
 * failure returns AIOPS_EPARSE and *error receives details {"line","column","position",
 * "reason"} (caller owns). An empty body is an error too. */
int json_parse_body(const void *p, size_t n, int any_value, json_t **out, json_t **error);

/* A number that JSON can carry: NaN and infinities become null. */
json_t *json_num(double v);

#endif
