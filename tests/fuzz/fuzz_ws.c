/* libFuzzer target for gateway/wsframe.c: the input is a script of operations on one
 * connection -- raw peer bytes fed in random splits, well-formed masked frames built from
 * fuzzed header fields, server sends, pings, closes and partial output -- and everything the
 * engine writes is checked to be a clean sequence of valid server frames. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/encode.h"
#include "wsframe.h"

struct script {
    const uint8_t *p;
    size_t n, i;
};

static unsigned take(struct script *s)
{
    return s->i < s->n ? s->p[s->i++] : 0;
}

static size_t take_bytes(struct script *s, size_t want, const uint8_t **out)
{
    size_t k = s->n - s->i < want ? s->n - s->i : want;
    *out = s->p + s->i;
    s->i += k;
    return k;
}

struct ctx {
    struct ws_conn *c;
    int texts, closes;
};

static void on_text(void *arg, const char *msg, size_t len)
{
    struct ctx *x = arg;
    x->texts++;
    if (!utf8_valid(msg, len, NULL))
        abort(); /* the engine must never deliver invalid UTF-8 */
    /* exercise calls back into the engine from a callback */
    if (len > 0 && msg[0] == 'e')
        (void)ws_conn_send_text(x->c, msg, len);
    else if (len > 0 && msg[0] == 'c')
        (void)ws_conn_close(x->c, 4000, "bye");
    else if (len > 0 && msg[0] == 'p')
        (void)ws_conn_ping(x->c);
}

static void on_binary(void *arg, const uint8_t *msg, size_t len)
{
    struct ctx *x = arg;
    if (len > 0 && msg[0] == 'e')
        (void)ws_conn_send_binary(x->c, msg, len);
}

static void on_close(void *arg, uint16_t code, const char *reason, size_t len)
{
    struct ctx *x = arg;
    x->closes++;
    if (code < 1000 || !utf8_valid(reason, len, NULL) || len > 123)
        abort();
}

static int valid_close_code(unsigned code)
{
    return (code >= 1000 && code <= 1011 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

/* Checks that out[0..len) is whole, valid server frames with nothing after a close. */
static void check_output(const uint8_t *p, size_t n)
{
    size_t i = 0;
    int closed = 0;
    while (i < n) {
        if (closed || n - i < 2)
            abort();
        unsigned b0 = p[i], b1 = p[i + 1];
        unsigned op = b0 & 15;
        if ((b0 & 0x70) || (b1 & 0x80) || !(b0 & 0x80)) /* rsv, masked, fragmented */
            abort();
        uint64_t len = b1 & 127;
        i += 2;
        if (len == 126) {
            if (n - i < 2)
                abort();
            len = (uint64_t)p[i] << 8 | p[i + 1];
            if (len < 126)
                abort();
            i += 2;
        } else if (len == 127) {
            if (n - i < 8)
                abort();
            len = 0;
            for (int k = 0; k < 8; k++)
                len = len << 8 | p[i + (size_t)k];
            if (len < 65536)
                abort();
            i += 8;
        }
        if (n - i < len)
            abort();
        const uint8_t *pl = p + i;
        switch (op) {
        case 1:
            if (!utf8_valid(pl, (size_t)len, NULL))
                abort();
            break;
        case 2:
        case 9:
        case 10:
            break;
        case 8:
            closed = 1;
            if (len == 1 || (len >= 2 && !valid_close_code((unsigned)pl[0] << 8 | pl[1])) ||
                (len > 2 && !utf8_valid(pl + 2, (size_t)len - 2, NULL)))
                abort();
            break;
        default:
            abort();
        }
        if (op >= 8 && len > 125)
            abort();
        i += (size_t)len;
    }
}

/* A masked client frame from fuzzed header fields. */
static void put_frame(struct buf *b, unsigned b0, const uint8_t *payload, size_t len,
                      const uint8_t key[4])
{
    uint8_t h[14];
    size_t n = 0;
    h[n++] = (uint8_t)b0;
    if (len < 126) {
        h[n++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        h[n++] = 0x80 | 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memcpy(h + n, key, 4);
    n += 4;
    buf_append(b, h, n);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)(payload[i] ^ key[i % 4]);
        buf_append(b, &c, 1);
    }
}

static void feed_split(struct ws_conn *c, const uint8_t *p, size_t n, unsigned split)
{
    size_t step = split == 0 ? n : split;
    for (size_t i = 0; i < n; i += step)
        (void)ws_conn_feed(c, p + i, n - i < step ? n - i : step);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct script s = {data, size, 0};
    unsigned cfg = take(&s);
    struct ws_limits lim = {
        .max_message_bytes = (cfg & 3) == 0 ? 0 : (size_t)64 << (cfg & 3) * 2,
        .max_queue_bytes = (cfg & 4) ? 300 : 0,
        .max_queue_msgs = (cfg & 8) ? 4 : 0,
    };
    struct ctx x = {0};
    static const struct ws_callbacks cb = {on_text, on_binary, on_close, NULL};
    static const struct ws_callbacks cb_text_only = {on_text, NULL, on_close, NULL};
    x.c = ws_conn_new((cfg & 16) ? &cb_text_only : &cb, &x, &lim);
    if (x.c == NULL)
        return 0;
    struct buf out = BUF_INIT, frame = BUF_INIT;
    static const uint8_t key[4] = {0xa1, 0x5b, 0x00, 0x3c};

    while (s.i < s.n) {
        unsigned op = take(&s);
        const uint8_t *p;
        size_t k;
        switch (op & 7) {
        case 0: /* raw bytes, split every (op >> 3) bytes */
            k = take_bytes(&s, take(&s) + 1, &p);
            feed_split(x.c, p, k, op >> 3);
            break;
        case 1: /* a masked frame; b0 carries fin, rsv and opcode as fuzzed */
        case 2: {
            unsigned b0 = take(&s);
            size_t want = take(&s);
            if (op & 8)
                want *= 300; /* 16-bit lengths now and then */
            buf_reset(&frame);
            static uint8_t filler[256 * 300];
            k = take_bytes(&s, want, &p);
            if (k < want) {
                memset(filler, 'e', want);
                memcpy(filler, p, k);
                p = filler;
            }
            put_frame(&frame, b0, p, want, key);
            feed_split(x.c, (const uint8_t *)frame.data, frame.len, op >> 4);
            break;
        }
        case 3: /* server text (maybe invalid UTF-8: refused) */
            k = take_bytes(&s, take(&s), &p);
            (void)ws_conn_send_text(x.c, (const char *)p, k);
            break;
        case 4: /* server binary or ping */
            if (op & 8) {
                (void)ws_conn_ping(x.c);
            } else {
                k = take_bytes(&s, take(&s), &p);
                (void)ws_conn_send_binary(x.c, p, k);
            }
            break;
        case 5: { /* server close with a fuzzed code and reason */
            unsigned code = take(&s) << 8;
            code |= take(&s);
            char reason[130];
            k = take_bytes(&s, take(&s) % 130, &p);
            memcpy(reason, p, k);
            reason[k] = '\0';
            (void)ws_conn_close(x.c, (uint16_t)code, reason);
            break;
        }
        case 6: /* partial output */
            (void)ws_conn_output(x.c, &out, take(&s) + 1);
            break;
        default: /* everything out */
            while (ws_conn_want_output(x.c) && ws_conn_output(x.c, &out, 1 << 20) > 0)
                ;
            break;
        }
        if (ws_conn_done(x.c) && ws_conn_want_output(x.c))
            abort();
    }
    while (ws_conn_want_output(x.c) && ws_conn_output(x.c, &out, 1 << 20) > 0)
        ;
    check_output((const uint8_t *)out.data, out.len);
    (void)ws_conn_queued_bytes(x.c);
    (void)ws_conn_close_code_sent(x.c);
    ws_conn_free(x.c);
    buf_free(&out);
    buf_free(&frame);
    return 0;
}
