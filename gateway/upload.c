/* upload.c -- uploads: at most UPLOAD_CONCURRENCY at once, their bodies sent to svc-ingest in
 * parts.
 *
 * Admission: the framer asks upload_admit() once a request's head is read, before it takes
 * any of its body; an upload past the bound is answered 429 rate_limited with Retry-After
 * (its body read and dropped, as an over-limit one), so the bodies the gateway holds are at
 * most UPLOAD_CONCURRENCY x UPLOAD_LIMIT_BYTES. A place is held by the framer while it
 * receives the body, then by the request (upload_hold_place) until it is answered.
 *
 * Forwarding: the body goes to svc-ingest as a session of parts (proto/aiops.proto
 * UploadPart): BEGIN (the service checks the query and content type before any byte),
 * CHUNKs of UPLOAD_CHUNK_BYTES, each sent once the one before was accepted and then drained
 * from the request's buffer, and END, whose answer is the upload's. Neither process ever
 * holds the body twice: the gateway's copy shrinks as it goes, the service spools it to a
 * file (svc-ingest/upload_session.c). A client gone mid-way makes the next part an ABORT.
 * After a big upload the free heap goes back to the system (malloc_trim). */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "forward.h"
#include "gw.h"

/* Bytes of body per CHUNK part: big enough that a part's round trip is noise beside its
 * bytes, small enough that the gateway's copy of one is. */
#define UPLOAD_CHUNK_BYTES ((size_t)1 << 20)
/* After an upload at least this big, free heap pages go back to the system. */
#define UPLOAD_TRIM_BYTES ((size_t)1 << 20)

struct gw_upload {
    struct fwd_upload *conn; /* the pool socket carrying the session */
    char session[37];
    uint32_t seq; /* of the part in flight */
    Aiops__UploadPart__Kind kind;
    size_t sent; /* body bytes sent */
};

/* 1 when method + target (raw, with any query) name an upload route. */
static int is_upload_route(const char *method, size_t mlen, const char *target, size_t tlen)
{
    char m[16];
    if (mlen >= sizeof m)
        return 0;
    memcpy(m, method, mlen);
    m[mlen] = '\0';
    size_t plen = 0;
    while (plen < tlen && target[plen] != '?' && target[plen] != '#')
        plen++;
    int exists;
    struct route_params p;
    const struct route *rt = route_match(m, target, plen, &p, &exists);
    return rt != NULL && rt->body == BODY_UPLOAD;
}

int upload_admit(void *arg, const char *method, size_t method_len, const char *target,
                 size_t target_len)
{
    struct gw *gw = arg;
    if (!is_upload_route(method, method_len, target, target_len))
        return 0;
    if (gw->uploads_active >= gw->cfg.upload_concurrency)
        return -1;
    gw->uploads_active++;
    return 1;
}

void upload_release(void *arg)
{
    struct gw *gw = arg;
    if (gw->uploads_active > 0)
        gw->uploads_active--;
}

void upload_hold_place(struct gw_req *r)
{
    if (!r->upload_place) {
        r->upload_place = 1;
        r->gw->uploads_active++;
    }
}

static int send_part(struct gw_req *r, Aiops__Request *m, int timeout_ms)
{
    return fwd_upload_send(r->upload->conn, m, timeout_ms);
}

/* Sends the next part of kind `kind` with the body's next bytes (CHUNK) or none. */
static int next_part(struct gw_req *r, Aiops__UploadPart__Kind kind)
{
    struct gw_upload *u = r->upload;
    Aiops__UploadPart part = AIOPS__UPLOAD_PART__INIT;
    part.session = u->session;
    part.seq = kind == AIOPS__UPLOAD_PART__KIND__BEGIN ? 0 : ++u->seq;
    part.kind = kind;
    u->kind = kind;
    if (kind != AIOPS__UPLOAD_PART__KIND__CHUNK)
        return gw_send_call(r, NULL, 0, &part, send_part);
    struct evbuffer *body = evhttp_request_get_input_buffer(r->req);
    size_t n = evbuffer_get_length(body);
    if (n > UPLOAD_CHUNK_BYTES)
        n = UPLOAD_CHUNK_BYTES;
    unsigned char *p = evbuffer_pullup(body, (ev_ssize_t)n);
    if (p == NULL)
        return AIOPS_ENOMEM;
    int rv = gw_send_call(r, p, n, &part, send_part);
    if (rv == 0) { /* packed into the message: these bytes are done with here */
        evbuffer_drain(body, n);
        u->sent += n;
    }
    return rv;
}

void upload_forward(struct gw_req *r)
{
    struct gw_upload *u = calloc(1, sizeof *u);
    if (u == NULL) {
        gw_reply_error(r, API_OUT_OF_MEMORY, NULL, NULL);
        return;
    }
    r->upload = u;
    r->stage = STAGE_FORWARD_WAIT;
    u->conn = fwd_upload_take(r);
    if (u->conn == NULL) {
        gw_reply_send_failure(r, AIOPS_EUNAVAIL);
        return;
    }
    uuid_v4(u->session);
    int rv = next_part(r, AIOPS__UPLOAD_PART__KIND__BEGIN);
    if (rv != 0)
        gw_reply_send_failure(r, rv);
}

int upload_continue(struct gw_req *r, int status)
{
    struct gw_upload *u = r->upload;
    if (status != 100 || u->kind == AIOPS__UPLOAD_PART__KIND__END ||
        u->kind == AIOPS__UPLOAD_PART__KIND__ABORT)
        return 0;
    nng_msg_free(r->reply);
    r->reply = NULL;
    Aiops__UploadPart__Kind kind;
    if (evhttp_request_get_connection(r->req) == NULL)
        kind = AIOPS__UPLOAD_PART__KIND__ABORT; /* the client has gone: store nothing */
    else if (evbuffer_get_length(evhttp_request_get_input_buffer(r->req)) > 0)
        kind = AIOPS__UPLOAD_PART__KIND__CHUNK;
    else
        kind = AIOPS__UPLOAD_PART__KIND__END;
    int rv = next_part(r, kind);
    if (rv != 0)
        gw_reply_send_failure(r, rv);
    return 1;
}

void upload_free(struct gw_req *r)
{
    struct gw_upload *u = r->upload;
    if (u != NULL) {
        if (u->conn != NULL)
            fwd_upload_put(u->conn, r->rpc_err);
        if (u->sent >= UPLOAD_TRIM_BYTES)
            malloc_trim(0);
        free(u);
        r->upload = NULL;
    }
    if (r->upload_place) {
        r->upload_place = 0;
        upload_release(r->gw);
    }
}
