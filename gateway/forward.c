#include "forward.h"

#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include "core/err.h"
#include "core/log.h"
#include "gwmetrics.h"
#include "rpc/dialer.h"
#include "rpc/envelope.h"

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
    struct gw_req *r;      /* the call in progress */
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
};

struct fwd {
    struct gw *gw;
    struct fwd_svc svc[SVC_COUNT];
    nng_socket sub;
    int sub_open;
    struct dialset relay;
    nng_aio *sub_aio;
};

static void slot_free(struct fwd_slot *sl)
{
    nng_aio_free(sl->send);
    nng_aio_free(sl->recv);
    free(sl);
}

static void sub_cb(void *arg)
{
    struct fwd *f = arg;
    int rv = nng_aio_result(f->sub_aio);
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        return;
    if (rv == 0) {
        nng_msg *msg = nng_aio_get_msg(f->sub_aio);
        Aiops__Event *ev;
        int rv2 = envelope_unpack_event(&f->gw->cfg.key, nng_msg_body(msg), nng_msg_len(msg), &ev);
        if (rv2 == 0) {
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

int fwd_start(struct gw *gw)
{
    struct fwd *f = calloc(1, sizeof *f);
    if (f == NULL)
        return AIOPS_ENOMEM;
    f->gw = gw;
    gw->fwd = f;
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
        for (size_t i = 0; i < s->nslots; i++) {
            struct fwd_slot *sl = s->slots[i];
            nng_aio_stop(sl->send);
            if (nng_aio_result(sl->send) != 0)
                nng_msg_free(nng_aio_get_msg(sl->send));
            slot_free(sl);
        }
        free(s->slots);
    }
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
    dialset_check(&gw->fwd->relay);
}

int fwd_service_up(const struct gw *gw, enum svc_id id)
{
    return gw->fwd != NULL && id > 0 && id < SVC_COUNT && dialset_up(&gw->fwd->svc[id].dial);
}

/* Runs on an nng thread when the reply (or the failure) arrives. */
static void call_cb(void *arg)
{
    struct fwd_slot *sl = arg;
    struct gw_req *r = sl->r;
    int rv = nng_aio_result(sl->recv);
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

int fwd_call(struct gw_req *r, nng_msg *msg, int timeout_ms)
{
    if (r->gw->fwd == NULL) { /* shutting down */
        nng_msg_free(msg);
        return AIOPS_EUNAVAIL;
    }
    struct fwd_svc *s = &r->gw->fwd->svc[r->route->service];
    if (!dialset_up(&s->dial)) {
        nng_msg_free(msg);
        return AIOPS_EUNAVAIL;
    }
    struct fwd_slot *sl = slot_get(s);
    if (sl == NULL) {
        nng_msg_free(msg);
        return AIOPS_ENOMEM;
    }
    sl->r = r;
    r->slot = sl;
    r->stage = STAGE_FORWARD_WAIT;
    nng_aio_set_msg(sl->send, msg);
    nng_aio_set_timeout(sl->send, timeout_ms);
    nng_ctx_send(sl->ctx, sl->send);
    /* a send that failed at once leaves no request: the receive then fails too (ESTATE) */
    nng_aio_set_timeout(sl->recv, timeout_ms);
    nng_ctx_recv(sl->ctx, sl->recv);
    return AIOPS_OK;
}

void fwd_release(struct gw_req *r)
{
    struct fwd_slot *sl = r->slot;
    r->slot = NULL;
    /* after fwd_stop() the slots are gone already */
    if (sl != NULL && r->gw->fwd != NULL) {
        /* after a failure the send may still be queued (no connection): take it back, and
         * the message with it (nng gives an unsent message back to the aio) */
        if (r->rpc_err != 0)
            nng_aio_cancel(sl->send);
        /* the send completes just after the request is written; a reply can come first */
        nng_aio_wait(sl->send);
        if (nng_aio_result(sl->send) != 0)
            nng_msg_free(nng_aio_get_msg(sl->send));
        sl->r = NULL;
        sl->next = sl->svc->free;
        sl->svc->free = sl;
    }
    if (r->reply != NULL) {
        nng_msg_free(r->reply);
        r->reply = NULL;
    }
}
