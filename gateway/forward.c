#include "forward.h"

#include <stdlib.h>
#include <string.h>

#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util.h"

struct fwd_svc {
    nng_socket sock;
    int open;
    atomic_int pipes;
};

struct fwd {
    struct gw *gw;
    struct fwd_svc svc[SVC_COUNT];
    nng_socket sub;
    int sub_open;
    nng_aio *sub_aio;
};

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    (void)p;
    struct fwd_svc *s = arg;
    if (ev == NNG_PIPE_EV_ADD_POST)
        atomic_fetch_add(&s->pipes, 1);
    else if (ev == NNG_PIPE_EV_REM_POST)
        atomic_fetch_sub(&s->pipes, 1);
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
        if (envelope_unpack_event(nng_msg_body(msg), nng_msg_len(msg), &ev) == 0)
            gw_post_event(f->gw, ev);
        else
            log_warn("events: dropped a malformed event");
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
        nng_pipe_notify(s->sock, NNG_PIPE_EV_ADD_POST, pipe_event, s);
        nng_pipe_notify(s->sock, NNG_PIPE_EV_REM_POST, pipe_event, s);
        /* replies may carry whole dataset previews and profiles */
        nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, 256u << 20);
        /* never resend on a timer: a slow upload must not run twice. (A request whose
         * connection drops is still resent once the service is back.) */
        nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
        nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT, 50);
        nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT, 1000);
        if ((rv = nng_dial(s->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
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
    for (int id = 1; id < SVC_COUNT; id++) {
        if ((rv = nng_dial(f->sub, gw->cfg.events_url[id], NULL, NNG_FLAG_NONBLOCK)) != 0) {
            log_error("events: cannot dial %s: %s", gw->cfg.events_url[id], nng_strerror(rv));
            goto fail;
        }
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
    for (int id = 1; id < SVC_COUNT; id++)
        if (f->svc[id].open)
            nng_close(f->svc[id].sock);
    free(f);
    gw->fwd = NULL;
}

int fwd_service_up(const struct gw *gw, enum svc_id id)
{
    return gw->fwd != NULL && id > 0 && id < SVC_COUNT && atomic_load(&gw->fwd->svc[id].pipes) > 0;
}

/* Runs on an nng thread when a step of the call finishes. */
static void call_cb(void *arg)
{
    struct gw_req *r = arg;
    int rv = nng_aio_result(r->aio);
    if (rv != 0) {
        if (r->rpc_phase == 0)
            nng_msg_free(nng_aio_get_msg(r->aio)); /* unsent: still ours */
        r->rpc_err = rv;
        gw_post(r->gw, r);
        return;
    }
    if (r->rpc_phase == 0) {
        r->rpc_phase = 1;
        int64_t left = r->deadline_ms - time_now_ms();
        nng_aio_set_timeout(r->aio, left > 0 ? (nng_duration)left : 1);
        nng_ctx_recv(r->ctx, r->aio);
        return;
    }
    r->reply = nng_aio_get_msg(r->aio);
    r->rpc_err = 0;
    gw_post(r->gw, r);
}

int fwd_call(struct gw_req *r, nng_msg *msg, int timeout_ms)
{
    if (r->gw->fwd == NULL) { /* shutting down */
        nng_msg_free(msg);
        return AIOPS_EUNAVAIL;
    }
    struct fwd_svc *s = &r->gw->fwd->svc[r->route->service];
    if (atomic_load(&s->pipes) <= 0) {
        nng_msg_free(msg);
        return AIOPS_EUNAVAIL;
    }
    if (nng_ctx_open(&r->ctx, s->sock) != 0) {
        nng_msg_free(msg);
        return AIOPS_ERPC;
    }
    if (nng_aio_alloc(&r->aio, call_cb, r) != 0) {
        nng_ctx_close(r->ctx);
        nng_msg_free(msg);
        return AIOPS_ENOMEM;
    }
    r->rpc_phase = 0;
    r->stage = STAGE_FORWARD_WAIT;
    nng_aio_set_msg(r->aio, msg);
    nng_aio_set_timeout(r->aio, timeout_ms);
    nng_ctx_send(r->ctx, r->aio);
    return AIOPS_OK;
}

void fwd_release(struct gw_req *r)
{
    if (r->aio != NULL) {
        nng_aio_free(r->aio);
        r->aio = NULL;
        nng_ctx_close(r->ctx);
    }
    if (r->reply != NULL) {
        nng_msg_free(r->reply);
        r->reply = NULL;
    }
}
