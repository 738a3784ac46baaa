#include "ml/drift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "math/signif.h"
#include "math/sort.h"
#include "math/stats.h"

/* Evidently's defaults: a p-value test drifts below 0.05, a distance at or above 0.1, and the
 * reference size that switches from tests to distances. */
#define P_THRESHOLD 0.05
#define DISTANCE_THRESHOLD 0.1
#define SMALL_REFERENCE 1000
#define FEW_VALUES 5
/* ks_2samp's 'auto' is exact while both samples are at most this large. */
#define KS_EXACT_MAX 10000

static const char *const method_names[DRIFT_METHOD_COUNT] = {
    [DRIFT_KS] = "ks",
    [DRIFT_CHISQUARE] = "chisquare",
    [DRIFT_Z] = "z",
    [DRIFT_WASSERSTEIN] = "wasserstein",
    [DRIFT_JENSEN_SHANNON] = "jensenshannon",
};

const char *drift_method_name(enum drift_method m)
{
    return (unsigned)m < DRIFT_METHOD_COUNT ? method_names[m] : "unknown";
}

static double clip01(double p)
{
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

/* --- empirical distributions ---------------------------------------------------------- */

/* What one merge of two sorted samples a and b gives. */
struct ecdf_merge {
    double ks;   /* the largest distance between the two ECDFs */
    double area; /* the area between them (the Wasserstein integral) */
    size_t nu;   /* distinct values */
    uint64_t acount[FEW_VALUES], bcount[FEW_VALUES]; /* the first few values' counts */
};

static void ecdf_merge(const double *a, size_t na, const double *b, size_t nb,
                       struct ecdf_merge *out)
{
    size_t i = 0, j = 0, nu = 0;
    double fa = (double)na, fb = (double)nb, ks = 0.0, area = 0.0;
    double prev = na == 0 ? (nb ? b[0] : 0.0) : nb == 0 || a[0] < b[0] ? a[0] : b[0];
    /* i / fa and j / fb, divided again only when i or j moved (divisions were most of
     * this loop's time; the same divisions give the same numbers) */
    double ea = 0.0 / fa, eb = 0.0 / fb;
    while (i < na || j < nb) {
        double v = j >= nb || (i < na && a[i] <= b[j]) ? a[i] : b[j];
        /* on [prev, v) both ECDFs hold their value at prev */
        area += fabs(ea - eb) * (v - prev);
        size_t i0 = i, j0 = j;
        while (i < na && a[i] == v)
            i++;
        while (j < nb && b[j] == v)
            j++;
        /* the ECDFs just right of v, divided as scipy divides (searchsorted / n) */
        if (i != i0)
            ea = (double)i / fa;
        if (j != j0)
            eb = (double)j / fb;
        double diff = fabs(ea - eb);
        if (diff > ks)
            ks = diff;
        if (nu < FEW_VALUES) {
            out->acount[nu] = i - i0;
            out->bcount[nu] = j - j0;
        }
        nu++;
        prev = v;
    }
    out->ks = ks;
    out->area = area;
    out->nu = nu;
}

double drift_ks_statistic_sorted(const double *a, size_t na, const double *b, size_t nb)
{
    struct ecdf_merge m;
    ecdf_merge(a, na, b, nb, &m);
    return m.ks;
}

double drift_wasserstein_sorted(const double *a, size_t na, const double *b, size_t nb)
{
    struct ecdf_merge m;
    ecdf_merge(a, na, b, nb, &m);
    return m.area;
}

double drift_std(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    return sqrt(stats_variance(x, n, 0));
}

/* --- KS p-value (scipy 1.10 ks_2samp, two-sided) ------------------------------------- */

static size_t gcd_size(size_t a, size_t b)
{
    while (b != 0) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* scipy's _compute_prob_outside_square: P(D_{n,n} >= h / n) by a Horner-like scheme over
 * the alternating binomial series (no cancellation). */
static double prob_outside_square(size_t n, size_t h)
{
    double p = 0.0;
    for (size_t k = n / h + 1; k-- > 0;) {
        double p1 = 1.0;
        for (size_t j = 0; j < h; j++)
            p1 = ((double)n - (double)(k * h) - (double)j) * p1 /
                 ((double)n + (double)(k * h) + (double)j + 1.0);
        p = p1 * (1.0 - p);
    }
    return 2.0 * p;
}

/* scipy's _compute_outer_prob_inside_method (Viehmann's recursion for 1 - p, which stays
 * accurate for small p-values): the share of lattice paths from (0,0) to (m,n) leaving
 * |x/m - y/n| < h / lcm. Returns NaN when out of memory. */
static double prob_outer_inside(size_t m, size_t n, size_t g, size_t h)
{
    if (m < n) {
        size_t t = m;
        m = n;
        n = t;
    }
    size_t mg = m / g, ng = n / g;
    /* one column of the path table, slid along the band; n + 2 cells cover any window */
    double *col = malloc((n + 2) * sizeof *col);
    if (col == NULL)
        return NAN;
    for (size_t j = 0; j < n + 2; j++)
        col[j] = 1.0;
    size_t minj = 0, maxj = (h + mg - 1) / mg;
    if (maxj > n + 1)
        maxj = n + 1;
    size_t curlen = maxj - minj;
    for (size_t j = minj; j < maxj; j++)
        col[j] = 0.0;
    for (size_t i = 1; i <= m; i++) {
        size_t lastminj = minj, lastlen = curlen;
        /* minj = floor((ng i - h) / mg) + 1 clamped to [0, n]; maxj = ceil((ng i + h) / mg) */
        double lo = floor(((double)(ng * i) - (double)h) / (double)mg) + 1.0;
        minj = lo < 0.0 ? 0 : (size_t)lo;
        if (minj > n)
            minj = n;
        maxj = (ng * i + h + mg - 1) / mg;
        if (maxj > n + 1)
            maxj = n + 1;
        if (maxj <= minj) {
            free(col);
            return 1.0;
        }
        double val = minj == 0 ? 0.0 : 1.0;
        for (size_t jj = 0; jj < maxj - minj; jj++) {
            size_t j = jj + minj, src = jj + minj - lastminj;
            double prevcol = src < n + 2 ? col[src] : 1.0;
            val = (prevcol * (double)i + val * (double)j) / (double)(i + j);
            col[jj] = val;
        }
        curlen = maxj - minj;
        for (size_t k = curlen; k < lastlen && k < n + 2; k++)
            col[k] = 1.0;
    }
    double p = col[maxj - minj - 1];
    free(col);
    return p;
}

/* log(n! / n^n) */
static double log_nfact_div_npow(double n)
{
    return lgamma(n + 1.0) - n * log(n);
}

/* scipy.special.smirnov(n, x): P(D+_n >= x) by the Birnbaum-Tingey sum, whose terms are all
 * positive; summed in log space from j = 0 until they fall 40 nats under the largest. */
static double smirnov(double n, double x)
{
    if (x <= 0.0)
        return 1.0;
    if (x >= 1.0)
        return 0.0;
    double jmax = floor(n * (1.0 - x));
    double logc = 0.0; /* log C(n, j) */
    double top = -INFINITY, sum = 0.0;
    for (double j = 0.0; j <= jmax; j += 1.0) {
        if (j > 0.0)
            logc += log(n - j + 1.0) - log(j);
        double a = 1.0 - x - j / n, b = x + j / n;
        if (a <= 0.0)
            break; /* the last term, 0^(n-j) */
        double lt = logc + (n - j) * log(a) + (j - 1.0) * log(b);
        if (lt > top) {
            /* rescale the running sum to the new largest term */
            sum = sum * exp(top - lt) + 1.0;
            top = lt;
        } else {
            sum += exp(lt - top);
            if (lt < top - 40.0 && j > 2.0)
                break;
        }
    }
    return clip01(x * sum * exp(top));
}

/* scipy's _kolmogn_PelzGood: the Pelz-Good approximation to P(D_n <= x). */
static double kolmogn_pelz_good(double n, double x)
{
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    const double pi2 = M_PI * M_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
    double z = sqrt(n) * x;
    double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
    double qlog = -pi2 / 8.0 / z2;
    if (qlog < -708.0)
        return 0.0;
    double q = exp(qlog);
    double k1a = -z2, k1b = pi2 / 4.0;
    double k2a = 6.0 * z6 + 2.0 * z4, k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0,
           k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    double k3d = pi6 * (5.0 - 30.0 * z2) / 64.0, k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0,
           k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0, k3a = -30.0 * z6 - 90.0 * z4 * z4;
    double k[4] = {0, 0, 0, 0};
    int maxk = (int)ceil(16.0 * z / M_PI);
    for (int kk = maxk; kk > 0; kk--) {
        double m = 2.0 * kk - 1.0, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
        double qp = pow(q, 8.0 * kk);
        double c[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                       k3a + k3b * m2 + k3c * m4 + k3d * m6};
        for (int t = 0; t < 4; t++)
            k[t] = k[t] * qp + c[t];
    }
    const double sqrt2pi = sqrt(2.0 * M_PI);
    double den[4] = {z, 6.0 * z4, 72.0 * z4 * z3, 6480.0 * z6 * z4};
    for (int t = 0; t < 4; t++)
        k[t] = k[t] * q * sqrt2pi / den[t];
    double q2 = exp(-pi2 / 2.0 / z2), k2extra = 0.0, k3extra = 0.0, sqrt3z = sqrt(3.0) * z;
    for (int kk = maxk; kk > 0; kk--) {
        double ks2 = (double)kk * kk, qpw = pow(q2, ks2), kspi = M_PI * kk;
        k2extra += ks2 * qpw;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qpw;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    double sum = 0.0;
    for (int t = 0; t < 4; t++)
        sum += k[t] / pow(n, t / 2.0);
    return sum;
}

double drift_kstwo_sf(double x, double n)
{
    if (!(n > 0.0) || isnan(x))
        return NAN;
    if (x >= 1.0)
        return 0.0;
    if (x <= 0.0)
        return 1.0;
    double t = n * x;
    if (t <= 1.0) { /* Ruben-Gambino */
        if (t <= 0.5)
            return 1.0;
        double cdf;
        if (n <= 140.0) {
            cdf = 1.0;
            for (double i = 1.0; i <= n; i += 1.0)
                cdf *= i / n * (2.0 * t - 1.0);
        } else {
            cdf = exp(log_nfact_div_npow(n) + n * log(2.0 * t - 1.0));
        }
        return clip01(1.0 - cdf);
    }
    if (t >= n - 1.0)
        return clip01(2.0 * pow(1.0 - x, n));
    if (x >= 0.5)
        return clip01(2.0 * smirnov(n, x));
    double nxsq = t * x;
    if (n <= 140.0) {
        if (nxsq > 4.0)
            return clip01(2.0 * smirnov(n, x));
        return clip01(1.0 - kolmogn_pelz_good(n, x));
    }
    if (nxsq >= 370.0)
        return 0.0;
    if (nxsq >= 2.2)
        return clip01(2.0 * smirnov(n, x));
    double cdf = nxsq >= 18.0 ? 1.0 : kolmogn_pelz_good(n, x);
    return clip01(1.0 - cdf);
}

double drift_ks_pvalue(double d, size_t na, size_t nb)
{
    if (na == 0 || nb == 0 || isnan(d))
        return NAN;
    size_t g = gcd_size(na, nb), ng_a = na / g, ng_b = nb / g;
    size_t big = na > nb ? na : nb;
    if (big <= KS_EXACT_MAX && (double)ng_a < (double)INT32_MAX / (double)ng_b) {
        double lcm = (double)ng_a * (double)nb;
        double hd = nearbyint(d * lcm); /* np.round: half to even */
        if (hd == 0.0)
            return 1.0;
        size_t h = (size_t)hd;
        double p = na == nb ? prob_outside_square(na, h) : prob_outer_inside(na, nb, g, h);
        if (p >= 0.0 && p <= 1.0)
            return p;
        /* out of range (or no memory): scipy falls back to the asymptotic form too */
    }
    double m = (double)(na > nb ? na : nb), n = (double)(na > nb ? nb : na);
    double en = m * n / (m + n);
    return clip01(drift_kstwo_sf(d, nearbyint(en)));
}

/* --- binned distances --------------------------------------------------------------- */

void drift_fractions(const uint64_t *counts, size_t k, uint64_t total, double *frac)
{
    for (size_t i = 0; i < k; i++) {
        double f = total ? (double)counts[i] / (double)total : 0.0;
        frac[i] = f == 0.0 ? DRIFT_EMPTY_FRACTION : f;
    }
}

double drift_psi(const double *ref, const double *cur, size_t k)
{
    double s = 0.0;
    for (size_t i = 0; i < k; i++)
        s += (ref[i] - cur[i]) * log(ref[i] / cur[i]);
    return s;
}

static double rel_entr(double x, double y)
{
    if (x > 0.0 && y > 0.0)
        return x * log(x / y);
    if (x == 0.0 && y >= 0.0)
        return 0.0;
    return INFINITY;
}

/* The totals of p and q (k values each), which both distances normalise by: 1 when both
 * are positive, else 0 (the distance is NaN). */
static int both_totals(const double *p, const double *q, size_t k, double *sp, double *sq)
{
    *sp = *sq = 0.0;
    for (size_t i = 0; i < k; i++) {
        *sp += p[i];
        *sq += q[i];
    }
    return *sp > 0.0 && *sq > 0.0;
}

double drift_jensen_shannon(const double *p, const double *q, size_t k)
{
    double sp, sq;
    if (!both_totals(p, q, k, &sp, &sq))
        return NAN;
    double js = 0.0;
    for (size_t i = 0; i < k; i++) {
        double a = p[i] / sp, b = q[i] / sq, m = (a + b) / 2.0;
        js += rel_entr(a, m) + rel_entr(b, m);
    }
    return sqrt(js / 2.0);
}

double drift_kl(const double *p, const double *q, size_t k)
{
    double sp, sq;
    if (!both_totals(p, q, k, &sp, &sq))
        return NAN;
    double kl = 0.0;
    for (size_t i = 0; i < k; i++)
        kl += rel_entr(p[i] / sp, q[i] / sq);
    return kl;
}

/* --- chi-square and z ---------------------------------------------------------------- */

double drift_chisquare(const double *observed, const double *expected, size_t k, double *stat)
{
    double s = 0.0;
    for (size_t i = 0; i < k; i++) {
        double d = observed[i] - expected[i];
        s += expected[i] > 0.0 ? d * d / expected[i] : (d != 0.0 ? INFINITY : NAN);
    }
    if (stat != NULL)
        *stat = s;
    if (k < 2)
        return NAN;
    return signif_chi2_sf(s, (double)(k - 1));
}

double drift_z_test(uint64_t ref_hits, uint64_t ref_n, uint64_t cur_hits, uint64_t cur_n)
{
    if (ref_n == 0 || cur_n == 0)
        return NAN;
    double n1 = (double)ref_n, n2 = (double)cur_n;
    double p1 = (double)ref_hits / n1, p2 = (double)cur_hits / n2;
    double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    double z = (p1 - p2) / sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2));
    /* Evidently: 2 * (1 - norm.cdf(|z|)) */
    return 2.0 * (1.0 - 0.5 * erfc(-fabs(z) / sqrt(2.0)));
}

/* --- one column ------------------------------------------------------------------------ */

static void result_init(struct drift_result *r, size_t n_ref, size_t n_cur)
{
    memset(r, 0, sizeof *r);
    r->n_ref = n_ref;
    r->n_cur = n_cur;
    r->p_value = r->ks = r->ks_p_value = r->wasserstein = r->chisquare_p_value = NAN;
    r->psi = r->jensen_shannon = r->statistic = NAN;
}

/* Decides from the method chosen and the numbers already filled in. */
static void decide(struct drift_result *r)
{
    if (r->method == DRIFT_WASSERSTEIN || r->method == DRIFT_JENSEN_SHANNON) {
        r->threshold = DISTANCE_THRESHOLD;
        r->statistic = r->method == DRIFT_WASSERSTEIN ? r->wasserstein : r->jensen_shannon;
        r->p_value = NAN;
        r->drift = r->statistic >= DISTANCE_THRESHOLD;
    } else {
        r->threshold = P_THRESHOLD;
        r->drift = r->p_value < P_THRESHOLD;
    }
}

/* Chi-square or z over per-value counts, as Evidently's chi_stat_test / _z_stat_test. */
/* ref_total: the reference values counted in rc (a sketch's size, not its rows). */
static void count_test(struct drift_result *r, const uint64_t *rc, const uint64_t *cc, size_t k,
                       size_t ref_total, double *obs, double *exp_)
{
    double knorm = (double)r->n_cur / (double)ref_total;
    size_t used = 0;
    for (size_t i = 0; i < k; i++) {
        if (rc[i] == 0 && cc[i] == 0)
            continue;
        obs[used] = (double)cc[i];
        exp_[used] = (double)rc[i] * knorm;
        used++;
    }
    double stat = NAN;
    r->chisquare_p_value = drift_chisquare(obs, exp_, used, &stat);
    if (r->method == DRIFT_CHISQUARE) {
        r->statistic = stat;
        r->p_value = r->chisquare_p_value;
    } else if (r->method == DRIFT_Z) {
        size_t first = 0;
        while (first < k && rc[first] == 0 && cc[first] == 0)
            first++;
        if (r->n_unique <= 1) {
            r->p_value = 1.0; /* one and the same value on both sides */
        } else {
            r->p_value = drift_z_test(rc[first], ref_total, cc[first], r->n_cur);
        }
        r->statistic = r->p_value;
    }
}

static int binned_distances(const double *ref, size_t n_ref, const double *cur, size_t n_cur,
                            struct drift_result *r)
{
    double lo = ref[0] < cur[0] ? ref[0] : cur[0];
    double hi = ref[n_ref - 1] > cur[n_cur - 1] ? ref[n_ref - 1] : cur[n_cur - 1];
    double edges[DRIFT_BINS + 1], rf[DRIFT_BINS], cf[DRIFT_BINS];
    uint64_t rc[DRIFT_BINS], cc[DRIFT_BINS];
    int rv = stats_histogram_edges(lo, hi, DRIFT_BINS, edges);
    if (rv != 0)
        return rv;
    stats_histogram_sorted(ref, n_ref, edges, DRIFT_BINS, rc);
    stats_histogram_sorted(cur, n_cur, edges, DRIFT_BINS, cc);
    drift_fractions(rc, DRIFT_BINS, n_ref, rf);
    drift_fractions(cc, DRIFT_BINS, n_cur, cf);
    r->psi = drift_psi(rf, cf, DRIFT_BINS);
    r->jensen_shannon = drift_jensen_shannon(rf, cf, DRIFT_BINS);
    return AIOPS_OK;
}

int drift_numeric(const double *ref, size_t n_ref, const double *cur, size_t n_cur,
                  struct drift_result *out)
{
    return drift_numeric_sketch(ref, n_ref, n_ref, cur, n_cur, out);
}

int drift_numeric_sketch(const double *ref, size_t n_ref, size_t n_ref_rows, const double *cur,
                         size_t n_cur, struct drift_result *out)
{
    result_init(out, n_ref_rows, n_cur);
    if (n_ref == 0 || n_cur == 0 || n_ref_rows < n_ref)
        return AIOPS_EINVAL;
    /* one merge of the two sorted samples gives the KS statistic, the Wasserstein integral,
     * the distinct values and the counts of the first few */
    struct ecdf_merge em = {0};
    ecdf_merge(ref, n_ref, cur, n_cur, &em);
    const size_t nu = em.nu;
    const uint64_t *rcount = em.acount, *ccount = em.bcount;
    out->n_unique = nu;
    int rv = binned_distances(ref, n_ref, cur, n_cur, out);
    if (rv != 0)
        return rv;
    out->ks = em.ks;
    out->ks_p_value = drift_ks_pvalue(out->ks, n_ref_rows, n_cur);
    double sd = drift_std(ref, n_ref);
    out->wasserstein = em.area / (sd > 0.001 ? sd : 0.001);
    if (n_ref_rows <= SMALL_REFERENCE && nu <= FEW_VALUES) {
        out->categorical = 1;
        out->method = nu > 2 ? DRIFT_CHISQUARE : DRIFT_Z;
    } else if (n_ref_rows <= SMALL_REFERENCE) {
        out->method = DRIFT_KS;
        out->statistic = out->ks;
        out->p_value = out->ks_p_value;
    } else {
        out->method = nu <= FEW_VALUES ? DRIFT_JENSEN_SHANNON : DRIFT_WASSERSTEIN;
    }
    if (nu <= FEW_VALUES) {
        double obs[FEW_VALUES], exp_[FEW_VALUES];
        count_test(out, rcount, ccount, nu, n_ref, obs, exp_);
    }
    decide(out);
    return AIOPS_OK;
}

int drift_categorical(const uint64_t *ref_counts, const uint64_t *cur_counts, size_t k,
                      struct drift_result *out)
{
    uint64_t nr = 0, nc = 0;
    size_t nu = 0;
    for (size_t i = 0; i < k; i++) {
        nr += ref_counts[i];
        nc += cur_counts[i];
        nu += ref_counts[i] > 0 || cur_counts[i] > 0;
    }
    result_init(out, (size_t)nr, (size_t)nc);
    if (nr == 0 || nc == 0)
        return AIOPS_EINVAL;
    out->categorical = 1;
    out->n_unique = nu;
    double *buf = malloc(4 * (nu ? nu : 1) * sizeof *buf);
    uint64_t *cnt = malloc(2 * (nu ? nu : 1) * sizeof *cnt);
    if (buf == NULL || cnt == NULL) {
        free(buf);
        free(cnt);
        return AIOPS_ENOMEM;
    }
    /* the union of categories present on either side, as Evidently's keys */
    size_t u = 0;
    for (size_t i = 0; i < k; i++) {
        if (ref_counts[i] == 0 && cur_counts[i] == 0)
            continue;
        cnt[u] = ref_counts[i];
        cnt[nu + u] = cur_counts[i];
        u++;
    }
    double *rf = buf, *cf = buf + nu, *obs = buf + 2 * nu, *exp_ = buf + 3 * nu;
    drift_fractions(cnt, nu, nr, rf);
    drift_fractions(cnt + nu, nu, nc, cf);
    out->psi = drift_psi(rf, cf, nu);
    out->jensen_shannon = drift_jensen_shannon(rf, cf, nu);
    if (nr <= SMALL_REFERENCE)
        out->method = nu > 2 ? DRIFT_CHISQUARE : DRIFT_Z;
    else
        out->method = DRIFT_JENSEN_SHANNON;
    count_test(out, cnt, cnt + nu, nu, (size_t)nr, obs, exp_);
    decide(out);
    free(buf);
    free(cnt);
    return AIOPS_OK;
}

/* --- prediction scores ---------------------------------------------------------------- */

static size_t copy_finite(const double *x, size_t n, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            out[k++] = x[i];
    return k;
}

double drift_score_kl(const double *ref, size_t n_ref, const double *cur, size_t n_cur)
{
    double *r = malloc((n_ref + n_cur + 1) * sizeof *r);
    if (r == NULL)
        return NAN;
    size_t nr = copy_finite(ref, n_ref, r);
    double *c = r + nr;
    size_t nc = copy_finite(cur, n_cur, c);
    double kl = NAN;
    double edges[DRIFT_BINS + 1], rf[DRIFT_BINS], cf[DRIFT_BINS];
    uint64_t rc[DRIFT_BINS], cc[DRIFT_BINS];
    if (nr > 0 && nc > 0 && sort_f64(r, nr) == 0 && sort_f64(c, nc) == 0) {
        double lo = r[0] < c[0] ? r[0] : c[0];
        double hi = r[nr - 1] > c[nc - 1] ? r[nr - 1] : c[nc - 1];
        if (stats_histogram_edges(lo, hi, DRIFT_BINS, edges) == 0) {
            stats_histogram_sorted(r, nr, edges, DRIFT_BINS, rc);
            stats_histogram_sorted(c, nc, edges, DRIFT_BINS, cc);
            drift_fractions(rc, DRIFT_BINS, nr, rf);
            drift_fractions(cc, DRIFT_BINS, nc, cf);
            kl = drift_kl(cf, rf, DRIFT_BINS);
        }
    }
    free(r);
    return kl;
}

const char *drift_kl_level(double kl)
{
    if (!(kl >= 0.3))
        return "normal";
    if (kl <= 0.5)
        return "watch";
    if (kl <= 1.0)
        return "drift";
    return "severe";
}
