/* The drift window's feed: a sample of the rows svc-train serves, with the model's score for
 * each, handed to Redis for svc-monitor (lib/ml/reference.h compares them with the model's
 * training reference).
 *
 * On the request's path only a copy into a bounded in-memory batch happens (at most
 * WINDOW_ROWS_PER_REQUEST rows of a request, evenly spread over it); the flusher thread of
 * serve.c writes the batches out once a second:
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
 * finds no prediction); the request counters of serve.c stay. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/env.h"
#include "core/log.h"
#include "ml/reference.h"
#include "store/kv.h"
#include "train_svc.h"

#define WINDOW_ROWS_PER_REQUEST 32
#define WINDOW_MODELS 64
/* No batch grows past this many rows between flushes (a burst keeps its first rows). */
#define WINDOW_PENDING_MAX 4096
/* Predictions kept for feedback between two flushes (more are answered but not kept: their
 * feedback is reported back as unknown ids). */
#define KEPT_MAX 200000
#define PREDICTION_TTL_SECONDS 604800

struct pending {
    char project[72];
    char name[136];
    int version;
    uint32_t ncols;
    size_t nrows;
    double *rows; /* nrows * (ncols + 1) */
    size_t cap;   /* rows */
};

struct kept {
    char project[72];
    char reqid[40];
    unsigned char *blob;
    size_t len;
};

static struct {
    pthread_mutex_t mu;
    struct pending p[WINDOW_MODELS];
    size_t n;
    long window;
    struct kept *kept; /* predictions waiting for the flusher */
    size_t nkept, capkept, kept_rows;
    int monitoring; /* PREDICTION_MONITORING; set before the first request */
} win = {.mu = PTHREAD_MUTEX_INITIALIZER, .window = 1000, .monitoring = 1};

void window_keep_predictions(const char *project, const char *reqid, const char *name, int version,
                             const struct model *m, const double *pred, size_t n,
                             const struct ab_arm *arm)
{
    if (!win.monitoring)
        return;
    size_t k = model_outputs(m), namelen = strlen(name);
    int regression = m->target.task == TASK_REGRESSION;
    size_t len = namelen + 1 + 12 + n * sizeof(double) + (arm->test_id ? 8 : 0);
    unsigned char *blob = malloc(len);
    if (blob == NULL)
        return;
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
    pthread_mutex_lock(&win.mu);
    if (win.kept_rows + n <= KEPT_MAX && win.nkept == win.capkept) {
        size_t cap = win.capkept ? win.capkept * 2 : 64;
        struct kept *grown = realloc(win.kept, cap * sizeof *grown);
        if (grown != NULL) {
            win.kept = grown;
            win.capkept = cap;
        }
    }
    if (win.kept_rows + n <= KEPT_MAX && win.nkept < win.capkept) {
        struct kept *kp = &win.kept[win.nkept++];
        snprintf(kp->project, sizeof kp->project, "%s", project);
        snprintf(kp->reqid, sizeof kp->reqid, "%s", reqid);
        kp->blob = blob;
        kp->len = len;
        win.kept_rows += n;
        blob = NULL;
    }
    pthread_mutex_unlock(&win.mu);
    free(blob);
}

static void flush_kept(struct kv *kv)
{
    pthread_mutex_lock(&win.mu);
    struct kept *items = win.kept;
    size_t n = win.nkept;
    win.kept = NULL;
    win.nkept = win.capkept = win.kept_rows = 0;
    pthread_mutex_unlock(&win.mu);
    size_t lost = 0;
    for (size_t i = 0; i < n; i++) {
        redisReply *r =
            kv_command(kv, "SET aiops:pred:%s:%s %b EX %d", items[i].project, items[i].reqid,
                       items[i].blob, items[i].len, PREDICTION_TTL_SECONDS);
        lost += r == NULL || r->type == REDIS_REPLY_ERROR;
        freeReplyObject(r);
        free(items[i].blob);
    }
    if (lost > 0)
        log_warn("%zu predictions not kept for feedback: Redis unavailable", lost);
    free(items);
}

int window_start(void)
{
    int rv = env_long("DRIFT_WINDOW", 1000, 10, 1000000, &win.window);
    return rv != 0 ? rv : env_bool("PREDICTION_MONITORING", 1, &win.monitoring);
}

void window_add(const char *project, const char *name, int version, const struct model *m,
                const struct fmatrix *x, const double *pred)
{
    if (!win.monitoring || x->nrows == 0 || x->ncols != m->features.n)
        return;
    size_t take = x->nrows < WINDOW_ROWS_PER_REQUEST ? x->nrows : WINDOW_ROWS_PER_REQUEST;
    size_t k = model_outputs(m), width = x->ncols + 1;
    int regression = m->target.task == TASK_REGRESSION;
    pthread_mutex_lock(&win.mu);
    struct pending *p = NULL;
    for (size_t i = 0; i < win.n && p == NULL; i++)
        if (win.p[i].version == version && strcmp(win.p[i].name, name) == 0 &&
            strcmp(win.p[i].project, project) == 0)
            p = &win.p[i];
    if (p == NULL && win.n < WINDOW_MODELS) {
        p = &win.p[win.n++];
        memset(p, 0, sizeof *p);
        snprintf(p->project, sizeof p->project, "%s", project);
        snprintf(p->name, sizeof p->name, "%s", name);
        p->version = version;
        p->ncols = (uint32_t)x->ncols;
    }
    if (p != NULL && p->ncols == x->ncols && p->nrows + take <= WINDOW_PENDING_MAX) {
        if (p->nrows + take > p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 64;
            while (cap < p->nrows + take)
                cap *= 2;
            double *grown = realloc(p->rows, cap * width * sizeof *grown);
            if (grown != NULL) {
                p->rows = grown;
                p->cap = cap;
            }
        }
        if (p->nrows + take <= p->cap) {
            for (size_t s = 0; s < take; s++) {
                size_t r = s * x->nrows / take; /* evenly spread over the request */
                double *dst = p->rows + (p->nrows + s) * width;
                for (size_t j = 0; j < x->ncols; j++)
                    dst[j] = x->x[j * x->nrows + r];
                reference_scores(pred + r * k, 1, k, regression, dst + x->ncols);
            }
            p->nrows += take;
        }
    }
    pthread_mutex_unlock(&win.mu);
}

void window_flush(struct kv *kv)
{
    flush_kept(kv);
    /* take the batches out under the lock, write them without it */
    struct pending out[WINDOW_MODELS];
    pthread_mutex_lock(&win.mu);
    size_t n = 0;
    for (size_t i = 0; i < win.n; i++)
        if (win.p[i].nrows > 0) {
            out[n++] = win.p[i];
            win.p[i].rows = NULL;
            win.p[i].nrows = win.p[i].cap = 0;
        }
    /* forget models that stayed idle so the table does not fill up for good */
    size_t kept = 0;
    for (size_t i = 0; i < win.n; i++)
        if (win.p[i].rows != NULL)
            win.p[kept++] = win.p[i];
    win.n = kept;
    pthread_mutex_unlock(&win.mu);
    for (size_t i = 0; i < n; i++) {
        struct pending *p = &out[i];
        size_t body = p->nrows * ((size_t)p->ncols + 1) * sizeof(double);
        unsigned char *blob = malloc(8 + body);
        if (blob != NULL) {
            uint32_t hdr[2] = {p->ncols, (uint32_t)p->nrows};
            memcpy(blob, hdr, 8);
            memcpy(blob + 8, p->rows, body);
            char key[300];
            snprintf(key, sizeof key, "aiops:drift:%.71s:%.135s:v%d", p->project, p->name,
                     p->version);
            redisReply *r = kv_command(kv, "RPUSH %s %b", key, blob, (size_t)(8 + body));
            int ok = r != NULL && r->type != REDIS_REPLY_ERROR;
            freeReplyObject(r);
            if (ok) {
                r = kv_command(kv, "LTRIM %s %ld -1", key, -win.window);
                freeReplyObject(r);
                char latest[120];
                snprintf(latest, sizeof latest, "aiops:drift:%.71s:latest", p->project);
                r = kv_command(kv, "SET %s %s", latest, p->name);
                freeReplyObject(r);
            } else {
                log_warn("drift window of %s not written: Redis unavailable", key);
            }
            free(blob);
        }
        free(p->rows);
    }
}
