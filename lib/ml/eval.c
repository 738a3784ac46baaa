/* metrics.c -- classification and regression metrics as scikit-learn 1.2.1 defines them
 * (see metrics.h for the conventions chosen where it has options). */

#include "ml/eval.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonx.h"
#include "math/sort.h"
#include "math/stats.h"

/* --- shared checks ---------------------------------------------------------------------- */

/* 0 when every non-NaN y is a class index < K and every probability of those rows is
 * finite; *nvalid counts the rows with a y. */
static int check_classification(const double *y, const double *prob, size_t n, size_t K,
                                size_t *nvalid)
{
    if (K < 2 || (n > 0 && (y == NULL || prob == NULL)))
        return AIOPS_EINVAL;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        double c = y[i];
        if (isnan(c))
            continue;
        if (!(c >= 0 && c < (double)K) || c != floor(c))
            return AIOPS_EINVAL;
        for (size_t k = 0; k < K; k++)
            if (!isfinite(prob[i * K + k]))
                return AIOPS_EINVAL;
        v++;
    }
    *nvalid = v;
    return 0;
}

/* Mean -ln p(true class) after clipping to [eps, 1 - eps] and renormalising each row. */
static double logloss_valid(const double *y, const double *prob, size_t n, size_t K)
{
    const double eps = DBL_EPSILON;
    double sum = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        const double *p = prob + i * K;
        double rowsum = 0;
        for (size_t k = 0; k < K; k++) {
            double q = p[k] < eps ? eps : p[k] > 1 - eps ? 1 - eps : p[k];
            rowsum += q;
        }
        size_t c = (size_t)y[i];
        double q = p[c] < eps ? eps : p[c] > 1 - eps ? 1 - eps : p[c];
        sum -= log(q / rowsum);
        cnt++;
    }
    return cnt ? sum / (double)cnt : NAN;
}

/* One-vs-rest AUC (and average precision when ap != NULL) of class c; NaN when undefined.
 * y01 and score are scratch of n entries. */
static int ovr_scores(const double *y, const double *prob, size_t n, size_t K, size_t c,
                      uint8_t *y01, double *score, double *auc, double *ap)
{
    for (size_t i = 0; i < n; i++) {
        y01[i] = isnan(y[i]) ? 2 : (uint8_t)((size_t)y[i] == c);
        score[i] = prob[i * K + c];
    }
    int rc = stats_roc_auc(score, y01, n, auc);
    if (rc == 0 && ap != NULL)
        *ap = eval_average_precision(score, y01, n);
    return rc;
}

/* Binary: the AUC (and AP) of the positive column; multiclass: their macro means over the
 * classes for which they are defined. */
static int auc_and_ap(const double *y, const double *prob, size_t n, size_t K, double *auc,
                      double *ap)
{
    uint8_t *y01 = malloc(n ? n : 1);
    double *score = malloc((n ? n : 1) * sizeof *score);
    int rc = 0;
    if (y01 == NULL || score == NULL) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    if (K == 2) {
        rc = ovr_scores(y, prob, n, K, 1, y01, score, auc, ap);
        goto done;
    }
    double sa = 0, sp = 0;
    size_t na = 0, np = 0;
    for (size_t c = 0; c < K && rc == 0; c++) {
        double a = NAN, p = NAN;
        rc = ovr_scores(y, prob, n, K, c, y01, score, &a, ap ? &p : NULL);
        if (!isnan(a)) {
            sa += a;
            na++;
        }
        if (!isnan(p)) {
            sp += p;
            np++;
        }
    }
    *auc = na ? sa / (double)na : NAN;
    if (ap != NULL)
        *ap = np ? sp / (double)np : NAN;
done:
    free(y01);
    free(score);
    return rc;
}

/* --- single numbers --------------------------------------------------------------------- */

double eval_logloss(const double *y, const double *prob, size_t n, size_t K)
{
    size_t v;
    if (check_classification(y, prob, n, K, &v) != 0)
        return NAN;
    return logloss_valid(y, prob, n, K);
}

double eval_accuracy(const double *y, const double *prob, size_t n, size_t K)
{
    size_t v;
    if (check_classification(y, prob, n, K, &v) != 0 || v == 0)
        return NAN;
    size_t hit = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i]) && stats_argmax(prob + i * K, K) == (size_t)y[i])
            hit++;
    return (double)hit / (double)v;
}

double eval_auc(const double *y, const double *prob, size_t n, size_t K)
{
    size_t v;
    double auc = NAN;
    if (check_classification(y, prob, n, K, &v) != 0 || v == 0)
        return NAN;
    if (auc_and_ap(y, prob, n, K, &auc, NULL) != 0)
        return NAN;
    return auc;
}

/* The cumulative counts of a score ranking: walking the distinct scores from the highest,
 * after threshold k (score >= the k-th distinct value) tp[k] positives and fp[k] negatives
 * rank at or above it. Rows with y01 > 1 or a NaN score are skipped. *tp and *fp (caller
 * frees both; NULL when *nthr is 0) hold *nthr entries; *npos and *nneg count the rows used.
 * AIOPS_ENOMEM, AIOPS_ETOOBIG past 2^32 - 2 rows. */
static int threshold_counts(const double *score, const uint8_t *y01, size_t n, size_t **tp,
                            size_t **fp, size_t *nthr, size_t *npos, size_t *nneg)
{
    size_t m = 0;
    *tp = *fp = NULL;
    *nthr = *npos = *nneg = 0;
    for (size_t i = 0; i < n; i++)
        if (y01[i] <= 1 && !isnan(score[i]))
            m++;
    if (m == 0)
        return AIOPS_OK;
    if (m >= UINT32_MAX)
        return AIOPS_ETOOBIG;
    double *s = malloc(m * sizeof *s);
    uint8_t *t = malloc(m);
    uint32_t *idx = malloc(m * sizeof *idx);
    *tp = malloc(m * sizeof **tp);
    *fp = malloc(m * sizeof **fp);
    int rc = s && t && idx && *tp && *fp ? AIOPS_OK : AIOPS_ENOMEM;
    for (size_t i = 0, j = 0; rc == 0 && i < n; i++) {
        if (y01[i] <= 1 && !isnan(score[i])) {
            s[j] = score[i];
            t[j] = y01[i];
            *npos += y01[i];
            j++;
        }
    }
    if (rc == 0)
        rc = sort_f64_argsort(s, m, idx);
    size_t cp = 0, cn = 0, j = m;
    while (rc == 0 && j > 0) {
        double v = s[idx[j - 1]];
        while (j > 0 && s[idx[j - 1]] == v) {
            if (t[idx[j - 1]])
                cp++;
            else
                cn++;
            j--;
        }
        (*tp)[*nthr] = cp;
        (*fp)[*nthr] = cn;
        (*nthr)++;
    }
    *nneg = m - *npos;
    free(s);
    free(t);
    free(idx);
    if (rc != 0) {
        free(*tp);
        free(*fp);
        *tp = *fp = NULL;
        *nthr = 0;
    }
    return rc;
}

double eval_average_precision(const double *score, const uint8_t *y01, size_t n)
{
    size_t *tp, *fp, nthr, npos, nneg;
    if (threshold_counts(score, y01, n, &tp, &fp, &nthr, &npos, &nneg) != 0)
        return NAN;
    double ap = NAN;
    if (npos > 0) {
        double prev_recall = 0, sum = 0;
        for (size_t k = 0; k < nthr; k++) {
            double recall = (double)tp[k] / (double)npos;
            sum += (recall - prev_recall) * ((double)tp[k] / (double)(tp[k] + fp[k]));
            prev_recall = recall;
        }
        ap = sum;
    }
    free(tp);
    free(fp);
    return ap;
}

void eval_curve_free(struct eval_curve *c)
{
    free(c->x);
    free(c->y);
    memset(c, 0, sizeof *c);
}

/* Keeps at most max_points of the npts points of c (the first and the last always), evenly
 * spaced in rank: enough for a chart, bounded whatever the number of distinct scores. */
static void thin_curve(struct eval_curve *c, size_t max_points)
{
    if (max_points < 2 || c->n <= max_points)
        return;
    size_t last = c->n - 1;
    for (size_t k = 0; k < max_points; k++) {
        size_t from = (size_t)((double)k * (double)last / (double)(max_points - 1) + 0.5);
        c->x[k] = c->x[from];
        c->y[k] = c->y[from];
    }
    c->n = max_points;
}

int eval_curves(const double *score, const uint8_t *y01, size_t n, size_t max_points,
                struct eval_curve *roc, struct eval_curve *pr)
{
    memset(roc, 0, sizeof *roc);
    memset(pr, 0, sizeof *pr);
    size_t *tp, *fp, nthr, npos, nneg;
    int rc = threshold_counts(score, y01, n, &tp, &fp, &nthr, &npos, &nneg);
    if (rc != 0)
        return rc;
    if (npos == 0 || nneg == 0) {
        free(tp);
        free(fp);
        return AIOPS_EINVAL;
    }
    /* one point before the first threshold: (0, 0) on ROC, (recall 0, precision 1) on PR */
    roc->x = malloc((nthr + 1) * sizeof *roc->x);
    roc->y = malloc((nthr + 1) * sizeof *roc->y);
    pr->x = malloc((nthr + 1) * sizeof *pr->x);
    pr->y = malloc((nthr + 1) * sizeof *pr->y);
    if (roc->x == NULL || roc->y == NULL || pr->x == NULL || pr->y == NULL) {
        rc = AIOPS_ENOMEM;
    } else {
        roc->x[0] = roc->y[0] = pr->x[0] = 0;
        pr->y[0] = 1;
        for (size_t k = 0; k < nthr; k++) {
            roc->x[k + 1] = (double)fp[k] / (double)nneg;
            roc->y[k + 1] = (double)tp[k] / (double)npos;
            pr->x[k + 1] = (double)tp[k] / (double)npos;
            pr->y[k + 1] = (double)tp[k] / (double)(tp[k] + fp[k]);
        }
        roc->n = pr->n = nthr + 1;
        thin_curve(roc, max_points);
        thin_curve(pr, max_points);
    }
    free(tp);
    free(fp);
    if (rc != 0) {
        eval_curve_free(roc);
        eval_curve_free(pr);
    }
    return rc;
}

/* Sums over the rows with a y; -1 when a prediction of such a row is not finite. */
struct reg_sums {
    size_t n;
    double mse, mae, r2;
};

static int regression_sums(const double *y, const double *pred, size_t n, struct reg_sums *r)
{
    memset(r, 0, sizeof *r);
    double sy = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        if (!isfinite(pred[i]))
            return -1;
        sy += y[i];
        r->n++;
    }
    if (r->n == 0) {
        r->mse = r->mae = r->r2 = NAN;
        return 0;
    }
    double mean = sy / (double)r->n, se = 0, ae = 0, st = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        double d = y[i] - pred[i], e = y[i] - mean;
        se += d * d;
        ae += fabs(d);
        st += e * e;
    }
    r->mse = se / (double)r->n;
    r->mae = ae / (double)r->n;
    if (st == 0)
        r->r2 = se == 0 ? 1.0 : 0.0;
    else
        r->r2 = 1 - se / st;
    return 0;
}

double eval_mse(const double *y, const double *pred, size_t n)
{
    struct reg_sums r;
    return regression_sums(y, pred, n, &r) == 0 ? r.mse : NAN;
}

double eval_rmse(const double *y, const double *pred, size_t n)
{
    return sqrt(eval_mse(y, pred, n));
}

double eval_mae(const double *y, const double *pred, size_t n)
{
    struct reg_sums r;
    return regression_sums(y, pred, n, &r) == 0 ? r.mae : NAN;
}

double eval_r2(const double *y, const double *pred, size_t n)
{
    struct reg_sums r;
    return regression_sums(y, pred, n, &r) == 0 ? r.r2 : NAN;
}

int eval_regression(const double *y, const double *pred, size_t n, json_t **out)
{
    *out = NULL;
    struct reg_sums r;
    if (n > 0 && (y == NULL || pred == NULL))
        return AIOPS_EINVAL;
    if (regression_sums(y, pred, n, &r) != 0)
        return AIOPS_EINVAL;
    json_t *o = json_object();
    int failed = o == NULL;
    jsonx_set_or_fail(o, "n", json_integer((json_int_t)r.n), &failed);
    jsonx_set_or_fail(o, "mse", jsonx_num(r.mse, 0), &failed);
    jsonx_set_or_fail(o, "rmse", jsonx_num(sqrt(r.mse), 0), &failed);
    jsonx_set_or_fail(o, "mae", jsonx_num(r.mae, 0), &failed);
    jsonx_set_or_fail(o, "r2", jsonx_num(r.r2, 0), &failed);
    if (failed) {
        json_decref(o);
        return AIOPS_ENOMEM;
    }
    *out = o;
    return 0;
}

/* --- the full classification report ----------------------------------------------------- */

static double safe_div(double a, double b)
{
    return b > 0 ? a / b : 0.0; /* zero_division: 0 */
}

static double f1_of(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

static json_t *class_name(const char *const *labels, size_t k)
{
    if (labels != NULL && labels[k] != NULL)
        return jsonx_string_lossy(labels[k], strlen(labels[k]));
    return json_integer((json_int_t)k);
}

/* Reliability bins of the positive-class probability (calibration_curve's binning). */
static json_t *calibration_json(const double *y, const double *prob, size_t n, int *failed)
{
    size_t cnt[METRICS_CALIBRATION_BINS] = {0};
    double sp[METRICS_CALIBRATION_BINS] = {0}, st[METRICS_CALIBRATION_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        double p = prob[i * 2 + 1];
        /* bin = number of interior edges j/10 (as numpy.linspace computes them) below p */
        size_t b = 0;
        while (b + 1 < METRICS_CALIBRATION_BINS && (double)(b + 1) * 0.1 < p)
            b++;
        cnt[b]++;
        sp[b] += p;
        st[b] += y[i];
    }
    json_t *a = json_array();
    if (a == NULL)
        *failed = 1;
    for (size_t b = 0; b < METRICS_CALIBRATION_BINS; b++) {
        json_t *o = json_object();
        double c = (double)cnt[b];
        jsonx_set_or_fail(o, "lower", jsonx_num((double)b * 0.1, 0), failed);
        jsonx_set_or_fail(
            o, "upper",
            jsonx_num(b + 1 == METRICS_CALIBRATION_BINS ? 1.0 : (double)(b + 1) * 0.1, 0), failed);
        jsonx_set_or_fail(o, "count", json_integer((json_int_t)cnt[b]), failed);
        jsonx_set_or_fail(o, "mean_predicted", jsonx_num(cnt[b] ? sp[b] / c : NAN, 0), failed);
        jsonx_set_or_fail(o, "observed_rate", jsonx_num(cnt[b] ? st[b] / c : NAN, 0), failed);
        jsonx_push_or_fail(a, o, failed);
    }
    return a;
}

/* Lift and cumulative gains over 10 groups of rows ordered by the positive probability. */
static int lift_json(const double *y, const double *prob, size_t n, size_t m, json_t **lift,
                     json_t **gains)
{
    *lift = *gains = NULL;
    if (m >= UINT32_MAX)
        return AIOPS_ETOOBIG;
    double *neg = malloc((m ? m : 1) * sizeof *neg);
    uint8_t *pos = malloc(m ? m : 1);
    uint32_t *idx = malloc((m ? m : 1) * sizeof *idx);
    int rc = 0, failed = 0;
    if (neg == NULL || pos == NULL || idx == NULL) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    size_t npos = 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        neg[j] = -prob[i * 2 + 1] + 0.0; /* descending order, ties in row order; no -0 */
        pos[j] = (uint8_t)(y[i] == 1);
        npos += pos[j];
        j++;
    }
    if ((rc = sort_f64_argsort(neg, m, idx)) != 0)
        goto done;
    double rate_all = m ? (double)npos / (double)m : NAN;
    *lift = json_array();
    *gains = json_array();
    failed = *lift == NULL || *gains == NULL;
    size_t cum_rows = 0, cum_pos = 0;
    for (size_t g = 0; g < METRICS_LIFT_GROUPS; g++) {
        size_t lo = g * m / METRICS_LIFT_GROUPS, hi = (g + 1) * m / METRICS_LIFT_GROUPS;
        size_t gp = 0;
        for (size_t j = lo; j < hi; j++)
            gp += pos[idx[j]];
        cum_rows += hi - lo;
        cum_pos += gp;
        double rate = hi > lo ? (double)gp / (double)(hi - lo) : NAN;
        double cum_rate = cum_rows ? (double)cum_pos / (double)cum_rows : NAN;
        json_t *o = json_object();
        jsonx_set_or_fail(o, "decile", json_integer((json_int_t)(g + 1)), &failed);
        jsonx_set_or_fail(o, "rows", json_integer((json_int_t)(hi - lo)), &failed);
        jsonx_set_or_fail(o, "positives", json_integer((json_int_t)gp), &failed);
        jsonx_set_or_fail(o, "rate", jsonx_num(rate, 0), &failed);
        jsonx_set_or_fail(o, "lift", jsonx_num(npos ? rate / rate_all : NAN, 0), &failed);
        jsonx_set_or_fail(o, "cumulative_lift", jsonx_num(npos ? cum_rate / rate_all : NAN, 0),
                          &failed);
        jsonx_push_or_fail(*lift, o, &failed);
        json_t *q = json_object();
        jsonx_set_or_fail(q, "decile", json_integer((json_int_t)(g + 1)), &failed);
        jsonx_set_or_fail(q, "rows_pct",
                          jsonx_num(m ? 100.0 * (double)cum_rows / (double)m : NAN, 0), &failed);
        jsonx_set_or_fail(q, "gain_pct",
                          jsonx_num(npos ? 100.0 * (double)cum_pos / (double)npos : NAN, 0),
                          &failed);
        jsonx_push_or_fail(*gains, q, &failed);
    }
    if (failed)
        rc = AIOPS_ENOMEM;
done:
    if (rc != 0) {
        json_decref(*lift);
        json_decref(*gains);
        *lift = *gains = NULL;
    }
    free(neg);
    free(pos);
    free(idx);
    return rc;
}

int eval_classification(const double *y, const double *prob, size_t n, size_t K,
                        const char *const *labels, json_t **out)
{
    *out = NULL;
    size_t m;
    int rc = check_classification(y, prob, n, K, &m);
    if (rc != 0)
        return rc;
    if (K > SIZE_MAX / K / sizeof(uint64_t))
        return AIOPS_ETOOBIG;
    uint64_t *cm = calloc(K * K, sizeof *cm);
    json_t *o = json_object(), *lift = NULL, *gains = NULL;
    int failed = o == NULL;
    if (cm == NULL || failed) {
        rc = AIOPS_ENOMEM;
        goto done;
    }
    /* confusion matrix, accuracy, Brier */
    size_t hit = 0;
    double brier = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        size_t t = (size_t)y[i], p = stats_argmax(prob + i * K, K);
        cm[t * K + p]++;
        hit += t == p;
        if (K == 2) {
            double d = prob[i * 2 + 1] - (double)t;
            brier += d * d;
        } else {
            for (size_t k = 0; k < K; k++) {
                double d = prob[i * K + k] - (double)(k == t);
                brier += d * d;
            }
        }
    }
    double dm = (double)m;
    jsonx_set_or_fail(o, "n", json_integer((json_int_t)m), &failed);
    jsonx_set_or_fail(o, "accuracy", jsonx_num(m ? (double)hit / dm : NAN, 0), &failed);

    /* per class, and the macro / weighted means over the classes seen in y or predicted */
    json_t *per = json_array();
    double mp = 0, mr = 0, mf = 0, wp = 0, wr = 0, wf = 0;
    size_t nlab = 0;
    double pos_p = 0, pos_r = 0, pos_f = 0;
    for (size_t k = 0; k < K; k++) {
        uint64_t tp = cm[k * K + k], support = 0, predicted = 0;
        for (size_t j = 0; j < K; j++) {
            support += cm[k * K + j];
            predicted += cm[j * K + k];
        }
        double p = safe_div((double)tp, (double)predicted);
        double r = safe_div((double)tp, (double)support);
        double f = f1_of(p, r);
        if (support > 0 || predicted > 0) {
            nlab++;
            mp += p;
            mr += r;
            mf += f;
            wp += p * (double)support;
            wr += r * (double)support;
            wf += f * (double)support;
        }
        if (k == K - 1) {
            pos_p = p;
            pos_r = r;
            pos_f = f;
        }
        json_t *c = json_object();
        jsonx_set_or_fail(c, "class", class_name(labels, k), &failed);
        jsonx_set_or_fail(c, "precision", jsonx_num(p, 0), &failed);
        jsonx_set_or_fail(c, "recall", jsonx_num(r, 0), &failed);
        jsonx_set_or_fail(c, "f1", jsonx_num(f, 0), &failed);
        jsonx_set_or_fail(c, "support", json_integer((json_int_t)support), &failed);
        jsonx_push_or_fail(per, c, &failed);
    }
    double dl = (double)nlab;
    if (K == 2) {
        jsonx_set_or_fail(o, "positive_class", class_name(labels, 1), &failed);
        jsonx_set_or_fail(o, "precision", jsonx_num(pos_p, 0), &failed);
        jsonx_set_or_fail(o, "recall", jsonx_num(pos_r, 0), &failed);
        jsonx_set_or_fail(o, "f1", jsonx_num(pos_f, 0), &failed);
    }
    jsonx_set_or_fail(o, "macro_precision", jsonx_num(nlab ? mp / dl : NAN, 0), &failed);
    jsonx_set_or_fail(o, "macro_recall", jsonx_num(nlab ? mr / dl : NAN, 0), &failed);
    jsonx_set_or_fail(o, "macro_f1", jsonx_num(nlab ? mf / dl : NAN, 0), &failed);
    jsonx_set_or_fail(o, "weighted_precision", jsonx_num(m ? wp / dm : NAN, 0), &failed);
    jsonx_set_or_fail(o, "weighted_recall", jsonx_num(m ? wr / dm : NAN, 0), &failed);
    jsonx_set_or_fail(o, "weighted_f1", jsonx_num(m ? wf / dm : NAN, 0), &failed);

    double auc = NAN, ap = NAN;
    if ((rc = auc_and_ap(y, prob, n, K, &auc, &ap)) != 0) {
        json_decref(per);
        goto done;
    }
    jsonx_set_or_fail(o, "auc", jsonx_num(auc, 0), &failed);
    jsonx_set_or_fail(o, "pr_auc", jsonx_num(ap, 0), &failed);
    jsonx_set_or_fail(o, "logloss", jsonx_num(logloss_valid(y, prob, n, K), 0), &failed);
    jsonx_set_or_fail(o, "brier", jsonx_num(m ? brier / dm : NAN, 0), &failed);

    json_t *cmj = json_array();
    for (size_t t = 0; t < K; t++) {
        json_t *row = json_array();
        for (size_t p = 0; p < K; p++)
            jsonx_push_or_fail(row, json_integer((json_int_t)cm[t * K + p]), &failed);
        jsonx_push_or_fail(cmj, row, &failed);
    }
    jsonx_set_or_fail(o, "confusion_matrix", cmj, &failed);
    jsonx_set_or_fail(o, "per_class", per, &failed);

    if (K == 2) {
        jsonx_set_or_fail(o, "calibration", calibration_json(y, prob, n, &failed), &failed);
        if ((rc = lift_json(y, prob, n, m, &lift, &gains)) != 0)
            goto done;
        jsonx_set_or_fail(o, "lift", lift, &failed);
        jsonx_set_or_fail(o, "gains", gains, &failed);
    }
    if (failed)
        rc = AIOPS_ENOMEM;
done:
    free(cm);
    if (rc != 0)
        json_decref(o);
    else
        *out = o;
    return rc;
}

/* --- clustering ------------------------------------------------------------------------- */

/* The contingency table of two partitions: one allocation, cell first (the caller frees). */
struct contingency {
    double *cell; /* ka * kb counts, row-major */
    double *ra;   /* ka: the row margins */
    double *rb;   /* kb: the column margins */
    double total; /* the items both partitions label */
};

/* Fills t; -1 when out of memory or when no item has both labels (both scores are NaN
 * then). */
static int contingency(const int32_t *a, size_t ka, const int32_t *b, size_t kb, size_t n,
                       struct contingency *t)
{
    double *c = calloc(ka * kb + ka + kb + 1, sizeof *c);
    if (c == NULL)
        return -1;
    *t = (struct contingency){c, c + ka * kb, c + ka * kb + ka, 0};
    for (size_t i = 0; i < n; i++) {
        if (a[i] < 0 || b[i] < 0 || (size_t)a[i] >= ka || (size_t)b[i] >= kb)
            continue;
        c[(size_t)a[i] * kb + (size_t)b[i]] += 1;
        t->ra[a[i]] += 1;
        t->rb[b[i]] += 1;
        t->total += 1;
    }
    if (t->total == 0) {
        free(c);
        return -1;
    }
    return 0;
}

static double pairs(double v)
{
    return v * (v - 1) / 2;
}

double eval_adjusted_rand(const int32_t *a, size_t ka, const int32_t *b, size_t kb, size_t n)
{
    struct contingency t;
    if (contingency(a, ka, b, kb, n, &t) != 0)
        return NAN;
    double sum_cells = 0, sum_a = 0, sum_b = 0;
    for (size_t i = 0; i < ka * kb; i++)
        sum_cells += pairs(t.cell[i]);
    for (size_t i = 0; i < ka; i++)
        sum_a += pairs(t.ra[i]);
    for (size_t j = 0; j < kb; j++)
        sum_b += pairs(t.rb[j]);
    free(t.cell);
    double expected = sum_a * sum_b / pairs(t.total), mean = (sum_a + sum_b) / 2;
    /* scikit-learn: identical trivial partitions (one cluster, or all singletons) score 1 */
    if (mean == expected)
        return 1.0;
    return (sum_cells - expected) / (mean - expected);
}

static double entropy(const double *counts, size_t k, double total)
{
    double h = 0;
    for (size_t i = 0; i < k; i++)
        if (counts[i] > 0)
            h -= counts[i] / total * log(counts[i] / total);
    return h;
}

double eval_nmi(const int32_t *a, size_t ka, const int32_t *b, size_t kb, size_t n)
{
    struct contingency t;
    if (contingency(a, ka, b, kb, n, &t) != 0)
        return NAN;
    double mi = 0;
    for (size_t i = 0; i < ka; i++)
        for (size_t j = 0; j < kb; j++) {
            double v = t.cell[i * kb + j];
            if (v > 0)
                mi += v / t.total * log(v * t.total / (t.ra[i] * t.rb[j]));
        }
    double ha = entropy(t.ra, ka, t.total), hb = entropy(t.rb, kb, t.total);
    free(t.cell);
    /* scikit-learn: two single-cluster partitions agree perfectly */
    if (ha == 0 && hb == 0)
        return 1.0;
    double denom = (ha + hb) / 2;
    return denom > 0 ? fmax(mi, 0) / denom : 0;
}

double eval_silhouette(const double *x, size_t n, size_t d, const int32_t *labels, size_t k)
{
    if (k < 2 || n < 2)
        return NAN;
    double *mean_to = malloc(k * sizeof *mean_to);
    size_t *size = calloc(k, sizeof *size);
    if (mean_to == NULL || size == NULL) {
        free(mean_to);
        free(size);
        return NAN;
    }
    size_t used = 0;
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= 0 && (size_t)labels[i] < k && size[labels[i]]++ == 0)
            used++;
    double sum = 0;
    size_t counted = 0;
    for (size_t i = 0; used >= 2 && i < n; i++) {
        if (labels[i] < 0 || (size_t)labels[i] >= k)
            continue;
        counted++;
        size_t own = (size_t)labels[i];
        if (size[own] < 2)
            continue; /* alone in its cluster: 0 */
        for (size_t c = 0; c < k; c++)
            mean_to[c] = 0;
        for (size_t j = 0; j < n; j++) {
            if (j == i || labels[j] < 0 || (size_t)labels[j] >= k)
                continue;
            double s = 0;
            for (size_t t = 0; t < d; t++) {
                double m = x[i * d + t] - x[j * d + t];
                s += m * m;
            }
            mean_to[labels[j]] += sqrt(s);
        }
        double ai = mean_to[own] / (double)(size[own] - 1), bi = INFINITY;
        for (size_t c = 0; c < k; c++)
            if (c != own && size[c] > 0 && mean_to[c] / (double)size[c] < bi)
                bi = mean_to[c] / (double)size[c];
        double mx = fmax(ai, bi);
        sum += mx > 0 ? (bi - ai) / mx : 0;
    }
    free(mean_to);
    free(size);
    return used >= 2 && counted > 0 ? sum / (double)counted : NAN;
}

/* --- label feedback ---------------------------------------------------------------------- */

/* accuracy, precision, recall, f1 of class-index pairs into o. */
static int feedback_classification(const double *pred, const double *actual, size_t n,
                                   size_t classes, json_t *o)
{
    size_t *tp = calloc(3 * classes, sizeof *tp), correct = 0;
    if (tp == NULL)
        return AIOPS_ENOMEM;
    size_t *np = tp + classes, *na = np + classes; /* predicted, actual per class */
    for (size_t i = 0; i < n; i++) {
        double p = pred[i], a = actual[i];
        if (!(p >= 0 && a >= 0 && p < (double)classes && a < (double)classes))
            continue;
        size_t pi = (size_t)p, ai = (size_t)a;
        correct += pi == ai;
        tp[pi] += pi == ai;
        np[pi]++;
        na[ai]++;
    }
    double prec = 0, rec = 0, f1 = 0;
    size_t from = classes == 2 ? 1 : 0; /* binary: the positive class only */
    for (size_t k = from; k < classes; k++) {
        double pk = np[k] ? (double)tp[k] / (double)np[k] : 0.0;
        double rk = na[k] ? (double)tp[k] / (double)na[k] : 0.0;
        prec += pk;
        rec += rk;
        f1 += pk + rk > 0 ? 2 * pk * rk / (pk + rk) : 0.0;
    }
    free(tp);
    double m = (double)(classes - from);
    int failed = 0;
    jsonx_set_or_fail(o, "accuracy", json_real((double)correct / (double)n), &failed);
    jsonx_set_or_fail(o, "precision", json_real(prec / m), &failed);
    jsonx_set_or_fail(o, "recall", json_real(rec / m), &failed);
    jsonx_set_or_fail(o, "f1", json_real(f1 / m), &failed);
    return failed ? AIOPS_ENOMEM : AIOPS_OK;
}

int eval_feedback(const double *pred, const double *actual, size_t n, size_t classes, json_t **out)
{
    json_t *o = json_object();
    int failed = o == NULL;
    jsonx_set_or_fail(o, "feedback_count", json_integer((json_int_t)n), &failed);
    jsonx_set_or_fail(o, "task",
                      json_string(n == 0         ? "unknown"
                                  : classes == 0 ? "regression"
                                  : classes == 2 ? "binary"
                                                 : "multiclass"),
                      &failed);
    if (!failed && n > 0 && classes == 0) {
        double sq = 0, ab = 0;
        for (size_t i = 0; i < n; i++) {
            sq += (pred[i] - actual[i]) * (pred[i] - actual[i]);
            ab += fabs(pred[i] - actual[i]);
        }
        jsonx_set_or_fail(o, "rmse", jsonx_num(sqrt(sq / (double)n), 0), &failed);
        jsonx_set_or_fail(o, "mae", jsonx_num(ab / (double)n, 0), &failed);
    } else if (!failed && n > 0) {
        failed = feedback_classification(pred, actual, n, classes, o) != 0;
    }
    if (failed) {
        json_decref(o);
        *out = NULL;
        return AIOPS_ENOMEM;
    }
    *out = o;
    return AIOPS_OK;
}
