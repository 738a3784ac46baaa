/* featprep.c -- the feature set's searched transforms (featureset.h, "searched transforms"):
 * target encoding, robust scaling and feature selection, fitted on a training fold.
 *
 * Saved bytes: "PRE1", u32 encoding, u32 scaling, u32 select, f64 keep, u64 nin, u64 nout,
 * then per output column: u32 src, u32 op, f64 a, f64 b, u32 nenc, nenc f64. */
#include "ml/featureset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/bytes.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/rand.h"
#include "math/signif.h"
#include "math/sort.h"
#include "math/stats.h"

extern const struct learner learner_gbdt;

/* The gbdt whose gain ranks features for selection by importance: about this many trees
 * (rounds x trees per round: one per class beyond two), as it is fitted per fold inside a
 * trial's time; 3 rounds at least. */
#define IMPORTANCE_TREES 30
#define PREP_MAX_COLUMNS (1u << 24)

/* clang-format off */
static const struct param_def prep_params[] = {
    {.name = "encoding", .type = PARAM_STRING, .choices = PARAM_LIST("onehot", "target"),
     .help = "categoricals of more than 10 categories: as categories, or their smoothed "
             "mean target (fitted on the training fold, cross-fitted on its rows)",
     .search = PARAM_SEARCH},
    {.name = "scaling", .type = PARAM_STRING, .choices = PARAM_LIST("standard", "robust"),
     .help = "numbers for linear and neural learners: standardised, or median/IQR clipped "
             "to +-5", .search = PARAM_SEARCH},
    {.name = "select", .type = PARAM_STRING,
     .choices = PARAM_LIST("none", "importance", "univariate"),
     .help = "feature selection: none, by a small gbdt's gain, or by chi-square / ANOVA F",
     .search = PARAM_SEARCH},
    {.name = "select_keep", .type = PARAM_NUMBER, .min = 0.01, .max = 1, .def = 1,
     .help = "the fraction of features a selection keeps", .search = PARAM_SEARCH,
     .search_min = 0.3, .search_max = 1},
};
/* clang-format on */

size_t prep_param_count(void)
{
    return ARRAY_LEN(prep_params);
}

const struct param_def *prep_param_at(size_t i)
{
    return i < ARRAY_LEN(prep_params) ? &prep_params[i] : NULL;
}

/* The index of params[name]'s text among def's choices; 0 when absent; -1 when not one. */
static int choice_of(const json_t *params, const struct param_def *def)
{
    const json_t *v = json_object_get(params, def->name);
    if (v == NULL)
        return 0;
    for (int i = 0; json_is_string(v) && def->choices[i] != NULL; i++)
        if (strcmp(def->choices[i], json_string_value(v)) == 0)
            return i;
    return -1;
}

int prep_config_from_json(const json_t *params, struct prep_config *out)
{
    int e = choice_of(params, &prep_params[0]), s = choice_of(params, &prep_params[1]),
        sel = choice_of(params, &prep_params[2]);
    const json_t *keep = json_object_get(params, "select_keep");
    double k = keep ? json_number_value(keep) : 1.0;
    if (e < 0 || s < 0 || sel < 0 || (keep && !json_is_number(keep)) || !(k > 0) || k > 1)
        return AIOPS_EINVAL;
    *out = (struct prep_config){(enum prep_encoding)e, (enum prep_scaling)s,
                                (enum prep_select)sel, k};
    return AIOPS_OK;
}

int prep_config_identity(const struct prep_config *c)
{
    return c->encoding == PREP_ONEHOT && c->scaling == PREP_STANDARD &&
           c->select == PREP_SELECT_NONE;
}

json_t *prep_config_json(const struct prep_config *c)
{
    return json_pack("{s:s, s:s, s:s, s:o}", "encoding", prep_params[0].choices[c->encoding],
                     "scaling", prep_params[1].choices[c->scaling], "select",
                     prep_params[2].choices[c->select], "select_keep", jsonx_num(c->keep, 0));
}

void feature_prep_free(struct feature_prep *p)
{
    if (p == NULL)
        return;
    for (size_t j = 0; j < p->nout; j++)
        free(p->col[j].enc);
    free(p->col);
    free(p);
}

/* --- selection ------------------------------------------------------------------------------ */

struct ranked {
    double p, strength; /* p-value (smaller first), statistic per degree of freedom */
    size_t col;
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    if (x->strength != y->strength)
        return x->strength > y->strength ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* One-way ANOVA F of v by group g (groups 0 .. ngroups-1; NaN values skipped): p-value
 * and F into r. */
static void anova_f(const double *v, const uint32_t *g, size_t n, size_t ngroups, double *sum,
                    double *cnt, struct ranked *r)
{
    memset(sum, 0, ngroups * sizeof *sum);
    memset(cnt, 0, ngroups * sizeof *cnt);
    double total = 0, ss = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]) || g[i] >= ngroups)
            continue;
        sum[g[i]] += v[i];
        cnt[g[i]] += 1;
        total += v[i];
        used += 1;
    }
    double mean = used > 0 ? total / used : 0, between = 0;
    size_t groups = 0;
    for (size_t k = 0; k < ngroups; k++)
        if (cnt[k] > 0) {
            double d = sum[k] / cnt[k] - mean;
            between += cnt[k] * d * d;
            groups++;
        }
    for (size_t i = 0; i < n; i++) {
        if (isnan(v[i]) || g[i] >= ngroups)
            continue;
        double d = v[i] - sum[g[i]] / cnt[g[i]];
        ss += d * d;
    }
    double d1 = (double)groups - 1, d2 = used - (double)groups;
    r->p = 1;
    r->strength = 0;
    if (d1 < 1 || d2 < 1)
        return;
    double f = ss > 0 ? (between / d1) / (ss / d2) : (between > 0 ? INFINITY : 0);
    r->strength = f;
    r->p = isinf(f) ? 0 : signif_betainc(d2 / 2, d1 / 2, d2 / (d2 + d1 * f));
    if (isnan(r->p))
        r->p = 1;
}

/* Chi-square of column c's categories (missing as one more) against the classes. */
static int chi2_column(const double *c, uint32_t ncat, const double *y, size_t n, size_t K,
                       struct ranked *r)
{
    size_t rows = (size_t)ncat + 1;
    uint64_t *table = calloc(rows * K, sizeof *table);
    if (table == NULL)
        return AIOPS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t k = isnan(c[i]) || c[i] >= ncat ? ncat : (size_t)c[i];
        table[k * K + (size_t)y[i]]++;
    }
    struct signif_result s;
    signif_chi2(table, rows, K, &s);
    free(table);
    r->p = isnan(s.p) ? 1 : s.p;
    r->strength = isnan(s.statistic) || !(s.df > 0) ? 0 : s.statistic / s.df;
    return AIOPS_OK;
}

/* The F test of a correlation (scikit-learn's f_regression). */
static void corr_f(const double *v, const double *y, size_t n, struct ranked *r)
{
    size_t used = 0;
    double rho = stats_pearson(v, y, n, &used);
    r->p = 1;
    r->strength = 0;
    if (isnan(rho) || used < 3)
        return;
    double d2 = (double)used - 2, r2 = rho * rho;
    double f = r2 < 1 ? r2 / (1 - r2) * d2 : INFINITY;
    r->strength = f;
    r->p = isinf(f) ? 0 : signif_betainc(d2 / 2, 0.5, d2 / (d2 + f));
    if (isnan(r->p))
        r->p = 1;
}

/* Univariate scores of every column of x into r[ncols]. */
static int rank_univariate(const struct fmatrix *x, const double *y, enum table_task task,
                           size_t nclasses, struct ranked *r)
{
    size_t n = x->nrows, maxg = task == TASK_REGRESSION ? 1 : nclasses;
    for (size_t j = 0; j < x->ncols; j++)
        if (x->is_cat[j] && x->ncat[j] + 1 > maxg)
            maxg = x->ncat[j] + 1;
    uint32_t *g = malloc((n ? n : 1) * sizeof *g);
    double *sum = malloc(maxg * sizeof *sum), *cnt = malloc(maxg * sizeof *cnt);
    int rv = g && sum && cnt ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0 && task != TASK_REGRESSION)
        for (size_t i = 0; i < n; i++)
            g[i] = (uint32_t)y[i];
    for (size_t j = 0; rv == 0 && j < x->ncols; j++) {
        const double *c = x->x + j * n;
        r[j].col = j;
        if (task != TASK_REGRESSION && x->is_cat[j]) {
            rv = chi2_column(c, x->ncat[j], y, n, nclasses, &r[j]);
        } else if (task != TASK_REGRESSION) {
            anova_f(c, g, n, nclasses, sum, cnt, &r[j]);
        } else if (x->is_cat[j]) {
            for (size_t i = 0; i < n; i++)
                g[i] = isnan(c[i]) || c[i] >= x->ncat[j] ? x->ncat[j] : (uint32_t)c[i];
            anova_f(y, g, n, (size_t)x->ncat[j] + 1, sum, cnt, &r[j]);
        } else {
            corr_f(c, y, n, &r[j]);
        }
    }
    free(g);
    free(sum);
    free(cnt);
    return rv;
}

/* Gain importances of a small gbdt on x into r[ncols] (more gain ranks first). */
static int rank_importance(const struct fmatrix *x, const double *y, enum table_task task,
                           size_t nclasses, uint64_t seed, struct ranked *r)
{
    size_t per_round = task == TASK_MULTICLASS ? nclasses : 1;
    int rounds = IMPORTANCE_TREES / (int)per_round < 3 ? 3 : IMPORTANCE_TREES / (int)per_round;
    json_t *norm = json_pack("{s:i, s:i, s:I}", "rounds", rounds, "threads", 1,
                             "seed", (json_int_t)(seed & 0xffffffffu));
    json_t *full = NULL;
    int rv = norm ? learner_params_full(&learner_gbdt, norm, &full) : AIOPS_ENOMEM;
    json_decref(norm);
    if (rv != 0)
        return rv;
    struct learner_input in = {
        .x = x, .y = y, .task = task, .nclasses = nclasses, .params = full};
    struct aiops_error err = AIOPS_ERROR_INIT;
    void *algo = NULL;
    int iterations = 0;
    double *gain = malloc((x->ncols ? x->ncols : 1) * sizeof *gain);
    rv = gain ? learner_gbdt.train(&in, &algo, &iterations, &err) : AIOPS_ENOMEM;
    if (rv == 0)
        rv = learner_gbdt.importance(algo, gain);
    for (size_t j = 0; rv == 0 && j < x->ncols; j++)
        r[j] = (struct ranked){.p = 0, .strength = gain[j], .col = j};
    learner_gbdt.free(algo);
    json_decref(full);
    free(gain);
    return rv;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The input columns kept, ascending, into keep[*nkeep]. */
static int select_columns(const struct prep_config *c, const struct fmatrix *x, const double *y,
                          enum table_task task, size_t nclasses, uint64_t seed, size_t *keep,
                          size_t *nkeep)
{
    size_t n = x->ncols;
    *nkeep = n;
    for (size_t j = 0; j < n; j++)
        keep[j] = j;
    if (c->select == PREP_SELECT_NONE)
        return AIOPS_OK;
    struct ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (r == NULL)
        return AIOPS_ENOMEM;
    int rv = c->select == PREP_SELECT_IMPORTANCE
                 ? rank_importance(x, y, task, nclasses, seed, r)
                 : rank_univariate(x, y, task, nclasses, r);
    if (rv == 0) {
        qsort(r, n, sizeof *r, cmp_ranked);
        size_t k = (size_t)lround(c->keep * (double)n);
        *nkeep = k < 1 ? 1 : k > n ? n : k;
        for (size_t i = 0; i < *nkeep; i++)
            keep[i] = r[i].col;
        qsort(keep, *nkeep, sizeof *keep, cmp_size);
    }
    free(r);
    return rv;
}

/* --- fitting the columns ------------------------------------------------------------------- */

/* Median and scale of the present values of v for robust scaling. */
static int robust_fit(const double *v, size_t n, struct prep_column *pc)
{
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (s == NULL)
        return AIOPS_ENOMEM;
    size_t m = 0;
    int rv = sort_f64_present(v, n, s, &m);
    pc->a = 0;
    pc->b = 1;
    if (rv == 0 && m > 0) {
        pc->a = stats_quantile_sorted(s, m, 0.5);
        double iqr = stats_quantile_sorted(s, m, 0.75) - stats_quantile_sorted(s, m, 0.25);
        double sd = sqrt(stats_variance(s, m, 0));
        pc->b = iqr > 0 ? iqr : sd > 0 && isfinite(sd) ? sd : 1;
    }
    free(s);
    return rv;
}

static double robust_value(const struct prep_column *pc, double v)
{
    if (isnan(v))
        return v;
    double z = (v - pc->a) / pc->b;
    return z > PREP_ROBUST_CLIP ? PREP_ROBUST_CLIP : z < -PREP_ROBUST_CLIP ? -PREP_ROBUST_CLIP : z;
}

/* The smoothed encoding of categories from rows whose inner fold is not `skip` (skip
 * PREP_TARGET_INNER_FOLDS: every row) into enc[ncat]; *prior their mean target. */
static void target_table(const double *c, const double *y, const uint8_t *fold, size_t n,
                         uint8_t skip, uint32_t ncat, double *sum, double *cnt, double *enc,
                         double *prior)
{
    memset(sum, 0, ncat * sizeof *sum);
    memset(cnt, 0, ncat * sizeof *cnt);
    double total = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        if (fold[i] == skip)
            continue;
        total += y[i];
        used += 1;
        if (!isnan(c[i]) && c[i] < ncat) {
            sum[(size_t)c[i]] += y[i];
            cnt[(size_t)c[i]] += 1;
        }
    }
    *prior = used > 0 ? total / used : 0;
    for (uint32_t k = 0; k < ncat; k++)
        enc[k] = (sum[k] + PREP_TARGET_SMOOTHING * *prior) / (cnt[k] + PREP_TARGET_SMOOTHING);
}

static double target_value(const struct prep_column *pc, double v)
{
    return isnan(v) || v < 0 || v >= pc->nenc ? pc->a : pc->enc[(size_t)v];
}

/* Fits target encoding of column c (ncat categories) into pc and writes the training rows'
 * cross-fitted values to out. */
static int target_encode_fit(const double *c, uint32_t ncat, const double *y, size_t n, uint64_t seed,
                             struct prep_column *pc, double *out)
{
    uint8_t *fold = malloc(n ? n : 1);
    double *sum = malloc(ncat * sizeof *sum), *cnt = malloc(ncat * sizeof *cnt),
           *inner = malloc(ncat * sizeof *inner);
    pc->enc = malloc(ncat * sizeof *pc->enc);
    int rv = fold && sum && cnt && inner && pc->enc ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0) {
        pc->nenc = ncat;
        uint64_t st = seed ^ 0x7a29e7c0debull;
        for (size_t i = 0; i < n; i++)
            fold[i] = (uint8_t)(rand_splitmix64(&st) % PREP_TARGET_INNER_FOLDS);
        target_table(c, y, fold, n, PREP_TARGET_INNER_FOLDS, ncat, sum, cnt, pc->enc, &pc->a);
        for (uint8_t f = 0; f < PREP_TARGET_INNER_FOLDS; f++) {
            struct prep_column in = {.a = 0, .nenc = ncat, .enc = inner};
            target_table(c, y, fold, n, f, ncat, sum, cnt, inner, &in.a);
            for (size_t i = 0; i < n; i++)
                if (fold[i] == f)
                    out[i] = target_value(&in, c[i]);
        }
    }
    free(fold);
    free(sum);
    free(cnt);
    free(inner);
    return rv;
}

/* The output matrix's shape for p (values unset); sp borrowed from x. */
static int prep_alloc(const struct feature_prep *p, const struct fmatrix *x, struct fmatrix *out)
{
    int rv = fmatrix_alloc(x->nrows, p->nout, out);
    if (rv != 0)
        return rv;
    for (size_t j = 0; j < p->nout; j++) {
        uint32_t s = p->col[j].src;
        out->is_cat[j] = p->col[j].op == PREP_COPY ? x->is_cat[s] : 0;
        out->ncat[j] = out->is_cat[j] ? x->ncat[s] : 0;
    }
    out->sp = x->sp;
    return AIOPS_OK;
}

/* Output column j of x's rows into dst. */
static void prep_column_apply(const struct prep_column *pc, const struct fmatrix *x, double *dst)
{
    const double *src = x->x + (size_t)pc->src * x->nrows;
    for (size_t i = 0; i < x->nrows; i++)
        dst[i] = pc->op == PREP_TARGET_ENCODE  ? target_value(pc, src[i])
                 : pc->op == PREP_ROBUST_SCALE ? robust_value(pc, src[i])
                                               : src[i];
}

int feature_prep_fit(const struct prep_config *c, const struct fmatrix *x, const double *y,
                     enum table_task task, size_t nclasses, uint64_t seed,
                     struct feature_prep **out, struct fmatrix *xout)
{
    *out = NULL;
    memset(xout, 0, sizeof *xout);
    if (c->encoding == PREP_TARGET && task == TASK_MULTICLASS)
        return AIOPS_EINVAL;
    struct feature_prep *p = calloc(1, sizeof *p);
    size_t *keep = malloc((x->ncols ? x->ncols : 1) * sizeof *keep);
    int rv = p && keep ? AIOPS_OK : AIOPS_ENOMEM;
    if (rv == 0) {
        p->cfg = *c;
        p->nin = x->ncols;
        rv = select_columns(c, x, y, task, nclasses, seed, keep, &p->nout);
    }
    if (rv == 0 && (p->col = calloc(p->nout ? p->nout : 1, sizeof *p->col)) == NULL)
        rv = AIOPS_ENOMEM;
    for (size_t j = 0; rv == 0 && j < p->nout; j++) {
        struct prep_column *pc = &p->col[j];
        size_t s = keep[j];
        pc->src = (uint32_t)s;
        if (c->encoding == PREP_TARGET && x->is_cat[s] && x->ncat[s] > PREP_TARGET_MIN_CATS)
            pc->op = PREP_TARGET_ENCODE;
        else if (c->scaling == PREP_ROBUST && !x->is_cat[s])
            pc->op = PREP_ROBUST_SCALE;
        else
            pc->op = PREP_COPY;
    }
    if (rv == 0)
        rv = prep_alloc(p, x, xout);
    for (size_t j = 0; rv == 0 && j < p->nout; j++) {
        struct prep_column *pc = &p->col[j];
        const double *src = x->x + (size_t)pc->src * x->nrows;
        double *dst = xout->x + j * x->nrows;
        if (pc->op == PREP_TARGET_ENCODE) {
            rv = target_encode_fit(src, x->ncat[pc->src], y, x->nrows, seed + j, pc, dst);
            continue;
        }
        if (pc->op == PREP_ROBUST_SCALE)
            rv = robust_fit(src, x->nrows, pc);
        prep_column_apply(pc, x, dst);
    }
    free(keep);
    if (rv != 0) {
        xout->sp = NULL;
        fmatrix_free(xout);
        feature_prep_free(p);
        return rv;
    }
    *out = p;
    return AIOPS_OK;
}

int feature_prep_apply(const struct feature_prep *p, const struct fmatrix *x, struct fmatrix *out)
{
    memset(out, 0, sizeof *out);
    if (x->ncols != p->nin)
        return AIOPS_EINVAL;
    int rv = prep_alloc(p, x, out);
    for (size_t j = 0; rv == 0 && j < p->nout; j++)
        prep_column_apply(&p->col[j], x, out->x + j * x->nrows);
    return rv;
}

/* --- persistence ---------------------------------------------------------------------------- */

int feature_prep_save(const struct feature_prep *p, struct buf *out)
{
    int rc = buf_append(out, "PRE1", 4);
    rc |= bytes_put_u32(out, (uint32_t)p->cfg.encoding);
    rc |= bytes_put_u32(out, (uint32_t)p->cfg.scaling);
    rc |= bytes_put_u32(out, (uint32_t)p->cfg.select);
    rc |= bytes_put_f64(out, p->cfg.keep);
    rc |= bytes_put_u64(out, p->nin);
    rc |= bytes_put_u64(out, p->nout);
    for (size_t j = 0; j < p->nout; j++) {
        const struct prep_column *pc = &p->col[j];
        rc |= bytes_put_u32(out, pc->src);
        rc |= bytes_put_u32(out, (uint32_t)pc->op);
        rc |= bytes_put_f64(out, pc->a);
        rc |= bytes_put_f64(out, pc->b);
        rc |= bytes_put_u32(out, pc->nenc);
        for (uint32_t k = 0; k < pc->nenc; k++)
            rc |= bytes_put_f64(out, pc->enc[k]);
    }
    return rc ? AIOPS_ENOMEM : AIOPS_OK;
}

/* One column from r; r->bad for anything inconsistent. */
static void load_column(struct bytes_reader *r, size_t nin, struct prep_column *pc)
{
    pc->src = bytes_get_u32(r);
    uint32_t op = bytes_get_u32(r);
    pc->a = bytes_get_f64(r);
    pc->b = bytes_get_f64(r);
    uint32_t nenc = bytes_get_u32(r);
    if (r->bad || pc->src >= nin || op > PREP_ROBUST_SCALE || !isfinite(pc->a) ||
        !isfinite(pc->b) || (op == PREP_ROBUST_SCALE && !(pc->b > 0)) ||
        (op == PREP_TARGET_ENCODE) != (nenc > 0) || nenc > (r->n - r->off) / 8) {
        r->bad = 1;
        return;
    }
    pc->op = (enum prep_op)op;
    if (nenc == 0)
        return;
    if ((pc->enc = malloc(nenc * sizeof *pc->enc)) == NULL) {
        r->bad = 1;
        return;
    }
    pc->nenc = nenc;
    for (uint32_t k = 0; k < nenc && !r->bad; k++)
        if (!isfinite(pc->enc[k] = bytes_get_f64(r)))
            r->bad = 1;
}

int feature_prep_load(const uint8_t *bytes, size_t n, struct feature_prep **out)
{
    struct bytes_reader r = {.p = bytes, .n = n};
    *out = NULL;
    const uint8_t *magic = bytes_get_raw(&r, 4);
    uint32_t e = bytes_get_u32(&r), s = bytes_get_u32(&r), sel = bytes_get_u32(&r);
    double keep = bytes_get_f64(&r);
    uint64_t nin = bytes_get_u64(&r), nout = bytes_get_u64(&r);
    /* every column takes at least 28 bytes: bound the allocation by the input */
    if (r.bad || memcmp(magic, "PRE1", 4) != 0 || e > PREP_TARGET || s > PREP_ROBUST ||
        sel > PREP_SELECT_UNIVARIATE || !(keep > 0) || keep > 1 || nin == 0 ||
        nin > PREP_MAX_COLUMNS || nout == 0 || nout > nin || nout > (r.n - r.off) / 28)
        return AIOPS_ECORRUPT;
    struct feature_prep *p = calloc(1, sizeof *p);
    if (p == NULL || (p->col = calloc((size_t)nout, sizeof *p->col)) == NULL) {
        free(p);
        return AIOPS_ENOMEM;
    }
    p->cfg = (struct prep_config){(enum prep_encoding)e, (enum prep_scaling)s,
                                  (enum prep_select)sel, keep};
    p->nin = (size_t)nin;
    p->nout = (size_t)nout;
    for (size_t j = 0; j < p->nout && !r.bad; j++)
        load_column(&r, p->nin, &p->col[j]);
    if (r.bad || r.off != r.n) {
        feature_prep_free(p);
        return AIOPS_ECORRUPT;
    }
    *out = p;
    return AIOPS_OK;
}
