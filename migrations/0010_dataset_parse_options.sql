-- The same bytes read with other options (another ?target=, ?delimiter=) are another
-- dataset: an upload is identified by its content and how it was read. '' is the default
-- reading (delimiter detected, target found by name), so datasets stored before keep
-- answering repeated default uploads.
ALTER TABLE datasets ADD COLUMN parse_options text NOT NULL DEFAULT '';
ALTER TABLE datasets DROP CONSTRAINT IF EXISTS datasets_project_id_content_hash_key;
ALTER TABLE datasets ADD CONSTRAINT datasets_upload_key
    UNIQUE (project_id, content_hash, parse_options);
