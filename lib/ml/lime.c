/* lime.c -- LIME tabular (see lime.h). */
#include "ml/lime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rand.h"
#include "math/sort.h"
#include "math/stats.h"
#include "ml/kernelshap.h"

void lime_free(struct lime_explainer *e)
{
    for (size_t j = 0; e->f != NULL && j < e->d; j++)
        free(e->f[j].cat_freq);
    free(e->f);
    memset(e, 0, sizeof *e);
}

/* A numeric value's bin: 0..3 by the quartiles (lime: x <= q1, q1 < x <= q2, ...), 4 when
 * missing. */
static size_t bin_of(const struct lime_feature *f, double v)
{
    if (isnan(v))
        return 4;
    size_t b = 0;
    while (b < 3 && v > f->cut[b])
        b++;
    return b;
}

/* A categorical value's state: its code, ncat when missing or unknown. */
static size_t code_of(const struct lime_feature *f, double v)
{
    if (isnan(v) || v < 0 || v >= (double)f->ncat)
        return f->ncat;
    return (size_t)v;
}

/* lime's StandardScaler, fitted on the discretised training data (bin or category codes):
 * what the interpretable representation is scaled by. */
static void scale_of(const double *codes, size_t n, struct lime_feature *f)
{
    struct stats_moments mo;
    stats_moments(codes, n, &mo);
    f->scale_mean = isnan(mo.mean) ? 0 : mo.mean;
    f->scale_std = mo.n > 0 && mo.m2 > 0 ? sqrt(mo.m2 / (double)mo.n) : 1;
}

int lime_fit(const struct fmatrix *x, struct lime_explainer *out)
{
    memset(out, 0, sizeof *out);
    const size_t n = x->nrows, d = x->ncols;
    if (n == 0 || d == 0)
        return AIOPS_EINVAL;
    out->d = d;
    out->f = calloc(d, sizeof *out->f);
    double *s = malloc(n * sizeof *s);
    int rv = AIOPS_ENOMEM;
    if (out->f == NULL || s == NULL)
        goto fail;
    for (size_t j = 0; j < d; j++) {
        struct lime_feature *f = &out->f[j];
        const double *col = x->x + j * n;
        if (x->is_cat[j]) {
            f->categorical = 1;
            f->ncat = x->ncat[j];
            if ((f->cat_freq = calloc((size_t)f->ncat + 1, sizeof *f->cat_freq)) == NULL)
                goto fail;
            for (size_t i = 0; i < n; i++) {
                s[i] = (double)code_of(f, col[i]);
                f->cat_freq[(size_t)s[i]] += 1.0 / (double)n;
            }
            scale_of(s, n, f);
            continue;
        }
        size_t k;
        if ((rv = sort_f64_present(col, n, s, &k)) != 0)
            goto fail;
        rv = AIOPS_ENOMEM;
        for (int c = 0; c < 3; c++)
            f->cut[c] = k ? stats_quantile_sorted(s, k, 0.25 * (c + 1)) : 0;
        double sum[LIME_BINS] = {0}, sum2[LIME_BINS] = {0}, cnt[LIME_BINS] = {0};
        for (size_t b = 0; b < LIME_BINS; b++) {
            f->lo[b] = INFINITY;
            f->hi[b] = -INFINITY;
        }
        for (size_t i = 0; i < n; i++) {
            size_t b = bin_of(f, col[i]);
            cnt[b] += 1;
            if (b < 4) {
                sum[b] += col[i];
                sum2[b] += col[i] * col[i];
                f->lo[b] = fmin(f->lo[b], col[i]);
                f->hi[b] = fmax(f->hi[b], col[i]);
            }
        }
        for (size_t i = 0; i < n; i++)
            s[i] = (double)bin_of(f, col[i]);
        scale_of(s, n, f);
        for (size_t b = 0; b < LIME_BINS; b++) {
            f->freq[b] = cnt[b] / (double)n;
            f->mean[b] = cnt[b] > 0 ? sum[b] / cnt[b] : NAN;
            double var = cnt[b] > 0 ? sum2[b] / cnt[b] - f->mean[b] * f->mean[b] : 0;
            f->std[b] = var > 0 ? sqrt(var) : 0;
        }
    }
    free(s);
    return AIOPS_OK;
fail:
    free(s);
    lime_free(out);
    return rv;
}

static double unit(struct rand_xoshiro *r)
{
    return (double)(rand_xoshiro_next(r) >> 11) * 0x1p-53;
}

static double normal(struct rand_xoshiro *r)
{
    double u = unit(r), v = unit(r);
    return sqrt(-2 * log(u > 0 ? u : 0x1p-53)) * cos(2 * M_PI * v);
}

/* An index drawn by the frequencies p[0..n). */
static size_t draw(struct rand_xoshiro *r, const double *p, size_t n)
{
    double u = unit(r), acc = 0;
    for (size_t i = 0; i < n; i++) {
        acc += p[i];
        if (u < acc)
            return i;
    }
    for (size_t i = n; i-- > 0;)
        if (p[i] > 0)
            return i;
    return 0;
}

/* A value in bin b: lime's undiscretize, a normal of the bin's mean and std truncated to
 * the bin's training range. */
static double value_in_bin(struct rand_xoshiro *r, const struct lime_feature *f, size_t b)
{
    if (b == 4)
        return NAN;
    if (!(f->std[b] > 0))
        return f->mean[b];
    for (int tries = 0; tries < 100; tries++) {
        double v = f->mean[b] + f->std[b] * normal(r);
        if (v >= f->lo[b] && v <= f->hi[b])
            return v;
    }
    return f->lo[b] + unit(r) * (f->hi[b] - f->lo[b]);
}

/* Weighted ridge with an intercept (sklearn's Ridge with sample_weight): columns cols[0..p)
 * of the n x d row-major z, targets y, weights w; coef[p], *intercept. */
static int ridge(const double *z, size_t n, size_t d, const size_t *cols, size_t p, const double *y,
                 const double *w, double alpha, double *coef, double *intercept)
{
    const size_t cells = p * p;
    double *a = calloc(cells > 0 ? cells : 1, sizeof *a), *xm = calloc(p ? p : 1, sizeof *xm);
    if (a == NULL || xm == NULL) {
        free(a);
        free(xm);
        return AIOPS_ENOMEM;
    }
    double sw = 0, ym = 0;
    for (size_t i = 0; i < n; i++) {
        sw += w[i];
        ym += w[i] * y[i];
        for (size_t h = 0; h < p; h++)
            xm[h] += w[i] * z[i * d + cols[h]];
    }
    ym /= sw;
    for (size_t h = 0; h < p; h++)
        xm[h] /= sw;
    memset(coef, 0, p * sizeof *coef);
    for (size_t i = 0; i < n; i++) {
        const double yc = y[i] - ym;
        for (size_t h = 0; h < p; h++) {
            const double xh = z[i * d + cols[h]] - xm[h];
            coef[h] += w[i] * xh * yc;
            for (size_t g = 0; g < p; g++)
                a[h * p + g] += w[i] * xh * (z[i * d + cols[g]] - xm[g]);
        }
    }
    for (size_t h = 0; h < p; h++)
        a[h * p + h] += alpha;
    int rv = kshap_solve(a, coef, p);
    double b0 = ym;
    for (size_t h = 0; h < p; h++)
        b0 -= coef[h] * xm[h];
    *intercept = b0;
    free(a);
    free(xm);
    return rv;
}

int lime_explain(const struct model *m, const struct lime_explainer *e, const double *row,
                 size_t output, size_t nsamples, uint64_t seed, int threads,
                 struct lime_result *out)
{
    memset(out, 0, sizeof *out);
    const size_t d = e->d, k = model_outputs(m);
    if (nsamples == 0)
        nsamples = LIME_DEFAULT_SAMPLES;
    if (d != m->features.n || output >= k || nsamples < 2 || nsamples > LIME_MAX_SAMPLES)
        return AIOPS_EINVAL;
    const size_t n = nsamples;
    struct fmatrix x = {0};
    double *z = malloc(n * d * sizeof *z), *pred = malloc(n * k * sizeof *pred);
    double *y = malloc(n * sizeof *y), *w = malloc(n * sizeof *w);
    size_t *cols = malloc(d * sizeof *cols);
    double *coef = malloc(d * sizeof *coef);
    int rv = AIOPS_ENOMEM;
    if (!z || !pred || !y || !w || !cols || !coef)
        goto out;
    if ((rv = features_matrix_alloc(&m->features, n, &x)) != 0)
        goto out;
    struct rand_xoshiro rng;
    rand_xoshiro_seed(&rng, seed);
    /* samples, column by column as lime draws them */
    for (size_t j = 0; j < d; j++) {
        const struct lime_feature *f = &e->f[j];
        double *col = x.x + j * n;
        const size_t mine = f->categorical ? code_of(f, row[j]) : bin_of(f, row[j]);
        for (size_t i = 0; i < n; i++) {
            size_t b;
            if (i == 0) {
                b = mine;
                col[i] = row[j];
            } else if (f->categorical) {
                b = draw(&rng, f->cat_freq, (size_t)f->ncat + 1);
                col[i] = b == f->ncat ? NAN : (double)b;
            } else {
                b = draw(&rng, f->freq, LIME_BINS);
                col[i] = value_in_bin(&rng, f, b);
            }
            /* the interpretable form, scaled as lime scales it */
            const double binary = b == mine ? 1.0 : 0.0;
            z[i * d + j] = (binary - f->scale_mean) / f->scale_std;
        }
    }
    if ((rv = model_predict_threads(m, &x, threads, pred)) != 0)
        goto out;
    const double width = 0.75 * sqrt((double)d);
    for (size_t i = 0; i < n; i++) {
        y[i] = pred[i * k + output];
        double dist2 = 0;
        for (size_t j = 0; j < d; j++)
            dist2 += (z[i * d + j] - z[j]) * (z[i * d + j] - z[j]);
        w[i] = sqrt(exp(-dist2 / (width * width)));
    }
    out->model_pred = y[0];
    /* the features kept */
    for (size_t j = 0; j < d; j++)
        cols[j] = j;
    size_t p = d;
    double b0;
    if (d > LIME_MAX_FEATURES) {
        if ((rv = ridge(z, n, d, cols, d, y, w, 0.01, coef, &b0)) != 0)
            goto out;
        /* the 10 largest |coef * row|, as lime's highest_weights */
        for (size_t a = 0; a < LIME_MAX_FEATURES; a++) {
            size_t best = a;
            for (size_t h = a + 1; h < d; h++)
                if (fabs(coef[cols[h]] * z[cols[h]]) > fabs(coef[cols[best]] * z[cols[best]]))
                    best = h;
            size_t t = cols[a];
            cols[a] = cols[best];
            cols[best] = t;
        }
        p = LIME_MAX_FEATURES;
    }
    if ((rv = ridge(z, n, d, cols, p, y, w, 1.0, coef, &b0)) != 0)
        goto out;
    /* the weighted R^2 of the fit and its prediction at the row */
    double sw = 0, ym = 0, res = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
        sw += w[i];
        ym += w[i] * y[i];
    }
    ym /= sw;
    for (size_t i = 0; i < n; i++) {
        double f = b0;
        for (size_t h = 0; h < p; h++)
            f += coef[h] * z[i * d + cols[h]];
        if (i == 0)
            out->local_pred = f;
        res += w[i] * (y[i] - f) * (y[i] - f);
        tot += w[i] * (y[i] - ym) * (y[i] - ym);
    }
    out->score = tot > 0 ? 1 - res / tot : NAN;
    out->intercept = b0;
    /* most influential first */
    for (size_t a = 0; a < p; a++) {
        size_t best = a;
        for (size_t h = a + 1; h < p; h++)
            if (fabs(coef[h]) > fabs(coef[best]))
                best = h;
        double tc = coef[a];
        coef[a] = coef[best];
        coef[best] = tc;
        size_t t = cols[a];
        cols[a] = cols[best];
        cols[best] = t;
        out->feature[a] = cols[a];
        out->weight[a] = coef[a];
    }
    out->nused = p;
    rv = AIOPS_OK;
out:
    fmatrix_free(&x);
    free(z);
    free(pred);
    free(y);
    free(w);
    free(cols);
    free(coef);
    return rv;
}

void lime_condition(const struct lime_explainer *e, const struct feature_set *fs, size_t j,
                    double v, char *buf, size_t n)
{
    const struct lime_feature *f = &e->f[j];
    const char *name = fs->f[j].name;
    if (f->categorical) {
        size_t c = code_of(f, v);
        if (c == f->ncat)
            snprintf(buf, n, "%s is missing", name);
        else
            snprintf(buf, n, "%s=%s", name, strdict_str(&fs->f[j].cats, (uint32_t)c));
        return;
    }
    switch (bin_of(f, v)) {
    case 0:
        snprintf(buf, n, "%s <= %.2f", name, f->cut[0]);
        break;
    case 1:
        snprintf(buf, n, "%.2f < %s <= %.2f", f->cut[0], name, f->cut[1]);
        break;
    case 2:
        snprintf(buf, n, "%.2f < %s <= %.2f", f->cut[1], name, f->cut[2]);
        break;
    case 3:
        snprintf(buf, n, "%s > %.2f", name, f->cut[2]);
        break;
    default:
        snprintf(buf, n, "%s is missing", name);
    }
}
