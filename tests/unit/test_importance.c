/* Unit tests for lib/ml/importance.c: permutation importance finds the feature the target
 * depends on, gives exactly zero to a feature the model cannot use, is the same for the
 * same seed, and its interval is the t interval of its repeats; the score is accuracy / R^2
 * computed by hand; significance picks the test by kind and gives the test's numbers. */
#include "unit.h"

#include "algo/gbdt.h"
#include "core/err.h"
#include "math/signif.h"
#include "ml/importance.h"
#include "ml/model.h"
#include "testdata.h"

TEST_RNG(777)

/* A gbdt model over 3 numeric features and a categorical one: y depends on column 0 and the
 * category; column 1 is constant (no split can use it), column 2 is noise. */
static struct trained make_model(size_t n)
{
    struct trained t;
    struct fmatrix *x = &t.x;
    double *y = t.y = malloc(n * sizeof *t.y);
    mat_init(x, n, 4);
    x->is_cat[3] = 1;
    x->ncat[3] = 3;
    for (size_t r = 0; r < n; r++) {
        AT(x, r, 0) = urand() * 4 - 2;
        AT(x, r, 1) = 1.0;
        AT(x, r, 2) = urand();
        AT(x, r, 3) = (double)(r % 3);
        double m = 2 * AT(x, r, 0) + (AT(x, r, 3) == 2 ? 1.5 : 0) - 0.5;
        y[r] = urand() < 1 / (1 + exp(-m)) ? 1 : 0;
    }
    const char *const names[] = {"signal", "constant", "noise", "group"};
    t.m = gbdt_binary_model(x, y, 30, 3, names, NULL);
    return t;
}

static void test_score_is_accuracy(void)
{
    const size_t n = 400;
    struct trained t = make_model(n);
    if (t.m == NULL)
        goto out;
    double score, *pred = malloc(n * 2 * sizeof *pred);
    CHECK_INT(importance_score(t.m, &t.x, t.y, 1, &score), 0);
    CHECK_INT(model_predict(t.m, &t.x, pred), 0);
    size_t right = 0;
    for (size_t r = 0; r < n; r++)
        right += (pred[r * 2 + 1] > pred[r * 2]) == (t.y[r] == 1);
    CHECK_NEAR(score, (double)right / (double)n, 1e-15);
    CHECK(score > 0.7);
    free(pred);
out:
    trained_free(&t);
}

static void test_permutation_finds_signal(void)
{
    const size_t n = 1000;
    struct trained t = make_model(n);
    if (t.m == NULL)
        goto out;
    double *before = malloc(n * 4 * sizeof *before);
    memcpy(before, t.x.x, n * 4 * sizeof *before);
    struct perm_importance imp[4], again[4];
    CHECK_INT(importance_permutation(t.m, &t.x, t.y, 5, 42, 1, imp), 0);
    CHECK_MEM(t.x.x, n * 4 * sizeof *t.x.x, before, n * 4 * sizeof *before); /* x unchanged */
    CHECK(imp[0].mean > 0.15);
    CHECK(imp[0].mean > imp[2].mean + 0.1);
    CHECK(imp[0].mean > imp[3].mean);
    CHECK(imp[3].mean > 0.005);
    /* shuffling a constant changes nothing */
    CHECK_NEAR(imp[1].mean, 0, 0);
    CHECK_NEAR(imp[1].std, 0, 0);
    /* the interval: mean +- t(0.975, 4) * sd / sqrt(5), with std reported ddof 0 */
    double sd1 = imp[0].std * sqrt(5.0 / 4.0);
    CHECK_NEAR(imp[0].ci_hi - imp[0].mean, 2.7764451051977987 * sd1 / sqrt(5.0), 1e-9);
    CHECK_NEAR(imp[0].mean - imp[0].ci_lo, imp[0].ci_hi - imp[0].mean, 1e-12);
    /* the same seed, the same numbers; threads change nothing */
    CHECK_INT(importance_permutation(t.m, &t.x, t.y, 5, 42, 2, again), 0);
    for (size_t j = 0; j < 4; j++)
        CHECK_NEAR(again[j].mean, imp[j].mean, 0);
    CHECK_INT(importance_permutation(t.m, &t.x, t.y, 0, 42, 1, again), AIOPS_EINVAL);
    CHECK_INT(importance_permutation(t.m, &t.x, t.y, IMPORTANCE_MAX_REPEATS + 1, 42, 1, again),
              AIOPS_EINVAL);
    free(before);
out:
    trained_free(&t);
}

static void test_significance_by_kind(void)
{
    const size_t n = 600;
    struct trained t = make_model(n);
    if (t.m == NULL)
        goto out;
    struct signif_result s[4];
    const char *test[4];
    CHECK_INT(importance_significance(t.m, &t.x, t.y, s, test), 0);
    CHECK_STR(test[0], "welch_t");
    CHECK_STR(test[3], "chi_square");
    CHECK(s[0].p < 1e-10);
    CHECK(s[3].p < 0.01);
    CHECK(s[2].p > 1e-3); /* noise: nothing to find */
    CHECK(isnan(s[1].p)); /* a constant: no variance */
    /* the same numbers as the test called directly */
    double *pos = malloc(n * sizeof *pos), *neg = malloc(n * sizeof *neg);
    size_t np = 0, nn = 0;
    for (size_t r = 0; r < n; r++) {
        if (t.y[r] == 1)
            pos[np++] = AT(&t.x, r, 0);
        else
            neg[nn++] = AT(&t.x, r, 0);
    }
    struct signif_result direct;
    signif_welch(pos, np, neg, nn, &direct);
    CHECK_NEAR(s[0].p, direct.p, 0);
    CHECK_NEAR(s[0].effect, direct.effect, 0);
    free(pos);
    free(neg);
out:
    trained_free(&t);
}

UNIT_MAIN(UNIT(test_score_is_accuracy), UNIT(test_permutation_finds_signal),
          UNIT(test_significance_by_kind))
