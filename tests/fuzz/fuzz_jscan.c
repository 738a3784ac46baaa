/* libFuzzer target for lib/core/jscan.c, differential against jansson.
 *
 * The input is parsed by jscan (tokens rebuilt into a value) and by jansson. Both must agree
 * on whether it is JSON, and on the value when it is -- numbers compared as doubles (jscan
 * reads every number as one), strings byte for byte. Cases where the two are documented to
 * differ are skipped: nesting deeper than JSCAN_MAX_DEPTH, integers too big for jansson's
 * json_int_t, and inputs holding a NUL byte (ours must refuse them). jscan_skip() is
 * exercised too: skipping the top value must reach the end. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jscan.h"

static json_t *build(struct jscan *js, enum jtok t);

/* The array (or, with object, the object) whose first token the scanner just gave, rebuilt
 * from the scanner. NULL on a scan error. */
static json_t *build_container(struct jscan *js, int object)
{
    json_t *c = object ? json_object() : json_array();
    for (;;) {
        enum jtok n = jscan_next(js);
        if (n == (object ? JT_OBJ_END : JT_ARR_END))
            return c;
        char *key = NULL;
        if (object) {
            if (n != JT_KEY) {
                json_decref(c);
                return NULL;
            }
            key = strndup(js->s, js->len);
            n = jscan_next(js);
        }
        json_t *v = build(js, n);
        if (v == NULL || (object && key == NULL)) {
            free(key);
            json_decref(v);
            json_decref(c);
            return NULL;
        }
        if (object)
            json_object_setn_new_nocheck(c, key, strlen(key), v);
        else
            json_array_append_new(c, v);
        free(key);
    }
}

/* The value whose first token is t, rebuilt from the scanner. NULL on a scan error. */
static json_t *build(struct jscan *js, enum jtok t)
{
    switch (t) {
    case JT_NULL:
        return json_null();
    case JT_TRUE:
        return json_true();
    case JT_FALSE:
        return json_false();
    case JT_NUMBER:
        return json_real(js->num);
    case JT_STRING:
        return json_stringn_nocheck(js->s, js->len);
    case JT_ARR_BEGIN:
    case JT_OBJ_BEGIN:
        return build_container(js, t == JT_OBJ_BEGIN);
    default:
        return NULL;
    }
}

/* Equal as values, numbers compared as doubles. */
static int same(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_string(a))
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            json_t *w = json_object_get(b, k);
            if (w == NULL || !same(v, w))
                return 0;
        }
        return 1;
    }
    return 1; /* true, false, null */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    struct jscan js;
    jscan_init(&js, data, size);
    json_t *mine = build(&js, jscan_next(&js));
    if (mine != NULL && jscan_next(&js) != JT_END) {
        json_decref(mine);
        mine = NULL;
    }
    int too_deep = js.reason && strcmp(js.reason, "nesting too deep") == 0;
    jscan_free(&js);

    json_error_t e;
    /* JSON_DECODE_ANY: any value at the top; NUL bytes are refused by both */
    json_t *theirs = json_loadb((const char *)data, size, JSON_DECODE_ANY, &e);
    int big_int = theirs == NULL && strstr(e.text, "too big") != NULL;
    /* a NUL byte is never valid JSON (not white space, not allowed raw in a string), but
     * jansson 2.14 accepts a literal followed by one ("null\0"): only ours is checked */
    int has_nul = memchr(data, 0, size) != NULL;
    if (has_nul && mine != NULL)
        abort();
    /* jansson keeps the last of repeated keys, as the rebuild above does */
    if (!too_deep && !big_int && !has_nul) {
        if ((mine == NULL) != (theirs == NULL))
            abort();
        if (mine != NULL && !same(mine, theirs))
            abort();
    }
    int parsed = mine != NULL;
    json_decref(mine);
    json_decref(theirs);

    /* skipping the whole value reaches the end exactly when our full scan succeeded */
    jscan_init(&js, data, size);
    enum jtok t = jscan_next(&js);
    int ok = t > JT_END && jscan_skip(&js, t) == 0 && jscan_next(&js) == JT_END;
    jscan_free(&js);
    if (ok != parsed)
        abort();
    return 0;
}
