#include "store/runqueue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonx.h"
#include "ml/learner.h"
#include "store/jobs.h"
#include "store/registry.h"

int runs_queue(struct db *db, const char *project, const struct run_spec *spec, const char *run_id)
{
    char *params_s = jsonx_to_string(spec->params, NULL);
    char *tags_s = spec->tags ? jsonx_to_string(spec->tags, NULL) : strdup("{}");
    char total[24], retrain[16];
    snprintf(total, sizeof total, "%lld", (long long)spec->total_epochs);
    snprintf(retrain, sizeof retrain, "%d", spec->retrain_of);
    const char *v[10] = {run_id,        project,
                         spec->file_id, spec->kind,
                         spec->target,  spec->model_name,
                         params_s,      tags_s,
                         total,         spec->retrain_of > 0 ? retrain : NULL};
    int rv = params_s && tags_s ? db_begin(db) : AIOPS_ENOMEM;
    if (rv == 0)
        rv =
            db_execv(db, NULL,
                     "INSERT INTO runs (id, project_id, dataset_id, model_kind, target, model_name,"
                     " status, params, tags, total_epochs, retrain_champion_version) VALUES ($1,"
                     " $2, $3, $4, $5, $6, 'queued', $7::jsonb, $8::jsonb, $9::int, $10::int)",
                     10, v);
    if (rv == 0)
        rv = jobs_enqueue(db, "train", run_id, project, 3);
    rv = db_finish(db, rv);
    free(params_s);
    free(tags_s);
    return rv;
}

/* The champion's run and the newest upload of its dataset (the latest of the same file name,
 * read the same way, that still has the target column). */
static int read_champion(struct db *db, const char *project, const char *name,
                         struct retrain_plan *p)
{
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", p->champion_version);
    const char *v[3] = {project, name, vbuf};
    PGresult *r = NULL;
    int rv = db_execv_one(
        db, &r,
        "SELECT coalesce(r.id::text, ''), coalesce(r.model_kind, ''), coalesce(r.target, ''),"
        " coalesce(r.params::text, '{}'), coalesce(r.dataset_id::text, ''),"
        " coalesce((SELECT n.id::text FROM datasets d JOIN datasets n"
        "   ON n.project_id = d.project_id AND n.filename = d.filename"
        "   AND n.parse_options = d.parse_options"
        "   WHERE d.id = r.dataset_id"
        "   AND n.schema @> jsonb_build_array(jsonb_build_object('name', r.target))"
        "   ORDER BY n.created_at DESC, n.id DESC LIMIT 1), '')"
        " FROM model_versions v LEFT JOIN runs r ON r.id = v.run_id"
        " WHERE v.project_id = $1 AND v.name = $2 AND v.version = $3::int",
        3, v);
    if (rv != 0)
        return rv;
    snprintf(p->champion_run, sizeof p->champion_run, "%s", PQgetvalue(r, 0, 0));
    snprintf(p->kind, sizeof p->kind, "%s", PQgetvalue(r, 0, 1));
    snprintf(p->target, sizeof p->target, "%s", PQgetvalue(r, 0, 2));
    p->params = json_loads(PQgetvalue(r, 0, 3), 0, NULL);
    snprintf(p->dataset, sizeof p->dataset, "%s", PQgetvalue(r, 0, 4));
    /* the newest upload of the dataset, else the champion's own */
    const char *newest = PQgetvalue(r, 0, 5);
    snprintf(p->file_id, sizeof p->file_id, "%s", newest[0] ? newest : p->dataset);
    PQclear(r);
    return p->params != NULL ? AIOPS_OK : AIOPS_ECORRUPT;
}

int retrain_plan_read(struct db *db, const char *project, const char *name,
                      struct retrain_plan *plan, struct aiops_error *err)
{
    memset(plan, 0, sizeof *plan);
    int rv = registry_resolve(db, project, name, NULL, &plan->champion_version);
    if (rv == 0)
        rv = read_champion(db, project, name, plan);
    const struct learner *l = rv == 0 ? learner_find(plan->kind) : NULL;
    if (rv != 0)
        ;
    else if (plan->champion_run[0] == '\0')
        rv = aiops_error_set(err, AIOPS_EINVAL, "model_name",
                             "version %d of %s was not trained here (imported): there is no run"
                             " to repeat",
                             plan->champion_version, name);
    else if (strcmp(plan->kind, "automl") == 0)
        rv = aiops_error_set(err, AIOPS_EINVAL, "model_name",
                             "the champion of %s came from an AutoML search: start another with"
                             " POST /api/v1/automl",
                             name);
    else if (l == NULL || !l->needs_target)
        rv = aiops_error_set(err, AIOPS_EINVAL, "model_name",
                             "%s is not a supervised model: there is no labelled hold-out to"
                             " compare a retrained one on",
                             name);
    else if (plan->dataset[0] == '\0')
        rv = aiops_error_set(err, AIOPS_EINVAL, "model_name",
                             "the dataset the champion of %s was trained on was deleted", name);
    else
        plan->total_epochs = learner_iterations(l, plan->params);
    if (rv != 0)
        retrain_plan_free(plan);
    return rv;
}

void retrain_plan_free(struct retrain_plan *plan)
{
    json_decref(plan->params);
    plan->params = NULL;
}

int retrain_queue(struct db *db, const char *project, const char *name,
                  const struct retrain_plan *plan, const json_t *extra_tags, const char *run_id)
{
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", plan->champion_version);
    json_t *tags = json_pack("{s:s, s:s}", "retrain_of", name, "champion_version", vbuf);
    if (tags != NULL && extra_tags != NULL && json_object_update_missing(tags, (json_t *)extra_tags) != 0) {
        json_decref(tags);
        tags = NULL;
    }
    if (tags == NULL)
        return AIOPS_ENOMEM;
    const struct run_spec spec = {plan->file_id, plan->kind,          plan->target,
                                  name,          plan->params,        tags,
                                  plan->total_epochs, plan->champion_version};
    int rv = runs_queue(db, project, &spec, run_id);
    json_decref(tags);
    return rv;
}

int retrain_pending(struct db *db, const char *project, const char *name)
{
    const char *v[2] = {project, name};
    PGresult *r = NULL;
    int rv = db_execv(db, &r,
                      "SELECT 1 FROM runs WHERE project_id = $1 AND tags->>'retrain_of' = $2"
                      " AND status IN ('queued', 'running') LIMIT 1",
                      2, v);
    if (rv != 0)
        return -1;
    int n = PQntuples(r);
    PQclear(r);
    return n > 0;
}
