/* The routes of svc-explain: seed 000's importance and correlation, the native
 * importance by method, SHAP and LIME of given rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "explain_svc.h"
#include "ml/lime.h"
#include "ml/treeshap.h"
#include "store/registry.h"

/* GET /api/report/feature-importance/{run_id} -> [{"feature", "importance", "pValue",
 * "ci": [lo, hi], "description", ...}] most important first (lib/ml/importance.h). */
void handle_importance(struct svc_call *c)
{
    json_t *list;
    if (explain_result(c, svc_param(c, 0), "importance", &list) != 0)
        return;
    if (explain_describe(c, svc_param(c, 0), list) != 0) {
        json_decref(list);
        return;
    }
    svc_reply_json(c, 200, list);
}

/* GET /api/report/correlation/{run_id}[?method=pearson|spearman] -> {"features",
 * "matrix", "method"}. */
void handle_correlation(struct svc_call *c)
{
    char method[16] = "pearson";
    int rv = svc_query(c, "method", method, sizeof method);
    if (rv != 0 && rv != AIOPS_ENOTFOUND) {
        svc_reply_field(c, API_INVALID_PARAMETER, "method", "method must be pearson or spearman");
        return;
    }
    if (strcmp(method, "pearson") != 0 && strcmp(method, "spearman") != 0) {
        svc_reply_field(c, API_INVALID_PARAMETER, "method", "method must be pearson or spearman");
        return;
    }
    json_t *doc;
    const char *kind = method[0] == 'p' ? "correlation_pearson" : "correlation_spearman";
    if (explain_result(c, svc_param(c, 0), kind, &doc) != 0)
        return;
    svc_reply_json(c, 200, doc);
}

/* GET /api/v1/runs/{id}/importance?method=gain|permutation|shap -> {"run_id", "method",
 * "importance": [...] most important first}. gain: the learner's own (gain for gbdt with
 * its split counts, impurity for rf); a learner without one falls back to permutation
 * (and "method" says so). permutation: as the seed-000 route. shap: mean |SHAP value|. */
void handle_run_importance(struct svc_call *c)
{
    char method[16] = "permutation";
    int rv = svc_query(c, "method", method, sizeof method);
    if ((rv != 0 && rv != AIOPS_ENOTFOUND) ||
        (strcmp(method, "gain") != 0 && strcmp(method, "permutation") != 0 &&
         strcmp(method, "shap") != 0)) {
        svc_reply_field(c, API_INVALID_PARAMETER, "method",
                        "method must be gain, permutation or shap");
        return;
    }
    const char *run_id = svc_param(c, 0);
    const int shap = strcmp(method, "shap") == 0;
    json_t *list;
    if (explain_result(c, run_id, shap ? "importance_shap" : "importance", &list) != 0)
        return;
    if (explain_describe(c, run_id, list) != 0) {
        json_decref(list);
        return;
    }
    const char *used = method;
    if (strcmp(method, "gain") == 0) {
        if (json_is_null(json_object_get(json_array_get(list, 0), "model_importance"))) {
            used = "permutation";
        } else {
            json_t *own = json_array();
            size_t i;
            json_t *e;
            json_array_foreach(list, i, e)
            {
                json_array_append_new(
                    own, json_pack("{s:O, s:O, s:O, s:O}", "feature", json_object_get(e, "feature"),
                                   "importance", json_object_get(e, "model_importance"), "splits",
                                   json_object_get(e, "splits"), "description",
                                   json_object_get(e, "description")));
            }
            explain_sort_desc(own, "importance");
            json_decref(list);
            list = own;
        }
    }
    svc_reply_json(c, 200,
                   json_pack("{s:s, s:s, s:s, s:o}", "run_id", run_id, "method", used, "requested",
                             method, "importance", list));
}

/* The model of a request (its "version", else the champion or latest) and the dataset of
 * the run that made it (may be "": an imported model). 0, or an error after answering. */
static int request_model(struct svc_call *c, const json_t *body, struct model **m, int *version,
                         char dataset[40])
{
    const char *name = svc_param(c, 0);
    json_t *v = json_object_get(body, "version");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > REGISTRY_MAX_VERSION) {
            svc_reply_field(c, API_INVALID_REQUEST, "version",
                            "version must be a whole number from 1 to %d", REGISTRY_MAX_VERSION);
            return AIOPS_EINVAL;
        }
        *version = (int)json_integer_value(v);
    } else {
        int rv = registry_name_valid(name)
                     ? registry_resolve(svc_db(c), svc_project(c), name, NULL, version)
                     : AIOPS_ENOTFOUND;
        if (rv != 0) {
            if (rv == AIOPS_ENOTFOUND)
                svc_reply_error(c, API_MODEL_NOT_FOUND, NULL, json_pack("{s:s}", "model", name));
            else
                svc_reply_failure(c, rv, "resolving the model");
            return rv;
        }
    }
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = registry_name_valid(name)
                 ? registry_load_model(svc_db(c), svc_project(c), name, *version, m, &err)
                 : AIOPS_ENOTFOUND;
    if (rv != 0) {
        if (rv == AIOPS_ENOTFOUND)
            svc_reply_error(c, v ? API_VERSION_NOT_FOUND : API_MODEL_NOT_FOUND, NULL,
                            json_pack("{s:s, s:i}", "model", name, "version", *version));
        else
            svc_reply_detail(c, apierr_from_err(rv), "the model cannot be read", &err);
        return rv;
    }
    char vt[24];
    snprintf(vt, sizeof vt, "%d", *version);
    const char *p[3] = {svc_project(c), name, vt};
    PGresult *r;
    dataset[0] = '\0';
    rv = db_execv_one(svc_db(c), &r,
                      "SELECT coalesce(r.dataset_id::text, '') FROM model_versions v"
                      " LEFT JOIN runs r ON r.id = v.run_id"
                      " WHERE v.project_id = $1 AND v.name = $2 AND v.version = $3::int",
                      3, p);
    if (rv == 0) {
        snprintf(dataset, 40, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    } else if (rv != AIOPS_ENOTFOUND) {
        svc_reply_failure(c, rv, "reading the model version");
        model_free(*m);
        *m = NULL;
        return rv;
    }
    return AIOPS_OK;
}

/* The request's rows as a matrix for m (at most max of them): 0, or an error after
 * answering 422 naming the field. */
static int request_rows(struct svc_call *c, const json_t *body, const struct model *m, size_t max,
                        struct fmatrix *x)
{
    json_t *rows;
    if (svc_body_array(c, body, "rows", max, "objects {\"feature\": value}", &rows) != 0)
        return AIOPS_EINVAL;
    json_t *why = NULL;
    int rv = features_matrix_json(&m->features, rows, x, &why);
    if (rv == AIOPS_EINVAL) {
        svc_reply_error(
            c, API_INVALID_REQUEST, "rows do not fit the model",
            json_pack("{s:s, s:o}", "field", "rows", "errors", why ? why : json_array()));
        return rv;
    }
    json_decref(why);
    if (rv != 0)
        svc_reply_failure(c, rv, "reading the rows");
    return rv;
}

/* POST /api/v1/explain/{model}/shap {"rows": [{...}], "version"?} -> {"model", "version",
 * "method": "tree" | "kernel", "features", "rows": [{"bias", "contributions": {feature:
 * value}}]} (multiclass: each row {label: {"bias", "contributions"}}). Contributions and
 * bias sum to the margin (tree models) or the probability / value (Kernel SHAP). */
void handle_shap(struct svc_call *c)
{
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    struct model *m = NULL;
    struct fmatrix x = {0};
    struct run_data rd = {0};
    struct explain_values ev = {0};
    int version;
    char dataset[40];
    if (request_model(c, body, &m, &version, dataset) != 0)
        goto out;
    const int exact = treeshap_supports(m);
    if (request_rows(c, body, m, exact ? SHAP_TREE_ROWS : SHAP_KERNEL_ROWS, &x) != 0)
        goto out;
    if (!exact && run_data_load(c, svc_param(c, 0), version, dataset, &rd) != 0)
        goto out;
    int rv = explain_shap_rows(m, &x, exact ? &x : &rd.x, SHAP_KERNEL_ROWS, &ev);
    if (rv != 0) {
        svc_reply_failure(c, rv, "computing SHAP values");
        goto out;
    }
    const size_t d = m->features.n;
    json_t *features = json_array(), *rows = json_array();
    for (size_t j = 0; j < d; j++)
        json_array_append_new(features, json_string(m->features.f[j].name));
    for (size_t r = 0; r < ev.nrows; r++) {
        json_t *row = json_object(), *one = NULL;
        for (size_t k = ev.k0; k < ev.k0 + ev.kshown; k++) {
            const double *p = ev.phi + (r * ev.nout + k) * (d + 1);
            json_t *contrib = json_object();
            for (size_t j = 0; j < d; j++)
                json_object_set_new(contrib, m->features.f[j].name, jsonx_num(p[j], 0));
            one = json_pack("{s:o, s:o}", "bias", jsonx_num(p[d], 0), "contributions", contrib);
            if (ev.kshown > 1)
                json_object_set_new(row, m->target.labels[k], one);
        }
        if (ev.kshown == 1) {
            json_decref(row);
            row = one;
        }
        json_array_append_new(rows, row);
    }
    svc_reply_json(c, 200,
                   json_pack("{s:s, s:i, s:s, s:o, s:o}", "model", svc_param(c, 0), "version",
                             version, "method", ev.method, "features", features, "rows", rows));
out:
    explain_values_free(&ev);
    run_data_free(&rd);
    fmatrix_free(&x);
    model_free(m);
    json_decref(body);
}

/* POST /api/v1/explain/{model}/lime {"rows": [{...}], "class"?, "version"?} -> {"model",
 * "version", "class", "rows": [{"prediction", "local_prediction", "intercept", "score",
 * "explanation": [{"feature", "condition", "weight"}]}]}; bins learnt from the dataset of
 * the model's run. */
void handle_lime(struct svc_call *c)
{
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    struct model *m = NULL;
    struct fmatrix x = {0}, all = {0};
    struct run_data rd = {0};
    struct lime_explainer e = {0};
    int version;
    char dataset[40];
    if (request_model(c, body, &m, &version, dataset) != 0 ||
        request_rows(c, body, m, LIME_ROWS, &x) != 0)
        goto out;
    if (dataset[0] == '\0') {
        svc_reply_errorf(c, API_INVALID_REQUEST, json_pack("{s:s}", "model", svc_param(c, 0)),
                         "LIME learns its bins from the data the model was trained on; this "
                         "version was not trained here (imported)");
        goto out;
    }
    if (run_data_load(c, svc_param(c, 0), version, dataset, &rd) != 0)
        goto out;
    size_t output = 0, k = model_outputs(m);
    const char *label = json_string_value(json_object_get(body, "class"));
    if (json_object_get(body, "class") != NULL) {
        size_t h = 0;
        while (label && h < m->target.nclasses && strcmp(m->target.labels[h], label) != 0)
            h++;
        if (label == NULL || h == m->target.nclasses) {
            svc_reply_field(c, API_INVALID_REQUEST, "class",
                            "class must be one of the model's "
                            "class labels");
            goto out;
        }
        output = h;
    } else if (m->target.task == TASK_BINARY) {
        output = 1;
    }
    struct aiops_error missing = AIOPS_ERROR_INIT;
    int rv = features_matrix(&m->features, &rd.t, &all, &missing, NULL, NULL);
    if (rv == 0)
        rv = lime_fit(&all, &e);
    json_t *rows = json_array();
    double *row = malloc(m->features.n * sizeof *row), *pred = malloc(k * sizeof *pred);
    for (size_t r = 0; rv == 0 && r < x.nrows; r++) {
        if (row == NULL || pred == NULL) {
            rv = AIOPS_ENOMEM;
            break;
        }
        for (size_t j = 0; j < m->features.n; j++)
            row[j] = x.x[j * x.nrows + r];
        size_t out_k = output;
        if (m->target.task == TASK_MULTICLASS && label == NULL) {
            /* the predicted class */
            struct fmatrix one = x;
            one.nrows = 1;
            one.x = row;
            if ((rv = model_predict(m, &one, pred)) != 0)
                break;
            for (size_t h = 1; h < k; h++)
                if (pred[h] > pred[out_k])
                    out_k = h;
        }
        struct lime_result res;
        if ((rv = lime_explain(m, &e, row, out_k, 0, r, 0, &res)) != 0)
            break;
        json_t *list = json_array();
        for (size_t i = 0; i < res.nused; i++) {
            char cond[512];
            lime_condition(&e, &m->features, res.feature[i], row[res.feature[i]], cond,
                           sizeof cond);
            json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "feature",
                                                  m->features.f[res.feature[i]].name, "condition",
                                                  cond, "weight", jsonx_num(res.weight[i], 0)));
        }
        json_array_append_new(rows, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "class",
                                              m->target.task == TASK_REGRESSION
                                                  ? json_null()
                                                  : json_string(m->target.labels[out_k]),
                                              "prediction", jsonx_num(res.model_pred, 0),
                                              "local_prediction", jsonx_num(res.local_pred, 0),
                                              "intercept", jsonx_num(res.intercept, 0), "score",
                                              jsonx_num(res.score, 0), "explanation", list));
    }
    free(row);
    free(pred);
    if (rv != 0) {
        json_decref(rows);
        svc_reply_failure(c, rv, "computing LIME explanations");
        goto out;
    }
    svc_reply_json(c, 200,
                   json_pack("{s:s, s:i, s:i, s:o}", "model", svc_param(c, 0), "version", version,
                             "samples", LIME_DEFAULT_SAMPLES, "rows", rows));
out:
    lime_free(&e);
    fmatrix_free(&all);
    run_data_free(&rd);
    fmatrix_free(&x);
    model_free(m);
    json_decref(body);
}
