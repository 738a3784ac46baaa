/* gw.h -- the gateway's shared state and the life of one HTTP request.
 *
 * Threads: one libevent loop thread owns every HTTP and WebSocket connection. nng
 * callbacks (replies from services, events) and the auth/readiness thread never touch
 * libevent objects: they put finished work on the completion queue (gw_post) and the loop
 * thread picks it up. */
#ifndef AIOPS_GW_H
#define AIOPS_GW_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <nng/nng.h>

#include "aiops.pb-c.h"
#include "http/apierr.h"
#include "rpc/addr.h"
#include "rpc/envelope.h"
#include "rpc/routes.h"

/* Rate limit classes and limits (ratelimit.h). */
enum rate_class { RATE_READ, RATE_WRITE, RATE_PREDICT, RATE_AUTH_FAILURES, RATE_CLASS_COUNT };
struct rate_limit {
    double rate;  /* tokens a second; 0: unlimited */
    double burst; /* bucket size */
};

struct gw_config {
    const char *bind;
    int port;
    size_t body_limit;
    size_t upload_limit;
    size_t upload_concurrency; /* uploads received or forwarded at once (UPLOAD_CONCURRENCY);
                                  past it 429 before the body is read (upload.c) */
    int timeout_scale_pct;     /* route timeouts are scaled by this (GATEWAY_TIMEOUT_PCT) */
    int disable_auth;
    const char *jwt_secret; /* NULL: JWTs are not accepted */
    int jwt_leeway;
    char **cors_origins;
    size_t n_cors_origins;
    char **allowed_hosts; /* ALLOWED_HOSTS: names served without auth, besides loopback */
    size_t n_allowed_hosts;
    const char *db_url;
    const char *redis_url;
    char rpc_url[SVC_COUNT][ADDR_MAX]; /* a service's address, or a list of its replicas */
    int rpc_connections;               /* connections per address (RPC_CONNECTIONS) */
    int rpc_batch_inflight;            /* cheap calls or batches in flight per service before
                                          the next ones wait to go as one batch
                                          (RPC_BATCH_INFLIGHT; 0: never batch) */
    char events_url[ADDR_MAX];         /* the event relay's outlet (EVENTS_OUT_URL) */
    struct envelope_key key;           /* SERVICE_SECRET: seals what goes to the services */
    struct rate_limit rate_limits[RATE_CLASS_COUNT]; /* RATE_LIMITS */
    size_t max_connections; /* client connections open at once (MAX_CONNECTIONS) */
    size_t ws_max_clients;
    size_t ws_queue_bytes;
    size_t ws_sndbuf; /* SO_SNDBUF of WebSocket sockets; 0: the system's */
};

/* The authenticated caller. Strings are owned. */
struct principal {
    char subject[80];
    char project[72];
    char method[12];    /* "api_key", "jwt", "none" */
    uint32_t scopes;    /* bit (1 << enum route_scope) */
    int64_t expires_at; /* Unix seconds the credentials stop being valid (a JWT's exp);
                           0: no end (an API key lasts until revoked) */
};

enum gw_stage {
    STAGE_AUTH_WAIT, /* waiting for an API key lookup */
    STAGE_AUTH_DONE,
    STAGE_FORWARD_WAIT, /* waiting for a service's answer */
    STAGE_FORWARD_DONE,
};

struct gw_req {
    struct gw *gw;
    struct evhttp_request *req;
    const struct route *route;
    struct route_params params;
    char *path;  /* owned copy of the raw path (params point into it) */
    char *query; /* owned, may be NULL */
    char request_id[72];
    char origin[256]; /* allowed Origin to echo, or "" */
    const char *method;
    char remote[48]; /* peer address, for the access log */
    size_t bytes_in;
    uint64_t t0;
    int64_t deadline_ms;
    struct principal principal;
    enum gw_stage stage;
    uint8_t key_hash[32];   /* API key lookup in flight */
    int auth_result;        /* AIOPS_OK / AIOPS_EAUTH / AIOPS_EUNAVAIL */
    const char *error_code; /* the catalogue code of a gateway error reply, for the
                               access log; NULL otherwise */
    /* forwarding */
    const struct route *ws_route; /* a WebSocket upgrade waiting for the service to say its
                                     topic exists (route is then the check's route) */
    struct fwd_slot *slot;        /* the nng context carrying the call (forward.c) */
    int rpc_err;                  /* nng error of the failed step, 0 when answered */
    nng_msg *reply;               /* a single call's sealed answer */
    Aiops__Response *resp;        /* a batched call's answer, unpacked (forward.c) */
    int reply_err;                /* a batched call without one: AIOPS_EAUTH (the service
                                     refused the envelope), AIOPS_ECORRUPT (the reply's seal
                                     failed), AIOPS_EPARSE (malformed or missing) */
    ProtobufCBinaryData call;     /* the packed request while it waits for a batch */
    struct gw_upload *upload;     /* an upload streamed to svc-ingest in parts (upload.c) */
    int upload_place;             /* counted in gw->uploads_active until freed */
    struct gw_req *next;          /* link of the queue it waits in (struct gw_req_queue) */
};

struct fwd_slot;
struct ws_hub;
struct auth;
struct fwd;
struct gw_metrics;

/* Requests in arrival order, linked through their `next` (the owner's lock guards it). */
struct gw_req_queue {
    struct gw_req *head, *tail;
};

struct gw {
    struct gw_config cfg;
    struct event_base *base;
    struct evhttp *http;
    char frame_secret[33];
    double started;
    int stopping;
    int relay_seen;        /* the event relay was connected at least once (health.c) */
    int inflight;          /* HTTP requests not yet answered */
    size_t uploads_active; /* uploads being received (framer) or forwarded (upload.c) */
    struct fwd *fwd;
    struct auth *auth;
    struct ws_hub *hub;
    struct gw_metrics *metrics;
    char *openapi;         /* /openapi.json, rendered at its first request (health.c): it
                              depends on the build and cfg only; freed at exit */
    size_t openapi_len;
    /* completion queue (any thread -> loop thread) */
    pthread_mutex_t q_lock;
    struct gw_req_queue q;
    struct gw_event *ev_head, *ev_tail;
    struct event *q_event;
    /* readiness, written by the auth thread */
    atomic_int db_up;
    atomic_int redis_up;
};

/* An event received from a service, on its way to WebSocket subscribers. */
struct gw_event {
    Aiops__Event *ev;
    struct gw_event *next;
};

/* The completion queue (request.c): made before the first request, freed after the last;
 * gw_queue_free answers nothing, it frees what is still queued. AIOPS_ENOMEM. */
int gw_queue_init(struct gw *gw);
void gw_queue_free(struct gw *gw);
/* Appends r to q. */
void gw_req_queue_push(struct gw_req_queue *q, struct gw_req *r);
/* Takes the first request of q (its next cleared), or NULL when q is empty. */
struct gw_req *gw_req_queue_pop(struct gw_req_queue *q);
/* Hands r back to the loop thread (callable from any thread). */
void gw_post(struct gw *gw, struct gw_req *r);
/* Hands back every request of q, in order, and empties q (any thread, one wake-up). */
void gw_post_queue(struct gw *gw, struct gw_req_queue *q);
void gw_post_event(struct gw *gw, Aiops__Event *ev);

/* Continues a request after auth (loop thread). */
void gw_after_auth(struct gw_req *r);
/* Finishes a forwarded request with the service's answer or the failure (loop thread). */
void gw_after_forward(struct gw_req *r);

/* Retry-After of a 503 whose sender did not set one: seconds. */
#define GW_RETRY_AFTER_SECONDS "1"

/* Every response leaves through these (request.c): they add the request id, CORS and common
 * headers, count the response in the metrics, write the access log line and free r. Each takes
 * ownership of the json_t it is given. */
void gw_reply(struct gw_req *r, int status, const char *content_type, const void *body, size_t len);
void gw_reply_json(struct gw_req *r, int status, json_t *body);
/* gw_reply's last step: sends the answer whose headers are set, and frees r. */
void gw_reply_send(struct gw_req *r, int status, const void *body, size_t len);
/* Every error the gateway answers itself: {"error": {"code", "message", "details"}} with
 * the status of e's row in the catalogue (lib/http/apierr.h), its code in the access log
 * line; message NULL: the row's message; details may be NULL ({}). A 405 also says which
 * methods the path takes (Allow). */
void gw_reply_error(struct gw_req *r, enum api_error e, const char *message, json_t *details);
/* Accounts for a request answered outside evhttp (a WebSocket upgrade): metrics, access
 * log, frees r. r->req must not be used afterwards. */
void gw_request_done(struct gw_req *r, int status, size_t bytes_out);

/* Builds r's call to its service -- principal, route, path parameters, the forwarded
 * headers -- with `len` bytes at `body` and the upload part (may be NULL), and hands it to
 * send (fwd_call or an upload's sender, which packs it before returning). send's result, or
 * AIOPS_ENOMEM (server.c). */
typedef int gw_send_fn(struct gw_req *r, Aiops__Request *m, int timeout_ms);
int gw_send_call(struct gw_req *r, const void *body, size_t len, Aiops__UploadPart *part,
                 gw_send_fn *send);
/* Answers a call that could not be sent (gw_send_call's result, not 0). */
void gw_reply_send_failure(struct gw_req *r, int rv);

/* Uploads (upload.c): admission before the body is read (the framer's admit/release), the
 * body streamed to svc-ingest in parts, and their end. */
int upload_admit(void *gw, const char *method, size_t method_len, const char *target,
                 size_t target_len);
void upload_release(void *gw);
/* Holds a place for an upload route's request that reached the handler (freed with r). */
void upload_hold_place(struct gw_req *r);
/* Sends r's body to svc-ingest in parts; the last answer is r's (gw_after_forward). */
void upload_forward(struct gw_req *r);
/* With an upload's answer status in hand: 1 when the upload went on (the next part is on its
 * way: nothing to answer yet), 0 when status is its answer. */
int upload_continue(struct gw_req *r, int status);
/* Every answer to a streamed request (X-Aiops-Frame-Stream) closes its connection and has
 * the rest of its body dropped (from gw_reply, before it is sent). */
void upload_reply_hook(struct gw_req *r);
/* A streamed request answered before its body was read to its end (an early error): 1 when
 * the answer is kept and sent (gw_reply_send) once the rest of the body has been read and
 * dropped, or the client has gone -- a client that sends its whole body before it reads
 * gets the answer, not a reset; 0 to send it now. */
int upload_defer_reply(struct gw_req *r, int status, const void *body, size_t len);
/* Frees r's upload state and place (from freeing r). */
void upload_free(struct gw_req *r);

/* Local handlers (health.c). */
void gw_handle_local(struct gw_req *r);

#endif
