/* GET /api/report/ai/{run_id}: the AI report (lib/report/writer.h) of a run, rephrased by
 * the optional LLM rewriter when LLM_BASE_URL is set (lib/report/rewriter.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "report/rewriter.h"
#include "report/writer.h"
#include "report_svc.h"

static struct rewriter_config rewriter;
static int have_rewriter;

int ai_start(struct svc *s)
{
    (void)s;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = rewriter_from_env(&rewriter, &err);
    if (rv == AIOPS_ENOTFOUND)
        return AIOPS_OK;
    if (rv != 0) {
        log_error("%s", err.message);
        return rv;
    }
    have_rewriter = 1;
    log_info("AI report rewriter: %s (model %s)", rewriter.base_url, rewriter.model);
    return AIOPS_OK;
}

/* A positive number from the query (def when absent): 0, or an error after answering. */
static int query_number(struct svc_call *c, const char *name, double def, double min, double max,
                        double *out)
{
    char text[64];
    *out = def;
    int rv = svc_query(c, name, text, sizeof text);
    if (rv == AIOPS_ENOTFOUND)
        return AIOPS_OK;
    char *end = NULL;
    double v = rv == 0 ? strtod(text, &end) : 0;
    if (rv != 0 || end == text || *end != '\0' || !(v >= min && v <= max)) {
        svc_reply_field(c, API_INVALID_PARAMETER, name, "%s must be a number from %g to %g", name,
                        min, max);
        return AIOPS_EINVAL;
    }
    *out = v;
    return AIOPS_OK;
}

int ai_report_for(struct svc_call *c, const json_t *inputs, json_t **out, int *lang_out)
{
    struct report_assumptions a;
    report_assumptions_default(&a);
    char lang_text[8] = "ko", currency[20];
    enum report_lang lang;
    int rv = svc_query(c, "lang", lang_text, sizeof lang_text);
    if ((rv != 0 && rv != AIOPS_ENOTFOUND) || report_lang_parse(lang_text, &lang) != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "lang", "lang must be ko or en");
        return AIOPS_EINVAL;
    }
    if (svc_query(c, "currency", currency, sizeof currency) == 0)
        a.currency = currency;
    if (query_number(c, "contacts", a.contacts, 1, 1e12, &a.contacts) != 0 ||
        query_number(c, "cost_per_contact", a.cost_per_contact, 0, 1e12, &a.cost_per_contact) != 0 ||
        query_number(c, "value_per_conversion", a.value_per_conversion, 0, 1e12,
                     &a.value_per_conversion) != 0 ||
        query_number(c, "target_pct", a.target_pct, 1, 100, &a.target_pct) != 0)
        return AIOPS_EINVAL;
    if ((rv = report_write(inputs, &a, lang, out)) != 0) {
        svc_reply_failure(c, rv, "writing the report");
        return rv;
    }
    *lang_out = (int)lang;
    return AIOPS_OK;
}

void handle_report_ai(struct svc_call *c)
{
    json_t *run, *inputs, *report;
    int lang;
    if (run_inputs(c, svc_param(c, 0), &run, &inputs) != 0)
        return;
    if (ai_report_for(c, inputs, &report, &lang) == 0) {
        char rewrite[8] = "true";
        svc_query(c, "rewrite", rewrite, sizeof rewrite);
        if (have_rewriter && strcmp(rewrite, "false") != 0)
            report_rewrite(&rewriter, report); /* on failure the texts stay, and it says why */
        json_object_set(report, "run_id", json_object_get(run, "run_id"));
        /* where each number came from (svc-report/inputs.c) */
        json_object_set(report, "sources", json_object_get(inputs, "sources"));
        svc_reply_json(c, 200, report);
    }
    json_decref(run);
    json_decref(inputs);
}
