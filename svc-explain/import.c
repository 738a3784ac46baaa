/* POST /api/v1/models/{name}/import: an XGBoost JSON model (the request body, as
 * Booster.save_model writes it) becomes the next version of a model, served and explained
 * like the models trained here (lib/ml/xgbimport.h). */
#include <string.h>

#include "explain_svc.h"
#include "ml/xgbimport.h"
#include "store/registry.h"

void handle_import(struct svc_call *c)
{
    const char *name = svc_param(c, 0);
    if (!registry_name_valid(name)) {
        svc_reply_field(c, API_INVALID_PARAMETER, "name",
                        "a model name is 1 to 128 of A-Z a-z 0-9 . _ - and does not start with "
                        "a dot");
        return;
    }
    const Aiops__Request *req = svc_request(c);
    struct model *m = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = xgb_import((const char *)req->body.data, req->body.len, &m, &err);
    if (rv == AIOPS_EPARSE) {
        svc_reply_detail(c, API_INVALID_JSON, "the body is not an XGBoost JSON model", &err);
        return;
    }
    if (rv == AIOPS_EINVAL || rv == AIOPS_ETOOBIG) {
        svc_reply_field(c, rv == AIOPS_ETOOBIG ? API_PAYLOAD_TOO_LARGE : API_INVALID_REQUEST,
                        err.field, "%s", err.message);
        return;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the model");
        return;
    }
    struct db *db = svc_db(c);
    int version = 0;
    if ((rv = db_begin(db)) == 0) {
        rv = registry_add_version(db, svc_project(c), name, NULL, m, NULL, &version);
        if (rv == 0)
            rv = db_commit(db);
        else
            db_rollback(db);
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "storing the model");
        model_free(m);
        return;
    }
    json_t *imported = json_object_get(m->meta, "imported");
    svc_reply_json(c, 201,
                   json_pack("{s:s, s:i, s:s, s:s, s:I, s:O, s:O}", "model", name, "version",
                             version, "kind", m->learner->name, "task",
                             table_task_name(m->target.task), "features", (json_int_t)m->features.n,
                             "trees", json_object_get(m->meta, "iterations"), "objective",
                             json_object_get(imported, "objective")));
    model_free(m);
}
