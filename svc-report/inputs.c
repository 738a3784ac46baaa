/* The report inputs of a run, gathered in this one place and kept in report_inputs: the
 * run's model (registry), its dataset and the validation rows it held out, the dataset's
 * profile (cached by svc-ingest, else computed), the per-iteration history (run_metrics),
 * and what svc-explain measures (explain_results). Computed on the first request for a
 * run, then read back in a few milliseconds by every replica; what may come or change later
 * (svc-explain's results, the dataset's feature descriptions) is added at every request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "ml/train.h"
#include "report/inputs.h"
#include "report_svc.h"
#include "store/datasets.h"
#include "store/registry.h"

/* What svc-explain contributes: when it has measured the run (explain_results, migration
 * 0006: permutation importance on the run's validation rows, with each feature's test
 * against the target, its p-value and CIs), that list replaces the model's own importance
 * saved at training; else the model's own stays, without significance. The correlation
 * matrix stays the profile's Pearson one (the report shows the most important numeric
 * features; svc-explain's covers them all). "sources" says where each number came from. */
static int explain_results(struct svc_call *c, const json_t *run, json_t *inputs)
{
    const char *v[2] = {json_string_value(json_object_get(run, "run_id")), svc_project(c)};
    PGresult *r;
    int rv = db_execv(svc_db(c), &r,
                      "SELECT result::text FROM explain_results"
                      " WHERE run_id = $1 AND project_id = $2 AND kind = 'importance'",
                      2, v);
    if (rv != 0)
        return rv;
    json_t *list = PQntuples(r) == 1 ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    int measured = json_is_array(list) && json_array_size(list) > 0;
    if (measured)
        report_inputs_set_importance(inputs, list, "permutation");
    else
        json_decref(list);
    const int own = json_is_string(json_object_get(inputs, "importance_method"));
    return jsonx_set(
        inputs, "sources",
        json_pack("{s:s?, s:s, s:s?, s:n}", "importance",
                  measured ? "svc-explain: permutation importance on the run's validation rows"
                  : own    ? "model: the learner's own importance saved at training"
                           : NULL,
                  "correlation", "profile: Pearson correlations of the dataset", "significance",
                  measured ? "svc-explain: each feature's test against the target (its \"test\")"
                           : NULL,
                  "descriptions"));
}

/* The dataset's feature descriptions on the importance list, read at every request (they
 * can be replaced after the inputs were cached), and "sources" saying so. 0, or an error
 * after answering. */
static int describe(struct svc_call *c, const json_t *run, json_t *inputs)
{
    const char *dataset = json_string_value(json_object_get(run, "dataset_id"));
    json_t *set = NULL;
    int rv = dataset && dataset[0]
                 ? datasets_get_descriptions(svc_db(c), svc_project(c), dataset, &set)
                 : AIOPS_ENOTFOUND;
    if (rv == AIOPS_ENOTFOUND) /* the dataset was deleted: nothing describes the features */
        rv = AIOPS_OK;
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the feature descriptions");
        return rv;
    }
    datasets_describe(json_object_get(inputs, "importance"), set);
    json_t *sources = json_object_get(inputs, "sources");
    if (json_is_object(sources))
        json_object_set_new(sources, "descriptions",
                            json_object_size(set)
                                ? json_sprintf("dataset %s: its descriptions", dataset)
                                : json_null());
    json_decref(set);
    return AIOPS_OK;
}

#define RUN_SELECT                                                                                 \
    "SELECT status, id::text, model_name, coalesce(model_version, 0), coalesce(dataset_id::text, " \
    "''),"                                                                                         \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                   \
    " coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''),"    \
    " (SELECT inputs::text FROM report_inputs i WHERE i.run_id = runs.id)"                         \
    " FROM runs WHERE project_id = $1 AND id = $2"

/* The completed run's row; 0, or an error after answering. *cached: its stored inputs text
 * or NULL. */
static int load_run(struct svc_call *c, const char *run_id, json_t **run, json_t **cached)
{
    *run = *cached = NULL;
    PGresult *r;
    int rv = svc_completed_run(c, run_id, RUN_SELECT, NULL, &r);
    if (rv != 0)
        return rv;
    *run = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "run_id", PQgetvalue(r, 0, 1), "status",
                     PQgetvalue(r, 0, 0), "model_name", PQgetvalue(r, 0, 2), "model_version",
                     atoi(PQgetvalue(r, 0, 3)), "dataset_id", PQgetvalue(r, 0, 4), "created_at",
                     PQgetvalue(r, 0, 5), "finished_at", PQgetvalue(r, 0, 6));
    if (!PQgetisnull(r, 0, 7))
        *cached = json_loads(PQgetvalue(r, 0, 7), 0, NULL);
    PQclear(r);
    if (*run == NULL) {
        json_decref(*cached);
        *cached = NULL;
        svc_reply_failure(c, AIOPS_ENOMEM, "reading the run");
        return AIOPS_ENOMEM;
    }
    return AIOPS_OK;
}

/* {key: [[step, value], ...]} from run_metrics. */
static int read_history(struct svc_call *c, const char *run_id, json_t **out)
{
    PGresult *r;
    const char *v[1] = {run_id};
    *out = NULL;
    int rv = db_execv(svc_db(c), &r,
                      "SELECT key, step, value FROM run_metrics WHERE run_id = $1 ORDER BY key, step",
                      1, v);
    if (rv != 0)
        return rv;
    json_t *h = json_object();
    for (int i = 0; h != NULL && i < PQntuples(r); i++) {
        const char *key = PQgetvalue(r, i, 0);
        json_t *series = json_object_get(h, key);
        if (series == NULL)
            json_object_set_new(h, key, series = json_array());
        json_array_append_new(series, json_pack("[i, o]", atoi(PQgetvalue(r, i, 1)),
                                                PQgetisnull(r, i, 2)
                                                    ? json_null()
                                                    : jsonx_num(atof(PQgetvalue(r, i, 2)), 0)));
    }
    PQclear(r);
    *out = h;
    return h ? AIOPS_OK : AIOPS_ENOMEM;
}

/* Measures the run: its model on its dataset's validation rows. 0 with *inputs, or an
 * error after answering. */
static int gather(struct svc_call *c, json_t *run, json_t **inputs)
{
    const char *project = svc_project(c), *run_id = json_string_value(json_object_get(run, "run_id"));
    const char *name = json_string_value(json_object_get(run, "model_name"));
    const char *dataset = json_string_value(json_object_get(run, "dataset_id"));
    int version = (int)json_integer_value(json_object_get(run, "model_version"));
    struct model *m = NULL;
    struct table t;
    memset(&t, 0, sizeof t);
    json_t *profile = NULL, *history = NULL;
    size_t *rows = NULL, nrows = 0;
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = registry_load_model(svc_db(c), project, name, version, &m, &err);
    if (rv != 0) {
        svc_reply_detail(c, rv == AIOPS_ENOTFOUND ? API_VERSION_NOT_FOUND : apierr_from_err(rv),
                         "the run's model cannot be read", &err);
        return rv;
    }
    if (dataset[0] == '\0' || (rv = datasets_load(svc_db(c), project, dataset, 0, &t)) != 0) {
        svc_reply_error(c, rv == 0 || rv == AIOPS_ENOTFOUND ? API_DATASET_NOT_FOUND : apierr_from_err(rv),
                        "the run's dataset cannot be read", json_pack("{s:s}", "dataset_id", dataset));
        model_free(m);
        return rv ? rv : AIOPS_ENOTFOUND;
    }
    if ((rv = train_holdout_rows(m, &t, &rows, &nrows)) == 0 &&
        (rv = datasets_get_profile(svc_db(c), project, dataset, &profile)) == 0 &&
        (rv = read_history(c, run_id, &history)) == 0) {
        struct report_source src = {m, &t, nrows ? rows : NULL, nrows,
                                    nrows ? "validation" : "training", profile, NULL};
        rv = report_inputs_compute(&src, inputs, &err);
    }
    if (rv == 0) {
        report_inputs_set_history(*inputs, history);
        history = NULL;
        json_object_set(*inputs, "run", run);
        json_object_set(json_object_get(*inputs, "model"), "name", json_object_get(run, "model_name"));
        json_object_set(json_object_get(*inputs, "model"), "version",
                        json_object_get(run, "model_version"));
    }
    if (rv != 0) {
        if (err.message[0])
            svc_reply_detail(c, apierr_from_err(rv), "the run cannot be measured", &err);
        else
            svc_reply_failure(c, rv, "measuring the run");
        json_decref(*inputs);
        *inputs = NULL;
    }
    json_decref(history);
    json_decref(profile);
    free(rows);
    table_free(&t);
    model_free(m);
    return rv;
}

/* What can change after the inputs were measured and cached, added at every request:
 * svc-explain's results (measured later than the report, perhaps) and the descriptions. On
 * an error (answered) the run and the inputs are dropped. */
static int add_later_parts(struct svc_call *c, json_t **run, json_t **inputs)
{
    int rv = explain_results(c, *run, *inputs);
    if (rv != 0)
        svc_reply_failure(c, rv, "reading svc-explain's results");
    else
        rv = describe(c, *run, *inputs);
    if (rv != 0) {
        json_decref(*run);
        json_decref(*inputs);
        *run = *inputs = NULL;
    }
    return rv;
}

int run_inputs(struct svc_call *c, const char *run_id, json_t **run, json_t **inputs)
{
    json_t *cached;
    *inputs = NULL;
    int rv = load_run(c, run_id, run, &cached);
    if (rv != 0)
        return rv;
    if (cached != NULL) {
        *inputs = cached;
        return add_later_parts(c, run, inputs);
    }
    if ((rv = gather(c, *run, inputs)) != 0) {
        json_decref(*run);
        *run = NULL;
        return rv;
    }
    char *text = jsonx_to_string(*inputs, NULL);
    const char *v[3] = {run_id, svc_project(c), text};
    /* two replicas measuring the same run at once store the same numbers: the first wins */
    int stored = text ? db_execv(svc_db(c), NULL,
                                 "INSERT INTO report_inputs (run_id, project_id, inputs)"
                                 " VALUES ($1, $2, $3::json) ON CONFLICT (run_id) DO NOTHING",
                                 3, v)
                      : AIOPS_ENOMEM;
    if (stored != 0)
        log_warn("report inputs of run %s not cached: %s", run_id, aiops_strerror(stored));
    free(text);
    return add_later_parts(c, run, inputs);
}

int version_run(struct svc_call *c, const char *name, const char *version_text, int *version,
                char run_id[37])
{
    long v;
    if (svc_parse_long(c, API_INVALID_PARAMETER, "version", version_text, 1, REGISTRY_MAX_VERSION,
                       &v) != 0)
        return AIOPS_EINVAL;
    *version = (int)v;
    char vt[24];
    snprintf(vt, sizeof vt, "%ld", v);
    const char *p[3] = {svc_project(c), name, vt};
    PGresult *r;
    int rv = db_execv_one(svc_db(c), &r,
                          "SELECT coalesce(run_id::text, '') FROM model_versions"
                          " WHERE project_id = $1 AND name = $2 AND version = $3::int",
                          3, p);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_error(c, API_VERSION_NOT_FOUND, NULL,
                        json_pack("{s:s, s:i}", "model", name, "version", *version));
        return rv;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the model version");
        return rv;
    }
    snprintf(run_id, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (run_id[0] == '\0') {
        svc_reply_error(c, API_RUN_NOT_FOUND, "the version's run was deleted",
                        json_pack("{s:s, s:i}", "model", name, "version", *version));
        return AIOPS_ENOTFOUND;
    }
    return AIOPS_OK;
}
