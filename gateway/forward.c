#include "forward.h"

#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include <event2/event.h>

#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "gwmetrics.h"
#include "rpc/dialer.h"
#include "rpc/envelope.h"

/* The most calls one batch carries, and the most request bytes (a larger call goes alone). */
#define FWD_BATCH_MAX 64
#define FWD_BATCH_BYTES (1u << 20)

/* Routes whose calls are cheap and quick to serve -- health, predictions, status reads --
 * and so may wait for and ride in a batch: none of them holds up the others in its batch
 * for long. Every other call always goes alone, at once. */
static const char *const cheap_routes[] = {"health",       "models.predict", "v2.infer",
                                           "analysis.one", "runs.get",       "models.info"};

/* An nng context and its aios, reused call after call: opening and closing them per
 * request costs locks and allocations inside nng. Slots are taken and given back on the
 * loop thread only.
 *
 * The request goes out on `send` (no callback: nng completes it inline, saving a hop
 * through its task threads) and the reply is awaited on `recv` at once -- a REQ context
 * accepts the receive as soon as the send has been handed to it. Only `recv` has a callback,
 * and it touches nothing but its request. */
struct fwd_slot {
    struct fwd_svc *svc;
    nng_ctx ctx;
    nng_aio *send;
    nng_aio *recv;
    struct gw_req *r; /* a single call in progress */
    struct gw_req *batch[FWD_BATCH_MAX]; /* or a batch's calls, in the batch's order */
    size_t nbatch;
    size_t refs;           /* requests that still hold the slot */
    int cheap;             /* a cheap call or a batch: counted in its service's inflight */
    struct fwd_slot *next; /* free list */
};

struct fwd_svc {
    nng_socket sock;
    int open;
    struct dialset dial;   /* its address(es), watched (lib/rpc/dialer.h) */
    struct fwd_slot *free; /* idle slots */
    size_t nslots;
    struct fwd_slot **slots; /* every slot ever made */
    size_t slots_cap;
    int inflight;                  /* cheap slots (calls or batches) sent, not yet released */
    struct gw_req_queue waiting;   /* cheap calls waiting for a batch, oldest first */
};

/* A socket of svc-ingest's upload pool: one connection to one address, so that every part
 * of an upload's session reaches the replica that holds it (a REQ socket spreads its calls
 * over all its connections). Made at start, never closed before fwd_stop: closing a dialer
 * between attempts crashes Debian's nng (lib/rpc/dialer.h). Loop thread only, but for
 * upload_cb. */
struct fwd_upload {
    nng_socket sock;
    int open;
    struct dialset dial;
    nng_ctx ctx;
    int ctx_open;
    nng_aio *send;
    nng_aio *recv;
    struct gw_req *r; /* the upload using it, NULL when free */
};

struct fwd {
    struct gw *gw;
    struct fwd_svc svc[SVC_COUNT];
    struct fwd_upload *uploads; /* UPLOAD_CONCURRENCY of them */
    size_t nuploads;
    nng_socket sub;
    int sub_open;
    struct dialset relay;
    nng_aio *sub_aio;
    unsigned char *cheap; /* per entry of routes[]: 1 for a cheap route */
    struct event *flush;  /* sends the calls queued during this loop pass (flush_pass) */
    int flush_armed;
};

static void on_flush(evutil_socket_t fd, short what, void *arg);

static void slot_free(struct fwd_slot *sl)
{
    nng_aio_free(sl->send);
    nng_aio_free(sl->recv);
    free(sl);
}

/* Hands every call waiting for a batch to s back to the loop with the nng error err. */
static void fail_waiting(struct gw *gw, struct fwd_svc *s, int err)
{
    for (struct gw_req *r = s->waiting.head; r != NULL; r = r->next)
        r->rpc_err = err;
    gw_post_queue(gw, &s->waiting);
}

/* The events of a service's EventBatch, each to the loop (a malformed one is dropped):
 * 0, or the batch's AIOPS_EAUTH / AIOPS_EPARSE. */
static int post_event_batch(struct gw *gw, const void *body, size_t len)
{
    Aiops__EventBatch *b;
    int rv = envelope_unpack_event_batch(&gw->cfg.key, body, len, &b);
    if (rv != 0)
        return rv;
    for (size_t i = 0; i < b->n_events; i++) {
        Aiops__Event *ev;
        if (envelope_event_from_bytes(b->events[i].data, b->events[i].len, &ev) == 0)
            gw_post_event(gw, ev);
        else
            log_warn("events: dropped a malformed event of a batch");
    }
    aiops__event_batch__free_unpacked(b, NULL);
    return AIOPS_OK;
}

static void sub_cb(void *arg)
{
    struct fwd *f = arg;
    int rv = nng_aio_result(f->sub_aio);
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        return;
    if (rv == 0) {
        nng_msg *msg = nng_aio_get_msg(f->sub_aio);
        const void *body = nng_msg_body(msg);
        size_t len = nng_msg_len(msg);
        Aiops__Event *ev;
        int rv2 = envelope_is_batch(body, len)
                      ? post_event_batch(f->gw, body, len)
                      : envelope_unpack_event(&f->gw->cfg.key, body, len, &ev);
        if (rv2 == 0) {
            if (!envelope_is_batch(body, len))
                gw_post_event(f->gw, ev);
        } else if (rv2 == AIOPS_EAUTH) {
            /* not from a service of ours: nobody's WebSocket hears it */
            gw_metrics_envelope_refused(f->gw, "event");
        } else {
            log_warn("events: dropped a malformed event");
        }
        nng_msg_free(msg);
    }
    nng_recv_aio(f->sub, f->sub_aio);
}

static void upload_cb(void *arg)
{
    struct fwd_upload *u = arg;
    struct gw_req *r = u->r;
    int rv = nng_aio_result(u->recv);
    r->rpc_err = rv;
    r->reply = rv == 0 ? nng_aio_get_msg(u->recv) : NULL;
    gw_post(r->gw, r);
}

/* The n-th address of a comma-separated list (wrapping around) into out. */
static void nth_address(const char *urls, size_t n, char *out, size_t cap)
{
    size_t count = 1;
    for (const char *p = urls; *p; p++)
        count += *p == ',';
    n %= count;
    const char *p = urls;
    while (n-- > 0)
        p = strchr(p, ',') + 1;
    size_t len = strcspn(p, ",");
    snprintf(out, cap, "%.*s", (int)len, p);
}

/* The upload pool: socket i dials address i of svc-ingest's list. */
static int uploads_start(struct fwd *f)
{
    struct gw *gw = f->gw;
    f->nuploads = gw->cfg.upload_concurrency;
    f->uploads = calloc(f->nuploads, sizeof *f->uploads);
    if (f->uploads == NULL)
        return NNG_ENOMEM;
    for (size_t i = 0; i < f->nuploads; i++) {
        struct fwd_upload *u = &f->uploads[i];
        char url[ADDR_MAX];
        nth_address(gw->cfg.rpc_url[SVC_INGEST], i, url, sizeof url);
        int rv;
        if ((rv = nng_req0_open(&u->sock)) != 0)
            return rv;
        u->open = 1;
        nng_socket_set_size(u->sock, NNG_OPT_RECVMAXSZ, 256u << 20);
        nng_socket_set_ms(u->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
        nng_socket_set_ms(u->sock, NNG_OPT_RECONNMINT, 50);
        nng_socket_set_ms(u->sock, NNG_OPT_RECONNMAXT, 1000);
        if ((rv = nng_aio_alloc(&u->send, NULL, NULL)) != 0 ||
            (rv = nng_aio_alloc(&u->recv, upload_cb, u)) != 0 ||
            (rv = nng_ctx_open(&u->ctx, u->sock)) != 0)
            return rv;
        u->ctx_open = 1;
        if ((rv = dialset_start(&u->dial, u->sock, url, 1)) != 0)
            return rv;
    }
    return 0;
}

static void uploads_stop(struct fwd *f)
{
    for (size_t i = 0; i < f->nuploads; i++) {
        struct fwd_upload *u = &f->uploads[i];
        if (u->open)
            nng_close(u->sock);
        if (u->send) {
            nng_aio_stop(u->send);
            nng_msg *unsent = nng_aio_result(u->send) != 0 ? nng_aio_get_msg(u->send) : NULL;
            if (unsent != NULL)
                nng_msg_free(unsent);
            nng_aio_free(u->send);
        }
        if (u->recv)
            nng_aio_free(u->recv);
    }
    free(f->uploads);
    f->uploads = NULL;
    f->nuploads = 0;
}

struct fwd_upload *fwd_upload_take(struct gw_req *r)
{
    struct fwd *f = r->gw->fwd;
    if (f == NULL)
        return NULL;
    for (size_t i = 0; i < f->nuploads; i++) {
        struct fwd_upload *u = &f->uploads[i];
        if (u->r == NULL && u->ctx_open && dialset_up(&u->dial)) {
            u->r = r;
            return u;
        }
    }
    return NULL;
}

int fwd_upload_send(struct fwd_upload *u, Aiops__Request *m, int timeout_ms)
{
    nng_msg *msg;
    int rv = envelope_pack_request(&u->r->gw->cfg.key, m, &msg);
    if (rv != 0)
        return rv;
    /* the last part's send completes just after it is written: before the next one */
    nng_aio_wait(u->send);
    nng_aio_set_msg(u->send, msg);
    nng_aio_set_timeout(u->send, NNG_DURATION_INFINITE); /* as slot_send: only recv times out */
    nng_ctx_send(u->ctx, u->send);
    nng_aio_set_timeout(u->recv, timeout_ms);
    nng_ctx_recv(u->ctx, u->recv);
    return AIOPS_OK;
}

void fwd_upload_put(struct fwd_upload *u, int rpc_err)
{
    if (rpc_err != 0 && u->ctx_open) {
        /* as slot_release: a failed call's context is replaced, not reused */
        nng_ctx_close(u->ctx);
        u->ctx_open = nng_ctx_open(&u->ctx, u->sock) == 0;
    }
    nng_aio_wait(u->send);
    nng_msg *unsent = nng_aio_result(u->send) != 0 ? nng_aio_get_msg(u->send) : NULL;
    if (unsent != NULL)
        nng_msg_free(unsent);
    nng_aio_set_msg(u->send, NULL);
    u->r = NULL;
}

int fwd_start(struct gw *gw)
{
    struct fwd *f = calloc(1, sizeof *f);
    if (f == NULL)
        return AIOPS_ENOMEM;
    f->gw = gw;
    gw->fwd = f;
    f->cheap = calloc(routes_count, 1);
    f->flush = event_new(gw->base, -1, 0, on_flush, f);
    if (f->cheap == NULL || f->flush == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < routes_count; i++)
        for (size_t k = 0; k < sizeof cheap_routes / sizeof *cheap_routes; k++)
            if (strcmp(routes[i].name, cheap_routes[k]) == 0)
                f->cheap[i] = 1;
    int rv;
    for (int id = 1; id < SVC_COUNT; id++) {
        struct fwd_svc *s = &f->svc[id];
        const char *url = gw->cfg.rpc_url[id];
        if ((rv = nng_req0_open(&s->sock)) != 0)
            goto fail;
        s->open = 1;
        /* replies may carry whole dataset previews and profiles */
        nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, 256u << 20);
        /* never resend on a timer: a slow upload must not run twice. (A request whose
         * connection drops is still resent once the service is back.) */
        nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
        nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 50);
        nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 1000);
        /* every address RPC_CONNECTIONS times: a service with several replicas is one
         * socket with connections to each, and REQ spreads calls over them; one address
         * that balances connections (a Kubernetes Service) dialled N times gives N
         * connections spread over its replicas */
        if ((rv = dialset_start(&s->dial, s->sock, url, gw->cfg.rpc_connections)) != 0) {
            log_error("rpc: cannot dial svc-%s at %s: %s", svc_name((enum svc_id)id), url,
                      nng_strerror(rv));
            goto fail;
        }
    }
    if ((rv = uploads_start(f)) != 0)
        goto fail;
    if ((rv = nng_sub0_open(&f->sub)) != 0)
        goto fail;
    f->sub_open = 1;
    nng_socket_set(f->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
    nng_socket_set_size(f->sub, NNG_OPT_RECVMAXSZ, 4u << 20);
    nng_socket_set_ms(f->sub, NNG_OPT_RECONNMINT, 50);
    nng_socket_set_ms(f->sub, NNG_OPT_RECONNMAXT, 1000);
    /* every service publishes to the relay: one address, whatever the replicas */
    if ((rv = dialset_start(&f->relay, f->sub, gw->cfg.events_url, 1)) != 0) {
        log_error("events: cannot dial the relay at %s: %s", gw->cfg.events_url, nng_strerror(rv));
        goto fail;
    }
    if ((rv = nng_aio_alloc(&f->sub_aio, sub_cb, f)) != 0)
        goto fail;
    nng_recv_aio(f->sub, f->sub_aio);
    return AIOPS_OK;
fail:
    log_error("rpc: setup failed: %s", nng_strerror(rv));
    return AIOPS_ERPC;
}

void fwd_stop(struct gw *gw)
{
    struct fwd *f = gw->fwd;
    if (f == NULL)
        return;
    if (f->sub_aio)
        nng_aio_stop(f->sub_aio);
    if (f->sub_open)
        nng_close(f->sub);
    if (f->sub_aio)
        nng_aio_free(f->sub_aio);
    for (int id = 1; id < SVC_COUNT; id++) {
        struct fwd_svc *s = &f->svc[id];
        /* calls in flight complete with NNG_ECLOSED and reach the queue; then the aios
         * can go (nng_aio_free waits for a running callback) */
        if (s->open)
            nng_close(s->sock);
        /* calls still waiting for a batch are answered 503 from the queue */
        fail_waiting(f->gw, s, NNG_ECLOSED);
        for (size_t i = 0; i < s->nslots; i++) {
            struct fwd_slot *sl = s->slots[i];
            nng_aio_stop(sl->send);
            nng_msg *unsent = nng_aio_result(sl->send) != 0 ? nng_aio_get_msg(sl->send) : NULL;
            if (unsent != NULL)
                nng_msg_free(unsent);
            slot_free(sl);
        }
        free(s->slots);
    }
    uploads_stop(f);
    if (f->flush != NULL)
        event_free(f->flush);
    free(f->cheap);
    free(f);
    gw->fwd = NULL;
}

int fwd_relay_up(const struct gw *gw)
{
    return gw->fwd != NULL && dialset_up(&gw->fwd->relay);
}

void fwd_check(struct gw *gw)
{
    if (gw->fwd == NULL)
        return;
    for (int id = 1; id < SVC_COUNT; id++)
        dialset_check(&gw->fwd->svc[id].dial);
    for (size_t i = 0; i < gw->fwd->nuploads; i++)
        dialset_check(&gw->fwd->uploads[i].dial);
    dialset_check(&gw->fwd->relay);
}

int fwd_service_up(const struct gw *gw, enum svc_id id)
{
    return gw->fwd != NULL && id > 0 && id < SVC_COUNT && dialset_up(&gw->fwd->svc[id].dial);
}

/* A batch's answer (or failure: rv) handed to each of its calls, on the nng thread: the
 * answers are unpacked here, off the loop thread, and matched by position and request id. */
static void batch_done(struct fwd_slot *sl, int rv)
{
    struct gw *gw = sl->batch[0]->gw;
    nng_msg *msg = rv == 0 ? nng_aio_get_msg(sl->recv) : NULL;
    Aiops__BatchReply *br = NULL;
    int err = 0;
    if (msg != NULL) {
        const void *p = nng_msg_body(msg);
        size_t n = nng_msg_len(msg);
        if (envelope_is_refusal(p, n))
            err = AIOPS_EAUTH;
        else if ((err = envelope_unpack_batch_reply(&gw->cfg.key, p, n, &br)) == AIOPS_EAUTH)
            err = AIOPS_ECORRUPT;
    }
    size_t nbatch = sl->nbatch;
    struct gw_req *calls[FWD_BATCH_MAX];
    memcpy(calls, sl->batch, nbatch * sizeof *calls);
    for (size_t i = 0; i < nbatch; i++) {
        struct gw_req *r = calls[i];
        r->rpc_err = rv;
        r->reply = NULL;
        r->reply_err = rv == 0 ? err : 0;
        if (rv != 0 || err != 0)
            continue;
        Aiops__Response *resp = NULL;
        if (i >= br->n_responses ||
            envelope_response_from_bytes(br->responses[i].data, br->responses[i].len, &resp) != 0 ||
            strcmp(resp->request_id, r->request_id) != 0) {
            if (resp != NULL)
                aiops__response__free_unpacked(resp, NULL);
            r->reply_err = AIOPS_EPARSE;
            continue;
        }
        r->resp = resp;
    }
    if (br != NULL)
        aiops__batch_reply__free_unpacked(br, NULL);
    if (msg != NULL)
        nng_msg_free(msg);
    struct gw_req_queue done = {NULL, NULL};
    for (size_t i = 0; i < nbatch; i++)
        gw_req_queue_push(&done, calls[i]);
    /* the slot is not touched after this: the loop may release it once the calls arrive */
    gw_post_queue(gw, &done);
}

/* Runs on an nng thread when the reply (or the failure) arrives. */
static void call_cb(void *arg)
{
    struct fwd_slot *sl = arg;
    int rv = nng_aio_result(sl->recv);
    if (sl->nbatch > 0) {
        batch_done(sl, rv);
        return;
    }
    struct gw_req *r = sl->r;
    r->rpc_err = rv;
    r->reply = rv == 0 ? nng_aio_get_msg(sl->recv) : NULL;
    gw_post(r->gw, r);
}

static struct fwd_slot *slot_get(struct fwd_svc *s)
{
    struct fwd_slot *sl = s->free;
    if (sl != NULL) {
        s->free = sl->next;
        return sl;
    }
    if (s->nslots == s->slots_cap) {
        size_t cap = s->slots_cap ? s->slots_cap * 2 : 64;
        struct fwd_slot **v = realloc(s->slots, cap * sizeof *v);
        if (v == NULL)
            return NULL;
        s->slots = v;
        s->slots_cap = cap;
    }
    sl = calloc(1, sizeof *sl);
    if (sl == NULL)
        return NULL;
    sl->svc = s;
    if (nng_aio_alloc(&sl->send, NULL, NULL) != 0 || nng_aio_alloc(&sl->recv, call_cb, sl) != 0 ||
        nng_ctx_open(&sl->ctx, s->sock) != 0) {
        slot_free(sl);
        return NULL;
    }
    s->slots[s->nslots++] = sl;
    return sl;
}

/* Sends msg (taken) on sl and awaits the answer: the send goes without a callback (nng
 * completes it inline) and the receive is armed at once -- a REQ context accepts it as
 * soon as the send has been handed over. */
static void slot_send(struct fwd_slot *sl, nng_msg *msg, int timeout_ms)
{
    if (sl->cheap)
        sl->svc->inflight++;
    nng_aio_set_msg(sl->send, msg);
    /* only the receive has a timeout: nng 1.5 panics when a send still queued (no
     * connection) times out while its receive waits (req0_ctx_cancel_send asserts that no
     * receive is pending); after a failed receive slot_release closes the context. */
    nng_aio_set_timeout(sl->send, NNG_DURATION_INFINITE);
    nng_ctx_send(sl->ctx, sl->send);
    /* a send that failed at once leaves no request: the receive then fails too (ESTATE) */
    nng_aio_set_timeout(sl->recv, timeout_ms);
    nng_ctx_recv(sl->ctx, sl->recv);
}

/* Takes up to FWD_BATCH_MAX waiting calls (FWD_BATCH_BYTES of requests, at least one) off
 * s's queue into calls; the ones whose deadline has passed are handed back to the loop
 * (504) instead. The number taken. */
static size_t take_waiting(struct gw *gw, struct fwd_svc *s, struct gw_req **calls,
                           int64_t *latest_deadline)
{
    size_t n = 0, bytes = 0;
    int64_t now = time_now_ms();
    *latest_deadline = now;
    while (s->waiting.head != NULL && n < FWD_BATCH_MAX) {
        if (n > 0 && bytes + s->waiting.head->call.len > FWD_BATCH_BYTES)
            break;
        struct gw_req *r = gw_req_queue_pop(&s->waiting);
        if (r->deadline_ms <= now) {
            r->rpc_err = NNG_ETIMEDOUT;
            gw_post(gw, r);
            continue;
        }
        bytes += r->call.len;
        if (r->deadline_ms > *latest_deadline)
            *latest_deadline = r->deadline_ms;
        calls[n++] = r;
    }
    return n;
}

/* Sends the waiting calls as batches (one alone in the one-call form) while fewer than the
 * limit are in flight; calls that cannot go are handed back to the loop with the reason
 * through the completion queue, as a failed call would be. */
static void flush_waiting(struct gw *gw, struct fwd_svc *s)
{
    while (s->waiting.head != NULL && s->inflight < gw->cfg.rpc_batch_inflight) {
        struct gw_req *calls[FWD_BATCH_MAX];
        int64_t deadline;
        size_t n = take_waiting(gw, s, calls, &deadline);
        if (n == 0)
            continue;
        ProtobufCBinaryData items[FWD_BATCH_MAX];
        for (size_t i = 0; i < n; i++)
            items[i] = calls[i]->call;
        nng_msg *msg = NULL;
        int down = !dialset_up(&s->dial);
        struct fwd_slot *sl = down ? NULL : slot_get(s);
        /* a call alone goes in the one-call form: answered as before batches existed */
        int packed = sl != NULL && (n == 1 ? envelope_seal_request(&gw->cfg.key, &items[0], &msg)
                                           : envelope_pack_batch(&gw->cfg.key, items, n, &msg)) == 0;
        if (!packed) {
            if (sl != NULL) {
                sl->next = s->free;
                s->free = sl;
            }
            for (size_t i = 0; i < n; i++) {
                calls[i]->rpc_err = down ? NNG_ECONNREFUSED : NNG_ENOMEM;
                gw_post(gw, calls[i]);
            }
            continue;
        }
        sl->r = n == 1 ? calls[0] : NULL;
        sl->nbatch = n == 1 ? 0 : n;
        sl->refs = n;
        sl->cheap = 1;
        for (size_t i = 0; i < n; i++) {
            free(calls[i]->call.data);
            calls[i]->call.data = NULL;
            calls[i]->call.len = 0;
            calls[i]->slot = sl;
            sl->batch[i] = calls[i];
        }
        if (n > 1)
            gw_metrics_batch(gw, (enum svc_id)(s - gw->fwd->svc), n);
        int64_t left = deadline - time_now_ms();
        slot_send(sl, msg, (int)(left > 0 ? left : 1));
    }
}

/* Runs once at the end of a loop pass in which cheap calls were queued or cheap slots freed:
 * the calls the pass read from every connection leave together, as one batch per service
 * (a lone one as the one-call envelope), instead of one envelope each. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct fwd *f = arg;
    f->flush_armed = 0;
    for (int id = 1; id < SVC_COUNT; id++)
        flush_waiting(f->gw, &f->svc[id]);
}

/* Makes on_flush run after the callbacks already due in this loop pass: an event made
 * active joins the end of the pass's queue, so nothing waits for a later pass or a timer. */
static void arm_flush(struct fwd *f)
{
    if (!f->flush_armed) {
        f->flush_armed = 1;
        event_active(f->flush, EV_TIMEOUT, 0);
    }
}

int fwd_call(struct gw_req *r, Aiops__Request *m, int timeout_ms)
{
    struct fwd *f = r->gw->fwd;
    if (f == NULL) /* shutting down */
        return AIOPS_EUNAVAIL;
    struct fwd_svc *s = &f->svc[r->route->service];
    if (!dialset_up(&s->dial))
        return AIOPS_EUNAVAIL;
    int limit = r->gw->cfg.rpc_batch_inflight;
    int cheap = limit > 0 && f->cheap[r->route - routes];
    r->stage = STAGE_FORWARD_WAIT;
    if (cheap) {
        /* leaves at the end of this loop pass with the others of the pass, or later with
         * those that queue meanwhile when `limit` cheap slots are in flight */
        int rv = envelope_request_to_bytes(m, &r->call);
        if (rv != 0)
            return rv;
        gw_req_queue_push(&s->waiting, r);
        if (s->inflight < limit)
            arm_flush(f);
        return AIOPS_OK;
    }
    nng_msg *msg;
    int rv = envelope_pack_request(&r->gw->cfg.key, m, &msg);
    if (rv != 0)
        return rv;
    struct fwd_slot *sl = slot_get(s);
    if (sl == NULL) {
        nng_msg_free(msg);
        return AIOPS_ENOMEM;
    }
    sl->r = r;
    sl->nbatch = 0;
    sl->refs = 1;
    sl->cheap = cheap;
    r->slot = sl;
    slot_send(sl, msg, timeout_ms);
    return AIOPS_OK;
}

/* The last request of a slot is done with it: the slot goes back to the free list, and a
 * cheap slot's place in flight to the calls waiting for a batch. */
static void slot_release(struct gw *gw, struct fwd_slot *sl, int rpc_err)
{
    struct fwd_svc *s = sl->svc;
    int usable = 1;
    if (rpc_err != 0) {
        /* The call failed; its send may still be queued (no connection). nng 1.5 frees a
         * queued request when the receive fails but leaves the send pending, and crashes
         * when that send is then cancelled or replaced (req0_ctx_cancel_send); closing the
         * context completes it safely, and the slot gets a new one. */
        nng_ctx_close(sl->ctx);
        usable = nng_ctx_open(&sl->ctx, s->sock) == 0;
    }
    /* the send completes just after the request is written; a reply can come first */
    nng_aio_wait(sl->send);
    nng_msg *unsent = nng_aio_result(sl->send) != 0 ? nng_aio_get_msg(sl->send) : NULL;
    if (unsent != NULL)
        nng_msg_free(unsent);
    nng_aio_set_msg(sl->send, NULL);
    sl->r = NULL;
    sl->nbatch = 0;
    if (usable) { /* else it stays in s->slots, freed at fwd_stop */
        sl->next = s->free;
        s->free = sl;
    }
    if (sl->cheap) {
        sl->cheap = 0;
        s->inflight--;
        if (s->waiting.head != NULL) /* with the calls of this pass, at its end */
            arm_flush(gw->fwd);
    }
}

void fwd_release(struct gw_req *r)
{
    struct fwd_slot *sl = r->slot;
    r->slot = NULL;
    /* after fwd_stop() the slots are gone already */
    if (sl != NULL && r->gw->fwd != NULL && --sl->refs == 0)
        slot_release(r->gw, sl, r->rpc_err);
    if (r->reply != NULL) {
        nng_msg_free(r->reply);
        r->reply = NULL;
    }
    if (r->resp != NULL) {
        aiops__response__free_unpacked(r->resp, NULL);
        r->resp = NULL;
    }
    free(r->call.data);
    r->call.data = NULL;
}
