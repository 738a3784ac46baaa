-- Live A/B tests (issue 9): a model's champion and one challenger version share its
-- predict traffic (svc-train/abtest.c); the label feedback of each arm's predictions is kept
-- here (svc-monitor/feedback.c) for the comparison, and the stop's decision with the test.
CREATE TABLE ab_tests (
    id                  serial PRIMARY KEY,    -- 32 bits: served predictions carry it (window.c)
    project_id          text NOT NULL,
    model_name          text NOT NULL,
    champion_version    integer NOT NULL,      -- the champion when the test started
    challenger_version  integer NOT NULL,
    traffic_share       double precision NOT NULL CHECK (traffic_share > 0 AND traffic_share < 1),
    metric              text NOT NULL CHECK (metric IN ('accuracy', 'rmse')), -- compared on stop
    status              text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
    started_at          timestamptz NOT NULL DEFAULT now(),
    stopped_at          timestamptz,
    decision            jsonb,                 -- the stop's: arms, test, p_value, promoted, reason
    FOREIGN KEY (project_id, model_name) REFERENCES models (project_id, name) ON DELETE CASCADE,
    CHECK (challenger_version <> champion_version)
);
-- one running test per model: a second start is a unique violation (409)
CREATE UNIQUE INDEX ab_tests_running ON ab_tests (project_id, model_name)
    WHERE status = 'running';
CREATE INDEX ab_tests_model ON ab_tests (project_id, model_name, id DESC);

CREATE TABLE ab_test_feedback (
    test_id             integer NOT NULL REFERENCES ab_tests (id) ON DELETE CASCADE,
    prediction_id       text NOT NULL,         -- "{request id}:{row}" as /predict answered it
    arm                 text NOT NULL CHECK (arm IN ('champion', 'challenger')),
    predicted           double precision NOT NULL, -- class index, or the value (regression)
    actual              double precision NOT NULL,
    classes             integer NOT NULL,      -- 0: regression
    received_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (test_id, prediction_id)
);
