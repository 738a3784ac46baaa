/* Unit tests for lib/algo/forest.c: exact behaviour on tiny hand-made data, importance,
 * persistence, corruption, determinism, and quality against scikit-learn 1.2's random
 * forests on the shared datasets. */
#include "core/bytes.h"
#include "unit.h"

#include "algo/forest.h"
#include "core/array.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "data/colstore.h"
#include "data/ingest.h"
#include "math/stats.h"
#include "ml/featureset.h"
#include "testdata.h"

TEST_RNG(777)

static double predict_row(const struct forest *f, const double *row, size_t ncols,
                          const uint8_t *is_cat, const uint32_t *ncat, size_t k)
{
    struct fmatrix m = {1, ncols, (double *)row, (uint8_t *)is_cat, (uint32_t *)ncat, NULL};
    double out[16] = {0};
    CHECK_INT(forest_predict(f, &m, out), 0);
    return out[k];
}

/* Impurity importances are each feature's share of the forest's total decrease: the nfeat
 * of them sum to one. */
static void check_importance_sums_to_one(const struct forest *f, size_t nfeat, double tol)
{
    double *imp = calloc(nfeat, sizeof *imp);
    CHECK_INT(forest_importance(f, imp), 0);
    double sum = 0;
    for (size_t j = 0; j < nfeat; j++)
        sum += imp[j];
    CHECK_NEAR(sum, 1.0, tol);
    free(imp);
}

/* A two-class classifier of `trees` trees on `threads` threads, the rest at the defaults. */
static struct forest_params binary_params(int trees, int threads)
{
    struct forest_params p = {0};
    p.trees = trees;
    p.classification = 1;
    p.num_class = 2;
    p.threads = threads;
    return p;
}

static void test_single_tree_pure_split(void)
{
    /* one tree, no bootstrap, every feature: the root splits x0 between 0.49 and 0.50 and
     * both leaves are pure */
    struct fmatrix x;
    double y[100];
    mat_init_step(&x, y, 100, &rng_state);
    struct forest_params p = binary_params(1, 1);
    p.bootstrap = -1;
    p.max_features = 1.0;
    struct forest *f = forest_train_ok(&x, y, NULL, &p);
    if (f) {
        const struct tree *t = forest_tree(f, 0);
        CHECK_INT(t->nnodes, 3);
        CHECK_INT(t->nodes[0].feature, 0);
        CHECK_NEAR(t->nodes[0].threshold, 0.495, 1e-12);
        CHECK_NEAR(t->cover[0], 100, 0);
        /* Gini decrease, weighted: 100 * 0.5 - 0 - 0 */
        CHECK_NEAR(t->gain[0], 50.0, 1e-9);
        double row[2] = {0.3, 0.5};
        CHECK_NEAR(predict_row(f, row, 2, x.is_cat, x.ncat, 1), 0.0, 0);
        row[0] = 0.7;
        CHECK_NEAR(predict_row(f, row, 2, x.is_cat, x.ncat, 1), 1.0, 0);
        double imp[2];
        CHECK_INT(forest_importance(f, imp), 0);
        CHECK_NEAR(imp[0], 1.0, 0);
        CHECK_NEAR(imp[1], 0.0, 0);
    }
    forest_free(f);
    mat_free(&x);
}

static void test_regression_leaves_are_means(void)
{
    /* x takes 4 values; fully grown, each leaf holds one value of x and predicts the mean
     * of its y */
    struct fmatrix x;
    mat_init(&x, 200, 1);
    double y[200], sum[4] = {0}, cnt[4] = {0};
    for (size_t r = 0; r < 200; r++) {
        size_t g = r % 4;
        AT(&x, r, 0) = (double)g * 1.5;
        y[r] = (double)g * 10 + urand();
        sum[g] += y[r];
        cnt[g]++;
    }
    struct forest_params p = {0};
    p.trees = 1;
    p.bootstrap = -1;
    p.threads = 1;
    struct forest *f = forest_train_ok(&x, y, NULL, &p);
    if (f) {
        CHECK_INT(forest_tree(f, 0)->nnodes, 7);
        for (size_t g = 0; g < 4; g++) {
            double row[1] = {(double)g * 1.5};
            CHECK_NEAR(predict_row(f, row, 1, x.is_cat, x.ncat, 0), sum[g] / cnt[g], 1e-9);
        }
    }
    forest_free(f);
    /* min_samples_leaf and max_depth are respected */
    for (size_t r = 0; r < 200; r++)
        AT(&x, r, 0) = urand();
    p.trees = 5;
    p.bootstrap = 0;
    p.min_samples_leaf = 15;
    f = forest_train_ok(&x, y, NULL, &p);
    for (size_t t = 0; f && t < forest_num_trees(f); t++) {
        const struct tree *tr = forest_tree(f, t);
        for (uint32_t i = 0; i < tr->nnodes; i++)
            if (tr->nodes[i].feature < 0)
                CHECK(tr->cover[i] >= 15); /* bootstrap counts are >= distinct rows */
    }
    forest_free(f);
    p.min_samples_leaf = 0;
    p.max_depth = 3;
    f = forest_train_ok(&x, y, NULL, &p);
    for (size_t t = 0; f && t < forest_num_trees(f); t++)
        CHECK(forest_tree(f, t)->nnodes <= 15);
    forest_free(f);
    mat_free(&x);
}

static void test_missing_and_categories(void)
{
    /* class 1: categories {0, 2, 5} of feature 0 and missing values of it */
    struct fmatrix x;
    mat_init_codes(&x, 700, 6, 7); /* code 6: missing */
    double y[700];
    for (size_t r = 0; r < 700; r++) {
        size_t c = r % 7;
        y[r] = c == 0 || c == 2 || c == 5 || c == 6;
    }
    struct forest_params p = binary_params(3, 1);
    struct forest *f = forest_train_ok(&x, y, NULL, &p);
    if (f) {
        CHECK_INT(forest_tree(f, 0)->nnodes, 3); /* one split separates the classes */
        CHECK(forest_tree(f, 0)->nodes[0].flags & TREE_CATEGORICAL);
        for (int c = 0; c < 6; c++) {
            double row[1] = {c};
            CHECK_NEAR(predict_row(f, row, 1, x.is_cat, x.ncat, 1),
                       (c == 0 || c == 2 || c == 5) ? 1.0 : 0.0, 0);
        }
        double odd[] = {NAN, 17, -3, 0.5};
        for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
            double row[1] = {odd[i]};
            CHECK_NEAR(predict_row(f, row, 1, x.is_cat, x.ncat, 1), 1.0, 0);
        }
    }
    forest_free(f);
    /* numeric: missing values behave like the large ones */
    x.is_cat[0] = 0;
    x.ncat[0] = 0;
    for (size_t r = 0; r < 700; r++) {
        AT(&x, r, 0) = r % 5 == 0 ? NAN : (double)(r % 10);
        y[r] = r % 5 == 0 || r % 10 > 6;
    }
    f = forest_train_ok(&x, y, NULL, &p);
    if (f) {
        double nanrow[1] = {NAN}, hi[1] = {9}, lo[1] = {1};
        CHECK_NEAR(predict_row(f, nanrow, 1, x.is_cat, x.ncat, 1), 1.0, 0);
        CHECK_NEAR(predict_row(f, hi, 1, x.is_cat, x.ncat, 1), 1.0, 0);
        CHECK_NEAR(predict_row(f, lo, 1, x.is_cat, x.ncat, 1), 0.0, 0);
    }
    forest_free(f);
    mat_free(&x);
}

static struct forest *mixed_forest(struct fmatrix *x, int classification, int threads, size_t n)
{
    mat_init_mixed(x, n, 9);
    double *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        double m = mixed_row(x, r, &rng_state);
        y[r] = classification ? (double)((int)(m + urand()) % 3) : m + urand();
    }
    struct forest_params p = {0};
    p.trees = 12;
    p.classification = classification;
    p.num_class = 3;
    p.threads = threads;
    p.seed = 3;
    p.max_depth = 8;
    struct forest *f = forest_train_ok(x, y, NULL, &p);
    free(y);
    return f;
}

/* A forest of fully grown trees over noisy data holds megabytes of nodes, so prediction walks
 * each tree over big blocks of rows (TREE_BIG_BLOCK): the same answers as row by row. */
static void test_big_forest_predicts_like_row_by_row(void)
{
    size_t n = 20000;
    struct fmatrix x;
    mat_init(&x, n, 4);
    double *y = malloc(n * sizeof *y);
    for (size_t r = 0; r < n; r++) {
        for (int j = 0; j < 4; j++)
            AT(&x, r, j) = urand();
        y[r] = (double)(urand() < 0.3 + 0.4 * AT(&x, r, 0)); /* mostly noise: deep trees */
    }
    struct forest_params p = binary_params(24, 2);
    p.seed = 5;
    struct forest *f = forest_train_ok(&x, y, NULL, &p);
    if (f != NULL) {
        size_t nodes = 0;
        size_t nt = forest_num_trees(f);
        for (size_t t = 0; t < nt; t++)
            nodes += forest_tree(f, t)->nnodes;
        CHECK(nodes * sizeof(struct tree_node) > ((size_t)4 << 20)); /* the big-block path */
        struct pool *pool = NULL;
        CHECK_INT(pool_create(2, &pool), 0);
        double *out = malloc(n * 2 * sizeof *out);
        CHECK_INT(forest_predict_pool(f, &x, pool, out), 0);
        size_t bad = 0;
        for (size_t r = 0; r < n; r += 7) {
            double row[4], p1 = 0;
            for (int j = 0; j < 4; j++)
                row[j] = AT(&x, r, j);
            for (size_t t = 0; t < nt; t++)
                p1 += forest_tree(f, t)->value[2 * tree_leaf(forest_tree(f, t), row) + 1];
            bad += fabs(p1 / (double)nt - out[2 * r + 1]) > 1e-12;
        }
        CHECK_INT(bad, 0);
        free(out);
        pool_free(pool);
    }
    forest_free(f);
    free(y);
    mat_free(&x);
}

static void test_save_load_and_threads(void)
{
    for (int cls = 0; cls < 2; cls++) {
        struct fmatrix x, x2;
        uint64_t saved = rng_state;
        struct forest *f = mixed_forest(&x, cls, 1, 3000), *h = NULL;
        rng_state = saved;
        struct forest *f2 = mixed_forest(&x2, cls, 2, 3000);
        struct buf b = BUF_INIT, b2 = BUF_INIT;
        if (f == NULL || f2 == NULL)
            goto next;
        CHECK_INT(forest_save(f, &b), 0);
        CHECK_INT(forest_save(f2, &b2), 0);
        CHECK_MEM(b.data, b.len, b2.data, b2.len); /* same forest on 1 or 2 threads */
        CHECK_INT(forest_load((const uint8_t *)b.data, b.len, &h), 0);
        if (h) {
            size_t k = forest_outputs(f);
            CHECK_INT(k, cls ? 3 : 1);
            double *pa = malloc(x.nrows * k * sizeof *pa), *pb = malloc(x.nrows * k * sizeof *pb);
            CHECK_INT(forest_predict(f, &x, pa), 0);
            CHECK_INT(forest_predict(h, &x, pb), 0);
            CHECK_MEM(pa, x.nrows * k * sizeof *pa, pb, x.nrows * k * sizeof *pb);
            struct pool *pool = NULL; /* rows shared among threads: the same outputs */
            CHECK_INT(pool_create(2, &pool), 0);
            memset(pb, 0, x.nrows * k * sizeof *pb);
            CHECK_INT(forest_predict_pool(h, &x, pool, pb), 0);
            CHECK_MEM(pa, x.nrows * k * sizeof *pa, pb, x.nrows * k * sizeof *pb);
            pool_free(pool);
            for (size_t r = 0; cls && r < x.nrows; r++)
                CHECK_NEAR(pa[3 * r] + pa[3 * r + 1] + pa[3 * r + 2], 1.0, 1e-12);
            free(pa);
            free(pb);
            check_importance_sums_to_one(h, 4, 1e-12);
        }
        forest_free(h);
        h = NULL;
        /* corruption: truncations, flipped bytes, a bad child under a valid checksum */
        uint8_t *p = malloc(b.len);
        for (size_t n = 0; n < b.len; n += 1 + b.len / 500)
            CHECK_INT(forest_load((const uint8_t *)b.data, n, &h), AIOPS_ECORRUPT);
        for (size_t i = 0; i < b.len; i += 1 + b.len / 500) {
            memcpy(p, b.data, b.len);
            p[i] ^= 0x21;
            CHECK_INT(forest_load(p, b.len, &h), AIOPS_ECORRUPT);
        }
        memcpy(p, b.data, b.len);
        size_t node0 = 24 + 8 * 4 + 8;
        p[node0 + 8] = 0; /* node 0's left child := 0 */
        p[node0 + 9] = p[node0 + 10] = p[node0 + 11] = 0;
        uint32_t crc = crc32c(0, p, b.len - 4);
        for (int i = 0; i < 4; i++)
            p[b.len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
        CHECK_INT(forest_load(p, b.len, &h), AIOPS_ECORRUPT);
        CHECK(h == NULL);
        free(p);
    next:
        forest_free(f);
        forest_free(f2);
        buf_free(&b);
        buf_free(&b2);
        mat_free(&x);
        mat_free(&x2);
    }
}

static int count_progress(void *arg, const struct train_progress *pr)
{
    int *calls = arg;
    (*calls)++;
    CHECK(pr->iteration >= 1 && pr->iteration <= pr->total);
    return *calls >= 2;
}

static void test_progress_cancel_and_bad_params(void)
{
    struct fmatrix x;
    mat_init(&x, 50, 2);
    double y[50];
    for (size_t r = 0; r < 50; r++) {
        AT(&x, r, 0) = urand();
        AT(&x, r, 1) = urand();
        y[r] = (double)(r % 2);
    }
    struct forest_params p = binary_params(40, 1);
    int calls = 0;
    struct forest *f = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(forest_train(&x, y, NULL, &p, count_progress, &calls, &f, &err), AIOPS_ECANCELED);
    CHECK(f == NULL);
    CHECK_INT(calls, 2);
    p.num_class = 1;
    CHECK_INT(forest_train(&x, y, NULL, &p, NULL, NULL, &f, &err), AIOPS_EINVAL);
    p.num_class = 2;
    y[7] = 2;
    CHECK_INT(forest_train(&x, y, NULL, &p, NULL, NULL, &f, &err), AIOPS_EINVAL);
    CHECK(strstr(err.message, "row 7") != NULL);
    y[7] = 1;
    p.max_features = -1;
    CHECK_INT(forest_train(&x, y, NULL, &p, NULL, NULL, &f, &err), AIOPS_EINVAL);
    p.max_features = 0;
    p.trees = -5;
    CHECK_INT(forest_train(&x, y, NULL, &p, NULL, NULL, &f, &err), AIOPS_EINVAL);
    CHECK(f == NULL);
    mat_free(&x);
}

static struct forest *train_like_sklearn(const struct dataset *d, int trees)
{
    struct forest_params p = {0};
    p.trees = trees;
    p.classification = d->ts.task != TASK_REGRESSION;
    p.num_class = (int)d->ts.nclasses;
    p.threads = 2;
    return forest_train_ok(&d->xtr, d->ytr, NULL, &p);
}

static double accuracy(const struct forest *f, const struct dataset *d, double *auc)
{
    size_t n = d->xte.nrows, K = forest_outputs(f);
    double *pr = malloc(n * K * sizeof *pr);
    CHECK_INT(forest_predict(f, &d->xte, pr), 0);
    double acc = prob_accuracy(pr, d->yte, n, K);
    if (auc != NULL && K == 2)
        *auc = prob_auc(pr, d->yte, n);
    free(pr);
    return acc;
}

/* Reference values: `/usr/bin/python3 bench/gbdt_reference.py` (scikit-learn 1.2.1
 * RandomForestClassifier / RandomForestRegressor, n_estimators as below, random_state=0,
 * defaults otherwise; categorical columns as ordinal codes, missing as -1). Bounds: accuracy
 * >= scikit-learn - 0.01, AUC >= scikit-learn - 0.005, R^2 >= scikit-learn - 0.005. */
#define SK_HIGGS_AUC 0.805897       /* 100 trees */
#define SK_ADULT_ACCURACY 0.855721  /* 50 trees */
#define SK_LETTER_ACCURACY 0.963086 /* 50 trees */
#define SK_DIAMONDS_R2 0.981874     /* 50 trees */

/* Loads a dataset (the test is skipped without it), trains a forest of `trees` trees on it
 * like scikit-learn and hands it to check. */
static void vs_sklearn(const char *dir, const char *train, const char *test, const char *target,
                       int trees, void (*check)(const struct forest *, const struct dataset *))
{
    struct dataset d;
    if (dataset_load(&d, dir, train, test, target) == 0) {
        struct forest *f = train_like_sklearn(&d, trees);
        if (f)
            check(f, &d);
        forest_free(f);
    }
    dataset_free(&d);
}

static void check_higgs(const struct forest *f, const struct dataset *d)
{
    double auc = NAN, acc = accuracy(f, d, &auc);
    printf("# higgs: AUC %.6f accuracy %.6f (scikit-learn AUC %.6f)\n", auc, acc, SK_HIGGS_AUC);
    CHECK(auc >= SK_HIGGS_AUC - 0.005);
}

static void test_higgs_vs_sklearn(void)
{
    vs_sklearn(DATASET_HIGGS, 100, check_higgs);
}

static void check_adult(const struct forest *f, const struct dataset *d)
{
    double auc = NAN, acc = accuracy(f, d, &auc);
    printf("# adult: accuracy %.6f AUC %.6f (scikit-learn accuracy %.6f)\n", acc, auc,
           SK_ADULT_ACCURACY);
    CHECK(acc >= SK_ADULT_ACCURACY - 0.01);
    check_importance_sums_to_one(f, 14, 1e-9);
}

static void test_adult_vs_sklearn(void)
{
    vs_sklearn(DATASET_ADULT, 50, check_adult);
}

static void check_letter(const struct forest *f, const struct dataset *d)
{
    double acc = accuracy(f, d, NULL);
    printf("# letter: accuracy %.6f (scikit-learn %.6f)\n", acc, SK_LETTER_ACCURACY);
    CHECK(acc >= SK_LETTER_ACCURACY - 0.01);
}

static void test_letter_vs_sklearn(void)
{
    vs_sklearn(DATASET_LETTER, 50, check_letter);
}

static void check_diamonds(const struct forest *f, const struct dataset *d)
{
    size_t n = d->xte.nrows;
    double *pr = malloc(n * sizeof *pr);
    CHECK_INT(forest_predict(f, &d->xte, pr), 0);
    struct stats_moments mo;
    stats_moments(d->yte, n, &mo);
    double se = sum_sq_error(pr, d->yte, n);
    double r2 = 1 - se / mo.m2;
    printf("# diamonds: R^2 %.6f RMSE %.4f (scikit-learn R^2 %.6f)\n", r2, sqrt(se / (double)n),
           SK_DIAMONDS_R2);
    CHECK(r2 >= SK_DIAMONDS_R2 - 0.005);
    free(pr);
}

static void test_diamonds_vs_sklearn(void)
{
    vs_sklearn(DATASET_DIAMONDS, 50, check_diamonds);
}

UNIT_MAIN(UNIT(test_single_tree_pure_split), UNIT(test_regression_leaves_are_means),
          UNIT(test_missing_and_categories), UNIT(test_save_load_and_threads),
          UNIT(test_big_forest_predicts_like_row_by_row), UNIT(test_progress_cancel_and_bad_params),
          UNIT(test_higgs_vs_sklearn), UNIT(test_adult_vs_sklearn), UNIT(test_letter_vs_sklearn),
          UNIT(test_diamonds_vs_sklearn))
