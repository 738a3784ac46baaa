#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

#include "core/crypto.h"
#include "core/encode.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "http/jwt.h"
#include "http/url.h"
#include "rpc/bgthread.h"
#include "store/db.h"
#include "gwmetrics.h"
#include "store/kv.h"

/* Direct-mapped cache of key lookups, indexed by the key hash (loop thread only). A
 * collision just evicts: the worst case is one more lookup. */
#define CACHE_SLOTS 4096
/* How often the readiness checks run. */
#define READY_PERIOD_MS 1000

struct key_entry {
    uint8_t hash[32];
    int used;
    int found;
    uint64_t expires_ns;
    struct principal p;
};

/* Revoked key hashes found by the background thread, waiting for the loop thread. More
 * than this between two ticks of the hub: the rest are found again on the next look (it
 * overlaps the previous one). */
#define REVOKED_MAX 256
/* Each look for revocations reaches back this far past the previous one: a revocation
 * committed late (its revoked_at earlier than our last look) is still seen. */
#define REVOKED_OVERLAP "60 seconds"

struct auth {
    struct gw *gw;
    struct bg_thread bg;              /* the lookups' thread; its mu guards what follows */
    struct gw_req_queue lookups;      /* queued for it (its cv signals one) */
    uint8_t revoked[REVOKED_MAX][32]; /* under mu */
    size_t nrevoked;
    char revoked_since[40]; /* the database's clock at the last look ("" before the first);
                               background thread only */
    struct key_entry cache[CACHE_SLOTS];
};

/* --- scopes -------------------------------------------------------------------------- */

int auth_scope_parse(const char *name)
{
    for (int s = 0; s < SCOPE_COUNT; s++)
        if (strcmp(name, scope_name((enum route_scope)s)) == 0)
            return s;
    return -1;
}

void auth_scope_names(uint32_t scopes, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int s = 1; s < SCOPE_COUNT; s++) {
        if (!(scopes & (1u << s)))
            continue;
        int n = snprintf(out + o, cap - o, "%s%s", o ? " " : "", scope_name((enum route_scope)s));
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
}

int auth_allows(const struct principal *p, enum route_scope scope)
{
    if (scope == SCOPE_PUBLIC)
        return 1;
    return (p->scopes & (1u << scope)) || (p->scopes & (1u << SCOPE_ADMIN));
}

/* PostgreSQL text[] output: {read,write} */
static uint32_t parse_pg_scopes(const char *s)
{
    uint32_t bits = 0;
    char word[32];
    size_t n = 0;
    for (const char *p = s;; p++) {
        if (*p == '{' || *p == '"')
            continue;
        if (*p == ',' || *p == '}' || *p == '\0') {
            word[n] = '\0';
            int sc = auth_scope_parse(word);
            if (sc > 0)
                bits |= 1u << sc;
            n = 0;
            if (*p == '\0' || *p == '}')
                break;
            continue;
        }
        if (n + 1 < sizeof word)
            word[n++] = *p;
    }
    return bits;
}

/* --- the background thread ----------------------------------------------------------- */

static void lookup_key(struct db *db, struct gw_req *r)
{
    const char *vals[1] = {(const char *)r->key_hash};
    int lens[1] = {32}, fmts[1] = {1};
    PGresult *res;
    int rv = db_exec(db, &res,
                     "SELECT id::text, project_id, scopes FROM api_keys "
                     "WHERE key_hash = $1 AND revoked_at IS NULL",
                     1, vals, lens, fmts);
    if (rv != 0) {
        r->auth_result = AIOPS_EUNAVAIL;
        return;
    }
    if (PQntuples(res) != 1) {
        r->auth_result = AIOPS_EAUTH;
    } else {
        snprintf(r->principal.subject, sizeof r->principal.subject, "key:%s",
                 PQgetvalue(res, 0, 0));
        snprintf(r->principal.project, sizeof r->principal.project, "%s", PQgetvalue(res, 0, 1));
        snprintf(r->principal.method, sizeof r->principal.method, "api_key");
        r->principal.scopes = parse_pg_scopes(PQgetvalue(res, 0, 2));
        r->auth_result = AIOPS_OK;
    }
    PQclear(res);
}

/* Keys revoked since the last look, queued for the loop thread (background thread). */
static void find_revoked(struct auth *a, struct db *db)
{
    PGresult *res;
    const char *vals[1] = {a->revoked_since[0] ? a->revoked_since : NULL};
    int rv = db_exec(db, &res,
                     "SELECT now()::text, encode(k.key_hash, 'hex') FROM (SELECT 1) one "
                     "LEFT JOIN api_keys k ON k.revoked_at >= "
                     "coalesce($1::timestamptz, now()) - interval '" REVOKED_OVERLAP "'",
                     1, vals, NULL, NULL);
    if (rv != 0)
        return;
    int n = PQntuples(res);
    pthread_mutex_lock(&a->bg.mu);
    for (int i = 0; i < n; i++) {
        const char *hex = PQgetvalue(res, i, 1);
        if (!PQgetisnull(res, i, 1) && a->nrevoked < REVOKED_MAX && strlen(hex) == 64 &&
            hex_decode(hex, a->revoked[a->nrevoked], 32) == 0)
            a->nrevoked++;
    }
    pthread_mutex_unlock(&a->bg.mu);
    if (n > 0)
        snprintf(a->revoked_since, sizeof a->revoked_since, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* The served models' series svc-monitor keeps in Redis, for GET /api/metrics. */
static void fetch_model_metrics(struct gw *gw, struct kv *kv)
{
    redisReply *text = kv_command(kv, "GET aiops:metrics:models");
    redisReply *js = kv_command(kv, "GET aiops:metrics:models:json");
    int have = text != NULL && text->type == REDIS_REPLY_STRING && js != NULL &&
               js->type == REDIS_REPLY_STRING;
    gw_metrics_set_models(gw, have ? text->str : NULL, have ? text->len : 0,
                          have ? js->str : NULL);
    freeReplyObject(text);
    freeReplyObject(js);
}

static void *auth_main(void *arg)
{
    struct auth *a = arg;
    struct gw *gw = a->gw;
    struct db *db = NULL;
    struct kv *kv = NULL;
    db_open(gw->cfg.db_url, &db);
    kv_open(gw->cfg.redis_url, &kv);
    uint64_t next_check = 0, next_revoked = 0;
    pthread_mutex_lock(&a->bg.mu);
    while (!a->bg.stop) {
        struct gw_req *r = gw_req_queue_pop(&a->lookups);
        if (r != NULL) {
            pthread_mutex_unlock(&a->bg.mu);
            lookup_key(db, r);
            gw_post(gw, r);
            pthread_mutex_lock(&a->bg.mu);
            continue;
        }
        uint64_t now = time_mono_ns();
        if (now >= next_check) {
            pthread_mutex_unlock(&a->bg.mu);
            int dbok = db != NULL && db_exec(db, NULL, "SELECT 1", 0, NULL, NULL, NULL) == 0;
            int kvok = kv != NULL && kv_ping(kv) == 0;
            atomic_store(&gw->db_up, dbok);
            atomic_store(&gw->redis_up, kvok);
            if (kvok)
                fetch_model_metrics(gw, kv);
            if (dbok && now >= next_revoked) {
                find_revoked(a, db);
                next_revoked = now + (uint64_t)AUTH_REVOKED_PERIOD_SECONDS * 1000000000u;
            }
            next_check = time_mono_ns() + (uint64_t)READY_PERIOD_MS * 1000000u;
            pthread_mutex_lock(&a->bg.mu);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait_ns = next_check - now;
        ts.tv_sec += (time_t)(wait_ns / 1000000000u);
        ts.tv_nsec += (long)(wait_ns % 1000000000u);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->bg.cv, &a->bg.mu, &ts);
    }
    /* lookups still queued are answered as unavailable so that no request hangs */
    struct gw_req *r;
    while ((r = gw_req_queue_pop(&a->lookups)) != NULL) {
        r->auth_result = AIOPS_EUNAVAIL;
        gw_post(gw, r);
    }
    pthread_mutex_unlock(&a->bg.mu);
    db_close(db);
    kv_close(kv);
    return NULL;
}

int auth_start(struct gw *gw)
{
    struct auth *a = calloc(1, sizeof *a);
    if (a == NULL)
        return AIOPS_ENOMEM;
    a->gw = gw;
    gw->auth = a;
    return bg_thread_start(&a->bg, auth_main, a);
}

void auth_stop(struct gw *gw)
{
    struct auth *a = gw->auth;
    if (a == NULL)
        return;
    bg_thread_stop(&a->bg);
    free(a);
    gw->auth = NULL;
}

/* --- request side (loop thread) ------------------------------------------------------ */

static struct key_entry *cache_slot(struct auth *a, const uint8_t hash[32])
{
    uint32_t i =
        ((uint32_t)hash[0] | (uint32_t)hash[1] << 8 | (uint32_t)hash[2] << 16) % CACHE_SLOTS;
    return &a->cache[i];
}

size_t auth_take_revoked(struct gw *gw, uint8_t (*hashes)[32], size_t cap)
{
    struct auth *a = gw->auth;
    pthread_mutex_lock(&a->bg.mu);
    size_t n = a->nrevoked < cap ? a->nrevoked : cap;
    memcpy(hashes, a->revoked, n * 32);
    memmove(a->revoked, a->revoked + n, (a->nrevoked - n) * 32);
    a->nrevoked -= n;
    pthread_mutex_unlock(&a->bg.mu);
    for (size_t i = 0; i < n; i++) {
        struct key_entry *e = cache_slot(a, hashes[i]);
        if (e->used && memcmp(e->hash, hashes[i], 32) == 0)
            e->used = 0;
    }
    return n;
}

/* message NULL: the catalogue's message for e. */
static enum auth_outcome fail(enum api_error e, const char *m, enum api_error *err,
                              const char **message)
{
    *err = e;
    *message = m;
    return AUTH_FAILED;
}

static enum auth_outcome check_scope(struct gw_req *r, enum api_error *err, const char **message)
{
    if (!auth_allows(&r->principal, r->route->scope))
        return fail(API_FORBIDDEN, NULL, err, message);
    return AUTH_OK;
}

static int key_well_formed(const char *k, size_t n)
{
    if (n < 16 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static enum auth_outcome auth_key(struct gw_req *r, const char *key, enum api_error *err,
                                  const char **message)
{
    size_t n = strlen(key);
    if (!key_well_formed(key, n))
        return fail(API_INVALID_API_KEY, NULL, err, message);
    sha256(key, n, r->key_hash);
    struct auth *a = r->gw->auth;
    struct key_entry *e = cache_slot(a, r->key_hash);
    if (e->used && memcmp(e->hash, r->key_hash, 32) == 0 && e->expires_ns > time_mono_ns()) {
        if (!e->found)
            return fail(API_INVALID_API_KEY, NULL, err, message);
        r->principal = e->p;
        return check_scope(r, err, message);
    }
    r->stage = STAGE_AUTH_WAIT;
    pthread_mutex_lock(&a->bg.mu);
    gw_req_queue_push(&a->lookups, r);
    pthread_cond_signal(&a->bg.cv);
    pthread_mutex_unlock(&a->bg.mu);
    return AUTH_PENDING;
}

enum auth_outcome auth_lookup_done(struct gw_req *r, enum api_error *err, const char **message)
{
    if (r->auth_result == AIOPS_EUNAVAIL)
        return fail(API_AUTH_UNAVAILABLE, NULL, err, message);
    struct key_entry *e = cache_slot(r->gw->auth, r->key_hash);
    memcpy(e->hash, r->key_hash, 32);
    e->used = 1;
    e->found = r->auth_result == AIOPS_OK;
    e->expires_ns =
        time_mono_ns() +
        (uint64_t)(e->found ? AUTH_KEY_TTL_SECONDS : AUTH_MISS_TTL_SECONDS) * 1000000000u;
    if (!e->found)
        return fail(API_INVALID_API_KEY, NULL, err, message);
    e->p = r->principal;
    return check_scope(r, err, message);
}

static enum auth_outcome auth_jwt(struct gw_req *r, const char *token, enum api_error *err,
                                  const char **message)
{
    const struct gw_config *cfg = &r->gw->cfg;
    if (cfg->jwt_secret == NULL)
        return fail(API_INVALID_TOKEN, "bearer tokens are not accepted (JWT_SECRET is unset)", err,
                    message);
    struct jwt_claims cl;
    struct aiops_error why;
    int rv = jwt_verify_hs256(token, strlen(token), cfg->jwt_secret, strlen(cfg->jwt_secret),
                              (int64_t)time_now(), cfg->jwt_leeway, 1, &cl, &why);
    if (rv != 0) {
        static char msg[AIOPS_ERROR_MESSAGE + 32]; /* loop thread only */
        snprintf(msg, sizeof msg, "the bearer token was refused: %s", why.message);
        return fail(API_INVALID_TOKEN, msg, err, message);
    }
    /* a token names the project it may touch: landing one without a claim in "default"
     * would hand it whatever lives there */
    if (!cl.has_project || cl.project[0] == '\0')
        return fail(API_INVALID_TOKEN, "the bearer token was refused: it has no \"project\" claim",
                    err, message);
    struct principal *p = &r->principal;
    snprintf(p->subject, sizeof p->subject, "jwt:%s", cl.has_sub ? cl.sub : "");
    snprintf(p->project, sizeof p->project, "%s", cl.project);
    snprintf(p->method, sizeof p->method, "jwt");
    p->expires_at = cl.has_exp ? cl.exp + cfg->jwt_leeway : 0;
    p->scopes = 0;
    for (size_t i = 0; i < cl.nscopes; i++) {
        int sc = auth_scope_parse(cl.scopes[i]);
        if (sc > 0)
            p->scopes |= 1u << sc;
    }
    return check_scope(r, err, message);
}

enum auth_outcome auth_request(struct gw_req *r, enum api_error *err, const char **message)
{
    struct principal *p = &r->principal;
    memset(p, 0, sizeof *p);
    if (r->gw->cfg.disable_auth || r->route->scope == SCOPE_PUBLIC) {
        snprintf(p->subject, sizeof p->subject, "anonymous");
        snprintf(p->project, sizeof p->project, "default");
        snprintf(p->method, sizeof p->method, "none");
        p->scopes = r->gw->cfg.disable_auth ? (1u << SCOPE_COUNT) - 2 : 0;
        return AUTH_OK;
    }
    struct evkeyvalq *h = evhttp_request_get_input_headers(r->req);
    const char *key = evhttp_find_header(h, "X-API-Key");
    const char *authz = evhttp_find_header(h, "Authorization");
    /* Browsers cannot set headers on a WebSocket handshake: allow the query there only. */
    char qbuf[JWT_MAX_TOKEN + 1];
    int ws = strcmp(r->route->method, "WS") == 0;
    if (key == NULL && authz == NULL && ws && r->query != NULL) {
        if (url_query_get(r->query, "api_key", qbuf, sizeof qbuf) == 0)
            return auth_key(r, qbuf, err, message);
        if (url_query_get(r->query, "token", qbuf, sizeof qbuf) == 0)
            return auth_jwt(r, qbuf, err, message);
    }
    if (key != NULL)
        return auth_key(r, key, err, message);
    if (authz != NULL) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return fail(API_INVALID_TOKEN, "Authorization must be \"Bearer <token>\"", err,
                        message);
        const char *tok = authz + 7;
        while (*tok == ' ')
            tok++;
        return auth_jwt(r, tok, err, message);
    }
    return fail(API_MISSING_CREDENTIALS, NULL, err, message);
}
