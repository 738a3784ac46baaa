/* learn_ensemble.c -- the ensemble (lib/ml/ensemble.h) as a learner: prediction is the
 * weighted mean of its members' predictions (class probabilities or values).
 *
 * ALGO bytes: "ENS1", u64 features, u64 outputs, u32 members, then per member: the
 * learner's name (bytes_put_str), f64 weight, the member's own bytes (bytes_put_str). */
#include "ml/ensemble.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"

#define ENSEMBLE_MAX_MEMBERS 4096

static void ensemble_op_free(void *algo)
{
    struct ensemble *e = algo;
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->n; i++)
        e->member[i].learner->free(e->member[i].algo);
    free(e->member);
    free(e);
}

int ensemble_new(size_t num_features, size_t outputs, struct ensemble **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return AIOPS_ENOMEM;
    (*out)->num_features = num_features;
    (*out)->outputs = outputs;
    return AIOPS_OK;
}

int ensemble_add(struct ensemble *e, const struct learner *l, void *algo, double weight)
{
    if (l == &learner_ensemble || l->num_features(algo) != e->num_features ||
        l->outputs(algo) != e->outputs || !(weight > 0) || e->n >= ENSEMBLE_MAX_MEMBERS) {
        l->free(algo);
        return AIOPS_EINVAL;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 8;
        struct ensemble_member *m = realloc(e->member, cap * sizeof *m);
        if (m == NULL) {
            l->free(algo);
            return AIOPS_ENOMEM;
        }
        e->member = m;
        e->cap = cap;
    }
    e->member[e->n++] = (struct ensemble_member){l, algo, weight};
    return AIOPS_OK;
}

void ensemble_normalise(struct ensemble *e)
{
    double total = 0;
    for (size_t i = 0; i < e->n; i++)
        total += e->member[i].weight;
    for (size_t i = 0; total > 0 && i < e->n; i++)
        e->member[i].weight /= total;
}

static int ensemble_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool,
                               double *out)
{
    const struct ensemble *e = algo;
    if (x->ncols != e->num_features)
        return AIOPS_EINVAL;
    size_t cells = x->nrows * e->outputs;
    double *one = malloc((cells ? cells : 1) * sizeof *one);
    if (one == NULL)
        return AIOPS_ENOMEM;
    memset(out, 0, cells * sizeof *out);
    int rv = AIOPS_OK;
    for (size_t i = 0; rv == 0 && i < e->n; i++) {
        const struct ensemble_member *m = &e->member[i];
        rv = m->learner->predict(m->algo, x, m->learner->parallel_rows ? pool : NULL, one);
        for (size_t c = 0; rv == 0 && c < cells; c++)
            out[c] += m->weight * one[c];
    }
    free(one);
    return rv;
}

static int ensemble_op_save(const void *algo, struct buf *out)
{
    const struct ensemble *e = algo;
    struct buf member = {0};
    int rv = buf_append(out, "ENS1", 4);
    rv = rv ? rv : bytes_put_u64(out, e->num_features);
    rv = rv ? rv : bytes_put_u64(out, e->outputs);
    rv = rv ? rv : bytes_put_u32(out, (uint32_t)e->n);
    for (size_t i = 0; rv == 0 && i < e->n; i++) {
        const struct ensemble_member *m = &e->member[i];
        buf_reset(&member);
        rv = bytes_put_str(out, m->learner->name, strlen(m->learner->name));
        rv = rv ? rv : bytes_put_f64(out, m->weight);
        rv = rv ? rv : m->learner->save(m->algo, &member);
        rv = rv ? rv : bytes_put_str(out, member.data, member.len);
    }
    buf_free(&member);
    return rv;
}

/* One member from r into e; AIOPS_ECORRUPT for anything inconsistent. */
static int load_member(struct bytes_reader *r, struct ensemble *e)
{
    char name[64];
    uint32_t len = bytes_get_u32(r);
    const uint8_t *p = len < sizeof name ? bytes_get_raw(r, len) : NULL;
    if (p == NULL)
        return AIOPS_ECORRUPT;
    memcpy(name, p, len);
    name[len] = '\0';
    double weight = bytes_get_f64(r);
    uint32_t n = bytes_get_u32(r);
    const uint8_t *bytes = bytes_get_raw(r, n);
    const struct learner *l = learner_find(name);
    if (r->bad || l == NULL || l == &learner_ensemble || !(weight > 0) || !isfinite(weight) ||
        !l->needs_target)
        return AIOPS_ECORRUPT;
    void *algo = NULL;
    int rv = l->load(bytes, n, &algo);
    if (rv != 0)
        return rv == AIOPS_ENOMEM ? rv : AIOPS_ECORRUPT;
    rv = ensemble_add(e, l, algo, weight);
    return rv == AIOPS_EINVAL ? AIOPS_ECORRUPT : rv;
}

static int ensemble_op_load(const uint8_t *p, size_t n, void **algo)
{
    struct bytes_reader r = {.p = p, .n = n};
    *algo = NULL;
    const uint8_t *magic = bytes_get_raw(&r, 4);
    uint64_t nf = bytes_get_u64(&r), outputs = bytes_get_u64(&r);
    uint32_t count = bytes_get_u32(&r);
    if (r.bad || memcmp(magic, "ENS1", 4) != 0 || count == 0 || count > ENSEMBLE_MAX_MEMBERS ||
        nf > (1u << 24) || outputs == 0 || outputs > (1u << 16))
        return AIOPS_ECORRUPT;
    struct ensemble *e = NULL;
    int rv = ensemble_new((size_t)nf, (size_t)outputs, &e);
    for (uint32_t i = 0; rv == 0 && i < count; i++)
        rv = load_member(&r, e);
    if (rv == 0 && r.off != r.n)
        rv = AIOPS_ECORRUPT;
    if (rv != 0) {
        ensemble_op_free(e);
        return rv;
    }
    *algo = e;
    return AIOPS_OK;
}

static size_t ensemble_op_num_features(const void *algo)
{
    return ((const struct ensemble *)algo)->num_features;
}

static size_t ensemble_op_outputs(const void *algo)
{
    return ((const struct ensemble *)algo)->outputs;
}

/* The weighted mean of the members' importances, each normalised to sum 1 first (their
 * scales differ); members without importances count nothing. */
static int ensemble_op_importance(const void *algo, double *out)
{
    const struct ensemble *e = algo;
    size_t nf = e->num_features;
    double *one = malloc((nf ? nf : 1) * sizeof *one);
    if (one == NULL)
        return AIOPS_ENOMEM;
    memset(out, 0, nf * sizeof *out);
    int any = 0;
    for (size_t i = 0; i < e->n; i++) {
        const struct ensemble_member *m = &e->member[i];
        if (m->learner->importance == NULL || m->learner->importance(m->algo, one) != 0)
            continue;
        double total = 0;
        for (size_t j = 0; j < nf; j++)
            total += one[j];
        for (size_t j = 0; total > 0 && j < nf; j++)
            out[j] += m->weight * one[j] / total;
        any = 1;
    }
    free(one);
    return any ? AIOPS_OK : AIOPS_EUNSUPPORTED;
}

const struct learner learner_ensemble = {
    .name = "ensemble",
    .summary = "weighted mean of trained models, built by AutoML",
    LEARNER_BUILT_BY_AUTOML, /* assembled from trained members */
    LEARNER_OPS(ensemble),
    .importance = ensemble_op_importance,
};
