#include "data/profile.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/numparse.h"
#include "core/pool.h"
#include "math/sort.h"
#include "math/stats.h"

#define CLS_NONE UINT32_MAX /* a row without a target */
#define MAX_NUMERIC_CLASSES TABLE_MAX_NUMERIC_CLASSES
#define LEAK_AUC 0.98
#define LEAK_PURITY 0.99
#define LEAK_PEARSON 0.98
#define ONLY_SHARE 0.99     /* present_only_for_one_class: share of one class */
#define ONLY_MISSING 0.05   /* ... and the column missing for at least this share */
#define ONLY_MIN_PRESENT 10 /* ... and present for at least this many rows */
#define QBINS 32            /* quantile bins for the multiclass purity of numbers */
#define QBIN_MIN_ROWS 20    /* ... each of at least this many rows (else fewer bins) */
#define QBIN_MAX_SPLIT_K 64 /* the extra cut per bin is searched up to this many classes */
#define MAX_CONTINGENCY ((size_t)1 << 22) /* category x class cells (16 MiB) for a purity check */
#define MAX_CLASS_BALANCE 1000
#define DETAIL_LEN 240
#define MAX_THREADS 8

/* --- small helpers ------------------------------------------------------------------- */

/* A percentage of part in whole, rounded to 2 decimals (0 for an empty whole). */
static double pct(size_t part, size_t whole)
{
    return whole ? round(10000.0 * (double)part / (double)whole) / 100.0 : 0.0;
}

static json_t *jint(size_t v)
{
    return json_integer((json_int_t)v);
}

/* (named for what it returns: a number, null when not finite) */
static json_t *json_num_real(double v)
{
    return jsonx_num(v, 0);
}

static json_t *jstr(const char *s)
{
    return jsonx_string_lossy(s, strlen(s));
}

/* Orders strings bytewise (shorter first on a common prefix). */
static int cmp_bytes(const char *a, size_t la, const char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

static int cmp_code_str(const void *pa, const void *pb, void *arg)
{
    const struct strdict *d = arg;
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return cmp_bytes(strdict_str(d, a), strdict_len(d, a), strdict_str(d, b), strdict_len(d, b));
}

/* Merges two ascending runs into dst (which overlaps neither). */
static void merge_sorted(const double *x, size_t nx, const double *y, size_t ny, double *dst)
{
    size_t i = 0, j = 0, k = 0;
    while (i < nx && j < ny)
        dst[k++] = y[j] < x[i] ? y[j++] : x[i++];
    while (i < nx)
        dst[k++] = x[i++];
    while (j < ny)
        dst[k++] = y[j++];
}

/* --- the target ---------------------------------------------------------------------- */

struct target_info {
    enum table_task task;
    size_t nclass;
    uint32_t *cls;         /* classification: class of each row, CLS_NONE without target */
    uint64_t *class_count; /* nclass */
    const char **label;    /* nclass labels (into the dictionary or numlab) */
    size_t *label_len;
    char (*numlab)[32]; /* labels of numeric classes */
    size_t present;     /* rows with a target */
    const double *yreg; /* regression: the target values */
};

static void target_free(struct target_info *ti)
{
    free(ti->cls);
    free(ti->class_count);
    free(ti->label);
    free(ti->label_len);
    free(ti->numlab);
}

static int target_alloc(struct target_info *ti, size_t n, size_t k)
{
    ti->nclass = k;
    ti->cls = malloc((n ? n : 1) * sizeof *ti->cls);
    ti->class_count = calloc(k, sizeof *ti->class_count);
    ti->label = calloc(k, sizeof *ti->label);
    ti->label_len = calloc(k, sizeof *ti->label_len);
    if (!ti->cls || !ti->class_count || !ti->label || !ti->label_len)
        return AIOPS_ENOMEM;
    return AIOPS_OK;
}

static int target_dict(const struct table *t, const struct column *c, struct target_info *ti,
                       char *note, size_t notesz)
{
    size_t n = t->nrows, nd = c->dict.count;
    int rv = AIOPS_ENOMEM;
    uint64_t *cnt = calloc(nd ? nd : 1, sizeof *cnt);
    uint32_t *order = malloc((nd ? nd : 1) * sizeof *order);
    uint32_t *map = malloc((nd ? nd : 1) * sizeof *map);
    if (!cnt || !order || !map)
        goto out;
    for (size_t r = 0; r < n; r++) {
        uint32_t k = c->codes[r];
        if (k == TABLE_MISSING)
            continue;
        if (k >= nd) {
            rv = AIOPS_EINVAL;
            goto out;
        }
        cnt[k]++;
        ti->present++;
    }
    size_t K = 0;
    for (uint32_t k = 0; k < nd; k++)
        if (cnt[k])
            order[K++] = k;
    rv = AIOPS_OK;
    enum table_task task = table_task(c, K, 0);
    if (task == TASK_NONE) {
        snprintf(note, notesz, "target \"%s\" has fewer than two classes: no task inferred",
                 c->name);
        goto out;
    }
    /* booleans are coded false = 0, true = 1 already; other labels sort bytewise */
    if (c->type != COL_BOOLEAN)
        qsort_r(order, K, sizeof *order, cmp_code_str, (void *)&c->dict);
    if ((rv = target_alloc(ti, n, K)) != 0)
        goto out;
    for (size_t i = 0; i < K; i++) {
        map[order[i]] = (uint32_t)i;
        ti->class_count[i] = cnt[order[i]];
        ti->label[i] = strdict_str(&c->dict, order[i]);
        ti->label_len[i] = strdict_len(&c->dict, order[i]);
    }
    for (size_t r = 0; r < n; r++)
        ti->cls[r] = c->codes[r] == TABLE_MISSING ? CLS_NONE : map[c->codes[r]];
    ti->task = task;
out:
    free(cnt);
    free(order);
    free(map);
    return rv;
}

static int target_f64(const struct table *t, const struct column *c, struct target_info *ti,
                      char *note, size_t notesz)
{
    size_t n = t->nrows, nv = 0;
    double vals[MAX_NUMERIC_CLASSES + 1];
    int integral = 1, many = 0;
    for (size_t r = 0; r < n; r++) {
        double v = c->f64[r];
        if (isnan(v))
            continue;
        ti->present++;
        if (many)
            continue;
        size_t i = 0;
        while (i < nv && vals[i] != v)
            i++;
        if (i == nv) {
            if (nv == MAX_NUMERIC_CLASSES) {
                many = 1;
                continue;
            }
            vals[nv++] = v;
            integral &= v == floor(v);
        }
    }
    enum table_task task = table_task(c, many ? (size_t)MAX_NUMERIC_CLASSES + 1 : nv, integral);
    if (c->type == COL_DATETIME) {
        snprintf(note, notesz, "target \"%s\" is a datetime column: no task inferred", c->name);
        return AIOPS_OK;
    }
    if (task == TASK_NONE) {
        snprintf(note, notesz,
                 "target \"%s\" has fewer than two distinct values: no task "
                 "inferred",
                 c->name);
        return AIOPS_OK;
    }
    if (task == TASK_REGRESSION) {
        ti->task = TASK_REGRESSION;
        ti->yreg = c->f64;
        return AIOPS_OK;
    }
    for (size_t i = 1; i < nv; i++) /* at most 20 values */
        for (size_t j = i; j > 0 && vals[j - 1] > vals[j]; j--) {
            double x = vals[j];
            vals[j] = vals[j - 1];
            vals[j - 1] = x;
        }
    int rv = target_alloc(ti, n, nv);
    if (rv == 0 && (ti->numlab = calloc(nv, sizeof *ti->numlab)) == NULL)
        rv = AIOPS_ENOMEM;
    if (rv != 0)
        return rv;
    for (size_t i = 0; i < nv; i++) {
        fmt_double_shortest(ti->numlab[i], sizeof ti->numlab[i], vals[i]);
        ti->label[i] = ti->numlab[i];
        ti->label_len[i] = strlen(ti->numlab[i]);
    }
    for (size_t r = 0; r < n; r++) {
        double v = c->f64[r];
        uint32_t k = CLS_NONE;
        if (!isnan(v)) {
            k = 0;
            while (vals[k] != v)
                k++;
            ti->class_count[k]++;
        }
        ti->cls[r] = k;
    }
    ti->task = task;
    return AIOPS_OK;
}

/* --- per-column work ----------------------------------------------------------------- */

struct leak {
    const char *reason;
    double score;
    char detail[DETAIL_LEN];
};

struct colres {
    json_t *j;
    struct leak leak[2];
    int nleak;
    size_t missing;
    char note[DETAIL_LEN];
    int rv;
};

/* The correlation matrix over the first numeric columns (chosen before the workers start,
 * computed by one of them). */
struct corr {
    size_t k, total; /* columns in the matrix, numeric columns in the table */
    size_t *idx;     /* k table columns */
    const double **cols;
    double *r; /* k * k */
    int rv;
};

struct shared {
    const struct table *t;
    long target;
    const struct target_info *ti;
    size_t bins, topk;
    size_t njobs; /* job 0: correlations, 1: duplicates, 2 + j: column j */
    double **scratch; /* per thread: two arrays of nrows doubles, made on first use */
    struct colres *res;
    struct corr *corr;
    size_t dup_rows, rows_missing;
    int dup_rv;
};

static void add_leak(struct colres *res, const char *reason, double score, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_leak(struct colres *res, const char *reason, double score, const char *fmt, ...)
{
    if (res->nleak >= 2)
        return;
    struct leak *l = &res->leak[res->nleak++];
    l->reason = reason;
    l->score = score;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->detail, sizeof l->detail, fmt, ap);
    va_end(ap);
}

/* Purity: the share of rows with a target whose class is the majority class of their cell
 * (cells x K counts). */
static double purity(const uint32_t *ct, size_t cells, size_t K, size_t present)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < cells; i++) {
        uint32_t best = 0;
        for (size_t k = 0; k < K; k++)
            if (ct[i * K + k] > best)
                best = ct[i * K + k];
        sum += best;
    }
    return present ? (double)sum / (double)present : NAN;
}

/* Multiclass purity of a number: the rows with a target in value order, cut into up to
 * QBINS equal-frequency bins of at least QBIN_MIN_ROWS rows (a run of equal values is never
 * split), each bin allowed one more cut where it helps most -- without it a class boundary
 * falling inside a bin costs up to half a bin, so that even a perfect separator of k
 * classes could score ~1 - (k-1)/64 -- and the missing values as one more bin. *p is NaN
 * when there are too few rows for two bins. v is scratch of n doubles. */
static int numeric_purity(const double *x, const uint32_t *cls, size_t n, size_t K, size_t present,
                          double *v, double *p, size_t *bins_used)
{
    *p = NAN;
    *bins_used = 0;
    uint32_t *c = malloc((n ? n : 1) * sizeof *c);
    uint64_t *tot = calloc(K, sizeof *tot), *left = calloc(K, sizeof *left);
    uint64_t *miss = calloc(K, sizeof *miss);
    int rv = AIOPS_ENOMEM;
    if (!c || !tot || !left || !miss)
        goto out;
    if ((rv = sort_f64_argsort(x, n, c)) != 0)
        goto out;
    /* compact in place: row numbers become classes, rank j <= i */
    size_t M = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t r = c[i];
        if (isnan(x[r])) {
            if (cls[r] != CLS_NONE)
                miss[cls[r]]++;
            continue;
        }
        if (cls[r] == CLS_NONE)
            continue;
        v[M] = x[r];
        c[M++] = cls[r];
    }
    size_t B = M / QBIN_MIN_ROWS < QBINS ? M / QBIN_MIN_ROWS : QBINS;
    if (B < 2 || present == 0)
        goto out;
    uint64_t sum = 0, best = 0;
    for (size_t k = 0; k < K; k++)
        if (miss[k] > best)
            best = miss[k];
    sum += best;
    size_t s = 0;
    for (size_t bi = 0; bi < B && s < M; bi++) {
        size_t e = bi + 1 == B ? M : (bi + 1) * M / B;
        if (e <= s)
            continue;
        while (e < M && v[e] == v[e - 1])
            e++;
        memset(tot, 0, K * sizeof *tot);
        memset(left, 0, K * sizeof *left);
        for (size_t i = s; i < e; i++)
            tot[c[i]]++;
        best = 0;
        for (size_t k = 0; k < K; k++)
            if (tot[k] > best)
                best = tot[k];
        for (size_t i = s; K <= QBIN_MAX_SPLIT_K && i + 1 < e; i++) {
            left[c[i]]++;
            if (v[i + 1] == v[i])
                continue;
            uint64_t bl = 0, br = 0;
            for (size_t k = 0; k < K; k++) {
                if (left[k] > bl)
                    bl = left[k];
                if (tot[k] - left[k] > br)
                    br = tot[k] - left[k];
            }
            if (bl + br > best)
                best = bl + br;
        }
        sum += best;
        (*bins_used)++;
        s = e;
    }
    *p = (double)sum / (double)present;
    rv = AIOPS_OK;
out:
    free(c);
    free(tot);
    free(left);
    free(miss);
    return rv;
}

/* present_only_for_one_class from the class counts of the rows where the column is present
 * (pc) and missing (mc), both over rows with a target. */
static void check_present_only(const struct target_info *ti, const uint64_t *pc, const uint64_t *mc,
                               struct colres *res)
{
    uint64_t P = 0, M = 0;
    size_t best = 0;
    for (size_t k = 0; k < ti->nclass; k++) {
        P += pc[k];
        M += mc[k];
        if (pc[k] > pc[best])
            best = k;
    }
    if (P < ONLY_MIN_PRESENT || (double)M < ONLY_MISSING * (double)(P + M))
        return;
    double share = (double)pc[best] / (double)P, mshare = M ? (double)mc[best] / (double)M : 0;
    if (share < ONLY_SHARE || mshare > 0.5 * share)
        return;
    add_leak(res, "present_only_for_one_class", share,
             "present in %llu rows, %.2f%% of them class \"%.*s\" (%.2f%% where missing); "
             "missing in %.2f%% of rows with a target",
             (unsigned long long)P, 100 * share,
             (int)(ti->label_len[best] > 40 ? 40 : ti->label_len[best]), ti->label[best],
             100 * mshare, 100.0 * (double)M / (double)(P + M));
}

/* Top values of a ranked set: code/position arrays kept best first. better(a, b) says
 * whether a ranks before b. */
struct topk {
    size_t *item;
    size_t n, k;
};

static void topk_offer(struct topk *tk, size_t it, int (*better)(size_t, size_t, const void *),
                       const void *ctx)
{
    if (tk->k == 0)
        return;
    if (tk->n == tk->k && !better(it, tk->item[tk->n - 1], ctx))
        return;
    size_t i = tk->n < tk->k ? tk->n++ : tk->n - 1;
    while (i > 0 && better(it, tk->item[i - 1], ctx)) {
        tk->item[i] = tk->item[i - 1];
        i--;
    }
    tk->item[i] = it;
}

struct dict_rank {
    const struct strdict *d;
    const uint64_t *cnt;
};

static int dict_better(size_t a, size_t b, const void *ctx)
{
    const struct dict_rank *dr = ctx;
    if (dr->cnt[a] != dr->cnt[b])
        return dr->cnt[a] > dr->cnt[b];
    uint32_t ca = (uint32_t)a, cb = (uint32_t)b;
    return cmp_bytes(strdict_str(dr->d, ca), strdict_len(dr->d, ca), strdict_str(dr->d, cb),
                     strdict_len(dr->d, cb)) < 0;
}

/* runs of a sorted array: item = start index, ranked by run length then value */
struct run_rank {
    const double *v;
    const size_t *len; /* indexed by start */
};

static int run_better(size_t a, size_t b, const void *ctx)
{
    const struct run_rank *rr = ctx;
    if (rr->len[a] != rr->len[b])
        return rr->len[a] > rr->len[b];
    return rr->v[a] < rr->v[b];
}

static void put_common(json_t *o, const struct column *c, size_t n, size_t miss, size_t distinct,
                       int *bad)
{
    jsonx_set_or_fail(o, "name", jstr(c->name), bad);
    jsonx_set_or_fail(o, "type", json_string(col_type_name(c->type)), bad);
    jsonx_set_or_fail(o, "missing", jint(miss), bad);
    jsonx_set_or_fail(o, "missing_pct", json_real(pct(miss, n)), bad);
    jsonx_set_or_fail(o, "distinct", jint(distinct), bad);
}

/* The present values of column x sorted into a[0..*m) (a and b hold n doubles each); *miss
 * missing, per-class counts of present (pc) and missing (mc) values when classifying. For a
 * binary target the values are sorted by class first, so that the single-feature AUC comes
 * from a merge (*auc; NaN otherwise). */
static int gather_sorted(const struct shared *sh, const double *x, int classify, int binary,
                         double *a, double *b, uint64_t *pc, uint64_t *mc, size_t *m,
                         size_t *miss, double *auc)
{
    const struct target_info *ti = sh->ti;
    size_t n = sh->t->nrows;
    int rv;
    *m = *miss = 0;
    *auc = NAN;
    if (!binary) {
        for (size_t r = 0; r < n; r++) {
            double v = x[r];
            uint32_t k = classify ? ti->cls[r] : CLS_NONE;
            if (isnan(v)) {
                (*miss)++;
                if (k != CLS_NONE)
                    mc[k]++;
                continue;
            }
            a[(*m)++] = v;
            if (k != CLS_NONE)
                pc[k]++;
        }
        return sort_f64(a, *m);
    }
    size_t np = 0, nn = 0, nr = 0;
    for (size_t r = 0; r < n; r++) {
        double v = x[r];
        uint32_t k = ti->cls[r];
        if (isnan(v)) {
            (*miss)++;
            if (k != CLS_NONE)
                mc[k]++;
        } else if (k == 1) {
            a[np++] = v;
        } else if (k == 0) {
            a[n - 1 - nn++] = v;
        } else {
            b[nr++] = v;
        }
    }
    pc[0] = nn;
    pc[1] = np;
    if ((rv = sort_f64(a, np)) != 0 || (rv = sort_f64(a + n - nn, nn)) != 0 ||
        (rv = sort_f64(b, nr)) != 0)
        return rv;
    *auc = stats_auc_sorted(a, np, a + n - nn, nn);
    merge_sorted(a, np, a + n - nn, nn, b + nr);
    merge_sorted(b, nr, b + nr, np + nn, a);
    *m = np + nn + nr;
    return AIOPS_OK;
}

/* Values of the sorted a[0..m) more than 3 standard deviations from the mean: they hold a
 * prefix and a suffix of the sorted values. */
static size_t zscore_outliers(const double *a, size_t m, double mean, double std)
{
    if (!(std > 0) || !isfinite(std) || !isfinite(mean))
        return 0;
    size_t l = 0, h = m;
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if ((mean - a[mid]) / std > 3)
            l = mid + 1;
        else
            h = mid;
    }
    size_t out = l;
    l = out, h = m;
    while (l < h) {
        size_t mid = l + (h - l) / 2;
        if ((a[mid] - mean) / std > 3)
            h = mid;
        else
            l = mid + 1;
    }
    return out + m - l;
}

/* Moments, datetime bounds, quantiles, IQR and z-score outliers, zeros of sorted a[0..m). */
static void put_distribution(json_t *o, const struct column *c, const double *a, size_t m,
                             int *bad)
{
    struct stats_moments mo;
    stats_moments(a, m, &mo);
    jsonx_set_or_fail(o, "mean", json_num_real(mo.mean), bad);
    jsonx_set_or_fail(o, "std", json_num_real(mo.std), bad);
    jsonx_set_or_fail(o, "min", json_num_real(mo.min), bad);
    jsonx_set_or_fail(o, "max", json_num_real(mo.max), bad);
    if (c->type == COL_DATETIME) {
        char iso[40];
        numparse_format_datetime(iso, sizeof iso, mo.min);
        jsonx_set_or_fail(o, "min_iso", isfinite(mo.min) ? json_string(iso) : json_null(), bad);
        numparse_format_datetime(iso, sizeof iso, mo.max);
        jsonx_set_or_fail(o, "max_iso", isfinite(mo.max) ? json_string(iso) : json_null(), bad);
    }
    static const double qs[] = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};
    static const char *const qn[] = {"p1", "p5", "p25", "p50", "p75", "p95", "p99"};
    json_t *q = json_object();
    for (size_t i = 0; i < 7; i++)
        jsonx_set_or_fail(q, qn[i], json_num_real(stats_quantile_sorted(a, m, qs[i])), bad);
    jsonx_set_or_fail(o, "quantiles", q, bad);
    double q1 = stats_quantile_sorted(a, m, 0.25), q3 = stats_quantile_sorted(a, m, 0.75);
    double iqr = q3 - q1, lo = q1 - 1.5 * iqr, hi = q3 + 1.5 * iqr;
    jsonx_set_or_fail(o, "iqr", json_num_real(iqr), bad);
    if (isfinite(lo) && isfinite(hi))
        jsonx_set_or_fail(
            o, "outliers_iqr",
            jint(stats_count_below(a, m, lo) + (m - stats_count_at_most(a, m, hi))), bad);
    else
        jsonx_set_or_fail(o, "outliers_iqr", m ? json_null() : jint(0), bad);
    jsonx_set_or_fail(o, "outliers_zscore", jint(zscore_outliers(a, m, mo.mean, mo.std)), bad);
    jsonx_set_or_fail(o, "skewness", json_num_real(mo.skewness), bad);
    jsonx_set_or_fail(o, "kurtosis", json_num_real(mo.kurtosis), bad);
    jsonx_set_or_fail(o, "zeros",
                      jint(stats_count_at_most(a, m, 0.0) - stats_count_below(a, m, 0.0)), bad);
}

/* The histogram of sorted a[0..m) in `bins` bins over its finite values (+-inf sit at the
 * ends of the sorted run); null when there are none. AIOPS_ENOMEM. */
static int put_histogram(json_t *o, const double *a, size_t m, size_t bins, int *bad)
{
    size_t f0 = stats_count_at_most(a, m, -INFINITY), f1 = stats_count_below(a, m, INFINITY);
    double *edges = malloc((bins + 1) * sizeof *edges);
    uint64_t *counts = malloc(bins * sizeof *counts);
    if (!edges || !counts) {
        free(edges);
        free(counts);
        return AIOPS_ENOMEM;
    }
    if (f1 > f0 && stats_histogram_edges(a[f0], a[f1 - 1], bins, edges) == 0) {
        stats_histogram_sorted(a + f0, f1 - f0, edges, bins, counts);
        json_t *hj = json_object(), *ej = json_array(), *cj = json_array();
        for (size_t i = 0; i <= bins; i++)
            jsonx_push_or_fail(ej, json_real(edges[i]), bad);
        for (size_t i = 0; i < bins; i++)
            jsonx_push_or_fail(cj, json_integer((json_int_t)counts[i]), bad);
        jsonx_set_or_fail(hj, "edges", ej, bad);
        jsonx_set_or_fail(hj, "counts", cj, bad);
        jsonx_set_or_fail(o, "histogram", hj, bad);
    } else {
        jsonx_set_or_fail(o, "histogram", json_null(), bad);
    }
    free(edges);
    free(counts);
    return AIOPS_OK;
}

/* Whether numeric column j (x, m present values) alone gives the target away: its AUC for
 * a binary target, its purity in equal-frequency bins for a multiclass one (b: n doubles of
 * scratch), its Pearson r for a regression target. */
static int check_numeric_leak(const struct shared *sh, size_t j, const double *x, size_t m,
                              double auc, double *b, struct colres *res, json_t *o, int *bad)
{
    const struct target_info *ti = sh->ti;
    int is_target = (long)j == sh->target;
    int classify = ti->cls != NULL && !is_target;
    if (classify && ti->task == TASK_BINARY && ti->nclass == 2) {
        jsonx_set_or_fail(o, "target_auc", json_num_real(auc), bad);
        double s = auc > 0.5 ? auc : 1 - auc;
        if (s >= LEAK_AUC)
            add_leak(res, "separates_target", s,
                     "single-feature ROC AUC %.4f for class \"%.*s\" (1 or 0 = perfect "
                     "separation)",
                     auc, (int)(ti->label_len[1] > 40 ? 40 : ti->label_len[1]), ti->label[1]);
    } else if (classify && ti->task == TASK_MULTICLASS && m > 0) {
        double p;
        size_t nb;
        int rv = numeric_purity(x, ti->cls, sh->t->nrows, ti->nclass, ti->present, b, &p, &nb);
        if (rv != 0)
            return rv;
        if (p >= LEAK_PURITY)
            add_leak(res, "separates_target", p,
                     "%zu equal-frequency bins of the column (one extra cut each) are "
                     "%.2f%% pure in the target class",
                     nb, 100 * p);
    } else if (ti->task == TASK_REGRESSION && !is_target) {
        double r = stats_pearson(x, ti->yreg, sh->t->nrows, NULL);
        if (fabs(r) >= LEAK_PEARSON)
            add_leak(res, "separates_target", fabs(r), "Pearson correlation with the target %.4f",
                     r);
    }
    return AIOPS_OK;
}

/* Numbers that are not measurements (an id): the most frequent values of sorted a[0..m). */
static int put_top_values(json_t *o, const double *a, size_t m, size_t topk, int *bad)
{
    size_t *runlen = malloc((m ? m : 1) * sizeof *runlen);
    size_t *items = malloc((topk ? topk : 1) * sizeof *items);
    if (!runlen || !items) {
        free(runlen);
        free(items);
        return AIOPS_ENOMEM;
    }
    struct run_rank rr = {a, runlen};
    struct topk tk = {items, 0, topk};
    for (size_t i = 0; i < m;) {
        size_t e = i + 1;
        while (e < m && a[e] == a[i])
            e++;
        runlen[i] = e - i;
        topk_offer(&tk, i, run_better, &rr);
        i = e;
    }
    json_t *top = json_array();
    for (size_t i = 0; i < tk.n; i++) {
        char s[32];
        fmt_double_shortest(s, sizeof s, a[items[i]]);
        json_t *e = json_object();
        jsonx_set_or_fail(e, "value", json_string(s), bad);
        jsonx_set_or_fail(e, "count", jint(runlen[items[i]]), bad);
        jsonx_set_or_fail(e, "pct", json_real(pct(runlen[items[i]], m)), bad);
        jsonx_push_or_fail(top, e, bad);
    }
    jsonx_set_or_fail(o, "top_values", top, bad);
    free(runlen);
    free(items);
    return AIOPS_OK;
}

/* Numbers: one sort of the present values and everything else from the sorted array. a and
 * b hold n doubles each. */
static int profile_f64(const struct shared *sh, size_t j, double *a, double *b, struct colres *res)
{
    const struct column *c = &sh->t->cols[j];
    const struct target_info *ti = sh->ti;
    size_t n = sh->t->nrows, K = ti->nclass;
    int classify = ti->cls != NULL && (long)j != sh->target;
    int binary = classify && ti->task == TASK_BINARY && K == 2; /* a boolean may have one */
    int bad = 0;
    uint64_t *pc = NULL, *mc = NULL;
    size_t m, miss;
    double auc;
    int rv = AIOPS_ENOMEM;
    if (classify && ((pc = calloc(K, sizeof *pc)) == NULL || (mc = calloc(K, sizeof *mc)) == NULL))
        goto out;
    if ((rv = gather_sorted(sh, c->f64, classify, binary, a, b, pc, mc, &m, &miss, &auc)) != 0)
        goto out;
    res->missing = miss;
    json_t *o = res->j = json_object();
    put_common(o, c, n, miss, stats_distinct_sorted(a, m), &bad);
    if (c->type == COL_NUMERIC || c->type == COL_DATETIME) {
        put_distribution(o, c, a, m, &bad);
        if ((rv = put_histogram(o, a, m, sh->bins, &bad)) == 0)
            rv = check_numeric_leak(sh, j, c->f64, m, auc, b, res, o, &bad);
    } else {
        rv = put_top_values(o, a, m, sh->topk, &bad);
    }
    if (rv == 0 && classify)
        check_present_only(ti, pc, mc, res);
    if (rv == 0 && bad)
        rv = AIOPS_ENOMEM;
out:
    free(pc);
    free(mc);
    return rv;
}

/* Strings: counts per dictionary code (and per code and class for the purity check). */
static int profile_dict(const struct shared *sh, size_t j, struct colres *res)
{
    const struct table *t = sh->t;
    const struct column *c = &t->cols[j];
    const struct target_info *ti = sh->ti;
    size_t n = t->nrows, K = ti->nclass, nd = c->dict.count;
    int is_target = (long)j == sh->target;
    int classify = ti->cls != NULL && !is_target;
    int rv = AIOPS_ENOMEM, bad = 0;
    uint64_t *cnt = calloc(nd ? nd : 1, sizeof *cnt), *pc = NULL, *mc = NULL;
    uint32_t *ct = NULL;
    size_t *items = malloc((sh->topk ? sh->topk : 1) * sizeof *items);
    if (!cnt || !items)
        goto out;
    if (classify) {
        pc = calloc(K, sizeof *pc);
        mc = calloc(K, sizeof *mc);
        if (!pc || !mc)
            goto out;
        int purity_type =
            c->type == COL_CATEGORICAL || c->type == COL_BOOLEAN || c->type == COL_TEXT;
        if (purity_type && (nd + 1) <= MAX_CONTINGENCY / K) {
            if ((ct = calloc((nd + 1) * K, sizeof *ct)) == NULL)
                goto out;
        } else if (purity_type) {
            snprintf(res->note, sizeof res->note,
                     "leakage purity check skipped for \"%s\": %zu categories x %zu classes",
                     c->name, nd, K);
        }
    }
    size_t miss = 0;
    for (size_t r = 0; r < n; r++) {
        uint32_t code = c->codes[r], k = classify ? ti->cls[r] : CLS_NONE;
        if (code == TABLE_MISSING) {
            miss++;
            if (k != CLS_NONE) {
                mc[k]++;
                if (ct)
                    ct[nd * K + k]++;
            }
            continue;
        }
        if (code >= nd) {
            rv = AIOPS_EINVAL;
            goto out;
        }
        cnt[code]++;
        if (k != CLS_NONE) {
            pc[k]++;
            if (ct)
                ct[(size_t)code * K + k]++;
        }
    }
    res->missing = miss;
    size_t m = n - miss, distinct = 0;
    struct dict_rank dr = {&c->dict, cnt};
    struct topk tk = {items, 0, sh->topk};
    for (size_t k = 0; k < nd; k++)
        if (cnt[k]) {
            distinct++;
            topk_offer(&tk, k, dict_better, &dr);
        }
    json_t *o = res->j = json_object();
    put_common(o, c, n, miss, distinct, &bad);
    json_t *top = json_array();
    for (size_t i = 0; i < tk.n; i++) {
        uint32_t k = (uint32_t)items[i];
        json_t *e = json_object();
        jsonx_set_or_fail(e, "value",
                         jsonx_string_lossy(strdict_str(&c->dict, k), strdict_len(&c->dict, k)),
                         &bad);
        jsonx_set_or_fail(e, "count", jint(cnt[k]), &bad);
        jsonx_set_or_fail(e, "pct", json_real(pct(cnt[k], m)), &bad);
        jsonx_push_or_fail(top, e, &bad);
    }
    jsonx_set_or_fail(o, "top_values", top, &bad);
    if (c->type == COL_TEXT) {
        uint64_t total = 0, maxlen = 0;
        for (uint32_t k = 0; k < nd; k++) {
            if (!cnt[k])
                continue;
            const char *s = strdict_str(&c->dict, k);
            size_t len = strdict_len(&c->dict, k), cp = 0;
            for (size_t i = 0; i < len; i++)
                cp += ((uint8_t)s[i] & 0xC0) != 0x80; /* count code points, not bytes */
            total += cnt[k] * cp;
            if (cp > maxlen)
                maxlen = cp;
        }
        jsonx_set_or_fail(o, "mean_length", m ? json_real((double)total / (double)m) : json_null(),
                         &bad);
        jsonx_set_or_fail(o, "max_length", m ? jint(maxlen) : json_null(), &bad);
    }
    if (ct && distinct > 1 && (double)distinct < 0.5 * (double)n) {
        double p = purity(ct, nd + 1, K, ti->present);
        if (p >= LEAK_PURITY)
            add_leak(res, "separates_target", p,
                     "each of its %zu categories is almost only one class: weighted purity "
                     "%.2f%%",
                     distinct, 100 * p);
    }
    if (classify)
        check_present_only(ti, pc, mc, res);
    rv = bad ? AIOPS_ENOMEM : AIOPS_OK;
out:
    free(cnt);
    free(pc);
    free(mc);
    free(ct);
    free(items);
    return rv;
}

/* --- duplicates and rows with missing values ----------------------------------------- */

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static int rows_equal(const struct table *t, size_t r1, size_t r2)
{
    for (size_t j = 0; j < t->ncols; j++) {
        const struct column *c = &t->cols[j];
        if (c->storage == COL_F64) {
            double a = c->f64[r1], b = c->f64[r2];
            if (!(a == b || (isnan(a) && isnan(b))))
                return 0;
        } else if (c->codes[r1] != c->codes[r2]) {
            return 0;
        }
    }
    return 1;
}

/* Hashes every row column by column (streaming each column once), then inserts the row
 * hashes into an open-addressing table of row numbers; a row whose hash is already there
 * is compared value by value, so a 64-bit collision never counts as a duplicate. */
static int find_duplicates(const struct table *t, size_t *dups, size_t *rows_missing)
{
    size_t n = t->nrows;
    *dups = *rows_missing = 0;
    if (n == 0)
        return AIOPS_OK;
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    uint64_t *h = malloc(n * sizeof *h);
    uint8_t *flag = calloc(n, 1);
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!h || !flag || !slot) {
        free(h);
        free(flag);
        free(slot);
        return AIOPS_ENOMEM;
    }
    for (size_t r = 0; r < n; r++)
        h[r] = 0x243f6a8885a308d3ull;
    for (size_t j = 0; j < t->ncols; j++) {
        const struct column *c = &t->cols[j];
        for (size_t r = 0; r < n; r++) {
            uint64_t k;
            if (c->storage == COL_F64) {
                double v = c->f64[r];
                if (isnan(v)) {
                    k = 0x7ff8000000000001ull;
                    flag[r] = 1;
                } else {
                    if (v == 0)
                        v = 0.0; /* -0.0 equals 0.0 */
                    memcpy(&k, &v, 8);
                }
            } else {
                k = c->codes[r];
                flag[r] |= k == TABLE_MISSING;
            }
            h[r] = (h[r] ^ k) * 0x9e3779b97f4a7c15ull + (h[r] >> 29);
        }
    }
    size_t mask = cap - 1, d = 0, rm = 0;
    for (size_t r = 0; r < n; r++) {
        rm += flag[r];
        size_t i = (size_t)mix64(h[r]) & mask;
        for (;;) {
            uint32_t s = slot[i];
            if (s == 0) {
                slot[i] = (uint32_t)(r + 1);
                break;
            }
            if (h[s - 1] == h[r] && rows_equal(t, s - 1, r)) {
                d++;
                break;
            }
            i = (i + 1) & mask;
        }
    }
    free(h);
    free(flag);
    free(slot);
    *dups = d;
    *rows_missing = rm;
    return AIOPS_OK;
}

/* --- the worker pool ----------------------------------------------------------------- */

static void profile_job(void *arg, int tid, size_t job)
{
    struct shared *sh = arg;
    const struct table *t = sh->t;
    if (job == 0) {
        struct corr *c = sh->corr;
        c->rv = stats_corr_matrix(c->cols, c->k, t->nrows, c->r);
        return;
    }
    if (job == 1) {
        sh->dup_rv = find_duplicates(t, &sh->dup_rows, &sh->rows_missing);
        return;
    }
    job -= 2;
    struct colres *res = &sh->res[job];
    if (t->cols[job].storage == COL_DICT) {
        res->rv = profile_dict(sh, job, res);
        return;
    }
    /* numeric columns share two scratch arrays per thread */
    double **ab = &sh->scratch[2 * tid];
    size_t n = t->nrows ? t->nrows : 1;
    if (ab[0] == NULL && ((ab[0] = malloc(n * sizeof *ab[0])) == NULL ||
                          (ab[1] = malloc(n * sizeof *ab[1])) == NULL)) {
        free(ab[0]);
        ab[0] = NULL;
        res->rv = AIOPS_ENOMEM;
        return;
    }
    res->rv = profile_f64(sh, job, ab[0], ab[1], res);
}

/* Profiles every column, the correlations and the duplicates on nth threads. */
static int run_jobs(struct shared *sh, unsigned nth)
{
    sh->scratch = calloc(2 * (size_t)nth, sizeof *sh->scratch);
    if (sh->scratch == NULL)
        return AIOPS_ENOMEM;
    pool_for(NULL, (int)nth, sh->njobs, profile_job, sh);
    for (size_t i = 0; i < 2 * (size_t)nth; i++)
        free(sh->scratch[i]);
    free(sh->scratch);
    sh->scratch = NULL;
    return AIOPS_OK;
}

static unsigned pick_threads(const struct profile_options *opt, const struct table *t)
{
    unsigned th = opt->threads ? opt->threads : (unsigned)pool_cpus();
    if (th > MAX_THREADS)
        th = MAX_THREADS;
    if ((double)t->nrows * (double)(t->ncols + 1) < 200000)
        th = 1; /* not worth a thread */
    if (th > t->ncols + 2)
        th = (unsigned)(t->ncols + 2);
    return th ? th : 1;
}

/* --- assembling the document --------------------------------------------------------- */

struct pair {
    size_t i, j;
    double r;
};

static int cmp_pair(const void *pa, const void *pb)
{
    const struct pair *a = pa, *b = pb;
    double x = fabs(a->r), y = fabs(b->r);
    if (x != y)
        return x > y ? -1 : 1;
    if (a->i != b->i)
        return a->i < b->i ? -1 : 1;
    return (a->j > b->j) - (a->j < b->j);
}

static int corr_prepare(const struct table *t, const struct profile_options *opt, struct corr *c)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (t->cols[j].type == COL_NUMERIC && t->cols[j].storage == COL_F64)
            c->total++;
    size_t kmax = c->total < opt->max_corr_columns ? c->total : opt->max_corr_columns;
    c->cols = malloc((kmax ? kmax : 1) * sizeof *c->cols);
    c->idx = malloc((kmax ? kmax : 1) * sizeof *c->idx);
    c->r = malloc((kmax ? kmax * kmax : 1) * sizeof *c->r);
    if (!c->cols || !c->idx || !c->r)
        return AIOPS_ENOMEM;
    for (size_t j = 0; j < t->ncols && c->k < kmax; j++)
        if (t->cols[j].type == COL_NUMERIC && t->cols[j].storage == COL_F64) {
            c->idx[c->k] = j;
            c->cols[c->k++] = t->cols[j].f64;
        }
    return AIOPS_OK;
}

static void corr_free(struct corr *c)
{
    free(c->cols);
    free(c->idx);
    free(c->r);
}

static int build_correlations(const struct table *t, const struct profile_options *opt,
                              const struct corr *c, json_t *root, json_t *notes, int *bad)
{
    size_t k = c->k;
    if (c->total > k) {
        char s[160];
        snprintf(s, sizeof s, "correlation matrix limited to the first %zu of %zu numeric columns",
                 k, c->total);
        jsonx_push_or_fail(notes, json_string(s), bad);
    }
    struct pair *pairs = malloc((k * k / 2 + 1) * sizeof *pairs);
    if (pairs == NULL)
        return AIOPS_ENOMEM;
    json_t *cj = json_object(), *feat = json_array(), *mat = json_array(), *top = json_array();
    jsonx_set_or_fail(cj, "method", json_string("pearson"), bad);
    size_t npairs = 0;
    for (size_t i = 0; i < k; i++) {
        jsonx_push_or_fail(feat, jstr(t->cols[c->idx[i]].name), bad);
        json_t *row = json_array();
        for (size_t j = 0; j < k; j++) {
            double v = c->r[i * k + j];
            jsonx_push_or_fail(row, json_num_real(v), bad);
            if (j > i && isfinite(v) && fabs(v) >= opt->corr_threshold)
                pairs[npairs++] = (struct pair){i, j, v};
        }
        jsonx_push_or_fail(mat, row, bad);
    }
    qsort(pairs, npairs, sizeof *pairs, cmp_pair);
    for (size_t p = 0; p < npairs; p++) {
        json_t *e = json_object();
        jsonx_set_or_fail(e, "a", jstr(t->cols[c->idx[pairs[p].i]].name), bad);
        jsonx_set_or_fail(e, "b", jstr(t->cols[c->idx[pairs[p].j]].name), bad);
        jsonx_set_or_fail(e, "r", json_real(pairs[p].r), bad);
        jsonx_push_or_fail(top, e, bad);
    }
    jsonx_set_or_fail(cj, "features", feat, bad);
    jsonx_set_or_fail(cj, "matrix", mat, bad);
    jsonx_set_or_fail(cj, "threshold", json_real(opt->corr_threshold), bad);
    jsonx_set_or_fail(cj, "top_pairs", top, bad);
    jsonx_set_or_fail(root, "correlations", cj, bad);
    free(pairs);
    return AIOPS_OK;
}

struct leak_ref {
    const struct leak *l;
    size_t col;
};

static int cmp_leak(const void *pa, const void *pb)
{
    const struct leak_ref *a = pa, *b = pb;
    if (a->l->score != b->l->score)
        return a->l->score > b->l->score ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return strcmp(a->l->reason, b->l->reason);
}

struct miss_ref {
    size_t missing, col;
};

static int cmp_miss(const void *pa, const void *pb)
{
    const struct miss_ref *a = pa, *b = pb;
    if (a->missing != b->missing)
        return a->missing > b->missing ? -1 : 1;
    return (a->col > b->col) - (a->col < b->col);
}

/* The options with every zero replaced by its default and every value capped. */
static struct profile_options options_resolved(const struct profile_options *in)
{
    struct profile_options opt = in ? *in : (struct profile_options){0};
    if (opt.hist_bins == 0)
        opt.hist_bins = 20;
    if (opt.hist_bins > 1000)
        opt.hist_bins = 1000;
    if (opt.top_k == 0)
        opt.top_k = 20;
    if (opt.top_k > 1000)
        opt.top_k = 1000;
    if (!(opt.corr_threshold > 0))
        opt.corr_threshold = 0.8;
    if (opt.max_corr_columns == 0)
        opt.max_corr_columns = 200;
    if (opt.max_corr_columns > 2000)
        opt.max_corr_columns = 2000;
    return opt;
}

/* "missing": cells, rows with a gap, and every column by its missing count. */
static void put_missing(json_t *root, const struct table *t, const struct shared *sh, int *bad)
{
    size_t n = t->nrows, ncols = t->ncols, cells = 0;
    struct miss_ref *miss = calloc(ncols ? ncols : 1, sizeof *miss);
    if (miss == NULL) {
        *bad = 1;
        return;
    }
    for (size_t j = 0; j < ncols; j++) {
        miss[j] = (struct miss_ref){sh->res[j].missing, j};
        cells += sh->res[j].missing;
    }
    qsort(miss, ncols, sizeof *miss, cmp_miss);
    json_t *mj = json_object(), *mcols = json_array();
    jsonx_set_or_fail(mj, "cells", jint(cells), bad);
    jsonx_set_or_fail(mj, "cells_pct", json_real(ncols ? pct(cells, n * ncols) : 0), bad);
    jsonx_set_or_fail(mj, "rows_with_missing", jint(sh->rows_missing), bad);
    jsonx_set_or_fail(mj, "rows_with_missing_pct", json_real(pct(sh->rows_missing, n)), bad);
    for (size_t j = 0; j < ncols; j++) {
        json_t *e = json_object();
        jsonx_set_or_fail(e, "column", jstr(t->cols[miss[j].col].name), bad);
        jsonx_set_or_fail(e, "missing", jint(miss[j].missing), bad);
        jsonx_set_or_fail(e, "missing_pct", json_real(pct(miss[j].missing, n)), bad);
        jsonx_push_or_fail(mcols, e, bad);
    }
    jsonx_set_or_fail(mj, "columns", mcols, bad);
    jsonx_set_or_fail(root, "missing", mj, bad);
    free(miss);
}

/* "class_balance" (the first MAX_CLASS_BALANCE classes) and "imbalance_ratio". */
static void put_class_balance(json_t *root, const struct target_info *ti, json_t *notes, int *bad)
{
    if (ti->cls == NULL) {
        jsonx_set_or_fail(root, "class_balance", json_null(), bad);
        jsonx_set_or_fail(root, "imbalance_ratio", json_null(), bad);
        return;
    }
    json_t *cb = json_array();
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t k = 0; k < ti->nclass; k++) {
        if (ti->class_count[k] < lo)
            lo = ti->class_count[k];
        if (ti->class_count[k] > hi)
            hi = ti->class_count[k];
        if (k >= MAX_CLASS_BALANCE)
            continue;
        json_t *e = json_object();
        jsonx_set_or_fail(e, "class", jsonx_string_lossy(ti->label[k], ti->label_len[k]), bad);
        jsonx_set_or_fail(e, "count", jint(ti->class_count[k]), bad);
        jsonx_set_or_fail(e, "pct", json_real(pct(ti->class_count[k], ti->present)), bad);
        jsonx_push_or_fail(cb, e, bad);
    }
    if (ti->nclass > MAX_CLASS_BALANCE) {
        char s[120];
        snprintf(s, sizeof s, "class_balance lists the first %d of %zu classes",
                 MAX_CLASS_BALANCE, ti->nclass);
        jsonx_push_or_fail(notes, json_string(s), bad);
    }
    jsonx_set_or_fail(root, "class_balance", cb, bad);
    jsonx_set_or_fail(root, "imbalance_ratio", json_real((double)hi / (double)lo), bad);
}

/* "leakage": every column's leak suspects, strongest first. */
static void put_leakage(json_t *root, const struct table *t, const struct colres *res, int *bad)
{
    size_t ncols = t->ncols, nl = 0;
    struct leak_ref *leaks = calloc(2 * ncols + 1, sizeof *leaks);
    if (leaks == NULL) {
        *bad = 1;
        return;
    }
    for (size_t j = 0; j < ncols; j++)
        for (int i = 0; i < res[j].nleak; i++)
            leaks[nl++] = (struct leak_ref){&res[j].leak[i], j};
    qsort(leaks, nl, sizeof *leaks, cmp_leak);
    json_t *lj = json_array();
    for (size_t i = 0; i < nl; i++) {
        json_t *e = json_object();
        jsonx_set_or_fail(e, "column", jstr(t->cols[leaks[i].col].name), bad);
        jsonx_set_or_fail(e, "reason", json_string(leaks[i].l->reason), bad);
        jsonx_set_or_fail(e, "score", json_real(leaks[i].l->score), bad);
        jsonx_set_or_fail(e, "detail", jstr(leaks[i].l->detail), bad);
        jsonx_push_or_fail(lj, e, bad);
    }
    jsonx_set_or_fail(root, "leakage", lj, bad);
    free(leaks);
}

/* The first failure of the parallel jobs, or 0. */
static int jobs_failure(const struct shared *sh)
{
    for (size_t j = 0; j < sh->t->ncols; j++)
        if (sh->res[j].rv != 0)
            return sh->res[j].rv;
    return sh->dup_rv ? sh->dup_rv : sh->corr->rv;
}

/* Everything but the correlations into root, from the jobs' results (taking the columns'
 * JSON out of res). */
static void put_results(json_t *root, const struct shared *sh, json_t *notes, int *bad)
{
    const struct table *t = sh->t;
    size_t n = t->nrows;
    long target = sh->target;
    const struct target_info *ti = sh->ti;
    jsonx_set_or_fail(root, "rows", jint(n), bad);
    jsonx_set_or_fail(root, "column_count", jint(t->ncols), bad);
    jsonx_set_or_fail(root, "target", target >= 0 ? jstr(t->cols[target].name) : json_null(), bad);
    jsonx_set_or_fail(root, "task", ti->task ? json_string(table_task_name(ti->task)) : json_null(),
                      bad);
    jsonx_set_or_fail(root, "target_missing", target >= 0 ? jint(n - ti->present) : json_null(),
                      bad);
    put_missing(root, t, sh, bad);
    json_t *cols = json_array();
    for (size_t j = 0; j < t->ncols; j++) {
        jsonx_push_or_fail(cols, sh->res[j].j, bad);
        sh->res[j].j = NULL;
    }
    jsonx_set_or_fail(root, "columns", cols, bad);
    put_class_balance(root, ti, notes, bad);
}

int profile_compute(const struct table *t, long target, const struct profile_options *opt_in,
                    json_t **out)
{
    *out = NULL;
    if (target < -1 || (target >= 0 && (size_t)target >= t->ncols))
        return AIOPS_EINVAL;
    if (t->nrows >= UINT32_MAX - 1)
        return AIOPS_ETOOBIG;
    struct profile_options opt = options_resolved(opt_in);
    size_t ncols = t->ncols;
    int rv = AIOPS_ENOMEM, bad = 0;
    struct target_info ti = {0};
    struct corr corr = {0};
    struct colres *res = calloc(ncols ? ncols : 1, sizeof *res);
    json_t *root = json_object(), *notes = json_array();
    if (!res || !root || !notes)
        goto out;
    char tnote[DETAIL_LEN] = "";
    if (target >= 0) {
        const struct column *tc = &t->cols[target];
        rv = tc->storage == COL_DICT ? target_dict(t, tc, &ti, tnote, sizeof tnote)
                                     : target_f64(t, tc, &ti, tnote, sizeof tnote);
        if (rv != 0)
            goto out;
        if (tnote[0])
            jsonx_push_or_fail(notes, jstr(tnote), &bad);
    }
    if ((rv = corr_prepare(t, &opt, &corr)) != 0)
        goto out;
    struct shared sh = {.t = t,
                        .target = target,
                        .ti = &ti,
                        .bins = opt.hist_bins,
                        .topk = opt.top_k,
                        .njobs = ncols + 2,
                        .res = res,
                        .corr = &corr};
    if ((rv = run_jobs(&sh, pick_threads(&opt, t))) != 0 || (rv = jobs_failure(&sh)) != 0)
        goto out;
    put_results(root, &sh, notes, &bad);
    if ((rv = build_correlations(t, &opt, &corr, root, notes, &bad)) != 0)
        goto out;
    json_t *dj = json_object();
    jsonx_set_or_fail(dj, "rows", jint(sh.dup_rows), &bad);
    jsonx_set_or_fail(dj, "pct", json_real(pct(sh.dup_rows, t->nrows)), &bad);
    jsonx_set_or_fail(root, "duplicates", dj, &bad);
    put_leakage(root, t, res, &bad);
    for (size_t j = 0; j < ncols; j++)
        if (res[j].note[0])
            jsonx_push_or_fail(notes, jstr(res[j].note), &bad);
    jsonx_set_or_fail(root, "notes", notes, &bad);
    notes = NULL;
    rv = bad ? AIOPS_ENOMEM : AIOPS_OK;
    if (rv == 0) {
        *out = root;
        root = NULL;
    }
out:
    if (res)
        for (size_t j = 0; j < ncols; j++)
            json_decref(res[j].j);
    free(res);
    json_decref(root);
    json_decref(notes);
    target_free(&ti);
    corr_free(&corr);
    return rv;
}
