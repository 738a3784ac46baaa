/* jsonx.h -- JSON helpers on top of jansson: compact output with shortest round-trip
 * numbers, an error's detail as JSON, and body parsing that reports where it failed. */
#ifndef AIOPS_JSONX_H
#define AIOPS_JSONX_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* Appends j as compact JSON. Reals are written in the shortest form that reads back to the
 * same double; NaN and infinities (which JSON cannot express) become null. */
int jsonx_write(const json_t *j, struct buf *out);
/* jsonx_write with `indent` spaces per level and one member per line (indent 0: compact). */
int jsonx_write_indent(const json_t *j, int indent, struct buf *out);
/* jsonx_write into a new string (caller frees); NULL when out of memory. */
char *jsonx_to_string(const json_t *j, size_t *len);

/* The "details" of an API error from e: {"code": e->code, "field", "reason": e->message,
 * "offset", "line", "column"}, each member only when e has it (an empty e gives {}). A new
 * object the caller owns; NULL only when out of memory. */
json_t *jsonx_error_details(const struct aiops_error *e);

/* Parses a request body that must be a JSON object (or any value when any_value): 0 with
 * *out (caller owns). AIOPS_EPARSE when it is not JSON, or not an object, or empty: *out is
 * NULL and err (may be NULL) holds the reason as its message, with the offset, line and
 * column where the offending token starts -- the place lib/core/jscan.h reports for the
 * same text. AIOPS_ENOMEM. */
int jsonx_parse_body(const void *p, size_t n, int any_value, json_t **out, struct aiops_error *err);

/* A number JSON can carry: NaN and infinities become null. With `whole`, a whole number
 * within +-2^53 becomes a JSON integer. */
json_t *jsonx_num(double v, int whole);
/* A JSON string of len bytes; bytes that are not valid UTF-8 become U+FFFD (jansson refuses
 * invalid UTF-8 outright). NULL only when out of memory. */
json_t *jsonx_string_lossy(const char *s, size_t len);

/* Sets o[key] = v, taking v (NULL v, from an allocation that failed upstream, is accepted).
 * AIOPS_ENOMEM when v is NULL or the set fails. */
int jsonx_set(json_t *o, const char *key, json_t *v);
/* For building big documents: the same, remembering any failure in *failed. */
void jsonx_set_or_fail(json_t *o, const char *key, json_t *v, int *failed);
void jsonx_push_or_fail(json_t *a, json_t *v, int *failed);
/* The end of such a build: hands doc to *out when rv is 0 and nothing failed, else frees
 * it. Returns rv, or AIOPS_ENOMEM when only the build failed. */
int jsonx_build_done(json_t *doc, int rv, int failed, json_t **out);

#endif
