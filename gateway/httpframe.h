/* httpframe.h -- the HTTP/1.1 request framer that sits in front of evhttp.
 *
 * libevent 2.1's evhttp answers malformed or oversized requests itself with HTML pages and
 * cannot apply a per-route body limit before reading the body. The framer runs as the input
 * filter of each client connection's bufferevent (bufferevent_filter_new): it reads every
 * request first (RFC 9112) and hands evhttp only complete, well-formed requests within their
 * limits. For anything else it hands evhttp one synthetic request naming the error, which the
 * gateway's handler answers as JSON, and from then on discards the connection's input:
 *
 *   <METHOD or GET> <TARGET or /> HTTP/1.1
 *   X-Aiops-Frame-Error: <secret> <status> <code>
 *   X-Aiops-Frame-Detail: <percent-encoded JSON object>
 *   Connection: close
 *   Content-Length: 0
 *
 * code is a row of the error catalogue (lib/http/apierr.h) and status its status:
 * payload_too_large (413), header_too_large (431), bad_request (400),
 * http_version_not_supported (505), unsupported_transfer_encoding (400),
 * expectation_failed (417), method_not_implemented (501), rate_limited (429: not admitted,
 * httpframe_config.admit). The detail of a malformed request
 * is {"reason", "offset", "line"}, as every parser of the suite reports a place.
 *
 * What is forwarded, and why it is exactly what evhttp 2.1 will frame the same way:
 * - heads pass unchanged, after leading empty lines (which evhttp refuses) are dropped;
 * - methods are limited to GET HEAD POST PUT DELETE OPTIONS PATCH (others -> 501; evhttp
 *   would answer them with HTML), and HEAD with a body is refused (evhttp ignores a HEAD
 *   body and would read it as the next request);
 * - chunked bodies are re-framed canonically ("HEX\r\n" data "\r\n" ... "0\r\n\r\n"): the data
 *   bytes are kept, but chunk extensions (which evhttp 2.1 rejects) and trailer fields
 *   (which it would merge into the request headers) are dropped;
 * - body bytes are copied into full chains as they are held: a socket read's own chain is an
 *   allocation of twice its bytes, and moving those would make a held body cost double;
 * - a client's own X-Aiops-Frame-* headers are refused (400).
 * After a request with an Upgrade header the framer passes all further bytes through
 * untouched: the gateway either takes the connection over (101) or must close it after its
 * answer, because nothing on that connection is framed any more.
 *
 * Each process() call consumes all of `in`, so the filter's loop never spins on bytes the
 * framer holds; held bytes live in the framer (at most one request: its head, up to
 * max_head_bytes, and its body, up to its limit). */
#ifndef AIOPS_HTTPFRAME_H
#define AIOPS_HTTPFRAME_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "http/apierr.h"

#define HTTPFRAME_DEFAULT_MAX_HEAD ((size_t)64 << 10)
#define HTTPFRAME_DEFAULT_MAX_DRAIN ((size_t)256 << 20)
#define HTTPFRAME_DEFAULT_BODY_LIMIT ((size_t)5 << 20)
#define HTTPFRAME_MAX_SECRET 128

/* The body limit for one request, from its method and request-target (raw bytes, not
 * NUL-terminated; the target may carry a query). Called once per request with a body. */
typedef size_t (*httpframe_limit_fn)(void *arg, const char *method, size_t method_len,
                                     const char *target, size_t target_len);

/* Admission of a request with a body, asked once its head is read (before any of its body
 * is taken): 0 -- nothing to hold; 1 -- admitted, holding a place until release(arg) is
 * called, exactly once, when the framer no longer holds the request (handed on whole,
 * dropped, or the connection ended); -1 -- refused: its body is read and dropped like an
 * over-limit one and the synthetic request says rate_limited (429). */
typedef int (*httpframe_admit_fn)(void *arg, const char *method, size_t method_len,
                                  const char *target, size_t target_len);

struct httpframe_config {
    /* request line + fields + blank line; 0: default 64 KiB. Over it: 431. Also bounds the
     * trailer section of a chunked body. */
    size_t max_head_bytes;
    /* of an over-limit body without Expect this much is read and dropped before the 413, so
     * that a client which sends its whole body before reading sees the answer; a body known
     * to be larger gets the 413 at once (evhttp then closes the connection after it).
     * 0: default 256 MiB */
    size_t max_drain_bytes;
    /* NULL: HTTPFRAME_DEFAULT_BODY_LIMIT for every request */
    httpframe_limit_fn body_limit;
    void *arg; /* passed to body_limit, admit and release */
    /* NULL: every request is admitted */
    httpframe_admit_fn admit;
    void (*release)(void *arg);
    /* per-process random token marking synthetic requests: 1..128 visible ASCII characters,
     * no space; copied */
    const char *secret;
};

/* Returns a framer for one connection, or NULL when the config is invalid (no secret, bad
 * secret) or memory is short. Free it with httpframe_free(). */
struct httpframe *httpframe_new(const struct httpframe_config *cfg);
void httpframe_free(struct httpframe *f);

enum httpframe_status {
    HTTPFRAME_OK,        /* something was appended to out */
    HTTPFRAME_NEED_MORE, /* nothing for evhttp yet (bytes may have been held or dropped) */
    HTTPFRAME_CLOSE      /* out of memory: the framer drops everything from now on. Note
                            that libevent 2.1's filter ignores BEV_ERROR; to drop the
                            connection trigger BEV_EVENT_ERROR on the filter bufferevent */
};

/* Consumes all of `in` (the socket side). Complete requests are appended to `out` (the
 * evhttp side) whole, in order; "HTTP/1.1 100 Continue\r\n\r\n" may be appended to to_client
 * (the socket's output; may be NULL). In a bufferevent filter callback map HTTPFRAME_OK to
 * BEV_OK, HTTPFRAME_NEED_MORE to BEV_NEED_MORE and HTTPFRAME_CLOSE to BEV_ERROR. */
enum httpframe_status httpframe_process(struct httpframe *f, struct evbuffer *in,
                                        struct evbuffer *out, struct evbuffer *to_client);

/* --- streamed bodies ------------------------------------------------------------------
 * A request that admit() admitted (an upload) is streamed: its head is handed on at once,
 * without its framing (Content-Length, Transfer-Encoding and Expect left out), as
 * "Content-Length: 0" with "X-Aiops-Frame-Stream: 1", and its body (de-chunked) is kept in
 * the framer's stream buffer for the gateway to take as it goes, never whole. The body is
 * not read until httpframe_stream_resume() (the gateway authenticates first; a 100 Continue
 * the client waits for is owed until then), and reading pauses while
 * HTTPFRAME_STREAM_HIGH bytes wait in the buffer (httpframe_wants_input). What follows the
 * body on the connection is dropped: the answer to a streamed request closes it. A framing
 * error or a chunked body over the limit cannot become a synthetic request (evhttp has the
 * head already): httpframe_stream_state() reports it for the gateway to answer. */
#define HTTPFRAME_STREAM_HIGH ((size_t)2 << 20)

enum httpframe_stream {
    HTTPFRAME_STREAM_MORE,  /* more of the body is to come */
    HTTPFRAME_STREAM_DONE,  /* the rest of the body is in the buffer */
    HTTPFRAME_STREAM_FAILED /* *err (and *detail: a new reference or NULL) say why */
};
/* 1 while the request last handed on is streamed. */
int httpframe_streaming(const struct httpframe *f);
enum httpframe_stream httpframe_stream_state(const struct httpframe *f, enum api_error *err,
                                             json_t **detail);
/* The body bytes not yet taken (drain what you take). */
struct evbuffer *httpframe_stream_buffer(struct httpframe *f);
/* Starts (or goes on) reading the body: 1 when a 100 Continue is owed to the client now. */
int httpframe_stream_resume(struct httpframe *f);
/* The rest of the body is read and dropped (the request was answered without it); a body
 * the client has not begun to send (it awaits a 100 Continue) counts as read. */
void httpframe_stream_discard(struct httpframe *f);
/* 1 once a streamed request's body has been read to its end (or dropped after an error):
 * nothing more is read for it. */
int httpframe_body_read(const struct httpframe *f);
/* 0 while the socket should not be read: a streamed body paused or its buffer full. */
int httpframe_wants_input(const struct httpframe *f);

struct httpframe_stats {
    uint64_t requests;          /* requests forwarded (synthetic one not counted) */
    uint64_t framed_bytes;      /* bytes appended to out as whole requests, synthetic incl. */
    uint64_t passthrough_bytes; /* bytes appended to out after an Upgrade request */
    int passthrough;            /* 1 once the connection is in pass-through */
    int error_status;           /* status of the synthetic request emitted, or 0 */
    uint64_t error_at;          /* where in the stream given to evhttp it starts */
};
void httpframe_get_stats(const struct httpframe *f, struct httpframe_stats *st);

/* For the handler: parses an X-Aiops-Frame-Error value. Returns 0 and fills *status and code
 * (NUL-terminated, at most codesz-1 bytes) only when the value is well-formed and carries
 * `secret` (compared in constant time); -1 otherwise (then treat the request as a normal one:
 * a client cannot forge the header without the secret). */
int httpframe_parse_error_header(const char *value, const char *secret, int *status, char *code,
                                 size_t codesz);

/* Decodes an X-Aiops-Frame-Detail value into a JSON object (new reference, the caller
 * decrefs), or NULL when it is not one. */
json_t *httpframe_decode_detail(const char *value);

#endif
