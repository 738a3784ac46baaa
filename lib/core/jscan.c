#include "core/jscan.h"

#include <math.h>
#include <string.h>

#include "core/encode.h"
#include "core/numparse.h"

enum { E_VALUE, E_VALUE_OR_END, E_KEY_OR_END, E_KEY, E_COLON, E_COMMA_OR_END };

void jscan_init(struct jscan *js, const void *text, size_t len)
{
    memset(js, 0, sizeof *js);
    js->text = js->p = text;
    js->end = js->text + len;
    js->expect = E_VALUE;
}

void jscan_free(struct jscan *js)
{
    buf_free(&js->scratch);
}

static enum jtok fail_at(struct jscan *js, const char *at, const char *reason)
{
    if (js->reason == NULL) {
        js->reason = reason;
        js->error_pos = (size_t)(at - js->text);
    }
    js->p = js->end;
    return JT_ERROR;
}

void jscan_fail(struct jscan *js, const char *reason)
{
    fail_at(js, js->p, reason);
}

int jscan_is(const struct jscan *js, const char *lit)
{
    size_t n = strlen(lit);
    return js->len == n && memcmp(js->s, lit, n) == 0;
}

static void after_value(struct jscan *js)
{
    if (js->depth == 0)
        js->done = 1;
    else
        js->expect = E_COMMA_OR_END;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)p[i]);
        if (h < 0)
            return 0;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 1;
}

static int put_utf8(struct buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, u, n);
}

/* A string at js->p (on its opening quote) into js->s / js->len. */
static int scan_string(struct jscan *js)
{
    const char *start = ++js->p, *p = start;
    while (p < js->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        p++;
    if (p < js->end && *p == '"') { /* no escapes: point into the input */
        if (!utf8_valid(start, (size_t)(p - start), NULL))
            return fail_at(js, start, "invalid UTF-8 in a string"), -1;
        js->s = start;
        js->len = (size_t)(p - start);
        js->p = p + 1;
        return 0;
    }
    struct buf *b = &js->scratch;
    buf_reset(b);
    int oom = buf_append(b, start, (size_t)(p - start)) != 0; /* checked at the end */
    while (p < js->end) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"') {
            if (oom)
                return fail_at(js, start, "out of memory"), -1;
            if (!utf8_valid(b->data, b->len, NULL))
                return fail_at(js, start, "invalid UTF-8 in a string"), -1;
            js->s = b->data ? b->data : "";
            js->len = b->len;
            js->p = p + 1;
            return 0;
        }
        if (ch < 0x20)
            return fail_at(js, p, "control character in a string"), -1;
        if (ch != '\\') {
            const char *q = p;
            while (q < js->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
                q++;
            oom |= buf_append(b, p, (size_t)(q - p)) != 0;
            p = q;
            continue;
        }
        if (p + 1 >= js->end)
            break;
        char e = p[1];
        p += 2;
        switch (e) {
        case '"': oom |= buf_putc(b, '"') != 0; break;
        case '\\': oom |= buf_putc(b, '\\') != 0; break;
        case '/': oom |= buf_putc(b, '/') != 0; break;
        case 'b': oom |= buf_putc(b, '\b') != 0; break;
        case 'f': oom |= buf_putc(b, '\f') != 0; break;
        case 'n': oom |= buf_putc(b, '\n') != 0; break;
        case 'r': oom |= buf_putc(b, '\r') != 0; break;
        case 't': oom |= buf_putc(b, '\t') != 0; break;
        case 'u': {
            unsigned cp, lo;
            if (js->end - p < 4 || !hex4(p, &cp))
                return fail_at(js, p - 2, "invalid \\u escape"), -1;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (js->end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return fail_at(js, p - 6, "invalid Unicode surrogate pair"), -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail_at(js, p - 6, "invalid Unicode surrogate pair"), -1;
            } else if (cp == 0) {
                return fail_at(js, p - 6, "\\u0000 is not allowed in a string"), -1;
            }
            oom |= put_utf8(b, cp) != 0;
            break;
        }
        default:
            return fail_at(js, p - 2, "invalid escape in a string"), -1;
        }
    }
    return fail_at(js, js->end, "unterminated string"), -1;
}

static int digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static enum jtok scan_number(struct jscan *js)
{
    const char *start = js->p, *p = start, *end = js->end;
    if (p < end && *p == '-')
        p++;
    if (!digit(p, end))
        return fail_at(js, p, "invalid number");
    if (*p == '0')
        p++;
    else
        while (digit(p, end))
            p++;
    if (p < end && *p == '.') {
        p++;
        if (!digit(p, end))
            return fail_at(js, p, "invalid number");
        while (digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!digit(p, end))
            return fail_at(js, p, "invalid number");
        while (digit(p, end))
            p++;
    }
    double v;
    if (!numparse_f64(start, (size_t)(p - start), &v, NULL) || !isfinite(v))
        return fail_at(js, start, "number out of range");
    js->s = start;
    js->len = (size_t)(p - start);
    js->num = v;
    js->p = p;
    after_value(js);
    return JT_NUMBER;
}

static enum jtok literal(struct jscan *js, const char *word, enum jtok t)
{
    size_t n = strlen(word);
    if ((size_t)(js->end - js->p) < n || memcmp(js->p, word, n) != 0)
        return fail_at(js, js->p, "invalid literal");
    js->p += n;
    after_value(js);
    return t;
}

static enum jtok value(struct jscan *js)
{
    switch (*js->p) {
    case '{':
    case '[':
        if (js->depth == JSCAN_MAX_DEPTH)
            return fail_at(js, js->p, "nesting too deep");
        js->in_object[js->depth++] = *js->p == '{';
        js->expect = *js->p == '{' ? E_KEY_OR_END : E_VALUE_OR_END;
        return *js->p++ == '{' ? JT_OBJ_BEGIN : JT_ARR_BEGIN;
    case '"':
        if (scan_string(js) != 0)
            return JT_ERROR;
        after_value(js);
        return JT_STRING;
    case 't':
        return literal(js, "true", JT_TRUE);
    case 'f':
        return literal(js, "false", JT_FALSE);
    case 'n':
        return literal(js, "null", JT_NULL);
    default:
        if (*js->p == '-' || (*js->p >= '0' && *js->p <= '9'))
            return scan_number(js);
        return fail_at(js, js->p, "'[' or '{' or a value expected");
    }
}

static enum jtok close_container(struct jscan *js)
{
    int obj = js->in_object[--js->depth];
    js->p++;
    after_value(js);
    return obj ? JT_OBJ_END : JT_ARR_END;
}

enum jtok jscan_next(struct jscan *js)
{
    if (js->reason)
        return JT_ERROR;
    for (;;) {
        while (js->p < js->end &&
               (*js->p == ' ' || *js->p == '\t' || *js->p == '\n' || *js->p == '\r'))
            js->p++;
        if (js->done)
            return js->p == js->end ? JT_END : fail_at(js, js->p, "end of file expected");
        if (js->p == js->end)
            return fail_at(js, js->p, "unexpected end of input");
        char c = *js->p;
        switch (js->expect) {
        case E_COMMA_OR_END: {
            int obj = js->in_object[js->depth - 1];
            if (c == ',') {
                js->p++;
                js->expect = obj ? E_KEY : E_VALUE;
                continue;
            }
            if (c == (obj ? '}' : ']'))
                return close_container(js);
            return fail_at(js, js->p, obj ? "',' or '}' expected" : "',' or ']' expected");
        }
        case E_COLON:
            if (c != ':')
                return fail_at(js, js->p, "':' expected");
            js->p++;
            js->expect = E_VALUE;
            continue;
        case E_KEY_OR_END:
        case E_KEY:
            if (c == '}' && js->expect == E_KEY_OR_END)
                return close_container(js);
            if (c != '"')
                return fail_at(js, js->p, "string or '}' expected");
            if (scan_string(js) != 0)
                return JT_ERROR;
            js->expect = E_COLON;
            return JT_KEY;
        case E_VALUE_OR_END:
            if (c == ']')
                return close_container(js);
            return value(js);
        default:
            return value(js);
        }
    }
}

int jscan_skip(struct jscan *js, enum jtok t)
{
    if (t != JT_OBJ_BEGIN && t != JT_ARR_BEGIN)
        return t == JT_ERROR ? -1 : 0;
    int target = js->depth - 1;
    for (;;) {
        enum jtok n = jscan_next(js);
        if (n == JT_ERROR || n == JT_END)
            return -1;
        if ((n == JT_OBJ_END || n == JT_ARR_END) && js->depth == target)
            return 0;
    }
}

void jscan_error(const struct jscan *js, struct aiops_error *e)
{
    if (e == NULL)
        return;
    long line = 1, column = 1;
    for (size_t i = 0; i < js->error_pos; i++) {
        if (js->text[i] == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)js->text[i] & 0xC0) != 0x80) {
            column++;
        }
    }
    aiops_error_clear(e);
    aiops_error_set(e, 0, NULL, "%s", js->reason ? js->reason : "invalid JSON");
    e->offset = (long)js->error_pos;
    e->line = line;
    e->column = column;
}
