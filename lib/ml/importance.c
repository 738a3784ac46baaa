/* importance.c -- permutation importance and significance (see importance.h). */
#include "ml/importance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "algo/gbdt.h"
#include "core/jsonx.h"
#include "core/rand.h"
#include "math/sort.h"
#include "math/stats.h"

int importance_score(const struct model *m, const struct fmatrix *x, const double *y, int threads,
                     double *score)
{
    const size_t n = x->nrows, k = model_outputs(m);
    if (n == 0)
        return AIOPS_EINVAL;
    double *pred = malloc(n * k * sizeof *pred);
    if (pred == NULL)
        return AIOPS_ENOMEM;
    int rv = model_predict_threads(m, x, threads, pred);
    if (rv != 0) {
        free(pred);
        return rv;
    }
    if (m->target.task == TASK_REGRESSION) {
        /* R^2 = 1 - SS_res / SS_tot (scikit-learn's r2_score) */
        double mean = stats_mean(y, n), res = 0, tot = 0;
        for (size_t i = 0; i < n; i++) {
            res += (y[i] - pred[i]) * (y[i] - pred[i]);
            tot += (y[i] - mean) * (y[i] - mean);
        }
        *score = tot > 0 ? 1 - res / tot : (res == 0 ? 1 : 0);
    } else {
        size_t right = 0;
        for (size_t i = 0; i < n; i++) {
            const double *p = pred + i * k;
            size_t best = 0;
            for (size_t c = 1; c < k; c++)
                if (p[c] > p[best])
                    best = c;
            right += (double)best == y[i];
        }
        *score = (double)right / (double)n;
    }
    free(pred);
    return AIOPS_OK;
}

int importance_permutation(const struct model *m, const struct fmatrix *x, const double *y,
                           int repeats, uint64_t seed, int threads, struct perm_importance *out)
{
    const size_t n = x->nrows, nfeat = x->ncols;
    if (n == 0 || repeats < 1 || repeats > IMPORTANCE_MAX_REPEATS || nfeat != m->features.n)
        return AIOPS_EINVAL;
    double base;
    int rv = importance_score(m, x, y, threads, &base);
    if (rv != 0)
        return rv;
    /* a copy of the matrix whose one column at a time is shuffled and put back */
    struct fmatrix shuffled = *x;
    shuffled.x = malloc(n * nfeat * sizeof *shuffled.x);
    double *drops = malloc((size_t)repeats * sizeof *drops);
    if (shuffled.x == NULL || drops == NULL) {
        free(shuffled.x);
        free(drops);
        return AIOPS_ENOMEM;
    }
    memcpy(shuffled.x, x->x, n * nfeat * sizeof *shuffled.x);
    struct rand_xoshiro rng;
    rand_xoshiro_seed(&rng, seed);
    const double q = repeats > 1 ? signif_t_ppf(0.975, (double)(repeats - 1)) : NAN;
    for (size_t j = 0; j < nfeat && rv == 0; j++) {
        double *col = shuffled.x + j * n;
        for (int r = 0; r < repeats && rv == 0; r++) {
            /* Fisher-Yates over the column */
            for (size_t i = n - 1; i > 0; i--) {
                size_t s = (size_t)rand_xoshiro_below(&rng, i + 1);
                double t = col[i];
                col[i] = col[s];
                col[s] = t;
            }
            double score;
            rv = importance_score(m, &shuffled, y, threads, &score);
            drops[r] = base - score;
        }
        memcpy(col, x->x + j * n, n * sizeof *col);
        if (rv != 0)
            break;
        struct stats_moments mo;
        stats_moments(drops, (size_t)repeats, &mo);
        out[j].mean = mo.mean;
        out[j].std = repeats > 1 ? sqrt(mo.m2 / (double)repeats) : 0;
        out[j].ci_lo = repeats > 1 ? mo.mean - q * mo.std / sqrt((double)repeats) : NAN;
        out[j].ci_hi = repeats > 1 ? mo.mean + q * mo.std / sqrt((double)repeats) : NAN;
    }
    free(shuffled.x);
    free(drops);
    return rv;
}

/* --- significance --------------------------------------------------------------------------- */

/* The quartile (0..3) of every value of v (NaN stays NaN) into q. */
static int quartile_codes(const double *v, size_t n, double *q)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (s == NULL)
        return AIOPS_ENOMEM;
    size_t k;
    int rv = sort_f64_present(v, n, s, &k);
    if (rv != 0) {
        free(s);
        return rv;
    }
    double cut[3];
    for (int c = 0; c < 3; c++)
        cut[c] = stats_quantile_sorted(s, k, 0.25 * (c + 1));
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i])) {
            q[i] = NAN;
            continue;
        }
        int c = 0;
        while (c < 3 && v[i] > cut[c])
            c++;
        q[i] = c;
    }
    free(s);
    return AIOPS_OK;
}

/* Chi-square of two code columns (NaN rows skipped) with at most ra and cb codes. */
static int chi2_codes(const double *a, size_t ra, const double *b, size_t cb, size_t n,
                      struct signif_result *out)
{
    const size_t cells = ra * cb;
    uint64_t *t = calloc(cells > 0 ? cells : 1, sizeof *t);
    if (t == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i]) || a[i] < 0 || b[i] < 0 || a[i] >= (double)ra ||
            b[i] >= (double)cb)
            continue;
        t[(size_t)a[i] * cb + (size_t)b[i]]++;
    }
    signif_chi2(t, ra, cb, out);
    free(t);
    return AIOPS_OK;
}

/* The t-test of Pearson's r between x and y. */
static void pearson_test(const double *x, const double *y, size_t n, struct signif_result *out)
{
    size_t used = 0;
    double r = stats_pearson(x, y, n, &used);
    out->statistic = out->df = out->p = out->effect = out->ci_lo = out->ci_hi = NAN;
    out->n = used;
    if (isnan(r) || used < 4)
        return;
    out->effect = r;
    out->df = (double)used - 2;
    double rr = fmin(fabs(r), 1 - 1e-16);
    out->statistic = r * sqrt(out->df / (1 - rr * rr));
    out->p = signif_t_sf2(out->statistic, out->df);
    double z = atanh(rr) * (r < 0 ? -1 : 1), se = 1 / sqrt((double)used - 3);
    out->ci_lo = tanh(z - 1.959963984540054 * se);
    out->ci_hi = tanh(z + 1.959963984540054 * se);
}

int importance_significance(const struct model *m, const struct fmatrix *x, const double *y,
                            struct signif_result *out, const char **test)
{
    const size_t n = x->nrows;
    const enum table_task task = m->target.task;
    double *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
    double *yq = malloc((n ? n : 1) * sizeof *yq);
    int rv = AIOPS_ENOMEM;
    if (a == NULL || b == NULL || yq == NULL)
        goto out;
    size_t ycodes = m->target.nclasses;
    if (task == TASK_REGRESSION) {
        if ((rv = quartile_codes(y, n, yq)) != 0)
            goto out;
        ycodes = 4;
    } else {
        memcpy(yq, y, n * sizeof *yq);
    }
    rv = AIOPS_OK;
    for (size_t j = 0; j < x->ncols && rv == 0; j++) {
        const double *col = x->x + j * n;
        if (x->is_cat[j]) {
            test[j] = "chi_square";
            rv = chi2_codes(col, x->ncat[j], yq, ycodes, n, &out[j]);
        } else if (task == TASK_REGRESSION) {
            test[j] = "pearson";
            pearson_test(col, y, n, &out[j]);
        } else if (task == TASK_BINARY) {
            size_t na = 0, nb = 0;
            for (size_t i = 0; i < n; i++) {
                if (isnan(col[i]))
                    continue;
                if (y[i] == 1)
                    a[na++] = col[i];
                else if (y[i] == 0)
                    b[nb++] = col[i];
            }
            if (na >= 30 && nb >= 30) {
                test[j] = "welch_t";
                signif_welch(a, na, b, nb, &out[j]);
            } else {
                test[j] = "mann_whitney";
                rv = signif_mann_whitney(a, na, b, nb, &out[j]);
            }
        } else {
            test[j] = "chi_square";
            if ((rv = quartile_codes(col, n, a)) == 0)
                rv = chi2_codes(a, 4, yq, ycodes, n, &out[j]);
        }
    }
out:
    free(a);
    free(b);
    free(yq);
    return rv;
}

/* --- the lists ------------------------------------------------------------------------------ */

extern const struct learner learner_gbdt;

static json_t *interval(double lo, double hi)
{
    if (isnan(lo) || isnan(hi))
        return json_null();
    return json_pack("[o, o]", jsonx_num(lo, 0), jsonx_num(hi, 0));
}

static int by_importance_desc(const void *pa, const void *pb)
{
    const json_t *a = *(const json_t *const *)pa, *b = *(const json_t *const *)pb;
    double x = json_number_value(json_object_get(a, "importance"));
    double y = json_number_value(json_object_get(b, "importance"));
    return (x < y) - (x > y);
}

int importance_list_json(const struct model *m, const struct fmatrix *x, const double *y,
                         int repeats, uint64_t seed, int threads, const json_t *descriptions,
                         json_t **out)
{
    *out = NULL;
    const size_t nf = m->features.n;
    struct perm_importance *perm = calloc(nf ? nf : 1, sizeof *perm);
    struct signif_result *sig = calloc(nf ? nf : 1, sizeof *sig);
    const char **test = calloc(nf ? nf : 1, sizeof *test);
    double *own = calloc(nf ? nf : 1, sizeof *own), *splits = calloc(nf ? nf : 1, sizeof *splits);
    json_t **items = calloc(nf ? nf : 1, sizeof *items);
    json_t *list = json_array();
    int rv = AIOPS_ENOMEM;
    if (!perm || !sig || !test || !own || !splits || !items || !list)
        goto fail;
    if ((rv = importance_permutation(m, x, y, repeats, seed, threads, perm)) != 0 ||
        (rv = importance_significance(m, x, y, sig, test)) != 0)
        goto fail;
    int have_own = m->learner->importance && m->learner->importance(m->algo, own) == 0;
    int have_splits = m->learner == &learner_gbdt && gbdt_importance(m->algo, 0, splits) == 0;
    double total = 0;
    for (size_t j = 0; have_own && j < nf; j++)
        total += own[j];
    rv = AIOPS_ENOMEM;
    for (size_t j = 0; j < nf; j++) {
        const char *name = m->features.f[j].name;
        const char *desc = json_string_value(json_object_get(descriptions, name));
        items[j] = json_pack(
            "{s:s, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o}", "feature", name,
            "importance", jsonx_num(perm[j].mean, 0), "std", jsonx_num(perm[j].std, 0), "ci",
            interval(perm[j].ci_lo, perm[j].ci_hi), "pValue", jsonx_num(sig[j].p, 0), "test",
            test[j], "effect", jsonx_num(sig[j].effect, 0), "effectCi",
            interval(sig[j].ci_lo, sig[j].ci_hi), "model_importance",
            have_own ? jsonx_num(total > 0 ? own[j] / total : 0, 0) : json_null(), "splits",
            have_splits ? jsonx_num(splits[j], 1) : json_null(), "description",
            desc ? json_string(desc) : json_null());
        if (items[j] == NULL)
            goto fail;
    }
    qsort(items, nf, sizeof *items, by_importance_desc);
    for (size_t j = 0; j < nf; j++) {
        json_array_append_new(list, items[j]);
        items[j] = NULL;
    }
    *out = list;
    list = NULL;
    rv = AIOPS_OK;
fail:
    for (size_t j = 0; items && j < nf; j++)
        json_decref(items[j]);
    json_decref(list);
    free(items);
    free(perm);
    free(sig);
    free(test);
    free(own);
    free(splits);
    return rv;
}

/* Codes of a column for a contingency table: category codes, or a numeric column's
 * quartiles; *ncodes their count. */
static int column_codes(const struct fmatrix *x, size_t j, double *codes, size_t *ncodes)
{
    const double *col = x->x + j * x->nrows;
    if (x->is_cat[j]) {
        memcpy(codes, col, x->nrows * sizeof *codes);
        *ncodes = x->ncat[j];
        return AIOPS_OK;
    }
    *ncodes = 4;
    return quartile_codes(col, x->nrows, codes);
}

int importance_correlation_json(const struct model *m, const struct fmatrix *x, const char *method,
                                json_t **out)
{
    *out = NULL;
    const int spearman = strcmp(method, "spearman") == 0;
    if (!spearman && strcmp(method, "pearson") != 0)
        return AIOPS_EINVAL;
    const size_t k = x->ncols, n = x->nrows;
    const size_t cells = k * k, values = k * n;
    double *r = calloc(cells > 0 ? cells : 1, sizeof *r);
    double *vals = malloc((values > 0 ? values : 1) * sizeof *vals);
    const double **cols = calloc(k ? k : 1, sizeof *cols);
    double *ca = malloc((n ? n : 1) * sizeof *ca), *cb = malloc((n ? n : 1) * sizeof *cb);
    int rv = AIOPS_ENOMEM;
    if (!r || !vals || !cols || !ca || !cb)
        goto out;
    /* numeric columns (ranked for Spearman) through the one BLAS-backed matrix */
    for (size_t j = 0; j < k; j++) {
        double *v = vals + j * n;
        if (x->is_cat[j]) {
            for (size_t i = 0; i < n; i++)
                v[i] = NAN;
        } else if (spearman) {
            if ((rv = stats_rank_average(x->x + j * n, n, v)) != 0)
                goto out;
        } else {
            memcpy(v, x->x + j * n, n * sizeof *v);
        }
        cols[j] = v;
    }
    if ((rv = stats_corr_matrix(cols, k, n, r)) != 0)
        goto out;
    for (size_t a = 0; a < k; a++)
        for (size_t b = a; b < k; b++) {
            if (!x->is_cat[a] && !x->is_cat[b])
                continue;
            size_t na, nb;
            if ((rv = column_codes(x, a, ca, &na)) != 0 || (rv = column_codes(x, b, cb, &nb)) != 0)
                goto out;
            const size_t tcells = na * nb;
            uint64_t *t = calloc(tcells > 0 ? tcells : 1, sizeof *t);
            if (t == NULL) {
                rv = AIOPS_ENOMEM;
                goto out;
            }
            for (size_t i = 0; i < n; i++)
                if (!isnan(ca[i]) && !isnan(cb[i]) && ca[i] >= 0 && cb[i] >= 0 &&
                    ca[i] < (double)na && cb[i] < (double)nb)
                    t[(size_t)ca[i] * nb + (size_t)cb[i]]++;
            double v = signif_cramers_v(t, na, nb);
            free(t);
            r[a * k + b] = r[b * k + a] = a == b ? 1.0 : v;
        }
    json_t *features = json_array(), *matrix = json_array();
    for (size_t a = 0; a < k; a++) {
        json_array_append_new(features, json_string(m->features.f[a].name));
        json_t *row = json_array();
        for (size_t b = 0; b < k; b++)
            json_array_append_new(row, jsonx_num(r[a * k + b], 0));
        json_array_append_new(matrix, row);
    }
    *out = json_pack("{s:o, s:o, s:s}", "features", features, "matrix", matrix, "method",
                     spearman ? "spearman" : "pearson");
    rv = *out ? AIOPS_OK : AIOPS_ENOMEM;
out:
    free(r);
    free(vals);
    free(cols);
    free(ca);
    free(cb);
    return rv;
}
