/* Unit tests for lib/math/stats.c.
 *
 * Reference values come from numpy 1.24.2 / pandas 1.5.3 (/usr/bin/python3); each block
 * says the expression that produced them. lcg(n, seed) below is reproduced in Python as
 *   def lcg(n, seed):
 *       st = seed; out = []
 *       for i in range(n):
 *           st = (st*1103515245 + 12345) % 2**31; out.append(st / 2**31)
 *       return np.array(out)
 * (exact in doubles, so both sides see identical data). */
#include "unit.h"

#include "core/err.h"
#include "math/sort.h"
#include "math/stats.h"

static void lcg(double *out, size_t n, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = 0; i < n; i++) {
        st = (st * 1103515245u + 12345u) % 2147483648u;
        out[i] = (double)st / 2147483648.0;
    }
}

static void test_moments_match_pandas(void)
{
    /* x = pd.Series([2.5, nan, 1.0, 7.25, -3.0, 4.0, 4.0, 10.5, nan, 0.0])
     * x.mean(), x.var(), x.std(), x.skew(), x.kurt() */
    double x[] = {2.5, NAN, 1.0, 7.25, -3.0, 4.0, 4.0, 10.5, NAN, 0.0};
    struct stats_moments m;
    stats_moments(x, 10, &m);
    CHECK_INT(m.n, 8);
    CHECK_NEAR(m.mean, 3.28125, 1e-15);
    CHECK_NEAR(m.var, 17.847098214285715, 1e-13);
    CHECK_NEAR(m.std, 4.224582608292293, 1e-14);
    CHECK_NEAR(m.skewness, 0.3636095143108161, 1e-14);
    CHECK_NEAR(m.kurtosis, 0.12050486109023506, 1e-14);
    CHECK(m.min == -3.0 && m.max == 10.5);
    CHECK_NEAR(stats_mean(x, 10), 3.28125, 1e-15);
    CHECK_NEAR(stats_variance(x, 10, 1), 17.847098214285715, 1e-13);
    CHECK_NEAR(stats_variance(x, 10, 0), 17.847098214285715 * 7 / 8, 1e-13);

    /* far from zero: big = pd.Series([1e9+1, 1e9+2, 1e9+4, 1e9+8, 1e9+16]);
     * big.mean() 1000000006.2, big.var() 37.2. pandas' own big.skew() (1.32531467072...) and
     * big.kurt() lose 8 digits to the offset, so the reference is the shift-free
     * pd.Series([1.,2.,4.,8.,16.]).skew() / .kurt(), which the corrected two-pass meets */
    double big[] = {1e9 + 1, 1e9 + 2, 1e9 + 4, 1e9 + 8, 1e9 + 16};
    stats_moments(big, 5, &m);
    CHECK_NEAR(m.mean, 1000000006.2, 1e-6);
    CHECK_NEAR(m.var, 37.2, 1e-9);
    CHECK_NEAR(m.skewness, 1.3253147098134048, 1e-12);
    CHECK_NEAR(m.kurtosis, 1.3037634408602123, 1e-12);
}

static void test_moments_degenerate(void)
{
    /* pd.Series([3.3]*5): std 0.0, skew 0, kurt 0 */
    double c[] = {3.3, 3.3, 3.3, 3.3, 3.3};
    struct stats_moments m;
    stats_moments(c, 5, &m);
    CHECK(m.std == 0 && m.var == 0 && m.skewness == 0 && m.kurtosis == 0);
    CHECK(m.mean == 3.3);
    /* pd.Series([1.0, 2.0, 4.0]): kurt nan (n < 4), skew 0.9352195295828237 */
    double three[] = {1.0, 2.0, 4.0};
    stats_moments(three, 3, &m);
    CHECK(isnan(m.kurtosis));
    CHECK_NEAR(m.skewness, 0.9352195295828237, 1e-14);
    double one[] = {NAN, 7.0, NAN};
    stats_moments(one, 3, &m);
    CHECK_INT(m.n, 1);
    CHECK(m.mean == 7.0 && isnan(m.var) && isnan(m.std) && isnan(m.skewness));
    double none[] = {NAN, NAN};
    stats_moments(none, 2, &m);
    CHECK_INT(m.n, 0);
    CHECK(isnan(m.mean) && isnan(m.min) && isnan(m.max));
    stats_moments(NULL, 0, &m);
    CHECK(isnan(m.mean));
}

static void test_argmax_takes_the_first_largest(void)
{
    double p[] = {0.2, 0.5, 0.1, 0.5};
    CHECK_INT(stats_argmax(p, 4), 1); /* a tie goes to the first */
    CHECK_INT(stats_argmax(p, 1), 0);
    double q[] = {0.1, 0.2, 0.7};
    CHECK_INT(stats_argmax(q, 3), 2);
}

static void test_quantiles_match_numpy(void)
{
    /* s = np.array(sorted([3.0, -1.5, 8.25, 0.0, 2.0, 2.0, 11.0, 5.5, -4.0, 7.0, 1.0]))
     * np.quantile(s, q) */
    double s[] = {3.0, -1.5, 8.25, 0.0, 2.0, 2.0, 11.0, 5.5, -4.0, 7.0, 1.0};
    CHECK_INT(sort_f64(s, 11), 0);
    static const double q[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.333, 0, 1};
    static const double want[] = {-3.75, -2.75, 0.5, 2.0, 6.25, 9.625, 10.725000000000001,
                                  1.33,  -4.0,  11.0};
    for (size_t i = 0; i < 10; i++)
        CHECK(stats_quantile_sorted(s, 11, q[i]) == want[i]); /* bit-exact */
    CHECK(isnan(stats_quantile_sorted(s, 0, 0.5)));
    CHECK(isnan(stats_quantile_sorted(s, 11, 1.5)));
    CHECK(isnan(stats_quantile_sorted(s, 11, NAN)));
    CHECK(stats_quantile_sorted(s, 1, 0.7) == -4.0);
    CHECK_INT(stats_count_below(s, 11, 2.0), 4);
    CHECK_INT(stats_count_at_most(s, 11, 2.0), 6);
    CHECK_INT(stats_distinct_sorted(s, 11), 10);
    double z[] = {-0.0, 0.0, 1.0};
    CHECK_INT(stats_distinct_sorted(z, 3), 2);
}

static void test_histogram_matches_numpy(void)
{
    /* h = np.histogram(lcg(1000, 42)**2 * 50 - 7, bins=20) */
    static const uint64_t want[20] = {216, 84, 75, 62, 41, 57, 48, 40, 42, 44,
                                      24,  31, 34, 27, 25, 25, 27, 34, 33, 31};
    double x[1001], edges[21];
    uint64_t counts[20], counts2[20];
    lcg(x, 1000, 42);
    for (size_t i = 0; i < 1000; i++)
        x[i] = x[i] * x[i] * 50 - 7;
    x[1000] = NAN;
    CHECK_INT(stats_histogram(x, 1001, 20, edges, counts), 0);
    for (size_t i = 0; i < 20; i++)
        CHECK_INT(counts[i], want[i]);
    /* h[1][0], h[1][1], h[1][7], h[1][19], h[1][20] */
    CHECK(edges[0] == -6.999822677292204);
    CHECK(edges[1] == -4.500632470234159);
    CHECK(edges[7] == 10.49450877211411);
    CHECK(edges[19] == 40.48479125681065);
    CHECK(edges[20] == 42.9839814638687);
    /* the sorted-data path bins identically */
    CHECK_INT(sort_f64(x, 1001), 0);
    stats_histogram_sorted(x, 1000, edges, 20, counts2);
    CHECK_MEM(counts, sizeof counts, counts2, sizeof counts2);

    /* np.histogram([5.0, 5.0, 5.0], bins=4) -> [0,0,3,0], edges [4.5, 4.75, 5.0, 5.25, 5.5] */
    double c[] = {5.0, 5.0, 5.0}, ce[5];
    uint64_t cc[4];
    CHECK_INT(stats_histogram(c, 3, 4, ce, cc), 0);
    CHECK(ce[0] == 4.5 && ce[1] == 4.75 && ce[2] == 5.0 && ce[3] == 5.25 && ce[4] == 5.5);
    CHECK(cc[0] == 0 && cc[1] == 0 && cc[2] == 3 && cc[3] == 0);
    /* np.histogram([0,1,2,3,3,10], bins=5) -> [2,3,0,0,1] (10 lands in the closed last bin) */
    double s[] = {0, 1, 2, 3, 3, 10}, se[6];
    uint64_t sc[5];
    CHECK_INT(stats_histogram(s, 6, 5, se, sc), 0);
    CHECK(sc[0] == 2 && sc[1] == 3 && sc[2] == 0 && sc[3] == 0 && sc[4] == 1);
    stats_histogram_sorted(s, 6, se, 5, sc);
    CHECK(sc[0] == 2 && sc[1] == 3 && sc[2] == 0 && sc[3] == 0 && sc[4] == 1);
    /* bad ranges */
    double inf[] = {1.0, INFINITY};
    CHECK_INT(stats_histogram(inf, 2, 5, se, sc), AIOPS_EINVAL);
    CHECK_INT(stats_histogram_edges(-1e308, 1e308, 5, se), AIOPS_EINVAL);
    CHECK_INT(stats_histogram_edges(0, 1, 0, se), AIOPS_EINVAL);
}

static void test_pearson(void)
{
    /* pd.Series([1,2,nan,4,5,7.5,3]).corr(pd.Series([2.1,nan,3.3,8,9.9,15,5.5])) */
    double a[] = {1.0, 2.0, NAN, 4.0, 5.0, 7.5, 3.0};
    double b[] = {2.1, NAN, 3.3, 8.0, 9.9, 15.0, 5.5};
    size_t used = 0;
    CHECK_NEAR(stats_pearson(a, b, 7, &used), 0.9988295319836518, 1e-15);
    CHECK_INT(used, 5);
    /* constant side -> NaN, also when the constant does not sum exactly */
    double c[] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
    CHECK(isnan(stats_pearson(a, c, 7, NULL)));
    CHECK(isnan(stats_pearson(a, b, 1, NULL)));
    double neg[] = {3.0, 2.0, 1.0};
    CHECK(stats_pearson(a, neg, 2, NULL) == -1.0);
}

/* df = pd.DataFrame({"a": v1*10, "b": v1*3 + v2, "c": v3 - v1, "d": np.full(1000, 2.5),
 *                    "e": v2*v2}) with v1..v3 = lcg(1000, 1..3);
 * df.loc[::7, "a"] = nan; df.loc[3::11, "b"] = nan; df.loc[:50, "c"] = nan; df.corr() */
static void test_corr_matrix_pairwise_matches_pandas(void)
{
    enum { N = 1000, K = 5 };
    static double v1[N], v2[N], v3[N], a[N], b[N], c[N], d[N], e[N];
    lcg(v1, N, 1);
    lcg(v2, N, 2);
    lcg(v3, N, 3);
    for (size_t i = 0; i < N; i++) {
        a[i] = i % 7 == 0 ? NAN : v1[i] * 10;
        b[i] = i >= 3 && (i - 3) % 11 == 0 ? NAN : v1[i] * 3 + v2[i];
        c[i] = i <= 50 ? NAN : v3[i] - v1[i];
        d[i] = 2.5;
        e[i] = v2[i] * v2[i];
    }
    const double *cols[K] = {a, b, c, d, e};
    double r[K * K];
    CHECK_INT(stats_corr_matrix(cols, K, N, r), 0);
    CHECK_NEAR(r[0 * K + 1], 0.9475505481655727, 1e-12);
    CHECK_NEAR(r[0 * K + 2], -0.6737568714976324, 1e-12);
    CHECK_NEAR(r[1 * K + 2], -0.6491768033143664, 1e-12);
    CHECK_NEAR(r[0 * K + 4], 0.0023941333996220036, 1e-12);
    CHECK_NEAR(r[2 * K + 4], -0.017826914834514263, 1e-12);
    CHECK_NEAR(r[1 * K + 4], 0.32302156362125084, 1e-12);
    CHECK(r[1 * K + 0] == r[0 * K + 1]);
    CHECK(r[0] == 1.0 && r[1 * K + 1] == 1.0 && r[4 * K + 4] == 1.0);
    CHECK(isnan(r[3 * K + 3]) && isnan(r[0 * K + 3]) && isnan(r[3 * K + 4]));
    /* each entry equals stats_pearson over the same pair */
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            double p = i == j && i != 3 ? 1.0 : stats_pearson(cols[i], cols[j], N, NULL);
            if (isnan(p))
                CHECK(isnan(r[i * K + j]));
            else
                CHECK_NEAR(r[i * K + j], p, 1e-12);
        }

    /* no missing values (the single-dsyrk path): df2 = df.fillna(0.25);
     * df2[["a","b","c","e"]].corr() */
    for (size_t i = 0; i < N; i++) {
        a[i] = isnan(a[i]) ? 0.25 : a[i];
        b[i] = isnan(b[i]) ? 0.25 : b[i];
        c[i] = isnan(c[i]) ? 0.25 : c[i];
    }
    const double *cols2[4] = {a, b, c, e};
    double r2[16];
    CHECK_INT(stats_corr_matrix(cols2, 4, N, r2), 0);
    CHECK_NEAR(r2[0 * 4 + 1], 0.6373695388143282, 1e-12);
    CHECK_NEAR(r2[0 * 4 + 2], -0.5036190624626651, 1e-12);
    CHECK_NEAR(r2[1 * 4 + 2], -0.5315295877873908, 1e-12);
    CHECK_NEAR(r2[2 * 4 + 3], -0.01957067130210948, 1e-12);
    CHECK(r2[0] == 1.0 && r2[15] == 1.0);
}

/* far from zero and tiny: x = 1e9 + v1, y = 1e9 + v1 + v2 (missing on rows i % 5 == 0),
 * z = 1e-9 * v2 with v1, v2 = lcg(1000, 1), lcg(1000, 2). pandas' df.corr() is off in the
 * 8th digit here (0.700202751577267, 0.013565809305587484, 0.7177037720682717), so the
 * reference is exact rational arithmetic over the same doubles:
 *   from fractions import Fraction as F
 *   a, b = [F(v) for v in a], [F(v) for v in b]; ma, mb = sum(a)/n, sum(b)/n
 *   c = sum((p-ma)*(q-mb)); va = sum((p-ma)**2); vb = sum((q-mb)**2)
 *   float(c) / (float(va)*float(vb))**0.5    over the pairwise-complete rows */
static void test_corr_matrix_offsets(void)
{
    enum { N = 1000 };
    static double v1[N], v2[N], x[N], y[N], z[N];
    lcg(v1, N, 1);
    lcg(v2, N, 2);
    for (size_t i = 0; i < N; i++) {
        x[i] = 1e9 + v1[i];
        y[i] = i % 5 == 0 ? NAN : 1e9 + v1[i] + v2[i];
        z[i] = 1e-9 * v2[i];
    }
    const double *cols[] = {x, y, z};
    double r[9];
    CHECK_INT(stats_corr_matrix(cols, 3, N, r), 0);
    CHECK_NEAR(r[0 * 3 + 1], 0.7002027131875276, 1e-13);
    CHECK_NEAR(r[0 * 3 + 2], 0.013565869772393255, 1e-13);
    CHECK_NEAR(r[1 * 3 + 2], 0.7177037669457775, 1e-13);
    CHECK_NEAR(stats_pearson(x, y, N, NULL), 0.7002027131875276, 1e-13);
}

/* Every mix of the three ways a column is handled -- no gaps, few gaps (walked row by row),
 * many gaps (BLAS with a mask) -- agrees with stats_pearson on each pair, over blocks. */
static void test_corr_matrix_mixed_gaps(void)
{
    enum { N = 50000, K = 7 };
    double *c[K];
    for (size_t j = 0; j < K; j++)
        c[j] = malloc(N * sizeof *c[j]);
    lcg(c[0], N, 11);
    lcg(c[1], N, 12);
    for (size_t i = 0; i < N; i++) {
        double u = c[0][i], w = c[1][i];
        c[2][i] = i % 10 == 3 ? NAN : u + 0.3 * w;            /* sparse */
        c[3][i] = (i * 7) % 10 < 4 ? NAN : u - w;             /* dense: 40% */
        c[4][i] = i % 3 == 0 ? NAN : w * w;                   /* dense: 33% */
        c[5][i] = i % 97 == 0 || i % 2 == 0 ? NAN : u * w;    /* dense: 50% */
        c[6][i] = i < 40000 && i % 50 == 1 ? NAN : 5 + u * u; /* sparse, gaps end early */
    }
    double r[K * K];
    CHECK_INT(stats_corr_matrix((const double *const *)c, K, N, r), 0);
    size_t bad = 0;
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++) {
            double p = a == b ? 1.0 : stats_pearson(c[a], c[b], N, NULL);
            if (!(fabs(r[a * K + b] - p) <= 1e-12)) {
                bad++;
                fprintf(stderr, "  r[%zu,%zu] = %.17g, pearson %.17g\n", a, b, r[a * K + b], p);
            }
        }
    CHECK_INT(bad, 0);
    for (size_t j = 0; j < K; j++)
        free(c[j]);
}

static void test_corr_matrix_edge_cases(void)
{
    /* a pair whose complete rows leave one side constant; a column with inf; tiny n */
    double x[] = {1, 2, 3, 4, 5, 6};
    double y[] = {NAN, NAN, NAN, 7, 7, 7}; /* constant where present */
    double w[] = {1, NAN, 2, NAN, 3, 4};   /* pairs with y on rows 4,5 only: const */
    double v[] = {1, 2, INFINITY, 4, 5, 6};
    const double *cols[] = {x, y, w, v};
    double r[16];
    CHECK_INT(stats_corr_matrix(cols, 4, 6, r), 0);
    CHECK(isnan(r[0 * 4 + 1]) && isnan(r[1 * 4 + 1]));
    CHECK(isnan(r[3 * 4 + 0]) && isnan(r[3 * 4 + 3]));
    CHECK_NEAR(r[0 * 4 + 2], stats_pearson(x, w, 6, NULL), 1e-14);
    CHECK_NEAR(r[0 * 4 + 2], 0.9897782665572893, 1e-12); /* np.corrcoef([1,3,5,6],[1,2,3,4]) */
    CHECK_INT(stats_corr_matrix(cols, 0, 6, r), 0);
    CHECK_INT(stats_corr_matrix(cols, 2, 1, r), 0);
    CHECK(isnan(r[1]) && isnan(r[0]));
}

static void test_auc_ties_and_nan(void)
{
    /* sc = [0.1,0.4,0.35,0.8,0.4,0.4,0.9,0.1,nan,0.65], y = [0,0,1,1,1,0,1,1,1,0];
     * AUC from pandas average ranks of the non-NaN scores (Mann-Whitney): 0.575 */
    double sc[] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.9, 0.1, NAN, 0.65};
    uint8_t y[] = {0, 0, 1, 1, 1, 0, 1, 1, 1, 0};
    double auc = 0;
    CHECK_INT(stats_roc_auc(sc, y, 10, &auc), 0);
    CHECK_NEAR(auc, 0.575, 1e-15);
    /* perfect separation, reversed, all tied, one class only */
    double s2[] = {1, 2, 3, 4};
    uint8_t y2[] = {0, 0, 1, 1}, y3[] = {1, 1, 0, 0}, y4[] = {1, 1, 1, 1};
    CHECK_INT(stats_roc_auc(s2, y2, 4, &auc), 0);
    CHECK(auc == 1.0);
    CHECK_INT(stats_roc_auc(s2, y3, 4, &auc), 0);
    CHECK(auc == 0.0);
    double s3[] = {5, 5, 5, 5};
    CHECK_INT(stats_roc_auc(s3, y2, 4, &auc), 0);
    CHECK(auc == 0.5);
    CHECK_INT(stats_roc_auc(s2, y4, 4, &auc), 0);
    CHECK(isnan(auc));
    CHECK(isnan(stats_auc_sorted(s2, 0, s2, 4)));
}

static void test_auc_large_matches_rank_formula(void)
{
    /* the merge count equals the rank-sum formula on 200k scores with many ties */
    enum { N = 200000 };
    double *s = malloc(N * sizeof *s), *rk = malloc(N * sizeof *rk);
    uint8_t *y = malloc(N);
    double u[N / 100];
    lcg(u, N / 100, 7);
    for (size_t i = 0; i < N; i++) {
        s[i] = (double)((i * 2654435761u) % 1000); /* 1000 distinct values, many ties */
        y[i] = (uint8_t)(u[i % (N / 100)] + s[i] / 2000.0 > 0.75);
    }
    double auc;
    CHECK_INT(stats_roc_auc(s, y, N, &auc), 0);
    CHECK_INT(stats_rank_average(s, N, rk), 0);
    double rsum = 0, np = 0;
    for (size_t i = 0; i < N; i++)
        if (y[i]) {
            rsum += rk[i];
            np++;
        }
    double nn = N - np;
    CHECK_NEAR(auc, (rsum - np * (np + 1) / 2) / (np * nn), 1e-12);
    CHECK(auc > 0.6 && auc < 0.95);
    free(s);
    free(rk);
    free(y);
}

static void test_ranks(void)
{
    /* pd.Series([3.0, 1.0, nan, 3.0, 2.0, 3.0]).rank() -> [4, 1, nan, 4, 2, 4] */
    double x[] = {3.0, 1.0, NAN, 3.0, 2.0, 3.0}, r[6];
    CHECK_INT(stats_rank_average(x, 6, r), 0);
    CHECK(r[0] == 4 && r[1] == 1 && isnan(r[2]) && r[3] == 4 && r[4] == 2 && r[5] == 4);
}

UNIT_MAIN(UNIT(test_moments_match_pandas), UNIT(test_moments_degenerate),
          UNIT(test_argmax_takes_the_first_largest), UNIT(test_quantiles_match_numpy),
          UNIT(test_histogram_matches_numpy), UNIT(test_pearson),
          UNIT(test_corr_matrix_pairwise_matches_pandas), UNIT(test_corr_matrix_offsets),
          UNIT(test_corr_matrix_mixed_gaps), UNIT(test_corr_matrix_edge_cases),
          UNIT(test_auc_ties_and_nan), UNIT(test_auc_large_matches_rank_formula), UNIT(test_ranks))
