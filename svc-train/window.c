/* The drift window's feed: a sample of the rows svc-train serves, with the model's score for
 * each, handed to Redis for svc-monitor (lib/ml/reference.h compares them with the model's
 * training reference).
 *
 * On the request's path only a copy into the worker thread's own slab happens (at most
 * WINDOW_ROWS_PER_REQUEST rows of a request, evenly spread over it); the flusher thread of
 * serve.c swaps each thread's slab for an empty one once a second and writes them out:
 *   aiops:drift:{project}:{model}:v{version}  list; each element a batch: u32 features,
 *                                             u32 rows, then per row the features' values as
 *                                             the model reads them (lib/data/fmatrix.h
 *                                             encoding) and the score, f64 each, in host
 *                                             order (every service runs on one architecture);
 *                                             trimmed to the last DRIFT_WINDOW elements,
 *                                             which hold at least DRIFT_WINDOW rows
 *   aiops:drift:{project}:latest              the model that predicted last (the default
 *                                             of GET /api/drift/status)
 *   aiops:pred:{project}:{request id}         what one predict request answered, for label
 *                                             feedback (svc-monitor): the model's name, NUL,
 *                                             u32 version, u32 regression flag, u32 rows, then
 *                                             per row the predicted class index or value (f64,
 *                                             host order), then, when an A/B test's arm
 *                                             answered, u32 test id and u32 arm (1: the
 *                                             challenger); kept PREDICTION_TTL_SECONDS. A
 *                                             prediction's id is "{request id}:{row}".
 * PREDICTION_MONITORING=false turns both off (nothing sampled, nothing kept: feedback then
 * finds no prediction); the request counters of serve.c stay.
 *
 * No lock on the request's path: each worker thread appends records to its own slab, which
 * it holds by taking the pointer out of its slot (an atomic exchange) and puts back after;
 * the flusher takes a slab only while it sits in the slot (compare-and-swap against its
 * spare), so the two never share one. Slabs are reused from flush to flush: no allocation
 * per request once they have grown to a second's traffic. */
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/env.h"
#include "core/log.h"
#include "ml/reference.h"
#include "store/kv.h"
#include "train_svc.h"

#define WINDOW_ROWS_PER_REQUEST 32
#define WINDOW_MODELS 64
/* No model's batch grows past this many rows between flushes, in one thread's slab or in
 * the batch written (a burst keeps its first rows). */
#define WINDOW_PENDING_MAX 4096
/* Predictions one thread keeps for feedback between two flushes (more are answered but not
 * kept: their feedback is reported back as unknown ids). */
#define KEPT_MAX 200000
#define PREDICTION_TTL_SECONDS "604800" /* a week; text: the SET command's argument */
#define SLAB_INITIAL ((size_t)64 << 10)
#define SLAB_MAX ((size_t)16 << 20)
/* A slab this large that a flush found mostly empty is given back (a burst's growth). */
#define SLAB_SHRINK ((size_t)1 << 20)
/* Keys written per Redis round trip. */
#define PIPELINE_KEYS 512
#define PROJECT_MAX 71
#define NAME_MAX_LEN 135
/* Per thread: the models whose sampled rows are counted (direct-mapped by address). */
#define THREAD_MODELS 16

enum { RECORD_DRIFT = 1, RECORD_KEPT = 2 };

/* A record in a slab: this header, the project's name, the model's name (drift) or the
 * request id (kept), zeros to a multiple of 8, then the payload: the sampled rows (drift:
 * nrows x (ncols + 1) f64) or the bytes of aiops:pred (kept: `bytes` of them). */
struct record {
    uint32_t size; /* of the whole record, a multiple of 8 */
    uint8_t kind;
    uint8_t plen, nlen;
    uint8_t unused;
    int32_t version;
    uint32_t ncols; /* drift */
    uint32_t nrows; /* drift: rows; kept: payload bytes */
};

struct slab {
    unsigned char *data;
    size_t len, cap;
    size_t kept_rows;
    unsigned generation; /* set by the flusher as it hands the slab over: a thread's
                            per-model counts restart with each slab */
};

/* One worker thread's. */
struct slot {
    _Atomic(struct slab *) cur; /* the thread's; NULL while it writes into it */
    struct slab *spare;         /* the flusher's */
    unsigned swaps;             /* the flusher's count of slabs handed over */
    struct slab a, b;
    struct slot *next;
    struct {
        const struct model *m;
        unsigned generation;
        size_t rows;
    } sampled[THREAD_MODELS]; /* rows sampled per model since the slab was emptied */
};

static _Atomic(struct slot *) slots; /* every thread's that served a prediction */
static _Thread_local struct slot *thread_slot;

static struct {
    long window;
    int monitoring; /* PREDICTION_MONITORING; set before the first request */
} win = {.window = 1000, .monitoring = 1};

/* --- the request path ---------------------------------------------------------------------- */

/* This thread's slab, taken out of its slot (slab_give puts it back); NULL without memory. */
static struct slab *slab_take(struct slot **out)
{
    struct slot *s = thread_slot;
    if (s == NULL) { /* the thread's first prediction: a slot of its own, listed for good */
        s = calloc(1, sizeof *s);
        if (s == NULL)
            return NULL;
        s->spare = &s->b;
        atomic_init(&s->cur, &s->a);
        struct slot *head = atomic_load(&slots);
        do
            s->next = head;
        while (!atomic_compare_exchange_weak(&slots, &head, s));
        thread_slot = s;
    }
    *out = s;
    return atomic_exchange_explicit(&s->cur, NULL, memory_order_acquire);
}

static void slab_give(struct slot *s, struct slab *sl)
{
    atomic_store_explicit(&s->cur, sl, memory_order_release);
}

/* Appends a record with room for `payload` bytes to sl: its payload (8-byte aligned), or
 * NULL when the slab is full. */
static unsigned char *record_add(struct slab *sl, int kind, const char *project,
                                 const char *name, int version, uint32_t ncols, uint32_t nrows,
                                 size_t payload)
{
    size_t plen = strnlen(project, PROJECT_MAX), nlen = strnlen(name, NAME_MAX_LEN);
    size_t head = (sizeof(struct record) + plen + nlen + 7) & ~(size_t)7;
    size_t size = (head + payload + 7) & ~(size_t)7;
    if (sl->len + size > sl->cap) {
        if (sl->len + size > SLAB_MAX)
            return NULL;
        size_t cap = sl->cap ? sl->cap : SLAB_INITIAL;
        while (cap < sl->len + size)
            cap *= 2;
        unsigned char *grown = realloc(sl->data, cap < SLAB_MAX ? cap : SLAB_MAX);
        if (grown == NULL)
            return NULL;
        sl->data = grown;
        sl->cap = cap < SLAB_MAX ? cap : SLAB_MAX;
    }
    unsigned char *p = sl->data + sl->len;
    struct record r = {(uint32_t)size, (uint8_t)kind, (uint8_t)plen, (uint8_t)nlen, 0,
                       version,      ncols,         nrows};
    memcpy(p, &r, sizeof r);
    memcpy(p + sizeof r, project, plen);
    memcpy(p + sizeof r + plen, name, nlen);
    memset(p + sizeof r + plen + nlen, 0, head - sizeof r - plen - nlen);
    sl->len += size;
    return p + head;
}

void window_keep_predictions(const char *project, const char *reqid, const char *name, int version,
                             const struct model *m, const double *pred, size_t n,
                             const struct ab_arm *arm)
{
    if (!win.monitoring)
        return;
    struct slot *s;
    struct slab *sl = slab_take(&s);
    if (sl == NULL)
        return;
    size_t k = model_outputs(m), namelen = strlen(name);
    int regression = m->target.task == TASK_REGRESSION;
    size_t len = namelen + 1 + 12 + n * sizeof(double) + (arm->test_id ? 8 : 0);
    unsigned char *blob =
        sl->kept_rows + n <= KEPT_MAX && len <= UINT32_MAX
            ? record_add(sl, RECORD_KEPT, project, reqid, version, 0, (uint32_t)len, len)
            : NULL;
    if (blob != NULL) {
        sl->kept_rows += n;
        memcpy(blob, name, namelen + 1);
        uint32_t hdr[3] = {(uint32_t)version, (uint32_t)regression, (uint32_t)n};
        memcpy(blob + namelen + 1, hdr, 12);
        for (size_t i = 0; i < n; i++) {
            const double *row = pred + i * k;
            double v = row[0];
            if (!regression) { /* the class answered: the most probable */
                size_t best = 0;
                for (size_t j = 1; j < k; j++)
                    if (row[j] > row[best])
                        best = j;
                v = (double)best;
            }
            memcpy(blob + namelen + 13 + i * sizeof(double), &v, sizeof v);
        }
        if (arm->test_id) { /* label feedback goes to the A/B test's arm too (svc-monitor) */
            uint32_t ab[2] = {(uint32_t)arm->test_id, (uint32_t)arm->challenger};
            memcpy(blob + namelen + 13 + n * sizeof(double), ab, 8);
        }
    }
    slab_give(s, sl);
}

void window_add(const char *project, const char *name, int version, const struct model *m,
                const struct fmatrix *x, const double *pred)
{
    if (!win.monitoring || x->nrows == 0 || x->ncols != m->features.n)
        return;
    struct slot *s;
    struct slab *sl = slab_take(&s);
    if (sl == NULL)
        return;
    size_t take = x->nrows < WINDOW_ROWS_PER_REQUEST ? x->nrows : WINDOW_ROWS_PER_REQUEST;
    /* this thread's count for the model: a burst keeps its first rows */
    size_t h = ((uintptr_t)m >> 6) % THREAD_MODELS;
    if (s->sampled[h].m != m || s->sampled[h].generation != sl->generation) {
        s->sampled[h].m = m;
        s->sampled[h].generation = sl->generation;
        s->sampled[h].rows = 0;
    }
    size_t k = model_outputs(m), width = x->ncols + 1;
    int regression = m->target.task == TASK_REGRESSION;
    double *dst = NULL;
    if (s->sampled[h].rows + take <= WINDOW_PENDING_MAX)
        dst = (double *)(void *)record_add(sl, RECORD_DRIFT, project, name, version,
                                           (uint32_t)x->ncols, (uint32_t)take,
                                           take * width * sizeof(double));
    if (dst != NULL) {
        s->sampled[h].rows += take;
        for (size_t t = 0; t < take; t++, dst += width) {
            size_t r = t * x->nrows / take; /* evenly spread over the request */
            for (size_t j = 0; j < x->ncols; j++)
                dst[j] = x->x[j * x->nrows + r];
            reference_scores(pred + r * k, 1, k, regression, dst + x->ncols);
        }
    }
    slab_give(s, sl);
}

/* --- the flusher ------------------------------------------------------------------------------ */

/* Rows of one model version gathered from every slab, to be written as one batch. */
struct pending {
    char project[PROJECT_MAX + 1];
    char name[NAME_MAX_LEN + 1];
    int version;
    uint32_t ncols;
    size_t nrows;
    struct buf rows; /* u32 ncols, u32 nrows (set when written), then the rows */
};

/* Predictions to keep, as SET commands written PIPELINE_KEYS at a time. */
struct kept_batch {
    struct buf cmds;
    size_t n, lost;
};

/* Takes s's slab, waiting while its thread writes into it (a few microseconds), and leaves
 * the spare in its place. */
static struct slab *slab_swap(struct slot *s)
{
    struct slab *fresh = s->spare;
    fresh->generation = ++s->swaps; /* published by the exchange below */
    for (;;) {
        struct slab *old = atomic_load_explicit(&s->cur, memory_order_acquire);
        if (old != NULL &&
            atomic_compare_exchange_weak_explicit(&s->cur, &old, fresh, memory_order_acq_rel,
                                                  memory_order_acquire))
            return old;
        if (old == NULL)
            sched_yield();
    }
}

static void kept_send(struct kv *kv, struct kept_batch *kb)
{
    if (kb->n == 0)
        return;
    long errors = kv_pipeline(kv, kb->cmds.data, kb->cmds.len, kb->n);
    kb->lost += errors < 0 ? kb->n : (size_t)errors;
    buf_reset(&kb->cmds);
    kb->n = 0;
}

static void kept_add(struct kv *kv, struct kept_batch *kb, const struct record *r,
                     const unsigned char *text, const unsigned char *payload)
{
    /* aiops:pred:{project}:{request id} */
    char key[sizeof "aiops:pred:" + PROJECT_MAX + 1 + NAME_MAX_LEN];
    size_t klen = sizeof "aiops:pred:" - 1;
    memcpy(key, "aiops:pred:", klen);
    memcpy(key + klen, text, r->plen);
    klen += r->plen;
    key[klen++] = ':';
    memcpy(key + klen, text + r->plen, r->nlen);
    klen += r->nlen;
    const char *argv[5] = {"SET", key, (const char *)payload, "EX", PREDICTION_TTL_SECONDS};
    const size_t lens[5] = {3, klen, r->nrows, 2, sizeof PREDICTION_TTL_SECONDS - 1};
    if (kv_format_argv(&kb->cmds, 5, argv, lens) != 0) {
        kb->lost++;
        return;
    }
    if (++kb->n == PIPELINE_KEYS)
        kept_send(kv, kb);
}

/* Adds a drift record's rows to its model's pending batch (a new one while there is room). */
static void pending_add(struct pending *p, size_t *np, const struct record *r,
                        const unsigned char *text, const unsigned char *payload)
{
    struct pending *q = NULL;
    for (size_t i = 0; i < *np && q == NULL; i++)
        if (p[i].version == r->version && strlen(p[i].project) == r->plen &&
            memcmp(p[i].project, text, r->plen) == 0 && strlen(p[i].name) == r->nlen &&
            memcmp(p[i].name, text + r->plen, r->nlen) == 0)
            q = &p[i];
    if (q == NULL && *np < WINDOW_MODELS) {
        q = &p[(*np)++];
        memset(q, 0, sizeof *q);
        memcpy(q->project, text, r->plen);
        memcpy(q->name, text + r->plen, r->nlen);
        q->version = r->version;
        q->ncols = r->ncols;
        uint32_t hdr[2] = {r->ncols, 0};
        if (buf_append(&q->rows, hdr, sizeof hdr) != 0)
            q->ncols = UINT32_MAX; /* never matches: nothing added */
    }
    if (q != NULL && q->ncols == r->ncols && q->nrows + r->nrows <= WINDOW_PENDING_MAX &&
        buf_append(&q->rows, payload, (size_t)r->nrows * (r->ncols + 1) * sizeof(double)) == 0)
        q->nrows += r->nrows;
}

static void pending_write(struct kv *kv, struct pending *p)
{
    uint32_t nrows = (uint32_t)p->nrows;
    memcpy(p->rows.data + 4, &nrows, 4);
    char key[300];
    snprintf(key, sizeof key, "aiops:drift:%s:%s:v%d", p->project, p->name, p->version);
    redisReply *r = kv_command(kv, "RPUSH %s %b", key, p->rows.data, p->rows.len);
    int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
    freeReplyObject(r);
    if (ok) {
        r = kv_command(kv, "LTRIM %s %ld -1", key, -win.window);
        freeReplyObject(r);
        char latest[120];
        snprintf(latest, sizeof latest, "aiops:drift:%s:latest", p->project);
        r = kv_command(kv, "SET %s %s", latest, p->name);
        freeReplyObject(r);
    } else {
        log_warn("drift window of %s not written: Redis unavailable", key);
    }
}

int window_start(void)
{
    int rv = env_long("DRIFT_WINDOW", 1000, 10, 1000000, &win.window);
    return rv != 0 ? rv : env_bool("PREDICTION_MONITORING", 1, &win.monitoring);
}

void window_flush(struct kv *kv)
{
    static struct pending pending[WINDOW_MODELS]; /* the flusher's alone */
    size_t npending = 0;
    struct kept_batch kb = {BUF_INIT, 0, 0};
    for (struct slot *s = atomic_load(&slots); s != NULL; s = s->next) {
        struct slab *sl = slab_swap(s);
        for (size_t off = 0; off < sl->len;) {
            struct record r;
            memcpy(&r, sl->data + off, sizeof r);
            const unsigned char *text = sl->data + off + sizeof r;
            const unsigned char *payload =
                sl->data + off + ((sizeof r + r.plen + r.nlen + 7) & ~(size_t)7);
            if (r.kind == RECORD_KEPT)
                kept_add(kv, &kb, &r, text, payload);
            else
                pending_add(pending, &npending, &r, text, payload);
            off += r.size;
        }
        if (sl->cap > SLAB_SHRINK && sl->len < sl->cap / 8) {
            free(sl->data); /* a burst's growth, not needed by a quiet thread */
            sl->data = NULL;
            sl->cap = 0;
        }
        sl->len = sl->kept_rows = 0;
        s->spare = sl;
    }
    kept_send(kv, &kb);
    buf_free(&kb.cmds);
    if (kb.lost > 0)
        log_warn("%zu predictions not kept for feedback: Redis unavailable", kb.lost);
    for (size_t i = 0; i < npending; i++) {
        if (pending[i].nrows > 0)
            pending_write(kv, &pending[i]);
        buf_free(&pending[i].rows);
    }
}
