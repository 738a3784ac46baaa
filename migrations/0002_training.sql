-- Training: runs (tracked as MLflow users expect), their metric history, the durable job
-- queue that svc-train workers share, and the model registry with aliases.

CREATE TABLE runs (
    id             uuid PRIMARY KEY,
    project_id     text NOT NULL REFERENCES projects (id),
    dataset_id     uuid REFERENCES datasets (id) ON DELETE SET NULL,
    model_kind     text NOT NULL,            -- gbdt | rf | linear
    task           text,                     -- binary | multiclass | regression, once known
    target         text NOT NULL,
    model_name     text NOT NULL,
    status         text NOT NULL
                   CHECK (status IN ('queued', 'running', 'completed', 'failed', 'canceled')),
    params         jsonb NOT NULL,           -- as given, normalised; immutable
    tags           jsonb NOT NULL DEFAULT '{}',
    metrics        jsonb,                    -- final evaluation on the validation rows
    progress       jsonb,                    -- last iteration: train/valid loss and metric
    current_epoch  integer NOT NULL DEFAULT 0,
    total_epochs   integer NOT NULL DEFAULT 0,
    model_version  integer,                  -- the version the run registered
    error          text,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz
);
CREATE INDEX runs_project_created ON runs (project_id, created_at DESC, id);

-- One row per (run, key, step): appended as training goes, read back with pagination.
CREATE TABLE run_metrics (
    run_id  uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    key     text NOT NULL,
    step    integer NOT NULL,
    value   double precision,
    ts      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, key, step)
);

-- The queue. A worker claims a job with FOR UPDATE SKIP LOCKED and holds a lease that its
-- heartbeat extends; a job whose lease ran out (its worker died) is claimed again, until
-- max_attempts, then failed with the reason.
CREATE TABLE jobs (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL,             -- 'train'
    run_id        uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    project_id    text NOT NULL,
    status        text NOT NULL
                  CHECK (status IN ('queued', 'running', 'done', 'failed', 'canceled')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 3,
    worker        text,
    lease_until   timestamptz,
    heartbeat_at  timestamptz,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX jobs_claimable ON jobs (kind, id) WHERE status IN ('queued', 'running');

CREATE TABLE models (
    project_id  text NOT NULL REFERENCES projects (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name)
);

CREATE TABLE model_versions (
    project_id  text NOT NULL,
    name        text NOT NULL,
    version     integer NOT NULL CHECK (version >= 1),
    run_id      uuid REFERENCES runs (id) ON DELETE SET NULL,
    kind        text NOT NULL,
    task        text NOT NULL,
    artifact    bytea NOT NULL,              -- the model file (lib/model.h)
    sha256      bytea NOT NULL CHECK (length(sha256) = 32),
    metrics     jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name, version),
    FOREIGN KEY (project_id, name) REFERENCES models (project_id, name) ON DELETE CASCADE
);
ALTER TABLE model_versions ALTER COLUMN artifact SET COMPRESSION lz4;

-- champion, challenger, or any name; one version per alias.
CREATE TABLE model_aliases (
    project_id  text NOT NULL,
    name        text NOT NULL,
    alias       text NOT NULL CHECK (alias ~ '^[A-Za-z][A-Za-z0-9_.-]{0,63}$'),
    version     integer NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name, alias),
    FOREIGN KEY (project_id, name, version)
        REFERENCES model_versions (project_id, name, version) ON DELETE CASCADE
);
