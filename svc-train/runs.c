/* Runs: starting training (POST /api/train), status, listing, comparison, metric history,
 * tags and cancellation -- run tracking as MLflow users expect it. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "ml/automl.h"
#include "ml/learner.h"
#include "ml/train.h"
#include "store/datasets.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "train_svc.h"

/* A model name from a file name: its base name without a .csv/.tsv/.txt ending, every
 * other character outside [A-Za-z0-9._-] replaced by '_'. */
static void name_from_file(const char *filename, char *out, size_t cap)
{
    size_t n = strlen(filename);
    static const char *const ends[] = {".csv", ".tsv", ".txt"};
    for (size_t i = 0; i < ARRAY_LEN(ends); i++) {
        size_t e = strlen(ends[i]);
        if (n > e && strcasecmp(filename + n - e, ends[i]) == 0) {
            n -= e;
            break;
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap && o < 128; i++) {
        char ch = filename[i];
        out[o++] = (isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-') ? ch : '_';
    }
    out[o] = '\0';
    if (o == 0 || out[0] == '.')
        snprintf(out, cap, "model");
}

/* --- POST /api/train ----------------------------------------------------------------------- */

/* A training request on its way to the queue; each step below fills some of it. */
struct train_request {
    json_t *body;        /* owned: the request body */
    const char *file_id; /* the members of the body (borrowed from it) */
    const char *target;  /* the body's, else the dataset's (borrowed from either) */
    const char *task, *model_name;
    json_t *config, *tags;
    const struct learner *learner;
    json_t *dataset; /* owned: the dataset's metadata (datasets_get) */
    json_t *params;  /* owned: the parameters by their canonical names */
    char name[160];  /* the model name the run registers under */
};

static void train_request_free(struct train_request *tr)
{
    json_decref(tr->params);
    json_decref(tr->dataset);
    json_decref(tr->body);
}

/* Tags are an object of strings (the tags route's rule too). The offending key, or NULL. */
static const char *tags_invalid(const json_t *tags)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)tags, key, val)
    {
        if (!json_is_string(val) || strlen(key) > 250 || json_string_length(val) > 5000)
            return key;
    }
    return NULL;
}

#define TAGS_RULE "tags must be strings (keys up to 250, values up to 5000 bytes)"

/* Members that must be text when present: a number where a column name belongs is a
 * mistake to point at, not to ignore. The first one that is not, or NULL. */
static const char *text_member_invalid(const json_t *b)
{
    static const char *const text[] = {"file_id", "dataset_id", "target",
                                       "task",    "model",      "model_name"};
    for (size_t i = 0; i < sizeof text / sizeof *text; i++) {
        const json_t *v = json_object_get(b, text[i]);
        if (v != NULL && !json_is_string(v))
            return text[i];
    }
    return NULL;
}

/* The body's members and the checks that need nothing else. 0; an error after replying. */
static int read_train_body(struct svc_call *c, struct train_request *tr)
{
    int rv = svc_json_body(c, &tr->body);
    if (rv != 0)
        return rv;
    json_t *b = tr->body;
    const char *bad = text_member_invalid(b);
    if (bad != NULL) {
        svc_reply_field(c, API_INVALID_REQUEST, bad, "%s must be a string", bad);
        return AIOPS_EINVAL;
    }
    tr->file_id = json_string_value(json_object_get(b, "file_id"));
    if (tr->file_id == NULL)
        tr->file_id = json_string_value(json_object_get(b, "dataset_id"));
    tr->config = json_object_get(b, "config");
    tr->target = json_string_value(json_object_get(b, "target"));
    tr->task = json_string_value(json_object_get(b, "task"));
    tr->model_name = json_string_value(json_object_get(b, "model_name"));
    tr->tags = json_object_get(b, "tags");
    const char *kind_name = json_string_value(json_object_get(b, "model"));
    const struct learner *learner = learner_find(kind_name ? kind_name : "gbdt");
    if (tr->file_id == NULL)
        svc_reply_field(c, API_INVALID_REQUEST, "file_id",
                        "file_id (an uploaded dataset's id) is required");
    else if (tr->config != NULL && !json_is_object(tr->config))
        svc_reply_field(c, API_INVALID_REQUEST, "config", "config must be a JSON object");
    else if (tr->tags != NULL && !json_is_object(tr->tags))
        svc_reply_field(c, API_INVALID_REQUEST, "tags", "tags must be a JSON object");
    else if (tr->tags != NULL && tags_invalid(tr->tags) != NULL)
        svc_reply_field(c, API_INVALID_REQUEST, "tags", TAGS_RULE);
    else if (learner == NULL) {
        char names[128];
        learner_names(names, sizeof names);
        svc_reply_field(c, API_INVALID_REQUEST, "model", "model must be one of %s", names);
    } else {
        tr->learner = learner;
        return AIOPS_OK;
    }
    return AIOPS_EINVAL;
}

/* The dataset exists, has rows, and its target column has values. 0; an error after
 * replying. */
static int check_dataset(struct svc_call *c, struct train_request *tr)
{
    int rv = datasets_get(svc_db(c), svc_project(c), tr->file_id, &tr->dataset);
    if (rv == AIOPS_ENOTFOUND) {
        svc_reply_field(c, API_INVALID_REQUEST, "file_id", "no dataset with this file_id");
        return rv;
    }
    if (rv != 0) {
        svc_reply_failure(c, rv, "reading the dataset");
        return rv;
    }
    json_int_t rows = json_integer_value(json_object_get(tr->dataset, "rows"));
    if (rows == 0) {
        svc_reply_field(c, API_INVALID_REQUEST, "file_id", "the dataset has no rows");
        return AIOPS_EINVAL;
    }
    /* a clustering model needs no target: one given is only scored against */
    if (!tr->learner->needs_target && (tr->target == NULL || tr->target[0] == '\0')) {
        tr->target = "";
        return AIOPS_OK;
    }
    if (tr->target == NULL)
        tr->target = json_string_value(json_object_get(tr->dataset, "target"));
    if (tr->target == NULL) {
        svc_reply_field(c, API_INVALID_REQUEST, "target",
                        "target is required: the dataset has no column named like one");
        return AIOPS_EINVAL;
    }
    json_t *tcol = NULL, *col;
    size_t i;
    json_array_foreach(json_object_get(tr->dataset, "schema"), i, col)
    {
        if (strcmp(json_string_value(json_object_get(col, "name")), tr->target) == 0)
            tcol = col;
    }
    if (tcol == NULL) {
        svc_reply_field(c, API_UNKNOWN_TARGET, "target", "the dataset has no column named %.256s",
                        tr->target);
        return AIOPS_EINVAL;
    }
    if (json_integer_value(json_object_get(tcol, "missing")) >= rows) {
        svc_reply_field(c, API_INVALID_REQUEST, "target",
                        "no row has a value in the target column: 0 rows to train on");
        return AIOPS_EINVAL;
    }
    return AIOPS_OK;
}

/* Over JSON a number is a JSON number and a switch a JSON boolean: text that happens to
 * parse ("10") is refused, as a typed API should (the command line's --param is text and
 * parsed). The offending parameter, or NULL. */
static const char *param_type_invalid(const struct learner *l, const json_t *config,
                                      const char **expected)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)config, key, v)
    {
        const struct param_def *d = learner_param_find(l, key);
        if (d == NULL)
            continue; /* unknown or ignored: train_check says which */
        int ok = 1;
        switch (d->type) {
        case PARAM_INT:
        case PARAM_NUMBER:
            ok = json_is_number(v) || (d->auto_zero && json_is_string(v) &&
                                       strcmp(json_string_value(v), "auto") == 0);
            *expected = d->auto_zero ? "a number or \"auto\"" : "a number";
            break;
        case PARAM_INTS:
            ok = json_is_array(v) || json_is_string(v);
            *expected = "a list of whole numbers";
            break;
        case PARAM_BOOL:
            ok = json_is_boolean(v);
            *expected = "true or false";
            break;
        case PARAM_STRING:
            ok = json_is_string(v);
            *expected = "a string";
            break;
        case PARAM_COLUMNS:
            ok = json_is_array(v) || json_is_string(v);
            *expected = "a list of column names";
            break;
        }
        if (!ok)
            return key;
    }
    return NULL;
}

/* The schema entry of the dataset's column called name, or NULL. */
static const json_t *schema_column(const json_t *dataset, const char *name)
{
    const json_t *col;
    size_t i;
    json_array_foreach(json_object_get(dataset, "schema"), i, col)
    {
        const char *n = json_string_value(json_object_get(col, "name"));
        if (n != NULL && strcmp(n, name) == 0)
            return col;
    }
    return NULL;
}

/* Every name of a normalised column list (features, exclude) is a column of the dataset:
 * the first that is not, or NULL. */
static const char *unknown_column(const json_t *dataset, const json_t *names)
{
    const json_t *n;
    size_t i;
    json_array_foreach(names, i, n)
    {
        if (!json_is_string(n) || schema_column(dataset, json_string_value(n)) == NULL)
            return json_is_string(n) ? json_string_value(n) : "(not a name)";
    }
    return NULL;
}

static int list_has(const json_t *names, const char *name)
{
    const json_t *n;
    size_t i;
    json_array_foreach(names, i, n)
    {
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
            return 1;
    }
    return 0;
}

/* class_weight is "balanced" or label:weight pairs with positive weights (the labels are
 * checked against the target's classes when training: the schema does not list them). */
static int class_weight_valid(const char *s)
{
    if (strcmp(s, "balanced") == 0)
        return 1;
    while (*s) {
        const char *colon = strchr(s, ':'), *comma = strchr(s, ',');
        if (comma == NULL)
            comma = s + strlen(s);
        if (colon == NULL || colon > comma || colon == s)
            return 0;
        char *end;
        double w = strtod(colon + 1, &end);
        if (end != comma || !(w > 0) || !isfinite(w))
            return 0;
        s = *comma ? comma + 1 : comma;
    }
    return 1;
}

/* What the dataset's schema already shows will fail in the queue: unknown feature or
 * excluded columns, nothing left to learn from, a regression on a column that is not a
 * number, a class_weight that cannot be read. 0; an error after replying. */
static int check_against_schema(struct svc_call *c, struct train_request *tr)
{
    const json_t *features = json_object_get(tr->params, "features");
    const json_t *exclude = json_object_get(tr->params, "exclude");
    const char *task = json_string_value(json_object_get(tr->params, "task"));
    const char *cw = json_string_value(json_object_get(tr->params, "class_weight"));
    const char *name;
    if ((name = unknown_column(tr->dataset, features)) != NULL) {
        svc_reply_field(c, API_INVALID_REQUEST, "features", "the dataset has no column %.200s",
                        name);
        return AIOPS_EINVAL;
    }
    if ((name = unknown_column(tr->dataset, exclude)) != NULL) {
        svc_reply_field(c, API_INVALID_REQUEST, "exclude", "the dataset has no column %.200s",
                        name);
        return AIOPS_EINVAL;
    }
    /* what is left to learn from: the features named (else every column), less the target
     * and the excluded ones */
    size_t left = 0;
    const json_t *col;
    size_t i;
    json_array_foreach(json_object_get(tr->dataset, "schema"), i, col)
    {
        const char *n = json_string_value(json_object_get(col, "name"));
        if (n != NULL && strcmp(n, tr->target) != 0 && !list_has(exclude, n) &&
            (features == NULL || json_array_size(features) == 0 || list_has(features, n)))
            left++;
    }
    if (left == 0) {
        svc_reply_field(c, API_INVALID_REQUEST, json_array_size(exclude) ? "exclude" : "features",
                        "no column is left to learn from besides the target %.200s", tr->target);
        return AIOPS_EINVAL;
    }
    const char *ttype =
        json_string_value(json_object_get(schema_column(tr->dataset, tr->target), "type"));
    if (task != NULL && strcmp(task, "regression") == 0 && ttype != NULL &&
        strcmp(ttype, "numeric") != 0) {
        svc_reply_field(c, API_INVALID_REQUEST, "task",
                        "regression needs a numeric target; %.200s is %s", tr->target, ttype);
        return AIOPS_EINVAL;
    }
    if (cw != NULL && !class_weight_valid(cw)) {
        svc_reply_field(c, API_INVALID_REQUEST, "class_weight",
                        "class_weight must be \"balanced\" or label:weight pairs with positive "
                        "weights, e.g. \"yes:5,no:1\"");
        return AIOPS_EINVAL;
    }
    return AIOPS_OK;
}

/* The parameters, checked and under their canonical names (epochs -> rounds, ...), which
 * the run records. 0; an error after replying. */
static int check_params(struct svc_call *c, struct train_request *tr)
{
    const char *expected = NULL,
               *bad = tr->config ? param_type_invalid(tr->learner, tr->config, &expected) : NULL;
    if (bad != NULL) {
        svc_reply_field(c, API_INVALID_REQUEST, bad, "%s must be %s", bad, expected);
        return AIOPS_EINVAL;
    }
    json_t *params = tr->config ? json_deep_copy(tr->config) : json_object();
    int failed = params == NULL;
    if (!failed && tr->task != NULL)
        jsonx_set_or_fail(params, "task", json_string(tr->task), &failed);
    /* the service holds out validation rows unless told otherwise: the users' screens plot
     * the validation curve */
    if (!failed && tr->learner->needs_target && json_object_get(params, "valid_fraction") == NULL)
        jsonx_set_or_fail(params, "valid_fraction", json_real(0.2), &failed);
    if (failed) {
        json_decref(params);
        svc_reply_failure(c, AIOPS_ENOMEM, "checking the parameters");
        return AIOPS_ENOMEM;
    }
    struct train_config cfg = {tr->learner, tr->target, params, 0.2};
    struct aiops_error terr = AIOPS_ERROR_INIT;
    int rv = train_check(&cfg, &tr->params, &terr);
    json_decref(params);
    if (rv == AIOPS_EINVAL)
        svc_reply_field(c, API_INVALID_REQUEST, terr.field, "%s", terr.message);
    else if (rv != 0)
        svc_reply_failure(c, rv, "checking the parameters");
    return rv;
}

/* The model name: the body's, else the dataset's file name. 0; an error after replying. */
static int choose_model_name(struct svc_call *c, struct train_request *tr)
{
    if (tr->model_name == NULL) {
        name_from_file(json_string_value(json_object_get(tr->dataset, "filename")), tr->name,
                       sizeof tr->name);
        return AIOPS_OK;
    }
    if (!registry_name_valid(tr->model_name)) {
        svc_reply_field(c, API_INVALID_REQUEST, "model_name", "model_name " MODEL_NAME_RULE);
        return AIOPS_EINVAL;
    }
    snprintf(tr->name, sizeof tr->name, "%s", tr->model_name);
    return AIOPS_OK;
}

int queue_run(struct svc_call *c, const struct run_spec *spec, const char *run_id, const char *what)
{
    int rv = runs_queue(svc_db(c), svc_project(c), spec, run_id);
    if (rv != 0)
        svc_reply_failure(c, rv, what);
    return rv;
}

/* queue_run for a checked training request. */
static int queue_request(struct svc_call *c, const struct train_request *tr, const char *run_id,
                         const char *kind, json_int_t total_epochs, const char *what)
{
    const struct run_spec spec = {tr->file_id, kind,     tr->target,   tr->name,
                                  tr->params,  tr->tags, total_epochs, 0};
    return queue_run(c, &spec, run_id, what);
}

void handle_train_start(struct svc_call *c)
{
    struct train_request tr;
    memset(&tr, 0, sizeof tr);
    char run_id[37];
    uuid_v4(run_id);
    if (read_train_body(c, &tr) == 0 && check_dataset(c, &tr) == 0 && check_params(c, &tr) == 0 &&
        check_against_schema(c, &tr) == 0 && choose_model_name(c, &tr) == 0 &&
        /* iterations planned: the learner's rounds (trees) or max_iter */
        queue_request(c, &tr, run_id, tr.learner->name, learner_iterations(tr.learner, tr.params),
                      "queueing the training job") == 0) {
        log_json(LOG_LEVEL_INFO, "run queued",
                 json_pack("{s:s, s:s, s:s, s:s}", "run_id", run_id, "project", svc_project(c),
                           "model", tr.learner->name, "dataset", tr.file_id));
        svc_reply_json(c, 200,
                       json_pack("{s:s, s:s, s:s, s:s}", "run_id", run_id, "status", "training",
                                 "model_name", tr.name, "state", "queued"));
    }
    train_request_free(&tr);
}

/* --- reading runs ----------------------------------------------------------------------- */

#define RUN_COLUMNS                                                                                \
    "id::text, status, model_kind, coalesce(task, ''), target, model_name, params::text,"          \
    " tags::text, coalesce(metrics::text, 'null'), coalesce(progress::text, 'null'),"              \
    " current_epoch, total_epochs, coalesce(model_version, 0), coalesce(error, ''),"               \
    " coalesce(dataset_id::text, ''),"                                                             \
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                \
    " coalesce(to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''),"  \
    " coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '')," \
    " coalesce(extract(epoch FROM coalesce(finished_at, now()) - started_at), 0)"

static json_t *parse_or_null(const char *s)
{
    json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
    return j ? j : json_null();
}

static json_t *opt_str(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

/* One row of RUN_COLUMNS as the suite's run object. */
static json_t *run_json(PGresult *r, int i)
{
    int version = atoi(PQgetvalue(r, i, 12));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:i, s:o, s:o, s:o, s:s, s:o, "
        "s:o, s:f}",
        "run_id", PQgetvalue(r, i, 0), "status", PQgetvalue(r, i, 1), "model", PQgetvalue(r, i, 2),
        "task", opt_str(PQgetvalue(r, i, 3)), "target", PQgetvalue(r, i, 4), "model_name",
        PQgetvalue(r, i, 5), "params", parse_or_null(PQgetvalue(r, i, 6)), "tags",
        parse_or_null(PQgetvalue(r, i, 7)), "metrics", parse_or_null(PQgetvalue(r, i, 8)),
        "progress", parse_or_null(PQgetvalue(r, i, 9)), "current_epoch", atoi(PQgetvalue(r, i, 10)),
        "total_epochs", atoi(PQgetvalue(r, i, 11)), "model_version",
        version ? json_integer(version) : json_null(), "error", opt_str(PQgetvalue(r, i, 13)),
        "dataset_id", opt_str(PQgetvalue(r, i, 14)), "created_at", PQgetvalue(r, i, 15),
        "started_at", opt_str(PQgetvalue(r, i, 16)), "finished_at", opt_str(PQgetvalue(r, i, 17)),
        "duration_seconds", atof(PQgetvalue(r, i, 18)));
    return j;
}

/* The run of the caller's project with this id, as RUN_COLUMNS (*res: the caller
 * PQclear()s it). AIOPS_ENOTFOUND also when id is not a UUID. */
static int load_run(struct svc_call *c, const char *id, PGresult **res)
{
    *res = NULL;
    if (!uuid_valid(id))
        return AIOPS_ENOTFOUND;
    const char *v[2] = {svc_project(c), id};
    return db_execv_one(svc_db(c), res,
                        "SELECT " RUN_COLUMNS " FROM runs WHERE project_id = $1 AND id = $2", 2, v);
}

/* Answers an operation on run id that failed with rv: 404 run_not_found, or what
 * svc_reply_failure makes of it. */
static void run_failure(struct svc_call *c, int rv, const char *id, const char *what)
{
    if (rv == AIOPS_ENOTFOUND)
        svc_reply_error(c, API_RUN_NOT_FOUND, NULL, json_pack("{s:s}", "run_id", id));
    else
        svc_reply_failure(c, rv, what);
}

/* Run id of the caller's project as the run object (*run: the caller owns it): 0, or an
 * error after answering (404 run_not_found, ...). */
static int read_run_json(struct svc_call *c, const char *id, json_t **run)
{
    PGresult *r;
    *run = NULL;
    int rv = load_run(c, id, &r);
    if (rv == 0) {
        *run = run_json(r, 0);
        PQclear(r);
        rv = *run != NULL ? AIOPS_OK : AIOPS_ENOMEM;
    }
    if (rv != 0)
        run_failure(c, rv, id, "reading the run");
    return rv;
}

/* The seed's metric names from a run's last progress (or its final metrics). */
static json_t *seed_metrics(json_t *run)
{
    json_t *p = json_object_get(run, "progress"), *m = json_object_get(run, "metrics");
    json_t *o = json_object();
    json_object_set(o, "train_loss",
                    json_is_object(p) && json_object_get(p, "train_loss")
                        ? json_object_get(p, "train_loss")
                        : json_null());
    json_object_set(o, "val_loss",
                    json_is_object(p) && json_object_get(p, "val_loss")
                        ? json_object_get(p, "val_loss")
                        : json_null());
    json_t *ta = json_is_object(p) ? json_object_get(p, "train_accuracy") : NULL;
    json_t *va = json_is_object(p) ? json_object_get(p, "val_accuracy") : NULL;
    /* once finished, the validation accuracy is the evaluation's */
    if (json_is_object(m) && json_object_get(m, "accuracy"))
        va = json_object_get(m, "accuracy");
    json_object_set(o, "train_accuracy", ta ? ta : json_null());
    json_object_set(o, "val_accuracy", va ? va : json_null());
    return o;
}

/* queued/running are "training" to the users' frontend (seed 000) */
static const char *seed_status(const char *s)
{
    return strcmp(s, "queued") == 0 || strcmp(s, "running") == 0 ? "training" : s;
}

void handle_train_status(struct svc_call *c)
{
    json_t *run;
    if (read_run_json(c, svc_param(c, 0), &run) != 0)
        return;
    json_t *o = json_pack("{s:s, s:O, s:O, s:o}", "status",
                          seed_status(json_string_value(json_object_get(run, "status"))),
                          "current_epoch", json_object_get(run, "current_epoch"), "total_epochs",
                          json_object_get(run, "total_epochs"), "metrics", seed_metrics(run));
    json_object_set(o, "state", json_object_get(run, "status"));
    if (json_string_value(json_object_get(run, "error")))
        json_object_set(o, "error", json_object_get(run, "error"));
    if (json_is_integer(json_object_get(run, "model_version"))) {
        json_object_set(o, "model_name", json_object_get(run, "model_name"));
        json_object_set(o, "model_version", json_object_get(run, "model_version"));
    }
    json_decref(run);
    svc_reply_json(c, 200, o);
}

/* The runs a list shows: $1 the project, $2 a status, $3 a model name, $4 a learner (''
 * each: any), $5 a dataset (NULL: any). */
#define RUN_FILTER                                                                                 \
    "WHERE project_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR model_name = $3)"          \
    " AND ($4 = '' OR model_kind = $4) AND ($5::uuid IS NULL OR dataset_id = $5)"

void handle_runs_list(struct svc_call *c)
{
    int seed = strcmp(svc_request(c)->path, "/api/train/runs") == 0;
    long limit, offset;
    if (svc_query_long(c, "limit", seed ? 100 : 50, 1, 1000, &limit) != 0 ||
        svc_query_long(c, "offset", 0, 0, 1L << 40, &offset) != 0)
        return;
    char status[32] = "", model[160] = "", kind[16] = "", dataset[64] = "";
    if (svc_query_text(c, "status", status, sizeof status) == AIOPS_EINVAL ||
        svc_query_text(c, "model_name", model, sizeof model) == AIOPS_EINVAL ||
        svc_query_text(c, "model", kind, sizeof kind) == AIOPS_EINVAL ||
        svc_query_text(c, "dataset_id", dataset, sizeof dataset) == AIOPS_EINVAL)
        return;
    if (dataset[0] && !uuid_valid(dataset)) {
        svc_reply_field(c, API_INVALID_PARAMETER, "dataset_id", "dataset_id must be a UUID");
        return;
    }
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    const char *v[7] = {svc_project(c), status, model, kind, dataset[0] ? dataset : NULL, lim, off};
    /* The page's ids are picked on the index first, so that only its rows are turned into
     * text (a count(*) OVER () on the page's query turned every matching run into text: 150
     * ms for the first page of 10,000 runs, 730 ms for the last); the count is its own
     * query, which also keeps the total on a page past the end. */
    PGresult *r, *n;
    if (svc_execv(c, &n, "counting runs", "SELECT count(*) FROM runs " RUN_FILTER, 5, v) != 0)
        return;
    long long total = strtoll(PQgetvalue(n, 0, 0), NULL, 10);
    PQclear(n);
    if (svc_execv(c, &r, "listing runs",
                  "SELECT " RUN_COLUMNS " FROM runs WHERE id IN (SELECT id FROM runs " RUN_FILTER
                  " ORDER BY created_at DESC, id LIMIT $6::bigint OFFSET $7::bigint)"
                  " ORDER BY created_at DESC, id",
                  7, v) != 0)
        return;
    json_t *arr = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *run = run_json(r, i);
        if (seed) {
            /* seed 000: {run_id, created_at, status, accuracy, file_id} */
            json_t *m = json_object_get(run, "metrics");
            json_t *acc = json_is_object(m) ? json_object_get(m, "accuracy") : NULL;
            json_array_append_new(
                arr, json_pack("{s:O, s:O, s:s, s:O, s:O, s:O, s:O}", "run_id",
                               json_object_get(run, "run_id"), "created_at",
                               json_object_get(run, "created_at"), "status",
                               seed_status(json_string_value(json_object_get(run, "status"))),
                               "accuracy", acc ? acc : json_null(), "file_id",
                               json_object_get(run, "dataset_id"), "model",
                               json_object_get(run, "model"), "model_name",
                               json_object_get(run, "model_name")));
            json_decref(run);
        } else {
            json_array_append_new(arr, run);
        }
    }
    PQclear(r);
    if (seed)
        svc_reply_json(c, 200, arr);
    else
        svc_reply_json(c, 200,
                       json_pack("{s:o, s:I, s:I, s:I}", "runs", arr, "total", (json_int_t)total,
                                 "limit", (json_int_t)limit, "offset", (json_int_t)offset));
}

void handle_runs_get(struct svc_call *c)
{
    json_t *run;
    if (read_run_json(c, svc_param(c, 0), &run) != 0)
        return;
    /* an AutoML run keeps its leaderboard in its progress (svc-train/worker.c) */
    const json_t *progress = json_object_get(run, "progress");
    if (strcmp(json_string_value(json_object_get(run, "model")), "automl") == 0) {
        json_t *board = json_is_object(progress) ? json_object_get(progress, "leaderboard") : NULL;
        /* borrowed from progress, or a new empty one the run takes */
        json_object_set_new(run, "leaderboard", board ? json_incref(board) : json_array());
    }
    svc_reply_json(c, 200, run);
}

void handle_runs_compare(struct svc_call *c)
{
    char ids[2048];
    if (svc_query(c, "ids", ids, sizeof ids) != 0 || ids[0] == '\0') {
        svc_reply_field(c, API_INVALID_PARAMETER, "ids",
                        "ids must be a comma-separated list of run ids");
        return;
    }
    json_t *runs = json_array(), *params = json_object(), *metrics = json_object();
    size_t n = 0;
    for (char *save = NULL, *id = strtok_r(ids, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        json_t *run;
        if (read_run_json(c, id, &run) != 0) {
            json_decref(runs);
            json_decref(params);
            json_decref(metrics);
            return;
        }
        /* one row per key, one cell per run (null where a run lacks it) */
        const char *key;
        json_t *val;
        json_object_foreach(json_object_get(run, "params"), key, val)
        {
            json_t *row = json_object_get(params, key);
            if (row == NULL) {
                row = json_array();
                for (size_t k = 0; k < n; k++)
                    json_array_append_new(row, json_null());
                json_object_set_new(params, key, row);
            }
            json_array_append(row, val);
        }
        json_t *m = json_object_get(run, "metrics");
        json_object_foreach(json_is_object(m) ? m : NULL, key, val)
        {
            if (!json_is_number(val))
                continue;
            json_t *row = json_object_get(metrics, key);
            if (row == NULL) {
                row = json_array();
                for (size_t k = 0; k < n; k++)
                    json_array_append_new(row, json_null());
                json_object_set_new(metrics, key, row);
            }
            json_array_append(row, val);
        }
        n++;
        /* rows a run did not extend get a null for it */
        json_object_foreach(params, key, val) while (json_array_size(val) < n)
            json_array_append_new(val, json_null());
        json_object_foreach(metrics, key, val) while (json_array_size(val) < n)
            json_array_append_new(val, json_null());
        json_array_append_new(runs, json_pack("{s:O, s:O, s:O, s:O, s:O}", "run_id",
                                              json_object_get(run, "run_id"), "model",
                                              json_object_get(run, "model"), "status",
                                              json_object_get(run, "status"), "model_name",
                                              json_object_get(run, "model_name"), "model_version",
                                              json_object_get(run, "model_version")));
        json_decref(run);
    }
    svc_reply_json(
        c, 200, json_pack("{s:o, s:o, s:o}", "runs", runs, "params", params, "metrics", metrics));
}

void handle_runs_metrics(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    json_t *run;
    if (read_run_json(c, id, &run) != 0)
        return;
    json_decref(run);
    long limit, offset;
    if (svc_query_long(c, "limit", 1000, 1, 25000, &limit) != 0 ||
        svc_query_long(c, "offset", 0, 0, 1L << 40, &offset) != 0)
        return;
    char key[64] = "";
    if (svc_query_text(c, "key", key, sizeof key) == AIOPS_EINVAL)
        return;
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    const char *v[4] = {id, key, lim, off};
    PGresult *r;
    int rv = svc_execv(c, &r, "reading the metric history",
                       "SELECT key, step, value, extract(epoch FROM ts) * 1000, count(*) OVER ()"
                       " FROM run_metrics WHERE run_id = $1 AND ($2 = '' OR key = $2)"
                       " ORDER BY key, step LIMIT $3::bigint OFFSET $4::bigint",
                       4, v);
    if (rv != 0)
        return;
    json_t *hist = json_array();
    long long total = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        json_array_append_new(
            hist,
            json_pack("{s:s, s:i, s:o, s:I}", "key", PQgetvalue(r, i, 0), "step",
                      atoi(PQgetvalue(r, i, 1)), "value",
                      PQgetisnull(r, i, 2) ? json_null() : jsonx_num(atof(PQgetvalue(r, i, 2)), 0),
                      "timestamp", (json_int_t)atof(PQgetvalue(r, i, 3))));
        total = strtoll(PQgetvalue(r, i, 4), NULL, 10);
    }
    PQclear(r);
    svc_reply_json(c, 200,
                   json_pack("{s:s, s:o, s:I, s:I, s:I}", "run_id", id, "history", hist, "total",
                             (json_int_t)total, "limit", (json_int_t)limit, "offset",
                             (json_int_t)offset));
}

void handle_runs_tags(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    json_t *body;
    if (svc_json_body(c, &body) != 0)
        return;
    const char *bad = json_is_object(body) ? tags_invalid(body) : "tags";
    if (bad != NULL) {
        svc_reply_field(c, API_INVALID_REQUEST, bad, TAGS_RULE);
        json_decref(body);
        return;
    }
    char *s = jsonx_to_string(body, NULL);
    json_decref(body);
    PGresult *r;
    const char *v[3] = {svc_project(c), id, s};
    int rv = s == NULL         ? AIOPS_ENOMEM
             : !uuid_valid(id) ? AIOPS_ENOTFOUND
                               : db_execv_one(svc_db(c), &r,
                                              "UPDATE runs SET tags = tags || $3::jsonb WHERE"
                                              " project_id = $1 AND id = $2 RETURNING tags::text",
                                              3, v);
    free(s);
    if (rv != 0) {
        run_failure(c, rv, id, "setting the tags");
        return;
    }
    json_t *tags = parse_or_null(PQgetvalue(r, 0, 0));
    PQclear(r);
    svc_reply_json(c, 200, json_pack("{s:s, s:o}", "run_id", id, "tags", tags));
}

void handle_runs_cancel(struct svc_call *c)
{
    const char *id = svc_param(c, 0);
    const char *v[2] = {svc_project(c), id};
    PGresult *r;
    /* a queued run is canceled at once; a running one is asked to stop (its worker sees
     * the request at its next heartbeat) */
    int rv =
        !uuid_valid(id)
            ? AIOPS_ENOTFOUND
            : db_execv_one(svc_db(c), &r,
                           "WITH q AS (UPDATE jobs SET status = 'canceled', finished_at = now()"
                           "  WHERE run_id = $2 AND project_id = $1 AND status = 'queued'"
                           "  RETURNING run_id)"
                           " UPDATE runs SET cancel_requested = true,"
                           "  status = CASE WHEN id IN (SELECT run_id FROM q) THEN 'canceled'"
                           "   ELSE status END,"
                           "  finished_at = CASE WHEN id IN (SELECT run_id FROM q) THEN now()"
                           "   ELSE finished_at END"
                           " WHERE project_id = $1 AND id = $2 RETURNING status",
                           2, v);
    if (rv != 0) {
        run_failure(c, rv, id, "canceling the run");
        return;
    }
    char status[32];
    snprintf(status, sizeof status, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0) {
        svc_reply_error(c, API_RUN_FINISHED, NULL,
                        json_pack("{s:s, s:s}", "run_id", id, "status", status));
        return;
    }
    svc_reply_json(
        c, 200,
        json_pack("{s:s, s:s, s:b}", "run_id", id, "status", status, "cancel_requested", 1));
}

/* --- POST /api/v1/automl (issue 13) ------------------------------------------------------ */

/* The "models" member, as "gbdt,rf" (a list of names or that text): every name a supervised
 * learner. The text into out; 0, or an error after replying. */
static int automl_models(struct svc_call *c, const json_t *v, char *out, size_t cap)
{
    out[0] = '\0';
    if (v == NULL)
        return AIOPS_OK;
    json_t *list = json_is_string(v) ? NULL : (json_t *)v;
    size_t n = list ? json_array_size(list) : 1;
    if (!json_is_string(v) && (!json_is_array(v) || n == 0)) {
        svc_reply_field(c, API_INVALID_REQUEST, "models",
                        "models must be a list of learner names, or \"gbdt,rf,...\"");
        return AIOPS_EINVAL;
    }
    struct buf text = {0};
    int rv = list ? AIOPS_OK : buf_puts(&text, json_string_value(v));
    for (size_t i = 0; rv == 0 && list && i < n; i++) {
        const char *s = json_string_value(json_array_get(list, i));
        rv = s ? buf_printf(&text, "%s%s", i ? "," : "", s) : AIOPS_EINVAL;
    }
    char name[64] = "";
    for (const char *p = text.data; rv == 0 && p && *p;) {
        size_t len = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)(len < 63 ? len : 63), p);
        const struct learner *l = learner_find(name);
        /* searchable: supervised, with parameters to tune (not the ensemble it builds) */
        if (len == 0 || len > 63 || l == NULL || !l->needs_target || l->nparams == 0)
            rv = AIOPS_EINVAL;
        p += len + (rv == 0 && p[len] == ',');
    }
    if (rv == 0 && (text.len == 0 || text.len >= cap))
        rv = AIOPS_EINVAL;
    if (rv == 0)
        snprintf(out, cap, "%s", text.data);
    buf_free(&text);
    if (rv == AIOPS_EINVAL)
        svc_reply_field(c, API_INVALID_REQUEST, "models",
                        "models must name supervised learners separated by commas%s%.64s%s",
                        name[0] ? "; " : "", name, name[0] ? " is not one" : "");
    return rv;
}

/* A number member in [lo, hi] (whole when `whole`), or def when absent. */
static int automl_number(struct svc_call *c, const json_t *b, const char *key, double lo, double hi,
                         int whole, double def, double *out)
{
    const json_t *v = json_object_get(b, key);
    *out = def;
    if (v == NULL)
        return AIOPS_OK;
    double x = json_number_value(v);
    if (!json_is_number(v) || !(x >= lo && x <= hi) || (whole && x != floor(x))) {
        svc_reply_field(c, API_INVALID_REQUEST, key, "%s must be %s from %g to %g", key,
                        whole ? "a whole number" : "a number", lo, hi);
        return AIOPS_EINVAL;
    }
    *out = x;
    return AIOPS_OK;
}

/* The search's settings, checked, as the run's params. 0; an error after replying. */
static int automl_params(struct svc_call *c, const json_t *b, json_t **params)
{
    double budget, folds, seed;
    char models[512];
    const json_t *metric = json_object_get(b, "metric");
    if (metric != NULL &&
        (!json_is_string(metric) || !automl_metric_known(json_string_value(metric)))) {
        svc_reply_field(c, API_INVALID_REQUEST, "metric",
                        "metric must be auc, logloss, accuracy, f1_macro, rmse or mae");
        return AIOPS_EINVAL;
    }
    int rv = automl_number(c, b, "budget_seconds", 1, 86400, 0, 60, &budget);
    if (rv == 0)
        rv = automl_number(c, b, "folds", 2, 20, 1, 5, &folds);
    if (rv == 0)
        rv = automl_number(c, b, "seed", 0, 4294967295.0, 1, 0, &seed);
    if (rv == 0)
        rv = automl_models(c, json_object_get(b, "models"), models, sizeof models);
    if (rv != 0)
        return rv;
    *params = json_pack("{s:f, s:I, s:I, s:s, s:s}", "budget_seconds", budget, "folds",
                        (json_int_t)folds, "seed", (json_int_t)seed, "metric",
                        metric ? json_string_value(metric) : "", "models", models);
    if (*params == NULL)
        svc_reply_failure(c, AIOPS_ENOMEM, "reading the request");
    return *params ? AIOPS_OK : AIOPS_ENOMEM;
}

void handle_automl_start(struct svc_call *c)
{
    struct train_request tr;
    memset(&tr, 0, sizeof tr);
    char run_id[37];
    uuid_v4(run_id);
    if (read_train_body(c, &tr) == 0 && automl_params(c, tr.body, &tr.params) == 0 &&
        check_dataset(c, &tr) == 0 && choose_model_name(c, &tr) == 0 &&
        queue_request(c, &tr, run_id, "automl", 0, "queueing the AutoML job") == 0) {
        log_json(LOG_LEVEL_INFO, "automl run queued",
                 json_pack("{s:s, s:s, s:s}", "run_id", run_id, "project", svc_project(c),
                           "dataset", tr.file_id));
        svc_reply_json(c, 200,
                       json_pack("{s:s, s:s, s:s, s:s, s:O}", "run_id", run_id, "status",
                                 "training", "model_name", tr.name, "state", "queued", "params",
                                 tr.params));
    }
    train_request_free(&tr);
}
