/* libFuzzer target for gateway/httpframe.c.
 *
 * Input: 4 bytes of configuration (max head, body limit, max drain, split seed), then the
 * byte stream a client sends. The stream is framed twice, in one piece and split at
 * pseudo-random points; checked:
 *  - process() always consumes all of `in`;
 *  - both runs give the same bytes to evhttp and to the client (framing does not depend on
 *    how TCP cut the stream);
 *  - out only ever holds whole requests: a second framer with no limits, given the framed
 *    part of out (the synthetic error request aside), forwards exactly the same bytes and
 *    holds nothing back;
 *  - after an Upgrade request the rest of the stream passes through byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "httpframe.h"

#define SECRET "fuzzsecret0123456789"

static size_t limit_fn(void *arg, const char *m, size_t ml, const char *t, size_t tl)
{
    (void)m;
    (void)ml;
    (void)t;
    (void)tl;
    return *(size_t *)arg;
}

struct result {
    struct evbuffer *out, *to_client;
    int closed;
    struct httpframe_stats st;
};

static void run(const uint8_t *cfg, const uint8_t *data, size_t size, int split, struct result *r)
{
    size_t limit = (size_t)cfg[1] * 4;
    struct httpframe_config c;
    memset(&c, 0, sizeof c);
    c.max_head_bytes = 64 + (size_t)cfg[0] * 16;
    c.max_drain_bytes = 1 + (size_t)cfg[2] * 16;
    c.body_limit = limit_fn;
    c.arg = &limit;
    c.secret = SECRET;
    struct httpframe *f = httpframe_new(&c);
    if (f == NULL)
        abort();
    struct evbuffer *in = evbuffer_new();
    r->out = evbuffer_new();
    r->to_client = evbuffer_new();
    r->closed = 0;
    uint32_t rnd = 0x9e3779b9u ^ cfg[3];
    size_t o = 0;
    do {
        size_t k = size - o;
        if (split) {
            rnd = rnd * 1103515245u + 12345u;
            size_t piece = 1 + (rnd >> 16) % 64;
            if (piece < k)
                k = piece;
        }
        evbuffer_add(in, data + o, k);
        o += k;
        size_t before = evbuffer_get_length(r->out);
        enum httpframe_status s = httpframe_process(f, in, r->out, r->to_client);
        if (evbuffer_get_length(in) != 0)
            abort();
        if (s != HTTPFRAME_CLOSE && (s == HTTPFRAME_OK) != (evbuffer_get_length(r->out) > before))
            abort();
        if (s == HTTPFRAME_CLOSE) {
            r->closed = 1;
            break;
        }
    } while (o < size);
    httpframe_get_stats(f, &r->st);
    httpframe_free(f);
    evbuffer_free(in);
}

static int same(struct evbuffer *a, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(a);
    if (n != evbuffer_get_length(b))
        return 0;
    return n == 0 || memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), n) == 0;
}

static void *find(const void *h, size_t hn, const char *needle)
{
    return memmem(h, hn, needle, strlen(needle));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 65536)
        return 0;
    const uint8_t *cfg = data;
    data += 4;
    size -= 4;
    struct result a, b;
    run(cfg, data, size, 0, &a);
    run(cfg, data, size, 1, &b);
    if (!same(a.out, b.out) || !same(a.to_client, b.to_client) || a.closed != b.closed ||
        memcmp(&a.st, &b.st, sizeof a.st) != 0)
        abort();

    size_t outlen = evbuffer_get_length(a.out);
    const uint8_t *out = evbuffer_pullup(a.out, -1);
    if (a.st.framed_bytes + a.st.passthrough_bytes != outlen)
        abort();
    if (a.st.passthrough) {
        /* the pass-through bytes are the tail of the input, unchanged */
        if (a.st.passthrough_bytes > size ||
            (a.st.passthrough_bytes > 0 &&
             memcmp(out + a.st.framed_bytes, data + size - a.st.passthrough_bytes,
                    a.st.passthrough_bytes) != 0))
            abort();
    }
    /* the framed part, less a synthetic error request at its end, reframes to itself */
    size_t framed = (size_t)a.st.framed_bytes;
    if (a.st.error_status != 0) {
        if (a.st.passthrough || a.st.error_at >= framed ||
            find(out + a.st.error_at, framed - a.st.error_at,
                 "\r\nX-Aiops-Frame-Error: " SECRET " ") == NULL)
            abort();
        framed = (size_t)a.st.error_at;
    }
    if (framed > 0) {
        size_t big = (size_t)1 << 40;
        struct httpframe_config c;
        memset(&c, 0, sizeof c);
        c.body_limit = limit_fn;
        c.arg = &big;
        c.secret = SECRET;
        struct httpframe *f2 = httpframe_new(&c);
        struct evbuffer *in = evbuffer_new(), *o2 = evbuffer_new(), *tc = evbuffer_new();
        evbuffer_add(in, out, framed);
        if (httpframe_process(f2, in, o2, tc) != HTTPFRAME_OK)
            abort();
        struct httpframe_stats st2;
        httpframe_get_stats(f2, &st2);
        if (st2.error_status != 0 || evbuffer_get_length(o2) != framed ||
            memcmp(evbuffer_pullup(o2, -1), out, framed) != 0 || st2.passthrough_bytes != 0)
            abort();
        httpframe_free(f2);
        evbuffer_free(in);
        evbuffer_free(o2);
        evbuffer_free(tc);
    }
    evbuffer_free(a.out);
    evbuffer_free(a.to_client);
    evbuffer_free(b.out);
    evbuffer_free(b.to_client);
    return 0;
}
