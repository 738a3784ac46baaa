/* wsframe.h -- a server-side WebSocket (RFC 6455) connection engine on wslay.
 *
 * Transport-agnostic: the gateway takes a client's connection over after the HTTP upgrade
 * handshake, feeds the bytes it reads to ws_conn_feed(), writes out whatever
 * ws_conn_output() produces, and closes the socket once ws_conn_done() says so and the
 * output is written:
 *
 *   read cb:   ws_conn_feed(c, data, n); then the write step
 *   write step: while (ws_conn_want_output(c) && transport has room)
 *                   ws_conn_output_evbuffer(c, out, room);
 *               if (ws_conn_done(c)) close after flushing
 *   EOF/error: ws_conn_free(c) (the peer went away without a close handshake)
 *
 * The engine checks everything RFC 6455 asks of a server (masked client frames, opcodes,
 * RSV bits, control frames <= 125 bytes and unfragmented, minimal length encodings, close
 * codes, UTF-8 of text messages and close reasons), reassembles fragmented messages,
 * answers pings, runs the close handshake, and fails the connection with the right close
 * code (1002 protocol error, 1003 unsupported data, 1007 invalid UTF-8, 1008 policy,
 * 1009 too big). Frames may arrive split anywhere.
 *
 * Outgoing messages queue inside the engine and are framed lazily by ws_conn_output(), so
 * a slow reader's backlog is measured here (ws_conn_queued_bytes) and bounded by the
 * limits: ws_conn_send_text() refuses with AIOPS_ETOOBIG when a message would not fit.
 *
 * Not thread-safe: one connection is used by one thread (the gateway's event loop). */
#ifndef AIOPS_WSFRAME_H
#define AIOPS_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct evbuffer;

/* Close codes (RFC 6455 section 7.4.1). */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* reported for a close frame without a code; never sent */
    WS_CLOSE_ABNORMAL = 1006,  /* reported when no close frame came; never sent */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* Writes the Sec-WebSocket-Accept value for the client's Sec-WebSocket-Key (len bytes,
 * already stripped of surrounding whitespace) into out: 28 characters and a NUL.
 * AIOPS_EINVAL when the key is not the canonical base64 of exactly 16 bytes (out is then
 * an empty string). */
int ws_accept_key(const char *client_key, size_t len, char out[29]);

/* Called from inside ws_conn_feed(). The message pointers are valid only during the call.
 * A callback may call ws_conn_send_text/ws_conn_send_binary/ws_conn_ping/ws_conn_close on
 * its connection, but must not free it or call ws_conn_feed/ws_conn_output. */
struct ws_callbacks {
    /* A complete text message (valid UTF-8, not NUL-terminated). NULL: text messages are
     * refused with 1003. */
    void (*on_text)(void *arg, const char *msg, size_t len);
    /* A complete binary message. NULL: binary messages are refused with 1003. */
    void (*on_binary)(void *arg, const uint8_t *msg, size_t len);
    /* The peer's close frame arrived: code is its status (WS_CLOSE_NO_STATUS when it had
     * none), reason its UTF-8 text (not NUL-terminated). The engine has already queued the
     * answering close frame. Optional. */
    void (*on_close)(void *arg, uint16_t code, const char *reason, size_t len);
    /* A pong arrived (an answer to ws_conn_ping, or unsolicited). Optional. */
    void (*on_pong)(void *arg, const uint8_t *payload, size_t len);
};

/* A zero field means the default. */
struct ws_limits {
    size_t max_message_bytes; /* incoming message, reassembled (64 KiB); larger: close 1009 */
    size_t max_queue_bytes;   /* outgoing payload bytes not yet output (1 MiB) */
    size_t max_queue_msgs;    /* outgoing messages not yet output, control frames included
                                 (256) */
};

#define WS_DEFAULT_MAX_MESSAGE_BYTES ((size_t)64 * 1024)
#define WS_DEFAULT_MAX_QUEUE_BYTES ((size_t)1024 * 1024)
#define WS_DEFAULT_MAX_QUEUE_MSGS ((size_t)256)

struct ws_conn;

/* A new connection in the open state (the 101 response has been sent). cb is copied; arg is
 * passed to every callback; lim may be NULL (defaults). Returns NULL when out of memory. The
 * caller owns the connection and frees it with ws_conn_free() (NULL is accepted). */
struct ws_conn *ws_conn_new(const struct ws_callbacks *cb, void *arg, const struct ws_limits *lim);
void ws_conn_free(struct ws_conn *c);

/* Processes len bytes read from the peer, calling the callbacks for what they complete.
 * A protocol violation is not an error of this call: the engine queues the close frame
 * with the right code, ignores all further input, and ws_conn_done() becomes 1 once that
 * frame is output. Bytes after the peer's close frame are ignored as well. A peer that
 * sends pings faster than it reads the pongs (queue over its limits) is closed with 1008.
 * Returns 0, or AIOPS_ENOMEM (the connection is then dead: done() is 1, drop it). */
int ws_conn_feed(struct ws_conn *c, const void *data, size_t len);

/* Queues one text message (valid UTF-8; copied). Returns 0; AIOPS_ETOOBIG when the queue
 * would go over max_queue_bytes or max_queue_msgs (nothing is queued: a slow reader; the
 * caller drops the message or closes with 1008); AIOPS_EINVAL for invalid UTF-8;
 * AIOPS_ECANCELED once a close frame is queued or the connection is dead; AIOPS_ENOMEM. */
int ws_conn_send_text(struct ws_conn *c, const char *msg, size_t len);
/* The same for a binary message (no UTF-8 check). */
int ws_conn_send_binary(struct ws_conn *c, const void *msg, size_t len);

/* Queues a ping with an empty payload (the answer comes to on_pong). Returns as
 * ws_conn_send_text (ETOOBIG when the queue is full: a peer that does not read). */
int ws_conn_ping(struct ws_conn *c);

/* Starts the close handshake: queues a close frame with code (1000-1003, 1007-1011 or
 * 3000-4999) and reason (NUL-terminated UTF-8 of at most 123 bytes; NULL for none). The close
 * frame goes out before any queued message that has not started: those are discarded. From
 * here on no callback but on_close/on_pong is called. ws_conn_done() becomes 1 when the
 * peer's close arrives after ours went out (the caller should bound that wait, e.g. 5 s,
 * then simply free). Returns 0; AIOPS_EINVAL for a code or reason not allowed;
 * AIOPS_ECANCELED when a close frame is already queued or sent; AIOPS_ENOMEM. */
int ws_conn_close(struct ws_conn *c, uint16_t code, const char *reason);

/* Frames queued messages and appends at most max bytes of them to out (a message may be
 * split across calls). Returns the number of bytes appended; 0 when there is nothing to
 * send or out cannot grow (the connection is then dead: done() is 1). Bytes moved out no
 * longer count against the queue limits, so a caller that wants back-pressure passes only
 * as much as its transport can take right now. */
size_t ws_conn_output(struct ws_conn *c, struct buf *out, size_t max);
/* The same into a libevent evbuffer (e.g. bufferevent_get_output()). */
size_t ws_conn_output_evbuffer(struct ws_conn *c, struct evbuffer *out, size_t max);

/* 1 when ws_conn_output() has something to produce. */
int ws_conn_want_output(const struct ws_conn *c);
/* Payload bytes / messages queued and not yet completely output (a message partly output
 * counts in full). */
size_t ws_conn_queued_bytes(const struct ws_conn *c);
size_t ws_conn_queued_msgs(const struct ws_conn *c);

/* 1 when the transport should close the connection once the output it already holds is
 * written: the close handshake is complete (or was answered), the connection was failed
 * for a protocol error and its close frame output, or the engine is dead (out of memory).
 * No output will be produced after that. */
int ws_conn_done(const struct ws_conn *c);

/* The status code of the close frame we sent (0 while none is output; WS_CLOSE_NO_STATUS
 * for an empty one), and of the one the peer sent (0 while none arrived). For logs and
 * metrics. */
uint16_t ws_conn_close_code_sent(const struct ws_conn *c);
uint16_t ws_conn_close_code_received(const struct ws_conn *c);

#endif
