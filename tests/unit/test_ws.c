/* Unit tests for gateway/wsframe.c: a tiny client-side frame encoder drives the engine and a
 * server-frame parser checks what it writes. */

#include <event2/buffer.h>

#include "core/array.h"
#include "core/buf.h"
#include "core/err.h"
#include "unit.h"
#include "wsframe.h"

/* ---- client side ------------------------------------------------------------------------ */

/* Appends one client frame. mask == 0 sends it unmasked (a violation); rsv sets RSV bits. */
static void put_frame_ex(struct buf *b, int fin, int rsv, int opcode, const void *payload,
                         size_t len, int mask)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t h[14];
    size_t n = 0;
    h[n++] = (uint8_t)((fin ? 0x80 : 0) | (rsv << 4) | (opcode & 0x0f));
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        h[n++] = (uint8_t)(m | len);
    } else if (len < 65536) {
        h[n++] = m | 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (mask) {
        memcpy(h + n, key, 4);
        n += 4;
    }
    buf_append(b, h, n);
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = mask ? (uint8_t)(p[i] ^ key[i % 4]) : p[i];
        buf_append(b, &c, 1);
    }
}

static void put_frame(struct buf *b, int fin, int opcode, const void *payload, size_t len)
{
    put_frame_ex(b, fin, 0, opcode, payload, len, 1);
}

static void put_close(struct buf *b, unsigned code, const char *reason)
{
    uint8_t p[128];
    p[0] = (uint8_t)(code >> 8);
    p[1] = (uint8_t)code;
    size_t rl = strlen(reason);
    memcpy(p + 2, reason, rl);
    put_frame(b, 1, 8, p, 2 + rl);
}

/* ---- server side ------------------------------------------------------------------------ */

struct sframe {
    int fin, rsv, opcode, masked;
    size_t len;
    const uint8_t *payload;
};

/* Parses complete server frames from p; returns how many (at most max), -1 when the bytes
 * are not a clean sequence of whole frames. */
static int parse_frames(const uint8_t *p, size_t n, struct sframe *out, int max)
{
    int k = 0;
    size_t i = 0;
    while (i < n && k < max) {
        if (n - i < 2)
            return -1;
        struct sframe f = {p[i] >> 7,     (p[i] >> 4) & 7, p[i] & 15,
                           p[i + 1] >> 7, p[i + 1] & 127,  NULL};
        i += 2;
        if (f.len == 126) {
            if (n - i < 2)
                return -1;
            f.len = (size_t)p[i] << 8 | p[i + 1];
            i += 2;
        } else if (f.len == 127) {
            if (n - i < 8)
                return -1;
            f.len = 0;
            for (int j = 0; j < 8; j++)
                f.len = f.len << 8 | p[i + (size_t)j];
            i += 8;
        }
        if (f.masked || n - i < f.len)
            return -1;
        f.payload = p + i;
        i += f.len;
        out[k++] = f;
    }
    return i == n ? k : -1;
}

static unsigned close_code_of(const struct sframe *f)
{
    return f->opcode == 8 && f->len >= 2 ? (unsigned)f->payload[0] << 8 | f->payload[1] : 0;
}

/* ---- fixture ---------------------------------------------------------------------------- */

/* A connection, what its callbacks saw, the client's bytes to feed it (wire) and what it
 * wrote back (out). */
struct rec {
    struct ws_conn *c;
    struct buf wire, out;
    int echo;
    int ntext, nbin, nclose, npong;
    struct buf text; /* last text message */
    size_t bin_len;
    uint16_t close_code;
    char close_reason[128];
    size_t pong_len;
};

static void on_text(void *arg, const char *msg, size_t len)
{
    struct rec *r = arg;
    r->ntext++;
    buf_reset(&r->text);
    buf_append(&r->text, msg, len);
    if (r->echo)
        CHECK_INT(ws_conn_send_text(r->c, msg, len), 0);
}

static void on_binary(void *arg, const uint8_t *msg, size_t len)
{
    struct rec *r = arg;
    (void)msg;
    r->nbin++;
    r->bin_len = len;
}

static void on_close(void *arg, uint16_t code, const char *reason, size_t len)
{
    struct rec *r = arg;
    r->nclose++;
    r->close_code = code;
    memcpy(r->close_reason, reason, len < 127 ? len : 127);
    r->close_reason[len < 127 ? len : 127] = '\0';
}

static void on_pong(void *arg, const uint8_t *payload, size_t len)
{
    struct rec *r = arg;
    (void)payload;
    r->npong++;
    r->pong_len = len;
}

static const struct ws_callbacks all_cb = {on_text, on_binary, on_close, on_pong};

static struct ws_conn *open_conn(struct rec *r, const struct ws_limits *lim)
{
    memset(r, 0, sizeof *r);
    r->c = ws_conn_new(&all_cb, r, lim);
    CHECK(r->c != NULL);
    return r->c;
}

static void close_conn(struct rec *r)
{
    ws_conn_free(r->c);
    buf_free(&r->text);
    buf_free(&r->wire);
    buf_free(&r->out);
}

/* Feeds the whole wire buffer to the connection. */
static void feed_wire(struct rec *r)
{
    CHECK_INT(ws_conn_feed(r->c, r->wire.data, r->wire.len), 0);
}

/* Everything the engine wants to write, in one buffer. */
static void drain(struct ws_conn *c, struct buf *out)
{
    buf_reset(out);
    while (ws_conn_want_output(c))
        if (ws_conn_output(c, out, 1 << 20) == 0)
            break;
}

static int parse_frames(const uint8_t *p, size_t n, struct sframe *out, int max);

/* Drains what the connection wants to write into r->out and parses it into f (at most max
 * frames): how many, -1 when out is not whole frames. */
static int frames(struct rec *r, struct sframe *f, int max)
{
    drain(r->c, &r->out);
    return parse_frames((const uint8_t *)r->out.data, r->out.len, f, max);
}

/* Feeds wire (whole, or one byte at a time) and expects exactly one frame back: a close
 * with code. */
static void expect_close_ex(struct rec *r, const struct buf *wire, unsigned code, int bytewise)
{
    struct buf out = BUF_INIT;
    if (bytewise)
        for (size_t i = 0; i < wire->len; i++)
            CHECK_INT(ws_conn_feed(r->c, wire->data + i, 1), 0);
    else
        CHECK_INT(ws_conn_feed(r->c, wire->data, wire->len), 0);
    drain(r->c, &out);
    struct sframe f[4];
    int n = parse_frames((const uint8_t *)out.data, out.len, f, 4);
    CHECK_INT(n, 1);
    if (n == 1) {
        CHECK_INT(f[0].opcode, 8);
        CHECK_INT(close_code_of(&f[0]), code);
    }
    CHECK_INT(ws_conn_done(r->c), 1);
    CHECK_INT(ws_conn_close_code_sent(r->c), code);
    CHECK_INT(ws_conn_want_output(r->c), 0);
    buf_free(&out);
}

static void expect_close(struct rec *r, const struct buf *wire, unsigned code)
{
    expect_close_ex(r, wire, code, 0);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_accept_key(void)
{
    char out[29];
    CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", 23, out), AIOPS_EINVAL);
    CHECK_STR(out, "");
    CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZR==", 24, out), AIOPS_EINVAL); /* pad bits */
    CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25j*Q==", 24, out), AIOPS_EINVAL);
    CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQAA", 24, out), AIOPS_EINVAL);
    CHECK_INT(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==x", 25, out), AIOPS_EINVAL);
    CHECK_INT(ws_accept_key(NULL, 0, out), AIOPS_EINVAL);
    CHECK_INT(ws_accept_key("AAAAAAAAAAAAAAAAAAAAAA==", 24, out), 0);
    CHECK_INT(strlen(out), 28);
}

static void test_text_echo(void)
{
    struct rec r;
    struct ws_conn *c = open_conn(&r, NULL);
    r.echo = 1;
    put_frame(&r.wire, 1, 1, "hello", 5);
    put_frame(&r.wire, 1, 1, "", 0);
    feed_wire(&r);
    CHECK_INT(r.ntext, 2);
    CHECK_INT(ws_conn_queued_msgs(c), 2);
    CHECK_INT(ws_conn_queued_bytes(c), 5);
    struct sframe f[4];
    CHECK_INT(frames(&r, f, 4), 2);
    CHECK_INT(f[0].fin, 1);
    CHECK_INT(f[0].opcode, 1);
    CHECK_INT(f[0].rsv, 0);
    CHECK_MEM(f[0].payload, f[0].len, "hello", 5);
    CHECK_INT(f[1].len, 0);
    CHECK_INT(ws_conn_queued_msgs(c), 0);
    CHECK_INT(ws_conn_queued_bytes(c), 0);
    CHECK_INT(ws_conn_done(c), 0);
    /* binary messages reach on_binary */
    buf_reset(&r.wire);
    put_frame(&r.wire, 1, 2, "\x00\xff", 2);
    feed_wire(&r);
    CHECK_INT(r.nbin, 1);
    CHECK_INT(r.bin_len, 2);
    close_conn(&r);
}

static void test_fragmented_with_control_frames(void)
{
    struct rec r;
    open_conn(&r, NULL);
    put_frame(&r.wire, 0, 1, "Hel", 3);
    put_frame(&r.wire, 1, 9, "p1", 2);          /* ping between fragments */
    put_frame(&r.wire, 0, 0, "lo \xe2\x82", 5); /* a code point split across frames */
    put_frame(&r.wire, 1, 10, "x", 1);          /* unsolicited pong */
    put_frame(&r.wire, 1, 0, "\xac world", 7);
    feed_wire(&r);
    CHECK_INT(r.ntext, 1);
    CHECK_STR(r.text.data, "Hello \xe2\x82\xac world");
    CHECK_INT(r.npong, 1);
    CHECK_INT(r.pong_len, 1);
    struct sframe f[4];
    CHECK_INT(frames(&r, f, 4), 1);
    CHECK_INT(f[0].opcode, 10);
    CHECK_MEM(f[0].payload, f[0].len, "p1", 2);
    close_conn(&r);
}

static void test_ping_pong(void)
{
    struct rec r;
    struct ws_conn *c = open_conn(&r, NULL);
    uint8_t big[125];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    put_frame(&r.wire, 1, 9, big, sizeof big);
    put_frame(&r.wire, 1, 9, "", 0);
    feed_wire(&r);
    struct sframe f[4];
    CHECK_INT(frames(&r, f, 4), 2);
    CHECK_INT(f[0].opcode, 10);
    CHECK_MEM(f[0].payload, f[0].len, big, sizeof big);
    CHECK_INT(f[1].opcode, 10);
    CHECK_INT(f[1].len, 0);

    /* our ping, their pong */
    CHECK_INT(ws_conn_ping(c), 0);
    CHECK_INT(frames(&r, f, 4), 1);
    CHECK_INT(f[0].opcode, 9);
    CHECK_INT(f[0].len, 0);
    buf_reset(&r.wire);
    put_frame(&r.wire, 1, 10, "", 0);
    feed_wire(&r);
    CHECK_INT(r.npong, 1);
    close_conn(&r);
}

static void test_client_close_handshake(void)
{
    struct rec r;
    struct ws_conn *c = open_conn(&r, NULL);
    put_close(&r.wire, 1000, "bye");
    put_frame(&r.wire, 1, 1, "after close", 11); /* ignored */
    feed_wire(&r);
    CHECK_INT(r.nclose, 1);
    CHECK_INT(r.close_code, 1000);
    CHECK_STR(r.close_reason, "bye");
    CHECK_INT(r.ntext, 0);
    CHECK_INT(ws_conn_close_code_received(c), 1000);
    CHECK_INT(ws_conn_done(c), 0); /* our close is not out yet */
    CHECK_INT(ws_conn_send_text(c, "x", 1), AIOPS_ECANCELED);
    CHECK_INT(ws_conn_close(c, 1000, NULL), AIOPS_ECANCELED);
    struct sframe f[4];
    CHECK_INT(frames(&r, f, 4), 1);
    CHECK_INT(f[0].opcode, 8);
    CHECK_INT(close_code_of(&f[0]), 1000);
    CHECK_INT(ws_conn_done(c), 1);
    CHECK_INT(ws_conn_close_code_sent(c), 1000);
    feed_wire(&r);
    CHECK_INT(ws_conn_want_output(c), 0);
    close_conn(&r);

    /* a close without a status code is answered with an empty close */
    c = open_conn(&r, NULL);
    put_frame(&r.wire, 1, 8, "", 0);
    feed_wire(&r);
    CHECK_INT(r.close_code, WS_CLOSE_NO_STATUS);
    CHECK_INT(frames(&r, f, 4), 1);
    CHECK_INT(f[0].opcode, 8);
    CHECK_INT(f[0].len, 0);
    CHECK_INT(ws_conn_done(c), 1);
    close_conn(&r);
}

static void test_server_close_handshake(void)
{
    struct rec r;
    struct ws_conn *c = open_conn(&r, NULL);
    CHECK_INT(ws_conn_close(c, 999, NULL), AIOPS_EINVAL);
    CHECK_INT(ws_conn_close(c, 1005, NULL), AIOPS_EINVAL);
    CHECK_INT(ws_conn_close(c, 1006, NULL), AIOPS_EINVAL);
    CHECK_INT(ws_conn_close(c, 5000, NULL), AIOPS_EINVAL);
    CHECK_INT(ws_conn_close(c, 1000, "\xff"), AIOPS_EINVAL);
    char longr[125];
    memset(longr, 'r', 124);
    longr[124] = '\0';
    CHECK_INT(ws_conn_close(c, 1000, longr), AIOPS_EINVAL);

    CHECK_INT(ws_conn_close(c, 1001, "going away"), 0);
    CHECK_INT(ws_conn_close(c, 1000, NULL), AIOPS_ECANCELED);
    CHECK_INT(ws_conn_send_text(c, "late", 4), AIOPS_ECANCELED);
    struct sframe f[4];
    CHECK_INT(frames(&r, f, 4), 1);
    CHECK_INT(close_code_of(&f[0]), 1001);
    CHECK_MEM(f[0].payload + 2, f[0].len - 2, "going away", 10);
    CHECK_INT(ws_conn_done(c), 0); /* waiting for the peer's close */
    /* data still in flight from the client is not delivered any more */
    put_frame(&r.wire, 1, 1, "in flight", 9);
    put_close(&r.wire, 1001, "");
    feed_wire(&r);
    CHECK_INT(r.ntext, 0);
    CHECK_INT(r.nclose, 1);
    CHECK_INT(r.close_code, 1001);
    CHECK_INT(ws_conn_done(c), 1);
    drain(c, &r.out);
    CHECK_INT(r.out.len, 0); /* no second close frame */
    close_conn(&r);
}

/* One client frame of a test (put_frame_ex's arguments). */
struct cframe {
    int fin, rsv, opcode;
    const char *payload;
    size_t len;
    int mask;
};

#define CFRAME(fin, rsv, opcode, payload) {fin, rsv, opcode, payload, sizeof(payload) - 1, 1}

static const char zeros126[126];

/* Each violation, after a good text frame, closes the connection with its code: one or two
 * frames, or raw bytes (where a frame cannot be written by put_frame_ex). */
static const struct {
    const char *name;
    unsigned code;
    struct cframe f[2]; /* f[1] when its payload is not NULL */
    const char *raw;
    size_t rawlen;
} violations[] = {
    {"unmasked", 1002, {{1, 0, 1, "abc", 3, 0}}, NULL, 0},
    {"ping 126", 1002, {{1, 0, 9, zeros126, sizeof zeros126, 1}}, NULL, 0},
    {"fragmented ping", 1002, {CFRAME(0, 0, 9, "a")}, NULL, 0},
    {"opcode 3", 1002, {CFRAME(1, 0, 3, "a")}, NULL, 0},
    {"opcode 0xb", 1002, {CFRAME(1, 0, 0xb, "a")}, NULL, 0},
    {"rsv1", 1002, {CFRAME(1, 4, 1, "a")}, NULL, 0},
    {"rsv3", 1002, {CFRAME(1, 1, 1, "a")}, NULL, 0},
    {"orphan continuation", 1002, {CFRAME(1, 0, 0, "a")}, NULL, 0},
    {"text inside fragmented", 1002, {CFRAME(0, 0, 1, "a"), CFRAME(1, 0, 1, "b")}, NULL, 0},
    {"close 1 byte", 1002, {CFRAME(1, 0, 8, "\x03")}, NULL, 0},
    /* close frames: a two-byte status code, then the reason */
    {"close 1005", 1002, {CFRAME(1, 0, 8, "\x03\xed")}, NULL, 0},
    {"close 1004", 1002, {CFRAME(1, 0, 8, "\x03\xec")}, NULL, 0},
    {"close 999", 1002, {CFRAME(1, 0, 8, "\x03\xe7")}, NULL, 0},
    {"close 5000", 1002, {CFRAME(1, 0, 8, "\x13\x88")}, NULL, 0},
    {"non-minimal 16", 1002, {{0}}, "\x81\xfe\x00\x05\x00\x00\x00\x00hello", 13},
    {"non-minimal 64", 1002, {{0}},
     "\x81\xff\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00hello", 19},
    {"64-bit msb", 1002, {{0}}, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00", 14},
    {"invalid utf8", 1007, {CFRAME(1, 0, 1, "a\xc0\xafz")}, NULL, 0},
    {"invalid utf8 fragmented", 1007, {CFRAME(0, 0, 1, "\xe2\x82"), CFRAME(1, 0, 0, "A")}, NULL,
     0},
    {"invalid close reason", 1007, {CFRAME(1, 0, 8, "\x03\xe8\xed\xa0\x80")}, NULL, 0},
    {"invalid close reason 2", 1007, {CFRAME(1, 0, 8, "\x0f\xa0ok then \xfa")}, NULL, 0},
    /* a binary message where the callbacks take none */
    {"binary refused", 1003, {CFRAME(1, 0, 2, "a")}, NULL, 0},
};

static void test_protocol_errors(void)
{
    for (size_t t = 0; t < 2 * ARRAY_LEN(violations); t++) {
        size_t i = t % ARRAY_LEN(violations);
        int bytewise = t >= ARRAY_LEN(violations);
        struct rec r;
        open_conn(&r, NULL);
        if (violations[i].code == 1003) {
            struct ws_callbacks cb = all_cb;
            cb.on_binary = NULL;
            ws_conn_free(r.c);
            r.c = ws_conn_new(&cb, &r, NULL);
        }
        put_frame(&r.wire, 1, 1, "ok", 2); /* a good frame first: it must still be delivered */
        for (size_t k = 0; k < 2 && violations[i].f[k].payload != NULL; k++) {
            const struct cframe *f = &violations[i].f[k];
            put_frame_ex(&r.wire, f->fin, f->rsv, f->opcode, f->payload, f->len, f->mask);
        }
        if (violations[i].raw != NULL)
            buf_append(&r.wire, violations[i].raw, violations[i].rawlen);
        put_frame(&r.wire, 1, 1, "never", 5); /* after the failure: ignored */
        int before = unit_failed_checks;
        expect_close_ex(&r, &r.wire, violations[i].code, bytewise);
        CHECK_INT(r.ntext, 1);
        CHECK_STR(r.text.data, "ok");
        CHECK_INT(r.nclose, 0);
        if (unit_failed_checks != before)
            fprintf(stderr, "  (case \"%s\"%s)\n", violations[i].name,
                    bytewise ? ", byte at a time" : "");
        close_conn(&r);
    }
}

static void test_message_too_big(void)
{
    struct ws_limits lim = {.max_message_bytes = 1000};
    static uint8_t payload[1001];
    memset(payload, 'a', sizeof payload);
    struct rec r;

    open_conn(&r, &lim);
    put_frame(&r.wire, 1, 1, payload, 1000); /* exactly the limit: fine */
    feed_wire(&r);
    CHECK_INT(r.ntext, 1);
    CHECK_INT(r.text.len, 1000);
    buf_reset(&r.wire);
    put_frame(&r.wire, 1, 1, payload, 1001);
    expect_close(&r, &r.wire, 1009);
    close_conn(&r);

    /* the limit applies to the reassembled message */
    open_conn(&r, &lim);
    put_frame(&r.wire, 0, 2, payload, 600);
    put_frame(&r.wire, 1, 0, payload, 401);
    expect_close(&r, &r.wire, 1009);
    CHECK_INT(r.nbin, 0);
    close_conn(&r);

    /* a header announcing 2^62 bytes is refused before anything is allocated */
    open_conn(&r, NULL);
    buf_append(&r.wire, "\x82\xff\x40\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14);
    expect_close(&r, &r.wire, 1009);
    close_conn(&r);
}

/* The same conversation fed whole and one byte at a time gives the same results. */
static void test_byte_at_a_time(void)
{
    struct buf wire = BUF_INIT, bye = BUF_INIT, out1 = BUF_INIT, out2 = BUF_INIT;
    static char big[70000];
    memset(big, 'z', sizeof big);
    put_frame(&wire, 1, 1, "one", 3);
    put_frame(&wire, 0, 1, "tw", 2);
    put_frame(&wire, 1, 9, "ping", 4);
    put_frame(&wire, 1, 0, "o", 1);
    put_frame(&wire, 1, 1, big, 300); /* 16-bit length */
    put_frame(&wire, 1, 1, big, 1000);
    put_close(&bye, 4000, "done");

    struct rec r1, r2;
    open_conn(&r1, NULL);
    r1.echo = 1;
    CHECK_INT(ws_conn_feed(r1.c, wire.data, wire.len), 0);
    drain(r1.c, &out1);
    CHECK_INT(ws_conn_feed(r1.c, bye.data, bye.len), 0);
    buf_reset(&bye);
    drain(r1.c, &bye);
    buf_append(&out1, bye.data, bye.len);

    open_conn(&r2, NULL);
    r2.echo = 1;
    for (size_t i = 0; i < wire.len; i++)
        CHECK_INT(ws_conn_feed(r2.c, wire.data + i, 1), 0);
    /* and the output taken one byte at a time as well */
    while (ws_conn_want_output(r2.c))
        CHECK_INT(ws_conn_output(r2.c, &out2, 1), 1);
    buf_reset(&bye);
    put_close(&bye, 4000, "done");
    for (size_t i = 0; i < bye.len; i++) {
        CHECK_INT(ws_conn_done(r2.c), 0);
        CHECK_INT(ws_conn_feed(r2.c, bye.data + i, 1), 0);
    }
    while (ws_conn_want_output(r2.c))
        CHECK_INT(ws_conn_output(r2.c, &out2, 1), 1);

    CHECK_INT(r1.ntext, 4);
    CHECK_INT(r2.ntext, 4);
    CHECK_INT(r2.nclose, 1);
    CHECK_INT(r2.close_code, 4000);
    CHECK_STR(r2.close_reason, "done");
    CHECK_MEM(out1.data, out1.len, out2.data, out2.len);
    struct sframe f[8];
    int n = parse_frames((const uint8_t *)out2.data, out2.len, f, 8);
    CHECK_INT(n, 6); /* pong (control frames go first), one, two, 300, 1000, close */
    if (n == 6) {
        CHECK_INT(f[0].opcode, 10);
        CHECK_MEM(f[0].payload, f[0].len, "ping", 4);
        CHECK_MEM(f[1].payload, f[1].len, "one", 3);
        CHECK_MEM(f[2].payload, f[2].len, "two", 3);
        CHECK_INT(f[3].len, 300);
        CHECK_INT(f[4].len, 1000);
        CHECK_INT(close_code_of(&f[5]), 4000);
    }
    CHECK_INT(ws_conn_done(r2.c), 1);
    close_conn(&r1);
    close_conn(&r2);

    /* a 64-bit length from the server side */
    open_conn(&r1, NULL);
    CHECK_INT(ws_conn_send_text(r1.c, big, sizeof big), 0);
    drain(r1.c, &out1);
    CHECK_INT(parse_frames((const uint8_t *)out1.data, out1.len, f, 8), 1);
    CHECK_INT(f[0].len, sizeof big);
    CHECK_INT((uint8_t)out1.data[1], 127);
    close_conn(&r1);
    buf_free(&wire);
    buf_free(&bye);
    buf_free(&out1);
    buf_free(&out2);
}

static void test_queue_limits(void)
{
    struct ws_limits lim = {.max_queue_bytes = 1000, .max_queue_msgs = 10};
    struct rec r;
    struct ws_conn *c = open_conn(&r, &lim);
    char msg[100];
    memset(msg, 'm', sizeof msg);
    int sent = 0;
    while (ws_conn_send_text(c, msg, sizeof msg) == 0)
        sent++;
    CHECK_INT(sent, 10);
    CHECK_INT(ws_conn_send_text(c, msg, sizeof msg), AIOPS_ETOOBIG);
    CHECK_INT(ws_conn_ping(c), AIOPS_ETOOBIG);
    CHECK_INT(ws_conn_queued_msgs(c), 10);
    CHECK_INT(ws_conn_queued_bytes(c), 1000);

    /* output frees room once a message is completely out */
    struct buf out = BUF_INIT;
    CHECK_INT(ws_conn_output(c, &out, 50), 50); /* half of the first frame */
    CHECK_INT(ws_conn_queued_msgs(c), 10);
    CHECK_INT(ws_conn_output(c, &out, 52), 52); /* rest of it: 2 + 100 bytes */
    CHECK_INT(ws_conn_queued_msgs(c), 9);
    CHECK_INT(ws_conn_send_text(c, msg, 50), 0);
    CHECK_INT(ws_conn_send_text(c, msg, 1), AIOPS_ETOOBIG); /* 10 messages again */

    /* bytes limit on its own */
    struct ws_limits lim2 = {.max_queue_bytes = 1000};
    struct rec r2;
    open_conn(&r2, &lim2);
    CHECK_INT(ws_conn_send_text(r2.c, msg, 100), 0);
    static char big[1001];
    memset(big, 'b', sizeof big);
    CHECK_INT(ws_conn_send_text(r2.c, big, 901), AIOPS_ETOOBIG);
    CHECK_INT(ws_conn_send_text(r2.c, big, 900), 0);
    CHECK_INT(ws_conn_send_binary(r2.c, big, 1), AIOPS_ETOOBIG);
    CHECK_INT(ws_conn_send_text(r2.c, "\xff", 1), AIOPS_EINVAL);
    close_conn(&r2);

    /* the slow consumer is closed: a half-written frame is finished, then the close goes out
     * ahead of the queued messages, which are dropped */
    CHECK_INT(ws_conn_output(c, &out, 30), 30);
    CHECK_INT(ws_conn_close(c, WS_CLOSE_POLICY, "slow consumer"), 0);
    while (ws_conn_output(c, &out, 1 << 20) > 0)
        ;
    struct sframe f[4];
    CHECK_INT(parse_frames((const uint8_t *)out.data, out.len, f, 4), 3);
    CHECK_INT(f[1].len, 100);
    CHECK_INT(close_code_of(&f[2]), 1008);
    CHECK_MEM(f[2].payload + 2, f[2].len - 2, "slow consumer", 13);
    CHECK_INT(ws_conn_want_output(c), 0);
    buf_free(&out);
    close_conn(&r);
}

static void test_ping_flood_is_closed(void)
{
    struct ws_limits lim = {.max_queue_msgs = 16};
    struct rec r;
    open_conn(&r, &lim);
    for (int i = 0; i < 40; i++)
        put_frame(&r.wire, 1, 9, "ping", 4);
    feed_wire(&r);
    drain(r.c, &r.out);
    struct sframe f[64];
    int n = parse_frames((const uint8_t *)r.out.data, r.out.len, f, 64);
    /* the queued pongs are dropped once the close is queued: wslay sends only the close */
    CHECK(n >= 1);
    if (n >= 1)
        CHECK_INT(close_code_of(&f[n - 1]), 1008);
    CHECK_INT(ws_conn_done(r.c), 1);
    close_conn(&r);
}

static void test_evbuffer_output(void)
{
    struct rec r;
    struct ws_conn *c = open_conn(&r, NULL);
    CHECK_INT(ws_conn_send_text(c, "hello", 5), 0);
    CHECK_INT(ws_conn_send_text(c, "world", 5), 0);
    struct evbuffer *eb = evbuffer_new();
    CHECK_INT(ws_conn_output_evbuffer(c, eb, 9), 9);
    CHECK_INT(ws_conn_output_evbuffer(c, eb, 100), 5);
    CHECK_INT(ws_conn_output_evbuffer(c, eb, 100), 0);
    CHECK_INT(evbuffer_get_length(eb), 14);
    const char *p = (const char *)evbuffer_pullup(eb, -1);
    CHECK_MEM(p, 14, "\x81\x05hello\x81\x05world", 14);
    evbuffer_free(eb);
    close_conn(&r);
}

UNIT_MAIN(UNIT(test_accept_key), UNIT(test_text_echo), UNIT(test_fragmented_with_control_frames),
          UNIT(test_ping_pong), UNIT(test_client_close_handshake),
          UNIT(test_server_close_handshake), UNIT(test_protocol_errors), UNIT(test_message_too_big),
          UNIT(test_byte_at_a_time), UNIT(test_queue_limits), UNIT(test_ping_flood_is_closed),
          UNIT(test_evbuffer_output))
