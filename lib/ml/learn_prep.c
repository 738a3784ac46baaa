/* learn_prep.c -- a learner's model behind the feature set's searched transforms
 * (featureset.h, "searched transforms") as a learner of its own ("prep"): predict applies
 * the transforms to the feature set's matrix, then the inner model. AutoML builds it for a
 * trial whose transforms are not the identity, so the saved model (alone or as an ensemble
 * member) applies them in `aiops predict`, eval and serving. Like the ensemble it is not in
 * the registry's list and cannot be trained directly; learner_find() knows it.
 *
 * ALGO bytes: "PRP1", the transforms (feature_prep_save, as bytes_put_str), the inner
 * learner's name (bytes_put_str), its bytes (bytes_put_str). */
#include "ml/prep.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/err.h"
#include "ml/ensemble.h"

int prep_model_new(struct feature_prep *prep, const struct learner *inner, void *algo,
                   struct prep_model **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL || inner == &learner_prep || inner == &learner_ensemble ||
        inner->num_features(algo) != prep->nout) {
        int rv = *out == NULL ? AIOPS_ENOMEM : AIOPS_EINVAL;
        free(*out);
        *out = NULL;
        feature_prep_free(prep);
        inner->free(algo);
        return rv;
    }
    **out = (struct prep_model){prep, inner, algo};
    return AIOPS_OK;
}

static void prep_op_free(void *algo)
{
    struct prep_model *m = algo;
    if (m == NULL)
        return;
    feature_prep_free(m->prep);
    m->inner->free(m->algo);
    free(m);
}

static int prep_op_predict(const void *algo, const struct fmatrix *x, struct pool *pool,
                           double *out)
{
    const struct prep_model *m = algo;
    struct fmatrix xt;
    int rv = feature_prep_apply(m->prep, x, &xt);
    if (rv == 0)
        rv = m->inner->predict(m->algo, &xt, m->inner->parallel_rows ? pool : NULL, out);
    xt.sp = NULL; /* borrowed from x */
    fmatrix_free(&xt);
    return rv;
}

static int prep_op_save(const void *algo, struct buf *out)
{
    const struct prep_model *m = algo;
    struct buf part = {0};
    int rv = buf_append(out, "PRP1", 4);
    rv = rv ? rv : feature_prep_save(m->prep, &part);
    rv = rv ? rv : bytes_put_str(out, part.data, part.len);
    rv = rv ? rv : bytes_put_str(out, m->inner->name, strlen(m->inner->name));
    if (rv == 0) {
        buf_reset(&part);
        rv = m->inner->save(m->algo, &part);
    }
    rv = rv ? rv : bytes_put_str(out, part.data, part.len);
    buf_free(&part);
    return rv;
}

static int prep_op_load(const uint8_t *p, size_t n, void **algo)
{
    struct bytes_reader r = {.p = p, .n = n};
    *algo = NULL;
    const uint8_t *magic = bytes_get_raw(&r, 4);
    uint32_t plen = bytes_get_u32(&r);
    const uint8_t *pbytes = bytes_get_raw(&r, plen);
    char name[64];
    uint32_t len = bytes_get_u32(&r);
    const uint8_t *nbytes = len < sizeof name ? bytes_get_raw(&r, len) : NULL;
    uint32_t alen = bytes_get_u32(&r);
    const uint8_t *abytes = bytes_get_raw(&r, alen);
    if (r.bad || nbytes == NULL || memcmp(magic, "PRP1", 4) != 0 || r.off != r.n)
        return AIOPS_ECORRUPT;
    memcpy(name, nbytes, len);
    name[len] = '\0';
    const struct learner *inner = learner_find(name);
    if (inner == NULL || inner == &learner_prep || inner == &learner_ensemble ||
        !inner->needs_target)
        return AIOPS_ECORRUPT;
    struct feature_prep *prep = NULL;
    void *ia = NULL;
    int rv = feature_prep_load(pbytes, plen, &prep);
    if (rv == 0)
        rv = inner->load(abytes, alen, &ia);
    if (rv != 0) {
        feature_prep_free(prep);
        return rv == AIOPS_ENOMEM ? rv : AIOPS_ECORRUPT;
    }
    struct prep_model *m = NULL;
    rv = prep_model_new(prep, inner, ia, &m);
    *algo = m;
    return rv == AIOPS_EINVAL ? AIOPS_ECORRUPT : rv;
}

static size_t prep_op_num_features(const void *algo)
{
    return ((const struct prep_model *)algo)->prep->nin;
}

static size_t prep_op_outputs(const void *algo)
{
    const struct prep_model *m = algo;
    return m->inner->outputs(m->algo);
}

/* The inner model's importances, each on the feature its column came from (features left
 * out by the selection count 0). */
static int prep_op_importance(const void *algo, double *out)
{
    const struct prep_model *m = algo;
    if (m->inner->importance == NULL)
        return AIOPS_EUNSUPPORTED;
    double *one = malloc((m->prep->nout ? m->prep->nout : 1) * sizeof *one);
    if (one == NULL)
        return AIOPS_ENOMEM;
    int rv = m->inner->importance(m->algo, one);
    memset(out, 0, m->prep->nin * sizeof *out);
    for (size_t j = 0; rv == 0 && j < m->prep->nout; j++)
        out[m->prep->col[j].src] += one[j];
    free(one);
    return rv;
}

const struct learner learner_prep = {
    .name = "prep",
    .summary = "a model behind AutoML's searched feature transforms",
    LEARNER_BUILT_BY_AUTOML,
    LEARNER_OPS(prep),
    .importance = prep_op_importance,
};
