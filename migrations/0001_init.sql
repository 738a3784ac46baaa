-- Projects, API keys, datasets.
-- Every stored object belongs to a project; a principal of one project never sees another's.

CREATE TABLE projects (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO projects (id) VALUES ('default');

-- Keys are stored as SHA-256 of the secret; the secret is shown once at creation.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    project_id   text NOT NULL REFERENCES projects (id),
    name         text NOT NULL DEFAULT '',
    key_hash     bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    prefix       text NOT NULL,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- A dataset is immutable once stored. Metadata lives here; the values live in
-- dataset_chunks in the compact columnar form of lib/colstore.h.
CREATE TABLE datasets (
    id            uuid PRIMARY KEY,
    project_id    text NOT NULL REFERENCES projects (id),
    content_hash  bytea NOT NULL CHECK (length(content_hash) = 32),
    filename      text NOT NULL,
    size_bytes    bigint NOT NULL,
    n_rows        bigint NOT NULL,
    n_cols        integer NOT NULL,
    target        text,
    delimiter     text NOT NULL,
    schema        jsonb NOT NULL,   -- [{name, type, storage, missing, distinct, min, max, mean}]
    -- json, not jsonb: these are returned as stored, key order included
    summary       json NOT NULL,    -- the upload response, returned again on a duplicate upload
    profile       json,             -- cached profile for the stored target, filled on first read
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, content_hash)
);
CREATE INDEX datasets_project_created ON datasets (project_id, created_at DESC, id);

CREATE TABLE dataset_chunks (
    dataset_id   uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    col_index    integer NOT NULL,
    chunk_index  integer NOT NULL,
    data         bytea NOT NULL,
    PRIMARY KEY (dataset_id, col_index, chunk_index)
);
-- lz4 is several times faster than pglz at a similar ratio for these blobs.
ALTER TABLE dataset_chunks ALTER COLUMN data SET COMPRESSION lz4;
