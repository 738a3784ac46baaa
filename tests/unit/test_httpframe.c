/* Unit tests for gateway/httpframe.c, ending with the framer wired into a real evhttp as
 * a bufferevent filter (the way the gateway uses it). */

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "conn.h"
#include "core/array.h"
#include "core/buf.h"
#include "httpframe.h"
#include "unit.h"

#define SECRET "0123456789abcdef0123456789abcdef"

/* Body limit: 1 MiB under /upload, else *(size_t *)arg. */
static size_t limit_fn(void *arg, const char *method, size_t mlen, const char *target, size_t tlen)
{
    (void)method;
    (void)mlen;
    if (tlen >= 7 && memcmp(target, "/upload", 7) == 0)
        return (size_t)1 << 20;
    return *(size_t *)arg;
}

static size_t small_limit = 100;

/* A framer of config c with the test's body limit and secret. */
static struct httpframe *mk_with(struct httpframe_config *c)
{
    c->body_limit = limit_fn;
    c->arg = &small_limit;
    c->secret = SECRET;
    struct httpframe *f = httpframe_new(c);
    if (f == NULL)
        UNIT_FAIL("httpframe_new failed");
    return f;
}

static struct httpframe *mk(size_t max_head, size_t max_drain)
{
    struct httpframe_config c;
    memset(&c, 0, sizeof c);
    c.max_head_bytes = max_head;
    c.max_drain_bytes = max_drain;
    return mk_with(&c);
}

/* What a synthetic error request says. */
struct synth {
    char code[64], rl[256]; /* the error code; the request line */
    json_t *d;              /* the detail (run_free releases it) */
};

/* A framer (mk's limits), what it has written so far, and the synthetic error request in out
 * (synthetic()). */
struct run {
    struct httpframe *f;
    struct evbuffer *out, *to_client;
    enum httpframe_status last;
    int closed;
    size_t calls;
    struct synth sy;
};

static void run_init(struct run *r, size_t max_head, size_t max_drain)
{
    memset(r, 0, sizeof *r);
    r->f = mk(max_head, max_drain);
    r->out = evbuffer_new();
    r->to_client = evbuffer_new();
}

static void run_free(struct run *r)
{
    json_decref(r->sy.d);
    httpframe_free(r->f);
    evbuffer_free(r->out);
    evbuffer_free(r->to_client);
}

/* Feeds data in pieces of `step` bytes (0: all at once); checks that `in` is always consumed.
 * When boundaries is not NULL, out must only ever end at one of them (whole requests). */
static void feed(struct run *r, const char *data, size_t n, size_t step, const size_t *boundaries,
                 size_t nb)
{
    struct evbuffer *in = evbuffer_new();
    size_t o = 0;
    do {
        size_t k = step == 0 || n - o < step ? n - o : step;
        evbuffer_add(in, data + o, k);
        o += k;
        r->last = httpframe_process(r->f, in, r->out, r->to_client);
        r->calls++;
        if (evbuffer_get_length(in) != 0)
            UNIT_FAIL("process left %zu bytes in `in`", evbuffer_get_length(in));
        if (r->last == HTTPFRAME_CLOSE) {
            r->closed = 1;
            break;
        }
        if (boundaries != NULL) {
            size_t len = evbuffer_get_length(r->out);
            int ok = len == 0;
            for (size_t i = 0; i < nb; i++)
                ok |= len == boundaries[i];
            if (!ok)
                UNIT_FAIL("out holds %zu bytes after %zu fed: not a request boundary", len, o);
        }
    } while (o < n);
    evbuffer_free(in);
}

/* out as a C string (copied; caller frees) */
static char *str(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    evbuffer_copyout(b, s, n);
    s[n] = '\0';
    return s;
}

/* Fed to a new framer in pieces of every size from 0 (all at once) to max_step, in comes
 * out as want each time (whole requests only, when boundaries is not NULL). */
static void check_output(const char *in, const char *want, size_t max_step,
                         const size_t *boundaries, size_t nb)
{
    for (size_t step = 0; step <= max_step; step++) {
        struct run r;
        run_init(&r, 0, 0);
        feed(&r, in, strlen(in), step, boundaries, nb);
        char *s = str(r.out);
        if (strcmp(s, want) != 0)
            UNIT_FAIL("step %zu: got %s", step, s);
        free(s);
        run_free(&r);
    }
}

/* Feeds the request built in req (emptied after) in pieces of step bytes. */
static void feed_buf(struct run *r, struct buf *req, size_t step)
{
    feed(r, req->data, req->len, step, NULL, 0);
    buf_free(req);
}


/* An integer of the detail of the synthetic request synthetic() read. */
static long long detail_int(const struct run *r, const char *key)
{
    return json_integer_value(json_object_get(r->sy.d, key));
}

/* Checks r->out holds exactly one synthetic error request and returns its status; r->sy says
 * the rest. */
static int synthetic(struct run *r)
{
    static const char tail_lit[] = "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    struct synth *sy = &r->sy;
    char *s = str(r->out);
    int status = -1;
    json_decref(sy->d);
    sy->d = NULL;
    sy->code[0] = '\0';
    sy->rl[0] = '\0';
    char *eol = strstr(s, "\r\n");
    char *h = strstr(s, "\r\nX-Aiops-Frame-Error: ");
    char *d = strstr(s, "\r\nX-Aiops-Frame-Detail: ");
    char *tail = strstr(s, tail_lit);
    if (eol == NULL || h == NULL || d == NULL || tail == NULL ||
        tail + sizeof tail_lit - 1 != s + strlen(s)) {
        UNIT_FAIL("not a synthetic request: %s", s);
        free(s);
        return -1;
    }
    snprintf(sy->rl, sizeof sy->rl, "%.*s", (int)(eol - s), s);
    char val[512];
    snprintf(val, sizeof val, "%.*s", (int)(d - h - 23), h + 23);
    if (httpframe_parse_error_header(val, SECRET, &status, sy->code, sizeof sy->code) != 0)
        UNIT_FAIL("bad X-Aiops-Frame-Error: %s", val);
    snprintf(val, sizeof val, "%.*s", (int)(tail - d - 24), d + 24);
    sy->d = httpframe_decode_detail(val);
    if (sy->d == NULL)
        UNIT_FAIL("bad X-Aiops-Frame-Detail: %s", val);
    free(s);
    return status;
}

static const char PIPE[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                           "POST /b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                           "GET /c HTTP/1.0\nHost: x\n\n"
                           "DELETE /d HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 00\r\n\r\n";

static void pipe_boundaries(size_t b[4])
{
    const char *p2 = strstr(PIPE, "POST"), *p3 = strstr(PIPE, "GET /c"),
               *p4 = strstr(PIPE, "DELETE");
    b[0] = (size_t)(p2 - PIPE);
    b[1] = (size_t)(p3 - PIPE);
    b[2] = (size_t)(p4 - PIPE);
    b[3] = strlen(PIPE);
}

static void test_pipelined_requests(void)
{
    size_t b[4];
    pipe_boundaries(b);
    struct run r;
    run_init(&r, 0, 0);
    feed(&r, PIPE, strlen(PIPE), 0, b, 4);
    char *s = str(r.out);
    CHECK_STR(s, PIPE); /* forwarded unchanged */
    free(s);
    CHECK_INT(r.last, HTTPFRAME_OK);
    CHECK_INT(evbuffer_get_length(r.to_client), 0);
    struct httpframe_stats st;
    httpframe_get_stats(r.f, &st);
    CHECK_INT(st.requests, 4);
    CHECK_INT(st.framed_bytes, strlen(PIPE));
    CHECK_INT(st.error_status, 0);
    run_free(&r);
}

static void test_split_at_every_byte(void)
{
    size_t b[4];
    pipe_boundaries(b);
    size_t n = strlen(PIPE);
    /* two pieces split at every point */
    for (size_t cut = 0; cut <= n; cut++) {
        struct run r;
        run_init(&r, 0, 0);
        feed(&r, PIPE, cut, 0, b, 4);
        feed(&r, PIPE + cut, n - cut, 0, b, 4);
        char *s = str(r.out);
        if (strcmp(s, PIPE) != 0)
            UNIT_FAIL("cut at %zu: output differs", cut);
        free(s);
        run_free(&r);
    }
    /* at once, and one byte at a time */
    check_output(PIPE, PIPE, 1, b, 4);
}

static void test_chunked_extensions_trailers(void)
{
    const char *in = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                     "5;name=val; q = \"a \\\" b\"\r\nhello\r\n"
                     "0A\n0123456789\n"
                     "000\r\nX-Trailer: 1\r\nX-Other:two\r\n\r\n"
                     "GET /next HTTP/1.1\r\n\r\n";
    const char *want = "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
                       "5\r\nhello\r\na\r\n0123456789\r\n0\r\n\r\n"
                       "GET /next HTTP/1.1\r\n\r\n";
    size_t b[2] = {strlen(want) - strlen("GET /next HTTP/1.1\r\n\r\n"), strlen(want)};
    check_output(in, want, 7, b, 2);
    /* malformed chunk framing */
    const char *bad[] = {"x\r\n",
                         "5;\r\nhello\r\n0\r\n\r\n",
                         "5 ;a=\"x\r\n",
                         "5\r\nhelloXX0\r\n\r\n",
                         "5\rx\r\n",
                         "+5\r\nhello\r\n0\r\n\r\n",
                         "10000000000000000\r\n",
                         "0\r\nbad trailer\r\n\r\n"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        struct buf req = BUF_INIT;
        buf_printf(&req, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%s", bad[i]);
        struct run r;
        run_init(&r, 0, 0);
        feed_buf(&r, &req, 0);
        int st = synthetic(&r);
        if (st != 400)
            UNIT_FAIL("case %zu: status %d", i, st);
        CHECK_STR(r.sy.code, "bad_request");
        CHECK_STR(r.sy.rl, "POST /x HTTP/1.1");
        CHECK(json_is_integer(json_object_get(r.sy.d, "offset")));
        run_free(&r);
    }
}

static void test_cl_te_conflict_and_te_forms(void)
{
    struct {
        const char *head, *code;
        int status;
    } cases[] = {
        {"POST /x HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
         "bad_request", 400},
        {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
         "bad_request", 400},
        {"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
         "unsupported_transfer_encoding", 400},
        {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
         "unsupported_transfer_encoding", 400},
        {"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
         "unsupported_transfer_encoding", 400},
        {"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "unsupported_transfer_encoding",
         400},
        {"POST /x HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "bad_request", 400},
        {"POST /x HTTP/1.1\r\nContent-Length: +5\r\n\r\n", "bad_request", 400},
        {"POST /x HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", "bad_request", 400},
        {"POST /x HTTP/1.1\r\nContent-Length:\r\n\r\n", "bad_request", 400},
        {"POST /x HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n", "bad_request", 400},
        {"HEAD /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "bad_request", 400},
        {"POST /x HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", "expectation_failed",
         417},
        {"POST /x HTTP/1.1\r\nX-Aiops-Frame-Error: " SECRET " 413 payload_too_large\r\n\r\n",
         "bad_request", 400},
        {"BREW /pot HTTP/1.1\r\n\r\n", "method_not_implemented", 501},
        {"TRACE / HTTP/1.1\r\n\r\n", "method_not_implemented", 501},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct run r;
        run_init(&r, 0, 0);
        feed(&r, cases[i].head, strlen(cases[i].head), 0, NULL, 0);
        int st = synthetic(&r);
        if (st != cases[i].status || strcmp(r.sy.code, cases[i].code) != 0)
            UNIT_FAIL("case %zu: %d %s, expected %d %s", i, st, r.sy.code, cases[i].status,
                      cases[i].code);
        /* the connection is dead: nothing more passes */
        size_t before = evbuffer_get_length(r.out);
        feed(&r, "GET / HTTP/1.1\r\n\r\n", 18, 0, NULL, 0);
        CHECK_INT(evbuffer_get_length(r.out), before);
        CHECK_INT(r.last, HTTPFRAME_NEED_MORE);
        run_free(&r);
    }
    /* the 501 keeps the target but not the method; HEAD with a body keeps both */
    struct run r;
    run_init(&r, 0, 0);
    feed(&r, "BREW /pot?x HTTP/1.1\r\n\r\n", 24, 0, NULL, 0);
    CHECK_INT(synthetic(&r), 501);
    CHECK_STR(r.sy.rl, "GET /pot?x HTTP/1.1");
    CHECK_STR(json_string_value(json_object_get(r.sy.d, "method")), "BREW");
    run_free(&r);
}

static void test_expect_100_continue(void)
{
    const char *head =
        "PUT /upload/x HTTP/1.1\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n";
    struct run r;
    run_init(&r, 0, 0);
    feed(&r, head, strlen(head), 0, NULL, 0);
    char *s = str(r.to_client);
    CHECK_STR(s, "HTTP/1.1 100 Continue\r\n\r\n");
    free(s);
    CHECK_INT(evbuffer_get_length(r.out), 0);
    CHECK_INT(r.last, HTTPFRAME_NEED_MORE);
    feed(&r, "01234", 5, 0, NULL, 0);
    CHECK_INT(evbuffer_get_length(r.out), 0);
    feed(&r, "56789", 5, 0, NULL, 0);
    CHECK_INT(r.last, HTTPFRAME_OK);
    CHECK_INT(evbuffer_get_length(r.out), strlen(head) + 10);
    CHECK_INT(evbuffer_get_length(r.to_client), 25); /* only once */
    run_free(&r);

    /* no 100 for a request without a body, nor for HTTP/1.0 */
    const char *h0 = "GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n"
                     "POST /y HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nz";
    run_init(&r, 0, 0);
    feed(&r, h0, strlen(h0), 0, NULL, 0);
    CHECK_INT(evbuffer_get_length(r.to_client), 0);
    CHECK_INT(evbuffer_get_length(r.out), strlen(h0));
    run_free(&r);
}

static void test_over_limit_with_expect(void)
{
    const char *head = "POST /small?a=b HTTP/1.1\r\nContent-Length: 101\r\n"
                       "Expect: 100-continue\r\n\r\n";
    struct run r;
    run_init(&r, 0, 0);
    feed(&r, head, strlen(head), 0, NULL, 0);
    CHECK_INT(evbuffer_get_length(r.to_client), 0); /* no 100: the answer is 413 at once */
    CHECK_INT(r.last, HTTPFRAME_OK);
    CHECK_INT(synthetic(&r), 413);
    CHECK_STR(r.sy.code, "payload_too_large");
    CHECK_STR(r.sy.rl, "POST /small?a=b HTTP/1.1");
    CHECK_INT(detail_int(&r, "limit"), 100);
    CHECK_INT(detail_int(&r, "received"), 101);
    size_t before = evbuffer_get_length(r.out);
    char body[101];
    memset(body, 'b', sizeof body);
    feed(&r, body, sizeof body, 0, NULL, 0);
    CHECK_INT(evbuffer_get_length(r.out), before);
    run_free(&r);
}

static void test_over_limit_without_expect(void)
{
    /* Content-Length: the body is read and dropped, then the 413 */
    struct run r;
    run_init(&r, 0, 1000);
    const char *head = "POST /small HTTP/1.1\r\nContent-Length: 500\r\n\r\n";
    feed(&r, head, strlen(head), 0, NULL, 0);
    char body[500];
    memset(body, 'x', sizeof body);
    feed(&r, body, 499, 0, NULL, 0);
    CHECK_INT(evbuffer_get_length(r.out), 0);
    CHECK_INT(r.last, HTTPFRAME_NEED_MORE);
    feed(&r, body, 1, 0, NULL, 0);
    CHECK_INT(r.last, HTTPFRAME_OK);
    CHECK_INT(synthetic(&r), 413);
    CHECK_INT(detail_int(&r, "received"), 500);
    run_free(&r);

    /* beyond max_drain: the 413 at once, nothing is read */
    run_init(&r, 0, 1000);
    const char *h2 = "POST /small HTTP/1.1\r\nContent-Length: 1001\r\n\r\n";
    feed(&r, h2, strlen(h2), 0, NULL, 0);
    CHECK_INT(r.closed, 0);
    CHECK_INT(r.last, HTTPFRAME_OK);
    CHECK_INT(synthetic(&r), 413);
    CHECK_INT(detail_int(&r, "received"), 1001);
    run_free(&r);

    /* chunked: the limit is found mid-body; the rest is discarded, then 413 */
    run_init(&r, 0, 1000);
    struct buf req = BUF_INIT;
    buf_puts(&req, "PATCH /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 12; i++)
        buf_puts(&req, "a\r\n0123456789\r\n");
    buf_puts(&req, "0\r\nT: 1\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
    feed_buf(&r, &req, 3);
    CHECK_INT(synthetic(&r), 413);
    CHECK_STR(r.sy.rl, "PATCH /small HTTP/1.1");
    CHECK_INT(detail_int(&r, "received"), 120);
    run_free(&r);

    /* chunked beyond max_drain: the 413 as soon as the drain passes it */
    run_init(&r, 0, 200);
    buf_puts(&req, "POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 30; i++)
        buf_puts(&req, "a\r\n0123456789\r\n");
    feed_buf(&r, &req, 0);
    CHECK_INT(r.closed, 0);
    CHECK_INT(synthetic(&r), 413);
    CHECK(detail_int(&r, "received") < 300);
    run_free(&r);
}

static void test_header_too_large(void)
{
    struct run r;
    run_init(&r, 1024, 0);
    struct buf req = BUF_INIT;
    buf_puts(&req, "GET /big HTTP/1.1\r\n");
    while (req.len < 1100)
        buf_puts(&req, "X-Filler: 0123456789012345678901234567890123456789\r\n");
    feed_buf(&r, &req, 100);
    CHECK_INT(synthetic(&r), 431);
    CHECK_STR(r.sy.code, "header_too_large");
    CHECK_STR(r.sy.rl, "GET /big HTTP/1.1");
    CHECK_INT(detail_int(&r, "limit"), 1024);
    run_free(&r);

    /* exactly at the limit passes */
    run_init(&r, 64, 0);
    buf_puts(&req, "GET / HTTP/1.1\r\nX: ");
    while (req.len < 60)
        buf_putc(&req, 'v');
    buf_puts(&req, "\r\n\r\n");
    CHECK_INT(req.len, 64);
    feed_buf(&r, &req, 0);
    CHECK_INT(evbuffer_get_length(r.out), 64);
    run_free(&r);

    /* a request line alone over the limit: GET / in the synthetic request */
    run_init(&r, 64, 0);
    buf_puts(&req, "GET /");
    while (req.len < 100)
        buf_putc(&req, 'a');
    feed_buf(&r, &req, 0);
    CHECK_INT(synthetic(&r), 431);
    CHECK_STR(r.sy.rl, "GET / HTTP/1.1");
    run_free(&r);
}

static void test_bad_version_and_request_line(void)
{
    struct {
        const char *req, *code, *rl;
        int status;
    } cases[] = {
        {"GET /v HTTP/2.0\r\n\r\n", "http_version_not_supported", "GET /v HTTP/1.1", 505},
        {"POST /v HTTP/1.2\r\nContent-Length: 3\r\n\r\nabc", "http_version_not_supported",
         "POST /v HTTP/1.1", 505},
        {"GET /v HTTP/0.9\r\n\r\n", "http_version_not_supported", "GET /v HTTP/1.1", 505},
        {"GET /v HTTX/1.1\r\n\r\n", "bad_request", "GET / HTTP/1.1", 400},
        {"GET /v HTTP/1.1 \r\n\r\n", "bad_request", "GET / HTTP/1.1", 400},
        {"GET  /v HTTP/1.1\r\n\r\n", "bad_request", "GET / HTTP/1.1", 400},
        {"GET /a b HTTP/1.1\r\n\r\n", "bad_request", "GET / HTTP/1.1", 400},
        {"GET /a\x01 HTTP/1.1\r\n\r\n", "bad_request", "GET / HTTP/1.1", 400},
        {"G(T / HTTP/1.1\r\n\r\n", "bad_request", "GET / HTTP/1.1", 400},
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "bad_request", "GET / HTTP/1.1", 400},
        {"GET /x HTTP/1.1\r\nHost : a\r\n\r\n", "bad_request", "GET /x HTTP/1.1", 400},
        {"GET /x HTTP/1.1\r\n: a\r\n\r\n", "bad_request", "GET /x HTTP/1.1", 400},
        {"GET /x HTTP/1.1\r\nNoColon\r\n\r\n", "bad_request", "GET /x HTTP/1.1", 400},
        {"GET /x HTTP/1.1\r\nX: a\x7f\r\n\r\n", "bad_request", "GET /x HTTP/1.1", 400},
        {"GET /x HTTP/1.1\r\nX: a\0b\r\n\r\n", "bad_request", "GET /x HTTP/1.1", 400},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct run r;
        run_init(&r, 0, 0);
        size_t n = strlen(cases[i].req);
        if (i == ARRAY_LEN(cases) - 1)
            n = 27; /* the one with an embedded NUL */
        feed(&r, cases[i].req, n, 0, NULL, 0);
        int st = synthetic(&r);
        if (st != cases[i].status || strcmp(r.sy.code, cases[i].code) != 0 ||
            strcmp(r.sy.rl, cases[i].rl) != 0)
            UNIT_FAIL("case %zu: %d %s [%s]", i, st, r.sy.code, r.sy.rl);
        run_free(&r);
    }
}

static void test_obs_fold_position(void)
{
    const char *req = "GET /f HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  continued\r\n\r\n";
    struct run r;
    run_init(&r, 0, 0);
    feed(&r, req, strlen(req), 0, NULL, 0);
    CHECK_INT(synthetic(&r), 400);
    CHECK_INT(detail_int(&r, "line"), 4);
    CHECK_INT(detail_int(&r, "offset"), strstr(req, "  cont") - req);
    CHECK_STR(json_string_value(json_object_get(r.sy.d, "reason")), "obsolete line folding");
    run_free(&r);
}

static void test_leading_empty_lines_and_lf(void)
{
    const char *in = "\r\n\n\r\nGET /a HTTP/1.1\nHost: x\n\n\r\nGET /b HTTP/1.1\r\n\r\n";
    const char *want = "GET /a HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\r\n\r\n";
    check_output(in, want, 3, NULL, 0);
}

static void test_upgrade_passthrough(void)
{
    static const char in[] =
        "GET /ws/performance HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
        "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" /* masked "Hello" */
        "GET /not-http HTTP/9.9\r\n\x00\xff";
    size_t n = sizeof in - 1;
    size_t head = (size_t)(strstr(in, "\r\n\r\n") - in) + 4;
    for (size_t step = 0; step <= 5; step++) {
        struct run r;
        run_init(&r, 0, 0);
        feed(&r, in, n, step, NULL, 0);
        CHECK_INT(evbuffer_get_length(r.out), n);
        char *s = malloc(n);
        evbuffer_copyout(r.out, s, n);
        CHECK_MEM(s, n, in, n);
        free(s);
        struct httpframe_stats st;
        httpframe_get_stats(r.f, &st);
        CHECK_INT(st.passthrough, 1);
        CHECK_INT(st.requests, 1);
        CHECK_INT(st.framed_bytes, head);
        CHECK_INT(st.passthrough_bytes, n - head);
        run_free(&r);
    }
}

static void test_error_header_helpers(void)
{
    int st = 0;
    char code[32];
    CHECK_INT(httpframe_parse_error_header(SECRET " 413 payload_too_large", SECRET, &st, code,
                                           sizeof code),
              0);
    CHECK_INT(st, 413);
    CHECK_STR(code, "payload_too_large");
    const char *bad[] = {"0123456789abcdef0123456789abcdeX 413 payload_too_large",
                         "0123456789abcdef0123456789abcde 413 payload_too_large",
                         "0123456789abcdef0123456789abcdef0 413 payload_too_large",
                         SECRET " 41 payload_too_large",
                         SECRET " 413",
                         SECRET " 413 ",
                         SECRET " 413 Bad",
                         SECRET " 413 payload_too_large extra",
                         SECRET,
                         "",
                         " 413 x"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        if (httpframe_parse_error_header(bad[i], SECRET, &st, code, sizeof code) != -1)
            UNIT_FAIL("accepted: %s", bad[i]);
    char tiny[5];
    CHECK_INT(
        httpframe_parse_error_header(SECRET " 400 bad_request", SECRET, &st, tiny, sizeof tiny),
        -1);

    json_t *j = httpframe_decode_detail("{\"reason\":\"a%20b%25\",\"line\":2}");
    CHECK(j != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "reason")), "a b%");
    json_decref(j);
    CHECK(httpframe_decode_detail("[1]") == NULL);
    CHECK(httpframe_decode_detail("{\"a\":1}%2") == NULL);
    CHECK(httpframe_decode_detail("{\"a\":1}%zz") == NULL);

    struct httpframe_config c;
    memset(&c, 0, sizeof c);
    CHECK(httpframe_new(&c) == NULL);
    c.secret = "has space";
    CHECK(httpframe_new(&c) == NULL);
    c.secret = "";
    CHECK(httpframe_new(&c) == NULL);
}

/* ---- the framer as evhttp's bufferevent filter -------------------------------------- */

struct seen {
    int n;
    char what[16][160];
    struct event_base *base;
};

/* The gateway's own connection wiring (gateway/conn.c): framer on input, direct writes on
 * output, so that the answer on a closing connection reaches the client. */
static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
    (void)arg;
    return conn_bev_new(base, limit_fn, NULL, NULL, &small_limit, SECRET);
}

static void on_req(struct evhttp_request *req, void *arg)
{
    struct seen *s = arg;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *fe = evhttp_find_header(h, "X-Aiops-Frame-Error");
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t bl = evbuffer_get_length(body);
    char b[64] = "";
    evbuffer_copyout(body, b, bl < 63 ? bl : 63);
    int status = 0;
    char code[40] = "";
    if (fe != NULL)
        httpframe_parse_error_header(fe, SECRET, &status, code, sizeof code);
    if (s->n < 16)
        snprintf(s->what[s->n++], sizeof s->what[0], "%s %s [%s] %d %s",
                 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "OTHER",
                 evhttp_request_get_uri(req), b, status, code);
    struct evhttp_connection *con = evhttp_request_get_connection(req);
    evhttp_send_reply(req, fe ? status : 200, "X", NULL);
    /* as the gateway does (see conn.h) */
    bufferevent_flush(evhttp_connection_get_bufferevent(con), EV_WRITE, BEV_NORMAL);
}

static void test_evhttp_filter_integration(void)
{
    struct seen s;
    memset(&s, 0, sizeof s);
    s.base = event_base_new();
    struct evhttp *http = evhttp_new(s.base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_PATCH);
    evhttp_set_gencb(http, on_req, &s);
    evhttp_set_bevcb(http, bevcb, NULL);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    CHECK(bs != NULL);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &sl);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_INT(connect(fd, (struct sockaddr *)&sa, sl), 0);
    /* chunk extensions and a trailer (evhttp 2.1 alone rejects the first and merges the
     * second), a leading CRLF (evhttp alone answers 400), then an over-limit body */
    static const char reqs[] =
        "\r\nPOST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
        "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 150\r\n\r\n";
    CHECK_INT(write(fd, reqs, sizeof reqs - 1), (ssize_t)(sizeof reqs - 1));
    char body[150];
    memset(body, 'z', sizeof body);
    CHECK_INT(write(fd, body, sizeof body), (ssize_t)sizeof body);
    for (int i = 0; i < 2000 && s.n < 3; i++) { /* up to 2 s on a loaded machine */
        event_base_loop(s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    CHECK_INT(s.n, 3);
    CHECK_STR(s.what[0], "POST /a [abcde] 0 ");
    CHECK_STR(s.what[1], "POST /b [hi] 0 ");
    CHECK_STR(s.what[2], "POST /c [] 413 payload_too_large");
    /* the client sees three answers, the last one 413 */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    char resp[4096];
    size_t got = 0;
    for (int i = 0; i < 2000; i++) { /* until the server closes, or 2 s */
        event_base_loop(s.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        ssize_t k = read(fd, resp + got, sizeof resp - 1 - got);
        if (k > 0)
            got += (size_t)k;
        else if (k == 0)
            break;
        usleep(1000);
    }
    resp[got] = '\0';
    if (strstr(resp, "HTTP/1.1 413 X") == NULL)
        UNIT_FAIL("responses: %s", resp);
    CHECK(strstr(resp, "HTTP/1.1 200 X") != NULL);
    close(fd);
    struct timeval tv = {0, 100000};
    event_base_loopexit(s.base, &tv);
    event_base_dispatch(s.base);
    evhttp_free(http);
    event_base_free(s.base);
}

/* --- admission and streamed bodies ------------------------------------------------------ */

/* Admits what is under /upload while `places` last; counts the releases. */
static int places, releases;
static int admit_fn(void *arg, const char *method, size_t mlen, const char *target, size_t tlen)
{
    (void)arg;
    (void)method;
    (void)mlen;
    if (!(tlen >= 7 && memcmp(target, "/upload", 7) == 0))
        return 0;
    if (places == 0)
        return -1;
    places--;
    return 1;
}
static void release_fn(void *arg)
{
    (void)arg;
    releases++;
}

static struct httpframe *mk_admitting(void)
{
    struct httpframe_config c;
    memset(&c, 0, sizeof c);
    c.admit = admit_fn;
    c.release = release_fn;
    return mk_with(&c);
}

/* A run whose framer asks admit_fn before streaming an upload's body. */
static void run_init_admitting(struct run *r)
{
    run_init(r, 0, 0);
    httpframe_free(r->f);
    r->f = mk_admitting();
}

static void test_streamed_body(void)
{
    places = 1;
    releases = 0;
    struct run r;
    run_init_admitting(&r);
    const char *head = "POST /upload?x=1 HTTP/1.1\r\nHost: h\r\ntransfer-encoding: chunked\r\n"
                       "Expect: 100-continue\r\nX-Other: 1\r\n\r\n";
    feed(&r, head, strlen(head), 0, NULL, 0);
    /* the head goes on at once, without its framing; the place is the request's now */
    char *s = str(r.out);
    CHECK_STR(s, "POST /upload?x=1 HTTP/1.1\r\nHost: h\r\nX-Other: 1\r\n"
                 "Content-Length: 0\r\nX-Aiops-Frame-Stream: 1\r\n\r\n");
    free(s);
    CHECK_INT(releases, 1);
    CHECK_INT(httpframe_streaming(r.f), 1);
    CHECK_INT(evbuffer_get_length(r.to_client), 0); /* no 100 before it is asked for */
    CHECK_INT(httpframe_wants_input(r.f), 0);
    const char *body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    feed(&r, body, strlen(body), 3, NULL, 0);
    CHECK_INT(evbuffer_get_length(httpframe_stream_buffer(r.f)), 0); /* paused */
    CHECK_INT(httpframe_stream_resume(r.f), 1);                      /* 100 owed once */
    CHECK_INT(httpframe_stream_resume(r.f), 0);
    struct evbuffer *none = evbuffer_new();
    size_t before = evbuffer_get_length(r.out);
    r.last = httpframe_process(r.f, none, r.out, r.to_client);
    s = str(httpframe_stream_buffer(r.f));
    CHECK_STR(s, "hello world");
    free(s);
    CHECK_INT(httpframe_stream_state(r.f, NULL, NULL), HTTPFRAME_STREAM_DONE);
    CHECK_INT(httpframe_body_read(r.f), 1);
    /* what followed the body is dropped, never handed on */
    CHECK_INT(evbuffer_get_length(r.out), before);
    evbuffer_free(none);
    run_free(&r);

    /* chunked over the limit (1 MiB under /upload): reported, not a second request */
    places = 1;
    run_init_admitting(&r);
    const char *h2 = "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
    feed(&r, h2, strlen(h2), 0, NULL, 0);
    httpframe_stream_resume(r.f);
    before = evbuffer_get_length(r.out);
    const char *big = "200000\r\nxx";
    feed(&r, big, strlen(big), 0, NULL, 0);
    enum api_error e;
    json_t *d = NULL;
    CHECK_INT(httpframe_stream_state(r.f, &e, &d), HTTPFRAME_STREAM_FAILED);
    CHECK_INT(e, API_PAYLOAD_TOO_LARGE);
    CHECK(d != NULL && json_integer_value(json_object_get(d, "limit")) == 1 << 20);
    json_decref(d);
    CHECK_INT(evbuffer_get_length(r.out), before);
    run_free(&r);
}

static void test_admission_refused(void)
{
    places = 0;
    releases = 0;
    struct run r;
    run_init_admitting(&r);
    const char *req = "POST /upload HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    feed(&r, req, strlen(req), 0, NULL, 0);
    CHECK_INT(synthetic(&r), 429);
    CHECK_STR(r.sy.code, "rate_limited");
    CHECK_INT(releases, 0);
    run_free(&r);
    /* not an upload: never asked, never streamed */
    places = 0;
    run_init_admitting(&r);
    const char *other = "POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
    feed(&r, other, strlen(other), 0, NULL, 0);
    CHECK_INT(evbuffer_get_length(r.out), strlen(other));
    run_free(&r);
    /* an admitted body dropped with its connection gives its place back */
    places = 1;
    releases = 0;
    struct httpframe *f = mk_admitting();
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    evbuffer_add_printf(in, "POST /upload HTTP/1.0\r\nContent-Length: 5000\r\n\r\nab");
    httpframe_process(f, in, out, NULL);
    CHECK_INT(releases, 1); /* handed on as a stream: the request holds the place */
    httpframe_free(f);
    CHECK_INT(releases, 1);
    evbuffer_free(in);
    evbuffer_free(out);
}

UNIT_MAIN(UNIT(test_pipelined_requests), UNIT(test_split_at_every_byte),
          UNIT(test_chunked_extensions_trailers), UNIT(test_cl_te_conflict_and_te_forms),
          UNIT(test_expect_100_continue), UNIT(test_over_limit_with_expect),
          UNIT(test_over_limit_without_expect), UNIT(test_header_too_large),
          UNIT(test_bad_version_and_request_line), UNIT(test_obs_fold_position),
          UNIT(test_leading_empty_lines_and_lf), UNIT(test_upgrade_passthrough),
          UNIT(test_error_header_helpers), UNIT(test_evhttp_filter_integration),
          UNIT(test_streamed_body), UNIT(test_admission_refused))
