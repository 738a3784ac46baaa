/* calltrain.c -- the outcome model learned from the stored sessions (issue 10, seed 004):
 * POST /api/v1/models/retrain {"training_data_source": "database", "validation_split": 0.2,
 * "model_name"?} reads every labeled session of the project (call_sessions with an outcome),
 * extracts its call features (the pipeline's own code, so training and serving see the same
 * row), stores them as a dataset (counseling-sessions.csv: the feature columns and
 * `outcome`; the same sessions give the same dataset) and queues a run on the training queue
 * as seed 004 trains it: gbdt, 200 rounds, learning rate 0.05, class_weight balanced, the
 * validation split held out -- registered as `counseling-outcome` (or model_name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/crypto.h"
#include "core/err.h"
#include "core/log.h"
#include "data/csv.h"
#include "data/ingest.h"
#include "ml/learner.h"
#include "ml/train.h"
#include "store/datasets.h"
#include "store/registry.h"
#include "callytics.h"

#define DATASET_FILE "counseling-sessions.csv"
#define OUTCOME_COLUMN "outcome"
/* labeled sessions needed at least (a hold-out and both sides of a split need some) */
#define MIN_SESSIONS 10

/* One CSV field of a row value (null: empty, a missing value). */
static void put_value(struct buf *b, const json_t *v)
{
    char num[40];
    if (json_is_string(v)) {
        csv_put_field(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        buf_puts(b, num);
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        buf_puts(b, num);
    }
}

/* The labeled sessions r (session_id, content, instructions, outcome) as a CSV of the
 * outcome model's columns into b; *counts {outcome: sessions}. 0; AIOPS_EPARSE with err for
 * a session whose text cannot be read; AIOPS_ETIMEDOUT when the call's deadline passed. */
static int sessions_csv(struct svc_call *c, const PGresult *r, struct buf *b, json_t *counts,
                        struct aiops_error *err)
{
    const char *names[64];
    size_t ncols = call_row_columns(names, 64);
    for (size_t j = 0; j < ncols; j++) {
        if (j)
            buf_putc(b, ',');
        buf_puts(b, names[j]);
    }
    buf_puts(b, "," OUTCOME_COLUMN "\n");
    for (int i = 0; i < PQntuples(r); i++) {
        if (svc_expired(c))
            return AIOPS_ETIMEDOUT;
        json_t *ins = PQgetisnull(r, i, 2) ? NULL : json_loads(PQgetvalue(r, i, 2), 0, NULL);
        json_t *features = NULL, *row = NULL;
        int rv = call_features(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), ins,
                               callytics_sentiment(), &features, err);
        if (rv == 0 && (row = call_feature_row(features)) == NULL)
            rv = AIOPS_ENOMEM;
        for (size_t j = 0; rv == 0 && j < ncols; j++) {
            if (j)
                buf_putc(b, ',');
            put_value(b, json_object_get(row, names[j]));
        }
        const char *outcome = PQgetvalue(r, i, 3);
        if (rv == 0) {
            buf_putc(b, ',');
            csv_put_field(b, outcome);
            buf_putc(b, '\n');
            json_object_set_new(
                counts, outcome,
                json_integer(json_integer_value(json_object_get(counts, outcome)) + 1));
        }
        json_decref(row);
        json_decref(features);
        json_decref(ins);
        if (rv != 0)
            return rv;
    }
    return AIOPS_OK;
}

/* Stores the CSV as a dataset (the one already stored when the bytes are the same) into id. */
static int store_dataset(struct svc_call *c, const struct buf *csv, char id[37],
                         struct aiops_error *err)
{
    uint8_t hash[32];
    sha256(csv->data, csv->len, hash);
    json_t *summary = NULL;
    if (datasets_find_by_hash(svc_db(c), svc_project(c), hash, "", id, &summary) == 0) {
        json_decref(summary);
        return AIOPS_OK;
    }
    struct ingest_options opt = {.delimiter = ',', .target = OUTCOME_COLUMN};
    struct ingest_result res;
    int rv = ingest_csv(csv->data, csv->len, &opt, &res);
    if (rv == 0 && res.n_errors > 0)
        rv = aiops_error_set(err, AIOPS_EINVAL, "training_data_source",
                             "the sessions' features did not make a dataset: %s",
                             res.issues[0].message);
    if (rv == 0)
        rv = ingest_summary_json(&res, &summary);
    if (rv == 0) {
        uuid_v4(id);
        char winner[37] = "";
        json_t *stored = json_pack("{s:s, s:s}", "file_id", id, "filename", DATASET_FILE);
        json_object_update(stored, summary);
        rv = datasets_store(svc_db(c), svc_project(c), id, DATASET_FILE, hash, "", csv->len, &res,
                            stored, winner);
        json_decref(stored);
        if (rv == AIOPS_EEXIST) { /* the same sessions stored concurrently */
            snprintf(id, 37, "%s", winner);
            rv = AIOPS_OK;
        }
    }
    json_decref(summary);
    ingest_result_free(&res);
    return rv;
}

/* The request's options: 0, or an error after replying. */
static int read_options(struct svc_call *c, const json_t *body, double *split, const char **name)
{
    const json_t *v = json_object_get(body, "validation_split");
    *split = 0.2;
    if (v != NULL &&
        (!json_is_number(v) || !(json_number_value(v) > 0) || !(json_number_value(v) <= 0.5))) {
        svc_reply_field(c, API_INVALID_REQUEST, "validation_split",
                        "validation_split must be a number above 0 and at most 0.5");
        return AIOPS_EINVAL;
    }
    if (v != NULL)
        *split = json_number_value(v);
    const json_t *n = json_object_get(body, "model_name");
    *name = n ? json_string_value(n) : CALLYTICS_MODEL;
    if (*name == NULL || !registry_name_valid(*name)) {
        svc_reply_field(c, API_INVALID_REQUEST, "model_name", "model_name " MODEL_NAME_RULE);
        return AIOPS_EINVAL;
    }
    return AIOPS_OK;
}

/* Queues seed 004's training of the dataset as run_id. */
static int queue_outcome_run(struct svc_call *c, const char *file_id, const char *name,
                             double split, size_t sessions, const char *run_id, json_t **params)
{
    const struct learner *gbdt = learner_find("gbdt");
    json_t *asked = json_pack("{s:i, s:f, s:s, s:f}", "rounds", 200, "learning_rate", 0.05,
                              "class_weight", "balanced", "valid_fraction", split);
    struct train_config cfg = {gbdt, OUTCOME_COLUMN, asked, split};
    struct aiops_error err = AIOPS_ERROR_INIT;
    int rv = asked ? train_check(&cfg, params, &err) : AIOPS_ENOMEM;
    json_decref(asked);
    if (rv != 0) {
        svc_reply_failure(c, rv, "checking the parameters");
        return rv;
    }
    json_t *tags = json_pack("{s:s, s:I}", "training_data_source", "database", "sessions",
                             (json_int_t)sessions);
    const struct run_spec spec = {
        file_id, gbdt->name, OUTCOME_COLUMN, name, *params, tags, learner_iterations(gbdt, *params),
        0};
    rv = queue_run(c, &spec, run_id, "queueing the training job");
    json_decref(tags);
    return rv;
}

void callytics_retrain(struct svc_call *c, const json_t *body)
{
    double split;
    const char *name;
    if (read_options(c, body, &split, &name) != 0)
        return;
    const char *v[] = {svc_project(c)};
    PGresult *r;
    if (svc_execv(c, &r, "reading the labeled sessions",
                  "SELECT session_id, consulting_content, instructions::text, outcome FROM "
                  "call_sessions WHERE project_id = $1 AND outcome IS NOT NULL ORDER BY session_id",
                  1, v) != 0)
        return;
    struct buf csv = BUF_INIT;
    json_t *counts = json_object(), *params = NULL;
    struct aiops_error err = AIOPS_ERROR_INIT;
    char file_id[37] = "", run_id[37];
    int rv;
    if (PQntuples(r) < MIN_SESSIONS) {
        svc_reply_field(c, API_INVALID_REQUEST, "training_data_source",
                        "%d labeled sessions are stored; at least %d are needed (upload sessions "
                        "whose instructions carry a \"상담 결과\")",
                        PQntuples(r), MIN_SESSIONS);
    } else if ((rv = sessions_csv(c, r, &csv, counts, &err)) != 0 ||
               (rv = store_dataset(c, &csv, file_id, &err)) != 0) {
        callytics_reply_failure(c, rv, &err, "building the training data");
    } else if (json_object_size(counts) < 2) {
        svc_reply_field(c, API_INVALID_REQUEST, "training_data_source",
                        "every labeled session has the same outcome: a model needs two at least");
    } else {
        uuid_v4(run_id);
        if (queue_outcome_run(c, file_id, name, split, (size_t)PQntuples(r), run_id, &params) ==
            0) {
            log_json(LOG_LEVEL_INFO, "outcome model queued",
                     json_pack("{s:s, s:s, s:s, s:i}", "run_id", run_id, "project", svc_project(c),
                               "dataset", file_id, "sessions", PQntuples(r)));
            svc_reply_json(c, 202,
                           json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:O, s:s, s:O}", "run_id",
                                     run_id, "status", "queued", "model_name", name,
                                     "training_data_source", "database", "file_id", file_id,
                                     "sessions", PQntuples(r), "classes", counts, "model", "gbdt",
                                     "params", params));
        }
    }
    json_decref(params);
    json_decref(counts);
    buf_free(&csv);
    PQclear(r);
}
