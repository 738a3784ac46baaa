#include "report/card.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonx.h"
#include "report/inputs.h"

static const json_t *choose_slice(const json_t *slices, const char *column)
{
    size_t i;
    const json_t *s;
    json_array_foreach(slices, i, s)
    {
        const char *name = json_string_value(json_object_get(s, "column"));
        if (column != NULL && name != NULL && strcmp(name, column) == 0)
            return s;
        if (column != NULL)
            continue;
        size_t k;
        const json_t *g;
        json_array_foreach(json_object_get(s, "gaps"), k, g) if (json_is_true(json_object_get(g, "flagged"))) return s;
    }
    return column == NULL ? json_array_get(slices, 0) : NULL;
}

static void limit(json_t *list, enum report_lang lang, const char *ko, const char *en, ...)
    __attribute__((format(printf, 4, 5)));

static void limit(json_t *list, enum report_lang lang, const char *ko, const char *en, ...)
{
    char s[600];
    va_list ap;
    va_start(ap, en);
    vsnprintf(s, sizeof s, lang == REPORT_KO ? ko : en, ap);
    va_end(ap);
    json_array_append_new(list, json_string(s));
}

static json_t *limitations(const json_t *in, const json_t *slice, enum report_lang lang)
{
    json_t *l = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(in, "leakage"), i, e)
        limit(l, lang, "누수 의심: %s (%s, 점수 %.3f)", "Leakage suspect: %s (%s, score %.3f)",
              json_string_value(json_object_get(e, "column")),
              json_string_value(json_object_get(e, "reason")), report_num(e, "score", NULL));
    json_array_foreach(json_object_get(slice, "gaps"), i, e) if (json_is_true(json_object_get(e, "flagged")))
        limit(l, lang, "%s 그룹 간 %s 차이 %.3f (최저: %s)",
              "%s groups differ in %s by %.3f (lowest: %s)",
              json_string_value(json_object_get(slice, "column")),
              json_string_value(json_object_get(e, "metric")), report_num(e, "gap", NULL),
              json_string_value(json_object_get(e, "worst")) ? json_string_value(json_object_get(e, "worst")) : "(missing)");
    double ece = report_num(in, "metrics", "ece", NULL);
    if (!isnan(ece) && ece >= 0.05)
        limit(l, lang, "확률 보정 오차(ECE) %.3f: 확률을 그대로 기대 비율로 읽지 마세요.",
              "Calibration error (ECE) %.3f: do not read probabilities as expected rates.", ece);
    const char *on = json_string_value(json_object_get(json_object_get(in, "data"), "evaluated_on"));
    if (on != NULL && strcmp(on, "training") == 0)
        limit(l, lang, "지표가 학습 데이터에서 측정되어 실제보다 좋게 보일 수 있습니다.",
              "The metrics were measured on training rows and overstate real performance.");
    double n = report_num(in, "data", "evaluated_rows", NULL);
    if (!isnan(n) && n < 1000)
        limit(l, lang, "평가 행이 %.0f개뿐이라 지표의 불확실성이 큽니다.",
              "Only %.0f evaluation rows: the metrics are uncertain.", n);
    if (json_is_object(json_object_get(in, "drift")))
        limit(l, lang, "운영 중 데이터 드리프트가 관측되었습니다.", "Data drift was observed in production.");
    else
        limit(l, lang, "운영 데이터의 드리프트는 아직 측정되지 않았습니다.",
              "Drift on production data has not been measured yet.");
    return l;
}

static json_t *overall_metrics(const json_t *m)
{
    static const char *const keys[] = {"n",   "accuracy", "precision", "recall", "f1",  "auc",
                                       "pr_auc", "logloss", "brier",  "ece",   "macro_f1",
                                       "rmse", "mae",      "r2"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_is_number(json_object_get(m, keys[i])))
            json_object_set(o, keys[i], json_object_get(m, keys[i]));
    return o;
}

static json_t *slice_columns(const json_t *slices)
{
    json_t *a = json_array();
    size_t i;
    const json_t *s;
    json_array_foreach(slices, i, s) json_array_append(a, json_object_get(s, "column"));
    return a;
}

int report_card(const json_t *inputs, const struct card_identity *id, const char *intended_use,
                const char *slice_column, enum report_lang lang, json_t **out)
{
    *out = NULL;
    const json_t *slice = choose_slice(json_object_get(inputs, "slices"), slice_column);
    if (slice_column != NULL && slice == NULL)
        return AIOPS_ENOTFOUND;
    const json_t *model = json_object_get(inputs, "model"), *data = json_object_get(inputs, "data");
    const json_t *m = json_object_get(inputs, "metrics");
    char http[400], cli[400];
    snprintf(http, sizeof http,
             "POST /api/v1/models/%s/predict?version=%d {\"instances\": [{\"column\": value}]}",
             id->name ? id->name : "NAME", id->version);
    snprintf(cli, sizeof cli,
             "aiops predict MODEL DATA.csv (MODEL from GET /api/v1/models/%s/versions/%d/artifact)",
             id->name ? id->name : "NAME", id->version);
    const char *use = intended_use && intended_use[0]
                          ? intended_use
                          : (lang == REPORT_KO ? "사용 목적이 아직 작성되지 않았습니다. 모델 소유자가 작성해야 합니다."
                                               : "The intended use has not been written yet: the model's owner should.");
    json_t *cal = json_object_get(m, "calibration");
    json_t *card = json_pack(
        "{s:{s:s?, s:i, s:O?, s:O?, s:O?, s:O?, s:s?}, s:s, s:{s:s?, s:O?, s:O?, s:O?, s:O?, "
        "s:O?, s:O?}, s:O?, s:{s:o, s:O?}, s:O?, s:o, s:o, s:o, s:{s:s, s:s}}",
        "model", "name", id->name, "version", id->version, "kind", json_object_get(model, "kind"),
        "task", json_object_get(model, "task"), "target", json_object_get(model, "target"),
        "created_at", json_object_get(model, "created_at"), "run_id", id->run_id,
        "intended_use", use, "training_data", "dataset_id", id->dataset_id, "rows",
        json_object_get(data, "rows"), "train_rows", json_object_get(model, "train_rows"),
        "valid_rows", json_object_get(model, "valid_rows"), "evaluated_on",
        json_object_get(data, "evaluated_on"), "period", json_object_get(data, "period"),
        "target_balance", json_object_get(data, "class_balance"), "parameters",
        json_object_get(model, "params"), "metrics", "overall", overall_metrics(m), "per_class",
        json_object_get(m, "per_class"), "slices", slice, "slice_columns",
        slice_columns(json_object_get(inputs, "slices")), "calibration",
        json_is_array(cal) ? json_pack("{s:o, s:O}", "ece", jsonx_num(report_num(m, "ece", NULL), 0),
                                       "bins", cal)
                           : json_null(),
        "limitations", limitations(inputs, slice, lang), "how_to_call", "http", http, "cli", cli);
    if (card == NULL)
        return AIOPS_ENOMEM;
    *out = card;
    return AIOPS_OK;
}

static void md_value(struct buf *out, const json_t *v)
{
    if (json_is_string(v))
        buf_puts(out, json_string_value(v));
    else if (json_is_number(v))
        buf_printf(out, "%.6g", json_number_value(v));
    else if (v == NULL || json_is_null(v))
        buf_puts(out, "-");
    else {
        char *s = jsonx_to_string(v, NULL);
        buf_puts(out, s ? s : "?");
        free(s);
    }
}

int report_card_markdown(const json_t *card, struct buf *out)
{
    const json_t *model = json_object_get(card, "model");
    buf_printf(out, "# Model card: %s v", json_string_value(json_object_get(model, "name")) ?: "");
    md_value(out, json_object_get(model, "version"));
    buf_puts(out, "\n\n");
    const char *keys[] = {"kind", "task", "target", "created_at", "run_id"};
    for (size_t i = 0; i < 5; i++) {
        buf_printf(out, "- **%s**: ", keys[i]);
        md_value(out, json_object_get(model, keys[i]));
        buf_putc(out, '\n');
    }
    buf_puts(out, "\n## Intended use\n\n");
    md_value(out, json_object_get(card, "intended_use"));
    buf_puts(out, "\n\n## Training data\n\n");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(card, "training_data"), key, v)
    {
        buf_printf(out, "- **%s**: ", key);
        md_value(out, v);
        buf_putc(out, '\n');
    }
    buf_puts(out, "\n## Parameters\n\n```json\n");
    md_value(out, json_object_get(card, "parameters"));
    buf_puts(out, "\n```\n\n## Metrics\n\n| metric | value |\n| --- | --- |\n");
    json_object_foreach((json_t *)json_object_get(json_object_get(card, "metrics"), "overall"), key, v)
    {
        buf_printf(out, "| %s | ", key);
        md_value(out, v);
        buf_puts(out, " |\n");
    }
    const json_t *slice = json_object_get(card, "slices");
    if (json_is_object(slice)) {
        buf_printf(out, "\n## Slices: %s\n\n| group | rows | accuracy | auc | rmse |\n"
                        "| --- | --- | --- | --- | --- |\n",
                   json_string_value(json_object_get(slice, "column")) ?: "");
        size_t i;
        const json_t *g;
        json_array_foreach(json_object_get(slice, "groups"), i, g)
        {
            static const char *const cols[] = {"value", "rows", "accuracy", "auc", "rmse"};
            for (size_t k = 0; k < 5; k++) {
                buf_puts(out, "| ");
                md_value(out, json_object_get(g, cols[k]));
                buf_putc(out, ' ');
            }
            buf_puts(out, "|\n");
        }
        json_array_foreach(json_object_get(slice, "gaps"), i, g)
        {
            buf_printf(out, "%s- gap in %s: %.4g (best ", i ? "" : "\n",
                       json_string_value(json_object_get(g, "metric")) ?: "",
                       report_num(g, "gap", NULL));
            md_value(out, json_object_get(g, "best"));
            buf_puts(out, ", worst ");
            md_value(out, json_object_get(g, "worst"));
            buf_puts(out, json_is_true(json_object_get(g, "flagged")) ? ") **flagged**\n" : ")\n");
        }
    }
    buf_printf(out, "\n## Calibration\n\n- ECE: %.4g\n",
               report_num(card, "calibration", "ece", NULL));
    buf_puts(out, "\n## Limitations\n\n");
    size_t i;
    json_array_foreach(json_object_get(card, "limitations"), i, v)
    {
        buf_puts(out, "- ");
        md_value(out, v);
        buf_putc(out, '\n');
    }
    buf_puts(out, "\n## How to call it\n\n```\n");
    md_value(out, json_object_get(json_object_get(card, "how_to_call"), "http"));
    buf_putc(out, '\n');
    md_value(out, json_object_get(json_object_get(card, "how_to_call"), "cli"));
    buf_puts(out, "\n```\n");
    return out->data != NULL ? AIOPS_OK : AIOPS_ENOMEM;
}
