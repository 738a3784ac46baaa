#include "ml/significance.h"

#include <math.h>
#include <stdlib.h>

#include "math/signif.h"
#include "math/stats.h"

double sig_t_sf(double t, double df)
{
    if (isnan(t) || !(df > 0.0))
        return NAN;
    if (isinf(t))
        return t > 0 ? 0.0 : 1.0;
    double tail = 0.5 * signif_betainc(df / 2.0, 0.5, df / (df + t * t));
    return t >= 0 ? tail : 1.0 - tail;
}

double sig_mcnemar(uint64_t b, uint64_t c)
{
    uint64_t n = b + c;
    if (n == 0)
        return NAN;
    if (n >= 25) {
        double diff = fabs((double)b - (double)c) - 1.0;
        double stat = diff > 0 ? diff * diff / (double)n : 0.0;
        return erfc(sqrt(stat / 2.0)); /* chi2.sf(stat, 1) */
    }
    /* exact: 2 P(X <= min(b, c)) for X ~ Binomial(n, 1/2), capped at 1 */
    uint64_t k = b < c ? b : c;
    double sum = 0.0;
    for (uint64_t i = 0; i <= k; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                   (double)n * log(2.0));
    double p = 2.0 * sum;
    return p > 1.0 ? 1.0 : p;
}

double sig_paired_t(const double *x, const double *y, size_t n, double *t)
{
    if (t != NULL)
        *t = NAN;
    if (n < 2)
        return NAN;
    double mean = 0.0;
    for (size_t i = 0; i < n; i++)
        mean += x[i] - y[i];
    mean /= (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - y[i] - mean;
        ss += d * d;
    }
    double sd = sqrt(ss / (double)(n - 1));
    if (!(sd > 0.0))
        return NAN;
    double stat = mean / (sd / sqrt((double)n));
    if (t != NULL)
        *t = stat;
    return 2.0 * sig_t_sf(fabs(stat), (double)(n - 1));
}

/* Sun & Xu's structural components of one model: AUC, v01 (per positive), v10 (per
 * negative). pos/neg hold the model's scores; ranks are midranks. */
static int components(const double *pos, size_t m, const double *neg, size_t n, double *v01,
                      double *v10, double *auc, double *scratch)
{
    double *all = scratch, *rall = scratch + m + n, *rpos = rall + m + n, *rneg = rpos + m;
    for (size_t i = 0; i < m; i++)
        all[i] = pos[i];
    for (size_t j = 0; j < n; j++)
        all[m + j] = neg[j];
    if (stats_rank_average(all, m + n, rall) != 0 || stats_rank_average(pos, m, rpos) != 0 ||
        stats_rank_average(neg, n, rneg) != 0)
        return -1;
    double sum = 0.0;
    for (size_t i = 0; i < m; i++) {
        sum += rall[i];
        v01[i] = (rall[i] - rpos[i]) / (double)n;
    }
    for (size_t j = 0; j < n; j++)
        v10[j] = 1.0 - (rall[m + j] - rneg[j]) / (double)m;
    *auc = (sum / (double)m - ((double)m + 1.0) / 2.0) / (double)n;
    return 0;
}

static double cov(const double *a, const double *b, size_t n)
{
    double ma = 0, mb = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= (double)n;
    mb /= (double)n;
    for (size_t i = 0; i < n; i++)
        s += (a[i] - ma) * (b[i] - mb);
    return s / (double)(n - 1);
}

double sig_delong(const double *score_a, const double *score_b, const uint8_t *y, size_t n,
                  double *auc_a, double *auc_b, double *z)
{
    if (auc_a)
        *auc_a = NAN;
    if (auc_b)
        *auc_b = NAN;
    if (z)
        *z = NAN;
    size_t m = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        m += y[i] == 1;
        k += y[i] == 0;
    }
    if (m < 2 || k < 2)
        return NAN;
    /* per model: positives' and negatives' scores, then the components */
    double *buf = malloc((2 * (m + k) + 2 * (m + k) + 3 * (m + k)) * sizeof *buf);
    if (buf == NULL)
        return NAN;
    double *pa = buf, *na = pa + m, *pb = na + k, *nb = pb + m;
    double *v01a = nb + k, *v10a = v01a + m, *v01b = v10a + k, *v10b = v01b + m;
    double *scratch = v10b + k;
    size_t ip = 0, in = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 1) {
            pa[ip] = score_a[i];
            pb[ip++] = score_b[i];
        } else if (y[i] == 0) {
            na[in] = score_a[i];
            nb[in++] = score_b[i];
        }
    }
    double a1, a2, p = NAN;
    if (components(pa, m, na, k, v01a, v10a, &a1, scratch) == 0 &&
        components(pb, m, nb, k, v01b, v10b, &a2, scratch) == 0) {
        double var =
            (cov(v01a, v01a, m) + cov(v01b, v01b, m) - 2 * cov(v01a, v01b, m)) / (double)m +
            (cov(v10a, v10a, k) + cov(v10b, v10b, k) - 2 * cov(v10a, v10b, k)) / (double)k;
        if (auc_a)
            *auc_a = a1;
        if (auc_b)
            *auc_b = a2;
        if (var > 0.0) {
            double zz = (a1 - a2) / sqrt(var);
            if (z)
                *z = zz;
            p = erfc(fabs(zz) / sqrt(2.0));
        }
    }
    free(buf);
    return p;
}
