#include "algo/binning.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo/tree.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/rand.h"
#include "math/sort.h"

void binner_free(struct binner *b)
{
    if (b == NULL)
        return;
    for (size_t j = 0; j < b->nfeat && b->f != NULL; j++) {
        free(b->f[j].upper);
        free(b->f[j].cat_bin);
        free(b->f[j].bin_cat);
    }
    free(b->f);
    free(b->offset);
    memset(b, 0, sizeof *b);
}

/* The code of a categorical value, or -1 when v is not one of the ncat codes. */
static long cat_code(double v, uint32_t ncat)
{
    if (!(v >= 0.0) || v >= (double)ncat)
        return -1;
    long c = (long)v;
    return (double)c == v ? c : -1;
}

uint32_t binner_bin(const struct bin_feature *f, double v)
{
    if (f->is_cat) {
        long c = cat_code(v, f->ncat);
        uint32_t b = c < 0 ? f->nvalue : f->cat_bin[c];
        /* Without a missing bin (no training row needed one) stay inside the histogram. */
        return b < f->nbins ? b : f->nbins - 1;
    }
    if (v != v)
        return f->has_missing ? f->nvalue : f->nvalue - 1;
    /* Branch-free lower bound: the first b with v <= upper[b]; upper[nvalue-1] is +inf. */
    const double *u = f->upper;
    size_t base = 0, len = f->nvalue;
    while (len > 1) {
        size_t half = len / 2;
        base = u[base + half - 1] < v ? base + half : base;
        len -= half;
    }
    return (uint32_t)base;
}

/* A bin edge between neighbouring sample values a < b: halfway, or a itself when halfway is
 * not strictly between (adjacent doubles, infinities). */
static double edge_between(double a, double b)
{
    double m = a * 0.5 + b * 0.5;
    return (m >= a && m < b) ? m : a;
}

/* LightGBM's GreedyFindBin over distinct sorted values vals[0..n) with counts: fills upper
 * (at most max_bin entries, last +inf) and returns how many. */
static uint32_t greedy_bins(const double *vals, const size_t *counts, size_t n, size_t total,
                            uint32_t max_bin, double *upper, uint8_t *is_big, double *ub,
                            double *lb)
{
    uint32_t nb = 0;
    if (n == 0) {
        upper[0] = INFINITY;
        return 1;
    }
    if (n <= max_bin) {
        for (size_t i = 0; i + 1 < n; i++)
            upper[nb++] = edge_between(vals[i], vals[i + 1]);
        upper[nb++] = INFINITY;
        return nb;
    }
    double mean = (double)total / max_bin;
    size_t rest_bins = max_bin, rest_cnt = total;
    for (size_t i = 0; i < n; i++) {
        is_big[i] = (double)counts[i] >= mean;
        if (is_big[i]) {
            rest_bins--;
            rest_cnt -= counts[i];
        }
    }
    mean = rest_bins > 0 ? (double)rest_cnt / (double)rest_bins : INFINITY;
    double cur = 0;
    lb[0] = vals[0];
    for (size_t i = 0; i + 1 < n; i++) {
        if (!is_big[i])
            rest_cnt -= counts[i];
        cur += (double)counts[i];
        if (is_big[i] || cur >= mean || (is_big[i + 1] && cur >= fmax(1.0, mean * 0.5))) {
            ub[nb] = vals[i];
            nb++;
            lb[nb] = vals[i + 1];
            if (nb >= max_bin - 1)
                break;
            cur = 0;
            if (!is_big[i] && rest_bins > 1) {
                rest_bins--;
                mean = (double)rest_cnt / (double)rest_bins;
            }
        }
    }
    for (uint32_t k = 0; k < nb; k++)
        upper[k] = edge_between(ub[k], lb[k + 1]);
    upper[nb++] = INFINITY;
    return nb;
}

/* Knuth's selection sampling: m of n indices, ascending, seeded. */
static void sample_rows(size_t n, size_t m, uint64_t seed, uint32_t *out)
{
    uint64_t st = seed ^ 0x5deece66dull;
    size_t got = 0;
    for (size_t i = 0; i < n && got < m; i++) {
        double u = rand_unit(&st);
        if ((double)(n - i) * u < (double)(m - got))
            out[got++] = (uint32_t)i;
    }
}

static int fit_numeric(const double *col, const uint32_t *rows, size_t n, const uint32_t *samp,
                       size_t ns, uint32_t max_bin, struct bin_feature *f, double *vals,
                       size_t *counts, uint8_t *is_big, double *ub, double *lb)
{
    size_t nv = 0;
    for (size_t i = 0; i < ns; i++) {
        size_t r = rows ? rows[samp[i]] : samp[i];
        if (!isnan(col[r]))
            vals[nv++] = col[r];
    }
    int rv = sort_f64(vals, nv);
    if (rv != 0)
        return rv;
    size_t nd = 0;
    for (size_t i = 0; i < nv; i++) {
        if (nd > 0 && vals[nd - 1] == vals[i]) {
            counts[nd - 1]++;
        } else {
            vals[nd] = vals[i];
            counts[nd++] = 1;
        }
    }
    f->upper = malloc(((size_t)max_bin + 1) * sizeof *f->upper);
    if (f->upper == NULL)
        return AIOPS_ENOMEM;
    f->nvalue = greedy_bins(vals, counts, nd, nv, max_bin, f->upper, is_big, ub, lb);
    f->has_missing = 0;
    for (size_t i = 0; i < n && !f->has_missing; i++)
        f->has_missing = isnan(col[rows ? rows[i] : i]);
    return 0;
}

/* Frequency order for categories: most rows first, then lower code. */
struct catfreq {
    size_t count;
    uint32_t code;
};

static int catfreq_cmp(const void *a, const void *b)
{
    const struct catfreq *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->code > y->code) - (x->code < y->code);
}

static int fit_categorical(const double *col, const uint32_t *rows, size_t n,
                           const uint32_t *samp, size_t ns, uint32_t ncat, uint32_t max_bin,
                           struct bin_feature *f)
{
    f->ncat = ncat;
    f->cat_bin = malloc(((size_t)ncat + 1) * sizeof *f->cat_bin);
    struct catfreq *cf = calloc((size_t)ncat + 1, sizeof *cf);
    if (f->cat_bin == NULL || cf == NULL) {
        free(cf);
        return AIOPS_ENOMEM;
    }
    for (uint32_t c = 0; c < ncat; c++)
        cf[c].code = c;
    for (size_t i = 0; i < ns; i++) {
        size_t r = rows ? rows[samp[i]] : samp[i];
        long c = cat_code(col[r], ncat);
        if (c >= 0)
            cf[c].count++;
    }
    qsort(cf, ncat, sizeof *cf, catfreq_cmp);
    uint32_t keep = 0;
    while (keep < ncat && keep < max_bin && cf[keep].count > 0)
        keep++;
    /* Kept categories take bins in code order, so that bins read like the codes. */
    uint8_t *kept = calloc((size_t)ncat + 1, 1);
    if (kept == NULL) {
        free(cf);
        return AIOPS_ENOMEM;
    }
    for (uint32_t k = 0; k < keep; k++)
        kept[cf[k].code] = 1;
    free(cf);
    f->nvalue = keep > 0 ? keep : 1;
    f->bin_cat = calloc(f->nvalue, sizeof *f->bin_cat);
    if (f->bin_cat == NULL) {
        free(kept);
        return AIOPS_ENOMEM;
    }
    uint32_t b = 0;
    for (uint32_t c = 0; c < ncat; c++) {
        if (kept[c]) {
            f->bin_cat[b] = c;
            f->cat_bin[c] = b++;
        } else {
            f->cat_bin[c] = f->nvalue;
        }
    }
    free(kept);
    f->has_missing = 0;
    for (size_t i = 0; i < n && !f->has_missing; i++) {
        long c = cat_code(col[rows ? rows[i] : i], ncat);
        f->has_missing = c < 0 || f->cat_bin[c] == f->nvalue;
    }
    if (keep == 0) {
        /* No category in the sample: one empty value bin, everything missing. */
        f->has_missing = 1;
    }
    return 0;
}

struct fit_job {
    const struct fmatrix *x;
    const uint32_t *rows;
    size_t n;
    const uint32_t *samp;
    size_t ns;
    uint32_t max_bin;
    struct binner *out;
    int *rv; /* per feature */
};

/* Fits features tid, tid + nth, ... with this thread's own scratch buffers. */
static void fit_part(void *arg, int tid, int nth)
{
    const struct fit_job *jb = arg;
    size_t ns = jb->ns, mb = jb->max_bin;
    double *vals = malloc(ns * sizeof *vals);
    size_t *counts = malloc(ns * sizeof *counts);
    uint8_t *is_big = malloc(ns);
    double *ub = malloc((mb + 1) * sizeof *ub);
    double *lb = malloc((mb + 1) * sizeof *lb);
    const struct fmatrix *x = jb->x;
    for (size_t j = (size_t)tid; j < x->ncols; j += (size_t)nth) {
        struct bin_feature *f = &jb->out->f[j];
        const double *col = x->x + j * x->nrows;
        f->is_cat = x->is_cat != NULL && x->is_cat[j];
        if (vals == NULL || counts == NULL || is_big == NULL || ub == NULL || lb == NULL)
            jb->rv[j] = AIOPS_ENOMEM;
        else if (f->is_cat)
            jb->rv[j] = fit_categorical(col, jb->rows, jb->n, jb->samp, ns,
                                        x->ncat ? x->ncat[j] : 0, jb->max_bin, f);
        else
            jb->rv[j] = fit_numeric(col, jb->rows, jb->n, jb->samp, ns, jb->max_bin, f, vals,
                                    counts, is_big, ub, lb);
    }
    free(vals);
    free(counts);
    free(is_big);
    free(ub);
    free(lb);
}

int binner_fit(const struct fmatrix *x, const uint32_t *rows, size_t n, int max_bin,
               unsigned seed, struct pool *pool, struct binner *out)
{
    memset(out, 0, sizeof *out);
    if (max_bin < 2 || max_bin > 65535 || x->ncols == 0 || n == 0 || n > UINT32_MAX)
        return AIOPS_EINVAL;
    size_t ns = n < BIN_SAMPLE_ROWS ? n : BIN_SAMPLE_ROWS;
    uint32_t *samp = malloc(ns * sizeof *samp);
    int *frv = calloc(x->ncols, sizeof *frv);
    out->nfeat = x->ncols;
    out->f = calloc(x->ncols, sizeof *out->f);
    out->offset = malloc((x->ncols + 1) * sizeof *out->offset);
    int rv = AIOPS_ENOMEM;
    if (samp == NULL || frv == NULL || out->f == NULL || out->offset == NULL)
        goto out;
    if (ns == n) {
        for (size_t i = 0; i < n; i++)
            samp[i] = (uint32_t)i;
    } else {
        sample_rows(n, ns, seed, samp);
    }
    struct fit_job jb = {x, rows, n, samp, ns, (uint32_t)max_bin, out, frv};
    if (pool != NULL && x->ncols > 1 && n >= 8192)
        pool_run(pool, pool_threads(pool), fit_part, &jb);
    else
        fit_part(&jb, 0, 1);
    uint64_t total = 0;
    for (size_t j = 0; j < x->ncols; j++) {
        struct bin_feature *f = &out->f[j];
        if ((rv = frv[j]) != 0)
            goto out;
        f->nbins = f->nvalue + (uint32_t)f->has_missing;
        out->offset[j] = (uint32_t)total;
        total += f->nbins;
        if (f->nbins > 256)
            out->wide = 1;
    }
    rv = AIOPS_ETOOBIG;
    if (total > UINT32_MAX / 4)
        goto out;
    out->offset[x->ncols] = (uint32_t)total;
    out->total_bins = (uint32_t)total;
    rv = 0;
out:
    free(samp);
    free(frv);
    if (rv != 0)
        binner_free(out);
    return rv;
}

struct apply_job {
    const struct binner *b;
    const struct fmatrix *x;
    const uint32_t *rows;
    size_t n, stride;
    void *out, *cols;
};

/* Bins of n values of numeric feature f: eight binary searches advance in lock step, so the
 * processor overlaps their loads instead of waiting on one chain of them. */
static void bin_numeric_many(const struct bin_feature *f, const double *v, size_t n,
                             uint32_t *out)
{
    const double *u = f->upper;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        size_t base[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t len = f->nvalue;
        while (len > 1) {
            size_t half = len / 2;
            for (int k = 0; k < 8; k++)
                base[k] = u[base[k] + half - 1] < v[i + (size_t)k] ? base[k] + half : base[k];
            len -= half;
        }
        for (int k = 0; k < 8; k++)
            out[i + (size_t)k] = (uint32_t)base[k];
    }
    for (; i < n; i++)
        out[i] = binner_bin(f, v[i]);
    /* NaN compared false all the way down (bin 0): move it to the missing bin */
    uint32_t mb = f->has_missing ? f->nvalue : f->nvalue - 1;
    for (i = 0; i < n; i++)
        if (v[i] != v[i])
            out[i] = mb;
}

/* Writes bins[0..m) into a bin matrix of 16-bit (wide) or 8-bit entries, from entry `start`
 * every `step` entries. */
static inline void store_bins(void *matrix, int wide, size_t start, size_t step,
                              const uint32_t *bins, size_t m)
{
    if (wide) {
        uint16_t *o = (uint16_t *)matrix + start;
        for (size_t i = 0; i < m; i++)
            o[i * step] = (uint16_t)bins[i];
    } else {
        uint8_t *o = (uint8_t *)matrix + start;
        for (size_t i = 0; i < m; i++)
            o[i * step] = (uint8_t)bins[i];
    }
}

static void apply_part(void *arg, int tid, int nth)
{
    const struct apply_job *jb = arg;
    const struct binner *b = jb->b;
    size_t lo = jb->n * (size_t)tid / (size_t)nth, hi = jb->n * (size_t)(tid + 1) / (size_t)nth;
    size_t nf = b->nfeat;
    enum { BLK = 2048 };
    double vals[BLK];
    uint32_t bins[BLK];
    for (size_t r0 = lo; r0 < hi; r0 += BLK) {
        size_t r1 = r0 + BLK < hi ? r0 + BLK : hi, m = r1 - r0;
        for (size_t j = 0; j < nf; j++) {
            const struct bin_feature *f = &b->f[j];
            const double *col = jb->x->x + j * jb->x->nrows;
            for (size_t i = 0; i < m; i++)
                vals[i] = col[jb->rows ? jb->rows[r0 + i] : r0 + i];
            if (f->is_cat) {
                for (size_t i = 0; i < m; i++)
                    bins[i] = binner_bin(f, vals[i]);
            } else {
                bin_numeric_many(f, vals, m, bins);
            }
            if (jb->out) /* row-major: feature j of row r at r * stride + j */
                store_bins(jb->out, b->wide, r0 * jb->stride + j, jb->stride, bins, m);
            if (jb->cols) /* column-major: feature j's rows contiguous */
                store_bins(jb->cols, b->wide, j * jb->n + r0, 1, bins, m);
        }
    }
}

int binner_apply(const struct binner *b, const struct fmatrix *x, const uint32_t *rows,
                 size_t n, size_t stride, struct pool *pool, void **out, void **cols_out)
{
    if (out)
        *out = NULL;
    if (cols_out)
        *cols_out = NULL;
    size_t width = b->wide ? 2 : 1;
    if (x->ncols != b->nfeat || stride < b->nfeat)
        return AIOPS_EINVAL;
    void *m = NULL, *mc = NULL;
    if (out) {
        size_t bytes = (n * stride * width + 64) / 64 * 64;
        m = aligned_alloc(64, bytes);
        if (m != NULL && stride > b->nfeat)
            memset(m, 0, bytes);
    }
    if (cols_out)
        mc = malloc(n * b->nfeat * width + 1);
    if ((out && m == NULL) || (cols_out && mc == NULL)) {
        free(m);
        free(mc);
        return AIOPS_ENOMEM;
    }
    struct apply_job jb = {b, x, rows, n, stride, m, mc};
    if (pool != NULL && n >= 8192)
        pool_run(pool, pool_threads(pool), apply_part, &jb);
    else
        apply_part(&jb, 0, 1);
    if (out)
        *out = m;
    if (cols_out)
        *cols_out = mc;
    return 0;
}
