/* httpframe.c -- HTTP/1.1 request framer in front of evhttp. See httpframe.h. */

#include "httpframe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "core/array.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "http/apierr.h"
#include "http/token.h"

/* A chunk-size line (with extensions) or one trailer line may not be longer than this. */
#define LINE_MAX_BYTES 8192
/* Chunk sizes above this are refused outright (no body limit is that large). */
#define MAX_CHUNK ((uint64_t)1 << 62)

enum fstate {
    FS_HEAD,       /* reading a request head */
    FS_BODY,       /* Content-Length body: `remaining` bytes to go */
    FS_CHUNK_LINE, /* expecting a chunk-size line */
    FS_CHUNK_DATA, /* inside chunk data: `remaining` bytes to go */
    FS_CHUNK_CRLF, /* the line end after chunk data */
    FS_TRAILER,    /* trailer fields until the blank line */
    FS_PASS,       /* after an Upgrade request: everything passes through */
    FS_DEAD        /* a synthetic error was emitted: everything is discarded */
};

struct httpframe {
    size_t max_head, max_drain;
    httpframe_limit_fn limit_fn;
    httpframe_admit_fn admit_fn;
    void (*release_fn)(void *arg);
    void *arg;
    char secret[HTTPFRAME_MAX_SECRET + 1];

    enum fstate st;
    struct evbuffer *acc; /* input not yet framed */
    struct evbuffer *req; /* the request being held: head + canonical body */
    size_t scan;          /* FS_HEAD: start of the first line not yet seen complete */

    /* the current request */
    struct buf method, target; /* copies, for a synthetic request after the body */
    int upgrade;
    int discard;  /* over its limit (or refused): the body is read and dropped */
    int refused;  /* not admitted: the dropped body is answered 429, not 413 */
    int admitted; /* holds a place taken by admit_fn (released by release_place) */
    /* a streamed body (httpframe_stream_*): its head was handed on alone */
    int streaming;
    int stream_done;           /* the whole body is in `stream` (or was taken from it) */
    int stream_paused;         /* read no more of the body for now */
    int stream_expect;         /* 100 Continue is owed once the body is asked for */
    struct evbuffer *stream;   /* body bytes not yet taken */
    enum api_error stream_err; /* API_ERROR_COUNT, or why the body cannot be had */
    json_t *stream_err_detail; /* owned */
    size_t limit;              /* its body limit */
    uint64_t remaining;        /* FS_BODY / FS_CHUNK_DATA */
    uint64_t body_bytes;       /* body (payload) bytes announced so far */
    uint64_t raw_bytes;        /* bytes of this request consumed so far (for error offsets) */
    uint64_t dropped;          /* raw body bytes discarded */
    size_t trailer_bytes;

    struct httpframe_stats stats;
};

/* ---- small helpers ------------------------------------------------------------------ */

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* field-vchar / SP / HTAB / obs-text */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int ieq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

/* A framing error: its catalogue row (the status and code the gateway answers) and a JSON
 * detail object (owned; may be NULL). err API_ERROR_COUNT: none (out of memory). */
struct ferr {
    enum api_error err;
    json_t *detail;
};

static void set_err(struct ferr *e, enum api_error err, json_t *detail)
{
    e->err = err;
    e->detail = detail;
}

/* err with details {"reason", "offset", "line"} (line 0: left out), as every parser of the
 * suite reports where input went wrong (jsonx_error_details). */
static void set_err_at(struct ferr *e, enum api_error err, uint64_t offset, size_t line,
                       const char *reason)
{
    struct aiops_error where = AIOPS_ERROR_INIT;
    aiops_error_set(&where, 0, NULL, "%s", reason);
    where.offset = (long)offset;
    where.line = (long)line;
    set_err(e, err, jsonx_error_details(&where));
}

static void bad_request(struct ferr *e, uint64_t offset, size_t line, const char *reason)
{
    set_err_at(e, API_BAD_REQUEST, offset, line, reason);
}

/* ---- the request head --------------------------------------------------------------- */

struct head {
    const char *method, *target;
    size_t method_len, target_len;
    int http10;
    int has_cl, chunked, expect, upgrade;
    uint64_t content_length;
};

/* The methods the gateway serves (evhttp answers the others itself, in HTML). */
static int method_known(const char *m, size_t n)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
    for (size_t i = 0; i < ARRAY_LEN(known); i++)
        if (strlen(known[i]) == n && memcmp(m, known[i], n) == 0)
            return 1;
    return 0;
}

/* Parses the request line [p, p+n) (line end stripped). */
static int parse_request_line(const char *p, size_t n, struct head *h, struct ferr *e)
{
    size_t i = 0;
    while (i < n && http_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i == n || p[i] != ' ') {
        bad_request(e, i, 1, "request line does not start with a method token and one space");
        return -1;
    }
    h->method = p;
    h->method_len = i++;
    size_t ts = i;
    while (i < n && (unsigned char)p[i] > 0x20 && p[i] != 0x7f)
        i++;
    if (i == ts || i == n || p[i] != ' ') {
        bad_request(e, i, 1, "request target missing, or has a space or control character");
        return -1;
    }
    h->target = p + ts;
    h->target_len = i - ts;
    i++;
    const char *v = p + i;
    size_t vl = n - i;
    if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
        v[7] < '0' || v[7] > '9') {
        bad_request(e, i, 1, "request line does not end in HTTP/x.y");
        return -1;
    }
    /* evhttp must accept the target too, or it answers 400 in HTML */
    /* (not strndup: the target is not NUL-terminated, and strict string checks say so) */
    char *t = malloc(h->target_len + 1);
    if (t == NULL) {
        set_err(e, API_ERROR_COUNT, NULL);
        return -2;
    }
    memcpy(t, h->target, h->target_len);
    t[h->target_len] = '\0';
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(t, EVHTTP_URI_NONCONFORMANT);
    free(t);
    if (u == NULL) {
        bad_request(e, ts, 1, "request target is not a URI");
        return -1;
    }
    evhttp_uri_free(u);
    /* from here on method and target are fit for a synthetic request line */
    if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
        json_t *d = json_object();
        if (d != NULL)
            json_object_set_new(d, "version", json_stringn(v, 8));
        set_err(e, API_HTTP_VERSION_NOT_SUPPORTED, d);
        return -1;
    }
    h->http10 = v[7] == '0';
    if (!method_known(h->method, h->method_len)) {
        json_t *d = json_object();
        if (d != NULL)
            json_object_set_new(d, "method", json_stringn(h->method, h->method_len));
        set_err(e, API_METHOD_NOT_IMPLEMENTED, d);
        return -1;
    }
    return 0;
}

/* The method and target of a head's request line p[0..n) when they can be reused in a
 * synthetic request (the line is sound up to the version and method checks); else NULLs. */
static void usable_request_line(const char *p, size_t n, struct head *rl)
{
    memset(rl, 0, sizeof *rl);
    const char *lf = memchr(p, '\n', n);
    if (lf == NULL)
        return;
    size_t l = (size_t)(lf - p);
    if (l > 0 && p[l - 1] == '\r')
        l--;
    struct ferr e = {API_ERROR_COUNT, NULL};
    int rv = parse_request_line(p, l, rl, &e);
    json_decref(e.detail);
    if (rv != 0 && !(rv == -1 && (e.err == API_HTTP_VERSION_NOT_SUPPORTED ||
                                  e.err == API_METHOD_NOT_IMPLEMENTED)))
        memset(rl, 0, sizeof *rl);
}

/* Parses a complete head p[0..n) (ending in its blank line). Returns 0, -1 with *e set, or
 * -2 when out of memory. */
static int parse_head(const char *p, size_t n, struct head *h, struct ferr *e)
{
    memset(h, 0, sizeof *h);
    size_t pos = 0, line = 0;
    int te_lines = 0, te_bad = 0, expect_bad = 0;
    while (pos < n) {
        const char *lf = memchr(p + pos, '\n', n - pos);
        size_t le = (size_t)(lf - p); /* the head ends in LF, so lf is never NULL */
        size_t end = le;
        line++;
        if (end > pos && p[end - 1] == '\r')
            end--;
        const char *cr = memchr(p + pos, '\r', end - pos);
        if (cr != NULL) {
            bad_request(e, (size_t)(cr - p), line, "CR not followed by LF");
            return -1;
        }
        const char *s = p + pos;
        size_t len = end - pos;
        if (line == 1) {
            int rv = parse_request_line(s, len, h, e);
            if (rv != 0)
                return rv;
        } else if (len == 0) {
            break; /* the blank line */
        } else {
            if (is_ows((unsigned char)s[0])) {
                bad_request(e, pos, line, "obsolete line folding");
                return -1;
            }
            size_t k = 0;
            while (k < len && http_tchar((unsigned char)s[k]))
                k++;
            if (k == 0 || k == len || s[k] != ':') {
                bad_request(e, pos + k, line,
                            k < len && is_ows((unsigned char)s[k])
                                ? "whitespace between field name and colon"
                                : "header field is not 'name: value'");
                return -1;
            }
            size_t name_len = k++;
            for (size_t j = k; j < len; j++)
                if (!is_value_char((unsigned char)s[j])) {
                    bad_request(e, pos + j, line, "control character in a field value");
                    return -1;
                }
            while (k < len && is_ows((unsigned char)s[k]))
                k++;
            size_t ve = len;
            while (ve > k && is_ows((unsigned char)s[ve - 1]))
                ve--;
            const char *v = s + k;
            size_t vl = ve - k;
            if (ieq(s, name_len, "Content-Length")) {
                uint64_t val = 0;
                size_t sig = 0;
                if (vl == 0) {
                    bad_request(e, pos + k, line, "empty Content-Length");
                    return -1;
                }
                for (size_t j = 0; j < vl; j++) {
                    if (v[j] < '0' || v[j] > '9') {
                        bad_request(e, pos + k + j, line, "Content-Length is not digits only");
                        return -1;
                    }
                    if (sig > 0 || v[j] != '0')
                        sig++;
                    if (sig > 18) {
                        bad_request(e, pos + k, line, "Content-Length out of range");
                        return -1;
                    }
                    val = val * 10 + (uint64_t)(v[j] - '0');
                }
                if (h->has_cl && val != h->content_length) {
                    bad_request(e, pos, line, "Content-Length values disagree");
                    return -1;
                }
                h->has_cl = 1;
                h->content_length = val;
            } else if (ieq(s, name_len, "Transfer-Encoding")) {
                te_lines++;
                if (!ieq(v, vl, "chunked"))
                    te_bad = 1;
            } else if (ieq(s, name_len, "Expect")) {
                if (ieq(v, vl, "100-continue"))
                    h->expect = 1;
                else
                    expect_bad = 1;
            } else if (ieq(s, name_len, "Upgrade")) {
                if (vl > 0)
                    h->upgrade = 1;
            } else if (ieq(s, name_len, "X-Aiops-Frame-Error") ||
                       ieq(s, name_len, "X-Aiops-Frame-Detail") ||
                       ieq(s, name_len, "X-Aiops-Frame-Stream")) {
                bad_request(e, pos, line, "reserved header field");
                return -1;
            }
        }
        pos = le + 1;
    }
    if (h->has_cl && te_lines > 0) {
        bad_request(e, 0, 0, "both Content-Length and Transfer-Encoding");
        return -1;
    }
    if (te_lines > 0) {
        const char *why = NULL;
        if (te_lines > 1 || te_bad)
            why = "only a single 'Transfer-Encoding: chunked' is supported";
        else if (h->http10)
            why = "Transfer-Encoding in an HTTP/1.0 request";
        if (why != NULL) {
            set_err_at(e, API_UNSUPPORTED_TRANSFER_ENCODING, 0, 0, why);
            return -1;
        }
        h->chunked = 1;
    }
    if (h->http10)
        h->expect = 0; /* RFC 9110 10.1.1: ignored in HTTP/1.0 */
    else if (expect_bad) {
        set_err_at(e, API_EXPECTATION_FAILED, 0, 0, "only 100-continue is supported");
        return -1;
    }
    if (h->method_len == 4 && memcmp(h->method, "HEAD", 4) == 0 &&
        (h->chunked || h->content_length > 0)) {
        bad_request(e, 0, 1, "a HEAD request cannot have a body");
        return -1;
    }
    return 0;
}

/* ---- output --------------------------------------------------------------------------- */

/* Percent-encodes what may not appear in a header value (and '%' itself). */
static int pct_encode(struct buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '%') {
            char t[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (buf_append(b, t, 3) != 0)
                return AIOPS_ENOMEM;
        } else if (buf_putc(b, (char)c) != 0) {
            return AIOPS_ENOMEM;
        }
    }
    return AIOPS_OK;
}

/* The request no longer holds its admitted place. */
static void release_place(struct httpframe *f)
{
    if (f->admitted && f->release_fn != NULL)
        f->release_fn(f->arg);
    f->admitted = 0;
}

/* Drops everything held and appends the synthetic request for e to out; from now on input
 * is discarded. method/target NULL (or not acceptable) fall back to GET /. */
static int emit_error(struct httpframe *f, struct ferr *e, const char *method, size_t mlen,
                      const char *target, size_t tlen, struct evbuffer *out)
{
    struct buf b = BUF_INIT;
    int rv = AIOPS_OK;
    if (f->streaming) {
        /* the head is with evhttp already: no second request; the taker answers it */
        if (f->stream_err == API_ERROR_COUNT) {
            f->stream_err = e->err;
            f->stream_err_detail = e->detail;
        } else {
            json_decref(e->detail);
        }
        e->detail = NULL;
        release_place(f);
        evbuffer_drain(f->acc, evbuffer_get_length(f->acc));
        f->st = FS_DEAD;
        return AIOPS_OK;
    }
    if (method == NULL || !method_known(method, mlen)) {
        method = "GET";
        mlen = 3;
    }
    if (target == NULL || tlen == 0) {
        target = "/";
        tlen = 1;
    }
    char *dj = e->detail ? json_dumps(e->detail, JSON_COMPACT) : NULL;
    if (buf_append(&b, method, mlen) != 0 || buf_putc(&b, ' ') != 0 ||
        buf_append(&b, target, tlen) != 0 ||
        buf_printf(&b, " HTTP/1.1\r\nX-Aiops-Frame-Error: %s %d %s\r\nX-Aiops-Frame-Detail: ",
                   f->secret, apierr_def(e->err)->status, apierr_def(e->err)->code) != 0 ||
        pct_encode(&b, dj ? dj : "{}", dj ? strlen(dj) : 2) != 0 ||
        buf_puts(&b, "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n") != 0 ||
        evbuffer_add(out, b.data, b.len) != 0)
        rv = AIOPS_ENOMEM;
    free(dj);
    json_decref(e->detail);
    e->detail = NULL;
    if (rv == AIOPS_OK) {
        f->stats.error_at = f->stats.framed_bytes;
        f->stats.framed_bytes += b.len;
        f->stats.error_status = apierr_def(e->err)->status;
    }
    buf_free(&b);
    release_place(f);
    evbuffer_drain(f->req, evbuffer_get_length(f->req));
    evbuffer_drain(f->acc, evbuffer_get_length(f->acc));
    f->st = FS_DEAD;
    return rv;
}

/* Emits the error with the current request's method and target. */
static int emit_error_cur(struct httpframe *f, struct ferr *e, struct evbuffer *out)
{
    return emit_error(f, e, f->method.data, f->method.len, f->target.data, f->target.len, out);
}

static int emit_too_large(struct httpframe *f, uint64_t received, struct evbuffer *out)
{
    struct ferr e;
    if (f->refused) {
        json_t *r = json_pack("{s:s}", "reason", "too many uploads in progress");
        set_err(&e, API_RATE_LIMITED, r);
        return emit_error_cur(f, &e, out);
    }
    json_t *d = json_object();
    if (d != NULL) {
        json_object_set_new(d, "limit", json_integer((json_int_t)f->limit));
        json_object_set_new(d, "received", json_integer((json_int_t)received));
    }
    set_err(&e, API_PAYLOAD_TOO_LARGE, d);
    return emit_error_cur(f, &e, out);
}

/* The held request is complete: hand it on whole. */
static int finish_request(struct httpframe *f, struct evbuffer *out)
{
    if (f->discard)
        return emit_too_large(f, f->body_bytes, out);
    if (f->streaming) {
        /* the body is all in `stream`; whatever follows it is dropped (the answer closes
         * the connection: evhttp must see nothing more before it has answered) */
        f->stream_done = 1;
        f->stats.requests++;
        release_place(f);
        f->st = FS_DEAD;
        return AIOPS_OK;
    }
    size_t n = evbuffer_get_length(f->req);
    if (evbuffer_add_buffer(out, f->req) != 0)
        return AIOPS_ENOMEM;
    f->stats.framed_bytes += n;
    f->stats.requests++;
    release_place(f); /* the gateway counts it from here (server.c) */
    f->st = f->upgrade ? FS_PASS : FS_HEAD;
    f->scan = 0;
    if (f->upgrade)
        f->stats.passthrough = 1;
    return AIOPS_OK;
}

/* A header line's name is `name` (case-insensitive). */
static int line_names(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

/* Hands on the head p[0..n) of a streamed request without its framing: its Content-Length,
 * Transfer-Encoding and Expect fields are left out, and "Content-Length: 0" and
 * "X-Aiops-Frame-Stream: 1" added, so that evhttp takes it as complete at once. */
static int emit_stream_head(struct httpframe *f, const char *p, size_t n, struct evbuffer *out)
{
    struct buf b = BUF_INIT;
    size_t pos = 0;
    int rv = AIOPS_OK, first = 1;
    while (pos < n && rv == AIOPS_OK) {
        const char *lf = memchr(p + pos, '\n', n - pos);
        size_t le = lf ? (size_t)(lf - p) + 1 : n;
        size_t len = le - pos;
        size_t content = len - 1 - (len >= 2 && p[le - 2] == '\r');
        if (content == 0)
            break; /* the blank line */
        if (first || !(line_names(p + pos, content, "content-length") ||
                       line_names(p + pos, content, "transfer-encoding") ||
                       line_names(p + pos, content, "expect")))
            rv = buf_append(&b, p + pos, content) == 0 && buf_puts(&b, "\r\n") == 0 ? AIOPS_OK
                                                                                    : AIOPS_ENOMEM;
        first = 0;
        pos = le;
    }
    if (rv == AIOPS_OK &&
        (buf_puts(&b, "Content-Length: 0\r\nX-Aiops-Frame-Stream: 1\r\n\r\n") != 0 ||
         evbuffer_add(out, b.data, b.len) != 0))
        rv = AIOPS_ENOMEM;
    if (rv == AIOPS_OK)
        f->stats.framed_bytes += b.len;
    buf_free(&b);
    return rv;
}

/* ---- the state machine ---------------------------------------------------------------- */

enum step { STEP_PROGRESS, STEP_WAIT, STEP_CLOSE };

static enum step step_head(struct httpframe *f, struct evbuffer *out, struct evbuffer *to_client)
{
    size_t avail = evbuffer_get_length(f->acc);
    if (f->scan == 0) {
        /* RFC 9112 2.2: ignore empty lines before a request-line (evhttp would not) */
        unsigned char two[2];
        while (avail > 0) {
            size_t k = avail >= 2 ? 2 : 1;
            evbuffer_copyout(f->acc, two, k);
            if (two[0] == '\n')
                k = 1;
            else if (!(two[0] == '\r' && k == 2 && two[1] == '\n'))
                break;
            evbuffer_drain(f->acc, k);
            avail -= k;
        }
        if (avail == 1) {
            unsigned char c;
            evbuffer_copyout(f->acc, &c, 1);
            if (c == '\r')
                return STEP_WAIT;
        }
    }
    if (avail == 0)
        return STEP_WAIT;
    size_t n = avail < f->max_head ? avail : f->max_head;
    const char *p = (const char *)evbuffer_pullup(f->acc, (ev_ssize_t)n);
    if (p == NULL)
        return STEP_CLOSE;
    size_t ls = f->scan, head_end = 0;
    for (;;) {
        const char *lf = ls < n ? memchr(p + ls, '\n', n - ls) : NULL;
        if (lf == NULL)
            break;
        size_t i = (size_t)(lf - p);
        size_t content = i - ls - (i > ls && p[i - 1] == '\r');
        ls = i + 1;
        if (content == 0) {
            head_end = ls;
            break;
        }
    }
    f->scan = ls;
    struct ferr e = {API_ERROR_COUNT, NULL};
    if (head_end == 0) {
        if (n < f->max_head)
            return STEP_WAIT;
        json_t *d = json_object();
        if (d != NULL)
            json_object_set_new(d, "limit", json_integer((json_int_t)f->max_head));
        set_err(&e, API_HEADER_TOO_LARGE, d);
        struct head h;
        usable_request_line(p, n, &h);
        return emit_error(f, &e, h.method, h.method_len, h.target, h.target_len, out) == 0
                   ? STEP_PROGRESS
                   : STEP_CLOSE;
    }

    struct head h;
    int rv = parse_head(p, head_end, &h, &e);
    if (rv == -2)
        return STEP_CLOSE;
    if (rv != 0) {
        struct head rl;
        usable_request_line(p, head_end, &rl);
        return emit_error(f, &e, rl.method, rl.method_len, rl.target, rl.target_len, out) == 0
                   ? STEP_PROGRESS
                   : STEP_CLOSE;
    }

    buf_reset(&f->method);
    buf_reset(&f->target);
    if (buf_append(&f->method, h.method, h.method_len) != 0 ||
        buf_append(&f->target, h.target, h.target_len) != 0)
        return STEP_CLOSE;
    f->upgrade = h.upgrade;
    f->discard = 0;
    f->refused = 0;
    release_place(f);
    f->streaming = 0;
    f->stream_done = 0;
    f->stream_paused = 0;
    f->stream_expect = 0;
    f->body_bytes = 0;
    f->dropped = 0;
    f->raw_bytes = head_end;
    f->trailer_bytes = 0;
    f->scan = 0;
    f->limit = SIZE_MAX;
    int has_body = h.chunked || h.content_length > 0;
    if (has_body)
        f->limit = f->limit_fn ? f->limit_fn(f->arg, h.method, h.method_len, h.target, h.target_len)
                               : HTTPFRAME_DEFAULT_BODY_LIMIT;
    if (has_body && f->admit_fn != NULL) {
        int a = f->admit_fn(f->arg, h.method, h.method_len, h.target, h.target_len);
        f->admitted = a > 0;
        if (a < 0) {
            /* answered like an over-limit body, with 429: the limit is 0 for now */
            f->refused = 1;
            f->limit = 0;
        }
    }

    if (!h.chunked && h.content_length > f->limit) {
        if (h.expect) /* the client waits for our word before sending the body */
            return emit_too_large(f, h.content_length, out) == 0 ? STEP_PROGRESS : STEP_CLOSE;
        /* Too much to read and drop: answer now; evhttp closes after the answer. (Returning
         * BEV_ERROR from a filter does not close anything in libevent 2.1.) */
        if (h.content_length > f->max_drain)
            return emit_too_large(f, h.content_length, out) == 0 ? STEP_PROGRESS : STEP_CLOSE;
        evbuffer_drain(f->acc, head_end);
        f->discard = 1;
        f->body_bytes = h.content_length;
        f->remaining = h.content_length;
        f->st = FS_BODY;
        return STEP_PROGRESS;
    }
    if (f->admitted && !h.upgrade) {
        if (emit_stream_head(f, p, head_end, out) != 0)
            return STEP_CLOSE;
        evbuffer_drain(f->acc, head_end);
        release_place(f); /* the request holds it from here (the gateway's handler) */
        f->streaming = 1;
        f->stream_paused = 1; /* until the gateway has authenticated and asks for it */
        f->stream_expect = h.expect;
        f->remaining = h.content_length;
        f->st = h.chunked ? FS_CHUNK_LINE : FS_BODY;
        return STEP_PROGRESS;
    }
    if (evbuffer_remove_buffer(f->acc, f->req, head_end) != (int)head_end)
        return STEP_CLOSE;
    if (h.expect && has_body && to_client != NULL)
        evbuffer_add(to_client, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (h.chunked) {
        f->st = FS_CHUNK_LINE;
    } else if (h.content_length > 0) {
        f->remaining = h.content_length;
        f->st = FS_BODY;
    } else if (finish_request(f, out) != 0) {
        return STEP_CLOSE;
    }
    return STEP_PROGRESS;
}

/* Moves the first k bytes of src to the end of dst, copied into full chains: moving src's
 * chains would keep each socket read's own chain, an allocation of twice a 4 KiB read, so
 * that a held body would cost twice its size. 0, or AIOPS_ENOMEM. */
static int copy_dense(struct evbuffer *src, struct evbuffer *dst, size_t k)
{
    size_t done = 0;
    while (done < k) {
        struct evbuffer_iovec v[16];
        struct evbuffer_ptr at;
        if (evbuffer_ptr_set(src, &at, done, EVBUFFER_PTR_SET) != 0)
            return AIOPS_ENOMEM;
        int n = evbuffer_peek(src, (ev_ssize_t)(k - done), &at, v, 16);
        if (n <= 0)
            return AIOPS_ENOMEM;
        for (int i = 0; i < n && i < 16 && done < k; i++) {
            size_t len = v[i].iov_len < k - done ? v[i].iov_len : k - done;
            if (evbuffer_add(dst, v[i].iov_base, len) != 0)
                return AIOPS_ENOMEM;
            done += len;
        }
    }
    evbuffer_drain(src, k);
    return AIOPS_OK;
}

/* Moves (or, when discarding, drops) up to `remaining` bytes of body. */
static enum step step_data(struct httpframe *f, struct evbuffer *out)
{
    size_t avail = evbuffer_get_length(f->acc);
    if (avail == 0)
        return STEP_WAIT;
    size_t k = f->remaining < avail ? (size_t)f->remaining : avail;
    if (k > (size_t)1 << 30) /* evbuffer_remove_buffer counts in int */
        k = (size_t)1 << 30;
    if (f->streaming && !f->discard) {
        size_t held = evbuffer_get_length(f->stream);
        if (f->stream_paused || held >= HTTPFRAME_STREAM_HIGH)
            return STEP_WAIT;
        if (k > HTTPFRAME_STREAM_HIGH - held)
            k = HTTPFRAME_STREAM_HIGH - held;
    }
    if (f->discard) {
        evbuffer_drain(f->acc, k);
        f->dropped += k;
        if (f->dropped > f->max_drain) /* chunked: the size was not known up front */
            return emit_too_large(f, f->body_bytes, out) == 0 ? STEP_PROGRESS : STEP_CLOSE;
    } else if (copy_dense(f->acc, f->streaming ? f->stream : f->req, k) != 0) {
        return STEP_CLOSE;
    }
    f->remaining -= k;
    f->raw_bytes += k;
    return STEP_PROGRESS;
}

/* Copies the next line of acc (up to LINE_MAX_BYTES) into line. Returns its length with the
 * LF (*content receives the length without CR LF), 0 when incomplete, -1 when too long, -2
 * when a CR is not followed by LF. */
static long next_line(struct httpframe *f, char *line, size_t *content)
{
    size_t avail = evbuffer_get_length(f->acc);
    size_t n = avail < LINE_MAX_BYTES ? avail : LINE_MAX_BYTES;
    if (evbuffer_copyout(f->acc, line, n) != (ev_ssize_t)n)
        return -1;
    const char *lf = memchr(line, '\n', n);
    if (lf == NULL)
        return avail >= LINE_MAX_BYTES ? -1 : 0;
    size_t i = (size_t)(lf - line);
    size_t c = i > 0 && line[i - 1] == '\r' ? i - 1 : i;
    if (memchr(line, '\r', c) != NULL)
        return -2;
    *content = c;
    return (long)(i + 1);
}

static enum step framing_error(struct httpframe *f, uint64_t offset, const char *reason,
                               struct evbuffer *out)
{
    struct ferr e;
    bad_request(&e, offset, 0, reason);
    return emit_error_cur(f, &e, out) == 0 ? STEP_PROGRESS : STEP_CLOSE;
}

/* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val token or
 * quoted-string. Returns 0 when s[0..n) is a valid (possibly empty) extension list. */
static int chunk_ext_valid(const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        while (i < n && is_ows((unsigned char)s[i]))
            i++;
        if (i == n)
            return 0;
        if (s[i++] != ';')
            return -1;
        while (i < n && is_ows((unsigned char)s[i]))
            i++;
        size_t ns = i;
        while (i < n && http_tchar((unsigned char)s[i]))
            i++;
        if (i == ns)
            return -1;
        size_t j = i;
        while (j < n && is_ows((unsigned char)s[j]))
            j++;
        if (j < n && s[j] == '=') {
            i = j + 1;
            while (i < n && is_ows((unsigned char)s[i]))
                i++;
            if (i < n && s[i] == '"') {
                i++;
                for (;;) {
                    if (i >= n)
                        return -1;
                    unsigned char c = (unsigned char)s[i];
                    if (c == '"') {
                        i++;
                        break;
                    }
                    if (c == '\\') {
                        if (i + 1 >= n || !is_value_char((unsigned char)s[i + 1]))
                            return -1;
                        i += 2;
                    } else if (!is_value_char(c)) {
                        return -1;
                    } else {
                        i++;
                    }
                }
            } else {
                size_t vs = i;
                while (i < n && http_tchar((unsigned char)s[i]))
                    i++;
                if (i == vs)
                    return -1;
            }
        }
    }
}

static enum step step_chunk_line(struct httpframe *f, struct evbuffer *out)
{
    char line[LINE_MAX_BYTES];
    size_t c = 0;
    long ll = next_line(f, line, &c);
    if (ll == 0)
        return STEP_WAIT;
    if (ll < 0)
        return framing_error(f, f->raw_bytes,
                             ll == -1 ? "chunk-size line too long" : "CR not followed by LF", out);
    uint64_t size = 0;
    size_t i = 0;
    while (i < c && hex_value((unsigned char)line[i]) >= 0) {
        /* checked before the shift: 17 hex digits must not wrap around to a last-chunk 0 */
        if (size > MAX_CHUNK / 16)
            return framing_error(f, f->raw_bytes, "chunk size out of range", out);
        size = size * 16 + (uint64_t)hex_value((unsigned char)line[i]);
        i++;
    }
    if (i == 0)
        return framing_error(f, f->raw_bytes, "chunk-size line does not start with hex digits",
                             out);
    if (chunk_ext_valid(line + i, c - i) != 0)
        return framing_error(f, f->raw_bytes + i, "malformed chunk extension", out);
    evbuffer_drain(f->acc, (size_t)ll);
    f->raw_bytes += (uint64_t)ll;
    if (f->discard) {
        f->dropped += (uint64_t)ll;
        if (f->dropped > f->max_drain)
            return emit_too_large(f, f->body_bytes, out) == 0 ? STEP_PROGRESS : STEP_CLOSE;
    }
    if (size == 0) {
        f->st = FS_TRAILER;
        return STEP_PROGRESS;
    }
    if (!f->discard && size > f->limit - f->body_bytes && f->streaming) {
        /* the taker answers 413; the rest is read and dropped meanwhile */
        f->stream_err = API_PAYLOAD_TOO_LARGE;
        f->stream_err_detail = json_pack(
            "{s:I, s:I}", "limit", (json_int_t)f->limit, "received",
            (json_int_t)(f->body_bytes + size < f->body_bytes ? UINT64_MAX : f->body_bytes + size));
        f->discard = 1;
        release_place(f);
    } else if (!f->discard && size > f->limit - f->body_bytes) {
        /* over the limit: drop what was held and read the rest to discard it */
        f->discard = 1;
        f->dropped += evbuffer_get_length(f->req);
        evbuffer_drain(f->req, evbuffer_get_length(f->req));
    }
    f->body_bytes = f->body_bytes + size < f->body_bytes ? UINT64_MAX : f->body_bytes + size;
    if (!f->discard && !f->streaming &&
        evbuffer_add_printf(f->req, "%llx\r\n", (unsigned long long)size) < 0)
        return STEP_CLOSE;
    f->remaining = size;
    f->st = FS_CHUNK_DATA;
    return STEP_PROGRESS;
}

static enum step step_chunk_crlf(struct httpframe *f, struct evbuffer *out)
{
    size_t avail = evbuffer_get_length(f->acc);
    unsigned char two[2];
    if (avail == 0)
        return STEP_WAIT;
    evbuffer_copyout(f->acc, two, avail >= 2 ? 2 : 1);
    size_t k;
    if (two[0] == '\n')
        k = 1;
    else if (two[0] == '\r' && avail < 2)
        return STEP_WAIT;
    else if (two[0] == '\r' && two[1] == '\n')
        k = 2;
    else
        return framing_error(f, f->raw_bytes, "chunk data not followed by CRLF", out);
    evbuffer_drain(f->acc, k);
    f->raw_bytes += k;
    if (f->discard)
        f->dropped += k;
    else if (!f->streaming && evbuffer_add(f->req, "\r\n", 2) != 0)
        return STEP_CLOSE;
    f->st = FS_CHUNK_LINE;
    return STEP_PROGRESS;
}

static enum step step_trailer(struct httpframe *f, struct evbuffer *out)
{
    char line[LINE_MAX_BYTES];
    size_t c = 0;
    long ll = next_line(f, line, &c);
    if (ll == 0)
        return STEP_WAIT;
    if (ll == -2)
        return framing_error(f, f->raw_bytes, "CR not followed by LF", out);
    if (ll == -1 || f->trailer_bytes + (size_t)ll > f->max_head) {
        struct ferr e;
        json_t *d = json_object();
        if (d != NULL)
            json_object_set_new(d, "limit", json_integer((json_int_t)f->max_head));
        set_err(&e, API_HEADER_TOO_LARGE, d);
        return emit_error_cur(f, &e, out) == 0 ? STEP_PROGRESS : STEP_CLOSE;
    }
    if (c > 0) { /* a trailer field: checked, then dropped */
        size_t k = 0;
        while (k < c && http_tchar((unsigned char)line[k]))
            k++;
        if (k == 0 || k == c || line[k] != ':')
            return framing_error(f, f->raw_bytes, "malformed trailer field", out);
        for (size_t j = k + 1; j < c; j++)
            if (!is_value_char((unsigned char)line[j]))
                return framing_error(f, f->raw_bytes + j, "control character in a trailer", out);
    }
    evbuffer_drain(f->acc, (size_t)ll);
    f->raw_bytes += (uint64_t)ll;
    f->trailer_bytes += (size_t)ll;
    if (c > 0)
        return STEP_PROGRESS;
    if (!f->discard && !f->streaming && evbuffer_add(f->req, "0\r\n\r\n", 5) != 0)
        return STEP_CLOSE;
    if (f->streaming && f->discard) { /* over the limit: stream_err says so */
        f->st = FS_DEAD;
        return STEP_PROGRESS;
    }
    return finish_request(f, out) == 0 ? STEP_PROGRESS : STEP_CLOSE;
}

enum httpframe_status httpframe_process(struct httpframe *f, struct evbuffer *in,
                                        struct evbuffer *out, struct evbuffer *to_client)
{
    size_t out_before = evbuffer_get_length(out);
    if (f->st == FS_DEAD) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return HTTPFRAME_NEED_MORE;
    }
    if (evbuffer_add_buffer(f->acc, in) != 0)
        return HTTPFRAME_CLOSE;
    enum step s = STEP_PROGRESS;
    while (s == STEP_PROGRESS) {
        switch (f->st) {
        case FS_HEAD:
            s = step_head(f, out, to_client);
            break;
        case FS_BODY:
            s = step_data(f, out);
            if (s == STEP_PROGRESS && f->st == FS_BODY && f->remaining == 0 &&
                finish_request(f, out) != 0)
                s = STEP_CLOSE;
            break;
        case FS_CHUNK_LINE:
            s = step_chunk_line(f, out);
            break;
        case FS_CHUNK_DATA:
            s = step_data(f, out);
            if (s == STEP_PROGRESS && f->st == FS_CHUNK_DATA && f->remaining == 0)
                f->st = FS_CHUNK_CRLF;
            break;
        case FS_CHUNK_CRLF:
            s = step_chunk_crlf(f, out);
            break;
        case FS_TRAILER:
            s = step_trailer(f, out);
            break;
        case FS_PASS: {
            size_t n = evbuffer_get_length(f->acc);
            if (n > 0 && evbuffer_add_buffer(out, f->acc) != 0)
                return HTTPFRAME_CLOSE;
            f->stats.passthrough_bytes += n;
            s = STEP_WAIT;
            break;
        }
        case FS_DEAD:
            evbuffer_drain(f->acc, evbuffer_get_length(f->acc));
            s = STEP_WAIT;
            break;
        }
    }
    if (s == STEP_CLOSE) {
        evbuffer_drain(f->acc, evbuffer_get_length(f->acc));
        evbuffer_drain(f->req, evbuffer_get_length(f->req));
        f->st = FS_DEAD;
        return HTTPFRAME_CLOSE;
    }
    return evbuffer_get_length(out) > out_before ? HTTPFRAME_OK : HTTPFRAME_NEED_MORE;
}

/* ---- lifecycle and helpers -------------------------------------------------------------- */

struct httpframe *httpframe_new(const struct httpframe_config *cfg)
{
    if (cfg == NULL || cfg->secret == NULL)
        return NULL;
    size_t sl = strlen(cfg->secret);
    if (sl == 0 || sl > HTTPFRAME_MAX_SECRET)
        return NULL;
    for (size_t i = 0; i < sl; i++)
        if ((unsigned char)cfg->secret[i] <= 0x20 || (unsigned char)cfg->secret[i] >= 0x7f)
            return NULL;
    struct httpframe *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    memcpy(f->secret, cfg->secret, sl + 1);
    f->max_head = cfg->max_head_bytes ? cfg->max_head_bytes : HTTPFRAME_DEFAULT_MAX_HEAD;
    if (f->max_head > ((size_t)16 << 20)) /* pulled up into one piece of memory */
        f->max_head = (size_t)16 << 20;
    f->max_drain = cfg->max_drain_bytes ? cfg->max_drain_bytes : HTTPFRAME_DEFAULT_MAX_DRAIN;
    f->limit_fn = cfg->body_limit;
    f->admit_fn = cfg->admit;
    f->release_fn = cfg->release;
    f->arg = cfg->arg;
    f->acc = evbuffer_new();
    f->req = evbuffer_new();
    f->stream = evbuffer_new();
    f->stream_err = API_ERROR_COUNT;
    if (f->acc == NULL || f->req == NULL || f->stream == NULL) {
        httpframe_free(f);
        return NULL;
    }
    f->st = FS_HEAD;
    return f;
}

void httpframe_free(struct httpframe *f)
{
    if (f == NULL)
        return;
    release_place(f);
    if (f->acc)
        evbuffer_free(f->acc);
    if (f->req)
        evbuffer_free(f->req);
    if (f->stream)
        evbuffer_free(f->stream);
    json_decref(f->stream_err_detail);
    buf_free(&f->method);
    buf_free(&f->target);
    free(f);
}

int httpframe_streaming(const struct httpframe *f)
{
    return f->streaming;
}

enum httpframe_stream httpframe_stream_state(const struct httpframe *f, enum api_error *err,
                                             json_t **detail)
{
    if (f->stream_err != API_ERROR_COUNT) {
        if (err != NULL)
            *err = f->stream_err;
        if (detail != NULL)
            *detail = json_incref(f->stream_err_detail);
        return HTTPFRAME_STREAM_FAILED;
    }
    return f->stream_done ? HTTPFRAME_STREAM_DONE : HTTPFRAME_STREAM_MORE;
}

struct evbuffer *httpframe_stream_buffer(struct httpframe *f)
{
    return f->stream;
}

int httpframe_stream_resume(struct httpframe *f)
{
    int owed = f->stream_expect && !f->stream_done && f->stream_err == API_ERROR_COUNT;
    f->stream_paused = 0;
    f->stream_expect = 0;
    return owed;
}

void httpframe_stream_discard(struct httpframe *f)
{
    int awaits_continue = f->stream_expect;
    f->stream_paused = 0;
    f->stream_expect = 0;
    if (awaits_continue && f->streaming) {
        /* the client waits for our word before it sends the body: it gets the answer
         * instead, and must not send it (what it sends anyway is dropped) */
        f->discard = 1;
        f->st = FS_DEAD;
    } else if (!f->stream_done && f->stream_err == API_ERROR_COUNT) {
        f->discard = 1;
    }
    release_place(f);
    evbuffer_drain(f->stream, evbuffer_get_length(f->stream));
}

int httpframe_body_read(const struct httpframe *f)
{
    return f->streaming && f->st == FS_DEAD;
}

int httpframe_wants_input(const struct httpframe *f)
{
    if (!f->streaming || f->discard || f->st == FS_DEAD)
        return 1;
    return !f->stream_paused && evbuffer_get_length(f->stream) < HTTPFRAME_STREAM_HIGH;
}

void httpframe_get_stats(const struct httpframe *f, struct httpframe_stats *st)
{
    *st = f->stats;
}

int httpframe_parse_error_header(const char *value, const char *secret, int *status, char *code,
                                 size_t codesz)
{
    if (value == NULL || secret == NULL || code == NULL || codesz == 0)
        return -1;
    size_t sl = strlen(secret);
    const char *sp = strchr(value, ' ');
    if (sl == 0 || sp == NULL)
        return -1;
    size_t vl = (size_t)(sp - value);
    /* compare the full secret length whatever the value's length; the result depends on
     * both the bytes and the length matching */
    int diff = vl != sl;
    char given[HTTPFRAME_MAX_SECRET];
    if (sl > sizeof given)
        return -1;
    memset(given, 0, sizeof given);
    memcpy(given, value, vl < sl ? vl : sl);
    diff |= ct_memcmp(given, secret, sl) != 0;
    if (diff)
        return -1;
    const char *p = sp + 1;
    if (p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
        p[3] != ' ')
        return -1;
    int st = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    p += 4;
    size_t cl = 0;
    while ((p[cl] >= 'a' && p[cl] <= 'z') || p[cl] == '_')
        cl++;
    if (cl == 0 || p[cl] != '\0' || cl >= codesz)
        return -1;
    memcpy(code, p, cl);
    code[cl] = '\0';
    *status = st;
    return 0;
}

json_t *httpframe_decode_detail(const char *value)
{
    if (value == NULL)
        return NULL;
    size_t n = strlen(value);
    char *d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (value[i] == '%') {
            if (i + 2 >= n || hex_value((unsigned char)value[i + 1]) < 0 ||
                hex_value((unsigned char)value[i + 2]) < 0) {
                free(d);
                return NULL;
            }
            d[o++] = (char)(hex_value((unsigned char)value[i + 1]) * 16 +
                            hex_value((unsigned char)value[i + 2]));
            i += 2;
        } else {
            d[o++] = value[i];
        }
    }
    json_t *j = json_loadb(d, o, JSON_REJECT_DUPLICATES, NULL);
    free(d);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}
