/* POST /api/report/generate-pdf/{run_id} makes a run's PDF report and stores it in
 * report_pdfs, so that any replica serves GET /api/report/pdf/{run_id}; a GET before any
 * POST makes it with every part included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/jsonx.h"
#include "report/card.h"
#include "report/pdf.h"
#include "report_svc.h"

/* A boolean member of the options (def when absent): 0, or an error after answering. */
static int option(struct svc_call *c, const json_t *body, const char *name, int *out)
{
    const json_t *v = json_object_get(body, name);
    if (v == NULL || json_is_null(v))
        return AIOPS_OK;
    if (!json_is_boolean(v)) {
        svc_reply_field(c, API_INVALID_REQUEST, name, "%s must be true or false", name);
        return AIOPS_EINVAL;
    }
    *out = json_is_true(v);
    return AIOPS_OK;
}

/* The owner's intended use of model `name` ("" when none). */
static void intended_use(struct svc_call *c, const char *name, char *out, size_t cap)
{
    PGresult *r;
    const char *v[2] = {svc_project(c), name};
    out[0] = '\0';
    if (db_execv_one(svc_db(c), &r,
                     "SELECT intended_use FROM model_cards WHERE project_id = $1 AND name = $2", 2,
                     v) == 0) {
        snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
}

/* Makes and stores the PDF of run_id with opt's parts. 0 with its size, or an error after
 * answering. */
static int make_pdf(struct svc_call *c, const char *run_id, struct report_pdf_options *opt,
                    size_t *size)
{
    json_t *run, *inputs, *ai = NULL, *card = NULL;
    if (run_inputs(c, run_id, &run, &inputs) != 0)
        return AIOPS_EINVAL;
    int lang, rv = ai_report_for(c, inputs, &ai, &lang);
    struct buf pdf = BUF_INIT;
    struct aiops_error err = AIOPS_ERROR_INIT;
    if (rv == 0) {
        opt->lang = (enum report_lang)lang;
        const char *name = json_string_value(json_object_get(run, "model_name"));
        char use[5001];
        intended_use(c, name, use, sizeof use);
        struct card_identity id = {name, (int)json_integer_value(json_object_get(run, "model_version")),
                                   run_id, json_string_value(json_object_get(run, "dataset_id"))};
        opt->title = name;
        if ((rv = report_card(inputs, &id, use, NULL, opt->lang, &card)) != 0)
            svc_reply_failure(c, rv, "the model card");
        else if ((rv = report_pdf(inputs, ai, card, opt, &pdf, &err)) != 0)
            svc_reply_detail(c, rv == AIOPS_ENOTFOUND ? API_NOT_READY : apierr_from_err(rv),
                             "the PDF cannot be made", &err);
    }
    if (rv == 0) {
        json_t *o = json_pack("{s:b, s:b, s:b, s:s}", "includeCharts", opt->include_charts,
                              "includeInsights", opt->include_insights, "includeActionPlan",
                              opt->include_action_plan, "lang", opt->lang == REPORT_EN ? "en" : "ko");
        char *os = jsonx_to_string(o, NULL);
        json_decref(o);
        const char *v[4] = {run_id, svc_project(c), pdf.data, os};
        const int len[4] = {0, 0, (int)pdf.len, 0}, fmt[4] = {0, 0, 1, 0};
        rv = os ? db_exec(svc_db(c), NULL,
                          "INSERT INTO report_pdfs (run_id, project_id, pdf, options)"
                          " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (run_id) DO UPDATE SET"
                          " pdf = excluded.pdf, options = excluded.options, created_at = now()",
                          4, v, len, fmt)
                : AIOPS_ENOMEM;
        free(os);
        if (rv != 0)
            svc_reply_failure(c, rv, "storing the PDF");
        *size = pdf.len;
    }
    buf_free(&pdf);
    json_decref(card);
    json_decref(ai);
    json_decref(inputs);
    json_decref(run);
    return rv;
}

void handle_report_generate_pdf(struct svc_call *c)
{
    const char *run_id = svc_param(c, 0);
    json_t *body = NULL;
    const Aiops__Request *req = svc_request(c);
    if (req->body.len > 0 && svc_json_body(c, &body) != 0)
        return;
    struct report_pdf_options opt = {1, 1, 1, REPORT_KO, NULL};
    size_t size = 0;
    if (option(c, body, "includeCharts", &opt.include_charts) == 0 &&
        option(c, body, "includeInsights", &opt.include_insights) == 0 &&
        option(c, body, "includeActionPlan", &opt.include_action_plan) == 0 &&
        make_pdf(c, run_id, &opt, &size) == 0) {
        char url[96];
        snprintf(url, sizeof url, "/api/report/pdf/%s", run_id);
        svc_reply_json(c, 200, json_pack("{s:s, s:s, s:I}", "pdf_url", url, "status", "generated",
                                         "bytes", (json_int_t)size));
    }
    json_decref(body);
}

void handle_report_pdf(struct svc_call *c)
{
    const char *run_id = svc_param(c, 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *r;
        const char *v[2] = {svc_project(c), run_id};
        int rv = uuid_valid(run_id) ? db_execv_one(svc_db(c), &r,
                                                   "SELECT pdf FROM report_pdfs WHERE project_id = $1"
                                                   " AND run_id = $2::uuid",
                                                   2, v)
                                    : AIOPS_ENOTFOUND;
        if (rv == 0) {
            size_t n;
            unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
            PQclear(r);
            if (bytes == NULL) {
                svc_reply_failure(c, AIOPS_ENOMEM, "reading the PDF");
                return;
            }
            svc_reply_raw(c, 200, "application/pdf", bytes, n);
            PQfreemem(bytes);
            return;
        }
        if (rv != AIOPS_ENOTFOUND) {
            svc_reply_failure(c, rv, "reading the PDF");
            return;
        }
        /* none stored yet: make it with every part (answers 404/409 for a bad run) */
        struct report_pdf_options opt = {1, 1, 1, REPORT_KO, NULL};
        size_t size;
        if (attempt == 0 && make_pdf(c, run_id, &opt, &size) != 0)
            return;
    }
    svc_reply_failure(c, AIOPS_ENOTFOUND, "reading the PDF");
}
