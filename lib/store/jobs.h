/* jobs.h -- the durable job queue in PostgreSQL (table `jobs`, migrations/0002).
 *
 * Any number of worker processes share it. A worker claims the oldest claimable job with
 * FOR UPDATE SKIP LOCKED (two workers never get the same job) and holds a lease that its
 * heartbeat extends. A worker that dies stops the heartbeat; once the lease runs out the
 * job is claimable again -- up to max_attempts claims, after which jobs_reap() fails the job
 * and its run with the reason. Nothing is lost in between: the job row and the run row are
 * only ever changed in single statements or transactions. */
#ifndef AIOPS_JOBS_H
#define AIOPS_JOBS_H

#include <stdint.h>

#include "store/db.h"

struct job {
    int64_t id;
    char run_id[37];
    char project[72];
    int attempts;      /* including this claim */
    int max_attempts;
};

/* Adds a job for run_id (joins the caller's open transaction, if any). */
int jobs_enqueue(struct db *db, const char *kind, const char *run_id, const char *project,
                 int max_attempts);
/* Fails the jobs of this kind whose lease expired on their last attempt, and their runs.
 * *failed (may be NULL) gets how many. */
int jobs_reap(struct db *db, const char *kind, int *failed);
/* Claims the oldest claimable job: a queued one, or a running one whose lease expired.
 * AIOPS_ENOTFOUND when there is none. */
int jobs_claim(struct db *db, const char *kind, const char *worker, int lease_seconds,
               struct job *out);
/* Extends the lease. AIOPS_ENOTFOUND when the job is no longer this worker's (its lease
 * ran out and another worker took it: stop working on it). *cancel (may be NULL) is set
 * when the run's cancellation was requested. */
int jobs_heartbeat(struct db *db, const struct job *j, const char *worker, int lease_seconds,
                   int *cancel);
/* Ends the job: status "done", "failed" or "canceled", error (may be NULL) recorded.
 * AIOPS_ENOTFOUND when it is no longer this worker's. */
int jobs_finish(struct db *db, const struct job *j, const char *worker, const char *status,
                const char *error);

/* Gives a claimed job back to the queue without counting the attempt (a worker that stops
 * gracefully); its run goes back to "queued". */
int jobs_release(struct db *db, const struct job *j, const char *worker);

#endif
