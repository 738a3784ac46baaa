/* signif.c -- significance tests (see signif.h). The special functions are the classic
 * continued fractions and series (Numerical Recipes 6.2, 6.4 with Lentz's method), accurate
 * to about 1e-14 relative, far below what a p-value is read to. */
#include "math/signif.h"

#include <math.h>
#include <stdlib.h>

#include "core/err.h"
#include "math/sort.h"
#include "math/stats.h"

#define CF_EPS 1e-15
#define CF_TINY 1e-300
#define CF_MAX_ITER 10000

/* One term an / (bn + ...) of a continued fraction by the modified Lentz method: updates
 * its state c and d and returns the factor the value is multiplied by. */
static double lentz_step(double an, double bn, double *c, double *d)
{
    *d = an * *d + bn;
    if (fabs(*d) < CF_TINY)
        *d = CF_TINY;
    *c = bn + an / *c;
    if (fabs(*c) < CF_TINY)
        *c = CF_TINY;
    *d = 1 / *d;
    return *d * *c;
}

/* The continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < CF_TINY)
        d = CF_TINY;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= CF_MAX_ITER; m++) {
        double m2 = 2.0 * m;
        h *= lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), 1, &c, &d);
        double del = lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), 1, &c, &d);
        h *= del;
        if (fabs(del - 1) < CF_EPS)
            break;
    }
    return h;
}

double signif_betainc(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || isnan(x))
        return NAN;
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    double bt = exp(lbt);
    /* the fraction converges fast on the side of the mean */
    if (x < (a + 1) / (a + b + 2))
        return bt * beta_cf(a, b, x) / a;
    return 1 - bt * beta_cf(b, a, 1 - x) / b;
}

double signif_gamma_q(double a, double x)
{
    if (isnan(x) || !(a > 0))
        return NAN;
    if (x <= 0)
        return 1;
    if (isinf(x))
        return 0;
    double gln = lgamma(a);
    if (x < a + 1) {
        /* the series of P */
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < CF_MAX_ITER; n++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * CF_EPS)
                break;
        }
        double q = 1 - sum * exp(-x + a * log(x) - gln);
        return q < 0 ? 0 : q;
    }
    double b = x + 1 - a, c = 1 / CF_TINY, d = 1 / b, h = d;
    for (int i = 1; i <= CF_MAX_ITER; i++) {
        b += 2;
        double del = lentz_step(-i * (i - a), b, &c, &d);
        h *= del;
        if (fabs(del - 1) < CF_EPS)
            break;
    }
    double q = exp(-x + a * log(x) - gln) * h;
    return q > 1 ? 1 : q;
}

double signif_normal_sf(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

double signif_t_sf2(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return 0;
    return signif_betainc(df / 2, 0.5, df / (df + t * t));
}

double signif_t_ppf(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    /* the one-sided tail is half the two-sided one: bisect on |t| */
    double tail = p < 0.5 ? p : 1 - p;
    double lo = 0, hi = 1;
    while (signif_t_sf2(hi, df) / 2 > tail && hi < 1e300)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (signif_t_sf2(mid, df) / 2 > tail)
            lo = mid;
        else
            hi = mid;
    }
    double t = 0.5 * (lo + hi);
    return p < 0.5 ? -t : t;
}

double signif_chi2_sf(double x, double k)
{
    if (isnan(x) || !(k > 0))
        return NAN;
    return signif_gamma_q(k / 2, x / 2);
}

static void result_nan(struct signif_result *out)
{
    out->statistic = out->df = out->p = out->effect = out->ci_lo = out->ci_hi = NAN;
    out->n = 0;
}

void signif_welch(const double *a, size_t na, const double *b, size_t nb, struct signif_result *out)
{
    struct stats_moments ma, mb;
    stats_moments(a, na, &ma);
    stats_moments(b, nb, &mb);
    result_nan(out);
    out->n = ma.n + mb.n;
    if (ma.n < 2 || mb.n < 2)
        return;
    double va = ma.var / (double)ma.n, vb = mb.var / (double)mb.n, se2 = va + vb;
    out->effect = ma.mean - mb.mean;
    if (!(se2 > 0))
        return;
    double se = sqrt(se2);
    out->statistic = out->effect / se;
    out->df = se2 * se2 / (va * va / (double)(ma.n - 1) + vb * vb / (double)(mb.n - 1));
    out->p = signif_t_sf2(out->statistic, out->df);
    double q = signif_t_ppf(0.975, out->df);
    out->ci_lo = out->effect - q * se;
    out->ci_hi = out->effect + q * se;
}

int signif_mann_whitney(const double *a, size_t na, const double *b, size_t nb,
                        struct signif_result *out)
{
    result_nan(out);
    double *all = malloc((na + nb ? na + nb : 1) * sizeof *all);
    double *ranks = malloc((na + nb ? na + nb : 1) * sizeof *ranks);
    if (all == NULL || ranks == NULL) {
        free(all);
        free(ranks);
        return AIOPS_ENOMEM;
    }
    size_t n1 = 0, n = 0;
    for (size_t i = 0; i < na; i++)
        if (!isnan(a[i]))
            all[n++] = a[i];
    n1 = n;
    for (size_t i = 0; i < nb; i++)
        if (!isnan(b[i]))
            all[n++] = b[i];
    const size_t n2 = n - n1;
    out->n = n;
    int rv = AIOPS_OK;
    if (n1 == 0 || n2 == 0)
        goto done;
    if ((rv = stats_rank_average(all, n, ranks)) != 0)
        goto done;
    double r1 = 0;
    for (size_t i = 0; i < n1; i++)
        r1 += ranks[i];
    const double dn1 = (double)n1, dn2 = (double)n2, dn = (double)n;
    const double u1 = r1 - dn1 * (dn1 + 1) / 2, u2 = dn1 * dn2 - u1;
    out->statistic = u1;
    out->effect = u1 / (dn1 * dn2);
    /* ties: the sum of t^3 - t over groups of equal values, counted on the values sorted
     * (all is no longer needed in sample order) */
    if ((rv = sort_f64(all, n)) != 0)
        goto done;
    double tie = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && all[j] == all[i])
            j++;
        double t = (double)(j - i);
        tie += t * t * t - t;
        i = j;
    }
    const double mu = dn1 * dn2 / 2;
    const double sigma = sqrt(dn1 * dn2 / 12 * ((dn + 1) - tie / (dn * (dn - 1))));
    const double u = u1 > u2 ? u1 : u2;
    if (sigma > 0) {
        double z = (u - mu - 0.5) / sigma;
        double p = 2 * signif_normal_sf(z);
        out->p = p > 1 ? 1 : p;
    }
    /* Hanley and McNeil's standard error of the probability */
    const double A = out->effect, q1 = A / (2 - A), q2 = 2 * A * A / (1 + A);
    const double var =
        (A * (1 - A) + (dn1 - 1) * (q1 - A * A) + (dn2 - 1) * (q2 - A * A)) / (dn1 * dn2);
    const double se = sqrt(var > 0 ? var : 0);
    out->ci_lo = fmax(0, A - 1.959963984540054 * se);
    out->ci_hi = fmin(1, A + 1.959963984540054 * se);
done:
    free(all);
    free(ranks);
    return rv;
}

/* The count of row i, and of column j, of an r x c table (row-major). */
static double row_sum(const uint64_t *table, size_t c, size_t i)
{
    double s = 0;
    for (size_t j = 0; j < c; j++)
        s += (double)table[i * c + j];
    return s;
}

static double col_sum(const uint64_t *table, size_t r, size_t c, size_t j)
{
    double s = 0;
    for (size_t i = 0; i < r; i++)
        s += (double)table[i * c + j];
    return s;
}

/* Pearson's chi-square of the table without its empty rows and columns, optionally with
 * Yates' correction; *k the degrees of freedom, *m min(rows, columns) kept, *total the
 * count. NaN when fewer than 2 rows or columns hold counts. */
static double chi2_stat(const uint64_t *table, size_t r, size_t c, int yates, double *k, double *m,
                        double *total)
{
    size_t rows = 0, cols = 0;
    double n = 0;
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++)
            n += (double)table[i * c + j];
    *total = n;
    for (size_t i = 0; i < r; i++)
        rows += row_sum(table, c, i) > 0;
    for (size_t j = 0; j < c; j++)
        cols += col_sum(table, r, c, j) > 0;
    *k = (double)((rows - (rows > 0)) * (cols - (cols > 0)));
    *m = (double)(rows < cols ? rows : cols);
    if (rows < 2 || cols < 2)
        return NAN;
    const int correct = yates && *k == 1;
    double x = 0;
    for (size_t i = 0; i < r; i++) {
        double ri = row_sum(table, c, i);
        if (ri == 0)
            continue;
        for (size_t j = 0; j < c; j++) {
            double cj = col_sum(table, r, c, j);
            if (cj == 0)
                continue;
            double e = ri * cj / n, o = (double)table[i * c + j], diff = o - e;
            if (correct) {
                /* scipy moves each count up to 0.5 towards its expectation */
                double mag = fmin(0.5, fabs(diff));
                diff = diff > 0 ? diff - mag : diff + mag;
            }
            x += diff * diff / e;
        }
    }
    return x;
}

double signif_cramers_v(const uint64_t *table, size_t r, size_t c)
{
    double k, m, n;
    double x = chi2_stat(table, r, c, 0, &k, &m, &n);
    if (isnan(x) || !(n > 0))
        return NAN;
    return sqrt(x / (n * (m - 1)));
}

void signif_chi2(const uint64_t *table, size_t r, size_t c, struct signif_result *out)
{
    result_nan(out);
    double k, m, n;
    double x = chi2_stat(table, r, c, 1, &k, &m, &n);
    out->n = (size_t)n;
    if (isnan(x))
        return;
    out->statistic = x;
    out->df = k;
    out->p = signif_chi2_sf(x, k);
    double raw = chi2_stat(table, r, c, 0, &k, &m, &n);
    const double denom = n * (m - 1);
    out->effect = sqrt(raw / denom);
    const double lambda = fmax(raw - k, 0), half = 1.959963984540054 * sqrt(2 * (k + 2 * lambda));
    out->ci_lo = sqrt(fmax(raw - half, 0) / denom);
    out->ci_hi = fmin(1, sqrt((raw + half) / denom));
}
