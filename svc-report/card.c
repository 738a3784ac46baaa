/* Model cards: GET /api/v1/models/{name}/versions/{v}/card (JSON, or Markdown with
 * Accept: text/markdown; ?slice=COLUMN, ?lang=) from the version's run's report inputs, and
 * PUT /api/v1/models/{name}/card {"intended_use"} by the model's owner. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "report/card.h"
#include "report_svc.h"

static int wants_markdown(const struct svc_call *c)
{
    const Aiops__Request *req = svc_request(c);
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i]->name, "Accept") == 0 &&
            strstr(req->headers[i]->value, "text/markdown") != NULL)
            return 1;
    return 0;
}

void handle_models_card(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    char run_id[37], slice[128] = "", lang_text[8] = "ko", use[5001] = "";
    int version;
    enum report_lang lang;
    int q = svc_query_text(c, "lang", lang_text, sizeof lang_text);
    if (q == AIOPS_EINVAL || svc_query_text(c, "slice", slice, sizeof slice) == AIOPS_EINVAL)
        return;
    if (q == AIOPS_ENOTFOUND)
        snprintf(lang_text, sizeof lang_text, "ko");
    if (report_lang_parse(lang_text, &lang) != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "lang", "lang must be ko or en");
        return;
    }
    if (version_run(c, name, svc_param(c, 1), &version, run_id) != 0)
        return;
    json_t *run, *inputs, *card = NULL;
    if (run_inputs(c, run_id, &run, &inputs) != 0)
        return;
    PGresult *r;
    const char *v[2] = {svc_project(c), name};
    if (db_execv_one(svc_db(c), &r,
                     "SELECT intended_use FROM model_cards WHERE project_id = $1 AND name = $2", 2,
                     v) == 0) {
        snprintf(use, sizeof use, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    struct card_identity id = {name, version, run_id,
                               json_string_value(json_object_get(run, "dataset_id"))};
    int rv = report_card(inputs, &id, use, slice[0] ? slice : NULL, lang, &card);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_field(c, API_INVALID_PARAMETER, "slice",
                        "slice must name a categorical column with 2 to 20 values");
    } else if (rv != 0) {
        svc_reply_failure(c, rv, "the model card");
    } else if (wants_markdown(c)) {
        struct buf md = BUF_INIT;
        if (report_card_markdown(card, &md) == 0)
            svc_reply_raw(c, 200, "text/markdown; charset=utf-8", md.data, md.len);
        else
            svc_reply_failure(c, AIOPS_ENOMEM, "the model card");
        buf_free(&md);
    } else {
        svc_reply_json(c, 200, card);
        card = NULL;
    }
    json_decref(card);
    json_decref(run);
    json_decref(inputs);
}

void handle_models_card_put(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    const char *use = json_string_value(json_object_get(body, "intended_use"));
    if (use == NULL || strlen(use) > 5000) {
        svc_reply_field(c, API_INVALID_REQUEST, "intended_use",
                        "intended_use must be text of at most 5000 bytes");
        json_decref(body);
        return;
    }
    const char *v[3] = {svc_project(c), name, use};
    PGresult *r;
    int rv = db_execv_one(
        svc_db(c), &r,
        "INSERT INTO model_cards (project_id, name, intended_use)"
        " SELECT project_id, name, $3 FROM models WHERE project_id = $1 AND name = $2"
        " ON CONFLICT (project_id, name) DO UPDATE SET intended_use = excluded.intended_use,"
        " updated_at = now() RETURNING name",
        3, v);
    if (rv == AIOPS_ENOTFOUND)
        svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "model", name));
    else if (rv != 0)
        svc_reply_failure(c, rv, "storing the card");
    else
        svc_reply_json(c, 200, json_pack("{s:s, s:s}", "model", name, "intended_use", use));
    if (rv == 0)
        PQclear(r);
    json_decref(body); /* use points into it */
}
