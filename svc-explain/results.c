/* A run's explanations: read from explain_results, or measured on the run's validation
 * rows (train_holdout_rows; every labelled row when the run held none out) and stored. */
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
    PGresult *r = NULL;
    const char *v[3] = {svc_project(c), run_id, kind};
    int rv = uuid_valid(run_id)
                 ? db_execv_one(svc_db(c), &r,
                                "SELECT status, model_name, coalesce(model_version, 0),"
                                " coalesce(dataset_id::text, ''),"
                                " (SELECT result::text FROM explain_results e"
                                "   WHERE e.run_id = runs.id AND e.kind = $3)"
                                " FROM runs WHERE project_id = $1 AND id = $2",
                                3, v)
                 : AIOPS_ENOTFOUND;
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, API_RUN_NOT_FOUND, NULL, json_pack("{s:s}", "run_id", run_id));
        return rv;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the run");
        return rv;
    }
    const char *status = PQgetvalue(r, 0, 0);
    if (strcmp(status, "completed") != 0) {
        svc_reply_error(c, API_RUN_NOT_COMPLETED, NULL,
                        json_pack("{s:s, s:s}", "run_id", run_id, "status", status));
        PQclear(r);
        return AIOPS_EINVAL;
    }
    snprintf(name, name_cap, "%s", PQgetvalue(r, 0, 1));
    *version = atoi(PQgetvalue(r, 0, 2));
    snprintf(dataset, 40, "%s", PQgetvalue(r, 0, 3));
    if (!PQgetisnull(r, 0, 4))
        *cached = json_loads(PQgetvalue(r, 0, 4), 0, NULL);
    PQclear(r);
    return AIOPS_OK;
}

/* Measures `kind` for the run: 0 with *out, or an error after answering. */
static int measure(struct svc_call *c, const char *name, int version, const char *dataset,
                   const char *kind, json_t **out)
{
    const char *project = svc_project(c);
    struct model *m = NULL;
    struct table t;
    memset(&t, 0, sizeof t);
    struct fmatrix x = {0};
    struct labelled_predictions p;
    memset(&p, 0, sizeof p);
    size_t *rows = NULL, nrows = 0;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = registry_load_model(svc_db(c), project, name, version, &m, &err);
    if (rv != 0) {
        svc_reply_detail(c, rv == AIOPS_ENOTFOUND ? API_VERSION_NOT_FOUND : apierr_from_err(rv),
                         "the run's model cannot be read", &err);
        return rv;
    }
    if (dataset[0] == '\0' || (rv = datasets_load(svc_db(c), project, dataset, 0, &t)) != 0) {
        svc_reply_error(
            c, rv == 0 || rv == AIOPS_ENOTFOUND ? API_DATASET_NOT_FOUND : apierr_from_err(rv),
            "the run's dataset cannot be read", json_pack("{s:s}", "dataset_id", dataset));
        model_free(m);
        return rv ? rv : AIOPS_ENOTFOUND;
    }
    const char *missing = NULL;
    if ((rv = train_holdout_rows(m, &t, &rows, &nrows)) == 0 &&
        (rv = train_predict_labelled(m, &t, nrows ? rows : NULL, nrows, &p, &err)) == 0 &&
        (rv = features_matrix_rows(&m->features, &t, p.rows, p.n, &x, &missing, NULL, NULL)) == 0) {
        if (p.n == 0)
            rv = aiops_error_set(&err, AIOPS_EINVAL, NULL, "the run has no labelled rows");
        else if (strcmp(kind, "importance") == 0)
            rv = importance_list_json(m, &x, p.y, IMPORTANCE_DEFAULT_REPEATS, 0, 0, NULL, out);
        else
            rv = importance_correlation_json(
                m, &x, strcmp(kind, "correlation_spearman") == 0 ? "spearman" : "pearson", out);
    }
    if (rv != 0) {
        if (err.message[0])
            svc_reply_detail(c, apierr_from_err(rv), "the run cannot be explained", &err);
        else
            svc_reply_failure(c, rv, "explaining the run");
    }
    fmatrix_free(&x);
    labelled_predictions_free(&p);
    free(rows);
    table_free(&t);
    model_free(m);
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
