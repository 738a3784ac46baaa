/* Unit tests for lib/math/signif.c: statistics and p-values equal scipy 1.10.1's on fixed
 * samples. The expected numbers were computed once with
 *     /usr/bin/python3 tests/unit/ref/signif_reference.py
 * (kept beside this file; its output is quoted at each check). */
#include "unit.h"

#include "core/err.h"
#include "math/signif.h"

static const double a[] = {2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 4.1, 3.9, 2.2, 3.0, 4.8};
static const double b[] = {1.2, 2.2, 2.9, 1.8, 2.4, 3.1, 1.1, 2.0, 2.7, 1.5};
#define NA (sizeof a / sizeof a[0])
#define NB (sizeof b / sizeof b[0])

static void test_distributions_equal_scipy(void)
{
    /* t.ppf(0.975, 7.3)=2.3450667361509292 */
    CHECK_NEAR(signif_t_ppf(0.975, 7.3), 2.3450667361509292, 1e-9);
    CHECK_NEAR(signif_t_ppf(0.025, 7.3), -2.3450667361509292, 1e-9);
    /* chi2.sf(7.5, 3)=0.057558451972636399 */
    CHECK_NEAR(signif_chi2_sf(7.5, 3), 0.057558451972636399, 1e-12);
    CHECK_NEAR(signif_normal_sf(1.959963984540054), 0.025, 1e-12);
    CHECK_NEAR(signif_t_sf2(2.3450667361509292, 7.3), 0.05, 1e-9);
}

static void test_welch_equals_scipy(void)
{
    /* welch t=3.4456364541305167 p=0.0027957241931473725 */
    struct signif_result r;
    signif_welch(a, NA, b, NB, &r);
    CHECK_NEAR(r.statistic, 3.4456364541305167, 1e-12);
    CHECK_NEAR(r.p, 0.0027957241931473725, 1e-12);
    CHECK_INT(r.n, NA + NB);
    /* the interval holds the difference and excludes 0, as p < 0.05 says */
    CHECK(r.ci_lo < r.effect && r.effect < r.ci_hi);
    CHECK(r.ci_lo > 0);
    /* a NaN is skipped, not counted */
    double with_nan[NB + 1];
    for (size_t i = 0; i < NB; i++)
        with_nan[i] = b[i];
    with_nan[NB] = NAN;
    struct signif_result r2;
    signif_welch(a, NA, with_nan, NB + 1, &r2);
    CHECK_NEAR(r2.p, r.p, 0);
    /* too few values: NaN, not an error */
    signif_welch(a, 1, b, NB, &r2);
    CHECK(isnan(r2.p));
}

static void test_mann_whitney_equals_scipy(void)
{
    struct signif_result r;
    /* mw(a,b) U=101.5 p=0.0068464217645351809 */
    CHECK_INT(signif_mann_whitney(a, NA, b, NB, &r), 0);
    CHECK_NEAR(r.statistic, 101.5, 1e-12);
    CHECK_NEAR(r.p, 0.0068464217645351809, 1e-12);
    CHECK_NEAR(r.effect, 101.5 / (NA * NB), 1e-15);
    CHECK(r.ci_lo < r.effect && r.effect < r.ci_hi && r.ci_hi <= 1);
    /* with ties: mw U=43 p=0.16254624363094317 */
    const double c[] = {1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 7};
    const double d[] = {2, 3, 4, 4, 4, 5, 6, 6, 8, 8, 9};
    CHECK_INT(signif_mann_whitney(c, 12, d, 11, &r), 0);
    CHECK_NEAR(r.statistic, 43, 1e-12);
    CHECK_NEAR(r.p, 0.16254624363094317, 1e-12);
}

static void test_chi2_equals_scipy(void)
{
    struct signif_result r;
    /* chi2 2x2 stat=4.3221203912186867 p=0.037620016634839937 dof=1 V=0.38462756264684128
     * (Yates' correction) */
    const uint64_t t22[] = {12, 5, 7, 15};
    signif_chi2(t22, 2, 2, &r);
    CHECK_NEAR(r.statistic, 4.3221203912186867, 1e-12);
    CHECK_NEAR(r.p, 0.037620016634839937, 1e-12);
    CHECK_NEAR(r.df, 1, 0);
    CHECK_NEAR(r.effect, 0.38462756264684128, 1e-12);
    CHECK_NEAR(signif_cramers_v(t22, 2, 2), 0.38462756264684128, 1e-12);
    CHECK(r.ci_lo <= r.effect && r.effect <= r.ci_hi);
    /* chi2 2x3 stat=14.358974358974359 p=0.00076205854121494236 dof=2 V=0.35805743701971648 */
    const uint64_t t23[] = {10, 20, 30, 25, 15, 12};
    signif_chi2(t23, 2, 3, &r);
    CHECK_NEAR(r.statistic, 14.358974358974359, 1e-12);
    CHECK_NEAR(r.p, 0.00076205854121494236, 1e-12);
    CHECK_NEAR(r.df, 2, 0);
    CHECK_NEAR(r.effect, 0.35805743701971648, 1e-12);
    /* an empty column is left out: the same test */
    const uint64_t t24[] = {10, 20, 0, 30, 25, 15, 0, 12};
    signif_chi2(t24, 2, 4, &r);
    CHECK_NEAR(r.p, 0.00076205854121494236, 1e-12);
    /* one populated row: undefined */
    const uint64_t t1[] = {10, 20, 0, 0};
    signif_chi2(t1, 2, 2, &r);
    CHECK(isnan(r.p));
}

UNIT_MAIN(UNIT(test_distributions_equal_scipy), UNIT(test_welch_equals_scipy),
          UNIT(test_mann_whitney_equals_scipy), UNIT(test_chi2_equals_scipy))
