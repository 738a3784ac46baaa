/* jscan.h -- a pull parser for JSON text (RFC 8259): tokens one at a time, no tree.
 *
 * For hot request bodies (predictions) where building a jansson tree and walking it costs
 * more than the work itself. Strings without escapes point into the input; escaped ones are
 * decoded into a scratch buffer (valid until the next token). Numbers are checked against
 * JSON's grammar and converted correctly rounded (lib/core/numparse.h). Strings must be valid
 * UTF-8. Nesting is limited to JSCAN_MAX_DEPTH. The first error stops the scan with a
 * reason and a byte position; jscan_error() reports it, with line and column (1-based), the
 * way jsonx_parse_body reports jansson's.
 *
 *   struct jscan js;
 *   jscan_init(&js, body, len);
 *   for (enum jtok t; (t = jscan_next(&js)) > JT_END; ) ...
 *   jscan_free(&js);
 */
#ifndef AIOPS_JSCAN_H
#define AIOPS_JSCAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define JSCAN_MAX_DEPTH 64

enum jtok {
    JT_ERROR = -1,
    JT_END = 0,   /* the text is complete (one value, then only white space) */
    JT_OBJ_BEGIN,
    JT_OBJ_END,
    JT_ARR_BEGIN,
    JT_ARR_END,
    JT_KEY,       /* an object member's name: s, len */
    JT_STRING,    /* s, len */
    JT_NUMBER,    /* num; s, len: its text */
    JT_TRUE,
    JT_FALSE,
    JT_NULL,
};

struct jscan {
    const char *text, *p, *end;
    int depth;
    uint8_t in_object[JSCAN_MAX_DEPTH]; /* per open container: 1 object, 0 array */
    int expect;                         /* internal state */
    int done;
    /* the last token */
    const char *s;
    size_t len;
    double num;
    /* the error */
    const char *reason;
    size_t error_pos;
    struct buf scratch;
};

void jscan_init(struct jscan *js, const void *text, size_t len);
void jscan_free(struct jscan *js);
enum jtok jscan_next(struct jscan *js);
/* After a value's first token t (JT_OBJ_BEGIN / JT_ARR_BEGIN: through its end; a scalar:
 * nothing to do), skips the rest of that value. 0, or -1 on a syntax error. */
int jscan_skip(struct jscan *js, enum jtok t);
/* Stops the scan with a reason at the current position (for a caller's structural rule,
 * e.g. a duplicate key). */
void jscan_fail(struct jscan *js, const char *reason);
/* The scan's error into e (NULL: nothing): the reason as message ("invalid JSON" when the
 * scan stopped without one), its byte offset, line and column (1-based, columns counted in
 * UTF-8 characters). code and field are left empty. */
void jscan_error(const struct jscan *js, struct aiops_error *e);
/* 1 when the token's string equals the NUL-terminated lit. */
int jscan_is(const struct jscan *js, const char *lit);

#endif
