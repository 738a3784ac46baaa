/* kernelshap.c -- Kernel SHAP as shap's KernelExplainer (see kernelshap.h). One deviation:
 * shap may first select features by an L1 fit (l1_reg "auto" when under a fifth of the
 * coalition space is sampled); here every varying feature is kept (shap's l1_reg=False). */
#include "ml/kernelshap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo/kmeans.h"
#include "core/array.h"
#include "core/rand.h"
#include "math/sort.h"
#include "math/stats.h"

void kshap_background_free(struct kshap_background *bg)
{
    free(bg->rows);
    free(bg->weight);
    memset(bg, 0, sizeof *bg);
}

/* --- the background ----------------------------------------------------------------------- */

/* Rows standardised, missing values at the column mean (z, n x d row-major): distances only. */
static void standardise_rows(const struct fmatrix *x, double *z)
{
    const size_t n = x->nrows, d = x->ncols;
    for (size_t j = 0; j < d; j++) {
        const double *col = x->x + j * n;
        double s = 0, s2 = 0;
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(col[i])) {
                s += col[i];
                s2 += col[i] * col[i];
                m++;
            }
        double mean = m ? s / (double)m : 0, var = m ? s2 / (double)m - mean * mean : 0;
        double sd = var > 0 ? sqrt(var) : 1;
        for (size_t i = 0; i < n; i++)
            z[i * d + j] = isnan(col[i]) ? 0 : (col[i] - mean) / sd;
    }
}

/* Clusters the standardised rows z (n x d) by lib/algo/kmeans: one k-means++ start, Lloyd's
 * iterations (at most 100) until no row changes cluster. Each row's cluster in assign[n],
 * the clusters' sizes in size[k]; c (k x d) receives the centres. */
static int cluster_rows(const double *z, size_t n, size_t d, size_t k, uint64_t seed, double *c,
                        int32_t *assign, size_t *size)
{
    struct kmeans_params p = {.k = k, .n_init = 1, .max_iter = 100, .tol = 0, .seed = seed,
                              .threads = 1};
    struct aiops_error err = AIOPS_ERROR_INIT;
    double inertia = 0;
    int iterations = 0;
    int rv = kmeans_fit(z, n, d, &p, NULL, NULL, c, assign, &inertia, &iterations, &err);
    if (rv != 0)
        return rv;
    memset(size, 0, k * sizeof *size);
    for (size_t i = 0; i < n; i++)
        size[assign[i]]++;
    return AIOPS_OK;
}

/* Cluster q's value of column col (n rows): the most frequent code among its members for a
 * categorical column, else the data value nearest its members' mean (as shap.kmeans), using
 * the column's sorted values sorted[0..ns). NaN when it has none. *v; AIOPS_ENOMEM. */
static int centroid_value(const struct fmatrix *x, size_t j, const int32_t *assign, size_t q,
                          const double *sorted, size_t ns, double *v)
{
    const size_t n = x->nrows;
    const double *col = x->x + j * n;
    *v = NAN;
    if (x->is_cat[j]) {
        uint32_t nc = x->ncat[j];
        size_t *cnt = calloc(nc ? nc : 1, sizeof *cnt), best = 0;
        if (cnt == NULL)
            return AIOPS_ENOMEM;
        for (size_t i = 0; i < n; i++)
            if ((size_t)assign[i] == q && !isnan(col[i]) && col[i] >= 0 && col[i] < nc)
                cnt[(size_t)col[i]]++;
        for (size_t h = 0; h < nc; h++)
            if (cnt[h] > cnt[best])
                best = h;
        if (nc > 0 && cnt[best] > 0)
            *v = (double)best;
        free(cnt);
        return AIOPS_OK;
    }
    double s = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if ((size_t)assign[i] == q && !isnan(col[i])) {
            s += col[i];
            m++;
        }
    if (m == 0 || ns == 0)
        return AIOPS_OK;
    double mean = s / (double)m;
    size_t lo = stats_count_below(sorted, ns, mean);
    *v = lo < ns ? sorted[lo] : sorted[ns - 1];
    if (lo > 0 && fabs(sorted[lo - 1] - mean) <= fabs(*v - mean))
        *v = sorted[lo - 1];
    return AIOPS_OK;
}

int kshap_background_kmeans(const struct fmatrix *x, size_t k, uint64_t seed,
                            struct kshap_background *out)
{
    memset(out, 0, sizeof *out);
    const size_t n = x->nrows, d = x->ncols;
    if (n == 0 || d == 0)
        return AIOPS_EINVAL;
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    if (k > KMEANS_MAX_K)
        k = KMEANS_MAX_K;
    double *z = malloc(n * d * sizeof *z), *c = malloc(k * d * sizeof *c);
    double *sorted = malloc(n * sizeof *sorted);
    int32_t *assign = calloc(n, sizeof *assign);
    size_t *size = calloc(k, sizeof *size);
    int rv = AIOPS_ENOMEM;
    if (!z || !c || !sorted || !assign || !size)
        goto out;
    standardise_rows(x, z);
    if ((rv = cluster_rows(z, n, d, k, seed, c, assign, size)) != 0)
        goto out;
    rv = AIOPS_ENOMEM;
    /* centroids in the data's own values */
    size_t kept = 0;
    for (size_t q = 0; q < k; q++)
        kept += size[q] > 0;
    out->rows = malloc(kept * d * sizeof *out->rows);
    out->weight = malloc(kept * sizeof *out->weight);
    if (!out->rows || !out->weight)
        goto out;
    out->k = kept;
    out->nfeat = d;
    for (size_t j = 0; j < d; j++) {
        const double *col = x->x + j * n;
        size_t ns;
        if ((rv = sort_f64_present(col, n, sorted, &ns)) != 0)
            goto out;
        for (size_t q = 0, at = 0; q < k; q++) {
            if (size[q] == 0)
                continue;
            if ((rv = centroid_value(x, j, assign, q, sorted, ns, &out->rows[at * d + j])) != 0)
                goto out;
            at++;
        }
    }
    for (size_t q = 0, at = 0; q < k; q++)
        if (size[q] > 0)
            out->weight[at++] = (double)size[q] / (double)n;
    rv = AIOPS_OK;
out:
    free(z);
    free(c);
    free(sorted);
    free(assign);
    free(size);
    if (rv != 0)
        kshap_background_free(out);
    return rv;
}

/* --- linear algebra --------------------------------------------------------------------------- */

int kshap_solve(double *a, double *b, size_t n)
{
    for (size_t col = 0; col < n; col++) {
        size_t piv = col;
        for (size_t r = col + 1; r < n; r++)
            if (fabs(a[r * n + col]) > fabs(a[piv * n + col]))
                piv = r;
        if (!(fabs(a[piv * n + col]) > 1e-300))
            return AIOPS_EINVAL;
        if (piv != col) {
            for (size_t j = 0; j < n; j++) {
                double t = a[col * n + j];
                a[col * n + j] = a[piv * n + j];
                a[piv * n + j] = t;
            }
            double t = b[col];
            b[col] = b[piv];
            b[piv] = t;
        }
        for (size_t r = col + 1; r < n; r++) {
            double f = a[r * n + col] / a[col * n + col];
            if (f == 0)
                continue;
            for (size_t j = col; j < n; j++)
                a[r * n + j] -= f * a[col * n + j];
            b[r] -= f * b[col];
        }
    }
    for (size_t r = n; r-- > 0;) {
        double s = b[r];
        for (size_t j = r + 1; j < n; j++)
            s -= a[r * n + j] * b[j];
        b[r] = s / a[r * n + r];
    }
    return AIOPS_OK;
}

/* --- coalitions ------------------------------------------------------------------------------- */

struct coalitions {
    size_t m, n, cap;
    uint8_t *mask;  /* n * m */
    double *weight; /* n */
};

static int coal_add(struct coalitions *c, const uint8_t *mask, double w)
{
    if (c->n == c->cap) {
        /* both arrays grow from the capacity they share */
        size_t mask_cap = c->cap, weight_cap = c->cap;
        if (array_reserve(&c->mask, &mask_cap, c->n + 1, c->m, 256) != 0 ||
            array_reserve(&c->weight, &weight_cap, c->n + 1, sizeof *c->weight, 256) != 0)
            return AIOPS_ENOMEM;
        c->cap = mask_cap;
    }
    memcpy(c->mask + c->n * c->m, mask, c->m);
    c->weight[c->n++] = w;
    return AIOPS_OK;
}

/* Adds a random coalition, or 1 to the weight of the same one already drawn after index
 * from. */
static int coal_add_random(struct coalitions *c, size_t from, const uint8_t *mask)
{
    for (size_t i = from; i < c->n; i++)
        if (memcmp(c->mask + i * c->m, mask, c->m) == 0) {
            c->weight[i] += 1;
            return AIOPS_OK;
        }
    return coal_add(c, mask, 1);
}

static double binom(size_t n, size_t k)
{
    return exp(lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1));
}

/* shap's KernelExplainer coalition plan for m features and a budget of nsamples. */
static int plan_coalitions(size_t m, size_t nsamples, struct rand_xoshiro *rng,
                           struct coalitions *c)
{
    const size_t nsizes = (m - 1 + 1) / 2, npaired = (m - 1) / 2;
    double *wv = malloc((nsizes ? nsizes : 1) * sizeof *wv), *rw = NULL;
    uint8_t *mask = malloc(m), *comp = malloc(m);
    size_t *idx = malloc(m * sizeof *idx);
    int rv = AIOPS_ENOMEM;
    if (!wv || !mask || !comp || !idx)
        goto out;
    double wsum = 0;
    for (size_t i = 0; i < nsizes; i++) {
        wv[i] = (double)(m - 1) / ((double)(i + 1) * (double)(m - i - 1));
        if (i + 1 <= npaired)
            wv[i] *= 2;
        wsum += wv[i];
    }
    for (size_t i = 0; i < nsizes; i++)
        wv[i] /= wsum;
    if ((rw = malloc((nsizes ? nsizes : 1) * sizeof *rw)) == NULL)
        goto out;
    memcpy(rw, wv, nsizes * sizeof *rw);
    size_t nfull = 0;
    double left = (double)nsamples;
    for (size_t s = 1; s <= nsizes; s++) {
        double nsub = binom(m, s);
        if (s <= npaired)
            nsub *= 2;
        if (!(left * rw[s - 1] / nsub >= 1.0 - 1e-8))
            break;
        nfull++;
        left -= nsub;
        if (rw[s - 1] < 1) {
            const double rest = 1 - rw[s - 1]; /* taken before the division changes it */
            for (size_t i = 0; i < nsizes; i++)
                rw[i] /= rest;
        }
        double w = wv[s - 1] / binom(m, s);
        if (s <= npaired)
            w /= 2;
        /* every subset of size s in lexicographic order */
        for (size_t i = 0; i < s; i++)
            idx[i] = i;
        for (;;) {
            memset(mask, 0, m);
            for (size_t i = 0; i < s; i++)
                mask[idx[i]] = 1;
            if ((rv = coal_add(c, mask, w)) != 0)
                goto out;
            if (s <= npaired) {
                for (size_t i = 0; i < m; i++)
                    comp[i] = (uint8_t)!mask[i];
                if ((rv = coal_add(c, comp, w)) != 0)
                    goto out;
            }
            size_t i = s;
            while (i > 0 && idx[i - 1] == m - s + i - 1)
                i--;
            if (i == 0)
                break;
            idx[i - 1]++;
            for (size_t h = i; h < s; h++)
                idx[h] = idx[h - 1] + 1;
        }
    }
    const size_t nfixed = c->n;
    rv = AIOPS_OK;
    if (nfull == nsizes || nsamples <= nfixed)
        goto out;
    /* the rest at random by the remaining sizes' weights */
    double rsum = 0;
    for (size_t i = nfull; i < nsizes; i++)
        rsum += wv[i];
    size_t budget = nsamples - nfixed;
    for (size_t draws = 0; c->n - nfixed < budget && draws < 4 * budget; draws++) {
        double u = (double)(rand_xoshiro_next(rng) >> 11) * 0x1p-53 * rsum;
        size_t s = nfull;
        while (s + 1 < nsizes && (u -= wv[s]) > 0)
            s++;
        const size_t size = s + 1;
        for (size_t i = 0; i < m; i++)
            idx[i] = i;
        for (size_t i = 0; i < size; i++) {
            size_t j = i + (size_t)rand_xoshiro_below(rng, m - i);
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        memset(mask, 0, m);
        for (size_t i = 0; i < size; i++)
            mask[idx[i]] = 1;
        if ((rv = coal_add_random(c, nfixed, mask)) != 0)
            goto out;
        if (size <= npaired && c->n - nfixed < budget) {
            for (size_t i = 0; i < m; i++)
                comp[i] = (uint8_t)!mask[i];
            if ((rv = coal_add_random(c, nfixed, comp)) != 0)
                goto out;
        }
    }
    double drawn = 0;
    for (size_t i = nfixed; i < c->n; i++)
        drawn += c->weight[i];
    for (size_t i = nfixed; i < c->n; i++)
        c->weight[i] *= rsum / drawn;
out:
    free(wv);
    free(rw);
    free(mask);
    free(comp);
    free(idx);
    return rv;
}

/* --- explaining a row ------------------------------------------------------------------------- */

static int same_value(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

int kshap_explain(const struct model *m, const struct kshap_background *bg, const double *row,
                  size_t nsamples, uint64_t seed, int threads, double *phi)
{
    const size_t d = m->features.n, k = model_outputs(m), nb = bg->k;
    if (bg->nfeat != d || nb == 0 || nsamples > KSHAP_MAX_SAMPLES)
        return AIOPS_EINVAL;
    size_t *vary = malloc(d * sizeof *vary), mv = 0;
    struct coalitions c = {0};
    struct fmatrix z = {0};
    double *pred = NULL, *ey = NULL, *fx = malloc(k * sizeof *fx), *ef = calloc(k, sizeof *ef);
    double *a = NULL, *b = NULL;
    int rv = AIOPS_ENOMEM;
    if (vary == NULL || fx == NULL || ef == NULL)
        goto out;
    for (size_t j = 0; j < d; j++)
        for (size_t q = 0; q < nb; q++)
            if (!same_value(bg->rows[q * d + j], row[j])) {
                vary[mv++] = j;
                break;
            }
    /* f(row) and E[f] in one prediction: the row, then the background */
    if ((rv = features_matrix_alloc(&m->features, nb + 1, &z)) != 0)
        goto out;
    for (size_t j = 0; j < d; j++) {
        z.x[j * (nb + 1)] = row[j];
        for (size_t q = 0; q < nb; q++)
            z.x[j * (nb + 1) + q + 1] = bg->rows[q * d + j];
    }
    rv = AIOPS_ENOMEM;
    if ((pred = malloc((nb + 1) * k * sizeof *pred)) == NULL)
        goto out;
    if ((rv = model_predict_threads(m, &z, threads, pred)) != 0)
        goto out;
    for (size_t o = 0; o < k; o++) {
        fx[o] = pred[o];
        for (size_t q = 0; q < nb; q++)
            ef[o] += bg->weight[q] * pred[(q + 1) * k + o];
    }
    memset(phi, 0, k * (d + 1) * sizeof *phi);
    for (size_t o = 0; o < k; o++)
        phi[o * (d + 1) + d] = ef[o];
    rv = AIOPS_OK;
    if (mv == 0)
        goto out;
    if (mv == 1) {
        for (size_t o = 0; o < k; o++)
            phi[o * (d + 1) + vary[0]] = fx[o] - ef[o];
        goto out;
    }
    /* the coalitions and their values */
    size_t budget = nsamples ? nsamples : 2 * mv + 2048;
    if (mv <= 30 && budget > ((size_t)1 << mv) - 2)
        budget = ((size_t)1 << mv) - 2;
    struct rand_xoshiro rng;
    rand_xoshiro_seed(&rng, seed);
    c.m = mv;
    if ((rv = plan_coalitions(mv, budget, &rng, &c)) != 0)
        goto out;
    fmatrix_free(&z);
    const size_t rows = c.n * nb;
    if ((rv = features_matrix_alloc(&m->features, rows, &z)) != 0)
        goto out;
    for (size_t j = 0; j < d; j++)
        for (size_t s = 0; s < c.n; s++)
            for (size_t q = 0; q < nb; q++)
                z.x[j * rows + s * nb + q] = bg->rows[q * d + j];
    for (size_t v = 0; v < mv; v++) {
        const size_t j = vary[v];
        for (size_t s = 0; s < c.n; s++)
            if (c.mask[s * mv + v])
                for (size_t q = 0; q < nb; q++)
                    z.x[j * rows + s * nb + q] = row[j];
    }
    free(pred);
    rv = AIOPS_ENOMEM;
    if ((pred = malloc(rows * k * sizeof *pred)) == NULL ||
        (ey = calloc(c.n * k, sizeof *ey)) == NULL)
        goto out;
    if ((rv = model_predict_threads(m, &z, threads, pred)) != 0)
        goto out;
    for (size_t s = 0; s < c.n; s++)
        for (size_t q = 0; q < nb; q++)
            for (size_t o = 0; o < k; o++)
                ey[s * k + o] += bg->weight[q] * pred[(s * nb + q) * k + o];
    /* the weighted regression with the last feature eliminated by the sum constraint */
    const size_t p = mv - 1;
    rv = AIOPS_ENOMEM;
    if ((a = malloc(p * p * sizeof *a)) == NULL || (b = malloc(p * sizeof *b)) == NULL)
        goto out;
    for (size_t o = 0; o < k; o++) {
        const double total = fx[o] - ef[o];
        memset(a, 0, p * p * sizeof *a);
        memset(b, 0, p * sizeof *b);
        for (size_t s = 0; s < c.n; s++) {
            const uint8_t *mk = c.mask + s * mv;
            const double w = c.weight[s], last = mk[p];
            const double y = ey[s * k + o] - ef[o] - last * total;
            for (size_t i = 0; i < p; i++) {
                const double ei = (double)mk[i] - last;
                if (ei == 0)
                    continue;
                b[i] += w * ei * y;
                for (size_t h = 0; h < p; h++)
                    a[i * p + h] += w * ei * ((double)mk[h] - last);
            }
        }
        if ((rv = kshap_solve(a, b, p)) != 0)
            goto out;
        double sum = 0;
        for (size_t i = 0; i < p; i++) {
            phi[o * (d + 1) + vary[i]] = b[i];
            sum += b[i];
        }
        phi[o * (d + 1) + vary[p]] = total - sum;
    }
    rv = AIOPS_OK;
out:
    free(vary);
    free(c.mask);
    free(c.weight);
    fmatrix_free(&z);
    free(pred);
    free(ey);
    free(fx);
    free(ef);
    free(a);
    free(b);
    return rv;
}
