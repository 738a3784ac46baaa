-- Feature descriptions of a dataset (PUT /api/v1/datasets/{id}/descriptions), shown by every
-- report of a run on it. Unlike the dataset's values they can be replaced: a PUT replaces
-- the whole set in one transaction. `position` keeps the order they were given in.
CREATE TABLE dataset_descriptions (
    dataset_id   uuid NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    feature      text NOT NULL,
    description  text NOT NULL,
    PRIMARY KEY (dataset_id, feature),
    UNIQUE (dataset_id, position)
);
