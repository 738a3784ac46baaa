-- svc-report: what a run's reports are made from, computed once per run and kept so that
-- every replica answers from it; the PDFs generated (any replica serves them); the model
-- cards' owner-written intended use.

CREATE TABLE report_inputs (
    run_id       uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    project_id   text NOT NULL,
    -- json, not jsonb: read back as stored, fast, key order kept (lib/report/inputs.h)
    inputs       json NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE report_pdfs (
    run_id       uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    project_id   text NOT NULL,
    pdf          bytea NOT NULL,
    options      jsonb NOT NULL,             -- includeCharts, ..., lang
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE model_cards (
    project_id    text NOT NULL,
    name          text NOT NULL,
    intended_use  text NOT NULL CHECK (length(intended_use) <= 5000),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name),
    FOREIGN KEY (project_id, name) REFERENCES models (project_id, name) ON DELETE CASCADE
);
