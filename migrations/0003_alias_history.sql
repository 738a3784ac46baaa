-- Every change of a model alias, so that a promotion can be rolled back and the registry
-- can say who was champion when.
CREATE TABLE model_alias_history (
    id            bigserial PRIMARY KEY,
    project_id    text NOT NULL,
    name          text NOT NULL,
    alias         text NOT NULL,
    from_version  integer,                   -- NULL: the alias did not exist before
    to_version    integer,                   -- NULL: the alias was removed
    action        text NOT NULL CHECK (action IN ('register', 'set', 'promote', 'rollback', 'delete')),
    changed_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (project_id, name) REFERENCES models (project_id, name) ON DELETE CASCADE
);
CREATE INDEX model_alias_history_alias ON model_alias_history (project_id, name, alias, id DESC);
