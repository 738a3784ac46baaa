#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "buf.h"
#include "err.h"
#include "log.h"

double time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void time_iso8601(char *out, size_t outsz, double t)
{
    /* round to the millisecond: t rarely holds .123 exactly */
    long long total_ms = llround(t * 1000.0);
    long long rem = total_ms % 1000;
    if (rem < 0) /* before 1970: floor, so that the milliseconds stay 0..999 */
        rem += 1000;
    time_t secs = (time_t)((total_ms - rem) / 1000);
    int ms = (int)rem;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%03dZ", base, ms);
}

void fmt_double_shortest(char *out, size_t cap, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (prec == 17 || !isfinite(v) || strtod(out, NULL) == v)
            return;
    }
}

const char *env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : def;
}

int env_long(const char *name, long def, long min, long max, long *out)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return AIOPS_OK;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < min || x > max) {
        log_error("config: %s=%s is not an integer in [%ld, %ld]", name, v, min, max);
        return AIOPS_EINVAL;
    }
    *out = x;
    return AIOPS_OK;
}

int env_bool(const char *name, int def, int *out)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        *out = def;
        return AIOPS_OK;
    }
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes")) {
        *out = 1;
        return AIOPS_OK;
    }
    if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no")) {
        *out = 0;
        return AIOPS_OK;
    }
    log_error("config: %s=%s is not a boolean (1/0/true/false)", name, v);
    return AIOPS_EINVAL;
}

int random_bytes(void *p, size_t n)
{
    uint8_t *o = p;
    while (n > 0) {
        ssize_t k = getrandom(o, n, 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return AIOPS_EIO;
        }
        o += k;
        n -= (size_t)k;
    }
    return AIOPS_OK;
}

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

static void uuid_format(char out[37], uint8_t b[16]);

void uuid_v4(char out[37])
{
    uint8_t b[16];
    if (random_bytes(b, sizeof b) != 0) {
        /* getrandom cannot fail once the pool is initialised; abort rather than hand out
         * predictable identifiers. */
        abort();
    }
    uuid_format(out, b);
}

static void uuid_format(char out[37], uint8_t b[16])
{
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char h[33];
    hex_encode(h, b, 16);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* splitmix64: tiny, fast, and good enough for unique ids once seeded randomly */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void uuid_v4_fast(char out[37])
{
    static _Thread_local uint64_t state;
    static _Thread_local int seeded;
    if (!seeded) {
        if (random_bytes(&state, sizeof state) != 0)
            state = time_mono_ns() ^ (uint64_t)(uintptr_t)&state;
        seeded = 1;
    }
    uint64_t a = splitmix64(&state), c = splitmix64(&state);
    uint8_t b[16];
    memcpy(b, &a, 8);
    memcpy(b + 8, &c, 8);
    uuid_format(out, b);
}

int uuid_valid(const char *s)
{
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return s[36] == '\0';
}

void sha256(const void *p, size_t n, uint8_t out[32])
{
    SHA256(p, n, out);
}

void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)keylen, msg, n, out, &len);
}

int ct_memcmp(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n);
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

int http_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c > 0 && c < 0x80 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
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
