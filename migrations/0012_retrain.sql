-- Retraining (issue 9): a run started by POST /api/v1/models/retrain names the champion
-- version it challenges, and every champion-versus-challenger decision is kept (GET
-- /api/v1/models/info shows the last one).
ALTER TABLE runs ADD COLUMN retrain_champion_version integer;   -- NULL: not a retrain

CREATE TABLE retrain_decisions (
    id                  bigserial PRIMARY KEY,
    project_id          text NOT NULL,
    model_name          text NOT NULL,
    run_id              uuid REFERENCES runs (id) ON DELETE SET NULL,
    champion_version    integer NOT NULL,      -- the champion when the retrain started
    challenger_version  integer NOT NULL,      -- the version the retrain registered
    metric              text NOT NULL,         -- auc | accuracy | rmse
    test                text NOT NULL,         -- delong | mcnemar | paired_t
    champion_metric     double precision,      -- NULL: not computed
    challenger_metric   double precision,
    p_value             double precision,      -- NULL: undefined (identical predictions, ...)
    significance_level  double precision NOT NULL,
    holdout_rows        integer NOT NULL,
    promoted            boolean NOT NULL,
    reason              text NOT NULL,
    decided_at          timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (project_id, model_name) REFERENCES models (project_id, name) ON DELETE CASCADE
);
CREATE INDEX retrain_decisions_model ON retrain_decisions (project_id, model_name, id DESC);
