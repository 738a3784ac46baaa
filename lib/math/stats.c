#include "math/stats.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "math/sort.h"

/* --- moments ------------------------------------------------------------------------- */

/* The count, plain sum, minimum and maximum of the non-NaN values (lo +inf and hi -inf when
 * there are none): the first pass of the two-pass statistics below. */
struct first_pass {
    size_t n;
    double sum, lo, hi;
};

static struct first_pass first_pass(const double *x, size_t n)
{
    struct first_pass p = {0, 0, INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v))
            continue;
        p.n++;
        p.sum += v;
        p.lo = v < p.lo ? v : p.lo;
        p.hi = v > p.hi ? v : p.hi;
    }
    return p;
}

void stats_moments(const double *x, size_t n, struct stats_moments *out)
{
    struct stats_moments m = {0};
    /* a plain first pass: the second one corrects the mean (corrected two-pass algorithm,
     * Chan, Golub & LeVeque), so compensated summation buys nothing here */
    struct first_pass fp = first_pass(x, n);
    double sum = fp.sum, lo = fp.lo, hi = fp.hi;
    size_t cnt = fp.n;
    m.n = cnt;
    m.mean = m.var = m.std = m.skewness = m.kurtosis = m.min = m.max = NAN;
    if (cnt == 0) {
        *out = m;
        return;
    }
    double dn = (double)cnt;
    m.min = lo;
    m.max = hi;
    if (lo == hi) {
        /* constant: exact answers instead of rounding noise around zero */
        m.mean = lo;
        m.m2 = 0;
        if (cnt >= 2)
            m.var = m.std = 0;
        if (cnt >= 3)
            m.skewness = 0;
        if (cnt >= 4)
            m.kurtosis = 0;
        *out = m;
        return;
    }
    double mean = sum / dn;
    double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (isnan(v))
            continue;
        double d = v - mean, d2 = d * d;
        s1 += d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    /* shift the central sums by the residual mean error delta = s1 / n */
    double dl = s1 / dn;
    double M2 = s2 - s1 * dl;
    double M3 = s3 - 3 * dl * s2 + 3 * dl * dl * s1 - dn * dl * dl * dl;
    double M4 =
        s4 - 4 * dl * s3 + 6 * dl * dl * s2 - 4 * dl * dl * dl * s1 + dn * dl * dl * dl * dl;
    m.mean = mean + dl;
    if (M2 < 0)
        M2 = 0;
    m.m2 = M2;
    if (cnt >= 2) {
        m.var = M2 / (dn - 1);
        m.std = sqrt(m.var);
    }
    if (cnt >= 3)
        m.skewness = M2 == 0 ? 0 : dn * sqrt(dn - 1) / (dn - 2) * (M3 / pow(M2, 1.5));
    if (cnt >= 4) {
        double num = dn * (dn + 1) * (dn - 1) * M4;
        double den = (dn - 2) * (dn - 3) * M2 * M2;
        double adj = 3 * (dn - 1) * (dn - 1) / ((dn - 2) * (dn - 3));
        m.kurtosis = den == 0 ? 0 : num / den - adj;
    }
    *out = m;
}

double stats_mean(const double *x, size_t n)
{
    struct stats_moments m;
    stats_moments(x, n, &m);
    return m.mean;
}

size_t stats_argmax(const double *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

double stats_variance(const double *x, size_t n, unsigned ddof)
{
    struct stats_moments m;
    stats_moments(x, n, &m);
    if (m.n <= ddof)
        return NAN;
    return m.m2 / (double)(m.n - ddof);
}

/* --- order statistics ---------------------------------------------------------------- */

double stats_quantile_sorted(const double *sorted, size_t n, double q)
{
    if (n == 0 || !(q >= 0 && q <= 1))
        return NAN;
    /* numpy: virtual index (n-1) q, neighbours floor/floor+1 clipped, gamma = the fraction,
     * and _lerp(a, b, t) = t >= 0.5 ? b - (b-a)(1-t) : a + (b-a) t */
    double vi = (double)(n - 1) * q;
    if (vi >= (double)(n - 1))
        return sorted[n - 1];
    double fl = floor(vi);
    size_t lo = (size_t)fl;
    double a = sorted[lo], b = sorted[lo + 1], t = vi - fl;
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

size_t stats_count_below(const double *sorted, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t stats_count_at_most(const double *sorted, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t stats_distinct_sorted(const double *sorted, size_t n)
{
    size_t d = n > 0;
    for (size_t i = 1; i < n; i++)
        d += sorted[i] != sorted[i - 1];
    return d;
}


int stats_rank_average(const double *x, size_t n, double *ranks)
{
    uint32_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (idx == NULL)
        return AIOPS_ENOMEM;
    int rv = sort_f64_argsort(x, n, idx);
    if (rv != 0) {
        free(idx);
        return rv;
    }
    size_t i = 0;
    while (i < n && !isnan(x[idx[i]])) {
        size_t j = i + 1;
        while (j < n && x[idx[j]] == x[idx[i]])
            j++;
        double r = ((double)i + 1 + (double)j) / 2; /* mean of ranks i+1 .. j */
        for (size_t t = i; t < j; t++)
            ranks[idx[t]] = r;
        i = j;
    }
    for (; i < n; i++)
        ranks[idx[i]] = NAN;
    free(idx);
    return AIOPS_OK;
}

/* --- histograms ---------------------------------------------------------------------- */

int stats_histogram_edges(double min, double max, size_t bins, double *edges)
{
    if (bins == 0 || !isfinite(min) || !isfinite(max) || min > max)
        return AIOPS_EINVAL;
    if (min == max) {
        min -= 0.5;
        max += 0.5;
    }
    double delta = max - min;
    if (!isfinite(delta))
        return AIOPS_EINVAL;
    /* numpy.linspace(min, max, bins + 1): i * step + start, the last edge exactly max */
    double step = delta / (double)bins;
    for (size_t i = 0; i < bins; i++)
        edges[i] = (double)i * step + min;
    edges[bins] = max;
    return AIOPS_OK;
}

void stats_histogram_sorted(const double *sorted, size_t n, const double *edges, size_t bins,
                            uint64_t *counts)
{
    size_t prev = stats_count_below(sorted, n, edges[0]);
    for (size_t i = 0; i < bins; i++) {
        size_t upto = i + 1 < bins ? stats_count_below(sorted, n, edges[i + 1])
                                   : stats_count_at_most(sorted, n, edges[bins]);
        counts[i] = upto - prev;
        prev = upto;
    }
}

int stats_histogram(const double *x, size_t n, size_t bins, double *edges, uint64_t *counts)
{
    double lo = INFINITY, hi = -INFINITY;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]))
            continue;
        cnt++;
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
    }
    if (cnt == 0)
        lo = 0, hi = 1;
    int rv = stats_histogram_edges(lo, hi, bins, edges);
    if (rv != 0)
        return rv;
    memset(counts, 0, bins * sizeof *counts);
    double first = edges[0], last = edges[bins], norm = (double)bins / (last - first);
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        if (!(v >= first && v <= last))
            continue;
        /* numpy's estimate-then-correct against the actual edges */
        size_t b = (size_t)((v - first) * norm);
        if (b >= bins)
            b = bins - 1;
        if (v < edges[b] && b > 0)
            b--;
        else if (b + 1 < bins && v >= edges[b + 1])
            b++;
        counts[b]++;
    }
    return AIOPS_OK;
}

/* --- association --------------------------------------------------------------------- */

double stats_pearson(const double *x, const double *y, size_t n, size_t *n_used)
{
    size_t m = 0;
    double sx = 0, sy = 0, x0 = NAN, y0 = NAN;
    int xvar = 0, yvar = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]))
            continue;
        if (m++ == 0)
            x0 = x[i], y0 = y[i];
        xvar |= x[i] != x0;
        yvar |= y[i] != y0;
        sx += x[i];
        sy += y[i];
    }
    if (n_used)
        *n_used = m;
    /* a constant side is decided exactly, not from rounding noise in its sum of squares */
    if (m < 2 || !xvar || !yvar)
        return NAN;
    double mx = sx / (double)m, my = sy / (double)m;
    double dx1 = 0, dy1 = 0, sxx = 0, syy = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]))
            continue;
        double dx = x[i] - mx, dy = y[i] - my;
        dx1 += dx;
        dy1 += dy;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    double dm = (double)m;
    sxx -= dx1 * dx1 / dm;
    syy -= dy1 * dy1 / dm;
    sxy -= dx1 * dy1 / dm;
    if (!(sxx > 0) || !(syy > 0))
        return NAN;
    double r = sxy / sqrt(sxx * syy);
    if (!isfinite(r))
        return NAN;
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

/* rows per BLAS call: large enough that each call does real work, small enough that the
 * three block buffers stay in the tens of megabytes whatever k is */
static size_t corr_block_rows(size_t k)
{
    size_t b = ((size_t)1 << 21) / (k ? k : 1);
    if (b < 256)
        b = 256;
    if (b > 16384)
        b = 16384;
    return b;
}

/* The state of one correlation matrix: per column its centre, scale and sums; the BLAS
 * block buffers; and, for columns with gaps, their index among them (inc: dense ones first,
 * SIZE_MAX for a column without gaps or a bad one). */
struct corr_work {
    size_t k, n, B, q, d; /* columns, rows, rows per block, columns with gaps, dense ones */
    double *shift, *scale, *zs, *zq;
    size_t *cnt, *inc;
    uint8_t *bad;
    double *P, *Z, *S, *Q, *N, *M, *Z2, *SN;
    uint8_t *pres;
    uint32_t *rows;
};

static void corr_work_free(struct corr_work *w)
{
    free(w->shift);
    free(w->scale);
    free(w->zs);
    free(w->zq);
    free(w->cnt);
    free(w->inc);
    free(w->bad);
    free(w->P);
    free(w->Z);
    free(w->S);
    free(w->Q);
    free(w->SN);
    free(w->N);
    free(w->M);
    free(w->Z2);
    free(w->pres);
    free(w->rows);
}

/* One pass per column for the centre and the scale. Neither needs to be exact: every sum
 * below is corrected for the centre's residual, and r does not depend on scale. */
static void corr_centres(struct corr_work *w, const double *const *cols)
{
    for (size_t j = 0; j < w->k; j++) {
        struct first_pass fp = first_pass(cols[j], w->n);
        w->cnt[j] = fp.n;
        w->shift[j] = fp.n ? fp.sum / (double)fp.n : 0;
        w->scale[j] = 1 / (fp.hi - fp.lo);
        /* constant overall is constant on every subset; +-inf poisons every sum */
        w->bad[j] =
            fp.n < 2 || !(fp.hi > fp.lo) || !isfinite(fp.hi - fp.lo) || !isfinite(w->shift[j]);
        w->inc[j] = SIZE_MAX;
    }
}

/* Columns with gaps: "dense" ones (over a quarter missing) go through BLAS with their
 * presence masks; the others are handled by walking their missing rows, which costs k per
 * missing cell instead of 2k per row. Dense columns are numbered first. Then the buffers
 * those need. AIOPS_ENOMEM. */
static int corr_gaps(struct corr_work *w)
{
    size_t k = w->k, n = w->n, B = w->B;
    for (int pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < k; j++) {
            if (w->bad[j] || w->cnt[j] == n)
                continue;
            int dense = n - w->cnt[j] > n / 4;
            if (dense == (pass == 0)) {
                w->inc[j] = w->q++;
                w->d += (size_t)dense;
            }
        }
    if (w->q > 0) {
        size_t q = w->q;
        w->S = calloc(k * q, sizeof *w->S);
        w->Q = calloc(k * q, sizeof *w->Q);
        w->SN = calloc(k * q, sizeof *w->SN);
        w->N = calloc(q * q, sizeof *w->N);
        w->pres = malloc(B * k);
        w->rows = malloc(B * sizeof *w->rows);
        if (!w->S || !w->Q || !w->SN || !w->N || !w->pres || !w->rows)
            return AIOPS_ENOMEM;
    }
    if (w->d > 0 && ((w->M = malloc(B * w->d * sizeof *w->M)) == NULL ||
                     (w->Z2 = malloc(B * k * sizeof *w->Z2)) == NULL))
        return AIOPS_ENOMEM;
    return AIOPS_OK;
}

/* Rows [r0, r0 + m) of every column into the block buffers: z = (x - centre) * scale (0 where
 * missing), z^2, presence bytes and, for dense gap columns, presence as doubles. */
static void corr_fill_block(struct corr_work *w, const double *const *cols, size_t r0, size_t m)
{
    size_t B = w->B;
    for (size_t j = 0; j < w->k; j++) {
        const double *x = cols[j] + r0;
        double *z = w->Z + j * B, mu = w->shift[j], sc = w->scale[j], s1 = 0, s2 = 0;
        if (w->bad[j]) {
            /* zeros keep NaN/inf out of the other columns' sums */
            memset(z, 0, m * sizeof *z);
            if (w->d > 0)
                memset(w->Z2 + j * B, 0, m * sizeof *w->Z2);
            if (w->q > 0)
                memset(w->pres + j * B, 0, m);
            continue;
        }
        for (size_t i = 0; i < m; i++) {
            double v = isnan(x[i]) ? 0 : (x[i] - mu) * sc;
            z[i] = v;
            s1 += v;
            s2 += v * v;
        }
        w->zs[j] += s1;
        w->zq[j] += s2;
        if (w->d > 0) {
            double *z2 = w->Z2 + j * B;
            for (size_t i = 0; i < m; i++)
                z2[i] = z[i] * z[i];
        }
        if (w->q > 0) {
            uint8_t *p = w->pres + j * B;
            for (size_t i = 0; i < m; i++)
                p[i] = (uint8_t)!isnan(x[i]);
        }
        if (w->inc[j] < w->d) {
            double *mk = w->M + w->inc[j] * B;
            for (size_t i = 0; i < m; i++)
                mk[i] = !isnan(x[i]);
        }
    }
}

/* Adds a block of m rows to the sums: P += Z'Z, and for dense gap columns S += Z'M,
 * Q += Z2'M, N += M'M (BLAS); for sparse gap columns, what each column loses on their
 * missing rows. */
static void corr_add_block(struct corr_work *w, size_t m)
{
    size_t k = w->k, d = w->d, B = w->B;
    int ik = (int)k, id = (int)d, ib = (int)B, im = (int)m;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, ik, im, 1.0, w->Z, ib, 1.0, w->P, ik);
    if (d > 0) {
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, ik, id, im, 1.0, w->Z, ib, w->M, ib,
                    1.0, w->S, ik);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, ik, id, im, 1.0, w->Z2, ib, w->M, ib,
                    1.0, w->Q, ik);
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, id, im, 1.0, w->M, ib, 1.0, w->N,
                    (int)w->q);
    }
    for (size_t b = 0; b < k; b++) {
        if (w->inc[b] == SIZE_MAX || w->inc[b] < d)
            continue;
        const uint8_t *pb = w->pres + b * B;
        size_t nm = 0;
        for (size_t i = 0; i < m; i++)
            if (!pb[i])
                w->rows[nm++] = (uint32_t)i;
        double *s = w->S + w->inc[b] * k, *qq = w->Q + w->inc[b] * k, *sn = w->SN + w->inc[b] * k;
        for (size_t a = 0; a < k; a++) {
            const double *z = w->Z + a * B;
            const uint8_t *pa = w->pres + a * B;
            double s1 = 0, s2 = 0;
            size_t c = 0;
            for (size_t t = 0; t < nm; t++) {
                double v = z[w->rows[t]];
                s1 += v;
                s2 += v * v;
                c += pa[w->rows[t]];
            }
            s[a] += s1;
            qq[a] += s2;
            sn[a] += (double)c;
        }
    }
}

/* sa and qa of corr_pair: the sums of z_a and z_a^2 over the rows where column b is present
 * (jb: b's inc). */
static inline void corr_side_sums(const struct corr_work *w, size_t a, size_t jb, double *sa,
                                  double *qa)
{
    if (jb == SIZE_MAX) {
        *sa = w->zs[a];
        *qa = w->zq[a];
    } else if (jb < w->d) {
        *sa = w->S[a + jb * w->k];
        *qa = w->Q[a + jb * w->k];
    } else {
        *sa = w->zs[a] - w->S[a + jb * w->k];
        *qa = w->zq[a] - w->Q[a + jb * w->k];
    }
}

/* r of columns a and b from the sums, over the rows where both are present (z is 0 where
 * missing):
 *   sa = sum of z_a over b's rows: zs[a] when b has no gaps; S[a, b'] (S = Z'M) when b is
 *   dense; zs[a] minus the sum over b's missing rows when b is sparse;
 *   qa = the same for z_a^2 (zq, Q); P[a, b] = sum of z_a z_b;
 *   the count: n, one side's count, N[a', b'] (N = M'M) for two dense columns, or the
 *   present side's count minus its rows among the sparse side's missing ones.
 * Column-major: X[i, j] = X[i + j ld]. */
static double corr_pair(const struct corr_work *w, size_t a, size_t b)
{
    size_t k = w->k, d = w->d, ia = w->inc[a], jb = w->inc[b];
    double c, sa, sb, qa, qb;
    if (w->bad[a] || w->bad[b])
        return NAN;
    if (ia == SIZE_MAX)
        c = (double)w->cnt[b];
    else if (jb == SIZE_MAX)
        c = (double)w->cnt[a];
    else if (jb >= d)
        c = (double)w->cnt[a] - w->SN[a + jb * k];
    else if (ia >= d)
        c = (double)w->cnt[b] - w->SN[b + ia * k];
    else
        c = ia <= jb ? w->N[ia + jb * w->q] : w->N[jb + ia * w->q];
    corr_side_sums(w, a, jb, &sa, &qa);
    corr_side_sums(w, b, ia, &sb, &qb);
    if (c < 2)
        return NAN;
    double va = qa - sa * sa / c, vb = qb - sb * sb / c;
    double cab = w->P[a + b * k] - sa * sb / c;
    /* below the rounding noise of q - s^2/c the side is constant there */
    if (!(va > 1e-12 * qa && vb > 1e-12 * qb))
        return NAN;
    double v = a == b ? 1 : cab / sqrt(va * vb);
    return v > 1 ? 1 : v < -1 ? -1 : v;
}

int stats_corr_matrix(const double *const *cols, size_t k, size_t n, double *r)
{
    if (k == 0)
        return AIOPS_OK;
    if (k > (size_t)INT32_MAX / 2 || n > (size_t)INT32_MAX / 2)
        return AIOPS_ETOOBIG; /* BLAS takes int dimensions */
    struct corr_work w = {.k = k, .n = n, .B = corr_block_rows(k)};
    w.shift = malloc(k * sizeof *w.shift);
    w.scale = malloc(k * sizeof *w.scale);
    w.zs = calloc(k, sizeof *w.zs);
    w.zq = calloc(k, sizeof *w.zq);
    w.cnt = malloc(k * sizeof *w.cnt);
    w.inc = malloc(k * sizeof *w.inc);
    w.bad = calloc(k, 1);
    w.P = calloc(k * k, sizeof *w.P);
    w.Z = malloc(w.B * k * sizeof *w.Z);
    int rv = AIOPS_ENOMEM;
    if (w.shift && w.scale && w.zs && w.zq && w.cnt && w.inc && w.bad && w.P && w.Z) {
        corr_centres(&w, cols);
        rv = corr_gaps(&w);
    }
    for (size_t r0 = 0; rv == 0 && r0 < n; r0 += w.B) {
        size_t m = n - r0 < w.B ? n - r0 : w.B;
        corr_fill_block(&w, cols, r0, m);
        corr_add_block(&w, m);
    }
    for (size_t b = 0; rv == 0 && b < k; b++)
        for (size_t a = 0; a <= b; a++)
            r[a * k + b] = r[b * k + a] = corr_pair(&w, a, b);
    corr_work_free(&w);
    return rv;
}

double stats_auc_sorted(const double *pos, size_t npos, const double *neg, size_t nneg)
{
    if (npos == 0 || nneg == 0)
        return NAN;
    /* twice U: each positive scores 2 per lower negative and 1 per tied one */
    uint64_t u2 = 0;
    size_t i = 0, j = 0;
    while (i < npos) {
        double v = pos[i];
        size_t cp = 0;
        while (i < npos && pos[i] == v)
            i++, cp++;
        while (j < nneg && neg[j] < v)
            j++;
        size_t jt = j;
        while (jt < nneg && neg[jt] == v)
            jt++;
        u2 += (uint64_t)cp * (2 * (uint64_t)j + (uint64_t)(jt - j));
        j = jt;
    }
    return (double)u2 / (2.0 * (double)npos * (double)nneg);
}

int stats_roc_auc(const double *score, const uint8_t *y, size_t n, double *auc)
{
    *auc = NAN;
    double *pos = malloc((n ? n : 1) * sizeof *pos);
    double *neg = malloc((n ? n : 1) * sizeof *neg);
    if (pos == NULL || neg == NULL) {
        free(pos);
        free(neg);
        return AIOPS_ENOMEM;
    }
    size_t np = 0, nn = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(score[i]))
            continue;
        if (y[i] == 1)
            pos[np++] = score[i];
        else if (y[i] == 0)
            neg[nn++] = score[i];
    }
    int rv = sort_f64(pos, np);
    if (rv == 0)
        rv = sort_f64(neg, nn);
    if (rv == 0)
        *auc = stats_auc_sorted(pos, np, neg, nn);
    free(pos);
    free(neg);
    return rv;
}
