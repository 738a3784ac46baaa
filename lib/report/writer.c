#include "report/writer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "report/inputs.h"

void report_assumptions_default(struct report_assumptions *a)
{
    a->contacts = 10000;
    a->cost_per_contact = 500;
    a->value_per_conversion = 20000;
    a->target_pct = 20;
    a->currency = "KRW";
}

int report_lang_parse(const char *s, enum report_lang *lang)
{
    if (s != NULL && strcmp(s, "ko") == 0)
        *lang = REPORT_KO;
    else if (s != NULL && strcmp(s, "en") == 0)
        *lang = REPORT_EN;
    else
        return AIOPS_EINVAL;
    return AIOPS_OK;
}

/* --- the writer's state: texts, and every number they show ----------------------------------- */

enum fmt {
    F_RATE,  /* a share 0..1 as a percentage with one decimal: 0.875 -> "87.5%" */
    F_PCT,   /* a percentage already: 25 -> "25.0%" */
    F_DEC3,  /* three decimals: "0.912" */
    F_TIMES, /* a ratio with two decimals: "3.21" */
    F_COUNT, /* a whole number with thousands separators: "12,345" */
    F_MONEY, /* millions with two decimals: 1250000 -> "1.25" */
};

#define FACT_SLOTS 96

struct writer {
    enum report_lang lang;
    const json_t *in;
    json_t *facts, *insights, *actions;
    struct buf summary;
    char text[FACT_SLOTS][40]; /* the formatted numbers, alive as long as the writer */
    size_t ntext;
    int failed;
};

static void with_commas(double v, char *out, size_t cap)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t n = strlen(digits), o = 0;
    if (v < 0 && o + 1 < cap)
        out[o++] = '-';
    for (size_t i = 0; i < n && o + 2 < cap; i++) {
        out[o++] = digits[i];
        if ((n - i - 1) % 3 == 0 && i + 1 < n)
            out[o++] = ',';
    }
    out[o] = '\0';
}

/* value written as f; recorded under name in the facts. The text lives as long as w. */
static const char *fact(struct writer *w, const char *name, double value, enum fmt f)
{
    if (w->ntext == FACT_SLOTS) {
        w->failed = 1;
        return "?";
    }
    char *t = w->text[w->ntext++];
    size_t cap = sizeof w->text[0];
    switch (f) {
    case F_RATE: snprintf(t, cap, "%.1f%%", 100 * value); break;
    case F_PCT: snprintf(t, cap, "%.1f%%", value); break;
    case F_DEC3: snprintf(t, cap, "%.3f", value); break;
    case F_TIMES: snprintf(t, cap, "%.2f", value); break;
    case F_COUNT: with_commas(value, t, cap); break;
    case F_MONEY: snprintf(t, cap, "%.2f", value / 1e6); break;
    }
    jsonx_push_or_fail(w->facts,
                       json_pack("{s:s, s:o, s:s}", "name", name, "value", jsonx_num(value, 0),
                                 "text", t),
                       &w->failed);
    return t;
}

/* Appends one sentence, in w's language, to list (or to the summary when list is NULL). */
static void say(struct writer *w, json_t *list, const char *ko, const char *en, ...)
{
    char s[1024];
    va_list ap;
    va_start(ap, en);
    vsnprintf(s, sizeof s, w->lang == REPORT_KO ? ko : en, ap);
    va_end(ap);
    if (list != NULL)
        jsonx_push_or_fail(list, json_string(s), &w->failed);
    else if ((w->summary.len > 0 && buf_putc(&w->summary, ' ') != 0) ||
             buf_puts(&w->summary, s) != 0)
        w->failed = 1;
}

/* "name" or "name(description)" of an importance entry, into out. */
static const char *feature_label(const json_t *e, char *out, size_t cap)
{
    const char *name = json_string_value(json_object_get(e, "feature"));
    const char *d = json_string_value(json_object_get(e, "description"));
    if (d != NULL && d[0] != '\0')
        snprintf(out, cap, "%s(%s)", name ? name : "?", d);
    else
        snprintf(out, cap, "%s", name ? name : "?");
    return out;
}

static const char *task_of(const struct writer *w)
{
    const char *t = json_string_value(json_object_get(json_object_get(w->in, "model"), "task"));
    return t ? t : "";
}

/* --- ROI ------------------------------------------------------------------------------------ */

struct roi {
    int valid;
    double base_rate, gain_pct, cum_lift, conv_model, conv_random, roi_model, roi_random;
    double extra_revenue;
};

/* The cumulative share of positives (percent) reached by the top pct% of scores: the gains
 * curve from (0, 0) through each decile, linear in between. */
static double gain_at(const json_t *gains, double pct)
{
    double x0 = 0, y0 = 0;
    size_t i;
    const json_t *g;
    json_array_foreach(gains, i, g)
    {
        double x1 = report_num(g, "rows_pct", NULL), y1 = report_num(g, "gain_pct", NULL);
        if (isnan(x1) || isnan(y1))
            return NAN;
        if (pct <= x1)
            return x1 > x0 ? y0 + (y1 - y0) * (pct - x0) / (x1 - x0) : y1;
        x0 = x1;
        y0 = y1;
    }
    return y0;
}

static struct roi estimate_roi(const json_t *in, const struct report_assumptions *a)
{
    struct roi r = {0};
    r.base_rate = report_num(in, "data", "base_rate", NULL);
    r.gain_pct = gain_at(json_object_get(json_object_get(in, "metrics"), "gains"), a->target_pct);
    if (isnan(r.base_rate) || !(r.base_rate > 0) || isnan(r.gain_pct))
        return r;
    r.cum_lift = r.gain_pct / a->target_pct;
    r.conv_random = a->contacts * r.base_rate;
    /* a contact cannot convert more than once: the rate is capped at 1 */
    r.conv_model = a->contacts * fmin(1.0, r.base_rate * r.cum_lift);
    double cost = a->contacts * a->cost_per_contact;
    r.extra_revenue = (r.conv_model - r.conv_random) * a->value_per_conversion;
    if (cost > 0) {
        r.roi_model = 100 * (r.conv_model * a->value_per_conversion - cost) / cost;
        r.roi_random = 100 * (r.conv_random * a->value_per_conversion - cost) / cost;
    }
    r.valid = cost > 0;
    return r;
}

/* --- the parts --------------------------------------------------------------------------------- */

/* The Korean sentences take the same arguments as the English ones, in the order their
 * grammar wants (positional conversions, %1$s). */
static void summary_binary(struct writer *w, const struct roi *r, const json_t *const *top,
                           size_t ntop, const struct report_assumptions *a)
{
    const json_t *m = json_object_get(w->in, "metrics");
    const json_t *lift = json_array_get(json_object_get(m, "lift"), 0);
    const char *kind = json_string_value(json_object_get(json_object_get(w->in, "model"), "kind"));
    const char *acc = fact(w, "accuracy", report_num(m, "accuracy", NULL), F_RATE);
    const char *auc = fact(w, "auc", report_num(m, "auc", NULL), F_DEC3);
    const char *rows =
        fact(w, "evaluated_rows", report_num(w->in, "data", "evaluated_rows", NULL), F_COUNT);
    say(w, NULL, "%1$s 모델의 평가 데이터 %4$s행 성능은 정확도 %2$s, AUC %3$s입니다.",
        "The %1$s model reached an accuracy of %2$s and an AUC of %3$s on %4$s evaluation rows.",
        kind, acc, auc, rows);
    if (lift != NULL && !isnan(report_num(lift, "lift", NULL))) {
        const char *l1 = fact(w, "top_decile_lift", report_num(lift, "lift", NULL), F_TIMES);
        const char *base = fact(w, "base_rate", r->base_rate, F_RATE);
        say(w, NULL, "점수 상위 10%% 고객의 반응률은 평균(%2$s)의 %1$s배입니다.",
            "The top 10%% of scores respond at %1$s times the average rate (%2$s).", l1, base);
    }
    if (r->valid) {
        const char *tp = fact(w, "target_pct", a->target_pct, F_PCT);
        const char *gain = fact(w, "gain_pct", r->gain_pct, F_PCT);
        say(w, NULL, "상위 %1$s에 연락하면 전체 반응 고객의 %2$s를 찾습니다.",
            "Contacting the top %1$s reaches %2$s of all responders.", tp, gain);
    }
    char f1[256], f2[256];
    if (ntop >= 2)
        say(w, NULL, "가장 중요한 변수는 %1$s, %2$s 순입니다.",
            "The most important features are %1$s and %2$s.", feature_label(top[0], f1, sizeof f1),
            feature_label(top[1], f2, sizeof f2));
}

static void summary_other(struct writer *w, const json_t *const *top, size_t ntop)
{
    const json_t *m = json_object_get(w->in, "metrics");
    const char *kind = json_string_value(json_object_get(json_object_get(w->in, "model"), "kind"));
    const char *rows =
        fact(w, "evaluated_rows", report_num(w->in, "data", "evaluated_rows", NULL), F_COUNT);
    if (strcmp(task_of(w), "regression") == 0) {
        const char *rmse = fact(w, "rmse", report_num(m, "rmse", NULL), F_DEC3);
        const char *mae = fact(w, "mae", report_num(m, "mae", NULL), F_DEC3);
        const char *r2 = fact(w, "r2", report_num(m, "r2", NULL), F_DEC3);
        say(w, NULL, "%1$s 회귀 모델의 평가 데이터 %5$s행 성능은 RMSE %2$s, MAE %3$s, R² %4$s입니다.",
            "The %1$s regression model reached an RMSE of %2$s, an MAE of %3$s and an R² of %4$s "
            "on %5$s evaluation rows.",
            kind, rmse, mae, r2, rows);
    } else {
        const char *acc = fact(w, "accuracy", report_num(m, "accuracy", NULL), F_RATE);
        const char *f1 = fact(w, "macro_f1", report_num(m, "macro_f1", NULL), F_DEC3);
        say(w, NULL, "%1$s 모델의 평가 데이터 %4$s행 성능은 정확도 %2$s, macro F1 %3$s입니다.",
            "The %1$s model reached an accuracy of %2$s and a macro F1 of %3$s on %4$s evaluation "
            "rows.",
            kind, acc, f1, rows);
    }
    char f1[256];
    if (ntop >= 1)
        say(w, NULL, "가장 중요한 변수는 %1$s입니다.", "The most important feature is %1$s.",
            feature_label(top[0], f1, sizeof f1));
}

/* Insights on ranking quality, importance and errors. */
static void insights_model(struct writer *w, const json_t *const *top, size_t ntop)
{
    const json_t *m = json_object_get(w->in, "metrics");
    if (ntop >= 3) {
        double share = 0;
        for (size_t i = 0; i < 3; i++)
            share += report_num(top[i], "importance", NULL);
        char a[256], b[256], c[256];
        say(w, w->insights, "상위 3개 변수(%s, %s, %s)가 모델 중요도의 %s를 차지합니다.",
            "The top three features %s, %s and %s carry %s of the model's importance.",
            feature_label(top[0], a, sizeof a), feature_label(top[1], b, sizeof b),
            feature_label(top[2], c, sizeof c), fact(w, "top3_importance", share, F_RATE));
    }
    for (size_t i = 0; i < ntop; i++) {
        double pv = report_num(top[i], "pValue", NULL);
        char a[256];
        /* whole Korean predicates: "유의합니다" / "유의하지 않습니다" (a stem and an ending
         * glued together gave "유의하지 않합니다") */
        if (!isnan(pv))
            say(w, w->insights, "%s의 효과는 통계적으로 %s (p = %s).",
                "The effect of %s is %s (p = %s).", feature_label(top[i], a, sizeof a),
                pv < 0.05 ? (w->lang == REPORT_KO ? "유의합니다" : "significant")
                          : (w->lang == REPORT_KO ? "유의하지 않습니다" : "not significant"),
                fact(w, "p_value", pv, F_DEC3));
    }
    if (strcmp(task_of(w), "binary") != 0)
        return;
    double recall = report_num(m, "recall", NULL), precision = report_num(m, "precision", NULL);
    if (!isnan(recall) && !isnan(precision))
        say(w, w->insights,
            "기본 임계값 0.5에서 실제 반응 고객의 %s를 찾고(재현율), 반응 예측 중 %s가 맞습니다(정밀도).",
            "At the default 0.5 threshold the model finds %s of actual responders (recall), and %s "
            "of its positive predictions are right (precision).",
            fact(w, "recall", recall, F_RATE), fact(w, "precision", precision, F_RATE));
    double ece = report_num(m, "ece", NULL);
    if (!isnan(ece))
        say(w, w->insights, "예측 확률의 보정 오차(ECE)는 %s입니다: %s.",
            "The calibration error (ECE) of the predicted probabilities is %s: %s.",
            fact(w, "ece", ece, F_DEC3),
            ece < 0.05 ? (w->lang == REPORT_KO ? "확률을 그대로 기대 반응률로 써도 됩니다"
                                               : "probabilities can be read as expected rates")
                       : (w->lang == REPORT_KO ? "확률을 예산 배분에 쓰기 전에 보정이 필요합니다"
                                               : "calibrate before budgeting on probabilities"));
}

/* Insights on the data: correlated features, leakage suspects, slices, drift, training. */
static void insights_data(struct writer *w)
{
    const json_t *corr = json_object_get(w->in, "correlation");
    const json_t *names = json_object_get(corr, "features"), *mat = json_object_get(corr, "matrix");
    size_t k = json_array_size(names);
    double best = 0;
    size_t bi = 0, bj = 0;
    for (size_t i = 0; i < k; i++)
        for (size_t j = i + 1; j < k; j++) {
            double r = report_num(json_array_get(json_array_get(mat, i), j), NULL);
            if (!isnan(r) && fabs(r) > fabs(best))
                best = r, bi = i, bj = j;
        }
    if (fabs(best) >= 0.7)
        say(w, w->insights, "%s, %s 두 변수의 상관계수는 %s입니다: 같은 정보를 담고 있습니다.",
            "%s and %s correlate at %s: they carry much the same information.",
            json_string_value(json_array_get(names, bi)), json_string_value(json_array_get(names, bj)),
            fact(w, "max_correlation", best, F_DEC3));
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(w->in, "leakage"), i, e)
    {
        if (i >= 3)
            break;
        say(w, w->insights, "%s 변수 하나로 목표를 거의 완벽히 예측합니다(점수 %s): 누수 의심 변수입니다.",
            "%s alone predicts the target almost perfectly (score %s): a leakage suspect.",
            json_string_value(json_object_get(e, "column")),
            fact(w, "leakage_score", report_num(e, "score", NULL), F_DEC3));
    }
    const json_t *s;
    json_array_foreach(json_object_get(w->in, "slices"), i, s)
    {
        const json_t *g;
        size_t gi;
        json_array_foreach(json_object_get(s, "gaps"), gi, g) if (json_is_true(json_object_get(g, "flagged")))
        {
            say(w, w->insights, "%s 그룹별 %s 차이가 %s입니다(최저: %s).",
                "%s groups differ in %s by %s (lowest: %s).",
                json_string_value(json_object_get(s, "column")),
                json_string_value(json_object_get(g, "metric")),
                fact(w, "slice_gap", report_num(g, "gap", NULL), F_DEC3),
                json_string_value(json_object_get(g, "worst")) ? json_string_value(json_object_get(g, "worst")) : "-");
            break;
        }
    }
    const json_t *drift = json_object_get(w->in, "drift");
    double kl = report_num(drift, "kl", NULL);
    if (!isnan(kl))
        say(w, w->insights, "최근 예측 점수 분포의 KL 발산은 %s입니다.",
            "The KL divergence of recent prediction scores is %s.", fact(w, "drift_kl", kl, F_DEC3));
}

static void action_plan(struct writer *w, const struct roi *r, const json_t *const *top,
                        size_t ntop, const struct report_assumptions *a)
{
    const json_t *m = json_object_get(w->in, "metrics");
    if (r->valid) {
        const char *contacts = fact(w, "contacts", a->contacts, F_COUNT);
        const char *tp = fact(w, "target_pct", a->target_pct, F_PCT);
        const char *c0 = fact(w, "conversions_random", r->conv_random, F_COUNT);
        const char *c1 = fact(w, "conversions_model", r->conv_model, F_COUNT);
        say(w, w->actions,
            "다음 캠페인은 점수 상위 %2$s 고객 %1$s명에게 집중하세요: 무작위 대비 반응 고객이 %3$s명에서 "
            "%4$s명으로 늘어납니다.",
            "Focus the next campaign on the %1$s contacts from the top %2$s of scores: responders "
            "rise from %3$s at random to %4$s.",
            contacts, tp, c0, c1);
    }
    char f1[256];
    if (ntop >= 1)
        say(w, w->actions, "메시지와 타겟팅을 가장 중요한 변수 %s 중심으로 설계하세요.",
            "Design messages and targeting around the most important feature, %s.",
            feature_label(top[0], f1, sizeof f1));
    double auc = report_num(m, "auc", NULL);
    if (!isnan(auc) && auc < 0.7)
        say(w, w->actions, "AUC가 %s로 낮습니다: 변수와 데이터를 더 모은 뒤 재학습하세요.",
            "The AUC of %s is low: gather more features and data, then retrain.",
            fact(w, "auc", auc, F_DEC3));
    if (json_array_size(json_object_get(w->in, "leakage")) > 0)
        say(w, w->actions, "누수 의심 변수를 제외하고 재학습해 성능을 다시 확인하세요.",
            "Retrain without the leakage suspects and check the metrics again.");
    double ece = report_num(m, "ece", NULL);
    if (!isnan(ece) && ece >= 0.05)
        say(w, w->actions, "확률 보정(예: isotonic)을 적용한 뒤 예산 배분에 사용하세요.",
            "Calibrate the probabilities (e.g. isotonic) before allocating budget on them.");
    say(w, w->actions, "예측 점수 분포를 매주 모니터링하고 KL 발산이 0.3을 넘으면 재학습을 검토하세요.",
        "Monitor the score distribution weekly and consider retraining when its KL divergence "
        "exceeds 0.3.");
}

static void state_assumptions(struct writer *w, const struct roi *r,
                              const struct report_assumptions *a)
{
    if (!r->valid) {
        say(w, NULL, "ROI는 이진 분류 모델의 리프트로만 추정하므로 이 모델에는 제시하지 않습니다.",
            "ROI is estimated from a binary model's lift only, so none is given for this model.");
        return;
    }
    say(w, NULL,
        "가정: 연락 %s명, 연락당 비용 %s %s, 전환당 가치 %s %s. 이때 ROI는 무작위 %s에서 모델 사용 시 %s로 "
        "%s포인트 높아지고, 추가 매출은 %s백만 %s입니다.",
        "Assumptions: %s contacts, %s %s per contact, %s %s per conversion. ROI then rises from "
        "%s at random to %s with the model, %s points more, and additional revenue is %s million "
        "%s.",
        fact(w, "contacts", a->contacts, F_COUNT), fact(w, "cost_per_contact", a->cost_per_contact, F_COUNT),
        a->currency, fact(w, "value_per_conversion", a->value_per_conversion, F_COUNT), a->currency,
        fact(w, "roi_random_pct", r->roi_random, F_PCT), fact(w, "roi_model_pct", r->roi_model, F_PCT),
        fact(w, "roi_increase", r->roi_model - r->roi_random, F_TIMES),
        fact(w, "additional_revenue", r->extra_revenue, F_MONEY), a->currency);
}

static int assumptions_valid(const struct report_assumptions *a)
{
    return a->contacts > 0 && a->contacts <= 1e12 && a->cost_per_contact >= 0 &&
           a->cost_per_contact <= 1e12 && a->value_per_conversion >= 0 &&
           a->value_per_conversion <= 1e12 && a->target_pct >= 1 && a->target_pct <= 100 &&
           a->currency != NULL && strlen(a->currency) <= 16;
}

static json_t *top_features_json(const json_t *const *top, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_deep_copy(top[i]));
    return a;
}

int report_write(const json_t *inputs, const struct report_assumptions *a, enum report_lang lang,
                 json_t **out)
{
    *out = NULL;
    if (!json_is_object(json_object_get(inputs, "metrics")) || !assumptions_valid(a))
        return AIOPS_EINVAL;
    struct writer w = {.lang = lang, .in = inputs};
    w.facts = json_array();
    w.insights = json_array();
    w.actions = json_array();
    const json_t *top[5];
    size_t ntop = report_inputs_top_features(inputs, 5, top);
    int binary = strcmp(task_of(&w), "binary") == 0;
    struct roi r = binary ? estimate_roi(inputs, a) : (struct roi){0};
    if (binary)
        summary_binary(&w, &r, top, ntop, a);
    else
        summary_other(&w, top, ntop);
    state_assumptions(&w, &r, a);
    insights_model(&w, top, ntop);
    insights_data(&w);
    action_plan(&w, &r, top, ntop, a);
    double acc = report_num(inputs, "metrics", "accuracy", NULL);
    json_t *o = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:{s:f, s:f, s:f, s:f, s:s}, s:o, s:o}",
        "summary", w.summary.data ? w.summary.data : "", "accuracy",
        jsonx_num(round(acc * 1000) / 10, 0), "roiIncrease",
        r.valid ? jsonx_num(round((r.roi_model - r.roi_random) * 100) / 100, 0) : json_null(),
        "additionalRevenue", r.valid ? jsonx_num(round(r.extra_revenue / 1e4) / 100, 0) : json_null(),
        "topFeatures", top_features_json(top, ntop), "aiInsights", w.insights, "actionPlan",
        w.actions, "lang", lang == REPORT_KO ? "ko" : "en", "writer", "data-to-text",
        "assumptions", "contacts", a->contacts, "cost_per_contact", a->cost_per_contact,
        "value_per_conversion", a->value_per_conversion, "target_pct", a->target_pct, "currency",
        a->currency, "roi",
        r.valid ? json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "base_rate",
                            jsonx_num(r.base_rate, 0), "cumulative_lift", jsonx_num(r.cum_lift, 0),
                            "gain_pct", jsonx_num(r.gain_pct, 0), "conversions_model",
                            jsonx_num(r.conv_model, 0), "conversions_random",
                            jsonx_num(r.conv_random, 0), "roi_model_pct", jsonx_num(r.roi_model, 0),
                            "roi_random_pct", jsonx_num(r.roi_random, 0))
                : json_null(),
        "facts", w.facts);
    buf_free(&w.summary);
    if (o == NULL || w.failed) {
        json_decref(o);
        return AIOPS_ENOMEM;
    }
    *out = o;
    return AIOPS_OK;
}
