/* ws.c -- server-side WebSocket engine on wslay's event API (see ws.h).
 *
 * wslay does the framing, unmasking, reassembly, UTF-8 checks of text and close reasons,
 * ping answers and the close handshake. What is added here:
 *
 *  - wslay answers header-level violations (control frame over 125 bytes or fragmented,
 *    non-minimal or 64-bit-overflowing length) with an empty close frame and a fatal
 *    error, accepts a 1-byte close payload, and checks a frame's length against the
 *    message limit only once payload arrives. A small frame tracker runs over the input
 *    ahead of wslay, stops feeding it at the byte that completes such a header (where
 *    wslay would look at it) and fails the connection with 1002 or 1009 itself.
 *  - Queue limits for outgoing data, and the "done" state the transport needs.
 *
 * Input is handed to wslay straight from the caller's buffer (the recv callback copies
 * from it); output is framed only when the caller asks for bytes, so queued messages stay
 * inside wslay until the transport can take them. */

#include "wsframe.h"

#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <event2/buffer.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#include "core/encode.h"
#include "core/err.h"

/* Follows frame boundaries in the input (header bytes, then payload to skip). */
struct frame_tracker {
    uint8_t hdr[14];
    uint8_t have;       /* header bytes collected */
    uint8_t need;       /* total header size, known once 2 bytes are in */
    uint64_t plen;      /* payload length of the current frame */
    uint64_t remaining; /* payload bytes still to skip */
    uint64_t max_message;
    int masked;
    uint8_t mask[4];
    int is_close; /* the current frame is a close: its payload is kept in ctl */
    uint8_t ctl[125];
};

struct ws_conn {
    wslay_event_context_ptr ctx;
    struct ws_callbacks cb;
    void *arg;
    struct ws_limits lim;
    struct frame_tracker tr;
    /* input being fed (valid during ws_conn_feed only) */
    const uint8_t *in;
    size_t in_len, in_off;
    /* output target (valid during ws_conn_output only) */
    struct buf *out_buf;
    struct evbuffer *out_evb;
    size_t out_room;
    size_t out_done;
    int dead;    /* out of memory or a wslay failure: nothing more will happen */
    int closing; /* we queued a close frame (ws_conn_close or a failure) */
    uint16_t peer_code;
};

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_accept_key(const char *key, size_t len, char out[29])
{
    out[0] = '\0';
    /* the canonical base64 of exactly 16 bytes: 22 characters and "==" */
    uint8_t raw[18];
    size_t n = 0;
    if (key == NULL || len != 24 || base64_decode(key, len, raw, sizeof raw, &n) != 0 || n != 16)
        return AIOPS_EINVAL;
    unsigned char cat[24 + sizeof ws_guid - 1];
    memcpy(cat, key, 24);
    memcpy(cat + 24, ws_guid, sizeof ws_guid - 1);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(cat, sizeof cat, digest);
    base64_encode(out, digest, sizeof digest);
    out[28] = '\0';
    return AIOPS_OK;
}

/* ---- wiring to wslay ------------------------------------------------------------------- */

/* Fails the connection: no more reading, close frame with code queued (unless one already
 * is: the first reason wins). */
static void fail(struct ws_conn *c, uint16_t code, const char *reason)
{
    wslay_event_shutdown_read(c->ctx);
    c->closing = 1;
    int r = wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason));
    if (r == WSLAY_ERR_NOMEM)
        c->dead = 1;
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    struct ws_conn *c = user;
    size_t n = c->in_len - c->in_off;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(buf, c->in + c->in_off, n);
    c->in_off += n;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct ws_conn *c = user;
    size_t n = c->out_room - c->out_done;
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    int failed = c->out_buf != NULL ? buf_append(c->out_buf, data, n) != 0
                                    : evbuffer_add(c->out_evb, data, n) != 0;
    if (failed) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    c->out_done += n;
    return (ssize_t)n;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a,
                   void *user)
{
    (void)ctx;
    struct ws_conn *c = user;
    const uint8_t *msg = a->msg != NULL ? a->msg : (const uint8_t *)"";
    size_t len = a->msg_length;
    switch (a->opcode) {
    case WSLAY_TEXT_FRAME:
        if (c->closing)
            return;
        /* wslay validates too; checking again costs little and keeps the contract here */
        if (!utf8_valid(msg, len, NULL))
            fail(c, WS_CLOSE_INVALID_DATA, "invalid UTF-8");
        else if (c->cb.on_text == NULL)
            fail(c, WS_CLOSE_UNSUPPORTED_DATA, "text messages are not accepted");
        else
            c->cb.on_text(c->arg, (const char *)msg, len);
        return;
    case WSLAY_BINARY_FRAME:
        if (c->closing)
            return;
        if (c->cb.on_binary == NULL)
            fail(c, WS_CLOSE_UNSUPPORTED_DATA, "binary messages are not accepted");
        else
            c->cb.on_binary(c->arg, msg, len);
        return;
    case WSLAY_CONNECTION_CLOSE:
        c->peer_code = a->status_code != 0 ? a->status_code : WS_CLOSE_NO_STATUS;
        if (c->cb.on_close != NULL)
            c->cb.on_close(c->arg, c->peer_code, len >= 2 ? (const char *)msg + 2 : "",
                           len >= 2 ? len - 2 : 0);
        return;
    case WSLAY_PONG:
        if (c->cb.on_pong != NULL)
            c->cb.on_pong(c->arg, msg, len);
        return;
    default: /* pings are answered by wslay */
        return;
    }
}

struct ws_conn *ws_conn_new(const struct ws_callbacks *cb, void *arg, const struct ws_limits *lim)
{
    struct ws_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    if (cb != NULL)
        c->cb = *cb;
    c->arg = arg;
    if (lim != NULL)
        c->lim = *lim;
    if (c->lim.max_message_bytes == 0)
        c->lim.max_message_bytes = WS_DEFAULT_MAX_MESSAGE_BYTES;
    if (c->lim.max_queue_bytes == 0)
        c->lim.max_queue_bytes = WS_DEFAULT_MAX_QUEUE_BYTES;
    if (c->lim.max_queue_msgs == 0)
        c->lim.max_queue_msgs = WS_DEFAULT_MAX_QUEUE_MSGS;
    struct wslay_event_callbacks wcb = {
        .recv_callback = recv_cb,
        .send_callback = send_cb,
        .on_msg_recv_callback = on_msg,
    };
    if (wslay_event_context_server_init(&c->ctx, &wcb, c) != 0) {
        free(c);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(c->ctx, c->lim.max_message_bytes);
    c->tr.max_message = c->lim.max_message_bytes;
    return c;
}

void ws_conn_free(struct ws_conn *c)
{
    if (c == NULL)
        return;
    wslay_event_context_free(c->ctx);
    free(c);
}

/* ---- input ----------------------------------------------------------------------------- */

/* Decodes the big-endian extended payload length at hdr[2..2+ext). */
static uint64_t ext_length(const uint8_t *hdr, unsigned ext)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < ext; k++)
        v = v << 8 | hdr[2 + k];
    return v;
}

static int valid_peer_code(unsigned code)
{
    return (code >= 1000 && code <= 1011 && code != 1004 && code != 1005 && code != 1006) ||
           (code >= 3000 && code <= 4999);
}

/* The close code to fail with when a complete close payload is not acceptable, else 0.
 * (wslay checks close reasons only when the frame arrives in one piece.) */
static uint16_t check_close(struct frame_tracker *t)
{
    if (!t->masked || t->plen < 2)
        return 0; /* unmasked: wslay fails it with 1002 */
    uint8_t pl[125];
    for (size_t j = 0; j < t->plen; j++)
        pl[j] = (uint8_t)(t->ctl[j] ^ t->mask[j % 4]);
    if (!valid_peer_code((unsigned)pl[0] << 8 | pl[1]))
        return WS_CLOSE_PROTOCOL_ERROR;
    if (!utf8_valid(pl + 2, (size_t)t->plen - 2, NULL))
        return WS_CLOSE_INVALID_DATA;
    return 0;
}

/* Advances the tracker over p[0..n). Returns how many bytes are fine to give wslay; when
 * *bad is set (to the close code to fail with), the byte at that index completes a header
 * or a close frame that violates RFC 6455, or a header that announces a data frame over
 * the message limit (wslay would only notice once payload arrives). */
static size_t track(struct frame_tracker *t, const uint8_t *p, size_t n, uint16_t *bad)
{
    *bad = 0;
    for (size_t i = 0; i < n;) {
        if (t->remaining > 0) {
            size_t k = n - i < t->remaining ? n - i : (size_t)t->remaining;
            if (t->is_close) /* plen <= 125 here */
                memcpy(t->ctl + (t->plen - t->remaining), p + i, k);
            t->remaining -= k;
            if (t->is_close && t->remaining == 0 && (*bad = check_close(t)) != 0)
                return i + k - 1;
            i += k;
            continue;
        }
        t->hdr[t->have++] = p[i];
        if (t->have >= 2) {
            unsigned fin = t->hdr[0] >> 7, op = t->hdr[0] & 0x0fu, len7 = t->hdr[1] & 0x7fu;
            unsigned ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
            if (t->have == 2) {
                /* control frames: at most 125 bytes, unfragmented, a close has 0 or >= 2 */
                if ((op & 0x08u) &&
                    (len7 > 125 || !fin || (op == WSLAY_CONNECTION_CLOSE && len7 == 1))) {
                    *bad = WS_CLOSE_PROTOCOL_ERROR;
                    return i;
                }
                t->need = (uint8_t)(2 + ext + ((t->hdr[1] & 0x80u) ? 4 : 0));
            }
            if (ext > 0 && t->have == 2 + ext) {
                /* lengths in the shortest form; the 64-bit one without its top bit */
                uint64_t v = ext_length(t->hdr, ext);
                if ((ext == 2 && v < 126) || (ext == 8 && (v < 65536 || (v >> 63) != 0))) {
                    *bad = WS_CLOSE_PROTOCOL_ERROR;
                    return i;
                }
            }
            if (t->have == t->need) {
                t->plen = ext > 0 ? ext_length(t->hdr, ext) : len7;
                if (!(op & 0x08u) && t->plen > t->max_message) {
                    *bad = WS_CLOSE_TOO_BIG;
                    return i;
                }
                t->masked = (t->hdr[1] & 0x80u) != 0;
                if (t->masked)
                    memcpy(t->mask, t->hdr + t->need - 4, 4);
                t->is_close = op == WSLAY_CONNECTION_CLOSE;
                t->remaining = t->plen;
                t->have = 0;
                t->need = 0;
            }
        }
        i++;
    }
    return n;
}

int ws_conn_feed(struct ws_conn *c, const void *data, size_t len)
{
    if (c->dead)
        return AIOPS_ENOMEM;
    if (len == 0 || !wslay_event_get_read_enabled(c->ctx))
        return AIOPS_OK;
    uint16_t bad;
    size_t ok = track(&c->tr, data, len, &bad);
    int r = 0;
    if (ok > 0) {
        c->in = data;
        c->in_len = ok;
        c->in_off = 0;
        wslay_event_set_error(c->ctx, 0);
        r = wslay_event_recv(c->ctx);
        c->in = NULL;
        c->in_len = c->in_off = 0;
    }
    if (r == WSLAY_ERR_NOMEM) {
        c->dead = 1;
        return AIOPS_ENOMEM;
    }
    if (r != 0) {
        /* a violation wslay caught and the tracker did not: it queued an empty close */
        wslay_event_shutdown_read(c->ctx);
        c->closing = 1;
    }
    if (bad != 0 && wslay_event_get_read_enabled(c->ctx))
        fail(c, bad, bad == WS_CLOSE_TOO_BIG ? "message too big" : "protocol error");
    /* pongs pile up when the peer pings without reading */
    if (wslay_event_get_read_enabled(c->ctx) &&
        (wslay_event_get_queued_msg_count(c->ctx) > c->lim.max_queue_msgs ||
         wslay_event_get_queued_msg_length(c->ctx) > c->lim.max_queue_bytes))
        fail(c, WS_CLOSE_POLICY, "slow consumer");
    return c->dead ? AIOPS_ENOMEM : AIOPS_OK;
}

/* ---- output ---------------------------------------------------------------------------- */

static int queue_msg(struct ws_conn *c, uint8_t opcode, const void *msg, size_t len)
{
    if (c->dead || c->closing || !wslay_event_get_read_enabled(c->ctx))
        return AIOPS_ECANCELED;
    size_t qn = wslay_event_get_queued_msg_count(c->ctx);
    size_t qb = wslay_event_get_queued_msg_length(c->ctx);
    if (qn >= c->lim.max_queue_msgs || qb > c->lim.max_queue_bytes ||
        len > c->lim.max_queue_bytes - qb)
        return AIOPS_ETOOBIG;
    struct wslay_event_msg m = {opcode, msg, len};
    int r = wslay_event_queue_msg(c->ctx, &m);
    if (r == WSLAY_ERR_NO_MORE_MSG)
        return AIOPS_ECANCELED;
    if (r == WSLAY_ERR_NOMEM)
        return AIOPS_ENOMEM;
    return r == 0 ? AIOPS_OK : AIOPS_EINVAL;
}

int ws_conn_send_text(struct ws_conn *c, const char *msg, size_t len)
{
    if (len > 0 && msg == NULL)
        return AIOPS_EINVAL;
    if (!utf8_valid(msg, len, NULL))
        return AIOPS_EINVAL;
    return queue_msg(c, WSLAY_TEXT_FRAME, msg, len);
}

int ws_conn_send_binary(struct ws_conn *c, const void *msg, size_t len)
{
    if (len > 0 && msg == NULL)
        return AIOPS_EINVAL;
    return queue_msg(c, WSLAY_BINARY_FRAME, msg, len);
}

int ws_conn_ping(struct ws_conn *c)
{
    return queue_msg(c, WSLAY_PING, NULL, 0);
}

static int sendable_code(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}

int ws_conn_close(struct ws_conn *c, uint16_t code, const char *reason)
{
    if (reason == NULL)
        reason = "";
    size_t rlen = strlen(reason);
    if (!sendable_code(code) || rlen > 123 || !utf8_valid(reason, rlen, NULL))
        return AIOPS_EINVAL;
    if (c->dead || c->closing)
        return AIOPS_ECANCELED;
    int r = wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, rlen);
    if (r == WSLAY_ERR_NO_MORE_MSG)
        return AIOPS_ECANCELED;
    if (r == WSLAY_ERR_NOMEM)
        return AIOPS_ENOMEM;
    if (r != 0)
        return AIOPS_EINVAL;
    c->closing = 1;
    return AIOPS_OK;
}

static size_t output(struct ws_conn *c, size_t max)
{
    c->out_room = max;
    c->out_done = 0;
    wslay_event_set_error(c->ctx, 0);
    if (wslay_event_send(c->ctx) != 0)
        c->dead = 1; /* out of memory in the sink */
    size_t n = c->out_done;
    c->out_buf = NULL;
    c->out_evb = NULL;
    c->out_room = c->out_done = 0;
    return n;
}

size_t ws_conn_output(struct ws_conn *c, struct buf *out, size_t max)
{
    if (c->dead || max == 0 || out == NULL)
        return 0;
    c->out_buf = out;
    return output(c, max);
}

size_t ws_conn_output_evbuffer(struct ws_conn *c, struct evbuffer *out, size_t max)
{
    if (c->dead || max == 0 || out == NULL)
        return 0;
    c->out_evb = out;
    return output(c, max);
}

int ws_conn_want_output(const struct ws_conn *c)
{
    return !c->dead && wslay_event_want_write(c->ctx);
}

size_t ws_conn_queued_bytes(const struct ws_conn *c)
{
    return wslay_event_get_queued_msg_length(c->ctx);
}

size_t ws_conn_queued_msgs(const struct ws_conn *c)
{
    return wslay_event_get_queued_msg_count(c->ctx);
}

int ws_conn_done(const struct ws_conn *c)
{
    return c->dead || (wslay_event_get_close_sent(c->ctx) && !wslay_event_get_read_enabled(c->ctx));
}

uint16_t ws_conn_close_code_sent(const struct ws_conn *c)
{
    return wslay_event_get_close_sent(c->ctx) ? wslay_event_get_status_code_sent(c->ctx) : 0;
}

uint16_t ws_conn_close_code_received(const struct ws_conn *c)
{
    return c->peer_code;
}
