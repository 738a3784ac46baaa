/* Unit tests for the feature set's searched transforms (lib/ml/featprep.c) and the model
 * behind them (lib/ml/learn_prep.c): each transform's values by hand on a small table, no
 * row's cross-fitted target encoding reads its own label, selection keeps the informative
 * columns, and a saved model with each choice predicts what the one in memory does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rand.h"
#include "ml/ensemble.h"
#include "ml/prep.h"
#include "unit.h"

extern const struct learner learner_linear, learner_gbdt;

/* n rows: column 0 a category of 12 (code i % 12; the positive rate grows with the code),
 * column 1 informative numbers (with one outlier), column 2 noise; y binary. */
static void make_matrix(size_t n, uint64_t seed, struct fmatrix *x, double *y)
{
    CHECK_INT(fmatrix_alloc(n, 3, x), 0);
    x->is_cat[0] = 1;
    x->ncat[0] = 12;
    uint64_t r = seed;
    for (size_t i = 0; i < n; i++) {
        double cat = (double)(i % 12), v = rand_unit(&r) * 4 - 2;
        x->x[i] = cat;
        x->x[n + i] = i == 3 ? 1e6 : v;
        x->x[2 * n + i] = rand_unit(&r);
        y[i] = rand_unit(&r) < 0.1 + 0.06 * cat + (v > 0 ? 0.1 : -0.1) ? 1 : 0;
    }
}

static void test_target_encoding_by_hand(void)
{
    enum { N = 240 };
    struct fmatrix x, xt;
    double y[N];
    make_matrix(N, 1, &x, y);
    struct prep_config c = {.encoding = PREP_TARGET, .keep = 1};
    struct feature_prep *p = NULL;
    CHECK_INT(feature_prep_fit(&c, &x, y, TASK_BINARY, 2, 9, &p, &xt), 0);
    CHECK_INT((int)p->nout, 3);
    CHECK_INT((int)p->col[0].op, PREP_TARGET_ENCODE);
    CHECK_INT((int)p->col[1].op, PREP_COPY);
    CHECK(!xt.is_cat[0] && xt.is_cat[1] == 0);
    /* the table: (sum + 10 prior) / (count + 10) over every training row */
    double total = 0, sum[12] = {0}, cnt[12] = {0};
    for (size_t i = 0; i < N; i++) {
        total += y[i];
        sum[i % 12] += y[i];
        cnt[i % 12] += 1;
    }
    double prior = total / N;
    CHECK(fabs(p->col[0].a - prior) < 1e-12);
    for (size_t k = 0; k < 12; k++)
        CHECK(fabs(p->col[0].enc[k] - (sum[k] + 10 * prior) / (cnt[k] + 10)) < 1e-12);
    /* other rows read the table; missing and unseen categories the prior */
    struct fmatrix q, qt;
    CHECK_INT(fmatrix_alloc(3, 3, &q), 0);
    memcpy(q.is_cat, x.is_cat, 3);
    memcpy(q.ncat, x.ncat, 3 * sizeof *q.ncat);
    double rows[9] = {5, NAN, 40, 0.5, 0.5, 0.5, 0, 0, 0};
    memcpy(q.x, rows, sizeof rows);
    CHECK_INT(feature_prep_apply(p, &q, &qt), 0);
    CHECK(qt.x[0] == p->col[0].enc[5]);
    CHECK(qt.x[1] == prior && qt.x[2] == prior);
    CHECK(qt.x[3] == 0.5); /* copied */
    /* the training rows' values are cross-fitted: flipping a row's label leaves its own
     * value as it was (it changes others' values) */
    for (size_t i = 0; i < 6; i++) {
        double y2[N];
        memcpy(y2, y, sizeof y2);
        y2[i] = 1 - y2[i];
        struct feature_prep *p2 = NULL;
        struct fmatrix xt2;
        CHECK_INT(feature_prep_fit(&c, &x, y2, TASK_BINARY, 2, 9, &p2, &xt2), 0);
        CHECK(xt2.x[i] == xt.x[i]);
        size_t changed = 0;
        for (size_t r = 0; r < N; r++)
            changed += xt2.x[r] != xt.x[r];
        CHECK(changed > 0);
        CHECK(p2->col[0].enc[i % 12] != p->col[0].enc[i % 12]); /* the table reads it */
        feature_prep_free(p2);
        fmatrix_free(&xt2);
    }
    /* a multiclass target is refused (one column cannot hold K means) */
    struct feature_prep *bad = NULL;
    struct fmatrix xb;
    CHECK_INT(feature_prep_fit(&c, &x, y, TASK_MULTICLASS, 3, 9, &bad, &xb), AIOPS_EINVAL);
    CHECK(bad == NULL);
    feature_prep_free(p);
    fmatrix_free(&xt);
    fmatrix_free(&q);
    fmatrix_free(&qt);
    fmatrix_free(&x);
}

static void test_robust_scaling_by_hand(void)
{
    struct fmatrix x, xt;
    CHECK_INT(fmatrix_alloc(6, 2, &x), 0);
    double v[12] = {1, 2, 3, 4, 100, NAN, 0, 1, 0, 1, 1, 0};
    memcpy(x.x, v, sizeof v);
    x.is_cat[1] = 1;
    x.ncat[1] = 2;
    double y[6] = {0, 1, 0, 1, 1, 0};
    struct prep_config c = {.scaling = PREP_ROBUST, .keep = 1};
    struct feature_prep *p = NULL;
    CHECK_INT(feature_prep_fit(&c, &x, y, TASK_BINARY, 2, 1, &p, &xt), 0);
    /* 1 2 3 4 100: median 3, quartiles 2 and 4 (linear interpolation): IQR 2 */
    CHECK(p->col[0].a == 3 && p->col[0].b == 2);
    CHECK_INT((int)p->col[1].op, PREP_COPY); /* categories are not scaled */
    CHECK(xt.x[0] == -1 && xt.x[1] == -0.5 && xt.x[3] == 0.5);
    CHECK(xt.x[4] == PREP_ROBUST_CLIP); /* (100 - 3) / 2 = 48.5, clipped */
    CHECK(isnan(xt.x[5]));
    CHECK(xt.x[6 + 1] == 1 && xt.is_cat[1]);
    feature_prep_free(p);
    fmatrix_free(&xt);
    /* a constant-quartile column falls back to the standard deviation */
    double w[12] = {0, 0, 0, 0, 0, 6, 0, 1, 0, 1, 1, 0};
    memcpy(x.x, w, sizeof w);
    CHECK_INT(feature_prep_fit(&c, &x, y, TASK_BINARY, 2, 1, &p, &xt), 0);
    CHECK(p->col[0].a == 0 && fabs(p->col[0].b - sqrt(5.0)) < 1e-12); /* population sd */
    feature_prep_free(p);
    fmatrix_free(&xt);
    fmatrix_free(&x);
}

/* Selection keeps the informative columns: univariate tests and importance both. */
static void test_selection_keeps_the_informative(void)
{
    enum { N = 400 };
    struct fmatrix x, xt;
    CHECK_INT(fmatrix_alloc(N, 4, &x), 0);
    x.is_cat[2] = x.is_cat[3] = 1;
    x.ncat[2] = x.ncat[3] = 3;
    double y[N];
    uint64_t r = 5;
    for (size_t i = 0; i < N; i++) {
        y[i] = (double)(i % 2);
        x.x[i] = rand_unit(&r);                         /* noise number */
        x.x[N + i] = y[i] * 0.5 + rand_unit(&r); /* ANOVA F: strong, overlapping */
        x.x[2 * N + i] = (double)(rand_splitmix64(&r) % 3); /* noise category */
        /* chi-square: strong (category 2 only in the positive class), not perfect */
        x.x[3 * N + i] = y[i] > 0 && rand_unit(&r) < 0.7 ? 2 : (double)(rand_splitmix64(&r) % 2);
    }
    for (int method = PREP_SELECT_IMPORTANCE; method <= PREP_SELECT_UNIVARIATE; method++) {
        struct prep_config c = {.select = (enum prep_select)method, .keep = 0.5};
        struct feature_prep *p = NULL;
        CHECK_INT(feature_prep_fit(&c, &x, y, TASK_BINARY, 2, 3, &p, &xt), 0);
        CHECK_INT((int)p->nout, 2);
        CHECK_INT((int)p->col[0].src, 1);
        CHECK_INT((int)p->col[1].src, 3);
        CHECK(xt.is_cat[1] && xt.ncat[1] == 3 && xt.x[N + 5] == x.x[3 * N + 5]);
        feature_prep_free(p);
        fmatrix_free(&xt);
        /* keep 0.01 still keeps one column, the strongest for the univariate tests */
        c.keep = 0.01;
        CHECK_INT(feature_prep_fit(&c, &x, y, TASK_BINARY, 2, 3, &p, &xt), 0);
        CHECK_INT((int)p->nout, 1);
        feature_prep_free(p);
        fmatrix_free(&xt);
    }
    /* regression: the F of the correlation and ANOVA F of the target by category */
    for (size_t i = 0; i < N; i++)
        y[i] = x.x[N + i] * 3 + 0.1 * x.x[i];
    struct prep_config c = {.select = PREP_SELECT_UNIVARIATE, .keep = 0.25};
    struct feature_prep *p = NULL;
    CHECK_INT(feature_prep_fit(&c, &x, y, TASK_REGRESSION, 0, 3, &p, &xt), 0);
    CHECK_INT((int)p->nout, 1);
    CHECK_INT((int)p->col[0].src, 1);
    feature_prep_free(p);
    fmatrix_free(&xt);
    fmatrix_free(&x);
}

/* Each choice: the model behind the transforms saved and read back predicts the same, and
 * damaged bytes are refused. */
static void test_saved_model_predicts_the_same(void)
{
    enum { N = 240 };
    struct fmatrix x;
    double y[N];
    make_matrix(N, 2, &x, y);
    const struct prep_config configs[] = {
        {.encoding = PREP_TARGET, .keep = 1},
        {.scaling = PREP_ROBUST, .keep = 1},
        {.select = PREP_SELECT_IMPORTANCE, .keep = 0.6},
        {.encoding = PREP_TARGET, .scaling = PREP_ROBUST, .select = PREP_SELECT_UNIVARIATE,
         .keep = 0.7},
    };
    for (size_t ci = 0; ci < sizeof configs / sizeof configs[0]; ci++) {
        /* linear for the choices made for it, gbdt (which has importances) for the others */
        const struct learner *l = configs[ci].scaling == PREP_ROBUST ? &learner_linear
                                                                     : &learner_gbdt;
        json_t *norm = json_pack("{s:i, s:i}", "rounds", 20, "threads", 1), *full = NULL;
        CHECK_INT(learner_params_full(l, l == &learner_gbdt ? norm : NULL, &full), 0);
        json_decref(norm);
        struct feature_prep *p = NULL;
        struct fmatrix xt;
        CHECK_INT(feature_prep_fit(&configs[ci], &x, y, TASK_BINARY, 2, 4, &p, &xt), 0);
        struct learner_input in = {
            .x = &xt, .y = y, .task = TASK_BINARY, .nclasses = 2, .params = full};
        struct aiops_error err = AIOPS_ERROR_INIT;
        void *inner = NULL;
        int it = 0;
        CHECK_INT(l->train(&in, &inner, &it, &err), 0);
        fmatrix_free(&xt);
        struct prep_model *m = NULL;
        size_t nout = p->nout;
        uint32_t kept = 0;
        for (size_t j = 0; j < nout; j++)
            kept |= 1u << p->col[j].src;
        CHECK_INT(prep_model_new(p, l, inner, &m), 0);
        CHECK_INT((int)learner_prep.num_features(m), 3);
        struct buf bytes = {0};
        CHECK_INT(learner_prep.save(m, &bytes), 0);
        void *back = NULL;
        CHECK_INT(learner_prep.load((const uint8_t *)bytes.data, bytes.len, &back), 0);
        double p1[2 * N], p2[2 * N];
        CHECK_INT(learner_prep.predict(m, &x, NULL, p1), 0);
        CHECK_INT(learner_prep.predict(back, &x, NULL, p2), 0);
        CHECK_MEM(p1, sizeof p1, p2, sizeof p2);
        CHECK(fabs(p1[0] + p1[1] - 1) < 1e-9);
        /* a prep model joins an ensemble as any member */
        struct ensemble *e = NULL;
        CHECK_INT(ensemble_new(3, 2, &e), 0);
        CHECK_INT(ensemble_add(e, &learner_prep, back, 1), 0);
        double imp[3];
        if (l == &learner_gbdt) { /* on the features the columns came from; dropped ones 0 */
            CHECK_INT(learner_prep.importance(m, imp), 0);
            CHECK(imp[0] + imp[1] + imp[2] > 0);
            for (uint32_t j = 0; j < 3; j++)
                CHECK((kept >> j & 1u) || imp[j] == 0);
        } else {
            CHECK_INT(learner_prep.importance(m, imp), AIOPS_EUNSUPPORTED);
        }
        /* damaged or cut bytes: refused, never a crash */
        for (size_t cut = 0; cut < bytes.len; cut += 1 + bytes.len / 40) {
            void *bad = NULL;
            CHECK(learner_prep.load((const uint8_t *)bytes.data, cut, &bad) != 0 && bad == NULL);
        }
        bytes.data[6] ^= 0x40; /* inside the transforms' header */
        void *bad = NULL;
        int rv = learner_prep.load((const uint8_t *)bytes.data, bytes.len, &bad);
        CHECK(rv != 0 || bad != NULL);
        learner_prep.free(bad);
        learner_ensemble.free(e);
        learner_prep.free(m);
        buf_free(&bytes);
        json_decref(full);
    }
    fmatrix_free(&x);
}

UNIT_MAIN(UNIT(test_target_encoding_by_hand), UNIT(test_robust_scaling_by_hand),
          UNIT(test_selection_keeps_the_informative), UNIT(test_saved_model_predicts_the_same))
