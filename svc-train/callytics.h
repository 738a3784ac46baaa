/* callytics.h -- svc-train's counseling pipeline (issue 10, seed 004): the four steps
 * (callytics.c), the routes (callroutes.c), the background workers and callbacks
 * (calljobs.c) and the outcome model's training from the stored sessions (calltrain.c). */
#ifndef AIOPS_CALLYTICS_H
#define AIOPS_CALLYTICS_H

#include <jansson.h>

#include "core/err.h"
#include "ml/callfeat.h"
#include "train_svc.h"

/* The model the pipeline predicts with (its champion). */
#define CALLYTICS_MODEL "counseling-outcome"

/* One session through the pipeline. */
struct call_result {
    char prediction[256]; /* the class label */
    double confidence;    /* its probability */
    int model_version;
    json_t *probabilities; /* {label: probability}, owned */
    json_t *features;      /* call_features' object, owned */
    json_t *steps;         /* {step: {status, duration, duration_ms[, features_count]}}, owned */
    double clock, total_ms;
};
void call_result_free(struct call_result *r);
/* A result's columns as text for PostgreSQL (the JSON ones malloc'ed). */
struct call_result_text {
    char confidence[32], version[16], ms[32];
    char *probabilities, *features, *steps;
};
/* 0, or AIOPS_ENOMEM (nothing to free); call_result_text_free after use. */
int call_result_text(const struct call_result *r, struct call_result_text *t);
void call_result_text_free(struct call_result_text *t);

/* CALLYTICS_MAX_SESSIONS from the environment: 0, or AIOPS_EINVAL (logged by env). */
int callytics_config(void);
/* The shipped sentiment model, loaded on first use (NULL when it cannot be read: logged). */
struct sentiment_model;
const struct sentiment_model *callytics_sentiment(void);
void callytics_free(void);

/* Counts n sessions in: 0, or (over CALLYTICS_MAX_SESSIONS) 429 answered and nothing counted.
 * callytics_leave(n) after processing them. */
int callytics_enter(struct svc_call *c, size_t n);
void callytics_leave(size_t n);

/* Runs session s through the four steps with the champion of CALLYTICS_MODEL into *r (its
 * steps as far as they went, also on failure: call_result_free after). AIOPS_ENOTFOUND: no
 * outcome model; AIOPS_EINVAL (err: field "model") when the model is not a classifier of the
 * call features; load and database errors. */
int callytics_run(struct db *db, const char *project, const struct call_session *s,
                  struct call_result *r, struct aiops_error *err);
/* Keeps a completed result as a call_results row of `mode` (callback_url may be NULL; else
 * the callback is queued for calljobs): 0 with its id, or a database error. */
int callytics_store(struct db *db, const char *project, const char *session_id, const char *mode,
                    const struct call_result *r, const char *callback_url, char id[24]);
/* seed 004's prediction_result of a completed run. */
json_t *callytics_prediction_json(const char *session_id, const struct call_result *r);
/* Answers a failed callytics_run: 503 model_not_ready, 422 naming the field, or the failure. */
void callytics_reply_failure(struct svc_call *c, int rv, const struct aiops_error *err,
                             const char *what);

/* callroutes.c */
svc_handler_fn handle_callytics_process, handle_callytics_batch, handle_callytics_status,
    handle_callytics_results, handle_predictions_get, handle_predictions_batch,
    handle_predictions_history;

/* calljobs.c: the background workers (CALLYTICS_WORKERS, default 1) -- queued sessions
 * (status processing, mode background) and pending callbacks, from call_results */
int calljobs_start(struct svc *s);
void calljobs_stop(void);
/* Wakes the workers: a session was queued or a callback became due. */
void calljobs_wake(void);

/* calltrain.c: POST /api/v1/models/retrain {"training_data_source": "database"} */
void callytics_retrain(struct svc_call *c, const json_t *body);

#endif
