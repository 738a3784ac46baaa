/* A run's explanations: read from explain_results, or measured on the run's validation
 * rows (train_holdout_rows; every labelled row when the run held none out) and stored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "explain_svc.h"
#include "ml/importance.h"
#include "ml/train.h"
#include "store/datasets.h"
#include "store/registry.h"

/* The run's model and dataset, and its stored result of `kind` (NULL when none): 0, or an
 * error after answering 404 / 409 / 503. */
static int load_run(struct svc_call *c, const char *run_id, const char *kind, char *name,
                    size_t name_cap, int *version, char dataset[40], json_t **cached)
{
    *cached = NULL;
    PGresult *r;
    int rv = svc_completed_run(c, run_id,
                               "SELECT status, model_name, coalesce(model_version, 0),"
                               " coalesce(dataset_id::text, ''),"
                               " (SELECT result::text FROM explain_results e"
                               "   WHERE e.run_id = runs.id AND e.kind = $3)"
                               " FROM runs WHERE project_id = $1 AND id = $2",
                               kind, &r);
    if (rv != 0)
        return rv;
    snprintf(name, name_cap, "%s", PQgetvalue(r, 0, 1));
    *version = atoi(PQgetvalue(r, 0, 2));
    snprintf(dataset, 40, "%s", PQgetvalue(r, 0, 3));
    if (!PQgetisnull(r, 0, 4))
        *cached = json_loads(PQgetvalue(r, 0, 4), 0, NULL);
    PQclear(r);
    return AIOPS_OK;
}

int run_data_load(struct svc_call *c, const char *name, int version, const char *dataset,
                  struct run_data *rd)
{
    memset(rd, 0, sizeof *rd);
    const char *project = svc_project(c);
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = registry_load_model(svc_db(c), project, name, version, &rd->m, &err);
    if (rv != 0) {
        svc_reply_detail(c, rv == AIOPS_ENOTFOUND ? API_VERSION_NOT_FOUND : apierr_from_err(rv),
                         "the run's model cannot be read", &err);
        return rv;
    }
    if (dataset[0] == '\0' || (rv = datasets_load(svc_db(c), project, dataset, 0, &rd->t)) != 0) {
        svc_reply_error(
            c, rv == 0 || rv == AIOPS_ENOTFOUND ? API_DATASET_NOT_FOUND : apierr_from_err(rv),
            "the run's dataset cannot be read", json_pack("{s:s}", "dataset_id", dataset));
        run_data_free(rd);
        return rv ? rv : AIOPS_ENOTFOUND;
    }
    struct aiops_error missing = AIOPS_ERROR_INIT;
    size_t *rows = NULL, nrows = 0;
    if ((rv = train_holdout_rows(rd->m, &rd->t, &rows, &nrows)) == 0 &&
        (rv = train_predict_labelled(rd->m, &rd->t, nrows ? rows : NULL, nrows, &rd->p, &err)) ==
            0 &&
        (rv = features_matrix_rows(&rd->m->features, &rd->t, rd->p.rows, rd->p.n, &rd->x, &missing,
                                   NULL, NULL)) == 0 &&
        rd->p.n == 0)
        rv = aiops_error_set(&err, AIOPS_EINVAL, NULL, "the run has no labelled rows");
    free(rows);
    if (rv != 0) {
        if (err.message[0])
            svc_reply_detail(c, apierr_from_err(rv), "the run cannot be explained", &err);
        else
            svc_reply_failure(c, rv, "reading the run's rows");
        run_data_free(rd);
    }
    return rv;
}

void run_data_free(struct run_data *rd)
{
    fmatrix_free(&rd->x);
    labelled_predictions_free(&rd->p);
    table_free(&rd->t);
    model_free(rd->m);
    memset(rd, 0, sizeof *rd);
}

/* Mean |SHAP value| per feature over the run's validation rows (TreeSHAP for tree models;
 * Kernel SHAP on up to SHAP_KERNEL_ROWS of them, against them summarised by k-means, for
 * others), most important first: [{"feature", "importance", "share"}]. Multiclass: summed
 * over the classes; binary classifiers: the positive class. */
static int shap_importance(const struct run_data *rd, json_t **out)
{
    const struct model *m = rd->m;
    const size_t d = m->features.n;
    const struct fmatrix *x = &rd->x;
    struct explain_values ev;
    int rv = explain_shap_rows(m, x, x, SHAP_KERNEL_ROWS, &ev);
    if (rv != 0)
        return rv;
    double *mean = calloc(d, sizeof *mean), total = 0;
    if (mean == NULL) {
        explain_values_free(&ev);
        return AIOPS_ENOMEM;
    }
    for (size_t r = 0; r < ev.nrows; r++)
        for (size_t k = ev.k0; k < ev.k0 + ev.kshown; k++)
            for (size_t j = 0; j < d; j++)
                mean[j] += fabs(ev.phi[(r * ev.nout + k) * (d + 1) + j]) / (double)ev.nrows;
    for (size_t j = 0; j < d; j++)
        total += mean[j];
    json_t *list = json_array();
    for (size_t j = 0; j < d; j++)
        json_array_append_new(list, json_pack("{s:s, s:o, s:o}", "feature", m->features.f[j].name,
                                              "importance", jsonx_num(mean[j], 0), "share",
                                              jsonx_num(total > 0 ? mean[j] / total : 0, 0)));
    free(mean);
    explain_values_free(&ev);
    explain_sort_desc(list, "importance");
    *out = list;
    return list ? AIOPS_OK : AIOPS_ENOMEM;
}

/* Measures `kind` for the run: 0 with *out, or an error after answering. */
static int measure(struct svc_call *c, const char *name, int version, const char *dataset,
                   const char *kind, json_t **out)
{
    struct run_data rd;
    int rv = run_data_load(c, name, version, dataset, &rd);
    if (rv != 0)
        return rv;
    if (strcmp(kind, "importance") == 0)
        rv = importance_list_json(rd.m, &rd.x, rd.p.y, IMPORTANCE_DEFAULT_REPEATS, 0, 0, NULL, out);
    else if (strcmp(kind, "importance_shap") == 0)
        rv = shap_importance(&rd, out);
    else
        rv = importance_correlation_json(
            rd.m, &rd.x, strcmp(kind, "correlation_spearman") == 0 ? "spearman" : "pearson", out);
    if (rv != 0)
        svc_reply_failure(c, rv, "explaining the run");
    run_data_free(&rd);
    return rv;
}

int explain_result(struct svc_call *c, const char *run_id, const char *kind, json_t **out)
{
    char name[256], dataset[40];
    int version;
    *out = NULL;
    int rv = load_run(c, run_id, kind, name, sizeof name, &version, dataset, out);
    if (rv != 0 || *out != NULL)
        return rv;
    if ((rv = measure(c, name, version, dataset, kind, out)) != 0)
        return rv;
    char *text = jsonx_to_string(*out, NULL);
    const char *v[4] = {run_id, svc_project(c), kind, text};
    /* two replicas measuring one run at once store the same numbers: the first wins */
    int stored = text ? db_execv(svc_db(c), NULL,
                                 "INSERT INTO explain_results (run_id, project_id, kind, result)"
                                 " VALUES ($1, $2, $3, $4::json)"
                                 " ON CONFLICT (run_id, kind) DO NOTHING",
                                 4, v)
                      : AIOPS_ENOMEM;
    if (stored != 0)
        log_warn("explanation %s of run %s not cached: %s", kind, run_id, aiops_strerror(stored));
    free(text);
    return AIOPS_OK;
}

int explain_describe(struct svc_call *c, const char *run_id, json_t *list)
{
    const char *v[2] = {svc_project(c), run_id};
    PGresult *r;
    /* the run was read a moment ago (explain_result): gone now, it describes nothing */
    int rv = db_execv_one(svc_db(c), &r,
                          "SELECT coalesce(dataset_id::text, '') FROM runs"
                          " WHERE project_id = $1 AND id = $2::uuid",
                          2, v);
    json_t *set = NULL;
    if (rv == 0) {
        if (PQgetvalue(r, 0, 0)[0] != '\0')
            rv = datasets_get_descriptions(svc_db(c), svc_project(c), PQgetvalue(r, 0, 0), &set);
        PQclear(r);
    }
    if (rv != 0 && rv != AIOPS_ENOTFOUND) {
        svc_reply_failure(c, rv, "reading the feature descriptions");
        return rv;
    }
    datasets_describe(list, set);
    json_decref(set);
    return AIOPS_OK;
}
