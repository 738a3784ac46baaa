#include "report/inputs.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "data/profile.h"
#include "math/stats.h"
#include "ml/eval.h"
#include "ml/train.h"

double report_num(const json_t *doc, ...)
{
    va_list ap;
    va_start(ap, doc);
    const json_t *v = doc;
    for (const char *key = va_arg(ap, const char *); key != NULL && v != NULL;
         key = va_arg(ap, const char *))
        v = json_object_get(v, key);
    va_end(ap);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* --- the model ----------------------------------------------------------------------------- */

static json_t *model_part(const struct model *m)
{
    static const char *const keys[] = {"kind",          "task",       "target",     "params",
                                       "features",      "train_rows", "valid_rows", "iterations",
                                       "train_seconds", "created_at", "version"};
    json_t *o = json_object();
    for (size_t i = 0; o != NULL && i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(m->meta, keys[i]);
        /* the META "version" is the suite's; the registry version is the caller's */
        if (v != NULL && strcmp(keys[i], "version") != 0)
            json_object_set(o, keys[i], v);
    }
    return o;
}

/* --- the evaluation ----------------------------------------------------------------------------
 */

/* Expected calibration error: the row-weighted mean gap between predicted and observed
 * rates over the calibration bins. */
static double expected_calibration_error(const json_t *calibration)
{
    double n = 0, sum = 0;
    size_t i;
    const json_t *bin;
    json_array_foreach(calibration, i, bin)
    {
        double c = report_num(bin, "count", NULL);
        double gap =
            fabs(report_num(bin, "mean_predicted", NULL) - report_num(bin, "observed_rate", NULL));
        if (c > 0 && !isnan(gap)) {
            n += c;
            sum += c * gap;
        }
    }
    return n > 0 ? sum / n : NAN;
}

static json_t *number_list(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, jsonx_num(v[i], 0));
    return a;
}

/* ROC and PR curves of the positive class (binary tasks). */
static json_t *curves_part(const struct labelled_predictions *p)
{
    double *score = malloc((p->n ? p->n : 1) * sizeof *score);
    uint8_t *y01 = malloc(p->n ? p->n : 1);
    struct eval_curve roc, pr;
    json_t *o = NULL;
    if (score != NULL && y01 != NULL) {
        for (size_t i = 0; i < p->n; i++) {
            score[i] = p->pred[i * 2 + 1];
            y01[i] = (uint8_t)(p->y[i] == 1);
        }
        if (eval_curves(score, y01, p->n, REPORT_CURVE_POINTS, &roc, &pr) == 0) {
            o = json_pack("{s:{s:o, s:o}, s:{s:o, s:o}}", "roc", "fpr", number_list(roc.x, roc.n),
                          "tpr", number_list(roc.y, roc.n), "pr", "recall", number_list(pr.x, pr.n),
                          "precision", number_list(pr.y, pr.n));
            eval_curve_free(&roc);
            eval_curve_free(&pr);
        }
    }
    free(score);
    free(y01);
    return o ? o : json_null();
}

static json_t *class_balance(const struct model *m, const struct labelled_predictions *p)
{
    size_t K = m->target.nclasses;
    size_t *count = calloc(K ? K : 1, sizeof *count);
    json_t *a = json_array();
    if (count == NULL || a == NULL) {
        free(count);
        json_decref(a);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++)
        count[(size_t)p->y[i]]++;
    for (size_t k = 0; k < K; k++)
        json_array_append_new(
            a, json_pack("{s:o, s:I, s:o}", "class", target_label_json(&m->target, k), "count",
                         (json_int_t)count[k], "pct",
                         jsonx_num(p->n ? 100.0 * (double)count[k] / (double)p->n : NAN, 0)));
    free(count);
    return a;
}

/* "metrics", "curves" and "data" of the document from the model's predictions. */
static int evaluation_part(const struct model *m, const struct labelled_predictions *p, json_t *doc)
{
    json_t *metrics = NULL;
    int classification = m->target.task != TASK_REGRESSION;
    int rv = classification ? eval_classification(p->y, p->pred, p->n, m->target.nclasses,
                                                  (const char *const *)m->target.labels, &metrics)
                            : eval_regression(p->y, p->pred, p->n, &metrics);
    if (rv != 0)
        return rv;
    int binary = m->target.task == TASK_BINARY;
    if (binary)
        json_object_set_new(
            metrics, "ece",
            jsonx_num(expected_calibration_error(json_object_get(metrics, "calibration")), 0));
    json_object_set_new(doc, "metrics", metrics);
    json_object_set_new(doc, "curves", binary ? curves_part(p) : json_null());
    json_t *data = json_object_get(doc, "data");
    json_object_set_new(data, "evaluated_rows", json_integer((json_int_t)p->n));
    json_object_set_new(data, "class_balance", classification ? class_balance(m, p) : json_null());
    double pos = 0;
    for (size_t i = 0; binary && i < p->n; i++)
        pos += p->y[i] == 1;
    json_object_set_new(data, "positive_class",
                        binary ? target_label_json(&m->target, 1) : json_null());
    json_object_set_new(data, "base_rate", jsonx_num(binary && p->n ? pos / (double)p->n : NAN, 0));
    return AIOPS_OK;
}

/* --- importance and correlation ----------------------------------------------------------------
 */

static int by_importance_desc(const void *a, const void *b)
{
    double x = report_num(*(json_t *const *)a, "importance", NULL);
    double y = report_num(*(json_t *const *)b, "importance", NULL);
    x = isnan(x) ? -1 : x;
    y = isnan(y) ? -1 : y;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Sorts list most important first and normalises the values to sum 1. An insertion sort:
 * stable, so equal values keep the model's feature order (lists are a few hundred long). */
static void sort_importance(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = json_incref(json_array_get(list, i));
        double x = report_num(v[i], "importance", NULL);
        total += isnan(x) || x < 0 ? 0 : x;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && by_importance_desc(&v[j - 1], &v[j]) > 0; j--) {
            json_t *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    json_array_clear(list);
    for (size_t i = 0; i < n; i++) {
        double x = report_num(v[i], "importance", NULL);
        if (total > 0 && !isnan(x))
            json_object_set_new(v[i], "importance", jsonx_num(x / total, 0));
        json_array_append_new(list, v[i]);
    }
    free(v);
}

static json_t *description_of(const json_t *descriptions, const char *feature)
{
    const char *d = json_string_value(json_object_get(descriptions, feature));
    return d ? json_string(d) : json_null();
}

/* The learner's own importance, saved in the model's metadata at training. */
static void importance_part(const struct model *m, const json_t *descriptions, json_t *doc)
{
    const json_t *imp = json_object_get(m->meta, "importance");
    json_t *list = json_array();
    for (size_t j = 0; json_is_object(imp) && j < m->features.n; j++) {
        const char *name = m->features.f[j].name;
        json_array_append_new(list,
                              json_pack("{s:s, s:o, s:n, s:n, s:o}", "feature", name, "importance",
                                        jsonx_num(report_num(imp, name, NULL), 0), "pValue", "ci",
                                        "description", description_of(descriptions, name)));
    }
    sort_importance(list);
    json_object_set_new(doc, "importance", list);
    json_object_set_new(doc, "importance_method",
                        json_is_object(imp) ? json_string("model") : json_null());
}

/* The profile's Pearson matrix restricted to the most important numeric features (in
 * importance order) and the target when it is numeric. */
static json_t *correlation_part(const json_t *profile, const json_t *importance, const char *target)
{
    const json_t *corr = json_object_get(profile, "correlations");
    const json_t *names = json_object_get(corr, "features"),
                 *matrix = json_object_get(corr, "matrix");
    size_t n = json_array_size(names);
    if (n < 2)
        return json_null();
    size_t pick[REPORT_CORR_FEATURES + 1], k = 0;
    for (size_t i = 0; i <= json_array_size(importance) && k < REPORT_CORR_FEATURES + 1; i++) {
        const char *want =
            i < json_array_size(importance)
                ? json_string_value(json_object_get(json_array_get(importance, i), "feature"))
                : target;
        if (i < json_array_size(importance) && k == REPORT_CORR_FEATURES)
            continue; /* room is kept for the target */
        for (size_t j = 0; want != NULL && j < n; j++)
            if (strcmp(json_string_value(json_array_get(names, j)), want) == 0)
                pick[k++] = j;
    }
    if (k < 2)
        return json_null();
    json_t *feats = json_array(), *rows = json_array();
    for (size_t a = 0; a < k; a++) {
        json_array_append(feats, json_array_get(names, pick[a]));
        json_t *row = json_array();
        for (size_t b = 0; b < k; b++)
            json_array_append(row, json_array_get(json_array_get(matrix, pick[a]), pick[b]));
        json_array_append_new(rows, row);
    }
    return json_pack("{s:s, s:o, s:o}", "method", "pearson", "features", feats, "matrix", rows);
}

/* --- slices --------------------------------------------------------------------------------------
 */

/* Regression metrics of one group of rows (idx[0..n) into p). */
static json_t *group_regression(const struct labelled_predictions *p, const size_t *idx, size_t n)
{
    double se = 0, ae = 0;
    for (size_t i = 0; i < n; i++) {
        double d = p->pred[idx[i]] - p->y[idx[i]];
        se += d * d;
        ae += fabs(d);
    }
    return json_pack("{s:I, s:o, s:o}", "rows", (json_int_t)n, "rmse",
                     jsonx_num(n ? sqrt(se / (double)n) : NAN, 0), "mae",
                     jsonx_num(n ? ae / (double)n : NAN, 0));
}

/* Classification metrics of one group of rows: accuracy; for binary tasks also the
 * positive class's base rate, recall, precision, predicted rate and AUC. */
static json_t *group_classification(const struct labelled_predictions *p, const size_t *idx,
                                    size_t n)
{
    size_t K = p->outputs, correct = 0, tp = 0, fp = 0, pos = 0;
    double *score = K == 2 ? malloc((n ? n : 1) * sizeof *score) : NULL;
    uint8_t *y01 = K == 2 ? malloc(n ? n : 1) : NULL;
    for (size_t i = 0; i < n; i++) {
        const double *row = p->pred + idx[i] * K;
        size_t best = 0, truth = (size_t)p->y[idx[i]];
        for (size_t k = 1; k < K; k++)
            if (row[k] > row[best])
                best = k;
        correct += best == truth;
        pos += truth == 1;
        tp += best == 1 && truth == 1;
        fp += best == 1 && truth != 1;
        if (score != NULL && y01 != NULL) {
            score[i] = row[1];
            y01[i] = (uint8_t)(truth == 1);
        }
    }
    json_t *o = json_pack("{s:I, s:o}", "rows", (json_int_t)n, "accuracy",
                          jsonx_num(n ? (double)correct / (double)n : NAN, 0));
    if (K == 2 && o != NULL) {
        double auc = NAN;
        if (score == NULL || y01 == NULL || stats_roc_auc(score, y01, n, &auc) != 0)
            auc = NAN;
        json_object_set_new(o, "base_rate", jsonx_num(n ? (double)pos / (double)n : NAN, 0));
        json_object_set_new(o, "recall", jsonx_num(pos ? (double)tp / (double)pos : NAN, 0));
        json_object_set_new(o, "precision",
                            jsonx_num(tp + fp ? (double)tp / (double)(tp + fp) : NAN, 0));
        json_object_set_new(o, "predicted_rate",
                            jsonx_num(n ? (double)(tp + fp) / (double)n : NAN, 0));
        json_object_set_new(o, "auc", jsonx_num(auc, 0));
    }
    free(score);
    free(y01);
    return o;
}

/* For each metric, the best and the worst group with enough rows, and whether the gap
 * between them is large enough to flag. Error metrics (rmse, mae) are better low. */
static json_t *slice_gaps(const json_t *groups, const json_t *overall)
{
    static const char *const metrics[] = {"accuracy",       "recall", "precision", "auc",
                                          "predicted_rate", "rmse",   "mae"};
    json_t *gaps = json_array();
    for (size_t k = 0; k < sizeof metrics / sizeof metrics[0]; k++) {
        int lower_better = k >= 5;
        const json_t *best = NULL, *worst = NULL;
        double bv = NAN, wv = NAN;
        size_t i;
        const json_t *g;
        json_array_foreach(groups, i, g)
        {
            double v = report_num(g, metrics[k], NULL);
            if (isnan(v) || report_num(g, "rows", NULL) < REPORT_MIN_SLICE_ROWS)
                continue;
            double score = lower_better ? -v : v;
            if (best == NULL || score > (lower_better ? -bv : bv))
                best = g, bv = v;
            if (worst == NULL || score < (lower_better ? -wv : wv))
                worst = g, wv = v;
        }
        if (best == NULL || best == worst)
            continue;
        double gap = fabs(bv - wv);
        double ref = report_num(overall, metrics[k], NULL);
        int flagged = lower_better ? !isnan(ref) && ref > 0 && gap >= 0.1 * ref : gap >= 0.05;
        json_array_append_new(gaps, json_pack("{s:s, s:O, s:O, s:o, s:b}", "metric", metrics[k],
                                              "best", json_object_get(best, "value"), "worst",
                                              json_object_get(worst, "value"), "gap",
                                              jsonx_num(gap, 0), "flagged", flagged));
    }
    return gaps;
}

/* The groups of categorical column c over the evaluated rows, with their metrics. */
static json_t *slice_of(const struct model *m, const struct column *c,
                        const struct labelled_predictions *p, const json_t *overall)
{
    uint32_t ng = c->dict.count;
    size_t *count = calloc(ng + 1, sizeof *count), *start = calloc(ng + 2, sizeof *start);
    size_t *idx = malloc((p->n ? p->n : 1) * sizeof *idx);
    json_t *groups = json_array();
    if (count == NULL || start == NULL || idx == NULL || groups == NULL)
        goto done;
    /* bucket the evaluated rows by code (missing last) */
    for (size_t i = 0; i < p->n; i++) {
        uint32_t code = c->codes[p->rows[i]];
        count[code == TABLE_MISSING ? ng : code]++;
    }
    for (uint32_t g = 0; g <= ng; g++)
        start[g + 1] = start[g] + count[g];
    memset(count, 0, (ng + 1) * sizeof *count);
    for (size_t i = 0; i < p->n; i++) {
        uint32_t code = c->codes[p->rows[i]];
        size_t g = code == TABLE_MISSING ? ng : code;
        idx[start[g] + count[g]++] = i;
    }
    for (uint32_t g = 0; g <= ng; g++) {
        if (count[g] == 0)
            continue;
        json_t *o = m->target.task == TASK_REGRESSION
                        ? group_regression(p, idx + start[g], count[g])
                        : group_classification(p, idx + start[g], count[g]);
        json_object_set_new(o, "value",
                            g == ng
                                ? json_null()
                                : json_stringn(strdict_str(&c->dict, g), strdict_len(&c->dict, g)));
        json_array_append_new(groups, o);
    }
done:
    free(count);
    free(start);
    free(idx);
    if (groups == NULL)
        return NULL;
    return json_pack("{s:s, s:o, s:o}", "column", c->name, "groups", groups, "gaps",
                     slice_gaps(groups, overall));
}

static json_t *slices_part(const struct model *m, const struct table *t,
                           const struct labelled_predictions *p, const json_t *overall)
{
    json_t *a = json_array();
    for (size_t j = 0; a != NULL && j < t->ncols && json_array_size(a) < REPORT_MAX_SLICE_COLUMNS;
         j++) {
        const struct column *c = &t->cols[j];
        if (c->storage != COL_DICT || (c->type != COL_CATEGORICAL && c->type != COL_BOOLEAN) ||
            c->dict.count < 2 || c->dict.count > 20 || strcmp(c->name, m->target.name) == 0)
            continue;
        json_t *s = slice_of(m, c, p, overall);
        if (s != NULL)
            json_array_append_new(a, s);
    }
    return a;
}

/* --- the document ----------------------------------------------------------------------------- */

static int profile_of(const struct report_source *src, json_t **owned, const json_t **profile)
{
    *owned = NULL;
    *profile = src->profile;
    if (*profile != NULL)
        return AIOPS_OK;
    int rv =
        profile_compute(src->table, table_find(src->table, src->model->target.name), NULL, owned);
    *profile = *owned;
    return rv;
}

int report_inputs_compute(const struct report_source *src, json_t **out, struct aiops_error *err)
{
    *out = NULL;
    const struct model *m = src->model;
    struct labelled_predictions p;
    struct aiops_error terr = AIOPS_ERROR_INIT;
    int rv = train_predict_labelled(m, src->table, src->rows, src->nrows, &p, &terr);
    if (rv == AIOPS_EINVAL)
        return aiops_error_set(err, rv, terr.field, "%s", terr.message);
    if (rv != 0)
        return aiops_error_set(err, rv, NULL, "predicting: %s", aiops_strerror(rv));
    json_t *doc =
        json_pack("{s:i, s:o, s:{s:I, s:s}, s:o, s:o, s:n, s:n}", "version", REPORT_INPUTS_VERSION,
                  "model", model_part(m), "data", "rows", (json_int_t)src->table->nrows,
                  "evaluated_on", src->evaluated_on ? src->evaluated_on : "given", "history",
                  json_object(), "slices", json_array(), "drift", "run");
    json_t *owned_profile = NULL;
    const json_t *profile = NULL;
    if (doc == NULL)
        rv = AIOPS_ENOMEM;
    else if (p.n == 0)
        rv = aiops_error_set(err, AIOPS_EINVAL, "data", "no row to evaluate has a target value");
    if (rv == 0)
        rv = evaluation_part(m, &p, doc);
    if (rv == 0 && (rv = profile_of(src, &owned_profile, &profile)) != 0)
        aiops_error_set(err, rv, NULL, "profiling the data: %s", aiops_strerror(rv));
    if (rv == 0) {
        importance_part(m, src->descriptions, doc);
        json_object_set_new(
            doc, "correlation",
            correlation_part(profile, json_object_get(doc, "importance"), m->target.name));
        json_t *leak = json_object_get(profile, "leakage");
        json_object_set_new(doc, "leakage", leak ? json_deep_copy(leak) : json_array());
        json_object_set_new(doc, "slices",
                            slices_part(m, src->table, &p, json_object_get(doc, "metrics")));
    }
    json_decref(owned_profile);
    labelled_predictions_free(&p);
    if (rv != 0) {
        json_decref(doc);
        return rv;
    }
    *out = doc;
    return AIOPS_OK;
}

void report_inputs_set_history(json_t *inputs, json_t *history)
{
    json_object_set_new(inputs, "history", history ? history : json_object());
}

void report_inputs_set_importance(json_t *inputs, json_t *list, const char *method)
{
    const json_t *old = json_object_get(inputs, "importance");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        /* a description the new source lacks is kept from the old list */
        if (json_string_value(json_object_get(e, "description")) != NULL)
            continue;
        const char *f = json_string_value(json_object_get(e, "feature"));
        size_t k;
        const json_t *o;
        json_array_foreach(old, k, o)
        {
            if (f && strcmp(f, json_string_value(json_object_get(o, "feature"))) == 0)
                json_object_set(e, "description", json_object_get(o, "description"));
        }
    }
    sort_importance(list);
    json_object_set_new(inputs, "importance", list);
    json_object_set_new(inputs, "importance_method", method ? json_string(method) : json_null());
}

size_t report_inputs_top_features(const json_t *inputs, size_t n, const json_t **out)
{
    const json_t *list = json_object_get(inputs, "importance");
    size_t k = 0;
    for (; k < n && k < json_array_size(list); k++)
        out[k] = json_array_get(list, k);
    return k;
}
