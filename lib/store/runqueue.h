/* runqueue.h -- queueing training runs: the run row and its job on the training queue in one
 * transaction (svc-train's POST /api/train), and retrains of a registered model -- a run that
 * repeats its champion's run on the newest upload of the champion's dataset -- queued by
 * POST /api/v1/models/retrain (svc-train) and by svc-monitor's retrain policy alike. */
#ifndef AIOPS_RUNQUEUE_H
#define AIOPS_RUNQUEUE_H

#include <jansson.h>

#include "core/err.h"
#include "store/db.h"

struct run_spec {
    const char *file_id, *kind, *target, *model_name;
    const json_t *params, *tags; /* params normalised (train_check); tags may be NULL */
    json_int_t total_epochs;     /* iterations planned */
    int retrain_of;              /* a retrain: the champion version it challenges; else 0 */
};

/* Inserts run run_id (queued) and its job, in one transaction. AIOPS_ENOMEM, a database error
 * (nothing is then queued). */
int runs_queue(struct db *db, const char *project, const struct run_spec *spec, const char *run_id);

/* What a retrain of a model repeats: its champion's run, and the data it reads. */
struct retrain_plan {
    int champion_version;
    char champion_run[40], kind[32], dataset[40], file_id[40];
    char target[512];
    json_t *params;         /* owned: retrain_plan_free */
    json_int_t total_epochs;
};

/* Reads the plan for model `name` of project. AIOPS_ENOTFOUND (no such model);
 * AIOPS_EINVAL when it cannot be retrained (err: field "model_name" and why -- imported,
 * from AutoML, unsupervised, its dataset deleted); AIOPS_ECORRUPT, a database error. The
 * plan holds nothing on failure. */
int retrain_plan_read(struct db *db, const char *project, const char *name,
                      struct retrain_plan *plan, struct aiops_error *err);
void retrain_plan_free(struct retrain_plan *plan);

/* Queues the plan's retrain as run_id, tagged retrain_of / champion_version and with the
 * members of extra_tags (may be NULL: e.g. what triggered it). As runs_queue. */
int retrain_queue(struct db *db, const char *project, const char *name,
                  const struct retrain_plan *plan, const json_t *extra_tags, const char *run_id);

/* Whether a retrain of `name` is queued or running: 1, 0, or <0 (database error). */
int retrain_pending(struct db *db, const char *project, const char *name);

#endif
