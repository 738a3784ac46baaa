#include "core/jsonx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "core/err.h"
#include "core/jscan.h"
#include "core/numparse.h"

static int write_real(double v, struct buf *out)
{
    if (!isfinite(v))
        return buf_puts(out, "null");
    char tmp[40];
    fmt_double_shortest(tmp, sizeof tmp, v);
    /* keep it a real on the reader's side: 3 -> 3.0 */
    if (strpbrk(tmp, ".eEn") == NULL)
        strcat(tmp, ".0");
    return buf_puts(out, tmp);
}

static int newline(struct buf *out, int indent, int depth)
{
    int rv;
    if (indent <= 0)
        return AIOPS_OK;
    if ((rv = buf_putc(out, '\n')) != 0 || (rv = buf_reserve(out, (size_t)(indent * depth))) != 0)
        return rv;
    memset(out->data + out->len, ' ', (size_t)(indent * depth));
    out->len += (size_t)(indent * depth);
    out->data[out->len] = '\0';
    return AIOPS_OK;
}

static int write_value(const json_t *j, struct buf *out, int indent, int depth)
{
    int rv = AIOPS_OK;
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        if ((rv = buf_putc(out, '{')) != 0)
            return rv;
        json_object_foreach((json_t *)j, key, val)
        {
            if ((!first && (rv = buf_putc(out, ',')) != 0) ||
                (rv = newline(out, indent, depth + 1)) != 0)
                return rv;
            first = 0;
            if ((rv = buf_json_str(out, key, strlen(key))) != 0 ||
                (rv = buf_puts(out, indent > 0 ? ": " : ":")) != 0 ||
                (rv = write_value(val, out, indent, depth + 1)) != 0)
                return rv;
        }
        if (!first && (rv = newline(out, indent, depth)) != 0)
            return rv;
        return buf_putc(out, '}');
    }
    case JSON_ARRAY: {
        if ((rv = buf_putc(out, '[')) != 0)
            return rv;
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if ((i > 0 && (rv = buf_putc(out, ',')) != 0) ||
                (rv = newline(out, indent, depth + 1)) != 0 ||
                (rv = write_value(json_array_get(j, i), out, indent, depth + 1)) != 0)
                return rv;
        }
        if (n > 0 && (rv = newline(out, indent, depth)) != 0)
            return rv;
        return buf_putc(out, ']');
    }
    case JSON_STRING:
        return buf_json_str(out, json_string_value(j), json_string_length(j));
    case JSON_INTEGER:
        return buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    case JSON_REAL:
        return write_real(json_real_value(j), out);
    case JSON_TRUE:
        return buf_puts(out, "true");
    case JSON_FALSE:
        return buf_puts(out, "false");
    case JSON_NULL:
    default:
        return buf_puts(out, "null");
    }
}

int jsonx_write(const json_t *j, struct buf *out)
{
    return write_value(j, out, 0, 0);
}

int jsonx_write_indent(const json_t *j, int indent, struct buf *out)
{
    return write_value(j, out, indent, 0);
}

char *jsonx_to_string(const json_t *j, size_t *len)
{
    struct buf b = BUF_INIT;
    if (jsonx_write(j, &b) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, len);
}

json_t *jsonx_error_details(const struct aiops_error *e)
{
    json_t *d = json_object();
    int failed = d == NULL;
    if (failed)
        return NULL;
    if (e->code != NULL)
        jsonx_set_or_fail(d, "code", json_string(e->code), &failed);
    if (e->field[0] != '\0')
        jsonx_set_or_fail(d, "field", jsonx_string_lossy(e->field, strlen(e->field)), &failed);
    if (e->message[0] != '\0')
        jsonx_set_or_fail(d, "reason", jsonx_string_lossy(e->message, strlen(e->message)), &failed);
    if (e->offset >= 0)
        jsonx_set_or_fail(d, "offset", json_integer(e->offset), &failed);
    if (e->line > 0)
        jsonx_set_or_fail(d, "line", json_integer(e->line), &failed);
    if (e->column > 0)
        jsonx_set_or_fail(d, "column", json_integer(e->column), &failed);
    if (failed) {
        json_decref(d);
        return NULL;
    }
    return d;
}

int jsonx_parse_body(const void *p, size_t n, int any_value, json_t **out, struct aiops_error *err)
{
    json_error_t e;
    *out = NULL;
    aiops_error_clear(err);
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES | (any_value ? JSON_DECODE_ANY : 0), &e);
    if (j == NULL) {
        if (json_error_code(&e) == json_error_out_of_memory)
            return AIOPS_ENOMEM;
        if (err == NULL)
            return AIOPS_EPARSE;
        /* jansson says where it stopped reading; the scanner says where the bad token starts,
         * as the predict path (lib/ml/instances.c) reports it -- so that a syntax error gets
         * one answer on every route. What the scanner does not see (a repeated key) keeps
         * jansson's place. */
        struct jscan js;
        enum jtok t;
        jscan_init(&js, p, n);
        while ((t = jscan_next(&js)) > JT_END)
            ;
        if (t == JT_ERROR && json_error_code(&e) != json_error_duplicate_key) {
            jscan_error(&js, err);
        } else {
            aiops_error_set(err, 0, NULL, "%s", e.text);
            err->offset = (long)e.position;
            err->line = e.line > 0 ? e.line : 1;
            err->column = e.column > 0 ? e.column : 1;
        }
        jscan_free(&js);
        return AIOPS_EPARSE;
    }
    if (!any_value && !json_is_object(j)) {
        json_decref(j);
        if (err != NULL) {
            err->offset = 0;
            err->line = err->column = 1;
        }
        return aiops_error_set(err, AIOPS_EPARSE, NULL, "the body must be a JSON object");
    }
    *out = j;
    return AIOPS_OK;
}

json_t *jsonx_num(double v, int whole)
{
    if (!isfinite(v))
        return json_null();
    if (whole && v == floor(v) && fabs(v) <= 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

json_t *jsonx_string_lossy(const char *s, size_t len)
{
    if (utf8_valid(s, len, NULL))
        return json_stringn(s, len);
    struct buf b = BUF_INIT;
    json_t *j = utf8_sanitize(s, len, &b) == 0 ? json_stringn(b.data ? b.data : "", b.len) : NULL;
    buf_free(&b);
    return j;
}

int jsonx_set(json_t *o, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(o, key, v) != 0 ? AIOPS_ENOMEM : AIOPS_OK;
}

void jsonx_set_or_fail(json_t *o, const char *key, json_t *v, int *failed)
{
    if (jsonx_set(o, key, v) != 0)
        *failed = 1;
}

void jsonx_push_or_fail(json_t *a, json_t *v, int *failed)
{
    if (v == NULL || json_array_append_new(a, v) != 0)
        *failed = 1;
}

int jsonx_build_done(json_t *doc, int rv, int failed, json_t **out)
{
    if (rv == 0 && failed)
        rv = AIOPS_ENOMEM;
    if (rv != 0) {
        json_decref(doc);
        return rv;
    }
    *out = doc;
    return AIOPS_OK;
}
