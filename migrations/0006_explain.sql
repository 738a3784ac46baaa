-- svc-explain: a run's explanations, computed once per run on its validation rows and kept
-- so that every replica answers from them (lib/ml/importance.h: permutation importance with
-- p-values and CIs, the correlation matrices by method).

CREATE TABLE explain_results (
    run_id       uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    project_id   text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('importance', 'importance_shap',
                                               'correlation_pearson',
                                               'correlation_spearman')),
    -- json, not jsonb: read back as stored, key order kept
    result       json NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, kind)
);
