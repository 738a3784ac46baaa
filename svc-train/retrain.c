/* Retraining (issue 9): POST /api/v1/models/retrain queues a run that repeats the champion's
 * run -- its learner, target and parameters -- on the newest upload of the champion's dataset
 * (the latest dataset of the same file name, read the same way, that still has the target
 * column). When that run completes (worker.c), the challenger it registered and the champion
 * are scored on the retrain's validation rows -- the same fresh hold-out for both -- and
 * compared with a paired test (lib/ml/significance.h): DeLong on AUC for a binary model,
 * McNemar on accuracy for a multiclass one, a paired t-test on squared errors for a
 * regressor. The challenger becomes the champion only when it is better with p below the
 * significance level (RETRAIN_SIGNIFICANCE_LEVEL, default 0.05); the decision is stored
 * (migrations/0012_retrain.sql) in the transaction that registers the challenger, so a
 * completed retrain always has its decision, and GET /api/v1/models/info shows the last. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/env.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "ml/learner.h"
#include "ml/significance.h"
#include "ml/train.h"
#include "store/registry.h"
#include "callytics.h"
#include "train_svc.h"

#define DEFAULT_LEVEL 0.05

/* --- POST /api/v1/models/retrain ------------------------------------------------------ */

void handle_models_retrain(struct svc_call *c)
{
    json_t *body = NULL;
    if (svc_json_body(c, &body) != 0)
        return;
    const json_t *source = json_object_get(body, "training_data_source");
    if (source != NULL) { /* seed 004: the counseling outcome model from the stored sessions */
        if (json_is_string(source) && strcmp(json_string_value(source), "database") == 0)
            callytics_retrain(c, body);
        else
            svc_reply_field(c, API_INVALID_REQUEST, "training_data_source",
                            "training_data_source must be \"database\" (the stored counseling "
                            "sessions); without it the champion's run is repeated");
        json_decref(body);
        return;
    }
    const json_t *jname = json_object_get(body, "model_name");
    const char *name = json_string_value(jname);
    struct retrain_plan plan;
    memset(&plan, 0, sizeof plan);
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = AIOPS_EINVAL;
    if (jname == NULL)
        svc_reply_field(c, API_INVALID_REQUEST, "model_name",
                        "model_name (the registered model to retrain) is required");
    else if (name == NULL)
        svc_reply_field(c, API_INVALID_REQUEST, "model_name", "model_name must be a string");
    else if (!registry_name_valid(name))
        svc_reply_field(c, API_INVALID_REQUEST, "model_name", "model_name " MODEL_NAME_RULE);
    else if ((rv = retrain_plan_read(svc_db(c), svc_project(c), name, &plan, &err)) ==
             AIOPS_ENOTFOUND)
        reply_model_not_found(c, name);
    else if (rv == AIOPS_EINVAL)
        svc_reply_field(c, API_INVALID_REQUEST, err.field, "%s", err.message);
    else if (rv != 0)
        svc_reply_failure(c, rv, "reading the champion");
    char run_id[37];
    uuid_v4(run_id);
    if (rv == 0 && (rv = retrain_queue(svc_db(c), svc_project(c), name, &plan, NULL, run_id)) != 0)
        svc_reply_failure(c, rv, "queueing the retrain");
    if (rv == 0) {
        log_json(LOG_LEVEL_INFO, "retrain queued",
                 json_pack("{s:s, s:s, s:s, s:i, s:s}", "run_id", run_id, "project", svc_project(c),
                           "model_name", name, "champion_version", plan.champion_version,
                           "dataset", plan.file_id));
        svc_reply_json(c, 202,
                       json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:O}", "run_id", run_id, "status",
                                 "queued", "model_name", name, "champion_version",
                                 plan.champion_version, "file_id", plan.file_id, "model", plan.kind,
                                 "params", plan.params));
    }
    retrain_plan_free(&plan);
    json_decref(body);
}

/* --- the comparison --------------------------------------------------------------------- */

double retrain_significance_level(void)
{
    const char *s = env_str("RETRAIN_SIGNIFICANCE_LEVEL", NULL);
    char *end = NULL;
    double v = s != NULL ? strtod(s, &end) : NAN;
    if (s != NULL && end != s && *end == '\0' && v > 0 && v <= 0.5)
        return v;
    if (s != NULL)
        log_json(LOG_LEVEL_WARN, "RETRAIN_SIGNIFICANCE_LEVEL is not a number in (0, 0.5]; 0.05",
                 json_pack("{s:s}", "value", s));
    return DEFAULT_LEVEL;
}

int retrain_same_target(const struct model *a, const struct model *b)
{
    const struct target_spec *x = &a->target, *y = &b->target;
    if (x->task != y->task || strcmp(x->name, y->name) != 0)
        return 0;
    if (x->task == TASK_REGRESSION)
        return 1;
    if (x->nclasses != y->nclasses)
        return 0;
    for (size_t k = 0; k < x->nclasses; k++)
        if (strcmp(x->labels[k], y->labels[k]) != 0)
            return 0;
    return 1;
}

static size_t argmax(const double *p, size_t k)
{
    size_t best = 0;
    for (size_t j = 1; j < k; j++)
        if (p[j] > p[best])
            best = j;
    return best;
}

/* The metric of both and the test's p-value on a (champion) and b (challenger), which
 * scored the same rows. *better: the challenger's metric is the better one. */
static int score_pair(const struct labelled_predictions *a, const struct labelled_predictions *b,
                      enum table_task task, struct retrain_verdict *v, int *better)
{
    size_t n = a->n, k = a->outputs;
    double *ea = malloc((n ? n : 1) * sizeof *ea), *eb = malloc((n ? n : 1) * sizeof *eb);
    uint8_t *y01 = malloc(n ? n : 1);
    if (ea == NULL || eb == NULL || y01 == NULL) {
        free(ea);
        free(eb);
        free(y01);
        return AIOPS_ENOMEM;
    }
    if (task == TASK_BINARY) {
        for (size_t i = 0; i < n; i++) {
            ea[i] = a->pred[i * k + 1]; /* the positive class is the last */
            eb[i] = b->pred[i * k + 1];
            y01[i] = a->y[i] == 1.0;
        }
        v->p_value = sig_delong(ea, eb, y01, n, &v->champion_metric, &v->challenger_metric, NULL);
        *better = v->challenger_metric > v->champion_metric;
    } else if (task == TASK_MULTICLASS) {
        uint64_t right_a = 0, right_b = 0, only_a = 0, only_b = 0;
        for (size_t i = 0; i < n; i++) {
            int ra = (double)argmax(a->pred + i * k, k) == a->y[i];
            int rb = (double)argmax(b->pred + i * k, k) == b->y[i];
            right_a += (uint64_t)ra;
            right_b += (uint64_t)rb;
            only_a += (uint64_t)(ra && !rb);
            only_b += (uint64_t)(rb && !ra);
        }
        v->champion_metric = (double)right_a / (double)n;
        v->challenger_metric = (double)right_b / (double)n;
        v->p_value = sig_mcnemar(only_a, only_b);
        *better = only_b > only_a;
    } else {
        double sa = 0, sb = 0;
        for (size_t i = 0; i < n; i++) {
            ea[i] = (a->pred[i] - a->y[i]) * (a->pred[i] - a->y[i]);
            eb[i] = (b->pred[i] - b->y[i]) * (b->pred[i] - b->y[i]);
            sa += ea[i];
            sb += eb[i];
        }
        v->champion_metric = sqrt(sa / (double)n);
        v->challenger_metric = sqrt(sb / (double)n);
        v->p_value = sig_paired_t(ea, eb, n, NULL);
        *better = sb < sa;
    }
    free(ea);
    free(eb);
    free(y01);
    return AIOPS_OK;
}

void retrain_decide(struct retrain_verdict *v, int better, const char *rows_what)
{
    char scores[160];
    snprintf(scores, sizeof scores,
             "the challenger's %s %.4g against the champion's %.4g on %zu %s", v->metric,
             v->challenger_metric, v->champion_metric, v->rows, rows_what);
    v->promoted = better && v->p_value < v->level;
    if (isnan(v->p_value))
        snprintf(v->reason, sizeof v->reason,
                 "%s: the %s test is undefined (the two models do not differ on these rows,"
                 " or a class is missing); the champion stays",
                 scores, v->test);
    else if (!better)
        snprintf(v->reason, sizeof v->reason, "%s: not better (%s p = %.3g); the champion stays",
                 scores, v->test, v->p_value);
    else if (!v->promoted)
        snprintf(v->reason, sizeof v->reason,
                 "%s: better but not significantly (%s p = %.3g >= %g); the champion stays", scores,
                 v->test, v->p_value, v->level);
    else
        snprintf(v->reason, sizeof v->reason,
                 "%s: significantly better (%s p = %.3g < %g); the challenger is promoted", scores,
                 v->test, v->p_value, v->level);
}

void retrain_compare(struct db *db, const char *project, const char *name,
                     const struct model *challenger, const struct table *t,
                     struct retrain_verdict *v)
{
    enum table_task task = challenger->target.task;
    v->champion_metric = v->challenger_metric = v->p_value = NAN;
    v->level = retrain_significance_level();
    v->rows = 0;
    v->promoted = 0;
    v->reason[0] = '\0';
    snprintf(v->metric, sizeof v->metric, "%s",
             task == TASK_BINARY       ? "auc"
             : task == TASK_MULTICLASS ? "accuracy"
                                       : "rmse");
    snprintf(v->test, sizeof v->test, "%s",
             task == TASK_BINARY       ? "delong"
             : task == TASK_MULTICLASS ? "mcnemar"
                                       : "paired_t");
    struct model *champion = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    size_t *rows = NULL, n = 0;
    struct labelled_predictions a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    int have_a = 0, have_b = 0, better = 0;
    int rv = registry_load_model(db, project, name, v->champion_version, &champion, &err);
    if (rv != 0)
        snprintf(v->reason, sizeof v->reason, "the champion (version %d) cannot be read: %s",
                 v->champion_version, err.message[0] ? err.message : aiops_strerror(rv));
    else if (!retrain_same_target(champion, challenger))
        snprintf(v->reason, sizeof v->reason,
                 "the champion predicts another target, task or set of classes: not comparable");
    else if ((rv = train_holdout_rows(challenger, t, &rows, &n)) != 0 || n == 0)
        snprintf(v->reason, sizeof v->reason,
                 "the retrain held out no validation rows to compare on (valid_fraction)");
    else if ((rv = train_predict_labelled(challenger, t, rows, n, &b, &err)) != 0 || !(have_b = 1))
        snprintf(v->reason, sizeof v->reason, "the challenger cannot score the hold-out: %s",
                 err.message[0] ? err.message : aiops_strerror(rv));
    else if ((rv = train_predict_labelled(champion, t, rows, n, &a, &err)) != 0 || !(have_a = 1))
        snprintf(v->reason, sizeof v->reason, "the champion cannot score the hold-out: %s",
                 err.message[0] ? err.message : aiops_strerror(rv));
    else if (a.n != b.n || a.n == 0)
        snprintf(v->reason, sizeof v->reason, "the two models scored different hold-out rows");
    else if ((v->rows = a.n, rv = score_pair(&a, &b, task, v, &better)) != 0)
        snprintf(v->reason, sizeof v->reason, "scoring failed: %s", aiops_strerror(rv));
    else
        retrain_decide(v, better, "hold-out rows");
    if (have_a)
        labelled_predictions_free(&a);
    if (have_b)
        labelled_predictions_free(&b);
    free(rows);
    model_free(champion);
}

/* --- the decision, stored and shown ------------------------------------------------------ */

#define DECISION_COLUMNS                                                                           \
    "challenger_version, champion_version, metric, test, coalesce(champion_metric::text, ''),"     \
    " coalesce(challenger_metric::text, ''), coalesce(p_value::text, ''),"                         \
    " significance_level::text, holdout_rows, promoted,"                                           \
    " reason, to_char(decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"        \
    " coalesce(run_id::text, '')"

static json_t *num_text(const char *s)
{
    return s[0] ? jsonx_num(strtod(s, NULL), 0) : json_null();
}

/* Row i of a DECISION_COLUMNS result as the API shows it. */
static json_t *decision_json(PGresult *r, int i)
{
    return json_pack("{s:i, s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:s, s:s, s:s}",
                     "challenger_version", atoi(PQgetvalue(r, i, 0)), "champion_version",
                     atoi(PQgetvalue(r, i, 1)), "metric", PQgetvalue(r, i, 2), "test",
                     PQgetvalue(r, i, 3), "champion_metric", num_text(PQgetvalue(r, i, 4)),
                     "challenger_metric", num_text(PQgetvalue(r, i, 5)), "p_value",
                     num_text(PQgetvalue(r, i, 6)), "significance_level",
                     num_text(PQgetvalue(r, i, 7)), "holdout_rows", atoi(PQgetvalue(r, i, 8)),
                     "promoted", PQgetvalue(r, i, 9)[0] == 't', "reason", PQgetvalue(r, i, 10),
                     "decided_at", PQgetvalue(r, i, 11), "run_id", PQgetvalue(r, i, 12));
}

/* A double as a statement's text parameter (NULL for NaN). */
static const char *num_param(double x, char *buf, size_t cap)
{
    if (!isfinite(x))
        return NULL;
    snprintf(buf, cap, "%.17g", x);
    return buf;
}

int retrain_record(struct db *db, const char *project, const char *name, const char *run_id,
                   int version, struct retrain_verdict *v, json_t **decision)
{
    *decision = NULL;
    int rv = AIOPS_OK;
    if (v->promoted) {
        /* the champion may have been promoted or rolled back by hand while this trained */
        int current = 0;
        rv = registry_resolve(db, project, name, REGISTRY_CHAMPION, &current);
        if (rv == AIOPS_ENOTFOUND)
            rv = AIOPS_OK;
        if (rv == 0 && current != v->champion_version) {
            v->promoted = 0;
            size_t len = strlen(v->reason);
            snprintf(v->reason + len, sizeof v->reason - len,
                     "; but the champion changed (to version %d) meanwhile, so it stays", current);
        }
        int from = 0;
        if (rv == 0 && v->promoted)
            rv = registry_point_alias(db, project, name, REGISTRY_CHAMPION, version, "promote",
                                      &from);
    }
    char cv[16], chv[16], m1[32], m2[32], p[32], lvl[32], nrows[24];
    snprintf(cv, sizeof cv, "%d", version);
    snprintf(chv, sizeof chv, "%d", v->champion_version);
    snprintf(nrows, sizeof nrows, "%zu", v->rows);
    const char *vals[14] = {project,
                            name,
                            run_id,
                            chv,
                            cv,
                            v->metric,
                            v->test,
                            num_param(v->champion_metric, m1, sizeof m1),
                            num_param(v->challenger_metric, m2, sizeof m2),
                            num_param(v->p_value, p, sizeof p),
                            num_param(v->level, lvl, sizeof lvl),
                            nrows,
                            v->promoted ? "true" : "false",
                            v->reason};
    PGresult *r = NULL;
    if (rv == 0)
        rv = db_execv_one(
            db, &r,
            "INSERT INTO retrain_decisions (project_id, model_name, run_id, champion_version,"
            " challenger_version, metric, test, champion_metric, challenger_metric, p_value,"
            " significance_level, holdout_rows, promoted, reason) VALUES ($1, $2, $3, $4::int,"
            " $5::int, $6, $7, $8::float8, $9::float8, $10::float8, $11::float8, $12::int,"
            " $13::boolean, $14) RETURNING " DECISION_COLUMNS,
            14, vals);
    if (rv == 0) {
        *decision = decision_json(r, 0);
        PQclear(r);
        if (*decision == NULL)
            rv = AIOPS_ENOMEM;
    }
    return rv;
}

/* --- GET /api/v1/models/info ------------------------------------------------------------- */

/* The model ?model= names, else the one with the newest version. 0; an error after
 * replying. */
static int info_model_name(struct svc_call *c, char *name, size_t cap)
{
    int rv = svc_query_text(c, "model", name, cap);
    if (rv == AIOPS_EINVAL)
        return rv;
    if (rv == 0 && !registry_name_valid(name)) {
        svc_reply_field(c, API_INVALID_PARAMETER, "model", "model " MODEL_NAME_RULE);
        return AIOPS_EINVAL;
    }
    if (rv == 0)
        return AIOPS_OK;
    /* no ?model=: seed 004's outcome model when the project has one, else the newest */
    const char *v[1] = {svc_project(c)};
    PGresult *r = NULL;
    rv = db_execv(svc_db(c), &r,
                  "SELECT name FROM model_versions WHERE project_id = $1"
                  " ORDER BY name = '" CALLYTICS_MODEL "' DESC, created_at DESC, name LIMIT 1",
                  1, v);
    if (rv == 0 && PQntuples(r) == 0) {
        svc_reply_error(c, API_MODEL_NOT_FOUND, "no model has been registered in this project",
                        NULL);
        rv = AIOPS_ENOTFOUND;
    } else if (rv == 0) {
        snprintf(name, cap, "%s", PQgetvalue(r, 0, 0));
    } else {
        svc_reply_failure(c, rv, "finding the current model");
    }
    PQclear(r);
    return rv;
}

/* The last retrain decision of a model into *out (json null when none). */
static int last_decision(struct db *db, const char *project, const char *name, json_t **out)
{
    const char *v[2] = {project, name};
    PGresult *r = NULL;
    int rv = db_execv(db, &r,
                      "SELECT " DECISION_COLUMNS " FROM retrain_decisions"
                      " WHERE project_id = $1 AND model_name = $2 ORDER BY id DESC LIMIT 1",
                      2, v);
    if (rv == 0)
        *out = PQntuples(r) > 0 ? decision_json(r, 0) : json_null();
    PQclear(r);
    return rv == 0 && *out == NULL ? AIOPS_ENOMEM : rv;
}

/* The info answer: the champion in seed 004's terms too (model_version "vN", trained_at,
 * classes, metrics). Takes champion. */
static json_t *info_json(const char *name, int version, json_t *champion, json_t *aliases,
                         json_t *versions, json_t *decision)
{
    char tag[24];
    snprintf(tag, sizeof tag, "v%d", version);
    const json_t *metrics = json_object_get(champion, "metrics");
    const json_t *per = json_object_get(metrics, "per_class"), *pc;
    json_t *classes = json_array_size(per) > 0 ? json_array() : json_null();
    size_t i;
    json_array_foreach(per, i, pc)
        json_array_append(classes, json_object_get(pc, "class"));
    const json_t *trained = json_object_get(champion, "created_at");
    return json_pack("{s:s, s:i, s:s, s:O, s:o, s:O, s:o, s:O, s:O, s:O}", "model_name", name,
                     "champion_version", version, "model_version", tag, "trained_at",
                     trained ? trained : json_null(), "classes",
                     classes,
                     "metrics", metrics ? metrics : json_null(), "champion", champion, "aliases",
                     aliases, "versions", versions, "last_decision", decision);
}

void handle_models_info(struct svc_call *c)
{
    char name[160];
    if (info_model_name(c, name, sizeof name) != 0)
        return;
    struct db *db = svc_db(c);
    const char *project = svc_project(c);
    json_t *versions = NULL, *aliases = NULL, *decision = NULL, *champion = json_null();
    int version = 0;
    int rv = registry_versions(db, project, name, &versions, &aliases);
    if (rv == 0)
        rv = registry_resolve(db, project, name, NULL, &version);
    if (rv == 0)
        rv = last_decision(db, project, name, &decision);
    if (rv == AIOPS_ENOTFOUND) {
        reply_model_not_found(c, name);
    } else if (rv != 0) {
        svc_reply_failure(c, rv, "reading the model");
    } else {
        size_t i;
        json_t *ver;
        json_array_foreach(versions, i, ver)
        {
            if (json_integer_value(json_object_get(ver, "version")) == version)
                champion = json_incref(ver);
        }
        svc_reply_json(c, 200, info_json(name, version, champion, aliases, versions, decision));
    }
    json_decref(versions);
    json_decref(aliases);
    json_decref(decision);
}
