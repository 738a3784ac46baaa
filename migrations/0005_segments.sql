-- svc-train: customer segments (issue 7). Names and descriptions an owner gave a k-means
-- model's clusters (over the generated ones kept in the model file), and the persona
-- documents searched by POST /api/rag/query, each with its local embedding
-- (lib/ml/textvec.h: hashed n-gram term frequencies, textvec_save's bytes).

CREATE TABLE cluster_overrides (
    project_id    text NOT NULL,
    name          text NOT NULL,
    version       integer NOT NULL,
    cluster_id    integer NOT NULL CHECK (cluster_id >= 0),
    cluster_name  text CHECK (length(cluster_name) BETWEEN 1 AND 200),
    description   text CHECK (length(description) <= 2000),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, name, version, cluster_id),
    FOREIGN KEY (project_id, name, version) REFERENCES model_versions (project_id, name, version)
        ON DELETE CASCADE
);

CREATE TABLE rag_documents (
    id             bigserial PRIMARY KEY,
    project_id     text NOT NULL,
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    description    text NOT NULL CHECK (length(description) <= 20000),
    cluster_name   text NOT NULL DEFAULT '' CHECK (length(cluster_name) <= 200),
    metadata       jsonb NOT NULL DEFAULT '{}',
    -- set on the documents a trained k-means model added, one per cluster
    model_name     text,
    model_version  integer,
    cluster_id     integer,
    embedding      bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rag_documents_project ON rag_documents (project_id, id);
