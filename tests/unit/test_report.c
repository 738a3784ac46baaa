/* Unit tests for lib/report: the inputs measured from a model and a table, the data-to-text
 * writer (every number it writes is a measured or assumed one, written as stated), the ROI
 * arithmetic, slices with a planted gap, and bad assumptions refused. */
#include "unit.h"

#include "core/buf.h"
#include "data/ingest.h"
#include "ml/learner.h"
#include "ml/train.h"
#include "httpstub.h"
#include "report/inputs.h"
#include "report/rewriter.h"
#include "report/writer.h"
#include "testdata.h"

#define NROWS 1200

/* A binary table: x1 drives the target, x2 is x1 plus noise (correlated, weaker), group "b"
 * rows get a coin-flip target (the model is worse there), noise is unrelated. */
static struct ingest_result make_table(void)
{
    struct buf csv = BUF_INIT;
    buf_puts(&csv, "x1,x2,noise,grp,label\n");
    uint64_t s = 7;
    for (size_t r = 0; r < NROWS; r++) {
        double x1 = lcg_unit(&s), x2 = x1 + 0.3 * lcg_unit(&s), noise = lcg_unit(&s);
        double coin = lcg_unit(&s), jitter = lcg_unit(&s);
        const char *grp = r % 4 == 0 ? "b" : "a";
        int y = r % 4 == 0 ? coin < 0.5 : x1 + 0.1 * (jitter - 0.5) > 0.6;
        buf_printf(&csv, "%.4f,%.4f,%.4f,%s,%s\n", x1, x2, noise, grp, y ? "yes" : "no");
    }
    struct ingest_result res;
    CHECK_INT(ingest_csv(csv.data, csv.len, NULL, &res), 0);
    buf_free(&csv);
    return res;
}

static struct model *train_on(const struct table *t)
{
    return train_table(learner_find("gbdt"), t, "label",
                       "{\"rounds\": 30, \"seed\": 3, \"valid_fraction\": 0.3}");
}

/* The inputs of the run: its validation rows, with a description in Korean. */
static json_t *inputs_of(const struct model *m, const struct table *t)
{
    size_t *rows, n;
    CHECK_INT(train_holdout_rows(m, t, &rows, &n), 0);
    json_t *desc = json_pack("{s:s}", "x1", "방문 빈도");
    struct report_source src = {m, t, rows, n, "validation", NULL, desc};
    json_t *in = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    CHECK_INT(report_inputs_compute(&src, &in, &err), 0);
    json_decref(desc);
    free(rows);
    return in;
}

/* A run measured as the report sees it: the table, the model trained on it and the inputs
 * measured from the two. */
struct measured {
    struct ingest_result t;
    struct model *m;
    json_t *in;
};

/* 0, or -1 after UNIT_FAIL (the training failed; nothing to free). */
static int measure_run(struct measured *r)
{
    r->t = make_table();
    r->m = train_on(&r->t.table);
    if (r->m == NULL) {
        ingest_result_free(&r->t);
        return -1;
    }
    r->in = inputs_of(r->m, &r->t.table);
    return 0;
}

static void measured_free(struct measured *r)
{
    json_decref(r->in);
    model_free(r->m);
    ingest_result_free(&r->t);
}

static void test_inputs_measure_the_run(void)
{
    struct measured r;
    if (measure_run(&r) != 0)
        return;
    /* the metrics are the run's own, on its validation rows */
    CHECK_NEAR(report_num(r.in, "metrics", "auc", NULL),
               report_num(r.m->meta, "metrics", "auc", NULL), 1e-12);
    CHECK_INT(report_num(r.in, "data", "evaluated_rows", NULL),
              report_num(r.m->meta, "valid_rows", NULL));
    CHECK_STR(json_string_value(json_object_get(json_object_get(r.in, "data"), "evaluated_on")),
              "validation");
    /* importance sorted, normalised, x1 first with its description */
    const json_t *imp = json_object_get(r.in, "importance");
    CHECK_STR(json_string_value(json_object_get(json_array_get(imp, 0), "feature")), "x1");
    CHECK_STR(json_string_value(json_object_get(json_array_get(imp, 0), "description")),
              "방문 빈도");
    double total = 0;
    for (size_t i = 0; i < json_array_size(imp); i++)
        total += report_num(json_array_get(imp, i), "importance", NULL);
    CHECK_NEAR(total, 1, 1e-9);
    /* curves start at the origin and end at (1, 1) */
    const json_t *roc = json_object_get(json_object_get(r.in, "curves"), "roc");
    size_t np = json_array_size(json_object_get(roc, "fpr"));
    CHECK(np >= 2 && np <= REPORT_CURVE_POINTS);
    CHECK_NEAR(json_number_value(json_array_get(json_object_get(roc, "tpr"), np - 1)), 1, 1e-12);
    /* correlation over the important numeric features: x1 and x2 nearly 1 */
    const json_t *corr = json_object_get(r.in, "correlation");
    CHECK(json_array_size(json_object_get(corr, "features")) >= 2);
    /* the planted slice gap: group b is much less accurate, and flagged */
    const json_t *slice = json_array_get(json_object_get(r.in, "slices"), 0);
    CHECK_STR(json_string_value(json_object_get(slice, "column")), "grp");
    int flagged = 0;
    for (size_t i = 0; i < json_array_size(json_object_get(slice, "gaps")); i++) {
        const json_t *g = json_array_get(json_object_get(slice, "gaps"), i);
        if (strcmp(json_string_value(json_object_get(g, "metric")), "accuracy") == 0) {
            CHECK_STR(json_string_value(json_object_get(g, "worst")), "b");
            flagged = json_is_true(json_object_get(g, "flagged"));
        }
    }
    CHECK(flagged);
    CHECK(!isnan(report_num(r.in, "metrics", "ece", NULL)));
    measured_free(&r);
}

/* Every fact the writer shows is in the text as written, and equals the measurement. */
static void check_facts(const json_t *report, const json_t *in)
{
    struct buf all = BUF_INIT;
    buf_puts(&all, json_string_value(json_object_get(report, "summary")));
    const char *lists[2] = {"aiInsights", "actionPlan"};
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < json_array_size(json_object_get(report, lists[l])); i++)
            buf_printf(&all, "\n%s",
                       json_string_value(json_array_get(json_object_get(report, lists[l]), i)));
    const json_t *facts = json_object_get(report, "facts");
    CHECK(json_array_size(facts) >= 10);
    for (size_t i = 0; i < json_array_size(facts); i++) {
        const json_t *f = json_array_get(facts, i);
        const char *text = json_string_value(json_object_get(f, "text"));
        if (strstr(all.data, text) == NULL)
            UNIT_FAIL("fact %s written %s is not in the text",
                      json_string_value(json_object_get(f, "name")), text);
        const char *name = json_string_value(json_object_get(f, "name"));
        double v = report_num(f, "value", NULL);
        if (strcmp(name, "auc") == 0)
            CHECK_NEAR(v, report_num(in, "metrics", "auc", NULL), 0);
        if (strcmp(name, "accuracy") == 0)
            CHECK_NEAR(v, report_num(in, "metrics", "accuracy", NULL), 0);
        if (strcmp(name, "recall") == 0)
            CHECK_NEAR(v, report_num(in, "metrics", "recall", NULL), 0);
        if (strcmp(name, "base_rate") == 0)
            CHECK_NEAR(v, report_num(in, "data", "base_rate", NULL), 0);
        if (strcmp(name, "top_decile_lift") == 0)
            CHECK_NEAR(v,
                       report_num(json_array_get(
                                      json_object_get(json_object_get(in, "metrics"), "lift"), 0),
                                  "lift", NULL),
                       0);
    }
    buf_free(&all);
}

static void test_writer_uses_measured_numbers(void)
{
    struct measured r;
    if (measure_run(&r) != 0)
        return;
    struct report_assumptions a;
    report_assumptions_default(&a);
    json_t *ko = NULL, *en = NULL;
    CHECK_INT(report_write(r.in, &a, REPORT_KO, &ko), 0);
    CHECK_INT(report_write(r.in, &a, REPORT_EN, &en), 0);
    if (ko == NULL || en == NULL)
        return;
    check_facts(ko, r.in);
    check_facts(en, r.in);
    CHECK(strstr(json_string_value(json_object_get(ko, "summary")), "정확도") != NULL);
    CHECK(strstr(json_string_value(json_object_get(ko, "summary")), "방문 빈도") != NULL);
    CHECK(strstr(json_string_value(json_object_get(en, "summary")), "accuracy") != NULL);
    /* the seed's fields */
    CHECK_NEAR(report_num(ko, "accuracy", NULL),
               round(report_num(r.in, "metrics", "accuracy", NULL) * 1000) / 10, 1e-9);
    CHECK_INT(json_array_size(json_object_get(ko, "topFeatures")), 4);
    CHECK(json_array_size(json_object_get(ko, "aiInsights")) >= 3);
    CHECK(json_array_size(json_object_get(ko, "actionPlan")) >= 2);
    /* deterministic */
    json_t *again = NULL;
    CHECK_INT(report_write(r.in, &a, REPORT_KO, &again), 0);
    CHECK(json_equal(ko, again));
    json_decref(again);
    /* significance in whole Korean predicates: one significant feature, one not */
    json_t *imp = json_object_get(r.in, "importance");
    json_object_set_new(json_array_get(imp, 0), "pValue", json_real(0.01));
    json_object_set_new(json_array_get(imp, 1), "pValue", json_real(0.4));
    json_t *sig = NULL;
    CHECK_INT(report_write(r.in, &a, REPORT_KO, &sig), 0);
    char *text = sig ? json_dumps(json_object_get(sig, "aiInsights"), 0) : NULL;
    CHECK(text != NULL && strstr(text, "통계적으로 유의합니다") != NULL);
    CHECK(text != NULL && strstr(text, "통계적으로 유의하지 않습니다") != NULL);
    CHECK(text != NULL && strstr(text, "않합니다") == NULL);
    free(text);
    json_decref(sig);
    json_decref(ko);
    json_decref(en);
    measured_free(&r);
}

/* The ROI arithmetic on inputs made by hand: base rate 10%, the top 20% hold 50% of the
 * positives (cumulative lift 2.5). */
static void test_roi_from_the_gains_curve(void)
{
    json_t *gains = json_array();
    static const double g[10] = {30, 50, 60, 70, 78, 85, 90, 94, 97, 100};
    for (int d = 0; d < 10; d++)
        json_array_append_new(gains, json_pack("{s:i, s:f, s:f}", "decile", d + 1, "rows_pct",
                                               10.0 * (d + 1), "gain_pct", g[d]));
    json_t *in = json_pack("{s:{s:s, s:s}, s:{s:f, s:i}, s:{s:f, s:o, s:f}, s:[], s:[], s:[]}",
                           "model", "kind", "gbdt", "task", "binary", "data", "base_rate", 0.1,
                           "evaluated_rows", 1000, "metrics", "accuracy", 0.9, "gains", gains,
                           "auc", 0.8, "importance", "leakage", "slices");
    struct report_assumptions a = {10000, 500, 20000, 20, "KRW"};
    json_t *r = NULL;
    CHECK_INT(report_write(in, &a, REPORT_EN, &r), 0);
    /* random: 1,000 conversions, revenue 20M, cost 5M -> ROI 300%; model: 2,500 conversions,
     * 50M -> 900%; +600 points, +30M */
    CHECK_NEAR(report_num(r, "roi", "cumulative_lift", NULL), 2.5, 1e-12);
    CHECK_NEAR(report_num(r, "roi", "roi_random_pct", NULL), 300, 1e-9);
    CHECK_NEAR(report_num(r, "roi", "roi_model_pct", NULL), 900, 1e-9);
    CHECK_NEAR(report_num(r, "roiIncrease", NULL), 600, 1e-9);
    CHECK_NEAR(report_num(r, "additionalRevenue", NULL), 30, 1e-9);
    CHECK(strstr(json_string_value(json_object_get(r, "summary")), "10,000 contacts") != NULL);
    json_decref(r);
    /* 15%: between the first two deciles, linear: 40% of positives */
    a.target_pct = 15;
    CHECK_INT(report_write(in, &a, REPORT_EN, &r), 0);
    CHECK_NEAR(report_num(r, "roi", "gain_pct", NULL), 40, 1e-9);
    json_decref(r);
    /* assumptions out of range are refused */
    a.contacts = 0;
    CHECK_INT(report_write(in, &a, REPORT_EN, &r), AIOPS_EINVAL);
    a.contacts = 10;
    a.target_pct = 0;
    CHECK_INT(report_write(in, &a, REPORT_EN, &r), AIOPS_EINVAL);
    json_decref(in);
}

static void test_regression_has_no_roi(void)
{
    json_t *in =
        json_pack("{s:{s:s, s:s}, s:{s:i}, s:{s:f, s:f, s:f}, s:[], s:[], s:[]}", "model", "kind",
                  "rf", "task", "regression", "data", "evaluated_rows", 500, "metrics", "rmse", 1.5,
                  "mae", 1.1, "r2", 0.8, "importance", "leakage", "slices");
    struct report_assumptions a;
    report_assumptions_default(&a);
    json_t *r = NULL;
    CHECK_INT(report_write(in, &a, REPORT_KO, &r), 0);
    CHECK(json_is_null(json_object_get(r, "roiIncrease")));
    CHECK(json_is_null(json_object_get(r, "accuracy")));
    CHECK(strstr(json_string_value(json_object_get(r, "summary")), "RMSE 1.500") != NULL);
    json_decref(r);
    json_decref(in);
}

/* --- the rewriter against a stub endpoint on loopback ----------------------------------- */

static json_t *small_report(void)
{
    return json_pack("{s:s, s:[s, s], s:[s], s:s, s:s}", "summary",
                     "정확도 87.5%, AUC 0.912입니다.", "aiInsights",
                     "상위 10% 반응률은 2.31배입니다.", "연락 10,000명 기준입니다.", "actionPlan",
                     "상위 20.0%에 집중하세요.", "lang", "ko", "writer", "data-to-text");
}

/* An OpenAI-style answer whose message content is `content` (a JSON text). */
static void answer_with(struct httpstub *s, int status, const char *content, int delay_ms)
{
    json_t *a = json_pack("{s:[{s:{s:s, s:s}}]}", "choices", "message", "role", "assistant",
                          "content", content);
    char *text = json_dumps(a, 0);
    httpstub_answer(s, status, text, delay_ms);
    free(text);
    json_decref(a);
}

static void rewriter_at(struct rewriter_config *c, const struct httpstub *s, const char *allow)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/", s->port);
    setenv("LLM_BASE_URL", url, 1);
    setenv("LLM_API_KEY", "sk-test", 1);
    setenv("LLM_TIMEOUT_MS", "300", 1);
    setenv("OUTBOUND_ALLOW_NETS", allow, 1);
    CHECK_INT(rewriter_from_env(c, NULL), 0);
}

static void test_rewriter_takes_a_faithful_rewrite(void)
{
    struct httpstub s;
    CHECK_INT(httpstub_start(&s), 0);
    struct rewriter_config c;
    rewriter_at(&c, &s, "127.0.0.0/8");
    answer_with(&s, 200,
                "{\"summary\": \"모델 정확도는 87.5%이며 AUC는 0.912입니다.\", \"aiInsights\": "
                "[\"상위 10% 고객의 반응률이 2.31배 높습니다.\", \"연락 10000명을 기준으로 "
                "했습니다.\"], \"actionPlan\": [\"상위 20.0% 고객에게 집중하세요.\"]}",
                0);
    json_t *r = small_report();
    CHECK_INT(report_rewrite(&c, r), 0);
    CHECK_STR(json_string_value(json_object_get(r, "summary")),
              "모델 정확도는 87.5%이며 AUC는 0.912입니다.");
    CHECK_STR(json_string_value(json_object_get(r, "writer")), "llm");
    CHECK(strstr(s.request, "POST /v1/chat/completions") != NULL);
    CHECK(strstr(s.request, "Authorization: Bearer sk-test") != NULL);
    CHECK(strstr(s.request, "gpt-4o-mini") != NULL);
    json_decref(r);
    httpstub_stop(&s);
}

/* Each way the rewrite can fail leaves the writer's texts and says why. */
static void test_rewriter_falls_back(void)
{
    struct httpstub s;
    CHECK_INT(httpstub_start(&s), 0);
    struct rewriter_config c;
    rewriter_at(&c, &s, "127.0.0.0/8");
    static const struct {
        int status, delay;
        const char *content;
        int rv;
    } cases[] = {
        /* a changed number */
        {200, 0,
         "{\"summary\": \"정확도 90%\", \"aiInsights\": [\"a\", \"b\"], \"actionPlan\": [\"c\"]}",
         AIOPS_EPARSE},
        /* a dropped insight */
        {200, 0, "{\"summary\": \"s\", \"aiInsights\": [\"a\"], \"actionPlan\": [\"c\"]}",
         AIOPS_EPARSE},
        {200, 0, "not json", AIOPS_EPARSE},
        {500, 0, "{}", AIOPS_EUNAVAIL},
        {200, 2000, "{}", AIOPS_ETIMEDOUT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        answer_with(&s, cases[i].status, cases[i].content, cases[i].delay);
        json_t *rep = small_report(), *before = json_deep_copy(rep);
        CHECK_INT(report_rewrite(&c, rep), cases[i].rv);
        CHECK(json_equal(json_object_get(rep, "summary"), json_object_get(before, "summary")));
        CHECK(
            json_equal(json_object_get(rep, "aiInsights"), json_object_get(before, "aiInsights")));
        CHECK_STR(json_string_value(json_object_get(rep, "writer")), "data-to-text");
        const json_t *rw = json_object_get(rep, "rewriter");
        CHECK(json_is_false(json_object_get(rw, "used")));
        CHECK(json_string_value(json_object_get(rw, "reason")) != NULL);
        json_decref(rep);
        json_decref(before);
    }
    /* loopback not allowed: refused before any request */
    int seen = s.requests;
    rewriter_at(&c, &s, "");
    json_t *r = small_report();
    CHECK_INT(report_rewrite(&c, r), AIOPS_EAUTH);
    CHECK_INT(s.requests, seen);
    json_decref(r);
    unsetenv("LLM_BASE_URL");
    CHECK_INT(rewriter_from_env(&c, NULL), AIOPS_ENOTFOUND);
    httpstub_stop(&s);
}

UNIT_MAIN(UNIT(test_inputs_measure_the_run), UNIT(test_writer_uses_measured_numbers),
          UNIT(test_roi_from_the_gains_curve), UNIT(test_regression_has_no_roi),
          UNIT(test_rewriter_takes_a_faithful_rewrite), UNIT(test_rewriter_falls_back))
