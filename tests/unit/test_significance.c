/* Unit tests for lib/ml/significance.c against scipy 1.10 and an independent numpy DeLong:
 * the numbers were printed by tests/unit/significance_reference.py (kept beside this file;
 * it builds the same sample from the same LCG). */
#include "unit.h"

#include "math/signif.h"
#include "ml/significance.h"
#include "testdata.h"

static void lcg(unsigned long long seed, size_t n, double *out)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        out[i] = lcg_unit(&s);
}

enum { N = 300 };

/* significance_reference.py's sample(): labels with 40% positives, model a separating them
 * better than model b, scores floored to 2 decimals (ties). */
static void sample(uint8_t *y, double *a, double *b)
{
    double u[N], v[N], w[N];
    lcg(1, N, u);
    lcg(2, N, v);
    lcg(3, N, w);
    for (size_t i = 0; i < N; i++) {
        y[i] = u[i] < 0.4;
        a[i] = floor((0.35 * y[i] + 0.65 * v[i]) * 100.0) / 100.0;
        b[i] = floor((0.15 * y[i] + 0.85 * w[i]) * 100.0) / 100.0;
    }
}

static void test_delong_equals_the_reference(void)
{
    uint8_t y[N];
    double a[N], b[N], auc_a, auc_b, z;
    sample(y, a, b);
    double p = sig_delong(a, b, y, N, &auc_a, &auc_b, &z);
    CHECK_REL(auc_a, 0.90754340631941621, 1e-12);
    CHECK_REL(auc_b, 0.65406410082052679, 1e-12);
    CHECK_REL(z, 7.3501753597975803, 1e-9);
    CHECK_REL(p, 1.9794698662199343e-13, 1e-6);
    /* a model against itself: no difference to test */
    CHECK(isnan(sig_delong(a, a, y, N, NULL, NULL, &z)));
    /* one class only: undefined, not a number */
    uint8_t ones[N];
    memset(ones, 1, sizeof ones);
    CHECK(isnan(sig_delong(a, b, ones, N, NULL, NULL, NULL)));
}

static void test_distributions_equal_scipy(void)
{
    CHECK_REL(sig_t_sf(2.1, 7), 0.036935598106461298, 1e-10);
    CHECK_REL(sig_t_sf(-0.5, 30), 0.68963849755743634, 1e-10);
    CHECK_REL(sig_t_sf(4.0, 299), 3.9949908814814216e-05, 1e-9);
    CHECK_REL(signif_betainc(2.5, 0.5, 0.3), 0.018927124071945651, 1e-10);
    CHECK_REL(signif_betainc(10, 3, 0.9), 0.88913002225500004, 1e-10);
}

static void test_mcnemar_equals_scipy(void)
{
    CHECK_REL(sig_mcnemar(3, 12), 0.03515625, 1e-12);
    CHECK_REL(sig_mcnemar(0, 7), 0.015625, 1e-12);
    CHECK_REL(sig_mcnemar(7, 0), 0.015625, 1e-12);
    CHECK_NEAR(sig_mcnemar(5, 5), 1.0, 0);
    CHECK_REL(sig_mcnemar(40, 20), 0.014171388254012323, 1e-10);
    CHECK(isnan(sig_mcnemar(0, 0)));
}

static void test_paired_t_equals_scipy(void)
{
    uint8_t y[N];
    double a[N], b[N], ea[N], eb[N], t;
    sample(y, a, b);
    for (size_t i = 0; i < N; i++) {
        ea[i] = (a[i] - y[i]) * (a[i] - y[i]);
        eb[i] = (b[i] - y[i]) * (b[i] - y[i]);
    }
    double p = sig_paired_t(ea, eb, N, &t);
    CHECK_REL(t, -7.8275755142683039, 1e-10);
    CHECK_REL(p, 8.6780743570740722e-14, 1e-6);
    CHECK(isnan(sig_paired_t(ea, ea, N, NULL)));
}

UNIT_MAIN(UNIT(test_delong_equals_the_reference), UNIT(test_distributions_equal_scipy),
          UNIT(test_mcnemar_equals_scipy), UNIT(test_paired_t_equals_scipy))
