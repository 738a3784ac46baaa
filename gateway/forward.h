/* forward.h -- the gateway's side of nng: one REQ socket per service for calls, one SUB
 * socket dialling the event relay, which every service publishes to. */
#ifndef AIOPS_FORWARD_H
#define AIOPS_FORWARD_H

#include <nng/nng.h>

#include "gw.h"

/* Opens the sockets and starts dialling every configured service (dialling retries in the
 * background, so services may start later). */
int fwd_start(struct gw *gw);
/* Closes the sockets: calls in flight complete with NNG_ECLOSED. */
void fwd_stop(struct gw *gw);
/* Dials again what has been cut off for a while (lib/rpc/dialer.h); loop thread, every
 * second. */
void fwd_check(struct gw *gw);
/* 1 when the event relay is connected. */
int fwd_relay_up(const struct gw *gw);
/* 1 when at least one connection to the service is established. */
int fwd_service_up(const struct gw *gw, enum svc_id id);
/* Sends the call m (packed here; m stays the caller's) to the route's service; the answer or
 * failure arrives on the loop thread through gw_after_forward(). A cheap call (health,
 * predictions, status reads) leaves at the end of the loop pass that made it, together with
 * the other cheap calls to its service of that pass, as one batch (alone: the one-call
 * envelope) -- no timer, an idle gateway adds no wait; when RPC_BATCH_INFLIGHT cheap calls or
 * batches to the service are in flight it waits and leaves with the others that queued
 * meanwhile when one of those completes. Any other call goes at once, alone.
 * AIOPS_EUNAVAIL when the service has no connection (the caller answers 503 at once),
 * AIOPS_ENOMEM; nothing was sent then. */
int fwd_call(struct gw_req *r, Aiops__Request *m, int timeout_ms);
/* The upload pool (UPLOAD_CONCURRENCY sockets, each with one connection to one svc-ingest
 * address, so that every part of an upload reaches the same replica; gateway/upload.c).
 * fwd_upload_take gives a free, connected one to r (NULL: none); fwd_upload_send sends one
 * part (m packed here) and its answer or failure arrives like fwd_call's, through
 * gw_after_forward(); fwd_upload_put hands it back once r is done with it (rpc_err: r's last
 * failure). Loop thread. */
struct fwd_upload;
struct fwd_upload *fwd_upload_take(struct gw_req *r);
int fwd_upload_send(struct fwd_upload *u, Aiops__Request *m, int timeout_ms);
void fwd_upload_put(struct fwd_upload *u, int rpc_err);
/* Frees r's share of its nng context, its answer and its packed call (loop thread, after
 * completion). */
void fwd_release(struct gw_req *r);

#endif
