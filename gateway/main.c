/* aiops-gateway: REST + WebSocket on one port, forwarding to the services over nng.
 * Configuration comes from the environment; see README.md ("Configuration"). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "auth.h"
#include "core/crypto.h"
#include "core/encode.h"
#include "core/env.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "http/url.h"
#include "forward.h"
#include "gw.h"
#include "gwmetrics.h"
#include "ratelimit.h"
#include "server.h"
#include "wshub.h"

/* How long a stopping gateway waits for requests in progress. */
#define GRACE_SECONDS 30

static const char *const rpc_env[SVC_COUNT] = {NULL,
                                               "INGEST_RPC_URL",
                                               "TRAIN_RPC_URL",
                                               "EXPLAIN_RPC_URL",
                                               "REPORT_RPC_URL",
                                               "MONITOR_RPC_URL"};

/* A comma-separated list (CORS_ORIGINS, ALLOWED_HOSTS) into *items[*n], each trimmed, empty
 * ones left out; the caller frees with free_list. AIOPS_ENOMEM. */
static int parse_list(const char *list, char ***items, size_t *n)
{
    *n = 0;
    char *copy = strdup(list);
    if (copy == NULL)
        return AIOPS_ENOMEM;
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    *items = calloc(cap, sizeof **items);
    if (*items == NULL) {
        free(copy);
        return AIOPS_ENOMEM;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ')
            tok[--len] = '\0';
        if (len > 0 && ((*items)[*n] = strdup(tok)) != NULL)
            (*n)++;
    }
    free(copy);
    return AIOPS_OK;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

/* Descriptors kept free for everything but clients: nng's sockets and pipes to the
 * services and the relay, PostgreSQL, Redis, epoll, signal and log descriptors. */
#define FD_HEADROOM 64

/* MAX_CONNECTIONS, by default what the descriptor limit leaves after the headroom: at the
 * limit accept() fails, and libevent would retry it in a loop. */
static int load_max_connections(struct gw_config *c)
{
    struct rlimit rl;
    long fds = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        fds = rl.rlim_cur > 1L << 24 ? 1L << 24 : (long)rl.rlim_cur;
    long max = fds - FD_HEADROOM - fds / 16, v;
    if (max < 16) {
        log_error("config: the descriptor limit (ulimit -n %ld) leaves no room for clients", fds);
        return AIOPS_EINVAL;
    }
    if (env_long("MAX_CONNECTIONS", max, 16, max, &v) != 0)
        return AIOPS_EINVAL;
    c->max_connections = (size_t)v;
    return AIOPS_OK;
}

static int load_config(struct gw_config *c)
{
    long port, body, upload, leeway, wsmax, wsq, wssnd, pct, conns, batch, uploads;
    int disable;
    c->bind = env_str("AIOPS_BIND", "127.0.0.1");
    if (env_long("AIOPS_PORT", 8000, 0, 65535, &port) != 0 ||
        env_long("BODY_LIMIT_BYTES", 5L << 20, 1024, 1L << 30, &body) != 0 ||
        env_long("UPLOAD_LIMIT_BYTES", 64L << 20, 1024, 4L << 30, &upload) != 0 ||
        env_long("JWT_LEEWAY_SECONDS", 0, 0, 3600, &leeway) != 0 ||
        env_long("WS_MAX_CLIENTS", 10000, 1, 1000000, &wsmax) != 0 ||
        env_long("WS_QUEUE_BYTES", 1L << 20, 4096, 1L << 30, &wsq) != 0 ||
        env_long("WS_SNDBUF_BYTES", 0, 0, 64L << 20, &wssnd) != 0 ||
        env_long("GATEWAY_TIMEOUT_PCT", 100, 1, 1000, &pct) != 0 ||
        env_long("RPC_CONNECTIONS", 1, 1, 64, &conns) != 0 ||
        env_long("RPC_BATCH_INFLIGHT", 2, 0, 1024, &batch) != 0 ||
        env_long("UPLOAD_CONCURRENCY", 4, 1, 1024, &uploads) != 0 ||
        env_bool("DISABLE_AUTH", 0, &disable) != 0)
        return AIOPS_EINVAL;
    c->port = (int)port;
    c->body_limit = (size_t)body;
    c->upload_limit = (size_t)upload;
    c->upload_concurrency = (size_t)uploads;
    c->jwt_leeway = (int)leeway;
    c->ws_max_clients = (size_t)wsmax;
    c->ws_queue_bytes = (size_t)wsq;
    c->ws_sndbuf = (size_t)wssnd;
    c->timeout_scale_pct = (int)pct;
    c->rpc_connections = (int)conns;
    c->rpc_batch_inflight = (int)batch;
    c->disable_auth = disable;
    if (load_max_connections(c) != 0 || ratelimit_parse(getenv("RATE_LIMITS"), c->rate_limits) != 0)
        return AIOPS_EINVAL;
    if (disable && !url_host_is_loopback(c->bind)) {
        log_error("config: DISABLE_AUTH=1 is refused unless AIOPS_BIND is a loopback address "
                  "(it is %s)",
                  c->bind);
        return AIOPS_EINVAL;
    }
    c->jwt_secret = getenv("JWT_SECRET");
    if (c->jwt_secret != NULL && c->jwt_secret[0] == '\0')
        c->jwt_secret = NULL;
    if (c->jwt_secret != NULL && strlen(c->jwt_secret) < 32) {
        log_error("config: JWT_SECRET must be at least 32 bytes (HS256 needs a 256-bit key)");
        return AIOPS_EINVAL;
    }
    c->db_url = getenv("DATABASE_URL");
    c->redis_url = getenv("REDIS_URL");
    if (c->db_url == NULL || c->redis_url == NULL) {
        log_error("config: DATABASE_URL and REDIS_URL must be set");
        return AIOPS_EINVAL;
    }
    if (envelope_key_from_env(&c->key) != 0)
        return AIOPS_EINVAL;
    for (int id = 1; id < SVC_COUNT; id++) {
        char name[32];
        snprintf(name, sizeof name, "%s.rpc", svc_name((enum svc_id)id));
        addr_from_env(rpc_env[id], name, c->rpc_url[id], sizeof c->rpc_url[id]);
    }
    addr_from_env("EVENTS_OUT_URL", "events.out", c->events_url, sizeof c->events_url);
    /* CORS_ORIGINS: "*" for any; ALLOWED_HOSTS: the host names served without auth besides
     * the loopback ones (a DNS-rebinding page reaches the playground under its own name) */
    if (parse_list(env_str("CORS_ORIGINS", "http://localhost:3000"), &c->cors_origins,
                   &c->n_cors_origins) != 0 ||
        parse_list(env_str("ALLOWED_HOSTS", ""), &c->allowed_hosts, &c->n_allowed_hosts) != 0)
        return AIOPS_ENOMEM;
    return AIOPS_OK;
}

static struct gw gw_state;
static struct event *grace_timer;

/* The access log is buffered (one line per request); this pushes it out every 100 ms. */
static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    log_flush();
}
static uint64_t grace_deadline;

/* Every second: dial again what nng's dialers gave up on (lib/rpc/dialer.h). */
static void on_dial_check(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fwd_check(arg);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gw *gw = arg;
    if (gw->inflight <= 0 || time_mono_ns() > grace_deadline) {
        if (gw->inflight > 0)
            log_warn("stopping with %d requests unanswered after %d s", gw->inflight,
                     GRACE_SECONDS);
        event_base_loopexit(gw->base, NULL);
        return;
    }
    struct timeval tv = {0, 50000};
    evtimer_add(grace_timer, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct gw *gw = arg;
    if (gw->stopping)
        return;
    gw->stopping = 1;
    log_info("signal %d: stopping (%d requests in progress)", (int)sig, gw->inflight);
    server_stop_accepting(gw);
    ws_hub_close_all(gw, 1001, "server shutting down");
    grace_deadline = time_mono_ns() + (uint64_t)GRACE_SECONDS * 1000000000u;
    grace_timer = evtimer_new(gw->base, on_grace, gw);
    on_grace(-1, 0, gw);
}

/* libevent's own warnings (a failing accept(), a socket error) go to our log, rate-limited
 * like ours, instead of straight to stderr. */
static void on_libevent_log(int severity, const char *msg)
{
    enum log_level level = severity == EVENT_LOG_DEBUG  ? LOG_LEVEL_DEBUG
                           : severity == EVENT_LOG_MSG  ? LOG_LEVEL_INFO
                           : severity == EVENT_LOG_WARN ? LOG_LEVEL_WARN
                                                        : LOG_LEVEL_ERROR;
    log_text(level, msg);
}

int main(int argc, char **argv)
{
    struct gw *gw = &gw_state;
    log_init("gateway");
    if (argc > 1) {
        fprintf(stderr, "usage: %s\n(configuration is read from the environment; see README)\n",
                argv[0]);
        return 2;
    }
    if (load_config(&gw->cfg) != 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    event_set_log_callback(on_libevent_log);
    evthread_use_pthreads();
    /* epoll changes are applied once per loop pass: evhttp disables and re-enables a
     * connection's reading around every request, which would be two epoll_ctl calls per
     * request (10% of the loop thread's time in perf) and cancel out in the changelist */
    struct event_config *evcfg = event_config_new();
    if (evcfg != NULL)
        event_config_set_flag(evcfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    gw->base = evcfg != NULL ? event_base_new_with_config(evcfg) : NULL;
    if (evcfg != NULL)
        event_config_free(evcfg);
    gw->started = time_now();
    uint8_t secret[16];
    if (gw->base == NULL || random_bytes(secret, sizeof secret) != 0)
        return 1;
    hex_encode(gw->frame_secret, secret, sizeof secret);
    int rv;
    if ((rv = gw_metrics_init(gw)) != 0 || (rv = ws_hub_init(gw)) != 0 ||
        (rv = server_start(gw)) != 0 || (rv = auth_start(gw)) != 0 ||
        (rv = ratelimit_start(gw)) != 0 || (rv = fwd_start(gw)) != 0) {
        log_error("startup failed: %s", aiops_strerror(rv));
        return 1;
    }
    log_set_buffered(1);
    struct event *log_timer = event_new(gw->base, -1, EV_PERSIST, on_log_flush, NULL);
    struct timeval log_tv = {0, 100000};
    event_add(log_timer, &log_tv);
    struct event *dial_timer = event_new(gw->base, -1, EV_PERSIST, on_dial_check, gw);
    struct timeval dial_tv = {1, 0};
    event_add(dial_timer, &dial_tv);
    struct event *sigterm = evsignal_new(gw->base, SIGTERM, on_signal, gw);
    struct event *sigint = evsignal_new(gw->base, SIGINT, on_signal, gw);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    log_json(LOG_LEVEL_INFO, "listening",
             json_pack("{s:s, s:i, s:b, s:b, s:I, s:s}", "bind", gw->cfg.bind, "port", gw->cfg.port,
                       "auth", !gw->cfg.disable_auth, "jwt", gw->cfg.jwt_secret != NULL,
                       "max_connections", (json_int_t)gw->cfg.max_connections, "version",
                       AIOPS_VERSION));

    event_base_dispatch(gw->base);
    event_free(dial_timer);

    /* Order matters: pending nng calls complete (with ECLOSED) into the queue, which
     * server_stop() drains while the HTTP connections still exist. */
    fwd_stop(gw);
    ratelimit_stop(gw);
    auth_stop(gw);
    ws_hub_free(gw);
    server_stop(gw);
    gw_metrics_free(gw);
    free(gw->openapi);
    event_free(sigterm);
    event_free(sigint);
    event_free(log_timer);
    if (grace_timer)
        event_free(grace_timer);
    event_base_free(gw->base);
    free_list(gw->cfg.cors_origins, gw->cfg.n_cors_origins);
    free_list(gw->cfg.allowed_hosts, gw->cfg.n_allowed_hosts);
    libevent_global_shutdown();
    nng_fini();
    log_info("stopped");
    log_set_buffered(0);
    return 0;
}
