-- svc-monitor: drift events (seed 001's detector, kept in PostgreSQL so that every replica
-- and GET /api/drift/summary see them). One row per detection: the prediction scores' KL
-- against the model's reference and/or per-feature data drift.

CREATE TABLE drift_events (
    id              bigserial PRIMARY KEY,
    project_id      text NOT NULL,
    model_name      text NOT NULL,
    model_version   integer NOT NULL,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    kl_divergence   double precision,            -- NULL when the scores could not be compared
    level           text NOT NULL,               -- normal / watch / drift / severe (seed 001)
    share_drifted   double precision NOT NULL,   -- share of features whose test says drift
    drifted_features jsonb NOT NULL,             -- [{"feature", "method", "statistic"}]
    window_rows     integer NOT NULL
);

CREATE INDEX drift_events_model_time ON drift_events (project_id, model_name, detected_at DESC);
