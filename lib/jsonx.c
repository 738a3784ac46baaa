#include "jsonx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int write_real(double v, struct buf *out)
{
    if (!isfinite(v))
        return buf_puts(out, "null");
    char tmp[40];
    /* the shortest of 15, 16, 17 significant digits that reads back exactly */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v)
            break;
    }
    /* keep it a real on the reader's side: 3 -> 3.0 */
    if (strpbrk(tmp, ".eEn") == NULL)
        strcat(tmp, ".0");
    return buf_puts(out, tmp);
}

int json_write(const json_t *j, struct buf *out)
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
            if (!first && (rv = buf_putc(out, ',')) != 0)
                return rv;
            first = 0;
            if ((rv = buf_json_str(out, key, strlen(key))) != 0 || (rv = buf_putc(out, ':')) != 0 ||
                (rv = json_write(val, out)) != 0)
                return rv;
        }
        return buf_putc(out, '}');
    }
    case JSON_ARRAY: {
        if ((rv = buf_putc(out, '[')) != 0)
            return rv;
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && (rv = buf_putc(out, ',')) != 0)
                return rv;
            if ((rv = json_write(json_array_get(j, i), out)) != 0)
                return rv;
        }
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

char *json_to_string(const json_t *j, size_t *len)
{
    struct buf b = BUF_INIT;
    if (json_write(j, &b) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b, len);
}

json_t *json_error_body(const char *code, const char *message, json_t *details)
{
    json_t *err = json_object();
    json_object_set_new(err, "code", json_string(code));
    json_object_set_new(err, "message", json_string(message));
    json_object_set_new(err, "details", details ? details : json_object());
    json_t *body = json_object();
    json_object_set_new(body, "error", err);
    return body;
}

int json_parse_body(const void *p, size_t n, int any_value, json_t **out, json_t **error)
{
    json_error_t e;
    *out = NULL;
    *error = NULL;
    json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES | (any_value ? JSON_DECODE_ANY : 0), &e);
    if (j == NULL) {
        *error = json_pack("{s:i, s:i, s:i, s:s}", "line", e.line, "column", e.column,
                           "position", e.position, "reason", e.text);
        return AIOPS_EPARSE;
    }
    if (!any_value && !json_is_object(j)) {
        json_decref(j);
        *error = json_pack("{s:i, s:i, s:i, s:s}", "line", 1, "column", 1, "position", 0,
                           "reason", "the body must be a JSON object");
        return AIOPS_EPARSE;
    }
    *out = j;
    return AIOPS_OK;
}

json_t *json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}
