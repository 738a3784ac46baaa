#include "report/pdf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "core/time.h"
#include "report/inputs.h"
#include "report/pdfdraw.h"

/* The words of the report in each language. */
struct words {
    const char *title, *subtitle, *summary, *insights, *actions, *metrics, *confusion, *importance,
        *roc, *pr, *gains, *lift, *calibration, *training, *correlation, *card, *drift, *no_drift,
        *metric, *value, *klass, *predicted, *actual, *fpr, *tpr, *recall, *precision, *contacted,
        *found, *mean_pred, *observed, *iteration, *random, *model, *group, *rows, *limitations,
        *intended, *generated;
};

static const struct words KO = {
    "AI 분석 보고서", "모델 성능과 실행 계획", "요약", "핵심 인사이트", "실행 계획", "성능 지표",
    "혼동 행렬", "변수 중요도", "ROC 곡선", "정밀도-재현율 곡선", "누적 이득(Gains)", "십분위 리프트",
    "확률 보정", "학습 곡선", "상관관계", "모델 카드", "드리프트", "드리프트는 아직 측정되지 않았습니다.",
    "지표", "값", "클래스", "예측", "실제", "거짓 양성률", "참 양성률", "재현율", "정밀도",
    "연락 비율(%)", "찾은 반응 비율(%)", "예측 확률", "실제 비율", "반복", "무작위", "모델", "그룹", "행",
    "한계", "사용 목적", "생성"};
static const struct words EN = {
    "AI Analysis Report", "Model performance and action plan", "Executive summary",
    "Key insights", "Action plan", "Metrics", "Confusion matrix", "Feature importance",
    "ROC curve", "Precision-recall curve", "Cumulative gains", "Lift by decile", "Calibration",
    "Training curves", "Correlation", "Model card", "Drift", "Drift has not been measured yet.",
    "Metric", "Value", "Class", "Predicted", "Actual", "False positive rate",
    "True positive rate", "Recall", "Precision", "Contacted (%)", "Responders found (%)",
    "Predicted probability", "Observed rate", "Iteration", "Random", "Model", "Group", "Rows",
    "Limitations", "Intended use", "Generated"};

struct ctx {
    struct pdfw *w;
    const struct words *t;
    const json_t *in, *ai, *card;
    const struct report_pdf_options *opt;
};

static double *numbers(const json_t *a, size_t *n)
{
    *n = json_array_size(a);
    double *v = malloc((*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; v != NULL && i < *n; i++)
        v[i] = json_is_number(json_array_get(a, i)) ? json_number_value(json_array_get(a, i)) : NAN;
    if (v == NULL)
        *n = 0;
    return v;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void fmt_num(char *out, size_t cap, double v)
{
    if (isnan(v))
        snprintf(out, cap, "-");
    else
        snprintf(out, cap, "%.4g", v);
}

/* --- pages --------------------------------------------------------------------------------------- */

static void title_page(struct ctx *c)
{
    struct pdfw *w = c->w;
    pdfw_page(w, NULL);
    /* a tall brand band on the title page */
    for (int i = 0; i < 60; i++) {
        float t = (float)i / 59;
        struct rgb col = {PDFW_BLUE.r + t * (PDFW_VIOLET.r - PDFW_BLUE.r),
                          PDFW_BLUE.g + t * (PDFW_VIOLET.g - PDFW_BLUE.g),
                          PDFW_BLUE.b + t * (PDFW_VIOLET.b - PDFW_BLUE.b)};
        pdfw_rect(w, (float)i * PDFW_WIDTH / 60, PDFW_HEIGHT - 300, PDFW_WIDTH / 60 + 0.5f, 300, col, 0);
    }
    const json_t *model = json_object_get(c->in, "model");
    const char *name = c->opt->title ? c->opt->title : str(model, "name");
    pdfw_text(w, PDFW_MARGIN, PDFW_HEIGHT - 150, 30, 1, (struct rgb){1, 1, 1}, c->t->title);
    pdfw_text(w, PDFW_MARGIN, PDFW_HEIGHT - 185, 15, 0, (struct rgb){1, 1, 1}, c->t->subtitle);
    pdfw_text(w, PDFW_MARGIN, PDFW_HEIGHT - 240, 13, 1, (struct rgb){1, 1, 1}, name);
    w->y = PDFW_HEIGHT - 350;
    char line[512], now[40];
    time_iso8601(now, sizeof now, time_now());
    const json_t *run = json_object_get(c->in, "run");
    snprintf(line, sizeof line, "%s: %s (%s), %s: %s", c->t->model, str(model, "kind"),
             str(model, "task"), "target", str(model, "target"));
    pdfw_paragraph(w, 11, 0, PDFW_BLACK, 0, line);
    if (json_is_object(run)) {
        snprintf(line, sizeof line, "run %s, dataset %s", str(run, "run_id"), str(run, "dataset_id"));
        pdfw_paragraph(w, 11, 0, PDFW_BLACK, 0, line);
    }
    snprintf(line, sizeof line, "%s: %s", c->t->generated, now);
    pdfw_paragraph(w, 11, 0, PDFW_GREY, 0, line);
    w->y -= 20;
    const json_t *m = json_object_get(c->in, "metrics");
    static const char *const heads[] = {"accuracy", "auc", "f1", "rmse", "r2"};
    float x = PDFW_MARGIN;
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        double v = report_num(m, heads[i], NULL);
        if (isnan(v))
            continue;
        char val[32];
        fmt_num(val, sizeof val, v);
        pdfw_rect(w, x, w->y - 40, 95, 55, (struct rgb){0.94f, 0.95f, 1}, 0);
        pdfw_text(w, x + 10, w->y - 2, 9, 0, PDFW_GREY, heads[i]);
        pdfw_text(w, x + 10, w->y - 28, 18, 1, PDFW_BLUE, val);
        x += 105;
    }
}

static void text_list(struct ctx *c, const char *title, const json_t *list)
{
    pdfw_section(c->w, title);
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        char item[1200];
        snprintf(item, sizeof item, "%zu. %s", i + 1, json_string_value(e) ? json_string_value(e) : "");
        pdfw_paragraph(c->w, 10, 0, PDFW_BLACK, 6, item);
        c->w->y -= 3;
    }
}

static void summary_pages(struct ctx *c)
{
    pdfw_page(c->w, c->t->summary);
    pdfw_section(c->w, c->t->summary);
    pdfw_paragraph(c->w, 10.5f, 0, PDFW_BLACK, 0, str(c->ai, "summary"));
    c->w->y -= 8;
    if (c->opt->include_insights)
        text_list(c, c->t->insights, json_object_get(c->ai, "aiInsights"));
    if (c->opt->include_action_plan)
        text_list(c, c->t->actions, json_object_get(c->ai, "actionPlan"));
}

static void metrics_table(struct ctx *c)
{
    static const char *const keys[] = {"n",        "accuracy",      "precision",   "recall",
                                       "f1",       "auc",           "pr_auc",      "logloss",
                                       "brier",    "ece",           "macro_f1",    "weighted_f1",
                                       "rmse",     "mae",           "r2",          "mse"};
    const json_t *m = json_object_get(c->in, "metrics");
    const char *cells[2 * 17];
    char vals[16][32];
    size_t rows = 1;
    cells[0] = c->t->metric;
    cells[1] = c->t->value;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        double v = report_num(m, keys[i], NULL);
        if (isnan(v))
            continue;
        fmt_num(vals[i], sizeof vals[i], v);
        cells[rows * 2] = keys[i];
        cells[rows * 2 + 1] = vals[i];
        rows++;
    }
    pdfw_page(c->w, c->t->metrics);
    pdfw_section(c->w, c->t->metrics);
    pdfw_table(c->w, 2, (const float[]){160, 120}, rows, cells);
}

/* The confusion matrix as shaded cells with counts (up to 12 classes). */
static void confusion(struct ctx *c)
{
    const json_t *cm = json_object_get(json_object_get(c->in, "metrics"), "confusion_matrix");
    size_t K = json_array_size(cm);
    if (K < 2 || K > 12)
        return;
    struct pdfw *w = c->w;
    float cell = K <= 4 ? 50 : 280.0f / (float)K, side = cell * (float)K;
    pdfw_section(w, c->t->confusion);
    pdfw_need(w, side + 40, c->t->metrics);
    double max = 1;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++)
            max = fmax(max, report_num(json_array_get(json_array_get(cm, i), j), NULL));
    float x0 = PDFW_MARGIN + 60, top = w->y - 10;
    const json_t *per_class = json_object_get(json_object_get(c->in, "metrics"), "per_class");
    for (size_t i = 0; i < K; i++) {
        char label[64];
        const json_t *cl = json_object_get(json_array_get(per_class, i), "class");
        if (json_is_string(cl))
            snprintf(label, sizeof label, "%.20s", json_string_value(cl));
        else
            snprintf(label, sizeof label, "%zu", i);
        pdfw_text(w, PDFW_MARGIN, top - cell * (float)i - cell / 2 - 3, 8, 0, PDFW_BLACK, label);
        pdfw_text(w, x0 + cell * (float)i + 2, top + 4, 8, 0, PDFW_BLACK, label);
        for (size_t j = 0; j < K; j++) {
            double v = report_num(json_array_get(json_array_get(cm, i), j), NULL);
            float t = (float)(v / max);
            pdfw_rect(w, x0 + cell * (float)j, top - cell * (float)(i + 1), cell, cell,
                      (struct rgb){1 - 0.8f * t, 1 - 0.55f * t, 1 - 0.05f * t}, 1);
            char n[32];
            snprintf(n, sizeof n, "%.0f", v);
            pdfw_text(w, x0 + cell * (float)j + 4, top - cell * (float)i - cell / 2 - 3, 8, 0,
                      t > 0.6f ? (struct rgb){1, 1, 1} : PDFW_BLACK, n);
        }
    }
    pdfw_text(w, x0 + side + 8, top - side / 2, 8, 0, PDFW_GREY, c->t->actual);
    pdfw_text(w, x0, top + 16, 8, 0, PDFW_GREY, c->t->predicted);
    w->y = top - side - 20;
}

/* The first at most max bytes of s into out (max + 1 bytes), cut back to whole UTF-8
 * characters: a Korean name or description is never cut inside a syllable. */
static void utf8_prefix(char *out, size_t max, const char *s)
{
    size_t n = strnlen(s, max), bad;
    memcpy(out, s, n);
    out[n] = '\0';
    if (!utf8_valid(out, n, &bad))
        out[bad] = '\0';
}

/* Horizontal bars of the top 15 features, labelled with their descriptions. */
static void importance_chart(struct ctx *c)
{
    const json_t *top[15];
    size_t n = report_inputs_top_features(c->in, 15, top);
    if (n == 0)
        return;
    struct pdfw *w = c->w;
    pdfw_page(w, c->t->importance);
    pdfw_section(w, c->t->importance);
    double max = report_num(top[0], "importance", NULL);
    float bar_x = PDFW_MARGIN + 190, bar_w = PDFW_WIDTH - PDFW_MARGIN - bar_x - 50;
    for (size_t i = 0; i < n; i++) {
        double v = report_num(top[i], "importance", NULL);
        char label[300], val[32], name[41], d[31];
        utf8_prefix(d, 30, str(top[i], "description"));
        utf8_prefix(name, d[0] ? 28 : 40, str(top[i], "feature"));
        snprintf(label, sizeof label, d[0] ? "%s (%s)" : "%s", name, d);
        pdfw_fit(w, label, 8, 185);
        pdfw_text(w, PDFW_MARGIN, w->y, 8, 0, PDFW_BLACK, label);
        float bw = max > 0 && !isnan(v) ? (float)(v / max) * bar_w : 0;
        pdfw_rect(w, bar_x, w->y - 2, bw, 10, PDFW_BLUE, 0);
        snprintf(val, sizeof val, "%.3f", v);
        pdfw_text(w, bar_x + bw + 4, w->y, 7.5f, 0, PDFW_GREY, val);
        w->y -= 17;
    }
    w->y -= 10;
}

/* Two charts side by side: ROC and precision-recall. */
static void curve_charts(struct ctx *c)
{
    const json_t *curves = json_object_get(c->in, "curves");
    if (!json_is_object(curves))
        return;
    struct pdfw *w = c->w;
    pdfw_need(w, 260, c->t->importance);
    struct pdfw_axes roc = {PDFW_MARGIN + 30, w->y - 210, 200, 190, 0, 1, 0, 1};
    struct pdfw_axes pr = {PDFW_MARGIN + 290, w->y - 210, 200, 190, 0, 1, 0, 1};
    pdfw_axes(w, &roc, c->t->roc, c->t->fpr, c->t->tpr);
    pdfw_axes(w, &pr, c->t->pr, c->t->recall, c->t->precision);
    size_t n1, n2, n3, n4;
    const json_t *r = json_object_get(curves, "roc"), *p = json_object_get(curves, "pr");
    double *fx = numbers(json_object_get(r, "fpr"), &n1), *ty = numbers(json_object_get(r, "tpr"), &n2);
    double *rx = numbers(json_object_get(p, "recall"), &n3);
    double *py = numbers(json_object_get(p, "precision"), &n4);
    static const double diag[2] = {0, 1};
    pdfw_line(w, &roc, diag, diag, 2, PDFW_GREY, 1);
    if (fx && ty)
        pdfw_line(w, &roc, fx, ty, n1 < n2 ? n1 : n2, PDFW_BLUE, 0);
    if (rx && py)
        pdfw_line(w, &pr, rx, py, n3 < n4 ? n3 : n4, PDFW_VIOLET, 0);
    free(fx);
    free(ty);
    free(rx);
    free(py);
    w->y -= 250;
}

/* Cumulative gains against random, and lift per decile as bars. */
static void gains_charts(struct ctx *c)
{
    const json_t *m = json_object_get(c->in, "metrics");
    const json_t *gains = json_object_get(m, "gains"), *lift = json_object_get(m, "lift");
    size_t n = json_array_size(gains);
    if (n == 0)
        return;
    struct pdfw *w = c->w;
    pdfw_page(w, c->t->gains);
    double xs[11] = {0}, ys[11] = {0}, maxlift = 1;
    for (size_t i = 0; i < n && i < 10; i++) {
        xs[i + 1] = report_num(json_array_get(gains, i), "rows_pct", NULL);
        ys[i + 1] = report_num(json_array_get(gains, i), "gain_pct", NULL);
        maxlift = fmax(maxlift, report_num(json_array_get(lift, i), "lift", NULL));
    }
    struct pdfw_axes g = {PDFW_MARGIN + 30, w->y - 210, 200, 190, 0, 100, 0, 100};
    pdfw_axes(w, &g, c->t->gains, c->t->contacted, c->t->found);
    static const double diag[2] = {0, 100};
    pdfw_line(w, &g, diag, diag, 2, PDFW_GREY, 1);
    pdfw_line(w, &g, xs, ys, (n < 10 ? n : 10) + 1, PDFW_BLUE, 0);
    pdfw_legend(w, g.x + 8, g.y + g.h - 14, PDFW_BLUE, c->t->model);
    pdfw_legend(w, g.x + 8, g.y + g.h - 26, PDFW_GREY, c->t->random);
    struct pdfw_axes l = {PDFW_MARGIN + 290, w->y - 210, 200, 190, 0, 10, 0, ceil(maxlift)};
    pdfw_axes(w, &l, c->t->lift, "decile", "lift");
    for (size_t i = 0; i < n && i < 10; i++) {
        double v = report_num(json_array_get(lift, i), "lift", NULL);
        if (!isnan(v))
            pdfw_rect(w, l.x + l.w * (float)i / 10 + 2, l.y, l.w / 10 - 4,
                      (float)(v / ceil(maxlift)) * l.h, PDFW_VIOLET, 0);
    }
    w->y -= 250;
}

static void calibration_chart(struct ctx *c)
{
    const json_t *bins = json_object_get(json_object_get(c->in, "metrics"), "calibration");
    size_t n = json_array_size(bins), k = 0;
    if (n == 0)
        return;
    struct pdfw *w = c->w;
    pdfw_need(w, 260, c->t->gains);
    double xs[16], ys[16];
    for (size_t i = 0; i < n && k < 16; i++) {
        const json_t *b = json_array_get(bins, i);
        if (report_num(b, "count", NULL) > 0) {
            xs[k] = report_num(b, "mean_predicted", NULL);
            ys[k++] = report_num(b, "observed_rate", NULL);
        }
    }
    struct pdfw_axes a = {PDFW_MARGIN + 30, w->y - 210, 200, 190, 0, 1, 0, 1};
    pdfw_axes(w, &a, c->t->calibration, c->t->mean_pred, c->t->observed);
    static const double diag[2] = {0, 1};
    pdfw_line(w, &a, diag, diag, 2, PDFW_GREY, 1);
    pdfw_line(w, &a, xs, ys, k, PDFW_GREEN, 0);
    w->y -= 250;
}

/* Every history key as a line over the iterations (at most 6 keys). */
static void training_chart(struct ctx *c)
{
    const json_t *h = json_object_get(c->in, "history");
    if (json_object_size(h) == 0)
        return;
    struct pdfw *w = c->w;
    double x1 = 1, y0 = INFINITY, y1 = -INFINITY;
    const char *key;
    const json_t *series;
    json_object_foreach((json_t *)h, key, series)
    {
        size_t i;
        const json_t *pt;
        json_array_foreach(series, i, pt)
        {
            double x = report_num(json_array_get(pt, 0), NULL), y = report_num(json_array_get(pt, 1), NULL);
            if (!isnan(x))
                x1 = fmax(x1, x);
            if (!isnan(y) && isfinite(y)) {
                y0 = fmin(y0, y);
                y1 = fmax(y1, y);
            }
        }
    }
    if (!(y1 >= y0))
        return;
    pdfw_page(w, c->t->training);
    struct pdfw_axes a = {PDFW_MARGIN + 40, w->y - 300, 440, 280, 0, x1, y0, y1 > y0 ? y1 : y0 + 1};
    pdfw_axes(w, &a, c->t->training, c->t->iteration, NULL);
    static const struct rgb *const colors[] = {&PDFW_BLUE, &PDFW_VIOLET, &PDFW_GREEN,
                                               &PDFW_ORANGE, &PDFW_RED, &PDFW_GREY};
    size_t k = 0;
    json_object_foreach((json_t *)h, key, series)
    {
        if (k == 6)
            break;
        size_t n = json_array_size(series);
        double *xs = malloc((n ? n : 1) * sizeof *xs), *ys = malloc((n ? n : 1) * sizeof *ys);
        for (size_t i = 0; xs && ys && i < n; i++) {
            xs[i] = report_num(json_array_get(json_array_get(series, i), 0), NULL);
            ys[i] = report_num(json_array_get(json_array_get(series, i), 1), NULL);
        }
        if (xs && ys)
            pdfw_line(w, &a, xs, ys, n, *colors[k], 0);
        pdfw_legend(w, a.x + a.w - 110, a.y + a.h - 14 - 12 * (float)k, *colors[k], key);
        free(xs);
        free(ys);
        k++;
    }
    w->y -= 340;
}

static void correlation_chart(struct ctx *c)
{
    const json_t *corr = json_object_get(c->in, "correlation");
    const json_t *names = json_object_get(corr, "features"), *mat = json_object_get(corr, "matrix");
    size_t k = json_array_size(names);
    if (k < 2)
        return;
    struct pdfw *w = c->w;
    pdfw_page(w, c->t->correlation);
    pdfw_section(w, c->t->correlation);
    float cell = fminf(30, 360.0f / (float)k), x0 = PDFW_MARGIN + 110, top = w->y - 10;
    for (size_t i = 0; i < k; i++) {
        char label[80];
        snprintf(label, sizeof label, "%s", json_string_value(json_array_get(names, i)));
        pdfw_fit(w, label, 7, 105);
        pdfw_text(w, PDFW_MARGIN, top - cell * (float)i - cell / 2 - 2, 7, 0, PDFW_BLACK, label);
        for (size_t j = 0; j < k; j++) {
            double v = report_num(json_array_get(json_array_get(mat, i), j), NULL);
            pdfw_rect(w, x0 + cell * (float)j, top - cell * (float)(i + 1), cell, cell,
                      pdfw_diverging(v), 1);
            if (cell >= 24 && !isnan(v)) {
                char t[16];
                snprintf(t, sizeof t, "%.2f", v);
                pdfw_text(w, x0 + cell * (float)j + 3, top - cell * (float)i - cell / 2 - 2, 6.5f, 0,
                          fabs(v) > 0.6 ? (struct rgb){1, 1, 1} : PDFW_BLACK, t);
            }
        }
    }
    w->y = top - cell * (float)k - 20;
}

/* The model card's page: intended use, data, slices with flagged gaps, limitations. */
static void card_page(struct ctx *c)
{
    if (!json_is_object(c->card))
        return;
    struct pdfw *w = c->w;
    pdfw_page(w, c->t->card);
    pdfw_section(w, c->t->intended);
    pdfw_paragraph(w, 10, 0, PDFW_BLACK, 0, str(c->card, "intended_use"));
    const json_t *slices = json_object_get(c->card, "slices");
    if (json_is_object(slices)) {
        char title[200];
        snprintf(title, sizeof title, "%s: %s", c->t->group, str(slices, "column"));
        pdfw_section(w, title);
        const json_t *groups = json_object_get(slices, "groups");
        size_t n = json_array_size(groups) < 12 ? json_array_size(groups) : 12;
        const char **cells = calloc((n + 1) * 4, sizeof *cells);
        char (*vals)[32] = calloc((n + 1) * 4, sizeof *vals);
        if (cells != NULL && vals != NULL) {
            cells[0] = c->t->group;
            cells[1] = c->t->rows;
            cells[2] = "accuracy";
            cells[3] = "auc / rmse";
            for (size_t i = 0; i < n; i++) {
                const json_t *g = json_array_get(groups, i);
                const char *v = json_string_value(json_object_get(g, "value"));
                snprintf(vals[4 * i], 32, "%.30s", v ? v : "(missing)");
                fmt_num(vals[4 * i + 1], 32, report_num(g, "rows", NULL));
                fmt_num(vals[4 * i + 2], 32, report_num(g, "accuracy", NULL));
                double a = report_num(g, "auc", NULL);
                fmt_num(vals[4 * i + 3], 32, isnan(a) ? report_num(g, "rmse", NULL) : a);
                for (size_t k = 0; k < 4; k++)
                    cells[4 * (i + 1) + k] = vals[4 * i + k];
            }
            pdfw_table(w, 4, (const float[]){150, 80, 90, 90}, n + 1, cells);
        }
        free(cells);
        free(vals);
    }
    text_list(c, c->t->limitations, json_object_get(c->card, "limitations"));
}

static void drift_page(struct ctx *c)
{
    const json_t *drift = json_object_get(c->in, "drift");
    pdfw_section(c->w, c->t->drift);
    const json_t *feats = json_object_get(drift, "features");
    if (json_array_size(feats) == 0) {
        pdfw_paragraph(c->w, 10, 0, PDFW_GREY, 0, c->t->no_drift);
        return;
    }
    size_t n = json_array_size(feats) < 20 ? json_array_size(feats) : 20;
    const char **cells = calloc((n + 1) * 3, sizeof *cells);
    char (*vals)[40] = calloc((n + 1) * 3, sizeof *vals);
    if (cells != NULL && vals != NULL) {
        cells[0] = "feature";
        cells[1] = "psi";
        cells[2] = "ks";
        for (size_t i = 0; i < n; i++) {
            const json_t *f = json_array_get(feats, i);
            snprintf(vals[3 * i], 40, "%.36s", str(f, "feature"));
            fmt_num(vals[3 * i + 1], 40, report_num(f, "psi", NULL));
            fmt_num(vals[3 * i + 2], 40, report_num(f, "ks", NULL));
            for (size_t k = 0; k < 3; k++)
                cells[3 * (i + 1) + k] = vals[3 * i + k];
        }
        pdfw_table(c->w, 3, (const float[]){200, 90, 90}, n + 1, cells);
    }
    free(cells);
    free(vals);
}

/* Every page of the report (pdfw_draw_fn). */
static void draw_report(struct pdfw *w, void *arg)
{
    struct ctx *c = arg;
    c->w = w;
    title_page(c);
    summary_pages(c);
    metrics_table(c);
    confusion(c);
    if (c->opt->include_charts) {
        importance_chart(c);
        curve_charts(c);
        gains_charts(c);
        calibration_chart(c);
        training_chart(c);
        correlation_chart(c);
    }
    card_page(c);
    drift_page(c);
}

int report_pdf(const json_t *inputs, const json_t *ai, const json_t *card,
               const struct report_pdf_options *opt, struct buf *out, struct aiops_error *err)
{
    struct ctx c = {.t = opt->lang == REPORT_EN ? &EN : &KO, .in = inputs, .ai = ai,
                    .card = card, .opt = opt};
    return pdfw_render(c.t->title, "aiops " AIOPS_VERSION, draw_report, &c, out, err);
}
