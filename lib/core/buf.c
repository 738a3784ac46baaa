#include "core/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/err.h"

int buf_reserve(struct buf *b, size_t extra)
{
    if (extra > ((size_t)-1) / 2 - b->len)
        return AIOPS_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return AIOPS_OK;
    int rv = array_reserve(&b->data, &b->cap, need, 1, 64);
    if (rv == 0)
        b->data[b->len] = '\0';
    return rv;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rv;
    if ((rv = buf_reserve(b, n)) != 0)
        return rv;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return AIOPS_OK;
}

int buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_putc(struct buf *b, char c)
{
    return buf_append(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return AIOPS_EINVAL;
    int rv;
    if ((rv = buf_reserve(b, (size_t)n)) != 0)
        return rv;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return AIOPS_OK;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rv = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rv;
}

int buf_put_uint(struct buf *b, unsigned long long v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return buf_append(b, digits + sizeof digits - n, n);
}

int buf_put_fixed(struct buf *b, unsigned long long v, int decimals)
{
    unsigned long long scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    int rv = buf_put_uint(b, v / scale);
    if (rv != 0 || decimals <= 0)
        return rv;
    char frac[10];
    unsigned long long f = v % scale;
    frac[0] = '.';
    for (int i = decimals; i >= 1; i--, f /= 10)
        frac[i] = (char)('0' + f % 10);
    return buf_append(b, frac, (size_t)decimals + 1);
}

int buf_json_double(struct buf *b, double v)
{
    if (!isfinite(v))
        return buf_append(b, "null", 4);
    if (buf_reserve(b, 32) != 0)
        return AIOPS_ENOMEM;
    char *o = b->data + b->len;
    int n = snprintf(o, 32, "%.17g", v);
    if (n <= 0 || n >= 32)
        return AIOPS_EINVAL;
    char *e = memchr(o, 'e', (size_t)n);
    if (e == NULL && memchr(o, '.', (size_t)n) == NULL) {
        o[n++] = '.';
        o[n++] = '0';
    } else if (e != NULL) {
        /* 1e+20 -> 1e20, 1e-05 -> 1e-5 */
        char *d = e + 1, *src = e + 1;
        if (*src == '+')
            src++;
        else if (*src == '-')
            *d++ = *src++;
        while (*src == '0' && src[1] != '\0')
            src++;
        while (*src)
            *d++ = *src++;
        n = (int)(d - o);
    }
    o[n] = '\0';
    b->len += (size_t)n;
    return AIOPS_OK;
}

int buf_json_str(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    int rv;
    /* worst case every byte becomes \u00XX */
    if (len > ((size_t)-1) / 8 || (rv = buf_reserve(b, len * 6 + 2)) != 0)
        return AIOPS_ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                *o++ = '\\'; *o++ = 'u'; *o++ = '0'; *o++ = '0';
                *o++ = hex[c >> 4]; *o++ = hex[c & 15];
            } else {
                *o++ = (char)c;
            }
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return AIOPS_OK;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->cap)
        b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *buf_detach(struct buf *b, size_t *len)
{
    if (b->data == NULL && buf_reserve(b, 0) != 0)
        return NULL;
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
