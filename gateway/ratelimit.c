#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "rpc/bgthread.h"
#include "store/kv.h"

#define SLOTS 8192 /* local buckets; a power of two */
#define PROBE 8    /* slots looked at for a key before the least recently used is reused */
#define BATCH 1024 /* buckets reconciled per sync */

static const char *const class_names[RATE_CLASS_COUNT] = {"read", "write", "predict",
                                                          "auth_failures"};
static const struct rate_limit defaults[RATE_CLASS_COUNT] = {
    {200, 400}, {50, 100}, {10000, 20000}, {2, 20}};

/* Refills and charges the shared bucket on Redis's clock; returns its level after the
 * charge (negative: overdrawn). KEYS[1] the bucket, ARGV rate, burst, tokens taken. */
static const char script[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local rate, burst, used = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local v = redis.call('HMGET', KEYS[1], 'tokens', 'at')\n"
    "local tokens, at = tonumber(v[1]), tonumber(v[2])\n"
    "if tokens == nil or at == nil then tokens = burst; at = now end\n"
    "tokens = math.min(burst, tokens + (now - at) * rate / 1000) - used\n"
    "redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)\n"
    "redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 60000)\n"
    "return tostring(tokens)\n";

struct bucket {
    uint64_t key; /* 0: free */
    double tokens;
    uint64_t at_ns; /* when tokens was last refilled */
    uint32_t taken; /* tokens taken since the last sync */
    uint8_t cls;
};

struct sync_item {
    uint64_t key;
    uint32_t slot, taken;
    uint8_t cls;
    double level; /* the shared bucket's level after the charge; NAN: not known */
};

struct ratelimit {
    struct gw *gw;
    struct rate_limit lim[RATE_CLASS_COUNT];
    struct bucket *b; /* SLOTS, loop thread only */
    struct event *timer;
    struct bg_thread sync;        /* the sync thread; its mu guards what follows */
    struct sync_item todo[BATCH]; /* for the sync thread (its cv signals a batch) */
    size_t ntodo;
    struct sync_item done[BATCH]; /* back from it */
    size_t ndone;
};

static struct ratelimit *rl_state; /* one gateway per process */

/* --- configuration -------------------------------------------------------------------- */

static int parse_one(const char *item, size_t n, struct rate_limit out[RATE_CLASS_COUNT])
{
    char buf[64];
    if (n >= sizeof buf)
        return AIOPS_EINVAL;
    memcpy(buf, item, n);
    buf[n] = '\0';
    char *eq = strchr(buf, '=');
    if (eq == NULL)
        return AIOPS_EINVAL;
    *eq = '\0';
    int cls = -1;
    for (int c = 0; c < RATE_CLASS_COUNT; c++)
        if (strcmp(buf, class_names[c]) == 0)
            cls = c;
    if (cls < 0)
        return AIOPS_EINVAL;
    if (strcmp(eq + 1, "off") == 0) {
        out[cls].rate = out[cls].burst = 0;
        return AIOPS_OK;
    }
    char *end;
    double rate = strtod(eq + 1, &end), burst = 2 * rate;
    if (*end == ':')
        burst = strtod(end + 1, &end);
    if (*end != '\0' || !(rate > 0 && rate <= 1e9) || !(burst >= 1 && burst <= 1e9))
        return AIOPS_EINVAL;
    out[cls].rate = rate;
    out[cls].burst = burst;
    return AIOPS_OK;
}

int ratelimit_parse(const char *spec, struct rate_limit out[RATE_CLASS_COUNT])
{
    memcpy(out, defaults, sizeof defaults);
    if (spec == NULL || spec[0] == '\0')
        return AIOPS_OK;
    if (strcmp(spec, "off") == 0) {
        memset(out, 0, sizeof defaults);
        return AIOPS_OK;
    }
    for (const char *p = spec; *p;) {
        size_t n = strcspn(p, ",");
        if (parse_one(p, n, out) != 0) {
            log_error("config: RATE_LIMITS: cannot read \"%.*s\" (class=rate[:burst] or "
                      "class=off; classes read, write, predict, auth_failures)",
                      (int)n, p);
            return AIOPS_EINVAL;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return AIOPS_OK;
}

/* --- local buckets (loop thread) ------------------------------------------------------ */

static uint64_t bucket_key(int cls, const char *who)
{
    uint64_t h = UINT64_C(1469598103934665603) ^ ((uint64_t)(unsigned)cls + 1u);
    for (const char *s = who; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h ? h : 1;
}

static struct bucket *bucket_get(struct ratelimit *rl, uint64_t key, int cls, uint64_t now)
{
    struct bucket *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct bucket *b = &rl->b[(key + i) & (SLOTS - 1)];
        if (b->key == key)
            return b;
        if (victim == NULL || b->key == 0 || (victim->key != 0 && b->at_ns < victim->at_ns))
            victim = b;
    }
    /* a new caller, or one forgotten: a full bucket (the shared one corrects it) */
    victim->key = key;
    victim->cls = (uint8_t)cls;
    victim->tokens = rl->lim[cls].burst;
    victim->at_ns = now;
    victim->taken = 0;
    return victim;
}

static void refill(const struct rate_limit *lim, struct bucket *b, uint64_t now)
{
    double t = b->tokens + (double)(now - b->at_ns) / 1e9 * lim->rate;
    b->tokens = t > lim->burst ? lim->burst : t;
    b->at_ns = now;
}

/* The RateLimit-* headers of b's state, and Retry-After when limited. */
static void add_headers(struct gw_req *r, const struct rate_limit *lim, const struct bucket *b,
                        int limited)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(r->req);
    char v[32];
    snprintf(v, sizeof v, "%.0f", lim->burst);
    evhttp_add_header(out, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%.0f", b->tokens >= 1 ? floor(b->tokens) : 0);
    evhttp_add_header(out, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%.0f", ceil((lim->burst - b->tokens) / lim->rate));
    evhttp_add_header(out, "RateLimit-Reset", v);
    if (limited) {
        double wait = ceil((1 - b->tokens) / lim->rate);
        snprintf(v, sizeof v, "%.0f", wait < 1 ? 1 : wait);
        evhttp_add_header(out, "Retry-After", v);
    }
}

static void reply_limited(struct gw_req *r, int cls, const struct bucket *b)
{
    const struct rate_limit *lim = &rl_state->lim[cls];
    add_headers(r, lim, b, 1);
    gw_reply_error(r, API_RATE_LIMITED, NULL,
                   json_pack("{s:s, s:f, s:f}", "class", class_names[cls], "rate", lim->rate,
                             "burst", lim->burst));
}

static int route_class(const struct gw_req *r)
{
    if (r->route->scope == SCOPE_PREDICT)
        return RATE_PREDICT;
    const char *m = r->route->method;
    return strcmp(m, "GET") == 0 || strcmp(m, "WS") == 0 ? RATE_READ : RATE_WRITE;
}

int ratelimit_request(struct gw_req *r)
{
    struct ratelimit *rl = rl_state;
    if (rl == NULL || r->route->scope == SCOPE_PUBLIC)
        return 0;
    int cls = route_class(r);
    const struct rate_limit *lim = &rl->lim[cls];
    if (lim->rate <= 0)
        return 0;
    char who[128];
    if (strcmp(r->principal.method, "none") == 0)
        snprintf(who, sizeof who, "addr:%s", r->remote);
    else
        snprintf(who, sizeof who, "%s", r->principal.subject);
    uint64_t now = time_mono_ns();
    struct bucket *b = bucket_get(rl, bucket_key(cls, who), cls, now);
    refill(lim, b, now);
    if (b->tokens < 1) {
        reply_limited(r, cls, b);
        return 1;
    }
    b->tokens -= 1;
    b->taken++;
    if (strcmp(r->route->method, "WS") != 0) /* a 101 is written by hand (wshub.c) */
        add_headers(r, lim, b, 0);
    return 0;
}

static struct bucket *auth_bucket(struct gw_req *r, uint64_t now)
{
    char who[80];
    snprintf(who, sizeof who, "authfail:%s", r->remote);
    struct bucket *b =
        bucket_get(rl_state, bucket_key(RATE_AUTH_FAILURES, who), RATE_AUTH_FAILURES, now);
    refill(&rl_state->lim[RATE_AUTH_FAILURES], b, now);
    return b;
}

int ratelimit_auth_blocked(struct gw_req *r)
{
    if (rl_state == NULL || rl_state->lim[RATE_AUTH_FAILURES].rate <= 0 ||
        r->route->scope == SCOPE_PUBLIC || r->gw->cfg.disable_auth)
        return 0;
    struct bucket *b = auth_bucket(r, time_mono_ns());
    if (b->tokens >= 1)
        return 0;
    reply_limited(r, RATE_AUTH_FAILURES, b);
    return 1;
}

void ratelimit_auth_failed(struct gw_req *r)
{
    if (rl_state == NULL || rl_state->lim[RATE_AUTH_FAILURES].rate <= 0)
        return;
    struct bucket *b = auth_bucket(r, time_mono_ns());
    b->tokens -= 1;
    b->taken++;
}

/* --- reconciling with Redis ------------------------------------------------------------ */

/* Timer (loop thread): applies what the sync thread brought back, hands it the next batch. */
static void on_sync(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct ratelimit *rl = arg;
    uint64_t now = time_mono_ns();
    pthread_mutex_lock(&rl->sync.mu);
    for (size_t i = 0; i < rl->ndone; i++) {
        struct sync_item *it = &rl->done[i];
        struct bucket *b = &rl->b[it->slot];
        if (b->key != it->key || isnan(it->level))
            continue;
        refill(&rl->lim[b->cls], b, now);
        /* the shared level, less what was taken here since the batch left */
        double shared = it->level - b->taken;
        if (shared < b->tokens)
            b->tokens = shared;
    }
    rl->ndone = 0;
    if (rl->ntodo == 0) {
        for (uint32_t s = 0; s < SLOTS && rl->ntodo < BATCH; s++) {
            struct bucket *b = &rl->b[s];
            if (b->key == 0 || b->taken == 0)
                continue;
            rl->todo[rl->ntodo++] = (struct sync_item){b->key, s, b->taken, b->cls, NAN};
            b->taken = 0;
        }
        if (rl->ntodo > 0)
            pthread_cond_signal(&rl->sync.cv);
    }
    pthread_mutex_unlock(&rl->sync.mu);
}

static void charge(struct ratelimit *rl, struct kv *kv, struct sync_item *it)
{
    const struct rate_limit *lim = &rl->lim[it->cls];
    char key[96], rate[32], burst[32], used[32];
    snprintf(key, sizeof key, "aiops:ratelimit:%s:%016llx", class_names[it->cls],
             (unsigned long long)it->key);
    snprintf(rate, sizeof rate, "%.17g", lim->rate);
    snprintf(burst, sizeof burst, "%.17g", lim->burst);
    snprintf(used, sizeof used, "%u", (unsigned)it->taken);
    redisReply *rep = kv_command(kv, "EVAL %s 1 %s %s %s %s", script, key, rate, burst, used);
    it->level = NAN;
    if (rep != NULL && rep->type == REDIS_REPLY_STRING)
        it->level = strtod(rep->str, NULL);
    else if (rep != NULL && rep->type == REDIS_REPLY_ERROR)
        log_warn("ratelimit: Redis refused the bucket script: %s", rep->str);
    if (rep != NULL)
        freeReplyObject(rep);
}

static void *sync_main(void *arg)
{
    struct ratelimit *rl = arg;
    struct kv *kv = NULL;
    kv_open(rl->gw->cfg.redis_url, &kv);
    static struct sync_item work[BATCH];
    pthread_mutex_lock(&rl->sync.mu);
    for (;;) {
        while (!rl->sync.stop && rl->ntodo == 0)
            pthread_cond_wait(&rl->sync.cv, &rl->sync.mu);
        if (rl->sync.stop)
            break;
        size_t n = rl->ntodo;
        memcpy(work, rl->todo, n * sizeof *work);
        pthread_mutex_unlock(&rl->sync.mu);
        for (size_t i = 0; i < n; i++)
            if (kv != NULL)
                charge(rl, kv, &work[i]);
        pthread_mutex_lock(&rl->sync.mu);
        memcpy(rl->done, work, n * sizeof *work);
        rl->ndone = n;
        rl->ntodo = 0;
    }
    pthread_mutex_unlock(&rl->sync.mu);
    kv_close(kv);
    return NULL;
}

int ratelimit_start(struct gw *gw)
{
    struct ratelimit *rl = calloc(1, sizeof *rl);
    if (rl == NULL || (rl->b = calloc(SLOTS, sizeof *rl->b)) == NULL) {
        free(rl);
        return AIOPS_ENOMEM;
    }
    rl->gw = gw;
    memcpy(rl->lim, gw->cfg.rate_limits, sizeof rl->lim);
    rl->timer = event_new(gw->base, -1, EV_PERSIST, on_sync, rl);
    if (rl->timer == NULL || bg_thread_start(&rl->sync, sync_main, rl) != 0) {
        if (rl->timer)
            event_free(rl->timer);
        free(rl->b);
        free(rl);
        return AIOPS_ENOMEM;
    }
    struct timeval tv = {0, RATELIMIT_SYNC_MS * 1000};
    event_add(rl->timer, &tv);
    rl_state = rl;
    return AIOPS_OK;
}

void ratelimit_stop(struct gw *gw)
{
    (void)gw;
    struct ratelimit *rl = rl_state;
    if (rl == NULL)
        return;
    bg_thread_stop(&rl->sync);
    event_free(rl->timer);
    free(rl->b);
    free(rl);
    rl_state = NULL;
}
