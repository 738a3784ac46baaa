/* Training workers: TRAIN_WORKERS threads (default 1) that take jobs from the durable queue
 * (lib/store/jobs.h), train, and record the outcome.
 *
 * While a job trains, a companion thread (with its own PostgreSQL connection) extends the
 * job's lease, notices cancellation or a lost lease, and every FLUSH_MS writes the
 * iterations done since the last time -- the run's progress, its metric history, and one
 * `epoch_update` event carrying them all, so a 1000-round model sends a handful of messages
 * a second rather than a thousand, and a client still sees every iteration.
 *
 * Training threads run at a lower CPU priority (nice 10, inherited by the learners'
 * threads), so predictions and health calls answer promptly while a model trains. A worker
 * stopped by SIGTERM hands its job back to the queue; one killed outright stops its
 * heartbeat, and another worker takes the job once the lease runs out. The outcome -- new
 * model version, run row, job row -- is written in one transaction. */
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/env.h"
#include "core/err.h"
#include "core/jsonx.h"
#include "core/log.h"
#include "core/time.h"
#include "ml/automl.h"
#include "ml/train.h"
#include "store/datasets.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "train_svc.h"

#define FLUSH_MS 250
/* How long a checkpoint waits for its epoch's history to be written. */
#define CHECKPOINT_FLUSH_WAIT_S 5
#define REAP_EVERY_NS (5ull * 1000000000ull)
#define MAX_WORKERS 64

enum stop_reason { RUN_ON = 0, STOP_CANCEL, STOP_LEASE_LOST, STOP_SHUTDOWN };

struct worker {
    struct svc *svc;
    pthread_t thread;
    char id[160];
    struct db *db; /* the worker's own connection */
    struct db *hb; /* the companion thread's */
};

/* One job in training: shared by the training thread (progress callback) and its
 * companion (flush + heartbeat). */
struct job_run {
    struct worker *w;
    struct job job;
    char topic[80];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct train_progress *pending; /* iterations not yet written, under mu */
    size_t npending, cap;
    int done;        /* under mu: the companion flushes and exits */
    int flushed;     /* under mu: the last iteration whose progress is written */
    atomic_int stop; /* enum stop_reason */
    int last_iteration, total, next_log;
};

static struct {
    struct worker w[MAX_WORKERS];
    int n;
    int lease;
    atomic_int quit; /* workers_stop() was called */
} pool;

static int winding_down(const struct worker *w)
{
    return svc_stopping(w->svc) || atomic_load(&pool.quit);
}

/* --- progress: the training thread's side ---------------------------------------------- */

static int on_progress(void *arg, const struct train_progress *p)
{
    struct job_run *jr = arg;
    if (p->iteration < 0) { /* a batch inside an epoch: only asks whether to stop */
        if (winding_down(jr->w))
            atomic_store(&jr->stop, STOP_SHUTDOWN);
        return atomic_load(&jr->stop) != RUN_ON;
    }
    pthread_mutex_lock(&jr->mu);
    if (jr->npending == jr->cap) {
        size_t cap = jr->cap ? jr->cap * 2 : 64;
        struct train_progress *np = realloc(jr->pending, cap * sizeof *np);
        if (np != NULL) {
            jr->pending = np;
            jr->cap = cap;
        }
    }
    if (jr->npending < jr->cap)
        jr->pending[jr->npending++] = *p;
    pthread_mutex_unlock(&jr->mu);
    if (winding_down(jr->w))
        atomic_store(&jr->stop, STOP_SHUTDOWN);
    return atomic_load(&jr->stop) != RUN_ON;
}

/* --- progress: the companion's side --------------------------------------------------------- */

static json_t *num_or_null(double v)
{
    return jsonx_num(v, 0);
}

/* An iteration's metrics with the seed's names (train_loss, val_loss, train_accuracy,
 * val_accuracy) and the model's own metric (train_auc, val_rmse, ...). */
static json_t *iteration_metrics(const struct train_progress *p)
{
    json_t *m = json_pack("{s:o, s:o}", "train_loss", num_or_null(p->train_loss), "val_loss",
                          num_or_null(p->valid_loss));
    const char *name = p->metric_name ? p->metric_name : "metric";
    char k[48];
    snprintf(k, sizeof k, "train_%s", name);
    json_object_set_new(m, k, num_or_null(p->train_metric));
    snprintf(k, sizeof k, "val_%s", name);
    json_object_set_new(m, k, num_or_null(p->valid_metric));
    if (p->has_accuracy && strcmp(name, "accuracy") != 0) {
        json_object_set_new(m, "train_accuracy", num_or_null(p->train_accuracy));
        json_object_set_new(m, "val_accuracy", num_or_null(p->valid_accuracy));
    } else if (strcmp(name, "accuracy") != 0) {
        json_object_set_new(m, "train_accuracy", json_null());
        json_object_set_new(m, "val_accuracy", json_null());
    }
    return m;
}

/* Appends "v" (or NULL) to a PostgreSQL array literal being built. */
static void array_num(struct buf *b, double v)
{
    if (b->len > 1)
        buf_putc(b, ',');
    if (isfinite(v))
        buf_printf(b, "%.17g", v);
    else
        buf_puts(b, "NULL");
}

/* Writes the pending iterations: run progress, metric history, one event. */
static void flush_progress(struct job_run *jr)
{
    pthread_mutex_lock(&jr->mu);
    size_t n = jr->npending;
    struct train_progress *batch = n ? malloc(n * sizeof *batch) : NULL;
    if (batch != NULL)
        memcpy(batch, jr->pending, n * sizeof *batch);
    jr->npending = 0;
    pthread_mutex_unlock(&jr->mu);
    if (batch == NULL)
        return;
    const struct train_progress *last = &batch[n - 1];
    struct buf keys = {0}, steps = {0}, vals = {0};
    buf_putc(&keys, '{');
    buf_putc(&steps, '{');
    buf_putc(&vals, '{');
    json_t *epochs = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct train_progress *p = &batch[i];
        const char *name = p->metric_name ? p->metric_name : "metric";
        char tk[48], vk[48];
        snprintf(tk, sizeof tk, "train_%s", name);
        snprintf(vk, sizeof vk, "val_%s", name);
        const char *k4[4] = {"train_loss", "val_loss", tk, vk};
        const double v4[4] = {p->train_loss, p->valid_loss, p->train_metric, p->valid_metric};
        for (int j = 0; j < 4; j++) {
            if (!isfinite(v4[j]))
                continue;
            buf_printf(&keys, "%s%s", keys.len > 1 ? "," : "", k4[j]);
            buf_printf(&steps, "%s%d", steps.len > 1 ? "," : "", p->iteration);
            array_num(&vals, v4[j]);
        }
        json_array_append_new(epochs, json_pack("{s:i, s:o}", "epoch", p->iteration, "metrics",
                                                iteration_metrics(p)));
    }
    buf_putc(&keys, '}');
    buf_putc(&steps, '}');
    buf_putc(&vals, '}');
    json_t *lastm = iteration_metrics(last);
    char *progress = json_dumps(lastm, JSON_COMPACT);
    char epoch[16];
    snprintf(epoch, sizeof epoch, "%d", last->iteration);
    const char *v1[3] = {jr->job.run_id, epoch, progress};
    const char *v2[4] = {jr->job.run_id, keys.data, steps.data, vals.data};
    struct db *db = jr->w->hb;
    int rv = progress && keys.data && steps.data && vals.data ? db_begin(db) : AIOPS_ENOMEM;
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "UPDATE runs SET current_epoch = $2::int, progress = $3::jsonb"
                      " WHERE id = $1 AND status = 'running'",
                      3, v1);
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "INSERT INTO run_metrics (run_id, key, step, value)"
                      " SELECT $1::uuid, k, s, v FROM unnest($2::text[], $3::int[],"
                      " $4::float8[]) AS t(k, s, v)"
                      " ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value",
                      4, v2);
    rv = db_finish(db, rv);
    if (rv != 0)
        log_json(LOG_LEVEL_WARN, "training progress not recorded",
                 json_pack("{s:s, s:s}", "run_id", jr->job.run_id, "error", aiops_strerror(rv)));
    /* the event carries every iteration since the last one; epoch/metrics are the latest,
     * as the seed's frontend reads them */
    svc_publish(jr->w->svc, jr->job.project, jr->topic, "epoch_update",
                json_pack("{s:i, s:i, s:o, s:o}", "epoch", last->iteration, "total_epochs",
                          last->total, "metrics", lastm, "epochs", epochs));
    /* a log line at every tenth of the way */
    if (last->total > 0 && last->iteration >= jr->next_log) {
        char msg[200];
        snprintf(msg, sizeof msg, "Epoch %d/%d done: train_loss %.5g, val_loss %.5g",
                 last->iteration, last->total, last->train_loss, last->valid_loss);
        svc_publish(jr->w->svc, jr->job.project, jr->topic, "log",
                    json_pack("{s:s, s:i}", "message", msg, "epoch", last->iteration));
        int step = last->total / 10 > 0 ? last->total / 10 : 1;
        jr->next_log = (last->iteration / step + 1) * step;
    }
    jr->last_iteration = last->iteration;
    jr->total = last->total;
    if (rv == 0) { /* a checkpoint may be waiting for it (save_checkpoint) */
        pthread_mutex_lock(&jr->mu);
        if (last->iteration > jr->flushed)
            jr->flushed = last->iteration;
        pthread_cond_broadcast(&jr->cv);
        pthread_mutex_unlock(&jr->mu);
    }
    free(progress);
    buf_free(&keys);
    buf_free(&steps);
    buf_free(&vals);
    free(batch);
}

static void heartbeat(struct job_run *jr)
{
    int cancel = 0;
    int rv = jobs_heartbeat(jr->w->hb, &jr->job, jr->w->id, pool.lease, &cancel);
    if (rv == AIOPS_ENOTFOUND) {
        log_json(LOG_LEVEL_WARN, "training job lost: its lease ran out and it was taken over",
                 json_pack("{s:s}", "run_id", jr->job.run_id));
        atomic_store(&jr->stop, STOP_LEASE_LOST);
    } else if (rv == 0 && cancel) {
        atomic_store(&jr->stop, STOP_CANCEL);
    }
}

static void *companion_main(void *arg)
{
    struct job_run *jr = arg;
    uint64_t beat_every = (uint64_t)pool.lease * UINT64_C(1000000000) / 3;
    uint64_t next_beat = time_mono_ns() + beat_every;
    pthread_mutex_lock(&jr->mu);
    while (!jr->done) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += FLUSH_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&jr->cv, &jr->mu, &until);
        pthread_mutex_unlock(&jr->mu);
        flush_progress(jr);
        if (time_mono_ns() >= next_beat) {
            heartbeat(jr);
            next_beat = time_mono_ns() + beat_every;
        }
        pthread_mutex_lock(&jr->mu);
    }
    pthread_mutex_unlock(&jr->mu);
    flush_progress(jr);
    return NULL;
}

/* --- one job ------------------------------------------------------------------------------ */

static void publish(struct job_run *jr, const char *type, json_t *payload);

/* A retried job (its worker stopped mid-run): `training_restarted` with the epoch the last
 * attempt had reached and the one it goes on from (0: from scratch; a checkpoint's epoch),
 * and a log line saying so. */
static void announce_restart(struct job_run *jr, int resume_epoch)
{
    const struct job *job = &jr->job;
    const char *v[1] = {job->run_id};
    PGresult *r;
    long reached = 0;
    if (db_execv_one(jr->w->db, &r, "SELECT current_epoch FROM runs WHERE id = $1", 1, v) == 0) {
        reached = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    char msg[200];
    snprintf(msg, sizeof msg,
             "Training restarted: the previous attempt stopped at epoch %ld (its worker went "
             "away); attempt %d of %d goes on from epoch %d",
             reached, job->attempts, job->max_attempts, resume_epoch + 1);
    publish(jr, "training_restarted",
            json_pack("{s:s, s:i, s:i, s:I, s:i, s:s}", "run_id", job->run_id, "attempt",
                      job->attempts, "max_attempts", job->max_attempts, "previous_epoch",
                      (json_int_t)reached, "restart_epoch", resume_epoch, "message", msg));
    publish(jr, "log", json_pack("{s:s}", "message", msg));
}

static void publish(struct job_run *jr, const char *type, json_t *payload)
{
    json_object_set_new(payload, "run_id", json_string(jr->job.run_id));
    svc_publish(jr->w->svc, jr->job.project, jr->topic, type, payload);
}

/* Ends the job and its run as failed or canceled, in one transaction. */
static void finish_unsuccessful(struct job_run *jr, const char *status, const char *error,
                                const char *field)
{
    struct db *db = jr->w->db;
    const char *v[3] = {jr->job.run_id, status, error};
    int rv = db_begin(db);
    if (rv == 0)
        rv = jobs_finish(db, &jr->job, jr->w->id,
                         strcmp(status, "canceled") == 0 ? "canceled" : "failed", error);
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "UPDATE runs SET status = $2, error = $3, finished_at = now() WHERE id = $1",
                      3, v);
    rv = db_finish(db, rv);
    if (rv != 0) {
        /* the lease will run out and the job be tried again or reaped: nothing is lost */
        log_json(LOG_LEVEL_ERROR, "could not record the end of a training job",
                 json_pack("{s:s, s:s}", "run_id", jr->job.run_id, "error", aiops_strerror(rv)));
        return;
    }
    log_json(LOG_LEVEL_INFO, strcmp(status, "canceled") == 0 ? "run canceled" : "run failed",
             json_pack("{s:s, s:s}", "run_id", jr->job.run_id, "error", error));
    json_t *ev = json_pack("{s:s, s:s, s:s}", "status", status, "error", error, "message", error);
    if (field && field[0])
        json_object_set_new(ev, "field", json_string(field));
    publish(jr, "training_failed", ev);
}

/* Ends the run as failed because storing its model failed with rv. */
static void fail_storing_model(struct job_run *jr, int rv)
{
    char msg[200];
    snprintf(msg, sizeof msg, "storing the model failed: %s", aiops_strerror(rv));
    finish_unsuccessful(jr, "failed", msg, NULL);
}

struct run_row {
    char dataset[40], kind[16], target[512], model_name[160];
    json_t *params;
    int cancel;
    int retrain_of; /* a retrain: the champion version it challenges; else 0 */
};

/* Publishes a retrain's decision on the run's topic and on /ws/performance. Takes it. */
static void publish_decision(struct job_run *jr, const char *model_name, json_t *decision)
{
    json_object_set_new(decision, "model_name", json_string(model_name));
    publish(jr, "retrain_decision", json_incref(decision));
    svc_publish(jr->w->svc, jr->job.project, "/ws/performance", "retrain_decision", decision);
}

/* Records the trained model: new version, run completed, job done -- all or nothing; for a
 * retrain, with its decision (retrain.c) -- the challenger against the champion on table t's
 * hold-out -- and the promotion when it wins. */
static void finish_completed(struct job_run *jr, const struct run_row *rr, const struct table *t,
                             const struct train_result *res)
{
    struct db *db = jr->w->db;
    const char *model_name = rr->model_name;
    int version = 0;
    struct retrain_verdict verdict = {.champion_version = rr->retrain_of};
    json_t *decision = NULL;
    if (rr->retrain_of > 0) /* before the transaction: predicting holds no locks */
        retrain_compare(db, jr->job.project, model_name, res->model, t, &verdict);
    char *metrics = res->metrics ? json_dumps(res->metrics, JSON_COMPACT) : NULL;
    char vbuf[16], iters[16];
    int rv = db_begin(db);
    if (rv == 0)
        rv = registry_add_version(db, jr->job.project, model_name, jr->job.run_id, res->model,
                                  res->metrics, &version);
    if (rv == 0) /* a k-means model's clusters become persona documents */
        rv = segments_add_documents(db, jr->job.project, model_name, version, res->model);
    if (rv == 0 && rr->retrain_of > 0)
        rv = retrain_record(db, jr->job.project, model_name, jr->job.run_id, version, &verdict,
                            &decision);
    if (rv == 0)
        rv = jobs_finish(db, &jr->job, jr->w->id, "done", NULL);
    snprintf(vbuf, sizeof vbuf, "%d", version);
    snprintf(iters, sizeof iters, "%d",
             jr->last_iteration > 0 ? jr->last_iteration : res->iterations);
    const char *v[6] = {jr->job.run_id, metrics, model_task_name(res->model), vbuf, iters, NULL};
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "UPDATE runs SET status = 'completed', metrics = $2::jsonb, task = $3,"
                      " model_version = $4::int, current_epoch = $5::int, error = NULL,"
                      " finished_at = now() WHERE id = $1",
                      5, v);
    rv = db_finish(db, rv);
    free(metrics);
    if (rv != 0) {
        json_decref(decision);
        decision = NULL;
    }
    if (rv == AIOPS_ENOTFOUND) {
        log_json(LOG_LEVEL_WARN, "training finished after its job was taken over; discarded",
                 json_pack("{s:s}", "run_id", jr->job.run_id));
        return;
    }
    if (rv != 0) {
        fail_storing_model(jr, rv);
        return;
    }
    serve_forget(jr->job.project, model_name);
    log_json(LOG_LEVEL_INFO, "run completed",
             json_pack("{s:s, s:s, s:i, s:f}", "run_id", jr->job.run_id, "model", model_name,
                       "version", version, "train_seconds", res->train_seconds));
    publish(jr, "training_complete",
            json_pack("{s:s, s:O, s:s, s:i, s:f, s:i, s:I, s:I}", "status", "completed", "metrics",
                      res->metrics ? res->metrics : json_null(), "model_name", model_name,
                      "model_version", version, "train_seconds", res->train_seconds, "iterations",
                      res->iterations, "train_rows", (json_int_t)res->train_rows, "valid_rows",
                      (json_int_t)res->valid_rows));
    if (decision != NULL) {
        log_json(LOG_LEVEL_INFO, "retrain decided", json_incref(decision));
        publish_decision(jr, model_name, decision);
    }
}

static int read_run(struct db *db, const char *run_id, struct run_row *rr)
{
    const char *v[1] = {run_id};
    PGresult *r;
    int rv = db_execv_one(db, &r,
                          "SELECT coalesce(dataset_id::text, ''), model_kind, target, model_name,"
                          " params::text, cancel_requested, coalesce(retrain_champion_version, 0)"
                          " FROM runs WHERE id = $1",
                          1, v);
    if (rv != 0)
        return rv;
    snprintf(rr->dataset, sizeof rr->dataset, "%s", PQgetvalue(r, 0, 0));
    snprintf(rr->kind, sizeof rr->kind, "%s", PQgetvalue(r, 0, 1));
    snprintf(rr->target, sizeof rr->target, "%s", PQgetvalue(r, 0, 2));
    snprintf(rr->model_name, sizeof rr->model_name, "%s", PQgetvalue(r, 0, 3));
    rr->params = json_loads(PQgetvalue(r, 0, 4), 0, NULL);
    rr->cancel = PQgetvalue(r, 0, 5)[0] == 't';
    rr->retrain_of = atoi(PQgetvalue(r, 0, 6));
    PQclear(r);
    return rr->params ? AIOPS_OK : AIOPS_ECORRUPT;
}

/* --- checkpoints (migrations/0004_checkpoints.sql) -------------------------------------- */

/* Keeps the run's latest epoch state: called on the training thread, on the worker's own
 * connection. A failure costs only the resume point, so it is logged, not fatal. */
static int save_checkpoint(void *arg, int epoch, const uint8_t *state, size_t n)
{
    struct job_run *jr = arg;
    /* the epoch's history is written first: a run resumed from this checkpoint goes on after
     * the epoch, so a crash between the two would lose its row for good. The companion is
     * woken to flush now; past CHECKPOINT_FLUSH_WAIT_S (the database is down) it is kept
     * anyway. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += CHECKPOINT_FLUSH_WAIT_S;
    pthread_mutex_lock(&jr->mu);
    pthread_cond_broadcast(&jr->cv);
    while (jr->flushed < epoch && !jr->done &&
           pthread_cond_timedwait(&jr->cv, &jr->mu, &until) == 0)
        ;
    pthread_mutex_unlock(&jr->mu);
    char ep[16];
    snprintf(ep, sizeof ep, "%d", epoch);
    const char *vals[3] = {jr->job.run_id, ep, (const char *)state};
    int lens[3] = {0, 0, (int)n};
    int fmts[3] = {0, 0, 1};
    int rv = n > INT32_MAX ? AIOPS_ETOOBIG
                           : db_exec(jr->w->db, NULL,
                                     "INSERT INTO run_checkpoints (run_id, epoch, state)"
                                     " VALUES ($1, $2::int, $3)"
                                     " ON CONFLICT (run_id) DO UPDATE SET epoch = EXCLUDED.epoch,"
                                     " state = EXCLUDED.state, updated_at = now()",
                                     3, vals, lens, fmts);
    if (rv != 0)
        log_json(LOG_LEVEL_WARN, "training checkpoint not saved",
                 json_pack("{s:s, s:i, s:s}", "run_id", jr->job.run_id, "epoch", epoch, "error",
                           aiops_strerror(rv)));
    return rv;
}

/* The run's last checkpoint into *state (the caller frees it; NULL when there is none) and
 * its epoch. */
static int load_checkpoint(struct db *db, const char *run_id, uint8_t **state, size_t *n,
                           int *epoch)
{
    *state = NULL;
    *n = 0;
    *epoch = 0;
    PGresult *r = NULL;
    const char *v[1] = {run_id};
    int rv = db_execv(db, &r, "SELECT epoch, state FROM run_checkpoints WHERE run_id = $1", 1, v);
    if (rv != 0)
        return rv;
    if (PQntuples(r) == 1) {
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 1), &len);
        if (raw == NULL) {
            rv = AIOPS_ENOMEM;
        } else if ((*state = malloc(len ? len : 1)) == NULL) {
            rv = AIOPS_ENOMEM;
        } else {
            memcpy(*state, raw, len);
            *n = len;
            *epoch = atoi(PQgetvalue(r, 0, 0));
        }
        if (raw != NULL)
            PQfreemem(raw);
    }
    PQclear(r);
    return rv;
}

static void drop_checkpoint(struct db *db, const char *run_id)
{
    const char *v[1] = {run_id};
    db_execv(db, NULL, "DELETE FROM run_checkpoints WHERE run_id = $1", 1, v);
}

/* --- AutoML runs (issue 13) ---------------------------------------------------------------- */

/* What the search reports to: the job (events, cancel) and the leaderboard so far. */
struct automl_job {
    struct job_run *jr;
    json_t *leaderboard;
};

/* A finished trial: its trial_complete event, and the run's progress (the leaderboard so
 * far, current_epoch = trials done) on the worker's connection (the companion has its own). */
static void automl_on_trial(void *arg, const json_t *trial, size_t rank)
{
    struct automl_job *aj = arg;
    json_t *ev = json_deep_copy(trial);
    json_object_set_new(ev, "rank", rank ? json_integer((json_int_t)rank) : json_null());
    json_array_append(aj->leaderboard, ev);
    json_t *event = json_deep_copy(ev); /* publish adds run_id: not for the leaderboard */
    json_decref(ev);
    json_t *progress = json_pack("{s:O}", "leaderboard", aj->leaderboard);
    char *text = progress ? json_dumps(progress, JSON_COMPACT) : NULL;
    char done[24];
    snprintf(done, sizeof done, "%zu", json_array_size(aj->leaderboard));
    const char *v[3] = {aj->jr->job.run_id, text, done};
    if (text != NULL)
        db_execv(aj->jr->w->db, NULL,
                 "UPDATE runs SET progress = $2::jsonb, current_epoch = $3::int"
                 " WHERE id = $1 AND status = 'running'",
                 3, v);
    free(text);
    json_decref(progress);
    publish(aj->jr, "trial_complete", event); /* takes event */
}

/* Polled by the search's threads: cancel, a lost lease or shutdown stop it. */
static int automl_stopped(void *arg)
{
    struct automl_job *aj = arg;
    if (winding_down(aj->jr->w))
        atomic_store(&aj->jr->stop, STOP_SHUTDOWN);
    return atomic_load(&aj->jr->stop) != RUN_ON;
}

/* Registers the search's model as the next version of model_name; the run is completed, or
 * canceled when a cancel stopped the search (the best so far is kept either way). */
static void finish_automl(struct job_run *jr, const char *model_name,
                          const struct automl_result *res)
{
    struct db *db = jr->w->db;
    int version = 0;
    json_t *metrics = json_object_get(res->model->meta, "metrics");
    json_t *progress = json_pack("{s:O, s:O, s:O, s:s, s:f}", "leaderboard", res->leaderboard,
                                 "best", res->best, "ensemble", res->ensemble, "metric",
                                 res->metric, "budget_used_seconds", res->seconds);
    char *metrics_s = json_dumps(metrics, JSON_COMPACT);
    char *progress_s = progress ? json_dumps(progress, JSON_COMPACT) : NULL;
    char vbuf[16], trials[24];
    const char *status = res->cancelled ? "canceled" : "completed";
    int rv = metrics_s && progress_s ? db_begin(db) : AIOPS_ENOMEM;
    if (rv == 0)
        rv = registry_add_version(db, jr->job.project, model_name, jr->job.run_id, res->model,
                                  metrics, &version);
    if (rv == 0)
        rv = jobs_finish(db, &jr->job, jr->w->id, "done", NULL);
    snprintf(vbuf, sizeof vbuf, "%d", version);
    snprintf(trials, sizeof trials, "%zu", json_array_size(res->leaderboard));
    const char *v[7] = {jr->job.run_id, metrics_s, model_task_name(res->model), vbuf, trials,
                        progress_s,     status};
    if (rv == 0)
        rv = db_execv(db, NULL,
                      "UPDATE runs SET status = $7, metrics = $2::jsonb, task = $3,"
                      " model_version = $4::int, current_epoch = $5::int, total_epochs = $5::int,"
                      " progress = $6::jsonb, error = NULL, finished_at = now() WHERE id = $1",
                      7, v);
    rv = db_finish(db, rv);
    free(metrics_s);
    free(progress_s);
    if (rv != 0) {
        json_decref(progress);
        fail_storing_model(jr, rv);
        return;
    }
    serve_forget(jr->job.project, model_name);
    log_json(LOG_LEVEL_INFO, "automl run finished",
             json_pack("{s:s, s:s, s:i, s:s}", "run_id", jr->job.run_id, "model", model_name,
                       "version", version, "status", status));
    json_object_set_new(progress, "status", json_string(status));
    json_object_set_new(progress, "model_name", json_string(model_name));
    json_object_set_new(progress, "model_version", json_integer(version));
    json_object_set(progress, "metrics", metrics);
    publish(jr, "training_complete", progress); /* takes progress */
}

/* The search of an AutoML run on t (params: budget_seconds, folds, seed, metric, models):
 * 0 after recording the outcome, else the error (terr filled) for run_job to record. */
static int run_automl(struct job_run *jr, const struct table *t, const struct run_row *rr,
                      struct aiops_error *terr)
{
    const json_t *p = rr->params;
    struct automl_job aj = {jr, json_array()};
    struct automl_config cfg = {
        .target = rr->target,
        .metric = json_string_value(json_object_get(p, "metric")),
        .models = json_string_value(json_object_get(p, "models")),
        .folds = (size_t)json_integer_value(json_object_get(p, "folds")),
        .seed = (uint64_t)json_integer_value(json_object_get(p, "seed")),
        .budget_seconds = json_number_value(json_object_get(p, "budget_seconds")),
        .on_trial = automl_on_trial,
        .cancelled = automl_stopped,
        .arg = &aj,
    };
    struct automl_result res;
    int rv = aj.leaderboard ? automl_run(t, &cfg, &res, terr) : AIOPS_ENOMEM;
    json_decref(aj.leaderboard);
    if (rv != 0)
        return rv;
    int stop = atomic_load(&jr->stop);
    if (stop == STOP_SHUTDOWN || stop == STOP_LEASE_LOST) {
        automl_result_free(&res); /* handed back / taken over: run_job says what happens */
        return AIOPS_ECANCELED;
    }
    finish_automl(jr, rr->model_name, &res);
    automl_result_free(&res);
    return AIOPS_OK;
}

static void run_job(struct worker *w, const struct job *job)
{
    struct job_run jr;
    memset(&jr, 0, sizeof jr);
    jr.w = w;
    jr.job = *job;
    snprintf(jr.topic, sizeof jr.topic, "/ws/training/%s", job->run_id);
    pthread_mutex_init(&jr.mu, NULL);
    pthread_cond_init(&jr.cv, NULL);
    struct run_row rr = {0};
    struct table t;
    int have_table = 0;
    memset(&t, 0, sizeof t);
    uint8_t *resume = NULL; /* the checkpoint a new attempt resumes from */
    size_t resume_len = 0;
    int resume_epoch = 0;

    int rv = read_run(w->db, job->run_id, &rr);
    if (rv != 0 && rv != AIOPS_ENOTFOUND && rv != AIOPS_ECORRUPT) {
        /* the database went away: the lease runs out and the job is tried again */
        log_json(LOG_LEVEL_WARN, "could not read a training job's run",
                 json_pack("{s:s, s:s}", "run_id", job->run_id, "error", aiops_strerror(rv)));
        goto out;
    }
    if (rv != 0) {
        finish_unsuccessful(&jr, "failed", "the run's record cannot be read", NULL);
        goto out;
    }
    if (rr.cancel) {
        finish_unsuccessful(&jr, "canceled", "canceled by request", NULL);
        goto out;
    }
    /* a new attempt resumes from the last checkpoint when the learner left one, else starts
       from scratch: the history is kept up to that epoch, and the watchers are told, or they
       would see the epochs jump back */
    if (job->attempts > 1 &&
        load_checkpoint(w->db, job->run_id, &resume, &resume_len, &resume_epoch) != 0)
        resume_epoch = 0;
    if (job->attempts > 1)
        announce_restart(&jr, resume_epoch);
    char resume_text[16];
    snprintf(resume_text, sizeof resume_text, "%d", resume_epoch);
    const char *v2[2] = {job->run_id, resume_text};
    if (job->attempts > 1)
        db_execv(w->db, NULL, "DELETE FROM run_metrics WHERE run_id = $1 AND step > $2::int", 2,
                 v2);
    rv = db_execv(w->db, NULL,
                  "UPDATE runs SET status = 'running', started_at = now(),"
                  " current_epoch = $2::int, progress = NULL, error = NULL WHERE id = $1",
                  2, v2);
    if (rv != 0) {
        /* the database went away: the lease runs out and the job is tried again */
        log_json(LOG_LEVEL_WARN, "could not start a training job",
                 json_pack("{s:s, s:s}", "run_id", job->run_id, "error", aiops_strerror(rv)));
        goto out;
    }
    if (rr.dataset[0] == '\0') {
        finish_unsuccessful(&jr, "failed", "the run's dataset was deleted", "file_id");
        goto out;
    }
    rv = datasets_load(w->db, job->project, rr.dataset, 0, &t);
    if (rv != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "the dataset cannot be read: %s", aiops_strerror(rv));
        finish_unsuccessful(&jr, "failed", msg, "file_id");
        goto out;
    }
    have_table = 1;
    char msg[300];
    snprintf(msg, sizeof msg, "Training %s on %zu rows (attempt %d of %d)", rr.kind, t.nrows,
             job->attempts, job->max_attempts);
    publish(&jr, "log", json_pack("{s:s}", "message", msg));
    if (resume != NULL) {
        snprintf(msg, sizeof msg, "Resuming from the checkpoint of epoch %d", resume_epoch);
        publish(&jr, "log", json_pack("{s:s, s:i}", "message", msg, "epoch", resume_epoch));
    }

    pthread_t companion;
    if (pthread_create(&companion, NULL, companion_main, &jr) != 0) {
        finish_unsuccessful(&jr, "failed", "out of resources (thread)", NULL);
        goto out;
    }
    const struct learner *learner = learner_find(rr.kind);
    struct train_config cfg = {learner, rr.target, rr.params, 0};
    struct train_result res;
    struct aiops_error terr = AIOPS_ERROR_INIT;
    memset(&res, 0, sizeof res);
    int automl = strcmp(rr.kind, "automl") == 0; /* issue 13: a search, not one learner */
    struct train_checkpoint ckpt = {save_checkpoint, &jr, resume, resume_len};
    if (automl) {
        rv = run_automl(&jr, &t, &rr, &terr);
    } else {
        /* refuses a NULL learner */
        rv = train_model_checkpointed(&t, NULL, &cfg, &ckpt, on_progress, &jr, &res, &terr);
        if (rv == AIOPS_ECORRUPT && resume != NULL) {
            /* a checkpoint this run cannot use (another version's layout): start over */
            log_json(LOG_LEVEL_WARN, "training checkpoint refused; starting over",
                     json_pack("{s:s}", "run_id", job->run_id));
            ckpt.resume = NULL;
            ckpt.resume_len = 0;
            aiops_error_clear(&terr);
            rv = train_model_checkpointed(&t, NULL, &cfg, &ckpt, on_progress, &jr, &res, &terr);
        }
    }
    pthread_mutex_lock(&jr.mu);
    jr.done = 1;
    pthread_cond_signal(&jr.cv);
    pthread_mutex_unlock(&jr.mu);
    pthread_join(companion, NULL);

    int stop = atomic_load(&jr.stop);
    /* the checkpoint outlives only a run that another worker will pick up again */
    if (!(rv == AIOPS_ECANCELED && (stop == STOP_SHUTDOWN || stop == STOP_LEASE_LOST)))
        drop_checkpoint(w->db, job->run_id);
    if (rv == 0 && !automl) {
        finish_completed(&jr, &rr, &t, &res);
    } else if (rv == 0) {
        /* run_automl recorded it */
    } else if (rv == AIOPS_ECANCELED && stop == STOP_SHUTDOWN) {
        /* the service is stopping: the job goes back to the queue for another worker */
        if (jobs_release(w->db, job, w->id) == 0) {
            publish(&jr, "log",
                    json_pack("{s:s}", "message",
                              "The training worker is stopping; the run is queued "
                              "again and restarts on the next worker"));
            log_json(LOG_LEVEL_INFO, "training job handed back (shutdown)",
                     json_pack("{s:s}", "run_id", job->run_id));
        }
    } else if (rv == AIOPS_ECANCELED && stop == STOP_LEASE_LOST) {
        /* another worker owns the job now: leave its run alone */
    } else if (rv == AIOPS_ECANCELED) {
        finish_unsuccessful(&jr, "canceled", "canceled by request", NULL);
    } else if (rv == AIOPS_EINVAL) {
        finish_unsuccessful(
            &jr, "failed", terr.message[0] ? terr.message : "invalid training request", terr.field);
    } else {
        char m2[200];
        snprintf(m2, sizeof m2, "training failed: %s", aiops_strerror(rv));
        finish_unsuccessful(&jr, "failed", m2, NULL);
    }
    train_result_free(&res);
out:
    if (have_table)
        table_free(&t);
    json_decref(rr.params);
    free(resume);
    free(jr.pending);
    pthread_mutex_destroy(&jr.mu);
    pthread_cond_destroy(&jr.cv);
}

/* --- the worker loop ------------------------------------------------------------------------- */

/* Waits up to ms for a job notification (LISTEN aiops_jobs) -- or just sleeps when the
 * database is down. */
static void wait_for_work(struct worker *w, int ms)
{
    PGconn *pc = db_is_up(w->db) ? db_conn(w->db) : NULL;
    if (pc == NULL || db_execv(w->db, NULL, "LISTEN aiops_jobs", 0, NULL) != 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    PGnotify *n;
    int got = 0;
    while ((n = PQnotifies(pc)) != NULL) {
        got = 1;
        PQfreemem(n);
    }
    if (got)
        return;
    struct pollfd pfd = {PQsocket(pc), POLLIN, 0};
    if (poll(&pfd, 1, ms) > 0 && PQconsumeInput(pc))
        while ((n = PQnotifies(pc)) != NULL)
            PQfreemem(n);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    /* lower priority for training (inherited by the threads the learners start) */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    uint64_t next_reap = 0;
    while (!winding_down(w)) {
        if (time_mono_ns() >= next_reap) {
            int failed = 0;
            if (jobs_reap(w->db, "train", &failed) == 0 && failed > 0)
                log_json(LOG_LEVEL_WARN, "training jobs failed after their last attempt",
                         json_pack("{s:i}", "jobs", failed));
            next_reap = time_mono_ns() + REAP_EVERY_NS;
        }
        struct job job;
        int rv = jobs_claim(w->db, "train", w->id, pool.lease, &job);
        if (rv == 0) {
            log_json(LOG_LEVEL_INFO, "training job claimed",
                     json_pack("{s:s, s:i, s:s}", "run_id", job.run_id, "attempt", job.attempts,
                               "worker", w->id));
            run_job(w, &job);
        } else {
            wait_for_work(w, 500);
        }
    }
    return NULL;
}

int workers_start(struct svc *s)
{
    long n, lease;
    if (env_long("TRAIN_WORKERS", 1, 0, MAX_WORKERS, &n) != 0 ||
        env_long("TRAIN_LEASE_SECONDS", 30, 3, 3600, &lease) != 0)
        return AIOPS_EINVAL;
    pool.n = (int)n;
    pool.lease = (int)lease;
    atomic_store(&pool.quit, 0);
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    for (int i = 0; i < pool.n; i++) {
        struct worker *w = &pool.w[i];
        memset(w, 0, sizeof *w);
        w->svc = s;
        snprintf(w->id, sizeof w->id, "%s:%d:%d", host, (int)getpid(), i);
        if (db_open(svc_database_url(s), &w->db) != 0 ||
            db_open(svc_database_url(s), &w->hb) != 0 ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            db_close(w->db);
            db_close(w->hb);
            pool.n = i;
            workers_stop();
            return AIOPS_ENOMEM;
        }
    }
    return AIOPS_OK;
}

void workers_stop(void)
{
    atomic_store(&pool.quit, 1);
    for (int i = 0; i < pool.n; i++) {
        pthread_join(pool.w[i].thread, NULL);
        db_close(pool.w[i].db);
        db_close(pool.w[i].hb);
    }
    pool.n = 0;
}
