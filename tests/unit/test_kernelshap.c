/* Unit tests for lib/ml/kernelshap.c and lib/ml/lime.c: the k-means background is made of
 * the data's own values with weights summing to 1; Kernel SHAP with every coalition equals
 * the Shapley values enumerated by brute force over the same background, and with sampled
 * coalitions still sums to f(x) - E[f] and stays close to them; LIME finds the feature the
 * model depends on, its fit's prediction at the row is close to the model's, and the same
 * seed gives the same explanation. */
#include "unit.h"

#include "algo/gbdt.h"
#include "core/err.h"
#include "ml/kernelshap.h"
#include "ml/lime.h"
#include "ml/model.h"
#include "testdata.h"

TEST_RNG(31337)

/* A gbdt classifier over d numeric features (plus, with cat, a categorical one last): the
 * target depends on columns 0 and 1 (and the category). */
static struct trained make_model(size_t n, size_t d, int cat)
{
    struct trained t;
    struct fmatrix *x = &t.x;
    mat_init(x, n, d);
    if (cat) {
        x->is_cat[d - 1] = 1;
        x->ncat[d - 1] = 3;
    }
    double *y = t.y = malloc(n * sizeof *t.y);
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < d; j++)
            AT(x, r, j) = urand() * 2 - 1;
        if (cat)
            AT(x, r, d - 1) = (double)(r % 3);
        double m =
            3 * AT(x, r, 0) - 2 * AT(x, r, 1) * AT(x, r, 1) + (cat && AT(x, r, d - 1) == 1 ? 1 : 0);
        y[r] = urand() < 1 / (1 + exp(-m)) ? 1 : 0;
    }
    static const char *const names[16] = {"x0", "x1", "x2",  "x3",  "x4",  "x5",  "x6",  "x7",
                                          "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15"};
    const char *const cats[] = {"a", "b", "c", NULL};
    CHECK(d <= 16);
    t.m = gbdt_binary_model(x, y, 20, 3, names, cats);
    return t;
}

/* Exact interventional Shapley values of output o over the background by enumeration. */
static void brute_force(const struct model *m, const struct kshap_background *bg, const double *row,
                        size_t o, double *phi)
{
    const size_t d = bg->nfeat, full = (size_t)1 << d, nb = bg->k;
    struct fmatrix z;
    mat_init(&z, full * nb, d);
    for (size_t j = 0; j < d; j++) {
        z.is_cat[j] = m->features.f[j].kind == FEAT_CATEGORICAL;
        z.ncat[j] = z.is_cat[j] ? 3 : 0;
    }
    for (size_t s = 0; s < full; s++)
        for (size_t q = 0; q < nb; q++)
            for (size_t j = 0; j < d; j++)
                AT(&z, s * nb + q, j) = (s >> j) & 1 ? row[j] : bg->rows[q * d + j];
    double *pred = malloc(full * nb * 2 * sizeof *pred), *v = calloc(full, sizeof *v);
    CHECK_INT(model_predict(m, &z, pred), 0);
    for (size_t s = 0; s < full; s++)
        for (size_t q = 0; q < nb; q++)
            v[s] += bg->weight[q] * pred[(s * nb + q) * 2 + o];
    for (size_t j = 0; j < d; j++) {
        phi[j] = 0;
        for (size_t s = 0; s < full; s++) {
            if ((s >> j) & 1)
                continue;
            size_t size = (size_t)__builtin_popcountll(s);
            double w =
                exp(lgamma((double)size + 1) + lgamma((double)(d - size)) - lgamma((double)d + 1));
            phi[j] += w * (v[s | ((size_t)1 << j)] - v[s]);
        }
    }
    phi[d] = v[0];
    free(pred);
    free(v);
    mat_free(&z);
}

static void test_background_is_data(void)
{
    struct trained t = make_model(300, 4, 1);
    struct kshap_background bg;
    CHECK_INT(kshap_background_kmeans(&t.x, 10, 1, &bg), 0);
    CHECK(bg.k >= 2 && bg.k <= 10);
    double total = 0;
    for (size_t q = 0; q < bg.k; q++) {
        total += bg.weight[q];
        for (size_t j = 0; j < 4; j++) {
            int found = 0;
            for (size_t r = 0; r < t.x.nrows && !found; r++)
                found = AT(&t.x, r, j) == bg.rows[q * 4 + j];
            CHECK(found);
        }
    }
    CHECK_NEAR(total, 1, 1e-12);
    kshap_background_free(&bg);
    CHECK_INT(kshap_background_kmeans(&t.x, 1000, 1, &bg), 0);
    CHECK(bg.k <= 300);
    kshap_background_free(&bg);
    trained_free(&t);
}

static void test_all_coalitions_equal_brute_force(void)
{
    struct trained t = make_model(400, 5, 1);
    struct kshap_background bg;
    CHECK_INT(kshap_background_kmeans(&t.x, 8, 2, &bg), 0);
    double worst = 0, largest = 0;
    for (size_t r = 0; r < 40; r += 7) {
        double row[5], phi[2 * 6], want[6];
        for (size_t j = 0; j < 5; j++)
            row[j] = AT(&t.x, r, j);
        CHECK_INT(kshap_explain(t.m, &bg, row, 0, 9, 1, phi), 0);
        for (size_t o = 0; o < 2; o++) {
            brute_force(t.m, &bg, row, o, want);
            for (size_t j = 0; j <= 5; j++) {
                worst = fmax(worst, fabs(phi[o * 6 + j] - want[j]));
                largest = fmax(largest, fabs(want[j]));
            }
        }
    }
    CHECK_NEAR(worst, 0, 1e-9);
    CHECK(largest > 0.05);
    kshap_background_free(&bg);
    trained_free(&t);
}

static void test_sampled_coalitions_sum_and_stay_close(void)
{
    /* 13 features: 2^13 - 2 coalitions, more than auto's 2 * 13 + 2048: sampled */
    struct trained t = make_model(500, 13, 0);
    struct kshap_background bg;
    CHECK_INT(kshap_background_kmeans(&t.x, 5, 3, &bg), 0);
    double row[13], phi[2 * 14], want[14], fx[2];
    for (size_t j = 0; j < 13; j++)
        row[j] = AT(&t.x, 3, j);
    CHECK_INT(kshap_explain(t.m, &bg, row, 0, 9, 1, phi), 0);
    struct fmatrix one;
    mat_init_values(&one, 1, 13, row);
    CHECK_INT(model_predict(t.m, &one, fx), 0);
    double sum = 0;
    for (size_t j = 0; j <= 13; j++)
        sum += phi[14 + j];
    CHECK_NEAR(sum, fx[1], 1e-9);
    brute_force(t.m, &bg, row, 1, want);
    double worst = 0;
    for (size_t j = 0; j < 13; j++)
        worst = fmax(worst, fabs(phi[14 + j] - want[j]));
    CHECK(worst < 0.02);
    CHECK_NEAR(phi[14 + 13], want[13], 1e-12); /* E[f] is exact */
    mat_free(&one);
    kshap_background_free(&bg);
    trained_free(&t);
}

static void test_lime_finds_the_feature(void)
{
    struct trained t = make_model(2000, 6, 1);
    struct lime_explainer e;
    CHECK_INT(lime_fit(&t.x, &e), 0);
    /* a row far into x0's top quartile */
    double row[6] = {0.95, 0.0, 0.1, -0.2, 0.3, 1};
    struct lime_result a, b;
    CHECK_INT(lime_explain(t.m, &e, row, 1, 0, 5, 1, &a), 0);
    CHECK_INT(a.nused, 6);
    CHECK_INT(a.feature[0], 0);
    CHECK(a.weight[0] > 0); /* the top quartile of x0 raises P(1) */
    CHECK(a.score > 0.3 && a.score <= 1);
    CHECK(fabs(a.local_pred - a.model_pred) < 0.2);
    double p[2];
    struct fmatrix one;
    mat_init_values(&one, 1, 6, row);
    one.is_cat[5] = 1;
    one.ncat[5] = 3;
    CHECK_INT(model_predict(t.m, &one, p), 0);
    CHECK_NEAR(a.model_pred, p[1], 1e-15);
    CHECK_INT(lime_explain(t.m, &e, row, 1, 0, 5, 1, &b), 0);
    CHECK_NEAR(a.weight[0], b.weight[0], 0);
    CHECK_NEAR(a.intercept, b.intercept, 0);
    char text[128];
    lime_condition(&e, &t.m->features, 0, row[0], text, sizeof text);
    CHECK(strncmp(text, "x0 > ", 5) == 0);
    lime_condition(&e, &t.m->features, 5, 1, text, sizeof text);
    CHECK_STR(text, "x5=b");
    CHECK_INT(lime_explain(t.m, &e, row, 2, 0, 5, 1, &b), AIOPS_EINVAL);
    mat_free(&one);
    lime_free(&e);
    trained_free(&t);
}

UNIT_MAIN(UNIT(test_background_is_data), UNIT(test_all_coalitions_equal_brute_force),
          UNIT(test_sampled_coalitions_sum_and_stay_close), UNIT(test_lime_finds_the_feature))
