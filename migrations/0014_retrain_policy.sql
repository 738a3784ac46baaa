-- Retraining policies (issue 9): svc-monitor checks every enabled policy each
-- RETRAIN_CHECK_SECONDS -- a drift check of the model's served window first -- and queues a
-- retrain (lib/store/runqueue.h) when one of its rules holds: drift_events drift events within
-- drift_days days, a drift check's KL over max_kl, rolling accuracy under min_accuracy over at
-- least min_feedback labels, or a minute of retrain_cron; at most one per cooldown_minutes,
-- and never while one is queued or running. What it last did is kept here. With
-- retention_days set, each check also deletes the model's versions older than that, except
-- the champion, the newest version and any version an alias points at.
CREATE TABLE retrain_policies (
    project_id        text NOT NULL,
    model_name        text NOT NULL,
    enabled           boolean NOT NULL DEFAULT true,
    drift_events      integer NOT NULL DEFAULT 5,
    drift_days        integer NOT NULL DEFAULT 7,
    max_kl            double precision NOT NULL DEFAULT 1.0,
    min_accuracy      double precision NOT NULL DEFAULT 0.7,
    min_feedback      integer NOT NULL DEFAULT 20,
    retrain_cron      text,                          -- NULL: no schedule
    cooldown_minutes  integer NOT NULL DEFAULT 60,
    retention_days    integer,                       -- NULL: keep every version
    last_checked_at   timestamptz,
    last_triggered_at timestamptz,
    last_reason       text,
    last_run_id       uuid,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, model_name),
    FOREIGN KEY (project_id, model_name) REFERENCES models (project_id, name) ON DELETE CASCADE
);
