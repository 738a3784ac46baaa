#include "core/encode.h"

#include <string.h>

#include "core/buf.h"
#include "core/err.h"

void hex_encode(char *out, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int hex_decode(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return AIOPS_EPARSE;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return AIOPS_OK;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(char *out, const void *p, size_t n, const char *alpha, int pad)
{
    const uint8_t *b = p;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)b[i] << 16;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
}

void base64url_encode(char *out, const void *p, size_t n)
{
    b64_encode(out, p, n, b64url, 0);
}

void base64_encode(char *out, const void *p, size_t n)
{
    b64_encode(out, p, n, b64std, 1);
}

static int b64_value(char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

static int b64_decode(const char *s, size_t slen, int url, uint8_t *out, size_t outcap,
                      size_t *outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    if (slen % 4 == 1)
        return AIOPS_EPARSE;
    for (size_t i = 0; i < slen; i++) {
        int v = b64_value(s[i], url);
        if (v < 0)
            return AIOPS_EPARSE;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outcap)
                return AIOPS_ETOOBIG;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* leftover bits must be zero for a canonical encoding */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return AIOPS_EPARSE;
    *outlen = o;
    return AIOPS_OK;
}

int base64url_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen)
{
    return b64_decode(s, slen, 1, out, outcap, outlen);
}

int base64_decode(const char *s, size_t slen, uint8_t *out, size_t outcap, size_t *outlen)
{
    if (slen % 4 != 0)
        return AIOPS_EPARSE;
    size_t pad = 0;
    while (pad < 2 && slen > pad && s[slen - 1 - pad] == '=')
        pad++;
    return b64_decode(s, slen - pad, 0, out, outcap, outlen);
}

int utf8_valid(const void *p, size_t n, size_t *bad_offset)
{
    const uint8_t *s = p;
    size_t i = 0;
    while (i < n) {
        /* fast path over ASCII, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        if (i + len > n)
            goto bad;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += len;
    }
    return 1;
bad:
    if (bad_offset)
        *bad_offset = i;
    return 0;
}

int utf8_sanitize(const void *p, size_t n, struct buf *out)
{
    const char *s = p;
    size_t off = 0, bad;
    int rv = AIOPS_OK;
    while (rv == AIOPS_OK && off < n) {
        if (utf8_valid(s + off, n - off, &bad))
            return buf_append(out, s + off, n - off);
        if ((rv = buf_append(out, s + off, bad)) == AIOPS_OK)
            rv = buf_append(out, "\xef\xbf\xbd", 3);
        off += bad + 1;
    }
    return rv;
}
