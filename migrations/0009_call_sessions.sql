-- Counseling sessions (issue 10, seed 004): the calls uploaded through /api/v1/data (svc-ingest),
-- the labeled ones the outcome model learns from, and what the pipeline answered for each
-- session it processed (svc-train/callytics.c), with the callback deliveries of background work.
CREATE TABLE call_sessions (
    project_id          text NOT NULL REFERENCES projects (id),
    session_id          text NOT NULL CHECK (session_id ~ '^[A-Za-z0-9_-]{1,50}$'),
    consulting_content  text NOT NULL,
    instructions        json,                  -- as uploaded (seed 004's tuning data)
    outcome             text,                  -- the "상담 결과" of instructions: a labeled example
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, session_id)
);
CREATE INDEX call_sessions_labeled ON call_sessions (project_id, created_at)
    WHERE outcome IS NOT NULL;

-- One row per processing of a session (the latest is its status); history pages by id.
CREATE TABLE call_results (
    id                  bigserial PRIMARY KEY,
    project_id          text NOT NULL REFERENCES projects (id),
    session_id          text NOT NULL,
    mode                text NOT NULL CHECK (mode IN ('realtime', 'background', 'batch')),
    status              text NOT NULL CHECK (status IN ('processing', 'completed', 'failed')),
    prediction          text,
    confidence          double precision,
    -- json, not jsonb: these are answered as stored, keys in their order
    probabilities       json,                  -- {class: probability}, in class order
    model_name          text,
    model_version       integer,
    features            json,                  -- the extracted features (lib/ml/callfeat.h)
    pipeline_steps      json,                  -- {step: {status, duration, duration_ms}}
    processing_ms       double precision,      -- the four steps' time
    error               jsonb,                 -- {code, message} when failed
    request             jsonb,                 -- background: the session to process
    claimed_at          timestamptz,           -- background: when a worker took it (a lease)
    callback_url        text,
    callback_status     text CHECK (callback_status IN ('pending', 'delivered', 'failed')),
    callback_attempts   integer NOT NULL DEFAULT 0,
    callback_next_at    timestamptz,           -- pending: when the next attempt is due
    created_at          timestamptz NOT NULL DEFAULT now(),
    completed_at        timestamptz
);
-- the work of the background workers: sessions to process, callbacks to deliver
CREATE INDEX call_results_queued ON call_results (id) WHERE status = 'processing';
CREATE INDEX call_results_callbacks ON call_results (callback_next_at)
    WHERE callback_status = 'pending';
CREATE INDEX call_results_session ON call_results (project_id, session_id, id DESC);
CREATE INDEX call_results_time ON call_results (project_id, created_at DESC);

-- Every attempt to deliver a background result to its callback_url.
CREATE TABLE call_callbacks (
    result_id           bigint NOT NULL REFERENCES call_results (id) ON DELETE CASCADE,
    attempt             integer NOT NULL CHECK (attempt >= 1),
    status_code         integer,               -- the receiver's HTTP status; NULL: no answer
    error               text,                  -- why it failed (timeout, refused target, ...)
    delivered           boolean NOT NULL,
    attempted_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (result_id, attempt)
);
