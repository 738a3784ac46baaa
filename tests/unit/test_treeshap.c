/* Unit tests for lib/ml/treeshap.c: contributions plus bias equal the raw output (margin of
 * boosted trees, probability or value of forests) on every row, for every task; the values
 * equal the Shapley values computed by brute force over every coalition of the
 * path-dependent value function (Lundberg et al. 2018, Algorithm 1) on small models; the
 * pool changes nothing. Exactness against XGBoost is tested on imported models
 * (tests/unit/test_xgbimport.c). */
#include "unit.h"

#include "algo/forest.h"
#include "algo/gbdt.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "ml/treeshap.h"
#include "testdata.h"

TEST_RNG(4242)

/* n rows of mixed data (numeric with missing values, integers, categories) into x and a
 * target by task, returned (the caller frees it) */
static double *mixed_data(struct fmatrix *x, size_t n, enum gbdt_objective obj)
{
    double *y = malloc(n * sizeof *y);
    mat_init_mixed(x, n, 6);
    for (size_t r = 0; r < n; r++) {
        double m = mixed_row(x, r, &rng_state);
        if (obj == GBDT_BINARY)
            y[r] = urand() < 1 / (1 + exp(-(m - 2.5))) ? 1 : 0;
        else if (obj == GBDT_MULTICLASS)
            y[r] = m < 1.8 ? 0 : m < 2.8 ? 1 : 2;
        else
            y[r] = m + 0.1 * urand();
    }
    return y;
}

static struct gbdt *train_gbdt(const struct fmatrix *x, const double *y, enum gbdt_objective obj,
                               int rounds, int depth)
{
    struct gbdt_params p = {0};
    p.objective = obj;
    p.num_class = obj == GBDT_MULTICLASS ? 3 : 0;
    p.rounds = rounds;
    p.max_depth = depth;
    p.threads = 1;
    return gbdt_train_ok(x, y, NULL, &p);
}

static struct forest *train_forest(const struct fmatrix *x, const double *y, int classification,
                                   int trees, int depth)
{
    struct forest_params p = {0};
    p.trees = trees;
    p.max_depth = depth;
    p.threads = 1;
    p.seed = 7;
    p.classification = classification;
    p.num_class = classification ? 3 : 0;
    return forest_train_ok(x, y, NULL, &p);
}

/* The largest gap over n rows and nout outputs between the contributions of 4 features
 * summed (bias included) and the raw output they explain. */
static double worst_sum_gap(const double *phi, const double *out, size_t n, size_t nout)
{
    double worst = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t k = 0; k < nout; k++) {
            const double *p = phi + (r * nout + k) * 5;
            double sum = p[0] + p[1] + p[2] + p[3] + p[4];
            worst = fmax(worst, fabs(sum - out[r * nout + k]));
        }
    return worst;
}

/* --- brute force ----------------------------------------------------------------------- */

/* The path-dependent expectation of a tree's output k given the features in mask (bit j:
 * feature j known): known features follow the row, unknown ones both children weighted by
 * cover (Algorithm 1 of the paper). */
static double tree_expect(const struct tree *t, uint32_t node, const double *row, unsigned mask,
                          uint32_t k)
{
    const struct tree_node *nd = &t->nodes[node];
    if (nd->feature < 0)
        return t->value[(size_t)node * t->nout + k];
    uint32_t l = (uint32_t)nd->left, r = (uint32_t)nd->right;
    if (mask & (1u << nd->feature)) {
        int left = tree_goes_left(nd, t->catwords, row[nd->feature]);
        return tree_expect(t, left ? l : r, row, mask, k);
    }
    return (t->cover[l] * tree_expect(t, l, row, mask, k) +
            t->cover[r] * tree_expect(t, r, row, mask, k)) /
           t->cover[node];
}

/* Shapley values of a sum of trees (scale each) by enumerating every coalition. */
static void brute_shap(const struct tree *const *trees, const size_t *outk, size_t ntrees,
                       double scale, size_t k, const double *row, size_t nfeat, double *phi)
{
    unsigned full = 1u << nfeat;
    double *v = calloc(full, sizeof *v);
    for (unsigned s = 0; s < full; s++)
        for (size_t i = 0; i < ntrees; i++)
            if (outk[i] == k || trees[i]->nout > 1)
                v[s] +=
                    scale * tree_expect(trees[i], 0, row, s, trees[i]->nout > 1 ? (uint32_t)k : 0);
    double fact[16] = {1};
    for (size_t i = 1; i < 16; i++)
        fact[i] = fact[i - 1] * (double)i;
    for (size_t j = 0; j < nfeat; j++) {
        phi[j] = 0;
        for (unsigned s = 0; s < full; s++) {
            if (s & (1u << j))
                continue;
            unsigned size = (unsigned)__builtin_popcount(s);
            double w = fact[size] * fact[nfeat - size - 1] / fact[nfeat];
            phi[j] += w * (v[s | (1u << j)] - v[s]);
        }
    }
    phi[nfeat] = v[0];
    free(v);
}

/* --- tests -------------------------------------------------------------------------------- */

/* Runs check(arg) with each way of computing the values (treeshap.h): each property holds
 * for both. */
static void with_each_method(void (*check)(int), int arg)
{
    static const enum treeshap_method methods[] = {TREESHAP_RECURSIVE, TREESHAP_PRECOMPUTED};
    for (size_t i = 0; i < 2; i++) {
        treeshap_force_method(methods[i]);
        check(arg);
    }
    treeshap_force_method(TREESHAP_AUTO);
}

static void check_gbdt_sums(int objective)
{
    enum gbdt_objective obj = (enum gbdt_objective)objective;
    const size_t n = 600, groups = obj == GBDT_MULTICLASS ? 3 : 1;
    struct fmatrix x;
    double *y = mixed_data(&x, n, obj);
    struct gbdt *g = train_gbdt(&x, y, obj, 30, 5);
    if (g == NULL)
        goto done;
    CHECK_INT(treeshap_gbdt_outputs(g), groups);
    double *phi = malloc(n * groups * 5 * sizeof *phi);
    double *margin = malloc(n * groups * sizeof *margin);
    CHECK_INT(treeshap_gbdt(g, &x, NULL, phi), 0);
    CHECK_INT(gbdt_predict_margin(g, &x, margin), 0);
    CHECK_NEAR(worst_sum_gap(phi, margin, n, groups), 0, 1e-9);
    /* the bias is the same for every row and not the margin of any one row */
    CHECK_NEAR(phi[4], phi[(n - 1) * groups * 5 + 4], 0);
    /* features that matter got contributions: column 0 drives the target */
    double abs0 = 0;
    for (size_t r = 0; r < n; r++)
        abs0 += fabs(phi[r * groups * 5 + 0]);
    CHECK(abs0 / (double)n > 1e-3);
    free(phi);
    free(margin);
    gbdt_free(g);
done:
    mat_free(&x);
    free(y);
}

static void test_gbdt_binary_sums_to_margin(void)
{
    with_each_method(check_gbdt_sums, GBDT_BINARY);
}

static void test_gbdt_multiclass_sums_to_margin(void)
{
    with_each_method(check_gbdt_sums, GBDT_MULTICLASS);
}

static void test_gbdt_regression_sums_to_margin(void)
{
    with_each_method(check_gbdt_sums, GBDT_REGRESSION);
}

static void check_forest_sums(int classification)
{
    const size_t n = 500;
    struct fmatrix x;
    double *y = mixed_data(&x, n, classification ? GBDT_MULTICLASS : GBDT_REGRESSION);
    struct forest *f = train_forest(&x, y, classification, 20, 8);
    if (f == NULL)
        goto done;
    size_t nout = treeshap_forest_outputs(f);
    CHECK_INT(nout, classification ? 3 : 1);
    double *phi = malloc(n * nout * 5 * sizeof *phi);
    double *pred = malloc(n * nout * sizeof *pred);
    CHECK_INT(treeshap_forest(f, &x, NULL, phi), 0);
    CHECK_INT(forest_predict(f, &x, pred), 0);
    CHECK_NEAR(worst_sum_gap(phi, pred, n, nout), 0, 1e-9);
    free(phi);
    free(pred);
    forest_free(f);
done:
    mat_free(&x);
    free(y);
}

static void test_forest_classifier_sums_to_probability(void)
{
    with_each_method(check_forest_sums, 1);
}

static void test_forest_regressor_sums_to_value(void)
{
    with_each_method(check_forest_sums, 0);
}

/* A multiclass gbdt (deep trees that split on the same feature several times on one path,
 * what UNWIND is for) or, with forest, a random forest classifier against the enumeration
 * of every coalition on every step-th row. */
static void check_equals_brute_force_shapley(int forest)
{
    const size_t n = forest ? 300 : 400, step = forest ? 17 : 13;
    struct fmatrix x;
    double *y = mixed_data(&x, n, GBDT_MULTICLASS);
    struct gbdt *g = forest ? NULL : train_gbdt(&x, y, GBDT_MULTICLASS, 4, 6);
    struct forest *f = forest ? train_forest(&x, y, 1, 5, 7) : NULL;
    if (g == NULL && f == NULL)
        goto done;
    size_t ntrees = forest ? forest_num_trees(f) : gbdt_num_trees(g);
    size_t nout = forest ? 3 : gbdt_tree_groups(g);
    const struct tree **trees = malloc(ntrees * sizeof *trees);
    size_t *outk = malloc(ntrees * sizeof *outk);
    for (size_t i = 0; i < ntrees; i++) {
        trees[i] = forest ? forest_tree(f, i) : gbdt_tree(g, i);
        outk[i] = forest ? 0 : i % nout; /* a forest's trees carry every output */
    }
    double *phi = malloc(n * nout * 5 * sizeof *phi);
    CHECK_INT(forest ? treeshap_forest(f, &x, NULL, phi) : treeshap_gbdt(g, &x, NULL, phi), 0);
    double scale = forest ? 1.0 / (double)ntrees : 1.0, worst = 0;
    for (size_t r = 0; r < n; r += step) {
        double row[4];
        for (size_t j = 0; j < 4; j++)
            row[j] = AT(&x, r, j);
        for (size_t k = 0; k < nout; k++) {
            double want[5];
            brute_shap(trees, outk, ntrees, scale, k, row, 4, want);
            if (!forest)
                want[4] += gbdt_base_score(g, k);
            for (size_t j = 0; j <= 4; j++)
                worst = fmax(worst, fabs(phi[(r * nout + k) * 5 + j] - want[j]));
        }
    }
    CHECK_NEAR(worst, 0, 1e-9);
    free(phi);
    free(trees);
    free(outk);
    gbdt_free(g);
    forest_free(f);
done:
    mat_free(&x);
    free(y);
}

static void test_gbdt_equals_brute_force_shapley(void)
{
    with_each_method(check_equals_brute_force_shapley, 0);
}

static void test_forest_equals_brute_force_shapley(void)
{
    with_each_method(check_equals_brute_force_shapley, 1);
}

/* Rows shared among threads give the same bits as one thread. */
static void test_pool_same_values(void)
{
    const size_t n = 1000;
    struct fmatrix x;
    double *y = mixed_data(&x, n, GBDT_BINARY);
    struct gbdt *g = train_gbdt(&x, y, GBDT_BINARY, 20, 6);
    if (g == NULL)
        goto done;
    double *one = malloc(n * 5 * sizeof *one), *many = malloc(n * 5 * sizeof *many);
    struct pool *pool = NULL;
    CHECK_INT(pool_create(3, &pool), 0);
    CHECK_INT(treeshap_gbdt(g, &x, NULL, one), 0);
    CHECK_INT(treeshap_gbdt(g, &x, pool, many), 0);
    CHECK_MEM(one, n * 5 * sizeof *one, many, n * 5 * sizeof *many);
    pool_free(pool);
    free(one);
    free(many);
    gbdt_free(g);
done:
    mat_free(&x);
    free(y);
}

/* The two methods agree on deep trees that repeat features, with missing values and
 * categories, for many rows. */
static void test_methods_agree(void)
{
    const size_t n = 3000;
    struct fmatrix x;
    double *y = mixed_data(&x, n, GBDT_MULTICLASS);
    struct gbdt *g = train_gbdt(&x, y, GBDT_MULTICLASS, 15, 8);
    struct forest *f = train_forest(&x, y, 1, 10, 10);
    double *a = malloc(n * 3 * 5 * sizeof *a), *b = malloc(n * 3 * 5 * sizeof *b);
    double worst = 0, largest = 0;
    for (int which = 0; which < 2 && g && f; which++) {
        treeshap_force_method(TREESHAP_RECURSIVE);
        CHECK_INT(which ? treeshap_forest(f, &x, NULL, a) : treeshap_gbdt(g, &x, NULL, a), 0);
        treeshap_force_method(TREESHAP_PRECOMPUTED);
        CHECK_INT(which ? treeshap_forest(f, &x, NULL, b) : treeshap_gbdt(g, &x, NULL, b), 0);
        for (size_t i = 0; i < n * 3 * 5; i++) {
            worst = fmax(worst, fabs(a[i] - b[i]));
            largest = fmax(largest, fabs(a[i]));
        }
    }
    treeshap_force_method(TREESHAP_AUTO);
    CHECK_NEAR(worst, 0, 1e-12);
    CHECK(largest > 0.01);
    free(a);
    free(b);
    gbdt_free(g);
    forest_free(f);
    mat_free(&x);
    free(y);
}

static void test_wrong_columns_refused(void)
{
    const size_t n = 200;
    struct fmatrix x, bad;
    double *y = mixed_data(&x, n, GBDT_REGRESSION);
    struct gbdt *g = train_gbdt(&x, y, GBDT_REGRESSION, 3, 3);
    mat_init(&bad, 2, 3);
    double out[2 * 4];
    if (g != NULL)
        CHECK_INT(treeshap_gbdt(g, &bad, NULL, out), AIOPS_EINVAL);
    gbdt_free(g);
    mat_free(&bad);
    mat_free(&x);
    free(y);
}

UNIT_MAIN(UNIT(test_gbdt_binary_sums_to_margin), UNIT(test_gbdt_multiclass_sums_to_margin),
          UNIT(test_gbdt_regression_sums_to_margin),
          UNIT(test_forest_classifier_sums_to_probability),
          UNIT(test_forest_regressor_sums_to_value), UNIT(test_gbdt_equals_brute_force_shapley),
          UNIT(test_forest_equals_brute_force_shapley), UNIT(test_pool_same_values),
          UNIT(test_methods_agree), UNIT(test_wrong_columns_refused))
